// Command cdn composes the Cloudflare Zero Trust edge of an OroCommerce
// environment: one named tunnel, its ingress to the web nodes' nginx, the
// proxied CNAME of each hostname, strict TLS with HTTPS always, and checks
// that the environment's planned firewall rules open nothing to the
// internet. It then hands the tunnel token to the web tier as a secret and,
// with -dr-ip, switches the first hostname to a DR address the way disaster
// recovery does.
//
// By default it runs against a local fake of the Cloudflare API and needs
// no account. With OROCLOUD_CLOUDFLARE_TOKEN, OROCLOUD_CLOUDFLARE_ACCOUNT and
// OROCLOUD_CLOUDFLARE_ZONE set it uses that real account: it then creates a
// tunnel named "orocloud-<env>" and DNS records for -host, so pick a
// hostname of your zone that you may change, and run it again with -destroy
// to clean up.
//
//	go run ./examples/cdn
//	go run ./examples/cdn -host shop.example.com -dr-ip 203.0.113.10
//	OROCLOUD_CLOUDFLARE_TOKEN=... OROCLOUD_CLOUDFLARE_ACCOUNT=... OROCLOUD_CLOUDFLARE_ZONE=... \
//	  go run ./examples/cdn -env demo -host demo.example.org -destroy
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/cdn/cloudflare"
	"github.com/orocloud/orocloud-go/cdn/cloudflare/cloudflarefake"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cdn:", err)
		os.Exit(1)
	}
}

func run() error {
	name := flag.String("env", "acme-prod", "environment name")
	host := flag.String("host", "shop.example.com", "hostname served through the tunnel")
	cloud := flag.String("provider", "oci", "cloud of the environment: oci or gcp")
	drIP := flag.String("dr-ip", "", "after ensuring, point -host at this IPv4 address (a DR switch)")
	destroy := flag.Bool("destroy", false, "tear the edge down instead of ensuring it")
	verbose := flag.Bool("v", false, "log every change")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	token, account, zone := os.Getenv("OROCLOUD_CLOUDFLARE_TOKEN"), os.Getenv("OROCLOUD_CLOUDFLARE_ACCOUNT"), os.Getenv("OROCLOUD_CLOUDFLARE_ZONE")
	opts := &cloudflare.Options{Logger: logger, APIToken: providers.Secret(token)}
	switch {
	case token != "" && account != "" && zone != "":
		fmt.Println("using the real Cloudflare account", account)
	case token != "" || account != "" || zone != "":
		return errors.New("set all of OROCLOUD_CLOUDFLARE_TOKEN, OROCLOUD_CLOUDFLARE_ACCOUNT and OROCLOUD_CLOUDFLARE_ZONE, or none to use the local fake")
	default:
		api := cloudflarefake.New(nil)
		defer api.Close()
		account, zone = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
		opts.APIToken, opts.BaseURL = providers.Secret(api.Token()), api.URL()
		fmt.Println("using a local fake of the Cloudflare API at", api.URL())
	}

	var kind environment.ProviderKind
	switch *cloud {
	case "oci":
		kind = environment.OCI
	case "gcp":
		kind = environment.GCP
	default:
		return fmt.Errorf("-provider %q: want oci or gcp", *cloud)
	}
	region := map[environment.ProviderKind]string{environment.OCI: "eu-frankfurt-1", environment.GCP: "europe-west3"}[kind]
	env := environment.Standard(*name, kind, region)
	env.CDN = environment.CDN{Kind: environment.CDNCloudflare, Hostnames: []string{*host},
		Cloudflare: &environment.CloudflareSettings{AccountID: account, ZoneID: zone}}
	if err := env.Validate(); err != nil {
		return err
	}

	edge, err := cloudflare.New(opts)
	if err != nil {
		return err
	}
	if *destroy {
		if err := edge.Destroy(ctx, env); err != nil {
			return err
		}
		fmt.Println("edge of", env.Name, "destroyed")
		return nil
	}

	// Zero Trust: the environment's planned firewall rules must not open
	// the web nodes to the internet.
	zones := []providers.Zone{{Name: region + "-a", Region: region, Up: true}, {Name: region + "-b", Region: region, Up: true}, {Name: region + "-c", Region: region, Up: true}}
	if kind == environment.OCI { // one availability domain, three fault domains
		zones = []providers.Zone{{Name: "Uocm:EU-FRANKFURT-1-AD-1", Region: region, Up: true,
			FaultDomains: []string{"FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"}}}
	}
	nodes, err := env.Place(zones)
	if err != nil {
		return err
	}
	if err := cdn.CheckZeroTrust(env, environment.DesiredResources(env, nodes, nil).FirewallRules); err != nil {
		return err
	}
	fmt.Println("zero trust: no planned ingress rule opens the web nodes to the internet")

	start := time.Now()
	st, err := edge.Ensure(ctx, env, cdn.Origin{})
	if err != nil {
		return err
	}
	fmt.Printf("edge ensured in %v\n", time.Since(start).Round(time.Millisecond))
	fmt.Printf("  tunnel   %s (%s, %s)\n", st.TunnelName, st.TunnelID, st.TunnelStatus)
	for _, in := range st.Ingress {
		h := in.Hostname
		if h == "" {
			h = "(anything else)"
		}
		fmt.Printf("  ingress  %-24s -> %s\n", h, in.Service)
	}
	for _, r := range st.Records {
		fmt.Printf("  dns      %s\n", r)
	}
	fmt.Printf("  zone     ssl=%s always_use_https=%s\n", st.Settings[cloudflare.SettingSSL], st.Settings[cloudflare.SettingAlwaysUseHTTPS])
	fmt.Printf("  token    %v (a secret: web nodes get it as startup metadata %q)\n", st.TunnelToken, cdn.MetadataTunnelToken)

	// The web tier's nodes receive the token through the plan's per-tier
	// secrets; it never shows in the printed plan.
	plan := environment.PlanOptions{Secrets: cdn.PlanSecrets(st)}
	fmt.Printf("  plan     web tier secrets %v\n", plan.Secrets[environment.TierWeb])

	if *drIP != "" {
		start = time.Now()
		r, err := edge.PointHostname(ctx, cdn.Record{Zone: zone, Name: *host, Type: cdn.RecordA, Content: *drIP, Proxied: true})
		if err != nil {
			return err
		}
		fmt.Printf("DR switch: %s (upserted and verified in %v)\n", r, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
