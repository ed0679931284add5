package dr_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/cdn/cloudflare"
	"github.com/orocloud/orocloud-go/cdn/cloudflare/cloudflarefake"
	"github.com/orocloud/orocloud-go/dr"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

// The Cloudflare edge is a dr.DNS as it is: the failover switches the
// record through the Cloudflare API (a local fake of it) and reads it back.
func TestFailoverSwitchesDNSThroughCloudflare(t *testing.T) {
	f := newFixture(t)
	cf := cloudflarefake.New(nil)
	defer cf.Close()
	zone := f.env.CDN.Cloudflare.ZoneID
	cf.AddRecord(zone, cloudflarefake.Record{Name: "shop.example.com", Type: "A", Content: f.onboard.Primary.IP, Proxied: true})
	edge, err := cloudflare.New(&cloudflare.Options{APIToken: providers.Secret(cf.Token()), BaseURL: cf.URL(), HTTPClient: cf.Client()})
	require.NoError(t, err)
	rep, err := f.runner(func(o *dr.Options) { o.DNS = edge }).Start(context.Background(), f.request(dr.ModeFailover))
	require.NoError(t, err)
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	recs := cf.Records(zone)
	require.Len(t, recs, 1, "updated in place")
	assert.Equal(t, "shop.example.com", recs[0].Name)
	assert.Equal(t, f.onboard.DR.IP, recs[0].Content)
	assert.True(t, recs[0].Proxied)
}

// With Google Cloud CDN the entry point is the global load balancer on the
// global primary address: the failover moves its backends to the DR region
// and DNS keeps pointing at that address.
func TestFailoverWithGoogleCDNMovesTheLoadBalancer(t *testing.T) {
	ctx := context.Background()
	prov := memory.New(nil)
	env := environment.Standard("shop", environment.GCP, primaryRegion)
	ob, err := dr.Onboard(ctx, prov, env, nil)
	require.NoError(t, err)
	assert.Equal(t, "", ob.Primary.Region, "global address for the load balancer")
	rec, err := environment.NewReconciler(prov, nil)
	require.NoError(t, err)
	plan, err := rec.Plan(ctx, env, nil)
	require.NoError(t, err)
	_, err = rec.Apply(ctx, plan)
	require.NoError(t, err)

	f := newFixture(t)
	f.prov, f.env = prov, env
	// No injected outage here: the memory provider files the global load
	// balancer under the region of its spec, so an outage of that region
	// would take it down too (Google's global load balancer survives it).
	rep, err := f.runner().Start(ctx, f.request(dr.ModeFailover))
	require.NoError(t, err)
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	require.Len(t, rep.DNSRecords, 1)
	assert.Equal(t, ob.Primary.IP, rep.DNSRecords[0].Content)
	assert.False(t, rep.DNSRecords[0].Proxied)
	lb, err := prov.GetLoadBalancer(ctx, "shop-lb")
	require.NoError(t, err)
	require.NotEmpty(t, lb.Backends)
	for _, b := range lb.Backends {
		assert.Equal(t, drRegion, b.Region, "backend %s", b.Name)
	}
}
