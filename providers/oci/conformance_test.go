package oci_test

import (
	"context"
	"testing"

	"github.com/oracle/oci-go-sdk/v65/core"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/oci"
	"github.com/orocloud/orocloud-go/providers/oci/ocifake"
	"github.com/orocloud/orocloud-go/providers/providertest"
)

type harness struct {
	srv *ocifake.Server
}

func (h *harness) MakeProvider(ctx context.Context) (providers.Provider, error) {
	return oci.Open(ctx, testCompartment, testOptions(h.srv))
}

func (h *harness) Config() providertest.Config {
	r := h.srv.Region()
	return providertest.Config{
		Region:          r,
		Zones:           []string{ocifake.ADName(r, 1), ocifake.ADName(r, 2)},
		UnknownRegion:   "nowhere-9",
		MachineType:     testShape,
		Image:           testImage,
		LargeObjectSize: 3 << 20,
		MutatingCalls:   func(providers.Provider) int { return len(h.srv.Mutating()) },
		AsTarget:        func() any { return new(core.ComputeClient) },
	}
}

func (h *harness) Close() { h.srv.Close() }

func TestConformance(t *testing.T) {
	providertest.Run(t, func(context.Context, *testing.T) (providertest.Harness, error) {
		return &harness{srv: ocifake.New(verified(nil))}, nil
	})
}
