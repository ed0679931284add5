package orocloud_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	orocloud "github.com/orocloud/orocloud-go"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/failover"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

func TestNewRejectsNilProvider(t *testing.T) {
	_, err := orocloud.New(nil, nil)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
}

func TestFacadeLifecycle(t *testing.T) {
	ctx := context.Background()
	prov := memory.New(nil)
	p, err := orocloud.New(prov, nil)
	require.NoError(t, err)
	assert.Same(t, prov, p.Provider())
	env := environment.Standard("shop", environment.GCP, "europe-west3")
	plan, err := p.Plan(ctx, env, nil)
	require.NoError(t, err)
	_, err = p.Apply(ctx, plan)
	require.NoError(t, err)
	inv, err := p.Inventory(ctx, env)
	require.NoError(t, err)
	assert.Len(t, inv.Instances, len(plan.Nodes))
	rep, err := p.ZoneLoss(ctx, env)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.String())
	_, err = p.Destroy(ctx, env)
	require.NoError(t, err)
	inv, err = p.Inventory(ctx, env)
	require.NoError(t, err)
	assert.Empty(t, inv.Instances)
	_, err = p.ZoneLoss(ctx, nil)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
}

func TestFacadeHandsOutServices(t *testing.T) {
	ctx := context.Background()
	prov := memory.New(nil)
	p, err := orocloud.New(prov, nil)
	require.NoError(t, err)
	env := environment.Standard("shop", environment.GCP, "europe-west3")

	store, err := p.BackupStore(ctx, env, "")
	require.NoError(t, err)
	require.NotNil(t, store)
	_, err = p.BackupStore(ctx, env, "") // idempotent
	require.NoError(t, err)
	_, err = p.BackupStore(ctx, nil, "")
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)

	// The fencer stops the instance through the provider.
	plan, err := p.Plan(ctx, env, nil)
	require.NoError(t, err)
	_, err = p.Apply(ctx, plan)
	require.NoError(t, err)
	ref := providers.InstanceRef{Region: "europe-west3", Zone: plan.Nodes[0].Zone, Name: plan.Nodes[0].Name}
	require.NoError(t, p.Fencer().Fence(ctx, failover.Node{Name: ref.Name, Instance: &ref}))
	in, err := prov.GetInstance(ctx, ref)
	require.NoError(t, err)
	assert.Equal(t, providers.StatusStopped, in.Status)

	// DR needs its collaborators; missing ones are all named at once.
	_, err = p.DisasterRecovery(nil)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	for _, field := range []string{"Options.Approver", "Options.Backups", "Options.Journal", "Options.Targets"} {
		assert.Contains(t, err.Error(), field)
	}
}
