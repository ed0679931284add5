package gcp_test

import (
	"context"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/gcp"
	"github.com/orocloud/orocloud-go/providers/gcp/gcpfake"
	"github.com/orocloud/orocloud-go/providers/providertest"
	"github.com/orocloud/orocloud-go/retry"
)

// harness runs the conformance suite on the real Compute and Storage
// clients over a fresh gcpfake server per subtest, with operations that stay
// RUNNING for a few milliseconds so the polling path is exercised.
type harness struct {
	srv *gcpfake.Server
}

func (h *harness) MakeProvider(ctx context.Context) (providers.Provider, error) {
	return gcp.Open(ctx, "conformance-project", &gcp.Options{
		Endpoint:     h.srv.URL,
		PollInterval: 2 * time.Millisecond,
		Retry:        retry.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond},
		// Small chunks keep the large-object round trip quick under -race
		// while still spanning several resumable chunks.
		UploadChunkSize: 256 << 10,
	})
}

func (h *harness) Config() providertest.Config {
	return providertest.Config{
		Region:          "europe-west3",
		Zones:           []string{"europe-west3-a", "europe-west3-b", "europe-west3-c"},
		GlobalAddresses: true,
		LoadBalancers:   true,
		LargeObjectSize: 1 << 20, // four 256 KiB resumable chunks
		MutatingCalls:   func(providers.Provider) int { return len(h.srv.MutatingRequests()) },
		ZoneOutage: func(_ providers.Provider, zone string) error {
			h.srv.SetZoneStatus(zone, false)
			return nil
		},
		AsTarget: func() any { return new(*compute.InstancesClient) },
	}
}

func (h *harness) Close() { h.srv.Close() }

func TestConformance(t *testing.T) {
	providertest.Run(t, func(ctx context.Context, t *testing.T) (providertest.Harness, error) {
		return &harness{srv: gcpfake.New(&gcpfake.Options{OperationDelay: 3 * time.Millisecond})}, nil
	})
}
