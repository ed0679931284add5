package providertest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/providers"
)

// lbFixture creates two web backends in two zones and, when supported, a
// global address, and returns a spec using them.
func (f *fixture) lbFixture(t *testing.T) (providers.LoadBalancers, providers.LoadBalancerSpec) {
	t.Helper()
	lbs, err := providers.LoadBalancersOf(f.p)
	require.NoError(t, err)
	var backends []providers.InstanceRef
	for i, name := range []string{"web-1", "web-2"} {
		inst, err := f.p.CreateInstance(f.ctx, f.instanceSpec(name, f.cfg.Zones[i], ours(Env, "web")))
		require.NoError(t, err)
		backends = append(backends, inst.Ref())
	}
	spec := providers.LoadBalancerSpec{
		Name: "shop-lb", Region: f.cfg.Region, Hostnames: []string{"shop.example.com"},
		Backends: backends, Port: 80, HealthCheckPath: "/health",
		CDN:    providers.CDNPolicy{CacheMode: providers.CacheAllStatic, DefaultTTL: time.Hour, MaxTTL: 24 * time.Hour},
		Labels: ours(Env, "edge"),
	}
	if f.cfg.GlobalAddresses {
		_, err := f.p.ReserveAddress(f.ctx, providers.AddressSpec{Name: "shop-lb-ip", Labels: ours(Env, "edge")})
		require.NoError(t, err)
		spec.AddressName = "shop-lb-ip"
	}
	return lbs, spec
}

func loadBalancerTests() []test {
	needLB := func(fn func(t *testing.T, f *fixture)) func(t *testing.T, f *fixture) {
		return func(t *testing.T, f *fixture) {
			if !f.cfg.LoadBalancers {
				t.Skip("provider has no load balancers")
			}
			fn(t, f)
		}
	}
	return []test{
		{"AbsentCapabilityUnimplemented", func(t *testing.T, f *fixture) {
			_, err := providers.LoadBalancersOf(f.p)
			if f.cfg.LoadBalancers {
				require.NoError(t, err)
				return
			}
			wantCode(t, providers.Unimplemented, err, "LoadBalancersOf")
		}},
		{"InvalidCDNPolicyRefusedBeforeAnyCall", needLB(func(t *testing.T, f *fixture) {
			lbs, spec := f.lbFixture(t)
			before, counted := f.mutating()
			for _, cdn := range []providers.CDNPolicy{
				{CacheMode: providers.UseOriginHeaders, DefaultTTL: time.Minute},
				{CacheMode: "CACHE_EVERYTHING"},
				{DefaultTTL: 2 * time.Hour, MaxTTL: time.Hour},
				{ClientTTL: -time.Second},
			} {
				bad := spec
				bad.CDN = cdn
				_, err := lbs.EnsureLoadBalancer(f.ctx, bad)
				wantCode(t, providers.InvalidArgument, err, "EnsureLoadBalancer with CDN "+string(cdn.CacheMode))
			}
			if counted {
				after, _ := f.mutating()
				assert.Equal(t, before, after, "a refused spec makes no mutating call")
			}
			_, err := lbs.GetLoadBalancer(f.ctx, spec.Name)
			wantCode(t, providers.NotFound, err, "GetLoadBalancer after refused ensures")
		})},
		{"EnsureCreatesAndGetReturns", needLB(func(t *testing.T, f *fixture) {
			lbs, spec := f.lbFixture(t)
			lb, err := lbs.EnsureLoadBalancer(f.ctx, spec)
			require.NoError(t, err)
			assert.Equal(t, spec.Name, lb.Name)
			assert.NotEmpty(t, lb.IP)
			assert.NotEmpty(t, lb.Components)
			if spec.AddressName != "" {
				a, err := f.p.GetAddress(f.ctx, "", spec.AddressName)
				require.NoError(t, err)
				assert.Equal(t, a.IP, lb.IP, "the forwarding rule uses the reserved address")
			}
			got, err := lbs.GetLoadBalancer(f.ctx, spec.Name)
			require.NoError(t, err)
			assert.Equal(t, lb.IP, got.IP)
			assert.ElementsMatch(t, lb.Components, got.Components)
			assert.ElementsMatch(t, spec.Backends, got.Backends)
			assert.Equal(t, spec.CDN.WithDefaults(), got.CDN.WithDefaults())
		})},
		{"ReEnsureSameSpecNoChange", needLB(func(t *testing.T, f *fixture) {
			lbs, spec := f.lbFixture(t)
			first, err := lbs.EnsureLoadBalancer(f.ctx, spec)
			require.NoError(t, err)
			before, counted := f.mutating()
			again, err := lbs.EnsureLoadBalancer(f.ctx, spec)
			require.NoError(t, err)
			assert.Equal(t, first.IP, again.IP)
			assert.ElementsMatch(t, first.Components, again.Components)
			if counted {
				after, _ := f.mutating()
				assert.Equal(t, before, after, "re-ensuring the same spec makes no mutating call")
			}
		})},
		{"EnsureUpdatesChangedSpec", needLB(func(t *testing.T, f *fixture) {
			lbs, spec := f.lbFixture(t)
			_, err := lbs.EnsureLoadBalancer(f.ctx, spec)
			require.NoError(t, err)
			changed := spec
			changed.CDN = providers.CDNPolicy{CacheMode: providers.UseOriginHeaders}
			changed.Backends = spec.Backends[:1]
			_, err = lbs.EnsureLoadBalancer(f.ctx, changed)
			require.NoError(t, err)
			got, err := lbs.GetLoadBalancer(f.ctx, spec.Name)
			require.NoError(t, err)
			assert.Equal(t, providers.UseOriginHeaders, got.CDN.CacheMode)
			assert.Equal(t, spec.Backends[:1], got.Backends)
		})},
		{"DeleteAndMissing", needLB(func(t *testing.T, f *fixture) {
			lbs, spec := f.lbFixture(t)
			_, err := lbs.GetLoadBalancer(f.ctx, spec.Name)
			wantCode(t, providers.NotFound, err, "GetLoadBalancer(missing)")
			wantCode(t, providers.NotFound, lbs.DeleteLoadBalancer(f.ctx, spec.Name), "DeleteLoadBalancer(missing)")
			_, err = lbs.EnsureLoadBalancer(f.ctx, spec)
			require.NoError(t, err)
			require.NoError(t, lbs.DeleteLoadBalancer(f.ctx, spec.Name))
			_, err = lbs.GetLoadBalancer(f.ctx, spec.Name)
			wantCode(t, providers.NotFound, err, "GetLoadBalancer after delete")
		})},
	}
}
