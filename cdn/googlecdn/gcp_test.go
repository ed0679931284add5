package googlecdn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/cdn/googlecdn"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/gcp"
	"github.com/orocloud/orocloud-go/providers/gcp/gcpfake"
	"github.com/orocloud/orocloud-go/retry"
)

// The Google edge over the real GCP provider and Compute client, against
// gcpfake: the backend service the provider writes carries Cloud CDN with
// the environment's cache mode, TTLs and negative caching.
func TestEnsureOnGCPSendsTheCDNPolicy(t *testing.T) {
	srv := gcpfake.New(nil)
	defer srv.Close()
	ctx := context.Background()
	prov, err := gcp.Open(ctx, "acme-project", &gcp.Options{Endpoint: srv.URL, PollInterval: time.Millisecond,
		Retry: retry.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond}})
	require.NoError(t, err)
	defer prov.Close()

	var nodes []providers.InstanceRef
	for i, z := range []string{region + "-a", region + "-b"} {
		spec := providers.InstanceSpec{Name: fmt.Sprintf("acme-prod-web-%d", i+1), Region: region, Zone: z,
			Labels: providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: "acme-prod",
				providers.LabelTier: "web", providers.LabelRole: "node"}}
		_, err := prov.CreateInstance(ctx, spec)
		require.NoError(t, err)
		nodes = append(nodes, spec.Ref())
	}
	e := newEdge(t, prov, nil)
	st, err := e.Ensure(ctx, testEnv(), cdn.Origin{WebNodes: nodes})
	require.NoError(t, err)
	assert.True(t, st.PublicEntryPoint)
	assert.NotEmpty(t, st.IP)

	// The last backend service body sent carries the CDN policy.
	var backend map[string]any
	for _, r := range srv.Requests() {
		if r.Method != http.MethodGet && strings.Contains(r.Path, "/global/backendServices") && len(r.Body) > 0 {
			require.NoError(t, json.Unmarshal(r.Body, &backend))
		}
	}
	require.NotNil(t, backend, "a backend service was written")
	assert.Equal(t, true, backend["enableCDN"])
	pol, _ := backend["cdnPolicy"].(map[string]any)
	require.NotNil(t, pol, "cdnPolicy in %v", backend)
	assert.Equal(t, "CACHE_ALL_STATIC", pol["cacheMode"])
	assert.EqualValues(t, 1800, pol["defaultTtl"])
	assert.EqualValues(t, 43200, pol["maxTtl"])
	assert.EqualValues(t, 600, pol["clientTtl"])
	assert.Equal(t, true, pol["negativeCaching"])

	// Idempotent on GCP too: a second Ensure writes nothing.
	srv.ResetRequests()
	_, err = e.Ensure(ctx, testEnv(), cdn.Origin{WebNodes: nodes})
	require.NoError(t, err)
	assert.Empty(t, srv.MutatingRequests())

	// A changed policy is sent.
	env := testEnv()
	env.CDN.Google = &environment.GoogleCDNSettings{CacheMode: providers.UseOriginHeaders}
	_, err = e.Ensure(ctx, env, cdn.Origin{WebNodes: nodes})
	require.NoError(t, err)
	lb, err := prov.GetLoadBalancer(ctx, "acme-prod-lb")
	require.NoError(t, err)
	assert.Equal(t, providers.UseOriginHeaders, lb.CDN.CacheMode)

	require.NoError(t, e.Destroy(ctx, testEnv()))
	_, err = e.Describe(ctx, testEnv())
	assert.ErrorIs(t, err, providers.ErrNotFound)
}

func TestOCIRefusedBeforeAnyGCPCall(t *testing.T) {
	srv := gcpfake.New(nil)
	defer srv.Close()
	prov, err := gcp.Open(context.Background(), "acme-project", &gcp.Options{Endpoint: srv.URL})
	require.NoError(t, err)
	defer prov.Close()
	env := testEnv()
	env.Provider = environment.OCI
	srv.ResetRequests()
	_, err = googlecdn.Spec(env, cdn.Origin{WebNodes: []providers.InstanceRef{{Region: region, Zone: region + "-a", Name: "w"}}})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = newEdge(t, prov, nil).Ensure(context.Background(), env, cdn.Origin{WebNodes: []providers.InstanceRef{{Region: region, Zone: region + "-a", Name: "w"}}})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "GCP only")
	assert.Empty(t, srv.Requests())
}
