package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
	"github.com/orocloud/orocloud-go/providers/providertest"
)

type harness struct{ opts *memory.Options }

func (h harness) MakeProvider(context.Context) (providers.Provider, error) {
	return memory.New(h.opts), nil
}

func (h harness) Config() providertest.Config {
	return providertest.Config{
		Region:          "europe-west3",
		Zones:           []string{"europe-west3-a", "europe-west3-b", "europe-west3-c"},
		GlobalAddresses: true,
		LoadBalancers:   true,
		MutatingCalls: func(p providers.Provider) int {
			var m *memory.Provider
			if !p.As(&m) {
				return -1
			}
			return m.MutatingCalls()
		},
		AsTarget: func() any { return new(*memory.Provider) },
		ZoneOutage: func(p providers.Provider, zone string) error {
			var m *memory.Provider
			if !p.As(&m) {
				return errors.New("not a memory provider")
			}
			return m.InjectZoneOutage("europe-west3", zone)
		},
	}
}

func (harness) Close() {}

func TestConformance(t *testing.T) {
	providertest.Run(t, func(context.Context, *testing.T) (providertest.Harness, error) {
		return harness{}, nil
	})
}

// ociHarness runs the suite on an OCI-like region without global
// addresses or load balancers, so the suite's other branches run too.
type ociHarness struct{}

func (ociHarness) MakeProvider(context.Context) (providers.Provider, error) {
	return noLB{memory.New(&memory.Options{Regions: []memory.Region{
		memory.OCIRegion("eu-frankfurt-1"),
		{Name: "eu-amsterdam-1", Zones: []string{"AD-1", "AD-2"}},
	}, NoGlobalAddresses: true})}, nil
}

func (ociHarness) Config() providertest.Config {
	return providertest.Config{Region: "eu-amsterdam-1", Zones: []string{"AD-1", "AD-2"}, LargeObjectSize: 1 << 20}
}

func (ociHarness) Close() {}

// noLB hides the LoadBalancers capability of the memory provider: only
// the methods of providers.Provider are promoted from the embedded
// interface.
type noLB struct{ providers.Provider }

func TestConformanceWithoutGlobalAddressesOrLoadBalancers(t *testing.T) {
	providertest.Run(t, func(context.Context, *testing.T) (providertest.Harness, error) {
		return ociHarness{}, nil
	})
}
