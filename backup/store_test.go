package backup_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/backup"
	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

func stores(t *testing.T) map[string]backup.Store {
	t.Helper()
	dir, err := backup.NewDirStore(t.TempDir())
	require.NoError(t, err)
	mem := memory.New(nil)
	require.NoError(t, mem.CreateBucket(context.Background(), providers.BucketSpec{Name: "backups", Region: "europe-west3"}))
	obj, err := backup.NewObjectStore(mem, "backups", "acme/")
	require.NoError(t, err)
	return map[string]backup.Store{"dir": dir, "object": obj}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("source broke")
	}
	m := min(len(p), f.n)
	f.n -= m
	return m, nil
}

func TestStoreContract(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			n, err := st.Put(ctx, "data/a/x", strings.NewReader("hello"))
			require.NoError(t, err)
			assert.EqualValues(t, 5, n)
			_, err = st.Put(ctx, "data/b/y", strings.NewReader("world!"))
			require.NoError(t, err)
			rc, err := st.Get(ctx, "data/a/x")
			require.NoError(t, err)
			b, _ := io.ReadAll(rc)
			rc.Close()
			assert.Equal(t, "hello", string(b))
			ls, err := st.List(ctx, "data/")
			require.NoError(t, err)
			assert.Equal(t, []backup.ObjectInfo{{Key: "data/a/x", Size: 5}, {Key: "data/b/y", Size: 6}}, ls)
			ls, err = st.List(ctx, "data/a")
			require.NoError(t, err)
			assert.Len(t, ls, 1)

			// A failing or canceled write leaves nothing visible and keeps the old object.
			_, err = st.Put(ctx, "data/a/x", &failingReader{n: 3})
			require.Error(t, err)
			_, err = st.Put(ctx, "data/c/z", &failingReader{n: 1 << 20})
			require.Error(t, err)
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err = st.Put(cctx, "data/c/w", strings.NewReader("x"))
			require.Error(t, err)
			ls, _ = st.List(ctx, "")
			assert.Len(t, ls, 2)
			rc, _ = st.Get(ctx, "data/a/x")
			b, _ = io.ReadAll(rc)
			rc.Close()
			assert.Equal(t, "hello", string(b))

			_, err = st.Get(ctx, "nope")
			assert.ErrorIs(t, err, providers.ErrNotFound)
			require.NoError(t, st.Delete(ctx, "data/a/x"))
			assert.ErrorIs(t, st.Delete(ctx, "data/a/x"), providers.ErrNotFound)
		})
	}
	d, _ := backup.NewDirStore(t.TempDir())
	for _, bad := range []string{"", "../x", "/abs", "a/../../b", ".tmp/x"} {
		_, err := d.Put(context.Background(), bad, strings.NewReader(""))
		assert.ErrorIs(t, err, providers.ErrInvalidArgument, bad)
	}
	_, err := backup.NewObjectStore(nil, "", "x")
	require.Error(t, err)
	for _, f := range []string{"storage", "bucket", "prefix"} {
		assert.Contains(t, err.Error(), f)
	}
}

func newKeyring(t *testing.T, id string) (*backup.LocalKeyring, backup.KEK) {
	t.Helper()
	k, err := backup.GenerateKEK(id)
	require.NoError(t, err)
	kr, err := backup.NewLocalKeyring(k)
	require.NoError(t, err)
	return kr, k
}

func mediaDir(t *testing.T, files map[string]string) string {
	t.Helper()
	d := t.TempDir()
	for n, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(d, filepath.Dir(n)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, n), []byte(c), 0o644))
	}
	return d
}

// Media-only engines exercise everything but PostgreSQL on both stores.
func TestMediaBackupOnEveryStore(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			kr, _ := newKeyring(t, "k1")
			media := mediaDir(t, map[string]string{"a/b.txt": strings.Repeat("b", 300000), "c.txt": "c"})
			eng, err := backup.NewEngine(st, kr, &backup.Options{Media: media, ChunkSize: 4096})
			require.NoError(t, err)
			res, err := eng.Backup(ctx, backup.Request{CodeRef: "git:abc"})
			require.NoError(t, err)
			_, err = eng.Verify(ctx, res.Point.ID)
			require.NoError(t, err)
			out := filepath.Join(t.TempDir(), "restored")
			_, err = eng.Restore(ctx, res.Point.ID, backup.Target{Media: out})
			require.NoError(t, err)
			b, err := os.ReadFile(filepath.Join(out, "a", "b.txt"))
			require.NoError(t, err)
			assert.Len(t, b, 300000)
			// The point has no database.
			_, err = eng.Restore(ctx, res.Point.ID, backup.Target{Database: "host=127.0.0.1 port=1"})
			assert.ErrorIs(t, err, providers.ErrFailedPrecondition)
			// Nor a code archive (only the code reference): the error names
			// the missing part as data.
			_, err = eng.Restore(ctx, res.Point.ID, backup.Target{Media: filepath.Join(t.TempDir(), "m"), Code: filepath.Join(t.TempDir(), "code")})
			assert.ErrorIs(t, err, providers.ErrFailedPrecondition)
			var missing *backup.MissingPartError
			require.ErrorAs(t, err, &missing)
			assert.Equal(t, "code", missing.Part)
			assert.Equal(t, res.Point.ID, missing.Point)
		})
	}
}

func TestPruneByPolicyWithLocks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := backup.NewDirStore(dir)
	require.NoError(t, err)
	kr, _ := newKeyring(t, "k1")
	clk := clock.NewFake(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	media := mediaDir(t, map[string]string{"x": "y"})
	eng, err := backup.NewEngine(st, kr, &backup.Options{Media: media, Clock: clk})
	require.NoError(t, err)
	// 8 days of points every 2 hours: Nov 1 00:00 .. Nov 8 22:00; now Nov 9 00:00.
	for range 8 * 12 {
		_, err := eng.Backup(ctx, backup.Request{})
		require.NoError(t, err)
		clk.Advance(2 * time.Hour)
	}
	pts, err := eng.List(ctx, nil)
	require.NoError(t, err)
	require.Len(t, pts, 96)
	assert.True(t, pts[0].Time.After(pts[1].Time), "newest first")
	assert.Contains(t, pts[0].Tiers, backup.Hourly)

	// An unfinished backup in progress (fresh lock) and an abandoned one.
	inProgress := "20261108T230000Z-0000aaaa"
	abandoned := "20261101T000000Z-0000bbbb"
	for _, k := range []string{"data/" + inProgress + "/media", "data/" + abandoned + "/media"} {
		_, err := st.Put(ctx, k, strings.NewReader("partial"))
		require.NoError(t, err)
	}
	_, err = st.Put(ctx, "locks/"+inProgress, strings.NewReader(`{"id":"`+inProgress+`","started":"`+clk.Now().Add(-time.Minute).Format(time.RFC3339)+`"}`))
	require.NoError(t, err)

	dry, err := eng.Prune(ctx, &backup.PruneOptions{DryRun: true})
	require.NoError(t, err)
	assert.True(t, dry.DryRun)
	// Hourly: strictly newer than Nov 2 00:00, so Nov 2 02:00 .. Nov 8 22:00
	// (83 points); weekly: Nov 8 22:00 (also hourly) and Nov 1 22:00.
	assert.Equal(t, 84, len(dry.Kept))
	assert.Equal(t, "20261101T220000Z", dry.Kept[len(dry.Kept)-1].ID[:16])
	assert.Equal(t, []backup.Reason{backup.ReasonWeekly}, dry.Kept[len(dry.Kept)-1].Reasons)
	assert.Equal(t, 12, len(dry.Expired))
	assert.Equal(t, []string{inProgress}, dry.InProgress)
	assert.Equal(t, []string{abandoned}, dry.Abandoned)
	pts2, _ := eng.List(ctx, nil)
	assert.Equal(t, 96, len(pts2), "dry run deletes nothing")

	res, err := eng.Prune(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, len(dry.Expired), len(res.Expired))
	pts2, _ = eng.List(ctx, nil)
	assert.Equal(t, len(dry.Kept), len(pts2))
	_, err = os.Stat(filepath.Join(dir, "data", abandoned))
	assert.True(t, os.IsNotExist(err))
	_, err = os.Stat(filepath.Join(dir, "data", inProgress, "media"))
	assert.NoError(t, err, "a point being written is never touched")
	// Its lock goes stale after LockTTL: then it is abandoned.
	clk.Advance(25 * time.Hour)
	res, err = eng.Prune(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{inProgress}, res.Abandoned)
	for _, p := range res.Expired {
		_, err := os.Stat(filepath.Join(dir, "data", p.ID))
		assert.True(t, os.IsNotExist(err))
	}
}

func TestSchedulerBacksUpAtPolicyTimesAndPrunes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, _ := backup.NewDirStore(t.TempDir())
	kr, _ := newKeyring(t, "k1")
	start := time.Date(2026, 11, 1, 0, 30, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	eng, err := backup.NewEngine(st, kr, &backup.Options{Media: mediaDir(t, map[string]string{"x": "y"}), Clock: clk})
	require.NoError(t, err)
	backups := make(chan time.Time, 10)
	prunes := make(chan struct{}, 10)
	s, err := backup.NewScheduler(eng, &backup.SchedulerOptions{
		Request:  func(at time.Time) backup.Request { return backup.Request{CodeRef: at.Format(time.RFC3339)} },
		OnBackup: func(r *backup.BackupResult, err error) { require.NoError(t, err); backups <- r.Point.Time },
		OnPrune:  func(_ *backup.PruneResult, err error) { require.NoError(t, err); prunes <- struct{}{} },
	})
	require.NoError(t, err)
	assert.Equal(t, start.Add(30*time.Minute), s.Next())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for i := range 3 {
		require.Eventually(t, func() bool { return clk.Waiters() == 1 }, 5*time.Second, time.Millisecond)
		clk.Advance(time.Hour)
		at := <-backups
		<-prunes
		assert.Equal(t, start.Add(time.Duration(i+1)*time.Hour), at)
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	pts, err := eng.List(context.Background(), nil)
	require.NoError(t, err)
	assert.Len(t, pts, 3)
	_, err = backup.NewScheduler(nil, nil)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	k1, _ := backup.GenerateKEK("k1")
	k2, _ := backup.GenerateKEK("k2")
	path := filepath.Join(dir, "keys")
	require.NoError(t, backup.WriteKeyFile(path, k2, k1))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	kr, err := backup.LoadKeyFile(path)
	require.NoError(t, err)
	assert.Equal(t, "k2", kr.CurrentKeyID())
	assert.ErrorIs(t, backup.WriteKeyFile(path, k1), providers.ErrAlreadyExists)

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = backup.LoadKeyFile(path)
	require.ErrorIs(t, err, providers.ErrPermissionDenied)
	assert.Contains(t, err.Error(), "chmod 600")

	bad := filepath.Join(dir, "bad")
	secretish := strings.Repeat("zz", 32)
	require.NoError(t, os.WriteFile(bad, []byte("k1 "+secretish+"\nonlyone\n"), 0o600))
	_, err = backup.LoadKeyFile(bad)
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "line 1")
	assert.Contains(t, err.Error(), "line 2")
	assert.NotContains(t, err.Error(), secretish)
	_, err = backup.LoadKeyFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, providers.ErrNotFound)

	enc := string(k1.Encode())
	t.Setenv("OROCLOUD_TEST_KEYS", strings.Replace(enc, " ", ":", 1))
	kr, err = backup.KeyringFromEnv("OROCLOUD_TEST_KEYS")
	require.NoError(t, err)
	assert.Equal(t, "k1", kr.CurrentKeyID())
	t.Setenv("OROCLOUD_TEST_KEYS", enc[3:])
	kr, err = backup.KeyringFromEnv("OROCLOUD_TEST_KEYS")
	require.NoError(t, err)
	assert.Equal(t, "env", kr.CurrentKeyID())
	t.Setenv("OROCLOUD_TEST_KEYS", "k:nothex")
	_, err = backup.KeyringFromEnv("OROCLOUD_TEST_KEYS")
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = backup.KeyringFromEnv("OROCLOUD_TEST_UNSET_VAR")
	assert.ErrorIs(t, err, providers.ErrNotFound)

	assert.NotContains(t, fmtAll(k1), enc[3:])
	_, err = backup.NewKEK("", []byte{1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "id")
	assert.Contains(t, err.Error(), "key")
	_, err = backup.NewLocalKeyring(k1, k1)
	assert.ErrorContains(t, err, "twice")
}

func TestNewEngineBadInput(t *testing.T) {
	bad := backup.Policy{}
	_, err := backup.NewEngine(nil, nil, &backup.Options{Parallel: -1, ChunkSize: -1, SegmentSize: -1, LockTTL: -1, Policy: &bad})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	for _, f := range []string{"store", "keys", "Parallel", "ChunkSize", "SegmentSize", "LockTTL", "Policy"} {
		assert.Contains(t, err.Error(), f)
	}
	st, _ := backup.NewDirStore(t.TempDir())
	kr, _ := newKeyring(t, "k1")
	eng, err := backup.NewEngine(st, kr, nil)
	require.NoError(t, err)
	_, err = eng.Backup(context.Background(), backup.Request{})
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = eng.Restore(context.Background(), "x", backup.Target{})
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	//nolint:staticcheck // a nil context is bad input that must not panic
	_, err = eng.Backup(nil, backup.Request{CodeRef: "x"})
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	_ = bytes.MinRead
}
