package backup

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/orocloud/orocloud-go/providers"
)

// Store is the driver a backup repository lives on. Keys are slash-separated
// paths (see the layout in layout.go). Implementations: DirStore (a local
// directory, the default) and ObjectStore (a bucket of any provider's
// object storage).
type Store interface {
	// Put streams r into key. The object becomes visible to Get and List
	// only when r has been read to io.EOF and the write succeeded: an error
	// from r, or a canceled ctx, leaves nothing visible and no change to an
	// existing object at key. It returns the number of bytes stored.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Get returns a stream of the object, which the caller closes. A missing
	// object returns an error for which Code is NotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the objects whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes the object. A missing object returns NotFound.
	Delete(ctx context.Context, key string) error
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key  string
	Size int64
}

// DirStore is a Store in a local directory. Put writes to a temporary file
// in the store's ".tmp" directory, syncs it, and renames it into place, so
// an interrupted write (even a killed process) never leaves a partial object
// visible.
type DirStore struct {
	root string
}

const dirTmp = ".tmp"

// NewDirStore opens (creating it with mode 0700 if needed) the directory dir
// as a store.
func NewDirStore(dir string) (*DirStore, error) {
	if dir == "" {
		return nil, providers.Errorf(providers.InvalidArgument, "backup.NewDirStore: dir is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, providers.Wrap(err, providers.InvalidArgument, "backup.NewDirStore", dir)
	}
	if err := os.MkdirAll(filepath.Join(abs, dirTmp), 0o700); err != nil {
		return nil, providers.Wrap(err, providers.Internal, "backup.NewDirStore", dir)
	}
	return &DirStore{root: abs}, nil
}

// Dir returns the store's directory.
func (s *DirStore) Dir() string { return s.root }

func (s *DirStore) path(op, key string) (string, error) {
	clean := filepath.ToSlash(filepath.Clean(key))
	if key == "" || clean != key || strings.HasPrefix(key, "/") || strings.HasPrefix(key, "../") || key == ".." ||
		strings.HasPrefix(key, dirTmp+"/") || key == dirTmp {
		return "", providers.Errorf(providers.InvalidArgument, "%s: invalid key %q", op, key)
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Put implements Store.
func (s *DirStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	const op = "backup.DirStore.Put"
	dst, err := s.path(op, key)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(filepath.Join(s.root, dirTmp), "put-*")
	if err != nil {
		return 0, providers.Wrap(err, providers.Internal, op, key)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	n, err := io.Copy(&writebackFile{f: f}, ctxReader{ctx, r})
	if err != nil {
		return n, providers.Wrap(err, providers.Internal, op, key)
	}
	if err := f.Sync(); err != nil {
		return n, providers.Wrap(err, providers.Internal, op, key)
	}
	if err := f.Close(); err != nil {
		return n, providers.Wrap(err, providers.Internal, op, key)
	}
	if err := ctx.Err(); err != nil {
		return n, providers.Wrap(err, providers.Canceled, op, key)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return n, providers.Wrap(err, providers.Internal, op, key)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return n, providers.Wrap(err, providers.Internal, op, key)
	}
	ok = true
	if d, err := os.Open(filepath.Dir(dst)); err == nil { // make the rename durable
		_ = d.Sync()
		_ = d.Close()
	}
	return n, nil
}

// writebackFile starts the writeback of every 16 MiB written.
type writebackFile struct {
	f       *os.File
	off     int64
	flushed int64
}

func (w *writebackFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.flushed >= 16<<20 {
		startWriteback(w.f, w.flushed, w.off-w.flushed)
		w.flushed = w.off
	}
	return n, err
}

// Get implements Store.
func (s *DirStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	const op = "backup.DirStore.Get"
	p, err := s.path(op, key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, providers.Wrap(err, providers.Canceled, op, key)
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: key, Msg: "no such object"}
	}
	if err != nil {
		return nil, providers.Wrap(err, providers.Internal, op, key)
	}
	return f, nil
}

// List implements Store.
func (s *DirStore) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	const op = "backup.DirStore.List"
	// Walk only the deepest directory the prefix names.
	start := s.root
	if i := strings.LastIndex(prefix, "/"); i > 0 {
		start = filepath.Join(s.root, filepath.FromSlash(prefix[:i]))
	}
	var out []ObjectInfo
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == dirTmp {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(rel, prefix) || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		out = append(out, ObjectInfo{Key: rel, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, providers.Wrap(err, providers.Internal, op, prefix)
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete implements Store. Directories left empty are removed.
func (s *DirStore) Delete(ctx context.Context, key string) error {
	const op = "backup.DirStore.Delete"
	p, err := s.path(op, key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &providers.Error{Code: providers.NotFound, Op: op, Resource: key, Msg: "no such object"}
		}
		return providers.Wrap(err, providers.Internal, op, key)
	}
	for d := filepath.Dir(p); d != s.root && strings.HasPrefix(d, s.root); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// ObjectStore is a Store in a bucket of a provider's object storage, under
// an optional key prefix. The provider's PutObject contract (visible only
// when complete) gives the same atomicity as DirStore.
type ObjectStore struct {
	os     providers.ObjectStorage
	bucket string
	prefix string
}

// NewObjectStore returns a store over bucket of os, with every key under
// prefix ("" or a path ending in "/", such as "acme-prod/").
func NewObjectStore(os providers.ObjectStorage, bucket, prefix string) (*ObjectStore, error) {
	var errs []string
	if os == nil {
		errs = append(errs, "storage: must not be nil")
	}
	if bucket == "" {
		errs = append(errs, "bucket: is required")
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		errs = append(errs, "prefix: must be empty or end with \"/\"")
	}
	if len(errs) > 0 {
		return nil, invalid("backup.NewObjectStore", errs)
	}
	return &ObjectStore{os: os, bucket: bucket, prefix: prefix}, nil
}

// Put implements Store.
func (s *ObjectStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	info, err := s.os.PutObject(ctx, s.bucket, s.prefix+key, r, &providers.PutOptions{ContentType: "application/octet-stream"})
	return info.Size, err
}

// Get implements Store.
func (s *ObjectStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, _, err := s.os.GetObject(ctx, s.bucket, s.prefix+key)
	return rc, err
}

// List implements Store.
func (s *ObjectStore) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	objs, err := s.os.ListObjects(ctx, s.bucket, s.prefix+prefix)
	if err != nil {
		return nil, err
	}
	out := make([]ObjectInfo, 0, len(objs))
	for _, o := range objs {
		out = append(out, ObjectInfo{Key: strings.TrimPrefix(o.Key, s.prefix), Size: o.Size})
	}
	return out, nil
}

// Delete implements Store.
func (s *ObjectStore) Delete(ctx context.Context, key string) error {
	return s.os.DeleteObject(ctx, s.bucket, s.prefix+key)
}
