package orocloud_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	orocloud "github.com/orocloud/orocloud-go"
	"github.com/orocloud/orocloud-go/environment"
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
