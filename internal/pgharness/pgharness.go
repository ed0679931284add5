// Package pgharness runs real PostgreSQL 15 servers on 127.0.0.1 for the
// SDK's tests, examples and benchmarks: a primary (initdb + postgres started
// directly, so the harness owns the postmaster's pid) and streaming standbys
// cloned with pg_basebackup -R. It can kill (SIGKILL of the whole process
// group, as when a node is lost), pause (SIGSTOP), resume, restart, rewind and
// clean up every process it started.
//
// When the test process runs as root, initdb, postgres, pg_basebackup and
// pg_rewind run as the "postgres" user (SysProcAttr.Credential), with data
// directories owned by it and HOME set for the child so that libpq never
// writes root's passfile path into primary_conninfo.
//
// initdb runs once per binary, user and checksum setting: its pristine
// output is kept in <BaseDir>/pgharness-template-<hash> (renamed into place
// complete, so concurrent test binaries share it safely) and copied for
// each new server, which is several times faster on a loaded machine.
//
// Binaries are found in $OROCLOUD_PG_BINDIR, else `pg_config --bindir`, else
// /usr/lib/postgresql/15/bin. Tests call Require (or New, which calls it):
// it skips when the binaries are missing, except when CI=true, where a skipped
// data-path test is a failure.
package pgharness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultBinDir is where Debian's PostgreSQL 15 packages put the server binaries.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// InstallHint tells a user how to get the binaries.
const InstallHint = "install PostgreSQL 15 server binaries (Debian/Ubuntu: apt-get install postgresql-15) " +
	"or set OROCLOUD_PG_BINDIR to the directory holding initdb and postgres"

// BinDir returns the directory of the PostgreSQL server binaries:
// $OROCLOUD_PG_BINDIR, else `pg_config --bindir`, else DefaultBinDir.
func BinDir() string {
	if d := os.Getenv("OROCLOUD_PG_BINDIR"); d != "" {
		return d
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d
		}
	}
	return DefaultBinDir
}

var requiredBinaries = []string{"initdb", "postgres", "pg_basebackup", "pg_rewind", "pg_controldata"}

// Available reports whether the PostgreSQL binaries the harness needs are
// present (nil) or which one is missing.
func Available() error {
	dir := BinDir()
	for _, b := range requiredBinaries {
		p := filepath.Join(dir, b)
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgharness: %s not found in %s (%s)", b, dir, InstallHint)
		}
		if st.Mode()&0o111 == 0 {
			return fmt.Errorf("pgharness: %s is not executable", p)
		}
	}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return errors.New("pgharness: running as root but there is no \"postgres\" user to run the server as")
		}
	}
	return nil
}

// Require skips the test when the binaries are missing, with a clear
// message; when the environment variable CI is "true" it fails the test
// instead, because a skipped data-path test in CI hides a broken pipeline.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI (CI=true): %v", err)
		}
		t.Skipf("skipping data-path test: %v", err)
	}
}

// Options configures a primary server. The zero value (or nil) gives a fast,
// non-durable test server.
type Options struct {
	// BaseDir is where the temporary directory of the server is created
	// (default os.TempDir()). It must be reachable by the postgres user.
	BaseDir string
	// Settings are extra postgresql.conf settings, written after the
	// harness's own (so they override them). Values are written verbatim:
	// quote strings yourself ("'on'" is not needed for booleans).
	Settings map[string]string
	// Synchronous, when set, is the synchronous_standby_names value, e.g.
	// "standby1" or "ANY 1 (s1, s2)".
	Synchronous string
	// Fsync keeps fsync on (default off: faster, and a SIGKILL of postgres
	// does not lose committed data without an OS crash).
	Fsync bool
	// DataChecksums runs initdb with --data-checksums (wal_log_hints is on
	// anyway, so pg_rewind works either way).
	DataChecksums bool
	// StartTimeout bounds each wait for the server to accept connections
	// (default 30 s).
	StartTimeout time.Duration
	// Logger receives the harness's lifecycle messages (default discard).
	Logger *slog.Logger
}

// StandbyOptions configures a standby.
type StandbyOptions struct {
	// Settings are extra postgresql.conf settings of the standby.
	Settings map[string]string
	// NoWait returns as soon as the standby accepts connections, without
	// waiting for it to stream from the primary.
	NoWait bool
}

// Server is one running (or stopped) PostgreSQL server owned by the harness.
// Its methods are safe for concurrent use.
type Server struct {
	name     string
	binDir   string
	root     string // temporary directory: HOME of the child, parent of data
	dataDir  string
	port     int
	cred     *syscall.Credential
	timeout  time.Duration
	log      *slog.Logger
	settings map[string]string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has been waited for
	logFile *os.File
	cleaned bool
	orphans []int // server processes left by the last kill of the postmaster
	paused  []int // processes stopped by Pause
}

// Start creates a fresh cluster (initdb) in a new temporary directory and
// starts postgres on a free 127.0.0.1 port. The caller must call Cleanup
// (New does it for tests).
func Start(ctx context.Context, opts *Options) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := newServer("primary", o.BaseDir, o.StartTimeout, o.Logger)
	if err != nil {
		return nil, err
	}
	if err := s.initdb(ctx, o.BaseDir, o.DataChecksums); err != nil {
		s.Cleanup()
		return nil, err
	}
	conf := map[string]string{
		"listen_addresses":             "'127.0.0.1'",
		"unix_socket_directories":      quote(s.dataDir),
		"wal_level":                    "replica",
		"max_wal_senders":              "10",
		"max_replication_slots":        "10",
		"wal_keep_size":                "'256MB'",
		"wal_log_hints":                "on",
		"hot_standby":                  "on",
		"hot_standby_feedback":         "on",
		"wal_retrieve_retry_interval":  "'100ms'",
		"wal_receiver_status_interval": "'1s'",
		"max_connections":              "60",
		"shared_buffers":               "'32MB'",
		"logging_collector":            "off",
		"log_line_prefix":              "'%m [%p] %a '",
		"fsync":                        "off",
		"full_page_writes":             "on",
	}
	if o.Fsync {
		conf["fsync"] = "on"
	}
	if o.Synchronous != "" {
		conf["synchronous_standby_names"] = quote(o.Synchronous)
	}
	maps.Copy(conf, o.Settings)
	s.settings = conf
	if err := s.configure(conf); err != nil {
		s.Cleanup()
		return nil, err
	}
	if err := s.startWithFreePort(ctx); err != nil {
		s.Cleanup()
		return nil, err
	}
	return s, nil
}

func newServer(name, base string, timeout time.Duration, log *slog.Logger) (*Server, error) {
	if base == "" {
		base = os.TempDir()
	}
	root, err := os.MkdirTemp(base, "pgharness-"+name+"-")
	if err != nil {
		return nil, fmt.Errorf("pgharness: %w", err)
	}
	s := &Server{name: name, binDir: BinDir(), root: root, dataDir: filepath.Join(root, "data"), timeout: timeout, log: log}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			_ = os.RemoveAll(root)
			return nil, fmt.Errorf("pgharness: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		// The base directory must be traversable by postgres; MkdirTemp
		// makes 0700 directories, so hand ours to postgres.
		if err := os.Chown(root, uid, gid); err != nil {
			_ = os.RemoveAll(root)
			return nil, fmt.Errorf("pgharness: %w", err)
		}
	}
	return s, nil
}

// command builds a command for one of the binaries, run as postgres when
// we are root, with HOME set to the server's own directory.
func (s *Server) command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if ctx == nil {
		cmd = exec.Command(filepath.Join(s.binDir, bin), args...)
	} else {
		cmd = exec.CommandContext(ctx, filepath.Join(s.binDir, bin), args...)
	}
	cmd.Env = append(cleanEnv(), "HOME="+s.root, "PGPASSFILE="+filepath.Join(s.root, ".pgpass"), "LC_ALL=C")
	cmd.Dir = s.root
	// Setpgid: ^C in a terminal reaches the test binary, not the server.
	// Pdeathsig: if the test binary itself dies (a go test timeout), the
	// postmaster dies with it, and its backends exit when they see it gone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// cleanEnv is the environment without libpq variables that could redirect
// the harness's tools to another server.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (s *Server) run(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := s.command(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	s.log.Debug("pgharness: run", "server", s.name, "bin", bin, "args", args)
	return cmd.CombinedOutput()
}

// configure appends the settings to postgresql.conf (last occurrence wins).
func (s *Server) configure(conf map[string]string) error {
	var b strings.Builder
	b.WriteString("\n# pgharness\n")
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		fmt.Fprintf(&b, "%s = %s\n", k, conf[k])
	}
	return s.appendFile("postgresql.conf", b.String())
}

func (s *Server) appendFile(name, text string) error {
	f, err := os.OpenFile(filepath.Join(s.dataDir, name), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("pgharness: %w", err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return fmt.Errorf("pgharness: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pgharness: %w", err)
	}
	return s.chown(filepath.Join(s.dataDir, name))
}

func (s *Server) chown(path string) error {
	if s.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
		return fmt.Errorf("pgharness: %w", err)
	}
	return nil
}

func quote(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }

// freePort asks the kernel for a free 127.0.0.1 port. Another process may
// take it before postgres binds it; startWithFreePort retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) startWithFreePort(ctx context.Context) error {
	var last error
	for range 5 {
		p, err := freePort()
		if err != nil {
			return fmt.Errorf("pgharness: free port: %w", err)
		}
		if err := s.configure(map[string]string{"port": strconv.Itoa(p)}); err != nil {
			return err
		}
		s.mu.Lock()
		s.port = p
		s.mu.Unlock()
		last = s.launch(ctx)
		if last == nil {
			return nil
		}
		if !strings.Contains(last.Error(), "could not bind") && !strings.Contains(last.Error(), "in use") {
			return last
		}
	}
	return last
}

// launch starts the postmaster and waits until it accepts connections.
func (s *Server) launch(ctx context.Context) error {
	s.mu.Lock()
	if s.cleaned {
		s.mu.Unlock()
		return errors.New("pgharness: server was cleaned up")
	}
	if s.running() {
		s.mu.Unlock()
		return errors.New("pgharness: server is already running")
	}
	logPath := filepath.Join(s.dataDir, "postgres.log")
	lf, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("pgharness: %w", err)
	}
	_ = s.chown(logPath)
	offset, _ := lf.Seek(0, io.SeekEnd)
	cmd := s.command(nil, "postgres", "-D", s.dataDir)
	cmd.Stdout = lf
	cmd.Stderr = lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		s.mu.Unlock()
		return fmt.Errorf("pgharness: start postgres: %w", err)
	}
	done := make(chan struct{})
	s.cmd, s.done, s.logFile = cmd, done, lf
	go func() {
		_ = cmd.Wait()
		lf.Close()
		close(done)
	}()
	s.mu.Unlock()
	s.log.Debug("pgharness: postgres started", "server", s.name, "pid", cmd.Process.Pid, "port", s.port)

	if err := s.waitReady(ctx, done); err != nil {
		s.Kill()
		<-done
		return fmt.Errorf("%w: %s", err, lastLines(readFrom(logPath, offset), 15))
	}
	return nil
}

// running reports, with s.mu held, whether the postmaster is alive.
func (s *Server) running() bool {
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

func (s *Server) waitReady(ctx context.Context, done <-chan struct{}) error {
	deadline := time.Now().Add(s.timeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := pgconn.Connect(cctx, s.DSN("postgres")+" connect_timeout=1")
		cancel()
		if err == nil {
			c.Close(ctx)
			return nil
		}
		select {
		case <-done:
			return errors.New("pgharness: postgres exited during startup")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgharness: postgres did not accept connections within %s: %v", s.timeout, err)
		}
	}
}

func readFrom(path string, off int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	_, _ = f.Seek(off, io.SeekStart)
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return b
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Name returns the server's name ("primary" or the standby's name).
func (s *Server) Name() string { return s.name }

// DSN returns a libpq keyword/value connection string to database db as the
// postgres superuser over 127.0.0.1.
func (s *Server) DSN(db string) string {
	if db == "" {
		db = "postgres"
	}
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=%s sslmode=disable", s.Port(), db)
}

// Port returns the TCP port the server listens on.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// DataDir returns the server's data directory.
func (s *Server) DataDir() string { return s.dataDir }

// LogPath returns the file the server logs to.
func (s *Server) LogPath() string { return filepath.Join(s.dataDir, "postgres.log") }

// BinDir returns the directory of the binaries the server runs.
func (s *Server) BinDir() string { return s.binDir }

// PID returns the postmaster's pid, or 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running() {
		return 0
	}
	return s.cmd.Process.Pid
}

// Running reports whether the postmaster is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running()
}

// Done returns a channel closed once the current postmaster has exited (a
// closed channel when none is running).
func (s *Server) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return s.done
}

// Stop shuts the server down with a fast shutdown (SIGINT) and waits; when
// ctx ends first it kills it. Stopping a stopped server returns nil.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.running() {
		s.mu.Unlock()
		return nil
	}
	pid, done := s.cmd.Process.Pid, s.done
	paused := s.paused
	s.paused = nil
	s.mu.Unlock()
	signalAll(paused, syscall.SIGCONT) // a paused server cannot shut down
	_ = syscall.Kill(pid, syscall.SIGINT)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.Kill()
		<-done
		return ctx.Err()
	}
}

// Kill sends SIGKILL to the postmaster and every server process at once,
// as when the node is lost, and waits until they are gone.
func (s *Server) Kill() {
	s.mu.Lock()
	if !s.running() {
		s.mu.Unlock()
		return
	}
	pid, done := s.cmd.Process.Pid, s.done
	// Stop the postmaster first so that it forks nothing while we list its
	// children.
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	kids := childPids(pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	signalAll(kids, syscall.SIGKILL)
	s.orphans = append(s.orphans, kids...)
	s.paused = nil
	s.mu.Unlock()
	<-done
	_ = s.waitNoChildren(context.Background())
}

// KillPostmaster sends SIGKILL to the postmaster only, as when postgres
// itself crashes; its backends notice and exit by themselves (established
// connections can still commit for a few milliseconds). Restart and
// Cleanup wait for them (and kill stragglers after the start timeout).
func (s *Server) KillPostmaster() {
	s.mu.Lock()
	if !s.running() {
		s.mu.Unlock()
		return
	}
	pid, done := s.cmd.Process.Pid, s.done
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	kids := childPids(pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	s.orphans = append(s.orphans, kids...)
	s.mu.Unlock()
	<-done
}

// Pause stops the postmaster and every server process with SIGSTOP (a
// stall: connections hang, nothing is refused).
func (s *Server) Pause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running() {
		return errors.New("pgharness: server is not running")
	}
	pid := s.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return err
	}
	kids := childPids(pid)
	signalAll(kids, syscall.SIGSTOP)
	s.paused = append([]int{pid}, kids...)
	return nil
}

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running() {
		return errors.New("pgharness: server is not running")
	}
	pid := s.cmd.Process.Pid
	signalAll(s.paused, syscall.SIGCONT)
	signalAll(childPids(pid), syscall.SIGCONT)
	s.paused = nil
	return syscall.Kill(pid, syscall.SIGCONT)
}

// Restart stops the server if it runs (fast shutdown), then starts it again
// on the same port and waits until it accepts connections. It is also how a
// killed server is brought back (crash recovery).
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(ctx); err != nil {
		return err
	}
	// Wait for orphaned backends of a killed postmaster to exit: they hold
	// the shared memory segment and postgres refuses to start beside them.
	if err := s.waitNoChildren(ctx); err != nil {
		return err
	}
	return s.launch(ctx)
}

// Start starts a stopped server again (see Restart).
func (s *Server) Start(ctx context.Context) error { return s.Restart(ctx) }

func (s *Server) waitNoChildren(ctx context.Context) error {
	s.mu.Lock()
	orphans := s.orphans
	s.mu.Unlock()
	deadline := time.Now().Add(s.timeout)
	for {
		left := orphans[:0:0]
		for _, p := range orphans {
			if alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			signalAll(left, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		orphans = left
	}
	s.mu.Lock()
	s.orphans = nil
	s.mu.Unlock()
	return nil
}

// Cleanup kills anything left of the server and removes its directories.
// It is idempotent.
func (s *Server) Cleanup() {
	s.Kill()
	s.mu.Lock()
	orphans := s.orphans
	s.mu.Unlock()
	signalAll(orphans, syscall.SIGKILL)
	_ = s.waitNoChildren(context.Background())
	s.mu.Lock()
	s.cleaned = true
	s.mu.Unlock()
	_ = os.RemoveAll(s.root)
}

// Connect opens a pgx connection to database db.
func (s *Server) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, s.DSN(db))
}

// Exec runs one SQL statement on the postgres database.
func (s *Server) Exec(ctx context.Context, sql string, args ...any) error {
	c, err := s.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, sql, args...)
	return err
}

// CreateDatabase creates database name.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	return s.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// SetSynchronous sets synchronous_standby_names (ALTER SYSTEM + reload).
// An empty value turns synchronous replication off.
func (s *Server) SetSynchronous(ctx context.Context, names string) error {
	if err := s.Exec(ctx, "ALTER SYSTEM SET synchronous_standby_names = "+quote(names)); err != nil {
		return err
	}
	return s.Exec(ctx, "SELECT pg_reload_conf()")
}

// StartStandby clones the server with pg_basebackup -R -X stream into a new
// directory and starts the clone as a streaming standby named name (its
// application_name, usable in synchronous_standby_names), on its own free
// port. Unless opts.NoWait, it returns once the primary reports the standby
// as streaming.
func (s *Server) StartStandby(ctx context.Context, name string, opts *StandbyOptions) (*Server, error) {
	if name == "" || strings.ContainsAny(name, " '\"\\=") {
		return nil, fmt.Errorf("pgharness: standby name %q must be non-empty and contain no spaces, quotes, backslashes or '='", name)
	}
	var o StandbyOptions
	if opts != nil {
		o = *opts
	}
	st, err := newServer(name, filepath.Dir(s.root), s.timeout, s.log)
	if err != nil {
		return nil, err
	}
	conn := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres application_name=%s", s.Port(), name)
	out, err := st.run(ctx, "pg_basebackup", "-D", st.dataDir, "-d", conn, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	if err != nil {
		st.Cleanup()
		return nil, fmt.Errorf("pgharness: pg_basebackup: %w: %s", err, lastLines(out, 20))
	}
	_ = os.Truncate(st.LogPath(), 0) // the primary's log came along
	conf := map[string]string{"unix_socket_directories": quote(st.dataDir)}
	maps.Copy(conf, o.Settings)
	st.settings = conf
	if err := st.configure(conf); err != nil {
		st.Cleanup()
		return nil, err
	}
	if err := st.startWithFreePort(ctx); err != nil {
		st.Cleanup()
		return nil, err
	}
	if !o.NoWait {
		if err := s.WaitStreaming(ctx, name); err != nil {
			st.Cleanup()
			return nil, err
		}
	}
	return st, nil
}

// WaitStreaming waits (bounded by the start timeout) until this server
// reports a walsender in state streaming for application_name name.
func (s *Server) WaitStreaming(ctx context.Context, name string) error {
	deadline := time.Now().Add(s.timeout)
	var last error
	for time.Now().Before(deadline) {
		c, err := s.Connect(ctx, "postgres")
		if err == nil {
			var n int
			err = c.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'", name).Scan(&n)
			c.Close(context.Background())
			if err == nil && n > 0 {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	return fmt.Errorf("pgharness: standby %s not streaming from %s within %s (last error: %v)", name, s.name, s.timeout, last)
}

// RejoinAsStandby turns this (stopped or running) former primary into a
// standby of primary: it stops it, runs pg_rewind against primary, writes
// standby.signal and a primary_conninfo with application_name name, and
// starts it. When pg_rewind fails (say, WAL it needs is gone), it re-clones
// the data directory with pg_basebackup instead. It returns once the new
// primary reports it streaming.
func (s *Server) RejoinAsStandby(ctx context.Context, primary *Server, name string) error {
	if primary == nil || name == "" {
		return errors.New("pgharness: RejoinAsStandby needs a primary and a name")
	}
	if err := s.Stop(ctx); err != nil {
		return err
	}
	if err := s.waitNoChildren(ctx); err != nil {
		return err
	}
	// pg_rewind compares the timelines in the control files; right after a
	// promotion the new primary's control file still shows the old one
	// until its end-of-recovery checkpoint, and pg_rewind would wrongly
	// answer "no rewind required". Force the checkpoint.
	if err := primary.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("pgharness: checkpoint on new primary: %w", err)
	}
	conn := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres application_name=%s", primary.Port(), name)
	out, err := s.run(ctx, "pg_rewind", "-D", s.dataDir, "--source-server="+conn, "-R", "--no-sync")
	if err != nil {
		s.log.Warn("pgharness: pg_rewind failed, re-cloning", "server", s.name, "err", err, "output", lastLines(out, 5))
		if err := s.reclone(ctx, conn); err != nil {
			return err
		}
	}
	// pg_rewind copies the source's configuration; keep our own port and
	// socket directory, and our extra settings.
	_ = os.Truncate(s.LogPath(), 0)
	conf := map[string]string{"unix_socket_directories": quote(s.dataDir), "port": strconv.Itoa(s.Port())}
	maps.Copy(conf, s.settings)
	conf["port"] = strconv.Itoa(s.Port())
	conf["unix_socket_directories"] = quote(s.dataDir)
	if err := s.configure(conf); err != nil {
		return err
	}
	s.mu.Lock()
	s.name = name
	s.mu.Unlock()
	if err := s.launch(ctx); err != nil {
		return err
	}
	return primary.WaitStreaming(ctx, name)
}

func (s *Server) reclone(ctx context.Context, conn string) error {
	if err := os.RemoveAll(s.dataDir); err != nil {
		return fmt.Errorf("pgharness: %w", err)
	}
	out, err := s.run(ctx, "pg_basebackup", "-D", s.dataDir, "-d", conn, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	if err != nil {
		return fmt.Errorf("pgharness: pg_basebackup: %w: %s", err, lastLines(out, 20))
	}
	return nil
}
