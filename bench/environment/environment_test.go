// Package environment_bench measures the pure parts of the environment
// model: loading, validation, placement and zone-loss analysis.
// Run: go test -run '^$' -bench . -benchmem ./bench/environment/
package environment_bench

import (
	"fmt"
	"testing"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

func zones(region string) []providers.Zone {
	out := make([]providers.Zone, 3)
	for i := range out {
		out[i] = providers.Zone{Name: fmt.Sprintf("%s-%c", region, 'a'+i), Region: region, Up: true}
	}
	return out
}

// big is an environment of 60 nodes over 3 zones (the size of the Apply
// benchmark) or of the largest size Validate accepts.
func big(perTier int) *environment.Environment {
	env := environment.Standard("acme-prod", environment.GCP, "europe-west3")
	env.Web.Nodes, env.Elasticsearch.Nodes, env.RabbitMQ.Nodes = perTier, perTier+1, perTier+1
	env.Redis.Nodes, env.GridFS.Nodes, env.Consumers.Hosts = perTier+1, perTier+1, perTier
	env.Redis.SentinelQuorum = env.Redis.Nodes/2 + 1
	env.Consumers.Count = 2 * perTier
	env.PostgreSQL.Replicas = perTier - 2
	return env
}

func BenchmarkValidateStandard(b *testing.B) {
	env := environment.Standard("acme-prod", environment.GCP, "europe-west3")
	for b.Loop() {
		if err := env.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadYAMLStandard(b *testing.B) {
	data, err := environment.Standard("acme-prod", environment.OCI, "eu-frankfurt-1").MarshalYAML()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := environment.Load(data, environment.YAML); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadJSONStandard(b *testing.B) {
	data, err := environment.Standard("acme-prod", environment.OCI, "eu-frankfurt-1").MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := environment.Load(data, environment.JSON); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlaceAndAnalyze(b *testing.B) {
	for _, perTier := range []int{8, 125} {
		env := big(perTier)
		z := zones("europe-west3")
		nodes, err := env.Place(z)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("nodes=%d", len(nodes)), func(b *testing.B) {
			for b.Loop() {
				nodes, _ := env.Place(z)
				if !environment.AnalyzeZoneLoss(env, nodes).OK() {
					b.Fatal("not OK")
				}
			}
		})
	}
}
