package memory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/orocloud/orocloud-go/providers"
)

type bucket struct {
	spec    providers.BucketSpec
	objects map[string]*object
}

// object is an immutable stored object: a replaced object gets a new
// *object, so readers of the old one keep a consistent snapshot.
type object struct {
	info   providers.ObjectInfo
	chunks [][]byte
}

const (
	firstChunk = 32 << 10
	maxChunk   = 1 << 20
)

func cloneInfo(i providers.ObjectInfo) providers.ObjectInfo {
	i.Metadata = maps.Clone(i.Metadata)
	return i
}

// validBucketName: 3-63 lower case letters, digits, '-', '_' or '.',
// starting and ending with a letter or digit (valid on GCS and OCI).
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i, c := range []byte(name) {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && ((i == 0 || i == len(name)-1) || (c != '-' && c != '_' && c != '.')) {
			return false
		}
	}
	return true
}

func checkKey(key string) []string {
	switch {
	case key == "":
		return []string{"key: must not be empty"}
	case len(key) > 1024:
		return []string{"key: must be at most 1024 bytes"}
	case !utf8.ValidString(key):
		return []string{"key: must be valid UTF-8"}
	}
	return nil
}

// bucketRegion resolves the region of a bucket for region outages; called
// under the lock by begin.
func (p *Provider) bucketRegion(name string) func() string {
	return func() string {
		if b := p.buckets[name]; b != nil {
			return b.spec.Region
		}
		return ""
	}
}

func (p *Provider) bucketLocked(op, name string) (*bucket, error) {
	b := p.buckets[name]
	if b == nil {
		return nil, notFound(op, name, "bucket")
	}
	return b, nil
}

// CreateBucket creates the bucket. Bucket names are global. Region "" makes
// a multi-region bucket, which no region outage affects; any other region
// must be one of the provider's.
func (p *Provider) CreateBucket(ctx context.Context, spec providers.BucketSpec) (err error) {
	defer p.lost(mCreateBucket, &err)
	const op = "memory.CreateBucket"
	if err := p.begin(ctx, mCreateBucket, spec.Region, spec.Name, nil); err != nil {
		return err
	}
	var problems []string
	if !validBucketName(spec.Name) {
		problems = append(problems, fmt.Sprintf("name: %q must be 3-63 lower case letters, digits, '-', '_' or '.', starting and ending with a letter or digit", spec.Name))
	}
	problems = checkLabels(problems, "labels", spec.Labels)
	if len(problems) > 0 {
		return invalid(op, spec.Name, problems)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if spec.Region != "" {
		if _, err := p.regionLocked(op, spec.Region); err != nil {
			return err
		}
	}
	if existing := p.buckets[spec.Name]; existing != nil {
		if !sameOwner(existing.spec.Labels, spec.Labels) {
			return alreadyExists(op, spec.Name, "a bucket of that name exists and belongs to another owner or environment")
		}
		return nil
	}
	spec.Labels = spec.Labels.Clone()
	p.buckets[spec.Name] = &bucket{spec: spec, objects: map[string]*object{}}
	return nil
}

// DeleteBucket deletes an empty bucket.
func (p *Provider) DeleteBucket(ctx context.Context, name string) (err error) {
	defer p.lost(mDeleteBucket, &err)
	const op = "memory.DeleteBucket"
	if err := p.begin(ctx, mDeleteBucket, "", name, p.bucketRegion(name)); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := p.bucketLocked(op, name)
	if err != nil {
		return err
	}
	if len(b.objects) > 0 {
		return &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: name, Msg: fmt.Sprintf("bucket is not empty (%d objects)", len(b.objects))}
	}
	delete(p.buckets, name)
	return nil
}

// PutObject streams r into chunks of growing size (32 KiB up to 1 MiB) that
// are stored as read, without a second copy, and publishes the object only
// once r returned io.EOF and ctx is still live. The ETag is the hex SHA-256
// of the content.
func (p *Provider) PutObject(ctx context.Context, bucketName, key string, r io.Reader, opts *providers.PutOptions) (_ providers.ObjectInfo, err error) {
	defer p.lost(mPutObject, &err)
	const op = "memory.PutObject"
	res := bucketName + "/" + key
	if err := p.begin(ctx, mPutObject, "", res, p.bucketRegion(bucketName)); err != nil {
		return providers.ObjectInfo{}, err
	}
	problems := checkKey(key)
	if r == nil {
		problems = append(problems, "reader: must not be nil")
	}
	if len(problems) > 0 {
		return providers.ObjectInfo{}, invalid(op, res, problems)
	}
	var o providers.PutOptions
	if opts != nil {
		o = *opts
	}
	// Fail fast before reading the stream; checked again at commit.
	if err := p.checkPut(op, bucketName, key, o.IfNotExists); err != nil {
		return providers.ObjectInfo{}, err
	}
	chunks, size, sum, err := readChunks(ctx, r)
	if err != nil {
		if ctx.Err() != nil {
			return providers.ObjectInfo{}, providers.Wrap(ctx.Err(), providers.Canceled, op, res)
		}
		return providers.ObjectInfo{}, &providers.Error{Code: providers.Code(err), Op: op, Resource: res, Msg: "reading the content failed; nothing was stored", Err: err}
	}
	md := maps.Clone(o.Metadata)
	if o.ContentType != "" {
		if md == nil {
			md = map[string]string{}
		}
		if _, set := md["content-type"]; !set {
			md["content-type"] = o.ContentType
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return providers.ObjectInfo{}, providers.Wrap(err, providers.Canceled, op, res)
	}
	b, err := p.bucketLocked(op, bucketName)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	if o.IfNotExists && b.objects[key] != nil {
		return providers.ObjectInfo{}, alreadyExists(op, res, "object exists (IfNotExists)")
	}
	obj := &object{
		info:   providers.ObjectInfo{Bucket: bucketName, Key: key, Size: size, ETag: sum, Updated: p.clk.Now(), Metadata: md},
		chunks: chunks,
	}
	b.objects[key] = obj
	return cloneInfo(obj.info), nil
}

func (p *Provider) checkPut(op, bucketName, key string, ifNotExists bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := p.bucketLocked(op, bucketName)
	if err != nil {
		return err
	}
	if ifNotExists && b.objects[key] != nil {
		return alreadyExists(op, bucketName+"/"+key, "object exists (IfNotExists)")
	}
	return nil
}

// readChunks reads r to EOF into freshly allocated chunks, hashing as it
// goes; ctx is checked between chunks.
func readChunks(ctx context.Context, r io.Reader) ([][]byte, int64, string, error) {
	h := sha256.New()
	var chunks [][]byte
	var size int64
	n := firstChunk
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, "", err
		}
		buf := make([]byte, n)
		got, err := io.ReadFull(r, buf)
		if got > 0 {
			c := buf[:got:got]
			if got < n/4 {
				c = slices.Clone(c) // a small tail: do not pin a mostly empty buffer
			}
			chunks = append(chunks, c)
			h.Write(c)
			size += int64(got)
		}
		switch {
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			if err := ctx.Err(); err != nil {
				return nil, 0, "", err
			}
			return chunks, size, hex.EncodeToString(h.Sum(nil)), nil
		case err != nil:
			return nil, 0, "", err
		}
		if n < maxChunk {
			n *= 2
		}
	}
}

func (p *Provider) objectLocked(op, bucketName, key string) (*object, error) {
	b, err := p.bucketLocked(op, bucketName)
	if err != nil {
		return nil, err
	}
	o := b.objects[key]
	if o == nil {
		return nil, notFound(op, bucketName+"/"+key, "object")
	}
	return o, nil
}

// GetObject returns a reader over the stored chunks (no copy of the
// object); it reads the version current at the call even if the key is
// replaced or deleted meanwhile, and fails once ctx is done.
func (p *Provider) GetObject(ctx context.Context, bucketName, key string) (io.ReadCloser, providers.ObjectInfo, error) {
	const op = "memory.GetObject"
	res := bucketName + "/" + key
	if err := p.begin(ctx, mGetObject, "", res, p.bucketRegion(bucketName)); err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	o, err := p.objectLocked(op, bucketName, key)
	if err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	return &objectReader{ctx: ctx, chunks: o.chunks, res: res}, cloneInfo(o.info), nil
}

type objectReader struct {
	ctx    context.Context
	chunks [][]byte
	off    int
	res    string
	closed bool
}

func (r *objectReader) check() error {
	if r.closed {
		return &providers.Error{Code: providers.FailedPrecondition, Op: "memory.GetObject", Resource: r.res, Msg: "read after Close"}
	}
	if err := r.ctx.Err(); err != nil {
		return providers.Wrap(err, providers.Canceled, "memory.GetObject", r.res)
	}
	return nil
}

// Read implements io.Reader.
func (r *objectReader) Read(b []byte) (int, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(b, r.chunks[0][r.off:])
	r.off += n
	if r.off == len(r.chunks[0]) {
		r.chunks, r.off = r.chunks[1:], 0
	}
	return n, nil
}

// WriteTo writes the chunks straight to w, so io.Copy needs no buffer.
func (r *objectReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for len(r.chunks) > 0 {
		if err := r.check(); err != nil {
			return total, err
		}
		n, err := w.Write(r.chunks[0][r.off:])
		total += int64(n)
		r.off += n
		if r.off == len(r.chunks[0]) {
			r.chunks, r.off = r.chunks[1:], 0
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Close releases the reader; later reads fail.
func (r *objectReader) Close() error {
	r.closed = true
	r.chunks = nil
	return nil
}

// StatObject returns the object's info.
func (p *Provider) StatObject(ctx context.Context, bucketName, key string) (providers.ObjectInfo, error) {
	const op = "memory.StatObject"
	if err := p.begin(ctx, mStatObject, "", bucketName+"/"+key, p.bucketRegion(bucketName)); err != nil {
		return providers.ObjectInfo{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	o, err := p.objectLocked(op, bucketName, key)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	return cloneInfo(o.info), nil
}

// ListObjects returns the objects whose key starts with prefix, sorted by
// key.
func (p *Provider) ListObjects(ctx context.Context, bucketName, prefix string) ([]providers.ObjectInfo, error) {
	const op = "memory.ListObjects"
	if err := p.begin(ctx, mListObjects, "", bucketName, p.bucketRegion(bucketName)); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := p.bucketLocked(op, bucketName)
	if err != nil {
		return nil, err
	}
	var out []providers.ObjectInfo
	for key, o := range b.objects {
		if strings.HasPrefix(key, prefix) {
			out = append(out, cloneInfo(o.info))
		}
	}
	slices.SortFunc(out, func(a, b providers.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// DeleteObject deletes the object; open readers keep their snapshot.
func (p *Provider) DeleteObject(ctx context.Context, bucketName, key string) (err error) {
	defer p.lost(mDeleteObject, &err)
	const op = "memory.DeleteObject"
	if err := p.begin(ctx, mDeleteObject, "", bucketName+"/"+key, p.bucketRegion(bucketName)); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.objectLocked(op, bucketName, key); err != nil {
		return err
	}
	delete(p.buckets[bucketName].objects, key)
	return nil
}
