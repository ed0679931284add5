package backup_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/backup"
	"github.com/orocloud/orocloud-go/internal/pgharness"
	"github.com/orocloud/orocloud-go/providers"
)

const sampleSchema = `
CREATE TABLE customer (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, name text, created timestamptz DEFAULT now(),
  data jsonb, balance numeric(12,2), tags text[], note text);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id bigint REFERENCES customer(id), total numeric, qty int,
  double_qty int GENERATED ALWAYS AS (qty * 2) STORED, placed date);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE TABLE events (ts timestamptz NOT NULL, kind text) PARTITION BY RANGE (ts);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE "Odd Name" ("Weird ""col""" text, b bytea);
CREATE TABLE empty_table (a int);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := coalesce(NEW.note, 'touched'); RETURN NEW; END $$;
CREATE TRIGGER customer_touch BEFORE INSERT ON customer FOR EACH ROW EXECUTE FUNCTION touch();
CREATE SCHEMA app;
CREATE TABLE app.settings (k text PRIMARY KEY, v text);
CREATE SEQUENCE app.counter START 100;
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE app.kv AS (k text, v int);
CREATE DOMAIN app.posint AS int CHECK (VALUE > 0);
CREATE TABLE app.profile (id app.posint PRIMARY KEY, moods app.mood[], pair app.kv, mood app.mood);
INSERT INTO app.profile SELECT g, ARRAY['sad', 'happy']::app.mood[], ROW('k' || g, g)::app.kv, 'ok' FROM generate_series(1, 300) g;
INSERT INTO customer (email, name, data, balance, tags, note)
  SELECT 'user' || g || '@example.com', 'Name ' || g || E' with \t tab and \\ backslash', jsonb_build_object('g', g),
         g * 1.5, ARRAY['a', 'b' || g], CASE WHEN g % 3 = 0 THEN NULL ELSE repeat(md5(g::text), 3) END
  FROM generate_series(1, 5000) g;
INSERT INTO orders (customer_id, total, qty, placed) SELECT 1 + g % 5000, g % 250, g % 7, DATE '2026-01-01' + g % 300 FROM generate_series(1, 8000) g;
INSERT INTO events SELECT TIMESTAMPTZ '2026-01-01' + g * interval '1 minute', 'k' || g % 5 FROM generate_series(1, 5000) g;
INSERT INTO "Odd Name" VALUES ('x', '\xdeadbeef'), (NULL, NULL), (E'line\nbreak', '\x00');
INSERT INTO app.settings VALUES ('a', '1'), ('b', NULL);
SELECT nextval('app.counter'), nextval('app.counter');
`

var (
	dbSeq     atomic.Int64
	srvOnce   sync.Once
	srvShared *pgharness.Server
	srvErr    error
)

// sharedServer starts one PostgreSQL server for all the package's data-path
// tests (each uses its own databases); TestMain cleans it up.
func sharedServer(t *testing.T) *pgharness.Server {
	t.Helper()
	pgharness.Require(t)
	srvOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		srvShared, srvErr = pgharness.Start(ctx, nil)
	})
	require.NoError(t, srvErr)
	if !srvShared.Running() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(t, srvShared.Restart(ctx))
	}
	return srvShared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if srvShared != nil {
		srvShared.Cleanup()
	}
	os.Exit(code)
}

var sampleTables = []string{"customer", "orders", "events_2026", `"Odd Name"`, "empty_table", "app.settings", "app.profile"}

type pgEnv struct {
	src     string
	srv     *pgharness.Server
	store   *backup.DirStore
	keys    *backup.LocalKeyring
	kek     backup.KEK
	media   string
	logs    *bytes.Buffer
	counter atomic.Int64
}

func newPGEnv(t *testing.T) *pgEnv {
	t.Helper()
	srv := sharedServer(t)
	ctx := context.Background()
	src := fmt.Sprintf("src_%d", dbSeq.Add(1))
	require.NoError(t, srv.CreateDatabase(ctx, src))
	c, err := srv.Connect(ctx, src)
	require.NoError(t, err)
	_, err = c.PgConn().Exec(ctx, sampleSchema).ReadAll()
	require.NoError(t, err)
	require.NoError(t, c.Close(ctx))
	st, err := backup.NewDirStore(t.TempDir())
	require.NoError(t, err)
	k, err := backup.GenerateKEK("k1")
	require.NoError(t, err)
	kr, err := backup.NewLocalKeyring(k)
	require.NoError(t, err)
	media := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(media, "product", "img"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(media, "product", "img", "a.jpg"), bytes.Repeat([]byte{0xff, 0xd8}, 50000), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(media, "robots.txt"), []byte("User-agent: *\n"), 0o600))
	require.NoError(t, os.Symlink("product/img/a.jpg", filepath.Join(media, "latest.jpg")))
	return &pgEnv{src: src, srv: srv, store: st, keys: kr, kek: k, media: media, logs: &bytes.Buffer{}}
}

func (p *pgEnv) engine(t *testing.T, mod func(*backup.Options)) *backup.Engine {
	t.Helper()
	o := &backup.Options{Database: p.srv.DSN(p.src) + " password=Sup3rS3cretPW", Media: p.media, Environment: "acme-test",
		Parallel: 2, SegmentSize: 64 << 10, ChunkSize: 64 << 10, Logger: slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(o)
	}
	e, err := backup.NewEngine(p.store, p.keys, o)
	require.NoError(t, err)
	return e
}

func (p *pgEnv) freshDB(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("dst_%d", dbSeq.Add(1))
	require.NoError(t, p.srv.CreateDatabase(context.Background(), name))
	return name
}

// tableSums returns row count and an order-independent checksum per table.
func tableSums(t *testing.T, srv *pgharness.Server, db string) map[string]string {
	t.Helper()
	ctx := context.Background()
	c, err := srv.Connect(ctx, db)
	require.NoError(t, err)
	defer c.Close(ctx)
	out := map[string]string{}
	for _, tb := range sampleTables {
		var n int64
		var sum *string
		require.NoError(t, c.QueryRow(ctx, "SELECT count(*), md5(string_agg(x::text, ',' ORDER BY x::text)) FROM "+tb+" x").Scan(&n, &sum))
		s := ""
		if sum != nil {
			s = *sum
		}
		out[tb] = strings.Join([]string{s, time.Duration(n).String()}, "/")
	}
	var seq, cust int64
	require.NoError(t, c.QueryRow(ctx, "SELECT last_value FROM app.counter").Scan(&seq))
	require.NoError(t, c.QueryRow(ctx, "SELECT last_value FROM customer_id_seq").Scan(&cust))
	out["seq"] = time.Duration(seq).String() + "/" + time.Duration(cust).String()
	var idx int
	require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM pg_indexes WHERE schemaname IN ('public','app')").Scan(&idx))
	out["indexes"] = time.Duration(idx).String()
	return out
}

func objectCount(t *testing.T, dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func dbEmpty(t *testing.T, srv *pgharness.Server, db string) bool {
	ctx := context.Background()
	c, err := srv.Connect(ctx, db)
	require.NoError(t, err)
	defer c.Close(ctx)
	var n int
	require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'").Scan(&n))
	return n == 0
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	p := newPGEnv(t)
	ctx := context.Background()
	var events []backup.Progress
	eng := p.engine(t, func(o *backup.Options) { o.Progress = func(pr backup.Progress) { events = append(events, pr) } })
	res, err := eng.Backup(ctx, backup.Request{CodeRef: "git:3f2c1e9"})
	require.NoError(t, err)
	assert.Greater(t, res.Duration, time.Duration(0))
	assert.Equal(t, "git:3f2c1e9", res.Point.CodeRef)
	assert.Contains(t, res.Point.PostgresVersion, "15")
	require.NotEmpty(t, events)
	last := events[len(events)-1]
	assert.Equal(t, "backup", last.Op)
	assert.Equal(t, last.Total, last.Done)

	pts, err := eng.List(ctx, nil)
	require.NoError(t, err)
	require.Len(t, pts, 1)
	assert.Equal(t, res.Point.ID, pts[0].ID)
	lb, err := eng.LatestBefore(ctx, time.Now().Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, res.Point.ID, lb.ID)
	_, err = eng.LatestBefore(ctx, time.Now().Add(-time.Hour))
	assert.ErrorIs(t, err, providers.ErrNotFound)

	v, err := eng.Verify(ctx, res.Point.ID)
	require.NoError(t, err)
	assert.Equal(t, res.Bytes, v.Bytes)

	dst := p.freshDB(t)
	mediaOut := filepath.Join(t.TempDir(), "media")
	events = nil
	rr, err := eng.Restore(ctx, res.Point.ID, backup.Target{Database: p.srv.DSN(dst), Media: mediaOut})
	require.NoError(t, err)
	assert.Greater(t, rr.Duration, time.Duration(0))
	assert.Equal(t, "restore", events[len(events)-1].Op)
	assert.Equal(t, tableSums(t, p.srv, p.src), tableSums(t, p.srv, dst))
	got, err := os.ReadFile(filepath.Join(mediaOut, "product", "img", "a.jpg"))
	require.NoError(t, err)
	assert.Len(t, got, 100000)
	l, err := os.Readlink(filepath.Join(mediaOut, "latest.jpg"))
	require.NoError(t, err)
	assert.Equal(t, "product/img/a.jpg", l)
	st, err := os.Stat(filepath.Join(mediaOut, "robots.txt"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// The trigger and FK came back (post-data).
	c, err := p.srv.Connect(ctx, dst)
	require.NoError(t, err)
	var note string
	require.NoError(t, c.QueryRow(ctx, "INSERT INTO customer (email) VALUES ('new@x') RETURNING note").Scan(&note))
	assert.Equal(t, "touched", note)
	_, err = c.Exec(ctx, "INSERT INTO orders (customer_id) VALUES (999999)")
	assert.Error(t, err, "foreign key restored")
	_ = c.Close(ctx)

	// Non-empty target: refused without Replace, replaced with it.
	_, err = eng.Restore(ctx, res.Point.ID, backup.Target{Database: p.srv.DSN(dst)})
	assert.ErrorIs(t, err, providers.ErrFailedPrecondition)
	_, err = eng.Restore(ctx, res.Point.ID, backup.Target{Media: mediaOut})
	assert.ErrorIs(t, err, providers.ErrFailedPrecondition)
	_, err = eng.Restore(ctx, res.Point.ID, backup.Target{Database: p.srv.DSN(dst), Media: mediaOut, Replace: true})
	require.NoError(t, err)
	assert.Equal(t, tableSums(t, p.srv, p.src), tableSums(t, p.srv, dst))

	// Unknown point.
	_, err = eng.Restore(ctx, "20200101T000000Z-00000000", backup.Target{Database: p.srv.DSN(dst)})
	assert.ErrorIs(t, err, providers.ErrNotFound)
	_, err = eng.Verify(ctx, "nope")
	assert.ErrorIs(t, err, providers.ErrNotFound)

	// Secrets never in logs.
	assert.NotContains(t, p.logs.String(), "Sup3rS3cretPW")
}

func TestCompressedAndTextRoundTrip(t *testing.T) {
	p := newPGEnv(t)
	ctx := context.Background()
	eng := p.engine(t, func(o *backup.Options) { o.Compression = "zstd"; o.TextCopy = true; o.Parallel = 3 })
	res, err := eng.Backup(ctx, backup.Request{})
	require.NoError(t, err)
	assert.Less(t, res.Stored, res.Bytes, "zstd made it smaller")
	_, err = eng.Verify(ctx, res.Point.ID)
	require.NoError(t, err)
	dst := p.freshDB(t)
	_, err = eng.Restore(ctx, res.Point.ID, backup.Target{Database: p.srv.DSN(dst), Media: filepath.Join(t.TempDir(), "m")})
	require.NoError(t, err)
	assert.Equal(t, tableSums(t, p.srv, p.src), tableSums(t, p.srv, dst))
}

func TestCorruptionIsDetected(t *testing.T) {
	for _, comp := range []string{"", "zstd"} {
		t.Run("compression="+comp, func(t *testing.T) { testCorruption(t, comp) })
	}
}

func testCorruption(t *testing.T, comp string) {
	p := newPGEnv(t)
	ctx := context.Background()
	eng := p.engine(t, func(o *backup.Options) { o.Compression = comp })
	res, err := eng.Backup(ctx, backup.Request{})
	require.NoError(t, err)
	var files []string
	require.NoError(t, filepath.WalkDir(p.store.Dir(), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(path, "/.tmp/") {
			files = append(files, path)
		}
		return err
	}))
	require.GreaterOrEqual(t, len(files), 6)
	dst := p.freshDB(t)
	for _, f := range files {
		rel, _ := filepath.Rel(p.store.Dir(), f)
		wantPart := "manifest"
		if strings.HasPrefix(rel, "data/") {
			wantPart = strings.SplitN(rel, "/", 3)[2]
		}
		t.Run(rel, func(t *testing.T) {
			orig, err := os.ReadFile(f)
			require.NoError(t, err)
			defer os.WriteFile(f, orig, 0o600)
			bad := bytes.Clone(orig)
			bad[len(bad)*2/3] ^= 0x10
			require.NoError(t, os.WriteFile(f, bad, 0o600))
			_, err = eng.Verify(ctx, res.Point.ID)
			var ie *backup.IntegrityError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, wantPart, ie.Part)
			assert.ErrorIs(t, err, backup.ErrIntegrity)
			assert.Equal(t, providers.Internal, providers.Code(err))
			_, err = eng.Restore(ctx, res.Point.ID, backup.Target{Database: p.srv.DSN(dst), Media: filepath.Join(t.TempDir(), "m")})
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, wantPart, ie.Part)
			assert.True(t, dbEmpty(t, p.srv, dst), "target left empty")
		})
	}
	_, err = eng.Verify(ctx, res.Point.ID)
	require.NoError(t, err)
}

func TestWrongKeyWritesNothing(t *testing.T) {
	p := newPGEnv(t)
	ctx := context.Background()
	res, err := p.engine(t, nil).Backup(ctx, backup.Request{})
	require.NoError(t, err)
	other, _ := backup.GenerateKEK("k1")
	otherRing, _ := backup.NewLocalKeyring(other)
	stranger, _ := backup.GenerateKEK("k9")
	strangerRing, _ := backup.NewLocalKeyring(stranger)
	dst := p.freshDB(t)
	for _, kr := range []*backup.LocalKeyring{otherRing, strangerRing} {
		eng, err := backup.NewEngine(p.store, kr, nil)
		require.NoError(t, err)
		media := filepath.Join(t.TempDir(), "m")
		_, err = eng.Restore(ctx, res.Point.ID, backup.Target{Database: p.srv.DSN(dst), Media: media})
		require.ErrorIs(t, err, providers.ErrPermissionDenied)
		assert.Contains(t, err.Error(), "wrong key")
		assert.True(t, dbEmpty(t, p.srv, dst))
		_, statErr := os.Stat(media)
		assert.True(t, os.IsNotExist(statErr), "nothing written to the media target")
		_, err = eng.Verify(ctx, res.Point.ID)
		assert.ErrorIs(t, err, providers.ErrPermissionDenied)
	}
}

func TestKeyRotationRewrapsOnly(t *testing.T) {
	p := newPGEnv(t)
	ctx := context.Background()
	res, err := p.engine(t, nil).Backup(ctx, backup.Request{})
	require.NoError(t, err)
	dataBefore := map[string][]byte{}
	_ = filepath.WalkDir(filepath.Join(p.store.Dir(), "data"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			dataBefore[path], _ = os.ReadFile(path)
		}
		return nil
	})
	k2, _ := backup.GenerateKEK("k2")
	both, err := backup.NewLocalKeyring(k2, p.kek)
	require.NoError(t, err)
	eng, _ := backup.NewEngine(p.store, both, nil)
	rot, err := eng.RotateKeys(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{res.Point.ID}, rot.Rewrapped)
	only2, _ := backup.NewLocalKeyring(k2)
	eng2, _ := backup.NewEngine(p.store, only2, nil)
	_, err = eng2.Verify(ctx, res.Point.ID)
	require.NoError(t, err)
	for path, b := range dataBefore {
		now, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(b, now), "data object %s unchanged", path)
	}
	rot, err = eng2.RotateKeys(ctx)
	require.NoError(t, err)
	assert.Empty(t, rot.Rewrapped)
}

func fmtAll(v any) string { return fmt.Sprintf("%v %+v %#v %s", v, v, v, v) }

func TestCancelAndKillMidBackupLeaveNoPoint(t *testing.T) {
	p := newPGEnv(t)
	for _, mode := range []string{"cancel", "kill"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var fired atomic.Bool
			eng := p.engine(t, func(o *backup.Options) {
				o.Progress = func(pr backup.Progress) {
					if pr.Done > 0 && fired.CompareAndSwap(false, true) {
						if mode == "cancel" {
							cancel()
						} else {
							p.srv.Kill()
						}
					}
				}
			})
			_, err := eng.Backup(ctx, backup.Request{})
			require.Error(t, err)
			if mode == "cancel" {
				assert.True(t, errors.Is(err, context.Canceled) || providers.Code(err) == providers.Canceled, "%v", err)
			}
			pts, err := eng.List(context.Background(), nil)
			require.NoError(t, err)
			assert.Empty(t, pts)
			assert.Zero(t, objectCount(t, p.store.Dir()), "no object left")
			assert.NotContains(t, p.logs.String(), "Sup3rS3cretPW")
		})
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	st, _ := backup.NewDirStore(t.TempDir())
	k, _ := backup.GenerateKEK("k1")
	kr, _ := backup.NewLocalKeyring(k)
	var logs bytes.Buffer
	eng, err := backup.NewEngine(st, kr, &backup.Options{
		Database: "host=127.0.0.1 port=1 user=app password=Sup3rS3cretPW dbname=x sslmode=disable connect_timeout=2",
		Logger:   slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	_, err = eng.Backup(context.Background(), backup.Request{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "Sup3rS3cretPW")
	assert.NotContains(t, logs.String(), "Sup3rS3cretPW")
	_, err = eng.Restore(context.Background(), "20200101T000000Z-00000000", backup.Target{Database: "postgres://u:Sup3rS3cretPW@127.0.0.1:1/x"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "Sup3rS3cretPW")
	enc := string(k.Encode())
	hexKey := enc[strings.Index(enc, " ")+1:]
	for _, s := range []string{k.String(), kr.CurrentKeyID(), err.Error(), logs.String()} {
		assert.NotContains(t, s, hexKey)
	}
	assert.NotContains(t, fmtAll(k), hexKey)
}

// TestHelperBackupProcess is the child of TestKilledProcessLeavesNoPoint: it
// starts a backup and hangs once data flows, waiting to be killed.
func TestHelperBackupProcess(t *testing.T) {
	if os.Getenv("OROCLOUD_BACKUP_HELPER") != "1" {
		t.Skip("helper process of TestKilledProcessLeavesNoPoint")
	}
	st, err := backup.NewDirStore(os.Getenv("OROCLOUD_BACKUP_STORE"))
	require.NoError(t, err)
	kr, err := backup.LoadKeyFile(os.Getenv("OROCLOUD_BACKUP_KEYS"))
	require.NoError(t, err)
	var once sync.Once
	eng, err := backup.NewEngine(st, kr, &backup.Options{Database: os.Getenv("OROCLOUD_BACKUP_DSN"), SegmentSize: 64 << 10, ChunkSize: 4096,
		Progress: func(p backup.Progress) {
			if p.Done > 0 {
				once.Do(func() { fmt.Println("STARTED") })
				select {} // hang mid-backup until killed
			}
		}})
	require.NoError(t, err)
	_, _ = eng.Backup(context.Background(), backup.Request{})
}

func TestKilledProcessLeavesNoPoint(t *testing.T) {
	p := newPGEnv(t)
	keys := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, backup.WriteKeyFile(keys, p.kek))
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBackupProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "OROCLOUD_BACKUP_HELPER=1", "OROCLOUD_BACKUP_STORE="+p.store.Dir(),
		"OROCLOUD_BACKUP_KEYS="+keys, "OROCLOUD_BACKUP_DSN="+p.srv.DSN(p.src))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	started := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "STARTED") {
			started = true
			break
		}
	}
	require.True(t, started, "child started a backup")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	eng := p.engine(t, func(o *backup.Options) { o.LockTTL = time.Nanosecond })
	pts, err := eng.List(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, pts, "a killed backup is not a recovery point")
	objs, err := p.store.List(context.Background(), "manifests/")
	require.NoError(t, err)
	assert.Empty(t, objs)
	res, err := eng.Prune(context.Background(), nil)
	require.NoError(t, err)
	assert.Len(t, res.Abandoned, 1, "its objects are abandoned once the lock is stale")
	objs, err = p.store.List(context.Background(), "")
	require.NoError(t, err)
	assert.Empty(t, objs, "no object left visible")
}

func TestBinaryPointNeedsSameOrNewerMajor(t *testing.T) {
	srv := sharedServer(t)
	ctx := context.Background()
	c, err := srv.Connect(ctx, "postgres")
	require.NoError(t, err)
	defer c.Close(ctx)
	for _, tc := range []struct {
		version string
		binary  bool
		refused bool
	}{
		{"15.18 (Debian 15.18-0+deb12u1)", true, false},
		{"14.2", true, false},
		{"99.1", true, true},
		{"99.1", false, false},
		{"", true, false},
	} {
		err := backup.CheckBinaryTarget(ctx, c, tc.version, tc.binary)
		if !tc.refused {
			assert.NoError(t, err, "%s binary=%t", tc.version, tc.binary)
			continue
		}
		require.Error(t, err, tc.version)
		assert.Equal(t, providers.FailedPrecondition, providers.Code(err))
		assert.Contains(t, err.Error(), "PostgreSQL 99")
		assert.Contains(t, err.Error(), "TextCopy")
	}
}

func TestBinaryFormatOnlyForBuiltinTypes(t *testing.T) {
	p := newPGEnv(t)
	_, err := p.engine(t, nil).Backup(context.Background(), backup.Request{})
	require.NoError(t, err)
	var formats []string
	for _, l := range strings.Split(p.logs.String(), "\n") {
		if strings.Contains(l, "copy format") {
			formats = append(formats, l)
		}
	}
	require.NotEmpty(t, formats, "the engine logs each table's COPY format")
	joined := strings.Join(formats, "\n")
	assert.Regexp(t, `table=app\.profile format=text`, joined, "enum, composite and domain columns stay text")
	assert.Regexp(t, `table=public\.orders format=binary`, joined)
	assert.Regexp(t, `table=public\.customer format=binary`, joined, "jsonb, numeric, text[] are built in")
}

func TestDefaultStreamsForALocalServer(t *testing.T) {
	p := newPGEnv(t)
	eng := p.engine(t, func(o *backup.Options) { o.Parallel = 0 })
	res, err := eng.Backup(context.Background(), backup.Request{})
	require.NoError(t, err)
	want := max(1, runtime.GOMAXPROCS(0)/2)
	assert.Contains(t, p.logs.String(), fmt.Sprintf("streams=%d ", want), "a server on 127.0.0.1 shares this host's CPUs")
	dst := p.freshDB(t)
	_, err = eng.Restore(context.Background(), res.Point.ID, backup.Target{Database: p.srv.DSN(dst)})
	require.NoError(t, err)
	assert.Equal(t, tableSums(t, p.srv, p.src), tableSums(t, p.srv, dst))
}
