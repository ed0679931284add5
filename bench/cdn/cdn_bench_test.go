// Package cdnbench measures the Cloudflare edge over the local fake of the
// Cloudflare API with a fixed per-request latency: how many API calls and
// how much wall time a first Ensure, a repeated Ensure and a DR switch
// take. Run:
//
//	go test -run '^$' -bench . -benchtime 5x ./bench/cdn/
package cdnbench

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/cdn/cloudflare"
	"github.com/orocloud/orocloud-go/cdn/cloudflare/cloudflarefake"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

const latency = 20 * time.Millisecond

func env(name string, hosts int) *environment.Environment {
	e := environment.Standard(name, environment.OCI, "eu-frankfurt-1")
	e.CDN.Hostnames = nil
	for i := range hosts {
		e.CDN.Hostnames = append(e.CDN.Hostnames, fmt.Sprintf("h%d.%s.example.com", i, name))
	}
	return e
}

func setup(b *testing.B, parallelism int) (*cloudflarefake.Server, *cloudflare.Edge) {
	b.Helper()
	srv := cloudflarefake.New(&cloudflarefake.Options{Latency: latency})
	b.Cleanup(srv.Close)
	e, err := cloudflare.New(&cloudflare.Options{APIToken: providers.Secret(srv.Token()), BaseURL: srv.URL(),
		HTTPClient: srv.Client(), Parallelism: parallelism})
	if err != nil {
		b.Fatal(err)
	}
	return srv, e
}

func report(b *testing.B, srv *cloudflarefake.Server) {
	var mut int
	reqs := srv.Requests()
	for _, r := range reqs {
		if r.Method != http.MethodGet {
			mut++
		}
	}
	b.ReportMetric(float64(len(reqs))/float64(b.N), "calls/op")
	b.ReportMetric(float64(mut)/float64(b.N), "writes/op")
}

// BenchmarkEnsureFirst: a new environment's edge on a new zone (tunnel,
// ingress, token, records, zone settings), with 1 and 3 hostnames, sequential and parallel.
func BenchmarkEnsureFirst(b *testing.B) {
	for _, hosts := range []int{1, 3} {
		for _, par := range []int{1, 4} {
			b.Run(fmt.Sprintf("hosts=%d/parallelism=%d", hosts, par), func(b *testing.B) {
				srv, e := setup(b, par)
				ctx := context.Background()
				srv.ResetRequests()
				b.ResetTimer()
				for i := range b.N {
					en := env(fmt.Sprintf("env-%d", i), hosts)
					en.CDN.Cloudflare.ZoneID = fmt.Sprintf("%032x", i+1) // a new zone: its settings change too
					if _, err := e.Ensure(ctx, en, cdn.Origin{}); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				report(b, srv)
			})
		}
	}
}

// BenchmarkEnsureAgain: Ensure of an edge that is already as asked (reads
// only).
func BenchmarkEnsureAgain(b *testing.B) {
	srv, e := setup(b, 4)
	ctx := context.Background()
	if _, err := e.Ensure(ctx, env("acme", 3), cdn.Origin{}); err != nil {
		b.Fatal(err)
	}
	srv.ResetRequests()
	b.ResetTimer()
	for range b.N {
		if _, err := e.Ensure(ctx, env("acme", 3), cdn.Origin{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	report(b, srv)
}

// BenchmarkDRSwitch: PointHostname from the tunnel's CNAME to a DR
// address and back (each op is one switch: list, update, read back).
func BenchmarkDRSwitch(b *testing.B) {
	srv, e := setup(b, 4)
	ctx := context.Background()
	st, err := e.Ensure(ctx, env("acme", 1), cdn.Origin{})
	if err != nil {
		b.Fatal(err)
	}
	targets := []cdn.Record{
		{Zone: st.ZoneID, Name: st.Hostnames[0], Type: cdn.RecordA, Content: "203.0.113.10", Proxied: true},
		st.Records[0],
	}
	srv.ResetRequests()
	b.ResetTimer()
	for i := range b.N {
		if _, err := e.PointHostname(ctx, targets[i%2]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	report(b, srv)
}
