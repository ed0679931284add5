package environment_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

func gcpZones(n int) []providers.Zone {
	out := make([]providers.Zone, n)
	for i := range out {
		out[i] = providers.Zone{Name: fmt.Sprintf("europe-west3-%c", 'a'+i), Region: "europe-west3", Up: true}
	}
	return out
}

func TestPlaceStandard(t *testing.T) {
	env := gcpEnv()
	nodes := mustPlace(t, env, gcpZones(3))
	byTier := map[environment.Tier][]environment.Node{}
	for _, n := range nodes {
		byTier[n.Tier] = append(byTier[n.Tier], n)
	}
	assert.Len(t, byTier[environment.TierWeb], 2)
	assert.Len(t, byTier[environment.TierElasticsearch], 3)
	assert.Len(t, byTier[environment.TierPostgreSQL], 2)
	assert.Len(t, byTier[environment.TierRabbitMQ], 3)
	assert.Len(t, byTier[environment.TierConsumer], 2)
	assert.Len(t, byTier[environment.TierSMTP], 2)
	assert.Len(t, byTier[environment.TierRedis], 3)
	assert.Len(t, byTier[environment.TierGridFS], 3)
	assert.Len(t, nodes, 20)

	pg := byTier[environment.TierPostgreSQL]
	assert.Equal(t, "acme-prod-postgresql-1", pg[0].Name)
	assert.Equal(t, environment.RolePrimary, pg[0].Role)
	assert.Equal(t, "acme-prod-postgresql-2", pg[1].Name)
	assert.Equal(t, environment.RoleSecondary, pg[1].Role)
	assert.NotEqual(t, pg[0].Zone, pg[1].Zone)

	web := byTier[environment.TierWeb]
	assert.NotEqual(t, web[0].Zone, web[1].Zone)
	for _, tier := range []environment.Tier{environment.TierElasticsearch, environment.TierRabbitMQ, environment.TierRedis, environment.TierGridFS} {
		zones := map[string]bool{}
		for _, n := range byTier[tier] {
			zones[n.Zone] = true
			assert.Equal(t, environment.RoleNode, n.Role)
		}
		assert.Len(t, zones, 3, "%s over 3 zones", tier)
	}
	names := map[string]bool{}
	for _, n := range nodes {
		assert.False(t, names[n.Name], "duplicate name %s", n.Name)
		names[n.Name] = true
		assert.Equal(t, environment.NodeName("acme-prod", n.Tier, n.Index), n.Name)
		assert.True(t, providers.ValidName(n.Name), n.Name)
	}
}

func TestPlaceIsDeterministic(t *testing.T) {
	env := gcpEnv()
	a := mustPlace(t, env, gcpZones(3))
	b := mustPlace(t, env.Clone(), gcpZones(3))
	assert.Equal(t, a, b)
}

// TestPlaceProperties checks, for many sizes and zone counts, that every
// tier is spread as evenly as possible, replicas follow the primary and
// secondary, and scaling never moves an existing node.
func TestPlaceProperties(t *testing.T) {
	for z := 1; z <= 5; z++ {
		zones := gcpZones(z)
		for n := 0; n <= 12; n++ {
			env := gcpEnv()
			env.Web.Nodes, env.Elasticsearch.Nodes, env.RabbitMQ.Nodes = n, n, n
			env.Redis.Nodes, env.GridFS.Nodes, env.Consumers.Hosts = n, n, n
			env.PostgreSQL.Replicas = n
			nodes := mustPlace(t, env, zones)
			byTier := map[environment.Tier]map[string]int{}
			for _, nd := range nodes {
				if byTier[nd.Tier] == nil {
					byTier[nd.Tier] = map[string]int{}
				}
				byTier[nd.Tier][nd.Zone]++
			}
			used := min(z, 3)
			for tier, perZone := range byTier {
				lo, hi := -1, 0
				for _, zn := range zones[:used] {
					c := perZone[zn.Name]
					if lo < 0 || c < lo {
						lo = c
					}
					hi = max(hi, c)
				}
				assert.LessOrEqual(t, hi-lo, 1, "%s: %d nodes over %d zones unevenly: %v", tier, env.NodeCount(tier), z, perZone)
				for zn := range perZone {
					assert.Contains(t, []string{"europe-west3-a", "europe-west3-b", "europe-west3-c"}, zn, "at most three zones are used")
				}
			}
			// Stability: the placement of size n is a prefix of size n+1's,
			// tier by tier.
			bigger := env.Clone()
			bigger.Web.Nodes, bigger.Elasticsearch.Nodes, bigger.RabbitMQ.Nodes = n+1, n+1, n+1
			bigger.Redis.Nodes, bigger.GridFS.Nodes, bigger.Consumers.Hosts = n+1, n+1, n+1
			bigger.PostgreSQL.Replicas = n + 1
			more := mustPlace(t, bigger, zones)
			where := map[string]environment.Node{}
			for _, nd := range more {
				where[nd.Name] = nd
			}
			for _, nd := range nodes {
				got, ok := where[nd.Name]
				require.True(t, ok, "node %s disappeared when scaling up", nd.Name)
				assert.Equal(t, nd, got, "node %s moved when scaling from %d to %d over %d zones", nd.Name, n, n+1, z)
			}
		}
	}
}

func TestPlaceNamedZonesInOrder(t *testing.T) {
	env := gcpEnv()
	env.Zones = []string{"europe-west3-c", "europe-west3-a", "europe-west3-b"}
	nodes := mustPlace(t, env, gcpZones(4))
	for _, n := range nodes {
		if n.Role == environment.RolePrimary {
			assert.Equal(t, "europe-west3-c", n.Zone, "the primary goes to the first named zone")
		}
		assert.NotEqual(t, "europe-west3-d", n.Zone)
	}
}

func TestPlaceOCIFaultDomains(t *testing.T) {
	fds := []string{"FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"}
	t.Run("single availability domain", func(t *testing.T) {
		env := environment.Standard("acme", environment.OCI, "eu-amsterdam-1")
		ad := providers.Zone{Name: "Uocm:EU-AMSTERDAM-1-AD-1", Region: "eu-amsterdam-1", Up: true, FaultDomains: fds}
		nodes := mustPlace(t, env, []providers.Zone{ad})
		perTierFD := map[environment.Tier]map[string]bool{}
		for _, n := range nodes {
			assert.Equal(t, ad.Name, n.Zone)
			assert.Contains(t, fds, n.FaultDomain)
			if perTierFD[n.Tier] == nil {
				perTierFD[n.Tier] = map[string]bool{}
			}
			perTierFD[n.Tier][n.FaultDomain] = true
		}
		for tier, set := range perTierFD {
			assert.Len(t, set, min(env.NodeCount(tier), 3), "%s spread over fault domains", tier)
		}
		rep := environment.AnalyzeZoneLoss(env, nodes)
		assert.True(t, rep.OK(), rep.String())
		require.Len(t, rep.Zones, 3)
		assert.Equal(t, ad.Name+"/FAULT-DOMAIN-1", rep.Zones[0].Zone)
	})
	t.Run("three availability domains rotate fault domains", func(t *testing.T) {
		env := ociEnv()
		env.Elasticsearch.Nodes = 9
		var zones []providers.Zone
		for i := 1; i <= 3; i++ {
			zones = append(zones, providers.Zone{Name: fmt.Sprintf("Uocm:EU-FRANKFURT-1-AD-%d", i), Up: true, FaultDomains: fds})
		}
		nodes := mustPlace(t, env, zones)
		seen := map[string]bool{}
		for _, n := range nodes {
			if n.Tier == environment.TierElasticsearch {
				key := n.Zone + "/" + n.FaultDomain
				assert.False(t, seen[key], "two Elasticsearch nodes in %s", key)
				seen[key] = true
			}
		}
		assert.Len(t, seen, 9)
	})
}

func TestPlaceErrors(t *testing.T) {
	var nilEnv *environment.Environment
	_, err := nilEnv.Place(gcpZones(3))
	validationError(t, err)

	_, err = gcpEnv().Place(nil)
	ve := validationError(t, err)
	assert.True(t, ve.Has("zones"))

	env := gcpEnv()
	env.Zones = []string{"europe-west3-a", "europe-west3-x"}
	_, err = env.Place(gcpZones(3))
	ve = validationError(t, err)
	assert.Equal(t, []string{"zones[1]"}, ve.Fields())

	env = gcpEnv()
	env.Web.Nodes = -1
	env.Redis.Nodes = environment.MaxTierNodes + 1
	_, err = env.Place(gcpZones(3))
	ve = validationError(t, err)
	assert.True(t, ve.Has("web.nodes"))
	assert.True(t, ve.Has("redis.nodes"))

	env = gcpEnv()
	env.Name = ""
	_, err = env.Place(gcpZones(3))
	ve = validationError(t, err)
	assert.True(t, ve.Has("name"))
}

func TestNodeCount(t *testing.T) {
	env := gcpEnv()
	env.PostgreSQL.Replicas = 2
	assert.Equal(t, 4, env.NodeCount(environment.TierPostgreSQL))
	assert.Equal(t, 2, env.NodeCount(environment.TierSMTP))
	assert.Equal(t, 2, env.NodeCount(environment.TierConsumer))
	assert.Zero(t, env.NodeCount("nope"))
	var nilEnv *environment.Environment
	assert.Zero(t, nilEnv.NodeCount(environment.TierWeb))
}
