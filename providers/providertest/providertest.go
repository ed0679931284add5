// Package providertest is the conformance suite of package providers: one
// subtest per sentence of the contracts written on the driver interfaces
// (Provider, ZoneLister, Instances, Addresses, Firewalls, ObjectStorage and,
// when supported, LoadBalancers). A provider's own test is a small harness:
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, func(ctx context.Context, t *testing.T) (providertest.Harness, error) {
//			return myHarness{}, nil
//		})
//	}
//
// It follows the harness pattern of gocloud.dev's drivertest. Every subtest
// runs in parallel with the others on a provider of its own, asserts error
// codes with providers.Code, and keeps its objects small except for one
// large-object round trip whose size is a Config knob, so the suite stays
// fast against HTTP fakes of the real clouds too.
package providertest

import (
	"context"
	"testing"
	"time"

	"github.com/orocloud/orocloud-go/providers"
)

// Harness builds the providers the suite tests.
type Harness interface {
	// MakeProvider returns a new provider with no resources in Config's
	// region and no buckets. Each subtest makes its own and closes it.
	MakeProvider(ctx context.Context) (providers.Provider, error)
	// Config describes the environment and the optional features to test.
	Config() Config
	// Close releases what the harness holds (a fake server, say).
	Close()
}

// Config describes what the suite may use and expect of a provider.
type Config struct {
	// Region is the region the suite creates resources in (required).
	Region string
	// Zones are at least two zones of Region (required).
	Zones []string
	// UnknownRegion is a region name the provider does not know; default
	// "nowhere-9".
	UnknownRegion string
	// MachineType and Image are used in instance specs; defaults
	// "e2-small" and "debian-12".
	MachineType string
	Image       string
	// GlobalAddresses reports whether ReserveAddress accepts Region "".
	GlobalAddresses bool
	// LoadBalancers reports whether the provider implements
	// providers.LoadBalancers. When it does, GlobalAddresses is needed too
	// (the forwarding rule's reserved address).
	LoadBalancers bool
	// LargeObjectSize is the size of the large-object round trip; 0 means
	// 8 MiB, a negative value skips it.
	LargeObjectSize int64
	// MutatingCalls, when set, returns how many mutating API requests p has
	// made so far; the suite uses it to check that idempotent calls make
	// none (EnsureLoadBalancer with an unchanged spec, a refused invalid
	// spec).
	MutatingCalls func(p providers.Provider) int
	// ZoneOutage, when set, takes zone of Region down on p (a fault
	// injection of the provider or its fake), so the suite can check that
	// ListZones reports it with Up false.
	ZoneOutage func(p providers.Provider, zone string) error
	// AsTarget, when set, returns a new pointer that Provider.As must
	// accept (a **memory.Provider, a **compute.InstancesClient...).
	AsTarget func() any
	// Timeout bounds each subtest; default 30 s.
	Timeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.UnknownRegion == "" {
		c.UnknownRegion = "nowhere-9"
	}
	if c.MachineType == "" {
		c.MachineType = "e2-small"
	}
	if c.Image == "" {
		c.Image = "debian-12"
	}
	if c.LargeObjectSize == 0 {
		c.LargeObjectSize = 8 << 20
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	return c
}

// Env is the environment label value of the resources the suite creates.
const Env = "conformance"

// fixture is what each subtest works with.
type fixture struct {
	ctx context.Context
	p   providers.Provider
	cfg Config
}

// Run runs the conformance suite. newHarness is called once per subtest.
func Run(t *testing.T, newHarness func(ctx context.Context, t *testing.T) (Harness, error)) {
	t.Helper()
	if newHarness == nil {
		t.Fatal("providertest.Run: nil newHarness")
	}
	groups := []struct {
		name  string
		tests []test
	}{
		{"Provider", providerTests()},
		{"Zones", zoneTests()},
		{"Instances", instanceTests()},
		{"Addresses", addressTests()},
		{"Firewalls", firewallTests()},
		{"Buckets", bucketTests()},
		{"Objects", objectTests()},
		{"LoadBalancers", loadBalancerTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					f := setup(t, newHarness)
					tc.fn(t, f)
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, f *fixture)
}

func setup(t *testing.T, newHarness func(ctx context.Context, t *testing.T) (Harness, error)) *fixture {
	t.Helper()
	h, err := newHarness(t.Context(), t)
	if err != nil {
		t.Fatalf("new harness: %v", err)
	}
	t.Cleanup(h.Close)
	cfg := h.Config().withDefaults()
	if cfg.Region == "" || len(cfg.Zones) < 2 {
		t.Fatalf("harness Config needs a Region and at least two Zones, got %q %v", cfg.Region, cfg.Zones)
	}
	ctx, cancel := context.WithTimeout(t.Context(), cfg.Timeout)
	t.Cleanup(cancel)
	p, err := h.MakeProvider(ctx)
	if err != nil {
		t.Fatalf("make provider: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &fixture{ctx: ctx, p: p, cfg: cfg}
}

// ours returns the labels of a resource the SDK creates for env.
func ours(env, tier string) providers.Labels {
	return providers.Labels{
		providers.LabelManagedBy:   providers.ManagedByValue,
		providers.LabelEnvironment: env,
		providers.LabelTier:        tier,
		providers.LabelRole:        tier,
	}
}

func (f *fixture) instanceSpec(name, zone string, labels providers.Labels) providers.InstanceSpec {
	return providers.InstanceSpec{
		Name:        name,
		Region:      f.cfg.Region,
		Zone:        zone,
		MachineType: f.cfg.MachineType,
		Image:       f.cfg.Image,
		Labels:      labels,
		Tags:        []string{"web"},
		Metadata:    map[string]string{"role": "web"},
	}
}

func (f *fixture) mutating() (int, bool) {
	if f.cfg.MutatingCalls == nil {
		return 0, false
	}
	return f.cfg.MutatingCalls(f.p), true
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, want providers.ErrorCode, err error, what string) {
	t.Helper()
	if got := providers.Code(err); got != want {
		t.Fatalf("%s: got code %v (err %v), want %v", what, got, err, want)
	}
}
