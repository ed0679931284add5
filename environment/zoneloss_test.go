package environment_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/environment"
)

func check(t *testing.T, checks []environment.TierCheck, name string) environment.TierCheck {
	t.Helper()
	i := slices.IndexFunc(checks, func(c environment.TierCheck) bool { return c.Check == name })
	require.GreaterOrEqual(t, i, 0, "no %s check", name)
	return checks[i]
}

func TestAnalyzeZoneLossStandard(t *testing.T) {
	env := ociEnv()
	nodes := mustPlace(t, env, zones3("eu-frankfurt-1"))
	rep := environment.AnalyzeZoneLoss(env, nodes)
	require.True(t, rep.OK(), rep.String())
	require.Len(t, rep.Zones, 3)
	assert.Equal(t, "acme-prod", rep.Environment)
	total := 0
	for _, z := range rep.Zones {
		assert.True(t, z.OK())
		total += len(z.Lost)
		assert.Equal(t, 1, check(t, z.Checks, environment.CheckTunnel).Needed)
		assert.Equal(t, 2, check(t, z.Checks, environment.CheckElasticsearch).Needed)
		assert.Equal(t, 2, check(t, z.Checks, environment.CheckRedis).Left)
	}
	assert.Equal(t, len(nodes), total, "every node is lost in exactly one zone")
	assert.Empty(t, rep.Failures())

	s := rep.String()
	assert.Contains(t, s, "lose eu-frankfurt-1-a")
	assert.Contains(t, s, "tunnel")
	assert.Contains(t, s, "every tier keeps serving")
	assert.NotContains(t, s, "FAIL")
}

func TestAnalyzeZoneLossDatabase(t *testing.T) {
	env := gcpEnv()
	nodes := mustPlace(t, env, gcpZones(3))
	rep := environment.AnalyzeZoneLoss(env, nodes)
	var primaryZone string
	for _, n := range nodes {
		if n.Role == environment.RolePrimary {
			primaryZone = n.Zone
		}
	}
	for _, z := range rep.Zones {
		c := check(t, z.Checks, environment.CheckDatabase)
		assert.True(t, c.OK)
		if z.Zone == primaryZone {
			assert.Contains(t, c.Reason, "secondary")
			assert.Contains(t, c.Reason, "takes over")
		} else {
			assert.Contains(t, c.Reason, "primary")
			assert.Contains(t, c.Reason, "keeps serving")
		}
	}
	assert.False(t, slices.ContainsFunc(rep.Current, func(c environment.TierCheck) bool { return c.Check == environment.CheckTunnel }),
		"no tunnel check with Google CDN")

	// Primary and secondary in the same zone: losing it loses the database.
	for i := range nodes {
		if nodes[i].Tier == environment.TierPostgreSQL {
			nodes[i].Zone = primaryZone
		}
	}
	rep = environment.AnalyzeZoneLoss(env, nodes)
	assert.False(t, rep.OK())
	for _, z := range rep.Zones {
		if z.Zone == primaryZone {
			c := check(t, z.Checks, environment.CheckDatabase)
			assert.False(t, c.OK)
			assert.Contains(t, c.Reason, "both lost")
		}
	}
}

func TestAnalyzeZoneLossAfterOutage(t *testing.T) {
	env := ociEnv()
	nodes := mustPlace(t, env, zones3("eu-frankfurt-1"))
	serving := slices.DeleteFunc(slices.Clone(nodes), func(n environment.Node) bool { return n.Zone == "eu-frankfurt-1-a" })
	rep := environment.AnalyzeZoneLoss(env, serving)
	// Everything still serves now...
	for _, c := range rep.Current {
		assert.True(t, c.OK, "%s: %s", c.Check, c.Reason)
	}
	// ...but the clusters cannot lose another zone.
	require.Len(t, rep.Zones, 2)
	assert.False(t, rep.OK())
	for _, z := range rep.Zones {
		for _, name := range []string{environment.CheckElasticsearch, environment.CheckRabbitMQ, environment.CheckGridFS, environment.CheckRedis} {
			c := check(t, z.Checks, name)
			assert.False(t, c.OK, "%s after losing %s", name, z.Zone)
			assert.Equal(t, 1, c.Left)
			assert.Equal(t, 2, c.Needed)
		}
	}
	s := rep.String()
	assert.Contains(t, s, "FAIL")
	assert.NotEmpty(t, rep.Failures())

	// Two zones down: nothing is left to spread over; web still serves now.
	last := slices.DeleteFunc(slices.Clone(serving), func(n environment.Node) bool { return n.Zone == "eu-frankfurt-1-b" })
	rep = environment.AnalyzeZoneLoss(env, last)
	assert.False(t, check(t, rep.Current, environment.CheckElasticsearch).OK)
}

func TestAnalyzeZoneLossNothingServing(t *testing.T) {
	rep := environment.AnalyzeZoneLoss(gcpEnv(), nil)
	assert.False(t, rep.OK())
	assert.Empty(t, rep.Zones)
	for _, c := range rep.Current {
		assert.False(t, c.OK, c.Check)
	}
	assert.Contains(t, rep.String(), "FAIL now")
}

func TestAnalyzeZoneLossNil(t *testing.T) {
	rep := environment.AnalyzeZoneLoss(nil, nil)
	require.NotNil(t, rep)
	assert.False(t, rep.OK())
	assert.Contains(t, rep.String(), "environment is nil")
	var nilRep *environment.ZoneLossReport
	assert.False(t, nilRep.OK())
	assert.NotEmpty(t, nilRep.String())
	assert.NotEmpty(t, nilRep.Failures())
}

func TestAnalyzeZoneLossStringTable(t *testing.T) {
	env := gcpEnv()
	rep := environment.AnalyzeZoneLoss(env, mustPlace(t, env, gcpZones(3)))
	lines := strings.Split(strings.TrimSpace(rep.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 6)
	assert.Contains(t, lines[1], "situation")
	assert.Contains(t, lines[2], "now")
	assert.Contains(t, lines[3], "lose europe-west3-a")
	assert.Contains(t, lines[3], "ok 1/1")
}

func TestAnalyzeZoneLossDatabaseAfterPrimaryLoss(t *testing.T) {
	env := gcpEnv()
	nodes := mustPlace(t, env, gcpZones(3))
	var primaryZone, secondaryZone string
	for _, n := range nodes {
		switch n.Role {
		case environment.RolePrimary:
			primaryZone = n.Zone
		case environment.RoleSecondary:
			secondaryZone = n.Zone
		}
	}
	serving := slices.DeleteFunc(slices.Clone(nodes), func(n environment.Node) bool { return n.Zone == primaryZone })
	rep := environment.AnalyzeZoneLoss(env, serving)
	assert.True(t, check(t, rep.Current, environment.CheckDatabase).OK)
	for _, z := range rep.Zones {
		c := check(t, z.Checks, environment.CheckDatabase)
		if z.Zone == secondaryZone {
			assert.False(t, c.OK)
			assert.Contains(t, c.Reason, "already down")
		} else {
			assert.True(t, c.OK)
		}
	}
}
