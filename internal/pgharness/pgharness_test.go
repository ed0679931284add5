package pgharness_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/internal/pgharness"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func scalar[T any](t *testing.T, s *pgharness.Server, sql string) T {
	t.Helper()
	c, err := s.Connect(ctxT(t), "postgres")
	require.NoError(t, err)
	defer c.Close(context.Background())
	var v T
	require.NoError(t, c.QueryRow(ctxT(t), sql).Scan(&v))
	return v
}

func TestPrimaryStandbyLifecycle(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	p := pgharness.New(t, &pgharness.Options{Synchronous: "s1"})
	require.NotZero(t, p.Port())
	require.DirExists(t, p.DataDir())
	assert.Equal(t, "on", scalar[string](t, p, "SHOW wal_log_hints"))
	assert.Equal(t, "replica", scalar[string](t, p, "SHOW wal_level"))
	assert.Equal(t, "127.0.0.1", scalar[string](t, p, "SHOW listen_addresses"))
	assert.Equal(t, "s1", scalar[string](t, p, "SHOW synchronous_standby_names"))
	if os.Geteuid() == 0 {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID()))
		require.NoError(t, err)
		u, err := user.Lookup("postgres")
		require.NoError(t, err)
		assert.Regexp(t, "(?m)^Uid:\\s+"+u.Uid+"\\s", string(st), "postgres must not run as root")
	}

	// Every commit waits for s1 from here on: start it first.
	s := pgharness.NewStandby(t, p, "s1", nil)
	require.NoError(t, p.CreateDatabase(ctx, "app"))
	c, err := p.Connect(ctx, "app")
	require.NoError(t, err)
	_, err = c.Exec(ctx, "CREATE TABLE t(id int primary key)")
	if err != nil {
		b, _ := os.ReadFile(s.LogPath())
		t.Log(string(b))
		b, _ = os.ReadFile(p.LogPath())
		t.Log(string(b))
	}
	require.NoError(t, err)
	// Synchronous commit through the standby works.
	_, err = c.Exec(ctx, "INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	c.Close(ctx)
	assert.True(t, scalar[bool](t, s, "SELECT pg_is_in_recovery()"))
	assert.Equal(t, "sync", scalar[string](t, p, "SELECT sync_state FROM pg_stat_replication WHERE application_name='s1'"))
	conninfo := scalar[string](t, s, "SHOW primary_conninfo")
	assert.Contains(t, conninfo, "application_name=s1")
	assert.NotContains(t, conninfo, "/root", "root's passfile path leaked into primary_conninfo")
	assert.Equal(t, "100ms", scalar[string](t, s, "SHOW wal_retrieve_retry_interval"))

	// A synchronous commit waits for the standby to flush the WAL, not to
	// replay it: wait (bounded) until the row is visible there.
	var n int
	deadline := time.Now().Add(15 * time.Second)
	for {
		sc, err := s.Connect(ctx, "app")
		if err == nil {
			err = sc.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n)
			sc.Close(ctx)
		}
		if (err == nil && n == 1) || time.Now().After(deadline) {
			require.NoError(t, err)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	assert.Equal(t, 1, n)
}

func TestKillRestartPause(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	p := pgharness.New(t, nil)
	require.NoError(t, p.Exec(ctx, "CREATE TABLE k(id int)"))
	require.NoError(t, p.Exec(ctx, "INSERT INTO k VALUES (1)"))
	pid := p.PID()
	require.NotZero(t, pid)
	held, err := p.Connect(ctx, "postgres") // an established session
	require.NoError(t, err)
	var backend int
	require.NoError(t, held.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend))

	p.Kill()
	assert.False(t, procAlive(backend), "a backend survived Kill (node loss kills every process)")
	qctx, qcancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = held.Exec(qctx, "SELECT 1")
	qcancel()
	assert.Error(t, err)
	held.Close(ctx)
	assert.False(t, p.Running())
	assert.False(t, procAlive(pid), "postmaster survived Kill")
	assert.Error(t, p.Exec(ctx, "SELECT 1"))

	require.NoError(t, p.Restart(ctx))
	assert.Equal(t, 1, scalar[int](t, p, "SELECT count(*)::int FROM k"))

	held, err = p.Connect(ctx, "postgres")
	require.NoError(t, err)
	defer held.Close(ctx)
	require.NoError(t, p.Pause())
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = p.Exec(cctx, "SELECT 1")
	cancel()
	assert.Error(t, err, "a paused server accepted a connection")
	cctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = held.Exec(cctx, "SELECT 1")
	cancel()
	assert.Error(t, err, "an established session answered while paused")
	require.NoError(t, p.Resume())
	require.NoError(t, p.Exec(ctx, "SELECT 1"))

	require.NoError(t, p.Stop(ctx))
	assert.False(t, p.Running())
	require.NoError(t, p.Stop(ctx), "stopping a stopped server")
	require.NoError(t, p.Start(ctx))
	require.NoError(t, p.Exec(ctx, "SELECT 1"))
}

func TestRejoinAfterPromotion(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	p := pgharness.New(t, nil)
	s := pgharness.NewStandby(t, p, "s1", nil)
	require.NoError(t, p.Exec(ctx, "CREATE TABLE r(id int)"))
	p.Kill()
	require.NoError(t, s.Exec(ctx, "SELECT pg_promote(true, 30)"))
	require.NoError(t, s.Exec(ctx, "INSERT INTO r VALUES (42)"))

	require.NoError(t, p.RejoinAsStandby(ctx, s, "old"))
	assert.True(t, scalar[bool](t, p, "SELECT pg_is_in_recovery()"))
	require.NoError(t, s.Exec(ctx, "INSERT INTO r VALUES (43)"))
	assert.Eventually(t, func() bool {
		c, err := p.Connect(ctx, "postgres")
		if err != nil {
			return false
		}
		defer c.Close(ctx)
		var n int
		return c.QueryRow(ctx, "SELECT count(*) FROM r").Scan(&n) == nil && n == 2
	}, 10*time.Second, 20*time.Millisecond)
	if t.Failed() {
		b, _ := os.ReadFile(p.LogPath())
		t.Log(string(b))
	}
}

func TestStandbyNameValidated(t *testing.T) {
	t.Parallel()
	// The name is checked before anything is started.
	for _, bad := range []string{"", "bad name", "it's", `a\b`, "a=b"} {
		_, err := new(pgharness.Server).StartStandby(ctxT(t), bad, nil)
		require.Error(t, err, bad)
	}
}

// TestNoOrphans checks that Cleanup leaves no process behind, even after a
// postmaster-only kill that orphans backends.
func TestNoOrphans(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	p, err := pgharness.Start(ctx, nil)
	if err != nil {
		pgharness.Require(t)
		require.NoError(t, err)
	}
	dir := p.DataDir()
	c, err := p.Connect(ctx, "postgres")
	require.NoError(t, err)
	defer c.Close(context.Background())
	p.KillPostmaster()
	p.Cleanup()
	out, _ := exec.Command("pgrep", "-f", dir).Output()
	assert.Empty(t, strings.TrimSpace(string(out)), "processes left for %s", dir)
	assert.NoDirExists(t, dir)
}

func TestRequireSkipsOrFails(t *testing.T) {
	t.Setenv("OROCLOUD_PG_BINDIR", t.TempDir())
	require.Error(t, pgharness.Available())
	t.Setenv("CI", "false")
	ft := &fakeTB{TB: t}
	runTB(func() { pgharness.Require(ft) })
	assert.True(t, ft.skipped)
	assert.False(t, ft.failed)

	t.Setenv("CI", "true")
	ft = &fakeTB{TB: t}
	runTB(func() { pgharness.Require(ft) })
	assert.True(t, ft.failed)
	assert.False(t, ft.skipped)
}

type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true; panic(stop{}) }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true; panic(stop{}) }

type stop struct{}

func runTB(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stop); !ok {
				panic(r)
			}
		}
	}()
	fn()
}

// procAlive reports whether pid runs (a zombie waiting for its reaper does
// not count).
func procAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}
