package providertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/providers"
)

const testBucket = "conformance-backups"

func (f *fixture) bucket(t *testing.T) string {
	t.Helper()
	require.NoError(t, f.p.CreateBucket(f.ctx, providers.BucketSpec{Name: testBucket, Region: f.cfg.Region, Labels: ours(Env, "backup")}))
	return testBucket
}

func (f *fixture) put(t *testing.T, key, content string) providers.ObjectInfo {
	t.Helper()
	info, err := f.p.PutObject(f.ctx, testBucket, key, strings.NewReader(content), nil)
	require.NoError(t, err, "put %s", key)
	return info
}

func (f *fixture) read(t *testing.T, key string) string {
	t.Helper()
	rc, _, err := f.p.GetObject(f.ctx, testBucket, key)
	require.NoError(t, err, "get %s", key)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b)
}

func bucketTests() []test {
	return []test{
		{"CreateIdempotent", func(t *testing.T, f *fixture) {
			spec := providers.BucketSpec{Name: testBucket, Region: f.cfg.Region, Labels: ours(Env, "backup")}
			require.NoError(t, f.p.CreateBucket(f.ctx, spec))
			require.NoError(t, f.p.CreateBucket(f.ctx, spec), "an existing bucket with our labels returns nil")
		}},
		{"CreateOverForeignAlreadyExists", func(t *testing.T, f *fixture) {
			require.NoError(t, f.p.CreateBucket(f.ctx, providers.BucketSpec{Name: testBucket, Region: f.cfg.Region, Labels: ours("other-env", "backup")}))
			err := f.p.CreateBucket(f.ctx, providers.BucketSpec{Name: testBucket, Region: f.cfg.Region, Labels: ours(Env, "backup")})
			wantCode(t, providers.AlreadyExists, err, "foreign bucket")
		}},
		{"DeleteNonEmptyFailedPrecondition", func(t *testing.T, f *fixture) {
			f.bucket(t)
			f.put(t, "a", "x")
			wantCode(t, providers.FailedPrecondition, f.p.DeleteBucket(f.ctx, testBucket), "DeleteBucket(non-empty)")
			assert.Equal(t, "x", f.read(t, "a"), "the refused delete kept the content")
			require.NoError(t, f.p.DeleteObject(f.ctx, testBucket, "a"))
			require.NoError(t, f.p.DeleteBucket(f.ctx, testBucket))
			wantCode(t, providers.NotFound, f.p.DeleteBucket(f.ctx, testBucket), "DeleteBucket(deleted)")
		}},
		{"DeleteMissingNotFound", func(t *testing.T, f *fixture) {
			wantCode(t, providers.NotFound, f.p.DeleteBucket(f.ctx, "missing-bucket"), "DeleteBucket(missing)")
		}},
	}
}

// failingReader yields n bytes, then fails.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(b []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(b), r.n)
	for i := range k {
		b[i] = 'z'
	}
	r.n -= k
	return k, nil
}

// cancelingReader yields n bytes, canceling ctx after the first read.
type cancelingReader struct {
	n      int
	cancel context.CancelFunc
}

func (r *cancelingReader) Read(b []byte) (int, error) {
	r.cancel()
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(b), r.n)
	for i := range k {
		b[i] = 'c'
	}
	r.n -= k
	return k, nil
}

func objectTests() []test {
	return []test{
		{"PutGetRoundTrip", func(t *testing.T, f *fixture) {
			f.bucket(t)
			info, err := f.p.PutObject(f.ctx, testBucket, "db/2026-01-01.dump", strings.NewReader("hello backup"),
				&providers.PutOptions{ContentType: "application/octet-stream", Metadata: map[string]string{"point": "p1"}})
			require.NoError(t, err)
			assert.Equal(t, int64(len("hello backup")), info.Size)
			assert.Equal(t, "db/2026-01-01.dump", info.Key)
			assert.Equal(t, testBucket, info.Bucket)
			rc, got, err := f.p.GetObject(f.ctx, testBucket, "db/2026-01-01.dump")
			require.NoError(t, err)
			b, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			assert.Equal(t, "hello backup", string(b))
			assert.Equal(t, info.Size, got.Size)
			assert.Equal(t, "p1", got.Metadata["point"])
		}},
		{"PutMissingBucketNotFound", func(t *testing.T, f *fixture) {
			_, err := f.p.PutObject(f.ctx, "missing-bucket", "k", strings.NewReader("x"), nil)
			wantCode(t, providers.NotFound, err, "PutObject(missing bucket)")
		}},
		{"PutReplacesObject", func(t *testing.T, f *fixture) {
			f.bucket(t)
			f.put(t, "k", "one")
			f.put(t, "k", "two-two")
			assert.Equal(t, "two-two", f.read(t, "k"))
			info, err := f.p.StatObject(f.ctx, testBucket, "k")
			require.NoError(t, err)
			assert.Equal(t, int64(7), info.Size)
		}},
		{"PutReaderErrorLeavesNoObject", func(t *testing.T, f *fixture) {
			f.bucket(t)
			boom := errors.New("disk read error")
			_, err := f.p.PutObject(f.ctx, testBucket, "new", &failingReader{n: 200 << 10, err: boom}, nil)
			require.Error(t, err)
			_, err = f.p.StatObject(f.ctx, testBucket, "new")
			wantCode(t, providers.NotFound, err, "StatObject after failed put")
			list, err := f.p.ListObjects(f.ctx, testBucket, "")
			require.NoError(t, err)
			assert.Empty(t, list, "a failed put is not listed")
		}},
		{"PutReaderErrorKeepsPreviousObject", func(t *testing.T, f *fixture) {
			f.bucket(t)
			f.put(t, "k", "previous")
			_, err := f.p.PutObject(f.ctx, testBucket, "k", &failingReader{n: 200 << 10, err: errors.New("network reset")}, nil)
			require.Error(t, err)
			assert.Equal(t, "previous", f.read(t, "k"))
		}},
		{"PutCanceledMidwayLeavesNoObject", func(t *testing.T, f *fixture) {
			f.bucket(t)
			f.put(t, "k", "previous")
			ctx, cancel := context.WithCancel(f.ctx)
			defer cancel()
			_, err := f.p.PutObject(ctx, testBucket, "k", &cancelingReader{n: 512 << 10, cancel: cancel}, nil)
			require.Error(t, err)
			_, err = f.p.PutObject(ctx, testBucket, "other", &cancelingReader{n: 512 << 10, cancel: cancel}, nil)
			require.Error(t, err)
			assert.Equal(t, "previous", f.read(t, "k"))
			_, err = f.p.StatObject(f.ctx, testBucket, "other")
			wantCode(t, providers.NotFound, err, "StatObject after canceled put")
		}},
		{"PutIfNotExists", func(t *testing.T, f *fixture) {
			f.bucket(t)
			_, err := f.p.PutObject(f.ctx, testBucket, "manifest", strings.NewReader("v1"), &providers.PutOptions{IfNotExists: true})
			require.NoError(t, err)
			_, err = f.p.PutObject(f.ctx, testBucket, "manifest", strings.NewReader("v2"), &providers.PutOptions{IfNotExists: true})
			wantCode(t, providers.AlreadyExists, err, "PutObject(IfNotExists) over an existing key")
			assert.Equal(t, "v1", f.read(t, "manifest"))
		}},
		{"ListByPrefixSorted", func(t *testing.T, f *fixture) {
			f.bucket(t)
			for _, k := range []string{"points/b/manifest", "points/a/data", "points/a/manifest", "pointsx", "other/a"} {
				f.put(t, k, k)
			}
			list, err := f.p.ListObjects(f.ctx, testBucket, "points/")
			require.NoError(t, err)
			var keys []string
			for _, o := range list {
				keys = append(keys, o.Key)
				assert.Equal(t, int64(len(o.Key)), o.Size, o.Key)
			}
			assert.Equal(t, []string{"points/a/data", "points/a/manifest", "points/b/manifest"}, keys)
			all, err := f.p.ListObjects(f.ctx, testBucket, "")
			require.NoError(t, err)
			assert.Len(t, all, 5)
			none, err := f.p.ListObjects(f.ctx, testBucket, "nothing/")
			require.NoError(t, err)
			assert.Empty(t, none)
		}},
		{"ListMissingBucketNotFound", func(t *testing.T, f *fixture) {
			_, err := f.p.ListObjects(f.ctx, "missing-bucket", "")
			wantCode(t, providers.NotFound, err, "ListObjects(missing bucket)")
		}},
		{"KeysWithSlashes", func(t *testing.T, f *fixture) {
			f.bucket(t)
			key := "env/acme-prod/2026/01/01/db.dump.enc"
			f.put(t, key, "nested")
			assert.Equal(t, "nested", f.read(t, key))
			info, err := f.p.StatObject(f.ctx, testBucket, key)
			require.NoError(t, err)
			assert.Equal(t, key, info.Key)
		}},
		{"StatAndMissing", func(t *testing.T, f *fixture) {
			f.bucket(t)
			put := f.put(t, "k", "12345")
			info, err := f.p.StatObject(f.ctx, testBucket, "k")
			require.NoError(t, err)
			assert.Equal(t, int64(5), info.Size)
			assert.Equal(t, put.ETag, info.ETag)
			_, err = f.p.StatObject(f.ctx, testBucket, "missing")
			wantCode(t, providers.NotFound, err, "StatObject(missing)")
			_, _, err = f.p.GetObject(f.ctx, testBucket, "missing")
			wantCode(t, providers.NotFound, err, "GetObject(missing)")
			_, _, err = f.p.GetObject(f.ctx, "missing-bucket", "k")
			wantCode(t, providers.NotFound, err, "GetObject(missing bucket)")
		}},
		{"DeleteObject", func(t *testing.T, f *fixture) {
			f.bucket(t)
			f.put(t, "k", "x")
			require.NoError(t, f.p.DeleteObject(f.ctx, testBucket, "k"))
			_, err := f.p.StatObject(f.ctx, testBucket, "k")
			wantCode(t, providers.NotFound, err, "StatObject after delete")
			wantCode(t, providers.NotFound, f.p.DeleteObject(f.ctx, testBucket, "k"), "DeleteObject(missing)")
		}},
		{"EmptyObject", func(t *testing.T, f *fixture) {
			f.bucket(t)
			info := f.put(t, "empty", "")
			assert.Equal(t, int64(0), info.Size)
			assert.Equal(t, "", f.read(t, "empty"))
		}},
		{"LargeObjectRoundTrip", func(t *testing.T, f *fixture) {
			if f.cfg.LargeObjectSize < 0 {
				t.Skip("large objects disabled by the harness")
			}
			f.bucket(t)
			size := f.cfg.LargeObjectSize
			want := sha256.New()
			src := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{1, 2, 3}), size), want)
			info, err := f.p.PutObject(f.ctx, testBucket, "large/blob", src, nil)
			require.NoError(t, err)
			assert.Equal(t, size, info.Size)
			rc, got, err := f.p.GetObject(f.ctx, testBucket, "large/blob")
			require.NoError(t, err)
			defer rc.Close()
			assert.Equal(t, size, got.Size)
			h := sha256.New()
			n, err := io.Copy(h, rc)
			require.NoError(t, err)
			assert.Equal(t, size, n)
			assert.True(t, bytes.Equal(want.Sum(nil), h.Sum(nil)), "content differs after round trip")
		}},
	}
}
