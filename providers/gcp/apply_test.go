package gcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	orocloud "github.com/orocloud/orocloud-go"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/gcp"
	"github.com/orocloud/orocloud-go/providers/gcp/gcpfake"
	"github.com/orocloud/orocloud-go/retry"
)

// TestApplyStandardEnvironment applies the standard GCP environment (Google
// Cloud CDN in front) over gcpfake with the real clients, checks what went
// over the wire, then checks that a second plan is empty and applying it
// makes no mutating request, and that Destroy leaves nothing behind.
func TestApplyStandardEnvironment(t *testing.T) {
	ctx := context.Background()
	srv := gcpfake.New(&gcpfake.Options{OperationDelay: 5 * time.Millisecond})
	defer srv.Close()
	prov, err := gcp.Open(ctx, "acme-project", &gcp.Options{Endpoint: srv.URL, PollInterval: 2 * time.Millisecond,
		Retry: retry.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond}})
	require.NoError(t, err)
	defer prov.Close()

	env := environment.Standard("acme-prod", environment.GCP, "europe-west3")
	require.Equal(t, environment.CDNGoogle, env.CDN.Kind)
	env.CDN.Google = &environment.GoogleCDNSettings{NegativeCaching: true, DefaultTTL: environment.Duration(30 * time.Minute)}
	require.NoError(t, env.Validate())
	plat, err := orocloud.New(prov, nil)
	require.NoError(t, err)

	plan, err := plat.Plan(ctx, env, nil)
	require.NoError(t, err)
	creates, _, _ := plan.Count()
	require.Positive(t, creates)
	t0 := time.Now()
	res, err := plat.Apply(ctx, plan)
	t.Logf("apply: %d changes in %v, %d requests", creates, time.Since(t0), len(srv.Requests()))
	require.NoError(t, err)
	require.Empty(t, res.Failed)

	// One insert per node, in the planned zone, with the owner labels.
	zones := map[string]int{}
	inserts := 0
	for _, r := range srv.Requests() {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.Path, "/instances") {
			continue
		}
		inserts++
		var body struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &body))
		assert.Equal(t, "acme-prod", body.Labels[providers.LabelEnvironment], body.Name)
		assert.Equal(t, providers.ManagedByValue, body.Labels[providers.LabelManagedBy], body.Name)
		zones[strings.Split(r.Path, "/")[6]]++
	}
	assert.Equal(t, len(plan.Nodes), inserts)
	assert.Len(t, zones, 3, "spread over the region's three zones")

	lb, err := prov.GetLoadBalancer(ctx, "acme-prod-lb")
	require.NoError(t, err)
	assert.Len(t, lb.Backends, env.Web.Nodes)
	assert.True(t, lb.CDN.NegativeCaching)
	assert.Equal(t, providers.CacheAllStatic, lb.CDN.CacheMode)
	assert.Equal(t, 30*time.Minute, lb.CDN.DefaultTTL)

	// Re-plan: nothing to do; applying makes zero mutating calls.
	srv.ResetRequests()
	plan2, err := plat.Plan(ctx, env, nil)
	require.NoError(t, err)
	assert.True(t, plan2.Empty(), plan2.String())
	_, err = plat.Apply(ctx, plan2)
	require.NoError(t, err)
	assert.Empty(t, srv.MutatingRequests(), "mutating requests on re-apply")
	t.Logf("re-plan and re-apply: %d requests, all reads", len(srv.Requests()))

	// Destroy removes everything the environment owns.
	_, err = plat.Destroy(ctx, env)
	require.NoError(t, err)
	left, err := prov.ListInstances(ctx, "europe-west3", providers.Labels{providers.LabelEnvironment: "acme-prod"})
	require.NoError(t, err)
	assert.Empty(t, left)
	rules, err := prov.ListFirewallRules(ctx, "europe-west3", providers.Labels{providers.LabelEnvironment: "acme-prod"})
	require.NoError(t, err)
	assert.Empty(t, rules)
	_, err = prov.GetLoadBalancer(ctx, "acme-prod-lb")
	assert.ErrorIs(t, err, providers.ErrNotFound)
}
