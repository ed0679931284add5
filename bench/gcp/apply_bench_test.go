// Package gcpbench measures Apply of the standard GCP environment (Google
// Cloud CDN) over gcpfake with 20 ms per API call and operations that take
// 200 ms to complete: API calls per resource, wall time against the ideal
// critical path, and mutating calls on a re-apply (which must be zero).
//
//	go test ./bench/gcp -run '^$' -bench . -benchtime 2x
package gcpbench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	orocloud "github.com/orocloud/orocloud-go"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers/gcp"
	"github.com/orocloud/orocloud-go/providers/gcp/gcpfake"
)

const (
	callLatency = 20 * time.Millisecond
	opDelay     = 200 * time.Millisecond
)

// idealCriticalPath is the shortest possible Apply: every independent
// change in parallel, so the longest chain of dependent mutating calls
// decides. That chain is an instance insert (web nodes must exist before
// their instance group takes them), then the load balancer: instance group
// insert, addInstances, backend service, URL map, target proxy, forwarding
// rule. Each mutating call costs one round trip plus the operation's
// completion; the reads the plan needs first (ListZones, then the
// observation lists in parallel) cost two round trips. It assumes unbounded
// parallelism: with the reconciler's default of 10 concurrent calls, the 23
// independent creates of the first wave take at least three rounds.
func idealCriticalPath() time.Duration {
	const chain = 7
	return 2*callLatency + chain*(callLatency+opDelay)
}

func BenchmarkApplyStandardEnvironment(b *testing.B) {
	for _, v := range []struct {
		poll        time.Duration
		parallelism int
	}{{gcp.DefaultPollInterval, 0}, {gcp.DefaultPollInterval, 32}, {250 * time.Millisecond, 32}} {
		poll := v.poll
		b.Run(fmt.Sprintf("poll=%s/parallelism=%d", poll, v.parallelism), func(b *testing.B) {
			var wall time.Duration
			var calls, mutating, reapplyMutating, resources int
			for b.Loop() {
				w, c, m, rm, r := applyOnce(b, poll, v.parallelism)
				wall += w
				calls += c
				mutating += m
				reapplyMutating += rm
				resources += r
			}
			n := float64(b.N)
			b.ReportMetric(float64(wall.Milliseconds())/n, "apply-ms")
			b.ReportMetric(float64(wall)/n/float64(idealCriticalPath()), "x-ideal")
			b.ReportMetric(float64(calls)/float64(resources), "calls/resource")
			b.ReportMetric(float64(mutating)/float64(resources), "mutating/resource")
			b.ReportMetric(float64(reapplyMutating)/n, "reapply-mutating")
			b.ReportMetric(float64(resources)/n, "resources")
		})
	}
}

func applyOnce(b *testing.B, poll time.Duration, parallelism int) (wall time.Duration, calls, mutating, reapplyMutating, resources int) {
	ctx := context.Background()
	srv := gcpfake.New(&gcpfake.Options{Latency: callLatency, OperationDelay: opDelay})
	defer srv.Close()
	prov, err := gcp.Open(ctx, "bench-project", &gcp.Options{Endpoint: srv.URL, PollInterval: poll})
	if err != nil {
		b.Fatal(err)
	}
	defer prov.Close()
	plat, err := orocloud.New(prov, &orocloud.Options{Parallelism: parallelism})
	if err != nil {
		b.Fatal(err)
	}
	env := environment.Standard("acme-prod", environment.GCP, "europe-west3")
	start := time.Now()
	plan, err := plat.Plan(ctx, env, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := plat.Apply(ctx, plan); err != nil {
		b.Fatal(err)
	}
	wall = time.Since(start)
	reqs := srv.Requests()
	calls = len(reqs)
	mutating = len(srv.MutatingRequests())
	// Resources: one per change, the load balancer counted as its 8
	// components (2 groups, health check, backend service, URL map,
	// certificate, proxy, forwarding rule).
	for _, c := range plan.Changes {
		if c.Kind == environment.KindLoadBalancer {
			resources += 8
			continue
		}
		resources++
	}
	if testing.Verbose() {
		perKind := map[string]int{}
		for _, r := range reqs {
			perKind[r.Method+" "+kindOf(r.Path)]++
		}
		b.Logf("plan: %d changes; requests by kind: %v", len(plan.Changes), perKind)
	}
	srv.ResetRequests()
	plan2, err := plat.Plan(ctx, env, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := plat.Apply(ctx, plan2); err != nil {
		b.Fatal(err)
	}
	reapplyMutating = len(srv.MutatingRequests())
	return wall, calls, mutating, reapplyMutating, resources
}

// kindOf reduces a request path to its resource collection (and action).
func kindOf(path string) string {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(seg) - 1; i >= 0; i-- {
		switch seg[i] {
		case "instances", "zones", "addresses", "firewalls", "operations", "instanceGroups", "healthChecks",
			"backendServices", "urlMaps", "sslCertificates", "targetHttpsProxies", "forwardingRules":
			if i+2 < len(seg) {
				return seg[i] + "/" + seg[i+2]
			}
			return seg[i]
		}
	}
	return path
}
