package cloudflare_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

// The tunnel token reaches every web node, and only web nodes, as secret
// startup metadata through the environment's plan; the printed plan, its
// changes and the applied environment's firewall rules never expose it, and
// the applied environment has no public ingress.
func TestTunnelTokenReachesWebNodesThroughThePlan(t *testing.T) {
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	env := environment.Standard("acme", environment.Memory, "europe-west3")
	env.CDN.Hostnames = []string{"shop.example.com"}
	env.CDN.Cloudflare = &environment.CloudflareSettings{AccountID: account, ZoneID: zone}
	st, err := h.edge.Ensure(ctx, env, cdn.Origin{})
	require.NoError(t, err)
	token := st.TunnelToken.Reveal()

	prov := memory.New(nil)
	rec, err := environment.NewReconciler(prov, nil)
	require.NoError(t, err)
	plan, err := rec.Plan(ctx, env, &environment.PlanOptions{Secrets: cdn.PlanSecrets(st)})
	require.NoError(t, err)
	assert.NotContains(t, plan.String(), token)
	assert.NotContains(t, fmt.Sprintf("%+v", plan), token)
	res, err := rec.Apply(ctx, plan)
	require.NoError(t, err)
	require.NoError(t, res.Err())

	insts, err := prov.ListInstances(ctx, "europe-west3", providers.Labels{providers.LabelEnvironment: "acme"})
	require.NoError(t, err)
	web := 0
	for _, in := range insts {
		got := in.Secrets[cdn.MetadataTunnelToken]
		if in.Labels[providers.LabelTier] == string(environment.TierWeb) {
			web++
			assert.Equal(t, token, got.Reveal(), in.Name)
		} else {
			assert.Empty(t, got, "%s is not a web node", in.Name)
		}
		for k, v := range in.Metadata {
			assert.NotContains(t, v, token, "plain metadata %s of %s", k, in.Name)
		}
	}
	assert.Equal(t, env.Web.Nodes, web)

	rules, err := prov.ListFirewallRules(ctx, "europe-west3", providers.Labels{providers.LabelEnvironment: "acme"})
	require.NoError(t, err)
	require.NotEmpty(t, rules)
	assert.NoError(t, cdn.CheckZeroTrust(env, rules), "the applied environment has no public ingress")
}
