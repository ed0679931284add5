// Command dr measures a DR drill of an environment whose database holds
// -size MiB, on the memory provider and a local PostgreSQL 15 server: the
// achieved RTO (approval → healthy, against the 5-minute goal and the
// reference's 60 minutes) and the orchestration overhead (the RTO minus the
// step work on the critical path: journal writes, scheduling, events).
//
//	go run ./bench/dr -size 100
//	go run ./bench/dr -size 1024
//
// Data: -tables tables of rows of about 1 KiB (an id, a customer id, a
// timestamp, a numeric and a text column) with a primary key and one
// secondary index each, loaded with INSERT ... SELECT generate_series, then
// backed up with the backup engine (encrypted, local directory store). The
// drill restores it into a new database on the same server (the DR copy),
// runs the default health checks, tears the copy down and checks that
// nothing is left.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/orocloud/orocloud-go/backup"
	"github.com/orocloud/orocloud-go/dr"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/internal/pgharness"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

func main() {
	size := flag.Int("size", 100, "database size in MiB")
	tables := flag.Int("tables", 4, "number of tables the data is spread over")
	runs := flag.Int("runs", 1, "drills to run on the same backup")
	flag.Parse()
	if err := pgharness.Available(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := run(ctx, *size, *tables, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench/dr:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, sizeMiB, tables, runs int) error {
	fmt.Printf("# DR drill benchmark: %d MiB database in %d tables, %d CPU(s), %s, %s\n",
		sizeMiB, tables, runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format(time.RFC3339))
	work, err := os.MkdirTemp("", "bench-dr-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	srv, err := pgharness.Start(ctx, nil)
	if err != nil {
		return err
	}
	defer srv.Cleanup()
	if err := srv.CreateDatabase(ctx, "shop"); err != nil {
		return err
	}
	t0 := time.Now()
	rowsPerTable := int64(sizeMiB) << 20 / 1100 / int64(tables)
	c, err := srv.Connect(ctx, "shop")
	if err != nil {
		return err
	}
	for i := range tables {
		sql := fmt.Sprintf(`CREATE TABLE t%d (id bigint PRIMARY KEY, customer bigint NOT NULL, at timestamptz NOT NULL, total numeric(12,2), body text);
INSERT INTO t%d SELECT g, g %% 100000, now() - g * interval '1 second', g * 0.01, repeat(md5(g::text), 30) FROM generate_series(1, %d) g;
CREATE INDEX t%d_customer ON t%d (customer);`, i, i, rowsPerTable, i, i)
		if _, err := c.PgConn().Exec(ctx, sql).ReadAll(); err != nil {
			c.Close(ctx)
			return err
		}
	}
	var dbSize int64
	if err := c.QueryRow(ctx, "SELECT pg_database_size('shop')").Scan(&dbSize); err != nil {
		return err
	}
	c.Close(ctx)
	fmt.Printf("loaded %d rows: database %d MiB in %s\n", rowsPerTable*int64(tables), dbSize>>20, time.Since(t0).Round(time.Second))

	store, err := backup.NewDirStore(filepath.Join(work, "store"))
	if err != nil {
		return err
	}
	kek, err := backup.GenerateKEK("bench")
	if err != nil {
		return err
	}
	keys, err := backup.NewLocalKeyring(kek)
	if err != nil {
		return err
	}
	eng, err := backup.NewEngine(store, keys, &backup.Options{Database: srv.DSN("shop"), Environment: "shop"})
	if err != nil {
		return err
	}
	b, err := eng.Backup(ctx, backup.Request{CodeRef: "git:3f2c1e9"})
	if err != nil {
		return err
	}
	fmt.Printf("backup %s: %d MiB plain, %d MiB stored, in %s\n", b.Point.ID, b.Bytes>>20, b.Stored>>20, b.Duration.Round(time.Millisecond))

	prov := memory.New(nil)
	env := environment.Standard("shop", environment.Memory, "europe-west3")
	if _, err := dr.Onboard(ctx, prov, env, nil); err != nil {
		return err
	}
	backups, err := dr.NewEngineBackups(eng)
	if err != nil {
		return err
	}
	targets, err := dr.NewServerTargets(providers.Secret(srv.DSN("postgres")), filepath.Join(work, "dr"))
	if err != nil {
		return err
	}
	fj, err := dr.NewFileJournal(filepath.Join(work, "journal"))
	if err != nil {
		return err
	}
	journal := &timedJournal{Journal: fj}
	runner, err := dr.New(prov, &dr.Options{
		Backups: backups, Targets: targets, Journal: journal,
		Approver: dr.ApproverFunc(func(_ context.Context, req dr.ApprovalRequest) (dr.Approval, error) {
			return dr.Approval{Approved: true, By: req.Contact.Email}, nil
		}),
		HealthInterval: 100 * time.Millisecond,
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	for i := range runs {
		journal.reset()
		wall := time.Now()
		rep, err := runner.Start(ctx, dr.Request{Environment: env, Mode: dr.ModeDrill, Reason: "benchmark"})
		if err != nil {
			return err
		}
		total := time.Since(wall)
		fmt.Printf("\n## drill %d: %s, total wall time %s (prechecks and teardown included)\n", i+1, rep.Status, total.Round(time.Millisecond))
		for _, e := range rep.Timeline {
			fmt.Printf("  %-13s %-8s work %9s  step %9s\n", e.Step, e.Status, e.Work.Round(time.Millisecond), e.Duration.Round(time.Millisecond))
		}
		if rep.Restored != nil {
			fmt.Printf("restore: %d MiB, %d tables in %s (engine)\n", rep.Restored.Bytes>>20, rep.Restored.Tables, rep.Restored.Duration.Round(time.Millisecond))
		}
		pct := 100 * float64(rep.Overhead) / float64(rep.RTO)
		fmt.Printf("RTO (approval → healthy): %s  [goal < 5m: %v; reference 60m: %v]\n", rep.RTO.Round(time.Millisecond), rep.RTO < 5*time.Minute, rep.RTOMet)
		fmt.Printf("critical path work: %s; orchestration overhead: %s = %.2f%% of the RTO [goal < 2%%: %v]\n",
			rep.CriticalPathWork.Round(time.Millisecond), rep.Overhead.Round(time.Millisecond), pct, pct < 2)
		n, sum, longest := journal.stats()
		fmt.Printf("journal writes (whole run): %d, %s in all, longest %s\n", n, sum.Round(time.Millisecond), longest.Round(time.Millisecond))
		fmt.Printf("leftovers: %d\n", len(rep.Leftovers))
	}
	return nil
}

// timedJournal measures the journal writes (atomic, fsynced) of a run.
type timedJournal struct {
	dr.Journal
	mu      sync.Mutex
	n       int
	sum     time.Duration
	longest time.Duration
}

func (j *timedJournal) Save(ctx context.Context, st *dr.RunState) error {
	t := time.Now()
	err := j.Journal.Save(ctx, st)
	d := time.Since(t)
	j.mu.Lock()
	j.n++
	j.sum += d
	j.longest = max(j.longest, d)
	j.mu.Unlock()
	return err
}

func (j *timedJournal) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.n, j.sum, j.longest = 0, 0, 0
}

func (j *timedJournal) stats() (int, time.Duration, time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n, j.sum, j.longest
}
