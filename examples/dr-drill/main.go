// Command dr-drill walks through cold disaster recovery on the in-memory
// provider and a local PostgreSQL server:
//
//  1. an environment runs in europe-west3 with data in PostgreSQL and media
//     files; its primary and DR addresses are reserved (onboarding);
//  2. an encrypted backup is taken;
//  3. a DR drill recreates an isolated copy ("<env>-drill") in the DR region
//     europe-west4, restores the backup into it, checks its health, tears it
//     down and checks that nothing is left;
//  4. a region outage is injected into europe-west3; the health signals are
//     assessed (the assessment recommends, it never starts anything);
//  5. the technical contact approves and the failover runs: provision in
//     europe-west4, restore, DNS switch through the Cloudflare edge (a local
//     fake of its API), health checks, notification;
//
// each with live progress and the report with the achieved RPO and RTO.
//
// It needs the PostgreSQL 15 server binaries (it says how to install them
// when they are missing). Run it with:
//
//	go run ./examples/dr-drill            # drill, then failover
//	go run ./examples/dr-drill -mode drill
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/orocloud/orocloud-go/backup"
	"github.com/orocloud/orocloud-go/cdn/cloudflare"
	"github.com/orocloud/orocloud-go/cdn/cloudflare/cloudflarefake"
	"github.com/orocloud/orocloud-go/dr"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/internal/pgharness"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

func main() {
	mode := flag.String("mode", "both", "what to run: drill, failover or both")
	rows := flag.Int("rows", 100000, "order rows in the sample database")
	flag.Parse()
	if *mode != "drill" && *mode != "failover" && *mode != "both" {
		fmt.Fprintln(os.Stderr, "dr-drill: -mode must be drill, failover or both")
		os.Exit(2)
	}
	if err := pgharness.Available(); err != nil {
		fmt.Fprintln(os.Stderr, "dr-drill needs a local PostgreSQL 15 server:", err)
		fmt.Fprintln(os.Stderr, "To install it:", pgharness.InstallHint)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, *mode, *rows); err != nil {
		fmt.Fprintln(os.Stderr, "dr-drill:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, mode string, rows int) error {
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%6.2fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	work, err := os.MkdirTemp("", "dr-drill-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	// The environment, running in its primary region.
	prov := memory.New(nil)
	defer prov.Close()
	env := environment.Standard("acme", environment.Memory, "europe-west3")
	env.TechnicalContact = environment.Contact{Name: "Dana Ops", Email: "dana@acme.example"}
	env.CDN.Hostnames = []string{"shop.acme.example"}
	rec, err := environment.NewReconciler(prov, nil)
	if err != nil {
		return err
	}
	plan, err := rec.Plan(ctx, env, nil)
	if err != nil {
		return err
	}
	if _, err := rec.Apply(ctx, plan); err != nil {
		return err
	}
	say("environment %s runs in %s: %d nodes", env.Name, env.Region, len(plan.Nodes))
	ob, err := dr.Onboard(ctx, prov, env, nil)
	if err != nil {
		return err
	}
	say("onboarding: %s", ob)

	// Its database and media.
	say("starting a local PostgreSQL server...")
	srv, err := pgharness.Start(ctx, nil)
	if err != nil {
		return err
	}
	defer srv.Cleanup()
	if err := srv.CreateDatabase(ctx, "acme"); err != nil {
		return err
	}
	if err := loadSample(ctx, srv, rows); err != nil {
		return err
	}
	media := filepath.Join(work, "media")
	if err := os.MkdirAll(filepath.Join(media, "product"), 0o755); err != nil {
		return err
	}
	for i := range 50 {
		if err := os.WriteFile(filepath.Join(media, "product", fmt.Sprintf("p%03d.jpg", i)), []byte(strings.Repeat("jpeg", 2048)), 0o644); err != nil {
			return err
		}
	}
	say("database acme loaded: %d orders; 50 media files", rows)

	// A backup.
	store, err := backup.NewDirStore(filepath.Join(work, "backups"))
	if err != nil {
		return err
	}
	kek, err := backup.GenerateKEK("acme-2026")
	if err != nil {
		return err
	}
	keys, err := backup.NewLocalKeyring(kek)
	if err != nil {
		return err
	}
	eng, err := backup.NewEngine(store, keys, &backup.Options{Database: srv.DSN("acme"), Media: media, Environment: env.Name})
	if err != nil {
		return err
	}
	b, err := eng.Backup(ctx, backup.Request{CodeRef: "git:3f2c1e9"})
	if err != nil {
		return err
	}
	say("backup %s: %d bytes stored in %s", b.Point.ID, b.Stored, b.Duration.Round(time.Millisecond))

	// The DR runner: backups through the engine, the DR copy's data on the
	// same local server (one database per copy), a file journal, DNS
	// through the Cloudflare edge (a local fake of its API here).
	backups, err := dr.NewEngineBackups(eng)
	if err != nil {
		return err
	}
	targets, err := dr.NewServerTargets(providers.Secret(srv.DSN("postgres")), filepath.Join(work, "dr"))
	if err != nil {
		return err
	}
	journal, err := dr.NewFileJournal(filepath.Join(work, "journal"))
	if err != nil {
		return err
	}
	cf := cloudflarefake.New(nil)
	defer cf.Close()
	edge, err := cloudflare.New(&cloudflare.Options{APIToken: providers.Secret(cf.Token()), BaseURL: cf.URL(), HTTPClient: cf.Client(),
		AccountID: environment.PlaceholderCloudflareAccountID, ZoneID: environment.PlaceholderCloudflareZoneID})
	if err != nil {
		return err
	}
	// The technical contact answers the approval request.
	approver := dr.ApproverFunc(func(ctx context.Context, req dr.ApprovalRequest) (dr.Approval, error) {
		say("approval requested from %s <%s>: %s %s → %s, restoring %s (taken %s before the disaster)",
			req.Contact.Name, req.Contact.Email, req.Mode, req.FromRegion, req.ToRegion, req.Point.ID,
			req.DisasterAt.Sub(req.Point.Time).Round(time.Second))
		select {
		case <-time.After(300 * time.Millisecond): // the contact reads and decides
		case <-ctx.Done():
			return dr.Approval{}, ctx.Err()
		}
		say("approved by %s", req.Contact.Email)
		return dr.Approval{Approved: true, By: req.Contact.Email, Comment: "go ahead"}, nil
	})
	notifier := dr.NotifierFunc(func(_ context.Context, n dr.Notice) error {
		say("notice to %s: %s", n.Contact.Email, n.Subject)
		return nil
	})
	runner, err := dr.New(prov, &dr.Options{
		Backups: backups, Targets: targets, Approver: approver, Journal: journal, DNS: edge, Notifier: notifier,
		HealthInterval: 200 * time.Millisecond,
		Logger:         slog.New(slog.DiscardHandler),
		OnEvent: func(e dr.Event) {
			switch e.Phase {
			case dr.EventStarted:
				say("  step %-12s started", e.Step)
			case dr.EventDone, dr.EventManual, dr.EventSkipped:
				say("  step %-12s %s  %s", e.Step, e.Phase, e.Message)
			case dr.EventFailed:
				say("  step %-12s FAILED: %v", e.Step, e.Err)
			case dr.EventProgress:
				say("  step %-12s %s", e.Step, e.Message)
			}
		},
	})
	if err != nil {
		return err
	}

	if mode == "drill" || mode == "both" {
		say("=== DR drill into %s", ob.DRRegion)
		rep, err := runner.Start(ctx, dr.Request{Environment: env, Mode: dr.ModeDrill, Reason: "quarterly DR drill"})
		if err != nil {
			return err
		}
		fmt.Println(rep)
		left, err := dr.Leftovers(ctx, prov, dr.DrillName(env.Name), ob.DRRegion)
		if err != nil {
			return err
		}
		say("after the drill, %d resources of %s are left in %s", len(left), dr.DrillName(env.Name), ob.DRRegion)
	}
	if mode == "failover" || mode == "both" {
		say("=== region outage")
		disaster := time.Now()
		if err := prov.InjectRegionOutage(env.Region); err != nil {
			return err
		}
		_, err := prov.ListZones(ctx, env.Region)
		say("provider: %v", err)
		a := dr.Assess(dr.Signals{Region: env.Region, Status: dr.StatusOutage, Since: disaster, Now: time.Now(),
			Probes: []dr.Probe{
				{Target: "https://shop.acme.example/", From: "monitor-us-east1", At: time.Now(), Error: "i/o timeout", Network: true},
				{Target: "https://shop.acme.example/", From: "monitor-asia-east1", At: time.Now(), Error: "i/o timeout", Network: true},
				{Target: "https://shop.acme.example/", From: "monitor-europe-west1", At: time.Now(), Error: "no route to host", Network: true},
			}}, nil)
		fmt.Println(a)
		if a.Recommendation != dr.DeclareDR {
			return fmt.Errorf("assessment: %s", a.Recommendation)
		}
		say("=== failover into %s", ob.DRRegion)
		rep, err := runner.Start(ctx, dr.Request{Environment: env, Mode: dr.ModeFailover, DisasterAt: disaster,
			Reason: env.Region + " unavailable, no recovery time announced"})
		if err != nil {
			return err
		}
		fmt.Println(rep)
		for _, r := range cf.Records(environment.PlaceholderCloudflareZoneID) {
			say("Cloudflare DNS now: %s %s %s (proxied %v)", r.Name, r.Type, r.Content, r.Proxied)
		}
	}
	say("done")
	return nil
}

func loadSample(ctx context.Context, srv *pgharness.Server, rows int) error {
	c, err := srv.Connect(ctx, "acme")
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.PgConn().Exec(ctx, fmt.Sprintf(`
CREATE TABLE customer (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, created timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customer(id), total numeric(12,2) NOT NULL, note text);
CREATE INDEX orders_customer ON orders (customer_id);
INSERT INTO customer (id, email) SELECT g, 'customer' || g || '@example.com' FROM generate_series(1, 10000) g;
INSERT INTO orders SELECT g, 1 + g %% 10000, (g %% 997) * 1.25, md5(g::text) FROM generate_series(1, %d) g;
`, rows)).ReadAll()
	return err
}
