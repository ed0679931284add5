// Command quickstart composes a standard OroCommerce environment on the
// in-memory provider: it validates the spec against the reference
// architecture's redundancy rules, prints the plan, applies it with progress,
// shows the inventory by zone and what survives the loss of each zone,
// injects a zone outage and re-checks, and shows that a second apply changes
// nothing.
package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	orocloud "github.com/orocloud/orocloud-go"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers/memory"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	start := time.Now()
	// The in-memory provider stands in for a GCP project here, with a little
	// latency on every mutating call so the parallel apply is visible.
	prov := memory.New(&memory.Options{Latency: 15 * time.Millisecond})
	defer prov.Close()

	platform, err := orocloud.New(prov, &orocloud.Options{
		Parallelism: 10,
		// Progress: a bar line at every quarter of the changes (events come
		// from several goroutines, one at a time).
		OnEvent: func(e environment.Event) {
			if (e.Phase == "done" || e.Phase == "failed") && e.Total > 0 && (e.Done*4/e.Total != (e.Done-1)*4/e.Total) {
				fmt.Printf("  %s %2d/%d changes, %.2fs\n", bar(e.Done, e.Total, 30), e.Done, e.Total, e.Elapsed)
			}
		},
	})
	if err != nil {
		return err
	}

	section("1. Declare and validate")
	bad := environment.Standard("acme-prod", environment.GCP, "europe-west3")
	bad.Web.Nodes = 1
	bad.PostgreSQL.Replicas = -1
	bad.SMTP.Relays = bad.SMTP.Relays[:1]
	fmt.Println("An environment that breaks the reference architecture is refused, every problem at once:")
	fmt.Println(indent(bad.Validate().Error()))

	env := environment.Standard("acme-prod", environment.GCP, "europe-west3")
	env.Web.Nodes = 3
	if err := env.Validate(); err != nil {
		return err
	}
	fmt.Printf("The standard environment %q validates: %d web nodes, Elasticsearch %d, PostgreSQL primary+secondary, RabbitMQ %d,\n"+
		"Redis %d (Sentinel quorum %d), GridFS %d, %d consumers on %d hosts, %d SMTP relays, CDN %s, DR region %s.\n",
		env.Name, env.Web.Nodes, env.Elasticsearch.Nodes, env.RabbitMQ.Nodes, env.Redis.Nodes, env.Redis.SentinelQuorum,
		env.GridFS.Nodes, env.Consumers.Count, env.Consumers.Hosts, len(env.SMTP.Relays), env.CDN.Kind, env.DR.Region)

	section("2. Plan")
	plan, err := platform.Plan(ctx, env, nil)
	if err != nil {
		return err
	}
	fmt.Print(plan)

	section("3. Apply")
	res, err := platform.Apply(ctx, plan)
	if err != nil {
		return err
	}
	fmt.Printf("Applied %d changes in %s (%d mutating provider calls, parallelism 10).\n",
		len(res.Applied), res.Duration.Round(time.Millisecond), prov.MutatingCalls())

	section("4. Inventory by zone")
	inv, err := platform.Inventory(ctx, env)
	if err != nil {
		return err
	}
	byZone := inv.ByZone()
	for _, z := range slices.Sorted(maps.Keys(byZone)) {
		var names []string
		for _, in := range byZone[z] {
			names = append(names, strings.TrimPrefix(in.Name, env.Name+"-"))
		}
		fmt.Printf("  %-16s %2d nodes: %s\n", z, len(names), strings.Join(names, " "))
	}
	for _, a := range inv.Addresses {
		scope := a.Region
		if scope == "" {
			scope = "global"
		}
		fmt.Printf("  address %s = %s (%s)\n", a.Name, a.IP, scope)
	}

	section("5. What survives the loss of each zone")
	report, err := platform.ZoneLoss(ctx, env)
	if err != nil {
		return err
	}
	fmt.Print(report)

	section("6. Zone europe-west3-a goes down")
	if err := prov.InjectZoneOutage("europe-west3", "europe-west3-a"); err != nil {
		return err
	}
	report, err = platform.ZoneLoss(ctx, env)
	if err != nil {
		return err
	}
	fmt.Println("Re-checked with only the nodes still serving: the environment runs, but a second zone loss would now hurt:")
	fmt.Print(report)
	if err := prov.RecoverZone("europe-west3", "europe-west3-a"); err != nil {
		return err
	}

	section("7. Apply again")
	prov.ResetCalls()
	plan, err = platform.Plan(ctx, env, nil)
	if err != nil {
		return err
	}
	fmt.Print(plan)
	if _, err := platform.Apply(ctx, plan); err != nil {
		return err
	}
	fmt.Printf("Second apply: %d mutating calls.\n", prov.MutatingCalls())

	section("8. Backup and restore")
	if err := backupDemo(ctx, prov, env.Name); err != nil {
		return err
	}

	fmt.Printf("\nDone in %s.\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func section(s string) { fmt.Printf("\n== %s\n", s) }

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

func bar(done, total, width int) string {
	if total == 0 {
		return strings.Repeat("=", width)
	}
	n := done * width / total
	return "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "]"
}
