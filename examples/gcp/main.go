// Command gcp composes the standard OroCommerce environment (Google Cloud
// CDN and load balancer in front) on Google Cloud with the GCP provider.
//
// By default it runs against gcpfake, an in-process fake of the Compute
// Engine and Cloud Storage JSON APIs: the official Go clients send every
// request, and the fake keeps state, runs operations and pages its lists. It
// runs in seconds:
//
//	go run ./examples/gcp
//
// Against a real project, set OROCLOUD_GCP_PROJECT (and have application
// default credentials: gcloud auth application-default login), optionally
// OROCLOUD_GCP_REGION (default europe-west3) and OROCLOUD_GCP_NETWORK. It
// then plans and, with -apply, creates real resources (billed); -destroy
// removes them again.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	orocloud "github.com/orocloud/orocloud-go"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/gcp"
	"github.com/orocloud/orocloud-go/providers/gcp/gcpfake"
)

func main() {
	apply := flag.Bool("apply", false, "against a real project: apply the plan (creates billed resources)")
	destroy := flag.Bool("destroy", false, "against a real project: destroy the environment at the end")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := run(ctx, *apply, *destroy); err != nil {
		fmt.Fprintln(os.Stderr, "gcp example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, apply, destroy bool) error {
	region := envOr("OROCLOUD_GCP_REGION", "europe-west3")
	project := os.Getenv("OROCLOUD_GCP_PROJECT")
	opts := &gcp.Options{
		Network: envOr("OROCLOUD_GCP_NETWORK", "default"),
		// Web nodes get a bigger machine than the other tiers.
		MachineTypes: map[string]string{string(environment.TierWeb): "e2-standard-4", "": "e2-standard-2"},
	}
	real := project != ""
	if real {
		fmt.Printf("Real project %s, region %s (application default credentials).\n", project, region)
	} else {
		srv := gcpfake.New(&gcpfake.Options{Latency: 2 * time.Millisecond, OperationDelay: 30 * time.Millisecond})
		defer srv.Close()
		project = "acme-example"
		opts.Endpoint = srv.URL
		opts.PollInterval = 10 * time.Millisecond
		fmt.Printf("Fake Google Cloud (gcpfake) at %s; set OROCLOUD_GCP_PROJECT for a real project.\n", srv.URL)
		defer func() {
			fmt.Printf("\n%d requests reached the fake (%d mutating).\n", len(srv.Requests()), len(srv.MutatingRequests()))
		}()
	}
	prov, err := gcp.Open(ctx, project, opts)
	if err != nil {
		return err
	}
	defer prov.Close()

	zones, err := prov.ListZones(ctx, region)
	if err != nil {
		return err
	}
	fmt.Printf("\nZones of %s:\n", region)
	for _, z := range zones {
		fmt.Printf("  %s (up: %v)\n", z.Name, z.Up)
	}

	platform, err := orocloud.New(prov, nil)
	if err != nil {
		return err
	}
	env := environment.Standard("acme-prod", environment.GCP, region)
	env.CDN.Google = &environment.GoogleCDNSettings{NegativeCaching: true}
	if err := env.Validate(); err != nil {
		return err
	}
	plan, err := platform.Plan(ctx, env, nil)
	if err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(plan)
	if real && !apply {
		fmt.Println("\nPlan only: run with -apply to create these resources.")
		return nil
	}

	start := time.Now()
	res, err := platform.Apply(ctx, plan)
	if err != nil {
		return err
	}
	fmt.Printf("\nApplied %d changes in %s.\n", len(res.Applied), time.Since(start).Round(time.Millisecond))

	inv, err := platform.Inventory(ctx, env)
	if err != nil {
		return err
	}
	for _, in := range inv.Instances {
		fmt.Printf("  %-26s %-16s %-14s %-10s %s\n", in.Name, in.Zone, in.MachineType, in.PrivateIP, in.Status)
	}
	for _, a := range inv.Addresses {
		fmt.Printf("  reserved address %s = %s\n", a.Name, a.IP)
	}
	for _, r := range inv.FirewallRules {
		fmt.Printf("  firewall %s: %s %v from %v to %v\n", r.Name, r.Protocol, r.Ports, r.SourceRanges, r.TargetTags)
	}
	if lb := inv.LoadBalancer; lb != nil {
		fmt.Printf("  load balancer %s at %s for %s: %d web nodes, CDN %s (default TTL %s, negative caching %v)\n",
			lb.Name, lb.IP, strings.Join(lb.Hostnames, ", "), len(lb.Backends), lb.CDN.CacheMode, lb.CDN.DefaultTTL, lb.CDN.NegativeCaching)
	}

	again, err := platform.Plan(ctx, env, nil)
	if err != nil {
		return err
	}
	fmt.Printf("\nRe-plan: %d changes (empty: %v).\n", len(again.Changes), again.Empty())

	// Cloud Storage for backups: a streamed upload and download.
	bucket := project + "-acme-prod-backups"
	if err := prov.CreateBucket(ctx, providers.BucketSpec{Name: bucket, Region: region,
		Labels: providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: env.Name}}); err != nil {
		return err
	}
	info, err := prov.PutObject(ctx, bucket, "points/2026-01-01T00/manifest.json", strings.NewReader(`{"point":"example"}`), nil)
	if err != nil {
		return err
	}
	rc, _, err := prov.GetObject(ctx, bucket, info.Key)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	fmt.Printf("Object gs://%s/%s: %d bytes round-tripped (%s).\n", bucket, info.Key, info.Size, body)

	if !real || destroy {
		if err := prov.DeleteObject(ctx, bucket, info.Key); err != nil {
			return err
		}
		if err := prov.DeleteBucket(ctx, bucket); err != nil {
			return err
		}
		dres, err := platform.Destroy(ctx, env)
		if err != nil {
			return err
		}
		fmt.Printf("Destroyed %d resources.\n", len(dres.Applied))
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
