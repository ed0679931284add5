// Command oci composes the standard OroCommerce environment (Cloudflare in
// front) on Oracle Cloud with the OCI provider.
//
// By default it runs against ocifake, an in-process fake of the OCI REST
// API, with a freshly generated API key: the real OCI Go SDK signs and sends
// every request, and the fake checks the signatures, moves lifecycle states
// and pages its lists. It runs in seconds:
//
//	go run ./examples/oci
//
// Against a real tenancy, set OROCLOUD_OCI_COMPARTMENT (and have an OCI
// config file, ~/.oci/config, or OCI_CONFIG_FILE / OCI_CONFIG_PROFILE),
// plus OROCLOUD_OCI_REGION, OROCLOUD_OCI_VCN, OROCLOUD_OCI_SUBNET and
// OROCLOUD_OCI_IMAGE. It then plans and, with -apply, creates real
// resources (billed); -destroy removes them again.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	orocloud "github.com/orocloud/orocloud-go"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/oci"
	"github.com/orocloud/orocloud-go/providers/oci/ocifake"
)

func main() {
	apply := flag.Bool("apply", false, "against a real tenancy: apply the plan (creates billed resources)")
	destroy := flag.Bool("destroy", false, "against a real tenancy: destroy the environment at the end")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := run(ctx, *apply, *destroy); err != nil {
		fmt.Fprintln(os.Stderr, "oci example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, apply, destroy bool) error {
	region := envOr("OROCLOUD_OCI_REGION", "eu-frankfurt-1")
	compartment := os.Getenv("OROCLOUD_OCI_COMPARTMENT")
	var opts *oci.Options
	real := compartment != ""
	if real {
		cp, err := oci.ConfigFile(os.Getenv("OCI_CONFIG_FILE"), os.Getenv("OCI_CONFIG_PROFILE"))
		if err != nil {
			return err
		}
		opts = &oci.Options{ConfigurationProvider: cp, Region: region, VCNID: os.Getenv("OROCLOUD_OCI_VCN"),
			SubnetID: os.Getenv("OROCLOUD_OCI_SUBNET"), DefaultImage: os.Getenv("OROCLOUD_OCI_IMAGE")}
		fmt.Printf("Real tenancy: compartment %s, region %s.\n", compartment, region)
	} else {
		dr, _ := environment.DefaultDRRegion(environment.OCI, region)
		srv := ocifake.New(&ocifake.Options{Regions: []string{region, dr}, Latency: 2 * time.Millisecond,
			TransitionDelay: 50 * time.Millisecond})
		defer srv.Close()
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		compartment = "ocid1.compartment.oc1..example"
		opts = &oci.Options{
			ConfigurationProvider: oci.RawKey("ocid1.tenancy.oc1..example", "ocid1.user.oc1..example", region,
				"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", providers.Secret(pemKey), ""),
			Region: region, RegionEndpoints: srv.Endpoints(),
			VCNID: ocifake.VCNID, SubnetID: ocifake.SubnetID, DefaultImage: "ocid1.image.oc1..oraclelinux9",
			PollInterval: 20 * time.Millisecond,
		}
		fmt.Printf("Fake OCI (ocifake) serving %s and %s; set OROCLOUD_OCI_COMPARTMENT for a real tenancy.\n", region, dr)
		defer func() {
			fmt.Printf("\n%d signed requests reached the fake.\n", len(srv.Requests()))
		}()
	}
	// Web nodes get a bigger flexible shape than the default (2 OCPUs, 16 GB).
	opts.Shapes = map[string]oci.Shape{string(environment.TierWeb): {Name: "VM.Standard.E5.Flex", OCPUs: 4, MemoryGB: 32}}
	prov, err := oci.Open(ctx, compartment, opts)
	if err != nil {
		return err
	}
	defer prov.Close()

	zones, err := prov.ListZones(ctx, region)
	if err != nil {
		return err
	}
	fmt.Printf("\nAvailability domains of %s:\n", region)
	for _, z := range zones {
		fmt.Printf("  %s (fault domains %s)\n", z.Name, strings.Join(z.FaultDomains, ", "))
	}

	platform, err := orocloud.New(prov, nil)
	if err != nil {
		return err
	}
	env := environment.Standard("acme-prod", environment.OCI, region)
	if err := env.Validate(); err != nil {
		return err
	}
	// The Cloudflare tunnel token reaches the web nodes as secret metadata:
	// never logged, never printed.
	po := &environment.PlanOptions{Secrets: map[environment.Tier]map[string]providers.Secret{
		environment.TierWeb: {"cloudflared-token": providers.Secret(envOr("CLOUDFLARE_TUNNEL_TOKEN", "example-token"))}}}
	plan, err := platform.Plan(ctx, env, po)
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
		fmt.Printf("  %-26s %-34s %-15s %s %.0f OCPU %.0f GB  %s\n", in.Name, in.Zone, in.FaultDomain, in.MachineType, in.OCPUs, in.MemoryGB, in.Status)
	}
	for _, a := range inv.Addresses {
		fmt.Printf("  reserved public IP %s = %s\n", a.Name, a.IP)
	}
	for _, r := range inv.FirewallRules {
		fmt.Printf("  NSG %s: tcp %v from %v to %v\n", r.Name, r.Ports, r.SourceRanges, r.TargetTags)
	}

	again, err := platform.Plan(ctx, env, po)
	if err != nil {
		return err
	}
	fmt.Printf("\nRe-plan: %d changes (empty: %v).\n", len(again.Changes), again.Empty())

	// Object Storage for backups: a streamed upload and download.
	bucket := "acme-prod-backups"
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
	fmt.Printf("Object %s/%s: %d bytes round-tripped (%s).\n", bucket, info.Key, info.Size, body)

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
