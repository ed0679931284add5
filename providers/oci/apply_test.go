package oci_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	orocloud "github.com/orocloud/orocloud-go"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/oci/ocifake"
)

// TestApplyStandardEnvironment applies the standard OCI environment (with
// Cloudflare in front) over the fake, then checks that a second plan is
// empty and that applying it makes no mutating request, and that Destroy
// leaves nothing behind.
func TestApplyStandardEnvironment(t *testing.T) {
	ctx := context.Background()
	prov, srv := newTest(t, &ocifake.Options{Regions: []string{"eu-frankfurt-1", "eu-amsterdam-1"}}, nil)
	env := environment.Standard("acme-prod", environment.OCI, "eu-frankfurt-1")
	require.Equal(t, environment.CDNCloudflare, env.CDN.Kind)
	require.NoError(t, env.Validate())

	plat, err := orocloud.New(prov, nil)
	require.NoError(t, err)
	const token = "cf-tunnel-token-do-not-print"
	po := &environment.PlanOptions{Secrets: map[environment.Tier]map[string]providers.Secret{
		environment.TierWeb: {"cloudflared-token": token}}}
	plan, err := plat.Plan(ctx, env, po)
	require.NoError(t, err)
	creates, _, _ := plan.Count()
	require.Positive(t, creates)
	t0 := time.Now()
	res, err := plat.Apply(ctx, plan)
	t.Logf("apply %v", time.Since(t0))
	require.NoError(t, err)
	require.Empty(t, res.Failed)
	assert.Len(t, res.Applied, creates)

	// What went over the wire: one launch per node, in the planned AD and
	// fault domain, with tags, shape config, metadata and a retry token.
	launches := 0
	adsUsed := map[string]bool{}
	for _, r := range srv.Requests() {
		if r.Op != "LaunchInstance" {
			continue
		}
		launches++
		var d core.LaunchInstanceDetails
		require.NoError(t, json.Unmarshal(r.Body, &d))
		assert.NotEmpty(t, r.Header.Get("opc-retry-token"))
		assert.NotNil(t, d.FaultDomain, "fault domain of %s", *d.DisplayName)
		adsUsed[*d.AvailabilityDomain] = true
		assert.Equal(t, "acme-prod", d.FreeformTags[providers.LabelEnvironment])
		assert.Equal(t, providers.ManagedByValue, d.FreeformTags[providers.LabelManagedBy])
		require.NotNil(t, d.ShapeConfig)
		assert.NotNil(t, d.ShapeConfig.Ocpus)
		assert.NotEmpty(t, d.Metadata["user_data"])
		assert.NotContains(t, string(r.Body), "orocloud-spec-hash\":\"\"")
	}
	assert.Equal(t, len(plan.Nodes), launches)
	assert.Len(t, adsUsed, 3, "spread over the region's three ADs")
	// Every VNIC ended up in the environment's internal NSG, whether the
	// instance or the rule came first.
	var vn core.VirtualNetworkClient
	require.True(t, prov.As(&vn))
	nsgs, err := vn.ListNetworkSecurityGroups(ctx, core.ListNetworkSecurityGroupsRequest{
		CompartmentId: common.String(testCompartment), DisplayName: common.String("acme-prod-internal")})
	require.NoError(t, err)
	require.Len(t, nsgs.Items, 1)
	members, err := vn.ListNetworkSecurityGroupVnics(ctx, core.ListNetworkSecurityGroupVnicsRequest{
		NetworkSecurityGroupId: nsgs.Items[0].Id, Limit: common.Int(1000)})
	require.NoError(t, err)
	assert.Len(t, members.Items, len(plan.Nodes))
	for _, r := range srv.Requests() {
		for k, v := range r.Header {
			assert.NotContains(t, k+strings.Join(v, ","), token)
		}
	}

	// Re-plan: nothing to do, and applying makes zero mutating calls.
	srv.ResetLog()
	plan2, err := plat.Plan(ctx, env, po)
	require.NoError(t, err)
	assert.True(t, plan2.Empty(), plan2.String())
	_, err = plat.Apply(ctx, plan2)
	require.NoError(t, err)
	assert.Empty(t, srv.Mutating(), "mutating requests on re-apply")
	t.Logf("re-plan requests: %d (all reads)", len(srv.Requests()))

	// Destroy removes everything the environment owns.
	t0 = time.Now()
	_, err = plat.Destroy(ctx, env)
	t.Logf("destroy %v", time.Since(t0))
	require.NoError(t, err)
	left, err := prov.ListInstances(ctx, "eu-frankfurt-1", providers.Labels{providers.LabelEnvironment: "acme-prod"})
	require.NoError(t, err)
	assert.Empty(t, left)
	rules, err := prov.ListFirewallRules(ctx, "eu-frankfurt-1", nil)
	require.NoError(t, err)
	assert.Empty(t, rules)
	addrs, err := prov.ListAddresses(ctx, "eu-frankfurt-1", nil)
	require.NoError(t, err)
	assert.Empty(t, addrs)
}

// TestApplySingleADRegionSpreadsOverFaultDomains: in a region with one
// availability domain the nodes of each tier are spread over its fault
// domains, and the launches carry them.
func TestApplySingleADRegionSpreadsOverFaultDomains(t *testing.T) {
	ctx := context.Background()
	prov, srv := newTest(t, &ocifake.Options{Regions: []string{"eu-amsterdam-1", "eu-frankfurt-1"}, SingleAD: []string{"eu-amsterdam-1"}}, nil)
	env := environment.Standard("acme-ams", environment.OCI, "eu-amsterdam-1")
	plat, err := orocloud.New(prov, nil)
	require.NoError(t, err)
	plan, err := plat.Plan(ctx, env, nil)
	require.NoError(t, err)
	_, err = plat.Apply(ctx, plan)
	require.NoError(t, err)
	fdsByTier := map[string]map[string]bool{}
	for _, r := range srv.Requests() {
		if r.Op != "LaunchInstance" {
			continue
		}
		var d core.LaunchInstanceDetails
		require.NoError(t, json.Unmarshal(r.Body, &d))
		assert.Equal(t, ocifake.ADName("eu-amsterdam-1", 1), *d.AvailabilityDomain)
		require.NotNil(t, d.FaultDomain)
		tier := d.FreeformTags[providers.LabelTier]
		if fdsByTier[tier] == nil {
			fdsByTier[tier] = map[string]bool{}
		}
		fdsByTier[tier][*d.FaultDomain] = true
	}
	assert.Len(t, fdsByTier["web"], 2, "two web nodes in two fault domains")
	assert.Len(t, fdsByTier["elasticsearch"], 3)
}

// TestApplyUnderFaultsConvergesWithoutDuplicates applies the standard
// environment while the fake fails 15% of requests with 503 and drops the
// connection of some launches after applying them.
func TestApplyUnderFaultsConvergesWithoutDuplicates(t *testing.T) {
	ctx := context.Background()
	prov, srv := newTest(t, &ocifake.Options{Regions: []string{"eu-frankfurt-1", "eu-amsterdam-1"}, FaultRate: 0.15, Seed: 42}, nil)
	for _, nth := range []int{2, 5, 9} {
		srv.Inject(ocifake.Fault{Op: "LaunchInstance", Nth: nth, Drop: true, AfterApply: true})
	}
	srv.Inject(ocifake.Fault{Op: "CreateNetworkSecurityGroup", Status: 503, AfterApply: true})
	env := environment.Standard("acme-prod", environment.OCI, "eu-frankfurt-1")
	plat, err := orocloud.New(prov, nil)
	require.NoError(t, err)
	var plan *environment.Plan
	for range 3 { // a plan is observation; retry it like any read
		if plan, err = plat.Plan(ctx, env, nil); err == nil {
			break
		}
	}
	require.NoError(t, err)
	res, err := plat.Apply(ctx, plan)
	require.NoError(t, err, "%v", res)

	srv.ClearFaults()
	all, err := prov.ListInstances(ctx, "eu-frankfurt-1", nil)
	require.NoError(t, err)
	assert.Len(t, all, len(plan.Nodes), "one instance per node")
	rules, err := prov.ListFirewallRules(ctx, "eu-frankfurt-1", nil)
	require.NoError(t, err)
	assert.Len(t, rules, 1, "one NSG despite the 503 after its creation")
	faulted := 0
	for _, r := range srv.Requests() {
		if r.Faulted {
			faulted++
		}
	}
	t.Logf("%d of %d requests faulted", faulted, len(srv.Requests()))
	assert.Positive(t, faulted)
}
