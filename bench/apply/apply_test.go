// Package apply benchmarks environment.Apply on the in-memory provider: a
// 60-node environment over 3 zones, 50 ms of latency on every mutating call,
// parallelism 10.
//
//	go test ./bench/apply -run '^$' -bench . -benchtime 5x
//
// It reports wall time against the ideal critical path (60 nodes / 10 in
// parallel x 50 ms = 300 ms), the mutating calls a second Apply makes (goal
// 0) and the list calls per Apply.
package apply

import (
	"context"
	"testing"
	"time"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers/memory"
)

// sixtyNodes returns a valid environment of exactly 60 nodes.
func sixtyNodes() *environment.Environment {
	env := environment.Standard("bench", environment.Memory, "europe-west3")
	env.Web.Nodes = 12
	env.Elasticsearch.Nodes = 9
	env.PostgreSQL.Replicas = 4 // primary + secondary + 4 = 6
	env.RabbitMQ.Nodes = 9
	env.Consumers.Count = 24
	env.Consumers.Hosts = 6
	env.SMTP.Relays = append(env.SMTP.Relays, environment.SMTPRelay{Name: "relay-3", Priority: 30})
	env.Redis.Nodes = 9
	env.Redis.SentinelQuorum = 5
	env.GridFS.Nodes = 6
	return env
}

func BenchmarkApply60Nodes(b *testing.B) {
	const latency = 50 * time.Millisecond
	const parallelism = 10
	ctx := context.Background()
	var ratio, secondMutating, listCalls, changes float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		prov := memory.New(&memory.Options{Latency: latency})
		rec, err := environment.NewReconciler(prov, &environment.ReconcilerOptions{Parallelism: parallelism})
		if err != nil {
			b.Fatal(err)
		}
		env := sixtyNodes()
		b.StartTimer()
		start := time.Now()
		plan, err := rec.Plan(ctx, env, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(plan.Nodes) != 60 {
			b.Fatalf("environment has %d nodes, want 60", len(plan.Nodes))
		}
		if _, err := rec.Apply(ctx, plan); err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start)
		b.StopTimer()
		ideal := time.Duration(60/parallelism) * latency
		ratio += wall.Seconds() / ideal.Seconds()
		changes += float64(len(plan.Changes))
		for m, n := range prov.Calls() {
			if !memory.Mutating(m) {
				listCalls += float64(n)
			}
		}
		prov.ResetCalls()
		plan2, err := rec.Plan(ctx, env, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rec.Apply(ctx, plan2); err != nil {
			b.Fatal(err)
		}
		secondMutating += float64(prov.MutatingCalls())
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(ratio/n, "wall/ideal")
	b.ReportMetric(secondMutating/n, "mutating-calls-2nd-apply")
	b.ReportMetric(listCalls/n, "read-calls/apply")
	b.ReportMetric(changes/n, "changes")
}
