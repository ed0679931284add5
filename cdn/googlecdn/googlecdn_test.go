package googlecdn_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/cdn/googlecdn"
	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

const region = "europe-west3"

func testEnv() *environment.Environment {
	return &environment.Environment{
		Name: "acme-prod", Provider: environment.GCP, Region: region,
		Web: environment.WebTier{Nodes: 2},
		CDN: environment.CDN{Kind: environment.CDNGoogle, Hostnames: []string{"shop.example.com", "b2b.example.com"},
			Google: &environment.GoogleCDNSettings{CacheMode: providers.CacheAllStatic,
				DefaultTTL: environment.Duration(30 * time.Minute), MaxTTL: environment.Duration(12 * time.Hour),
				ClientTTL: environment.Duration(10 * time.Minute), NegativeCaching: true}},
	}
}

// webNodes creates two web nodes in two zones and returns their refs.
func webNodes(t *testing.T, p *memory.Provider) []providers.InstanceRef {
	t.Helper()
	var refs []providers.InstanceRef
	for i, z := range []string{region + "-a", region + "-b"} {
		spec := providers.InstanceSpec{Name: fmt.Sprintf("acme-prod-web-%d", i+1), Region: region, Zone: z,
			Labels: providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: "acme-prod",
				providers.LabelTier: "web", providers.LabelRole: "node"}}
		_, err := p.CreateInstance(context.Background(), spec)
		require.NoError(t, err)
		refs = append(refs, spec.Ref())
	}
	return refs
}

func newEdge(t *testing.T, p providers.Provider, opts *googlecdn.Options) *googlecdn.Edge {
	t.Helper()
	if opts == nil {
		opts = &googlecdn.Options{}
	}
	opts.Clock = clock.NewAutoFake(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	e, err := googlecdn.New(p, opts)
	require.NoError(t, err)
	return e
}

func TestEnsureSendsTheCDNSettings(t *testing.T) {
	p := memory.New(nil)
	nodes := webNodes(t, p)
	e := newEdge(t, p, nil)
	ctx := context.Background()

	st, err := e.Ensure(ctx, testEnv(), cdn.Origin{WebNodes: nodes})
	require.NoError(t, err)
	lb, err := p.GetLoadBalancer(ctx, "acme-prod-lb")
	require.NoError(t, err)
	assert.Equal(t, providers.CDNPolicy{CacheMode: providers.CacheAllStatic, DefaultTTL: 30 * time.Minute,
		MaxTTL: 12 * time.Hour, ClientTTL: 10 * time.Minute, NegativeCaching: true}, lb.CDN)
	assert.Equal(t, []string{"b2b.example.com", "shop.example.com"}, lb.Hostnames)
	assert.ElementsMatch(t, nodes, lb.Backends)
	assert.Equal(t, environment.PrimaryAddressName("acme-prod"), lb.AddressName)
	addr, err := p.GetAddress(ctx, "", lb.AddressName)
	require.NoError(t, err, "the global address was reserved")
	assert.True(t, addr.Labels.OwnedBy("acme-prod"))
	assert.Equal(t, addr.IP, lb.IP)
	assert.Equal(t, 80, lb.Port)
	assert.Equal(t, "/", lb.HealthCheckPath)
	assert.Equal(t, providers.ManagedByValue, lb.Labels[providers.LabelManagedBy])

	assert.Equal(t, environment.CDNGoogle, st.Kind)
	assert.True(t, st.PublicEntryPoint)
	assert.Equal(t, lb.IP, st.IP)
	assert.Nil(t, cdn.TunnelSecrets(st))
	assert.Equal(t, "google-cdn edge of acme-prod: load balancer acme-prod-lb at "+lb.IP+
		", cache CACHE_ALL_STATIC; hostnames b2b.example.com, shop.example.com; public entry point", st.String())

	// The same spec as the environment's own plan builds, so Apply and the
	// edge never fight over the load balancer.
	want := environment.LoadBalancerSpec(testEnv(), nodes)
	assert.Equal(t, want.Name, lb.Name)
	assert.Equal(t, want.CDN, lb.CDN)

	// Idempotent.
	p.ResetCalls()
	_, err = e.Ensure(ctx, testEnv(), cdn.Origin{WebNodes: nodes})
	require.NoError(t, err)
	assert.Zero(t, p.MutatingCalls(), "a second Ensure changes nothing")

	// Changed settings are sent.
	env := testEnv()
	env.CDN.Google = &environment.GoogleCDNSettings{CacheMode: providers.UseOriginHeaders}
	_, err = e.Ensure(ctx, env, cdn.Origin{WebNodes: nodes, Port: 8080, HealthCheckPath: "/healthz"})
	require.NoError(t, err)
	lb, err = p.GetLoadBalancer(ctx, "acme-prod-lb")
	require.NoError(t, err)
	assert.Equal(t, providers.CDNPolicy{CacheMode: providers.UseOriginHeaders}, lb.CDN)
	assert.Equal(t, 8080, lb.Port)
	assert.Equal(t, "/healthz", lb.HealthCheckPath)
}

func TestEnsureValidatesBeforeAnyCall(t *testing.T) {
	p := memory.New(nil)
	nodes := webNodes(t, p)
	e := newEdge(t, p, nil)
	p.ResetCalls()
	for _, tc := range []struct {
		name  string
		edit  func(*environment.Environment, *cdn.Origin)
		wants []string
	}{
		{"oci", func(env *environment.Environment, _ *cdn.Origin) { env.Provider = environment.OCI }, []string{"GCP only", "Cloudflare"}},
		{"ttl with origin headers", func(env *environment.Environment, _ *cdn.Origin) {
			env.CDN.Google.CacheMode = providers.UseOriginHeaders
		}, []string{"cdn.google.defaultTtl/maxTtl/clientTtl"}},
		{"everything at once", func(env *environment.Environment, o *cdn.Origin) {
			env.CDN.Kind = environment.CDNCloudflare
			env.CDN.Hostnames = []string{"Shop.Example.com", "localhost"}
			env.CDN.Google.CacheMode = "CACHE_EVERYTHING"
			env.CDN.Google.ClientTTL = environment.Duration(24 * time.Hour)
			o.WebNodes = nil
			o.HealthCheckPath = "healthz"
		}, []string{"cdn.kind", "cdn.hostnames[0]", "cdn.hostnames[1]", "cacheMode", "clientTtl", "origin.webNodes", "origin.healthCheckPath"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, origin := testEnv(), cdn.Origin{WebNodes: nodes}
			tc.edit(env, &origin)
			_, err := e.Ensure(context.Background(), env, origin)
			require.ErrorIs(t, err, providers.ErrInvalidArgument)
			for _, w := range tc.wants {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, p.Calls(), "no provider call was made")
		})
	}
	_, err := e.Ensure(context.Background(), nil, cdn.Origin{})
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
}

// noLB hides the memory provider's load balancer capability, as OCI has
// none.
type noLB struct{ providers.Provider }

func TestProviderWithoutLoadBalancersIsRefused(t *testing.T) {
	_, err := googlecdn.New(noLB{memory.New(nil)}, nil)
	require.ErrorIs(t, err, providers.ErrUnimplemented)
	assert.Contains(t, err.Error(), "Cloudflare")
	_, err = googlecdn.New(nil, nil)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
}

func TestEnsureRetriesTransientErrors(t *testing.T) {
	p := memory.New(nil)
	nodes := webNodes(t, p)
	e := newEdge(t, p, nil)
	require.NoError(t, p.FailNext("EnsureLoadBalancer", 2, providers.Unavailable))
	require.NoError(t, p.LoseResponse("ReserveAddress", 1, providers.DeadlineExceeded))
	_, err := e.Ensure(context.Background(), testEnv(), cdn.Origin{WebNodes: nodes})
	require.NoError(t, err)
	assert.Equal(t, 3, p.Calls()["EnsureLoadBalancer"])

	require.NoError(t, p.FailNext("GetLoadBalancer", 10, providers.PermissionDenied))
	_, err = e.Describe(context.Background(), testEnv())
	assert.ErrorIs(t, err, providers.ErrPermissionDenied)
	assert.Equal(t, 1, p.Calls()["GetLoadBalancer"], "permanent errors are not retried")
}

func TestForeignAddressIsNotUsed(t *testing.T) {
	p := memory.New(nil)
	nodes := webNodes(t, p)
	_, err := p.ReserveAddress(context.Background(), providers.AddressSpec{Name: environment.PrimaryAddressName("acme-prod"),
		Labels: providers.Labels{providers.LabelManagedBy: "someone-else"}})
	require.NoError(t, err)
	_, err = newEdge(t, p, nil).Ensure(context.Background(), testEnv(), cdn.Origin{WebNodes: nodes})
	assert.ErrorIs(t, err, providers.ErrAlreadyExists)
}

func TestDescribeAndDestroy(t *testing.T) {
	p := memory.New(nil)
	nodes := webNodes(t, p)
	e := newEdge(t, p, nil)
	ctx := context.Background()
	_, err := e.Describe(ctx, testEnv())
	require.ErrorIs(t, err, providers.ErrNotFound)
	st, err := e.Ensure(ctx, testEnv(), cdn.Origin{WebNodes: nodes})
	require.NoError(t, err)
	d, err := e.Describe(ctx, testEnv())
	require.NoError(t, err)
	assert.Equal(t, st.IP, d.IP)
	assert.Equal(t, st.LoadBalancer.CDN, d.LoadBalancer.CDN)

	require.NoError(t, p.LoseResponse("DeleteLoadBalancer", 1, providers.Unavailable))
	require.NoError(t, e.Destroy(ctx, testEnv()), "a lost delete response is retried into NotFound, which is success")
	_, err = p.GetLoadBalancer(ctx, "acme-prod-lb")
	assert.ErrorIs(t, err, providers.ErrNotFound)
	_, err = p.GetAddress(ctx, "", environment.PrimaryAddressName("acme-prod"))
	assert.NoError(t, err, "the primary address is kept")
	require.NoError(t, e.Destroy(ctx, testEnv()))
}

type recordingDNS struct{ got []cdn.Record }

func (d *recordingDNS) PointHostname(_ context.Context, r cdn.Record) (*cdn.Record, error) {
	d.got = append(d.got, r)
	r.ID = "rec-1"
	return &r, nil
}

func (d *recordingDNS) LookupRecord(context.Context, string, string, cdn.RecordType) (*cdn.Record, error) {
	return nil, providers.ErrNotFound
}

func TestPointHostname(t *testing.T) {
	p := memory.New(nil)
	_, err := newEdge(t, p, nil).PointHostname(context.Background(), cdn.Record{Name: "shop.example.com", Type: cdn.RecordA, Content: "192.0.2.1"})
	require.ErrorIs(t, err, providers.ErrUnimplemented, "no DNS: DR hands the change to the domain owner")

	dns := &recordingDNS{}
	r, err := newEdge(t, p, &googlecdn.Options{DNS: dns}).PointHostname(context.Background(), cdn.Record{Name: "shop.example.com", Type: cdn.RecordA, Content: "192.0.2.1"})
	require.NoError(t, err)
	assert.Equal(t, "rec-1", r.ID)
	assert.Len(t, dns.got, 1)
}
