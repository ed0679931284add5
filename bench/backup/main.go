// Command backupbench measures the backup engine side by side with the
// fastest logical peers on the same PostgreSQL server, in one run:
//
//	backup:  pg_dump -Fc -Z0 | openssl enc -aes-256-cbc   (and pg_dump -Fc | openssl)
//	         vs backup.Engine.Backup (parallel COPY in one snapshot, AES-256-GCM)
//	restore: openssl -d | tar x, then pg_restore -j 2 (directory format)
//	         vs backup.Engine.Restore (parallel COPY FROM, then indexes)
//
// on pgbench -i -s SCALE, stock and with md5-hex filler (the peers' FILLER=md5).
// Each of our runs is a child process so that its peak RSS is its own.
//
//	go run ./bench/backup -scale 50 -runs 3          # about 5-8 minutes on 2 cores
//	go test ./bench/backup -bench Retain -run XXX     # Retain over 100,000 points
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orocloud/orocloud-go/backup"
	"github.com/orocloud/orocloud-go/internal/pgharness"
)

type childResult struct {
	Wall   float64 `json:"wall"`
	MaxRSS int64   `json:"maxrss_kb"`
	Bytes  int64   `json:"bytes"`
	Stored int64   `json:"stored"`
	ID     string  `json:"id"`
	Err    string  `json:"err,omitempty"`
}

func main() {
	child := flag.String("child", "", "internal: backup|restore")
	dsn := flag.String("dsn", "", "internal: database")
	storeDir := flag.String("store", "", "internal: store directory")
	keyFile := flag.String("keys", "", "internal: key file")
	point := flag.String("point", "", "internal: point to restore")
	parallel := flag.Int("parallel", 0, "COPY streams (0 = the engine's default)")
	scale := flag.Int("scale", 50, "pgbench scale")
	runs := flag.Int("runs", 3, "timed runs per pipeline")
	fillers := flag.String("filler", "pgbench,md5", "data sets: pgbench (stock filler), md5, tables (4×scale tables with 3 indexes each)")
	workDir := flag.String("work", "/tmp/orocloud-backupbench", "scratch directory (wiped)")
	probe := flag.Bool("probe", false, "measure server CPU of single COPY forms and of Backup at Parallel 1 and 2 (where the server CPU goes)")
	flag.Parse()
	if *probe {
		if err := runProbe(*scale, *workDir); err != nil {
			fmt.Fprintln(os.Stderr, "backupbench:", err)
			os.Exit(1)
		}
		return
	}
	if *child != "" {
		os.Exit(runChild(*child, *dsn, *storeDir, *keyFile, *point, *parallel))
	}
	if err := run(*scale, *runs, *parallel, strings.Split(*fillers, ","), *workDir); err != nil {
		fmt.Fprintln(os.Stderr, "backupbench:", err)
		os.Exit(1)
	}
}

func runChild(mode, dsn, storeDir, keyFile, point string, parallel int) int {
	ctx := context.Background()
	res := childResult{}
	defer func() {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		res.MaxRSS = ru.Maxrss
		_ = json.NewEncoder(os.Stdout).Encode(res)
	}()
	st, err := backup.NewDirStore(storeDir)
	if err != nil {
		res.Err = err.Error()
		return 1
	}
	kr, err := backup.LoadKeyFile(keyFile)
	if err != nil {
		res.Err = err.Error()
		return 1
	}
	var log *slog.Logger
	if os.Getenv("BACKUPBENCH_DEBUG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	eng, err := backup.NewEngine(st, kr, &backup.Options{Database: dsn, Parallel: parallel, Logger: log, TextCopy: os.Getenv("BACKUPBENCH_TEXT") != ""})
	if err != nil {
		res.Err = err.Error()
		return 1
	}
	if pf := os.Getenv("BACKUPBENCH_CPUPROFILE"); pf != "" {
		f, err := os.Create(pf + "." + mode)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	start := time.Now()
	switch mode {
	case "backup":
		r, err := eng.Backup(ctx, backup.Request{CodeRef: "bench"})
		if err != nil {
			res.Err = err.Error()
			return 1
		}
		res.Bytes, res.Stored, res.ID = r.Bytes, r.Stored, r.Point.ID
	case "restore":
		r, err := eng.Restore(ctx, point, backup.Target{Database: dsn})
		if err != nil {
			res.Err = err.Error()
			return 1
		}
		res.Bytes = r.Bytes
	}
	res.Wall = time.Since(start).Seconds()
	return 0
}

type bench struct {
	srv   *pgharness.Server
	work  string
	env   []string
	bin   string
	self  string
	keys  string
	par   int
	rows  []string
	ratio []string
}

func (b *bench) sh(script string) (float64, error) {
	start := time.Now()
	cmd := exec.Command("bash", "-o", "pipefail", "-c", script)
	cmd.Env = b.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s: %v: %s", script, err, out)
	}
	return time.Since(start).Seconds(), nil
}

func (b *bench) sql(db, q string) (string, error) {
	ctx := context.Background()
	c, err := b.srv.Connect(ctx, db)
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	var s string
	err = c.QueryRow(ctx, q).Scan(&s)
	return s, err
}

func (b *bench) exec(db string, qs ...string) error {
	ctx := context.Background()
	c, err := b.srv.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, q := range qs {
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func (b *bench) quiesce() {
	_, _ = b.sh("sync")
	_ = b.exec("postgres", "CHECKPOINT")
}

func (b *bench) child(mode, db, store, point string) (childResult, error) {
	cmd := exec.Command(b.self, "-child", mode, "-dsn", b.srv.DSN(db), "-store", store, "-keys", b.keys, "-point", point, "-parallel", fmt.Sprint(b.par))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	var r childResult
	if jerr := json.Unmarshal(out, &r); jerr != nil {
		return r, fmt.Errorf("child %s: %v %v: %s", mode, err, jerr, out)
	}
	if r.Err != "" {
		return r, fmt.Errorf("child %s: %s", mode, r.Err)
	}
	return r, nil
}

// procCPU returns utime+stime (+cutime+cstime when children) of pid in seconds.
func procCPU(pid int, children bool) (float64, int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// f[0] is field 3 (state): utime=14 -> f[11], stime f[12], cutime f[13], cstime f[14]; ppid=4 -> f[1]
	var v [4]float64
	for i := range v {
		fmt.Sscan(f[11+i], &v[i])
	}
	ppid := 0
	fmt.Sscan(f[1], &ppid)
	t := v[0] + v[1]
	if children {
		t += v[2] + v[3]
	}
	return t / 100, ppid
}

// serverCPU is the CPU seconds used so far by the postmaster, its live
// children and its exited children (backends that have disconnected).
func (b *bench) serverCPU() float64 {
	pm := b.srv.PID()
	total, _ := procCPU(pm, true)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid == pm {
			continue
		}
		if c, ppid := procCPU(pid, false); ppid == pm {
			total += c
		}
	}
	return total
}

// clientCPU is the CPU seconds used by this process's exited children.
func clientCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

type sample struct{ wall, client, server float64 }

func (b *bench) measure(fn func() (float64, error)) (sample, error) {
	c0, s0 := clientCPU(), b.serverCPU()
	w, err := fn()
	return sample{wall: w, client: clientCPU() - c0, server: b.serverCPU() - s0}, err
}

// manyTables is the "tables" data set: an application-like schema of
// 4×scale tables (200 at scale 50) of 25,000 rows each, every one with a
// primary key and two secondary indexes, about the size of pgbench at the
// same scale. It measures what pgbench cannot: parallelism across tables
// and index builds overlapping the load.
func manyTables(scale int) []string {
	n := 4 * scale
	return []string{fmt.Sprintf(`DO $$
BEGIN
  FOR i IN 1..%d LOOP
    EXECUTE format('CREATE TABLE t%%s (id bigint PRIMARY KEY, customer int NOT NULL, created timestamptz NOT NULL,
      sku text NOT NULL, qty int, price numeric(12,2), note text)', i);
    EXECUTE format('INSERT INTO t%%s SELECT g, (g * 7919) %%%% 5000, timestamptz ''2026-01-01'' + g * interval ''1 minute'',
      ''SKU-'' || md5((g %%%% 997)::text), g %%%% 13, (g %%%% 1000) * 1.25, md5(g::text) || md5((g + %%s)::text)
      FROM generate_series(1, 25000) g', i, i);
    EXECUTE format('CREATE INDEX t%%s_customer ON t%%s (customer, created)', i, i);
    EXECUTE format('CREATE INDEX t%%s_sku ON t%%s (sku)', i, i);
  END LOOP;
END $$`, n)}
}

// fingerprint is a cheap content check of the data set.
func (b *bench) fingerprint(db string) (string, error) {
	if ok, _ := b.sql(db, "SELECT (to_regclass('pgbench_accounts') IS NULL)::text"); ok == "true" {
		return b.sql(db, `SELECT count(*) || '/' || md5(string_agg((xpath('/row/c/text()', query_to_xml(format(
			'SELECT count(*) || '':'' || sum(id) || '':'' || sum(length(note)) || '':'' || max(sku) AS c FROM %I', tablename),
			false, true, '')))[1]::text, ',' ORDER BY tablename)) || '/' || (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public')
			FROM pg_tables WHERE schemaname = 'public'`)
	}
	return b.sql(db, `SELECT concat_ws('/', (SELECT count(*) || ':' || sum(aid) || ':' || sum(abalance) || ':' || sum(length(filler)) || ':' || max(filler) FROM pgbench_accounts),
		(SELECT count(*) FROM pgbench_branches), (SELECT count(*) FROM pgbench_tellers), (SELECT count(*) FROM pgbench_history),
		(SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'pgbench%'))`)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func run(scale, runs, par int, fillers []string, work string) error {
	ctx := context.Background()
	if err := pgharness.Available(); err != nil {
		return err
	}
	_ = os.RemoveAll(work)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(work)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srv, err := pgharness.Start(ctx, &pgharness.Options{Fsync: true, Settings: map[string]string{
		"shared_buffers": "1GB", "work_mem": "64MB", "maintenance_work_mem": "512MB", "max_wal_size": "8GB",
		"checkpoint_timeout": "15min", "max_parallel_maintenance_workers": "2", "synchronous_commit": "on",
		"archive_mode": "on", "archive_command": "'/bin/true'", "wal_level": "replica",
	}})
	if err != nil {
		return err
	}
	defer srv.Cleanup()
	kek, _ := backup.GenerateKEK("bench")
	keys := filepath.Join(work, "keys")
	if err := backup.WriteKeyFile(keys, kek); err != nil {
		return err
	}
	b := &bench{srv: srv, work: work, bin: srv.BinDir(), self: self, keys: keys, par: par,
		env: append(os.Environ(), "PGHOST=127.0.0.1", fmt.Sprintf("PGPORT=%d", srv.Port()), "PGUSER=postgres", "BENCH_PASS=bench-secret-pass")}
	enc := "openssl enc -aes-256-cbc -pbkdf2 -pass env:BENCH_PASS"
	dec := "openssl enc -d -aes-256-cbc -pbkdf2 -pass env:BENCH_PASS"
	pg := func(s string) string { return filepath.Join(b.bin, s) }
	// restic and pgBackRest (backup only), when installed.
	_, errRestic := exec.LookPath("restic")
	_, errPgbr := exec.LookPath("pgbackrest")
	withRestic, withPgbr := errRestic == nil, errPgbr == nil
	resticRepo := filepath.Join(work, "restic-repo")
	b.env = append(b.env, "RESTIC_PASSWORD=bench-secret-pass", "RESTIC_REPOSITORY="+resticRepo, "RESTIC_CACHE_DIR="+filepath.Join(work, "restic-cache"))
	pgbrDir := filepath.Join(work, "pgbackrest")
	pgbrConf := filepath.Join(pgbrDir, "pgbackrest.conf")
	if withPgbr {
		conf := fmt.Sprintf("[global]\nrepo1-path=%[1]s/repo\nrepo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=bench-secret-pass\nrepo1-retention-full=1\nprocess-max=2\ncompress-type=none\nstart-fast=y\nlog-path=%[1]s/log\nlock-path=%[1]s/lock\nspool-path=%[1]s/spool\nlog-level-console=warn\nlog-level-file=off\n\n[bench]\npg1-path=%[2]s\npg1-port=%[3]d\npg1-socket-path=%[2]s\n",
			pgbrDir, srv.DataDir(), srv.Port())
		if err := os.MkdirAll(pgbrDir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(pgbrConf, []byte(conf), 0o600); err != nil {
			return err
		}
		if _, err := b.sh("chmod 755 " + work + " && chown -R postgres:postgres " + pgbrDir); err != nil {
			return err
		}
	}
	pgbr := func(args string) string {
		return "runuser -u postgres -- pgbackrest --config=" + pgbrConf + " --stanza=bench " + args
	}
	setArchive := func(cmd string) error {
		return b.exec("postgres", "ALTER SYSTEM SET archive_command = '"+strings.ReplaceAll(cmd, "'", "''")+"'", "SELECT pg_reload_conf()")
	}
	fmt.Printf("# backupbench %s, scale %d, runs %d, parallel %d, nproc 2\n\n", time.Now().UTC().Format(time.RFC3339), scale, runs, par)
	for _, filler := range fillers {
		_ = b.exec("postgres", "DROP DATABASE IF EXISTS bench")
		if err := b.exec("postgres", "CREATE DATABASE bench"); err != nil {
			return err
		}
		if filler == "tables" {
			if err := b.exec("bench", manyTables(scale)...); err != nil {
				return err
			}
		} else if _, err := b.sh(fmt.Sprintf("%s -i -q -s %d bench", pg("pgbench"), scale)); err != nil {
			return err
		}
		if filler == "md5" {
			if err := b.exec("bench",
				"ALTER TABLE pgbench_accounts RENAME TO pgbench_accounts_old",
				"CREATE TABLE pgbench_accounts (aid int NOT NULL, bid int, abalance int, filler char(84)) WITH (fillfactor=100)",
				"INSERT INTO pgbench_accounts SELECT aid, bid, abalance, md5(aid::text) || md5((-aid)::text) || left(md5((aid*7)::text), 20) FROM pgbench_accounts_old ORDER BY aid",
				"DROP TABLE pgbench_accounts_old", "ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid)"); err != nil {
				return err
			}
		}
		if err := b.exec("bench", "VACUUM ANALYZE", "CHECKPOINT"); err != nil {
			return err
		}
		size, _ := b.sql("bench", "SELECT pg_database_size('bench')::text")
		want, err := b.fingerprint("bench")
		if err != nil {
			return err
		}
		fmt.Printf("## data set %q: pg_database_size = %s B\n\n", filler, size)
		times := map[string][]sample{}
		rss := map[string]int64{}
		var stored int64
		store := filepath.Join(work, "store")
		var lastPoint string
		if withPgbr {
			if err := setArchive("pgbackrest --config=" + pgbrConf + " --stanza=bench archive-push %p"); err != nil {
				return err
			}
			time.Sleep(time.Second) // let the archiver pick up the new command
			if _, err := b.sh(pgbr("stanza-create") + " && " + pgbr("check")); err != nil {
				logTail, _ := exec.Command("tail", "-n", "20", srv.LogPath()).Output()
				return fmt.Errorf("%w\nserver log:\n%s", err, logTail)
			}
		}
		for i := 0; i <= runs; i++ { // run 0 is the warm-up
			_ = os.RemoveAll(store)
			b.quiesce()
			t1, err := b.measure(func() (float64, error) {
				return b.sh(fmt.Sprintf("%s -Fc -Z0 bench | %s > %s/z0.enc", pg("pg_dump"), enc, work))
			})
			if err != nil {
				return err
			}
			b.quiesce()
			t2, err := b.measure(func() (float64, error) {
				return b.sh(fmt.Sprintf("%s -Fc bench | %s > %s/fc.enc", pg("pg_dump"), enc, work))
			})
			if err != nil {
				return err
			}
			b.quiesce()
			var r childResult
			t3, err := b.measure(func() (float64, error) {
				var err error
				r, err = b.child("backup", "bench", store, "")
				return r.Wall, err
			})
			if err != nil {
				return err
			}
			lastPoint, stored = r.ID, r.Stored
			var t4, t5 sample
			if withRestic {
				if _, err := b.sh("rm -rf " + resticRepo + " && restic init -q"); err != nil {
					return err
				}
				b.quiesce()
				t4, err = b.measure(func() (float64, error) {
					return b.sh(fmt.Sprintf("%s bench | restic backup -q --stdin --stdin-filename bench.sql", pg("pg_dump")))
				})
				if err != nil {
					return err
				}
			}
			if withPgbr {
				b.quiesce()
				t5, err = b.measure(func() (float64, error) {
					return b.sh(pgbr("--type=full backup"))
				})
				if err != nil {
					return err
				}
			}
			if i > 0 && withRestic {
				times[kRestic] = append(times[kRestic], t4)
			}
			if i > 0 && withPgbr {
				times[kPgbr] = append(times[kPgbr], t5)
			}
			if i > 0 {
				times["peer pg_dump -Fc -Z0 \\| openssl"] = append(times["peer pg_dump -Fc -Z0 \\| openssl"], t1)
				times["peer pg_dump -Fc \\| openssl"] = append(times["peer pg_dump -Fc \\| openssl"], t2)
				times["orocloud Backup"] = append(times["orocloud Backup"], t3)
				rss["orocloud Backup"] = max(rss["orocloud Backup"], r.MaxRSS)
			}
			_ = os.Remove(filepath.Join(work, "fc.enc"))
		}
		if withPgbr {
			if err := setArchive("/bin/true"); err != nil {
				return err
			}
		}
		// Restore: the peer's directory-format dump, encrypted as one tar.
		if _, err := b.sh(fmt.Sprintf("rm -rf %[1]s/dir && %[2]s -Fd -j 2 -f %[1]s/dir bench && tar -C %[1]s/dir -cf - . | %[3]s > %[1]s/dir.tar.enc && rm -rf %[1]s/dir", work, pg("pg_dump"), enc)); err != nil {
			return err
		}
		for i := 1; i <= runs; i++ {
			for _, who := range []string{"peer", "orocloud"} {
				_ = b.exec("postgres", "DROP DATABASE IF EXISTS r")
				if err := b.exec("postgres", "CREATE DATABASE r TEMPLATE template0"); err != nil {
					return err
				}
				b.quiesce()
				if who == "peer" {
					t, err := b.measure(func() (float64, error) {
						return b.sh(fmt.Sprintf("rm -rf %[1]s/rdir && mkdir %[1]s/rdir && %[2]s < %[1]s/dir.tar.enc | tar -C %[1]s/rdir -xf - && %[3]s -j 2 -d r %[1]s/rdir", work, dec, pg("pg_restore")))
					})
					if err != nil {
						return err
					}
					times["peer openssl -d \\| tar x; pg_restore -j 2"] = append(times["peer openssl -d \\| tar x; pg_restore -j 2"], t)
				} else {
					var r childResult
					t, err := b.measure(func() (float64, error) {
						var err error
						r, err = b.child("restore", "r", store, lastPoint)
						return r.Wall, err
					})
					if err != nil {
						return err
					}
					times["orocloud Restore"] = append(times["orocloud Restore"], t)
					rss["orocloud Restore"] = max(rss["orocloud Restore"], r.MaxRSS)
				}
				got, err := b.fingerprint("r")
				if err != nil {
					return err
				}
				if got != want {
					return fmt.Errorf("%s restore differs: %s != %s", who, got, want)
				}
			}
		}
		_ = b.exec("postgres", "DROP DATABASE IF EXISTS r")
		fmt.Printf("| pipeline | wall per run (s) | median wall s | median client CPU s | median server CPU s | peak RSS MiB |\n|---|---|---|---|---|---|\n")
		for _, k := range []string{"peer pg_dump -Fc \\| openssl", "peer pg_dump -Fc -Z0 \\| openssl", kRestic, kPgbr, "orocloud Backup", "peer openssl -d \\| tar x; pg_restore -j 2", "orocloud Restore"} {
			if len(times[k]) == 0 {
				continue
			}
			r := ""
			if v, ok := rss[k]; ok {
				r = fmt.Sprintf("%.0f", float64(v)/1024)
			}
			fmt.Printf("| %s | %s | **%.2f** | %.2f | %.2f | %s |\n", k, fmtRuns(times[k]), med(times[k], wallOf), med(times[k], clientOf), med(times[k], serverOf), r)
		}
		ob, z0, fc := times["orocloud Backup"], times["peer pg_dump -Fc -Z0 \\| openssl"], times["peer pg_dump -Fc \\| openssl"]
		or, pr := times["orocloud Restore"], times["peer openssl -d \\| tar x; pg_restore -j 2"]
		fmt.Printf("\nstored point: %d B. Ratios of medians, wall (total CPU = client + server): backup vs pg_dump -Fc -Z0|openssl = **%.2f** (%.2f); vs pg_dump -Fc|openssl = %.2f (%.2f); restore vs pg_restore -j 2 = **%.2f** (%.2f). Restored content checked (per-table row counts, sums, max, index count) after every restore.\n\n",
			stored, med(ob, wallOf)/med(z0, wallOf), med(ob, cpuOf)/med(z0, cpuOf),
			med(ob, wallOf)/med(fc, wallOf), med(ob, cpuOf)/med(fc, cpuOf),
			med(or, wallOf)/med(pr, wallOf), med(or, cpuOf)/med(pr, cpuOf))
		if len(times[kRestic]) > 0 {
			fmt.Printf("Backup vs pg_dump | restic backup --stdin = **%.2f** (%.2f)\n\n", med(ob, wallOf)/med(times[kRestic], wallOf), med(ob, cpuOf)/med(times[kRestic], cpuOf))
		}
		if len(times[kPgbr]) > 0 {
			fmt.Printf("Backup vs pgBackRest full = **%.2f** (%.2f)\n\n", med(ob, wallOf)/med(times[kPgbr], wallOf), med(ob, cpuOf)/med(times[kPgbr], cpuOf))
		}
	}
	_ = pgx.Identifier{}
	return nil
}

// Peer pipelines measured when installed (backup only).
const (
	kRestic = "peer pg_dump \\| restic backup --stdin"
	kPgbr   = "peer pgBackRest full, aes-256-cbc, process-max 2, compress-type none"
)

func wallOf(s sample) float64   { return s.wall }
func clientOf(s sample) float64 { return s.client }
func serverOf(s sample) float64 { return s.server }
func cpuOf(s sample) float64    { return s.client + s.server }

func med(xs []sample, f func(sample) float64) float64 {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	return median(v)
}

func fmtRuns(xs []sample) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.2f", x.wall)
	}
	return strings.Join(s, ", ")
}

// runProbe prints the wall time and server CPU of single COPY statements
// (through psql to /dev/null) and of Backup with one and two streams.
func runProbe(scale int, work string) error {
	ctx := context.Background()
	_ = os.RemoveAll(work)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(work)
	self, _ := os.Executable()
	srv, err := pgharness.Start(ctx, &pgharness.Options{Fsync: true, Settings: map[string]string{"shared_buffers": "1GB"}})
	if err != nil {
		return err
	}
	defer srv.Cleanup()
	kek, _ := backup.GenerateKEK("bench")
	keys := filepath.Join(work, "keys")
	if err := backup.WriteKeyFile(keys, kek); err != nil {
		return err
	}
	b := &bench{srv: srv, work: work, bin: srv.BinDir(), self: self, keys: keys, par: 2,
		env: append(os.Environ(), "PGHOST=127.0.0.1", fmt.Sprintf("PGPORT=%d", srv.Port()), "PGUSER=postgres")}
	if err := b.exec("postgres", "CREATE DATABASE bench"); err != nil {
		return err
	}
	if _, err := b.sh(fmt.Sprintf("%s -i -q -s %d bench", filepath.Join(b.bin, "pgbench"), scale)); err != nil {
		return err
	}
	_ = b.exec("bench", "VACUUM ANALYZE", "CHECKPOINT")
	psql := filepath.Join(b.bin, "psql") + " -X -q -d bench -c "
	for _, q := range []string{
		`"COPY pgbench_accounts TO STDOUT" > /dev/null`,
		`"COPY pgbench_accounts (aid, bid, abalance, filler) TO STDOUT" > /dev/null`,
		`"COPY (SELECT aid, bid, abalance, filler FROM ONLY pgbench_accounts WHERE ctid >= '(0,0)'::tid) TO STDOUT" > /dev/null`,
		`"COPY pgbench_accounts TO STDOUT WITH (FORMAT binary)" > /dev/null`,
	} {
		for range 2 {
			b.quiesce()
			s, err := b.measure(func() (float64, error) { return b.sh(psql + q) })
			if err != nil {
				return err
			}
			fmt.Printf("%-130s wall %.2f s, server CPU %.2f s, client CPU %.2f s\n", q, s.wall, s.server, s.client)
		}
	}
	for _, par := range []int{1, 2} {
		b.par = par
		for range 2 {
			store := filepath.Join(work, "store")
			_ = os.RemoveAll(store)
			b.quiesce()
			s, err := b.measure(func() (float64, error) {
				r, err := b.child("backup", "bench", store, "")
				return r.Wall, err
			})
			if err != nil {
				return err
			}
			fmt.Printf("%-130s wall %.2f s, server CPU %.2f s, client CPU %.2f s\n", fmt.Sprintf("Backup, Parallel %d", par), s.wall, s.server, s.client)
		}
	}
	return nil
}
