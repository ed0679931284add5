// Package ocibench measures Apply of the standard OroCommerce environment
// (OCI, Cloudflare as CDN: 20 instances, one NSG rule, one reserved public
// IP) through the real OCI Go SDK against ocifake, with 20 ms of latency on
// every API call and lifecycle transitions that take 200 ms.
//
//	go test ./bench/oci -run '^$' -bench . -benchtime 3x -v
//
// It reports the wall time of Apply against the ideal critical path, API
// calls per resource, the mutating calls of a second Apply (goal 0) and the
// wall time of Destroy (which waits for TERMINATED).
package ocibench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	orocloud "github.com/orocloud/orocloud-go"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/oci"
	"github.com/orocloud/orocloud-go/providers/oci/ocifake"
)

const (
	latency     = 20 * time.Millisecond
	transition  = 200 * time.Millisecond
	parallelism = 10 // orocloud's default
)

func BenchmarkApplyStandardOCI(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	ctx := context.Background()
	var applyD, destroyD, replanD time.Duration
	var calls, mutating, reapplyMutating, resources int
	var perOp map[string]int
	for range b.N {
		b.StopTimer()
		srv := ocifake.New(&ocifake.Options{Regions: []string{"eu-frankfurt-1", "eu-amsterdam-1"}, Latency: latency, TransitionDelay: transition})
		prov, err := oci.Open(ctx, "ocid1.compartment.oc1..bench", &oci.Options{
			ConfigurationProvider: oci.RawKey("ocid1.tenancy.oc1..bench", "ocid1.user.oc1..bench", "eu-frankfurt-1",
				"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", providers.Secret(pemKey), ""),
			RegionEndpoints: srv.Endpoints(), VCNID: ocifake.VCNID, SubnetID: ocifake.SubnetID,
			DefaultImage: "ocid1.image.oc1..bench", PollInterval: 50 * time.Millisecond,
		})
		if err != nil {
			b.Fatal(err)
		}
		plat, err := orocloud.New(prov, &orocloud.Options{Parallelism: parallelism})
		if err != nil {
			b.Fatal(err)
		}
		env := environment.Standard("acme-prod", environment.OCI, "eu-frankfurt-1")
		plan, err := plat.Plan(ctx, env, nil)
		if err != nil {
			b.Fatal(err)
		}
		resources = len(plan.Changes)
		srv.ResetLog()
		b.StartTimer()
		start := time.Now()
		res, err := plat.Apply(ctx, plan)
		applyD = time.Since(start)
		b.StopTimer()
		if err != nil || len(res.Failed) > 0 {
			b.Fatalf("apply: %v %v", err, res.Errors)
		}
		calls = len(srv.Requests())
		mutating = len(srv.Mutating())
		perOp = map[string]int{}
		for _, r := range srv.Requests() {
			perOp[r.Op]++
		}

		srv.ResetLog()
		start = time.Now()
		plan2, err := plat.Plan(ctx, env, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := plat.Apply(ctx, plan2); err != nil {
			b.Fatal(err)
		}
		replanD = time.Since(start)
		reapplyMutating = len(srv.Mutating())

		start = time.Now()
		if _, err := plat.Destroy(ctx, env); err != nil {
			b.Fatal(err)
		}
		destroyD = time.Since(start)
		_ = prov.Close()
		srv.Close()
	}
	// The ideal: every resource needs at least its one mutating call of
	// 20 ms, at most `parallelism` in flight.
	ideal := time.Duration((resources+parallelism-1)/parallelism) * latency
	b.ReportMetric(float64(applyD.Milliseconds()), "apply-ms")
	b.ReportMetric(float64(ideal.Milliseconds()), "ideal-ms")
	b.ReportMetric(float64(calls)/float64(resources), "calls/resource")
	b.ReportMetric(float64(mutating)/float64(resources), "mutating/resource")
	b.ReportMetric(float64(reapplyMutating), "reapply-mutating")
	b.ReportMetric(float64(replanD.Milliseconds()), "replan+reapply-ms")
	b.ReportMetric(float64(destroyD.Milliseconds()), "destroy-ms")
	var ops []string
	for _, op := range slices.Sorted(maps.Keys(perOp)) {
		ops = append(ops, fmt.Sprintf("%s=%d", op, perOp[op]))
	}
	b.Logf("%d resources; apply %s vs ideal %s (%.1fx); %d calls (%s)", resources, applyD.Round(time.Millisecond),
		ideal, float64(applyD)/float64(ideal), calls, strings.Join(ops, " "))
}

// TestTraceApply prints when each request of one Apply started, relative to
// the first, to see the critical path (run with -run TraceApply -v).
func TestTraceApply(t *testing.T) {
	if testing.Short() || !testing.Verbose() {
		t.Skip("a trace for humans: run with -run TraceApply -v")
	}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	ctx := context.Background()
	srv := ocifake.New(&ocifake.Options{Regions: []string{"eu-frankfurt-1", "eu-amsterdam-1"}, Latency: latency, TransitionDelay: transition})
	defer srv.Close()
	prov, err := oci.Open(ctx, "ocid1.compartment.oc1..bench", &oci.Options{
		ConfigurationProvider: oci.RawKey("ocid1.tenancy.oc1..bench", "ocid1.user.oc1..bench", "eu-frankfurt-1",
			"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", providers.Secret(pemKey), ""),
		RegionEndpoints: srv.Endpoints(), VCNID: ocifake.VCNID, SubnetID: ocifake.SubnetID, DefaultImage: "ocid1.image.oc1..bench",
	})
	if err != nil {
		t.Fatal(err)
	}
	plat, _ := orocloud.New(prov, nil)
	env := environment.Standard("acme-prod", environment.OCI, "eu-frankfurt-1")
	plan, err := plat.Plan(ctx, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetLog()
	if _, err := plat.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	slices.SortFunc(reqs, func(a, b ocifake.Request) int { return a.Start.Compare(b.Start) })
	for _, r := range reqs {
		t.Logf("%6s +%4dms %4dms %s", r.Method, r.Start.Sub(reqs[0].Start).Milliseconds(), r.Elapsed.Milliseconds(), r.Op)
	}
}
