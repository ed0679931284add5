package environment_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

func newRec(t *testing.T, prov providers.Provider, events func(environment.Event)) *environment.Reconciler {
	t.Helper()
	rec, err := environment.NewReconciler(prov, &environment.ReconcilerOptions{
		Clock: clock.NewAutoFake(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)), OnEvent: events,
	})
	require.NoError(t, err)
	return rec
}

func planApply(t *testing.T, rec *environment.Reconciler, env *environment.Environment) (*environment.Plan, *environment.Result) {
	t.Helper()
	ctx := context.Background()
	plan, err := rec.Plan(ctx, env, nil)
	require.NoError(t, err)
	res, err := rec.Apply(ctx, plan)
	require.NoError(t, err)
	return plan, res
}

func TestPlanApplyIdempotent(t *testing.T) {
	for _, kind := range []environment.ProviderKind{environment.GCP, environment.Memory, environment.OCI} {
		t.Run(string(kind), func(t *testing.T) {
			prov := memory.New(nil)
			rec := newRec(t, prov, nil)
			env := environment.Standard("acme", kind, "europe-west3")
			if kind == environment.OCI {
				prov = memory.New(&memory.Options{Regions: []memory.Region{memory.OCIRegion("eu-frankfurt-1"), memory.OCIRegion("eu-amsterdam-1")}, NoGlobalAddresses: true})
				rec = newRec(t, prov, nil)
				env = environment.Standard("acme", kind, "eu-frankfurt-1")
			}
			plan, res := planApply(t, rec, env)
			create, update, del := plan.Count()
			assert.Equal(t, len(plan.Nodes)+len(environment.DesiredResources(plan.Environment, plan.Nodes, nil).FirewallRules)+1+boolInt(env.CDN.Kind == environment.CDNGoogle), create)
			assert.Zero(t, update)
			assert.Zero(t, del)
			assert.Len(t, res.Applied, create)
			assert.Equal(t, create, prov.MutatingCalls())

			// Every instance carries the environment's labels and is where
			// placement put it.
			inv, err := rec.Observe(context.Background(), env)
			require.NoError(t, err)
			require.Len(t, inv.Instances, len(plan.Nodes))
			for i, n := range plan.Nodes {
				got := inv.Instances[indexOf(inv.Instances, n.Name)]
				assert.Equal(t, n.Zone, got.Zone, n.Name)
				assert.True(t, got.Labels.OwnedBy("acme"), i)
				assert.Equal(t, string(n.Tier), got.Labels[providers.LabelTier])
			}

			// A second plan is empty and applying it makes no mutating call.
			prov.ResetCalls()
			plan2, err := rec.Plan(context.Background(), env, nil)
			require.NoError(t, err)
			assert.True(t, plan2.Empty(), plan2.String())
			assert.Contains(t, plan2.String(), "no changes")
			_, err = rec.Apply(context.Background(), plan2)
			require.NoError(t, err)
			assert.Zero(t, prov.MutatingCalls(), prov.Calls())
			assert.LessOrEqual(t, listCalls(prov.Calls()), 6, prov.Calls())
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func indexOf(ins []providers.Instance, name string) int {
	for i, in := range ins {
		if in.Name == name {
			return i
		}
	}
	return -1
}

func listCalls(calls map[string]int) int {
	n := 0
	for m, c := range calls {
		if !memory.Mutating(m) {
			n += c
		}
	}
	return n
}

func TestScaleUpAndDownNeverMovesNodes(t *testing.T) {
	prov := memory.New(nil)
	rec := newRec(t, prov, nil)
	env := environment.Standard("acme", environment.GCP, "europe-west3")
	planApply(t, rec, env)
	before, err := rec.Observe(context.Background(), env)
	require.NoError(t, err)
	zoneOf := map[string]string{}
	for _, in := range before.Instances {
		zoneOf[in.Name] = in.Zone
	}

	env.Web.Nodes += 3
	plan, _ := planApply(t, rec, env)
	cr, up, del := plan.Count()
	assert.Equal(t, 3, cr)
	assert.Equal(t, 1, up, "the load balancer gains backends") // backends change
	assert.Zero(t, del)

	env.Web.Nodes -= 3
	plan, _ = planApply(t, rec, env)
	_, _, del = plan.Count()
	assert.Equal(t, 3, del, plan.String())
	for _, c := range plan.Changes {
		if c.Action == environment.ActionDelete {
			assert.Contains(t, c.Reason, "scaled down")
		}
	}
	after, err := rec.Observe(context.Background(), env)
	require.NoError(t, err)
	for _, in := range after.Instances {
		if z, ok := zoneOf[in.Name]; ok {
			assert.Equal(t, z, in.Zone, "node %s moved", in.Name)
		}
	}
}

func TestPlanRefusesInvalidEnvironment(t *testing.T) {
	rec := newRec(t, memory.New(nil), nil)
	env := environment.Standard("acme", environment.GCP, "europe-west3")
	env.Web.Nodes = 1
	env.SMTP.Relays = nil
	_, err := rec.Plan(context.Background(), env, nil)
	var ve *environment.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.True(t, ve.Has("web.nodes"), err)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)

	_, err = rec.Plan(context.Background(), nil, nil)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = rec.Apply(context.Background(), nil)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = rec.Destroy(context.Background(), nil)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = environment.NewReconciler(nil, nil)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = rec.Apply(context.Background(), &environment.Plan{Changes: []environment.Change{{Action: "explode", Kind: environment.KindInstance, Name: "x"}}})
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
}

func TestPlanRefusesZoneThatIsDown(t *testing.T) {
	prov := memory.New(nil)
	require.NoError(t, prov.InjectZoneOutage("europe-west3", "europe-west3-b"))
	rec := newRec(t, prov, nil)
	env := environment.Standard("acme", environment.GCP, "europe-west3")
	env.Zones = []string{"europe-west3-a", "europe-west3-b", "europe-west3-c"}
	_, err := rec.Plan(context.Background(), env, nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "zone europe-west3-b of region europe-west3 is down")

	// Without named zones the placement keeps the region's zones, so an
	// outage does not move planned nodes: it is reported instead.
	env.Zones = nil
	_, err = rec.Plan(context.Background(), env, nil)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "zone europe-west3-b of region europe-west3 is down")
	var ve *environment.ValidationError
	assert.ErrorAs(t, err, &ve)
}

func TestApplyRetriesTransientErrors(t *testing.T) {
	prov := memory.New(nil)
	require.NoError(t, prov.SetErrorRate(0.3, 7, providers.Unavailable, "CreateInstance", "ReserveAddress", "CreateFirewallRule"))
	var mu sync.Mutex
	retries := 0
	rec := newRec(t, prov, func(e environment.Event) {
		if e.Phase == "retry" {
			mu.Lock()
			retries++
			mu.Unlock()
		}
	})
	env := environment.Standard("acme", environment.Memory, "europe-west3")
	plan, res := planApply(t, rec, env)
	assert.Len(t, res.Applied, len(plan.Changes))
	assert.Positive(t, retries)
	prov.ClearFaults()
	plan2, err := rec.Plan(context.Background(), env, nil)
	require.NoError(t, err)
	assert.True(t, plan2.Empty(), plan2.String())
}

// A crash midway (the process dies after some creates) is recovered by
// planning again: the new plan holds only what is missing, and applying it
// converges with no duplicate.
func TestConvergesAfterCrashMidway(t *testing.T) {
	prov := memory.New(nil)
	rec := newRec(t, prov, nil)
	env := environment.Standard("acme", environment.Memory, "europe-west3")
	plan, err := rec.Plan(context.Background(), env, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	crashRec, err := environment.NewReconciler(prov, &environment.ReconcilerOptions{Parallelism: 2, OnEvent: func(e environment.Event) {
		if e.Phase == "done" && e.Done >= 5 {
			once.Do(cancel)
		}
	}})
	require.NoError(t, err)
	res, err := crashRec.Apply(ctx, plan)
	require.Error(t, err)
	require.NotEmpty(t, res.Failed)

	plan2, err := rec.Plan(context.Background(), env, nil)
	require.NoError(t, err)
	cr, _, _ := plan2.Count()
	assert.Less(t, cr, len(plan.Changes))
	assert.Positive(t, cr)
	_, err = rec.Apply(context.Background(), plan2)
	require.NoError(t, err)
	inv, err := rec.Observe(context.Background(), env)
	require.NoError(t, err)
	assert.Len(t, inv.Instances, len(plan.Nodes))
	// Re-applying the stale first plan is harmless too: creates of existing
	// resources of ours succeed without duplicates.
	_, err = rec.Apply(context.Background(), plan)
	require.NoError(t, err)
	inv, err = rec.Observe(context.Background(), env)
	require.NoError(t, err)
	assert.Len(t, inv.Instances, len(plan.Nodes))
}

func TestDestroyTouchesOnlyOwnResources(t *testing.T) {
	ctx := context.Background()
	prov := memory.New(nil)
	rec := newRec(t, prov, nil)
	acme := environment.Standard("acme", environment.GCP, "europe-west3")
	other := environment.Standard("other", environment.GCP, "europe-west3")
	planApply(t, rec, acme)
	planApply(t, rec, other)
	// A resource that is not managed by the SDK, but carries the name label.
	_, err := prov.CreateInstance(ctx, providers.InstanceSpec{Name: "acme-handmade", Region: "europe-west3", Zone: "europe-west3-a",
		Labels: providers.Labels{providers.LabelEnvironment: "acme"}})
	require.NoError(t, err)

	res, err := rec.Destroy(ctx, acme)
	require.NoError(t, err)
	assert.NotEmpty(t, res.Applied)
	inv, err := rec.Observe(ctx, acme)
	require.NoError(t, err)
	assert.Empty(t, inv.Instances)
	assert.Empty(t, inv.Addresses)
	assert.Empty(t, inv.FirewallRules)
	assert.Nil(t, inv.LoadBalancer)
	_, err = prov.GetInstance(ctx, providers.InstanceRef{Region: "europe-west3", Zone: "europe-west3-a", Name: "acme-handmade"})
	assert.NoError(t, err, "Destroy must not delete unmanaged resources")
	invOther, err := rec.Observe(ctx, other)
	require.NoError(t, err)
	assert.NotEmpty(t, invOther.Instances)
	// Idempotent.
	res, err = rec.Destroy(ctx, acme)
	require.NoError(t, err)
	assert.Empty(t, res.Applied)
}

func TestSecretsNeverPrintedAndChangeShowsAsUpdate(t *testing.T) {
	ctx := context.Background()
	prov := memory.New(nil)
	rec := newRec(t, prov, nil)
	env := environment.Standard("acme", environment.Memory, "europe-west3")
	opts := &environment.PlanOptions{Secrets: map[environment.Tier]map[string]providers.Secret{
		environment.TierWeb: {"cloudflared-token": "very-secret-token-1"},
	}}
	plan, err := rec.Plan(ctx, env, opts)
	require.NoError(t, err)
	assert.NotContains(t, plan.String(), "very-secret-token-1")
	assert.NotContains(t, fmt.Sprintf("%v %+v", plan.Changes, plan.Changes), "very-secret-token-1")
	_, err = rec.Apply(ctx, plan)
	require.NoError(t, err)

	plan, err = rec.Plan(ctx, env, opts)
	require.NoError(t, err)
	assert.True(t, plan.Empty(), plan.String())

	opts.Secrets[environment.TierWeb]["cloudflared-token"] = "very-secret-token-2"
	plan, err = rec.Plan(ctx, env, opts)
	require.NoError(t, err)
	_, up, _ := plan.Count()
	assert.Equal(t, env.Web.Nodes, up)
	out := plan.String()
	assert.Contains(t, out, "cloudflared-token (secret)")
	assert.NotContains(t, out, "very-secret-token")
	_, err = rec.Apply(ctx, plan)
	require.NoError(t, err)
	plan, err = rec.Plan(ctx, env, opts)
	require.NoError(t, err)
	assert.True(t, plan.Empty(), plan.String())
}

func TestZeroTrustPlanHasNoPublicIngress(t *testing.T) {
	rec := newRec(t, memory.New(nil), nil)
	for _, cdn := range []environment.CDNKind{environment.CDNCloudflare, environment.CDNGoogle} {
		env := environment.Standard("acme", environment.GCP, "europe-west3")
		env.CDN.Kind = cdn
		if cdn == environment.CDNCloudflare {
			env.CDN.Cloudflare = &environment.CloudflareSettings{AccountID: "0123456789abcdef0123456789abcdef", ZoneID: "fedcba9876543210fedcba9876543210"}
		}
		plan, err := rec.Plan(context.Background(), env, nil)
		require.NoError(t, err)
		for _, c := range plan.Changes {
			if c.FirewallRule != nil {
				assert.False(t, c.FirewallRule.OpenToInternet(), "%s: %s", cdn, c.Name)
			}
		}
	}
}

func TestApplyBoundedParallelism(t *testing.T) {
	prov := memory.New(&memory.Options{Latency: 20 * time.Millisecond})
	var mu sync.Mutex
	inFlight, peak := 0, 0
	rec, err := environment.NewReconciler(prov, &environment.ReconcilerOptions{Parallelism: 4, OnEvent: func(e environment.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Phase {
		case "start":
			inFlight++
			peak = max(peak, inFlight)
		case "done", "failed":
			inFlight--
		}
	}})
	require.NoError(t, err)
	env := environment.Standard("acme", environment.Memory, "europe-west3")
	planApply(t, rec, env)
	assert.LessOrEqual(t, peak, 4)
	assert.Equal(t, 4, peak)
}

func TestZoneLossAfterOutage(t *testing.T) {
	ctx := context.Background()
	prov := memory.New(nil)
	rec := newRec(t, prov, nil)
	env := environment.Standard("acme", environment.GCP, "europe-west3")
	planApply(t, rec, env)
	inv, err := rec.Observe(ctx, env)
	require.NoError(t, err)
	report := environment.AnalyzeZoneLoss(env, inv.Nodes(true))
	assert.True(t, report.OK(), report.String())

	require.NoError(t, prov.InjectZoneOutage("europe-west3", "europe-west3-a"))
	inv, err = rec.Observe(ctx, env)
	require.NoError(t, err)
	report = environment.AnalyzeZoneLoss(env, inv.Nodes(true))
	assert.False(t, report.OK(), "with zone a already down, losing a second zone must break something:\n%s", report)
}

// selfRetrying is a memory provider that claims to retry by itself.
type selfRetrying struct{ *memory.Provider }

func (selfRetrying) RetriesTransientErrors() bool { return true }

// A driver that retries itself is not retried again by the reconciler, so
// attempts never multiply.
func TestNoStackedRetriesOverSelfRetryingDriver(t *testing.T) {
	prov := memory.New(nil)
	require.NoError(t, prov.FailNth("CreateFirewallRule", 1, providers.Unavailable))
	rec := newRec(t, selfRetrying{prov}, nil)
	env := environment.Standard("acme", environment.Memory, "europe-west3")
	plan, err := rec.Plan(context.Background(), env, nil)
	require.NoError(t, err)
	res, err := rec.Apply(context.Background(), plan)
	require.Error(t, err)
	assert.Equal(t, providers.Unavailable, providers.Code(err))
	require.Len(t, res.Failed, 1)
	assert.Equal(t, 1, prov.Calls()["CreateFirewallRule"])
}

func TestDestroyWithKeepsWhatItIsTold(t *testing.T) {
	ctx := context.Background()
	prov := memory.New(nil)
	rec := newRec(t, prov, nil)
	env := environment.Standard("acme", environment.GCP, "europe-west3") // global address + load balancer
	planApply(t, rec, env)
	_, err := prov.ReserveAddress(ctx, providers.AddressSpec{Name: environment.DRAddressName("acme"), Region: "europe-west3",
		Labels: providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: "acme"}})
	require.NoError(t, err)

	res, err := rec.DestroyWith(ctx, env, &environment.DestroyOptions{
		RegionalOnly: true,
		Keep: func(c environment.Change) bool {
			return c.Kind == environment.KindAddress && c.Name == environment.DRAddressName("acme")
		},
	})
	require.NoError(t, err)
	assert.NotEmpty(t, res.Applied)
	inv, err := rec.Observe(ctx, env)
	require.NoError(t, err)
	assert.Empty(t, inv.Instances)
	assert.Empty(t, inv.FirewallRules)
	assert.NotNil(t, inv.LoadBalancer, "global resources stay with RegionalOnly")
	var names []string
	for _, a := range inv.Addresses {
		names = append(names, a.Name)
	}
	assert.ElementsMatch(t, []string{"acme-dr", "acme-primary"}, names, "the kept regional address and the global one remain")
}
