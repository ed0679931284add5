package gcp

import (
	"cmp"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	"github.com/orocloud/orocloud-go/providers"
)

// uploadChunkSize is the default resumable upload chunk: PutObject buffers
// at most this much of the stream in memory.
const uploadChunkSize = 8 << 20

func objResource(bucket, key string) string { return bucket + "/" + key }

// CreateBucket creates the bucket in the project, in spec.Region (or
// Options.StorageLocation, else "EU"), with spec.Labels. An existing bucket
// with the same managed-by and environment labels returns nil; any other
// existing bucket (buckets names are global) returns AlreadyExists.
func (p *Provider) CreateBucket(ctx context.Context, spec providers.BucketSpec) error {
	const op = "gcp.CreateBucket"
	if err := p.check(ctx, op); err != nil {
		return err
	}
	var problems []string
	if spec.Name == "" {
		problems = append(problems, "name: must not be empty")
	}
	problems = append(problems, labelProblems("labels", spec.Labels)...)
	if err := invalid(op, spec.Name, problems); err != nil {
		return err
	}
	loc := spec.Region
	if loc == "" {
		loc = p.opts.StorageLocation
	}
	if loc == "" {
		loc = "EU"
	}
	b := p.gcs.Bucket(spec.Name)
	err := p.call(ctx, op, spec.Name, func(ctx context.Context) error {
		return b.Create(ctx, p.project, &storage.BucketAttrs{Location: loc, Labels: spec.Labels.Clone()})
	})
	if err == nil || providers.Code(err) != providers.AlreadyExists {
		return err
	}
	var attrs *storage.BucketAttrs
	if gerr := p.call(ctx, op, spec.Name, func(ctx context.Context) error {
		var err error
		attrs, err = b.Attrs(ctx)
		return err
	}); gerr != nil {
		if providers.Code(gerr) == providers.PermissionDenied || providers.Code(gerr) == providers.NotFound {
			return err // the name is taken by someone else
		}
		return gerr
	}
	if !sameOwner(attrs.Labels, spec.Labels) {
		return &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: spec.Name, Msg: "a bucket of that name exists and belongs to another owner", Err: err}
	}
	return nil
}

// DeleteBucket deletes an empty bucket; a non-empty one returns
// FailedPrecondition.
func (p *Provider) DeleteBucket(ctx context.Context, bucket string) error {
	const op = "gcp.DeleteBucket"
	if err := p.check(ctx, op); err != nil {
		return err
	}
	if bucket == "" {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "bucket: must not be empty"}
	}
	err := p.call(ctx, op, bucket, func(ctx context.Context) error { return p.gcs.Bucket(bucket).Delete(ctx) })
	if providers.Code(err) == providers.AlreadyExists { // 409: the bucket is not empty
		var e *providers.Error
		errors.As(err, &e)
		return &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: bucket, Msg: "bucket is not empty", Err: e.Err}
	}
	return err
}

func fromAttrs(a *storage.ObjectAttrs) providers.ObjectInfo {
	info := providers.ObjectInfo{Bucket: a.Bucket, Key: a.Name, Size: a.Size, ETag: a.Etag, Updated: a.Updated}
	if len(a.Metadata) > 0 {
		info.Metadata = maps.Clone(a.Metadata)
	}
	return info
}

func keyProblems(bucket, key string) []string {
	var problems []string
	if bucket == "" {
		problems = append(problems, "bucket: must not be empty")
	}
	if key == "" {
		problems = append(problems, "key: must not be empty")
	}
	return problems
}

// PutObject streams r into the object with a resumable upload (chunks of
// Options.UploadChunkSize; smaller objects go in one multipart request). The object appears
// only when the upload completes; an error from r or a canceled ctx cancels
// the upload and leaves no object. With opts.IfNotExists the upload is
// conditional (ifGenerationMatch=0) and an existing key returns
// AlreadyExists. The storage client retries chunks itself; the call as a
// whole is not retried since r cannot be replayed.
func (p *Provider) PutObject(ctx context.Context, bucket, key string, r io.Reader, opts *providers.PutOptions) (providers.ObjectInfo, error) {
	const op = "gcp.PutObject"
	if err := p.check(ctx, op); err != nil {
		return providers.ObjectInfo{}, err
	}
	problems := keyProblems(bucket, key)
	if r == nil {
		problems = append(problems, "reader: must not be nil")
	}
	if err := invalid(op, objResource(bucket, key), problems); err != nil {
		return providers.ObjectInfo{}, err
	}
	if opts == nil {
		opts = &providers.PutOptions{}
	}
	// The SDK's policy, with its defaults, for the storage client's chunk
	// retries.
	attempts := cmp.Or(max(p.retry.MaxAttempts, 0), 5)
	initial := cmp.Or(max(p.retry.Initial, 0), 100*time.Millisecond)
	maxWait := cmp.Or(max(p.retry.Max, 0), 5*time.Second)
	obj := p.gcs.Bucket(bucket).Object(key).Retryer(
		storage.WithPolicy(storage.RetryAlways),
		storage.WithMaxAttempts(attempts),
		storage.WithBackoff(gax.Backoff{Initial: initial, Max: maxWait, Multiplier: 2}),
	)
	if opts.IfNotExists {
		obj = obj.If(storage.Conditions{DoesNotExist: true})
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := obj.NewWriter(wctx)
	w.ChunkSize = p.opts.UploadChunkSize
	w.ContentType = opts.ContentType
	if len(opts.Metadata) > 0 {
		w.Metadata = maps.Clone(opts.Metadata)
	}
	src := &recordingReader{r: r}
	if _, err := io.Copy(w, src); err != nil {
		if src.err == nil {
			// The upload failed: Close reports why.
			cerr := w.Close()
			return providers.ObjectInfo{}, p.putError(mapError(cmp.Or(cerr, err), op, objResource(bucket, key), p.clk), op, bucket, key, opts)
		}
		// The caller's reader failed: abandon the upload, which leaves no
		// object.
		cancel()
		_ = w.Close()
		if ctx.Err() != nil {
			return providers.ObjectInfo{}, providers.Wrap(ctx.Err(), providers.Canceled, op, objResource(bucket, key))
		}
		return providers.ObjectInfo{}, &providers.Error{Code: providers.Unknown, Op: op, Resource: objResource(bucket, key), Msg: "reading the content", Err: src.err}
	}
	if err := w.Close(); err != nil {
		return providers.ObjectInfo{}, p.putError(mapError(err, op, objResource(bucket, key), p.clk), op, bucket, key, opts)
	}
	return fromAttrs(w.Attrs()), nil
}

func (p *Provider) putError(err error, op, bucket, key string, opts *providers.PutOptions) error {
	var ge *googleapi.Error
	if opts.IfNotExists && errors.As(err, &ge) && ge.Code == http.StatusPreconditionFailed {
		return &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: objResource(bucket, key), Msg: "object exists", Err: err}
	}
	if errors.As(err, &ge) && ge.Code == http.StatusNotFound {
		return &providers.Error{Code: providers.NotFound, Op: op, Resource: bucket, Msg: "bucket does not exist", Err: err}
	}
	return err
}

// GetObject returns a stream of the object's content (read from the
// network as the caller reads, never buffered whole) and its info. The
// stream reads the generation that was stated, so a concurrent overwrite
// cannot mix two versions.
func (p *Provider) GetObject(ctx context.Context, bucket, key string) (io.ReadCloser, providers.ObjectInfo, error) {
	const op = "gcp.GetObject"
	a, err := p.statAttrs(ctx, op, bucket, key)
	if err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	obj := p.gcs.Bucket(bucket).Object(key).Generation(a.Generation)
	var rd *storage.Reader
	err = p.call(ctx, op, objResource(bucket, key), func(ctx context.Context) error {
		var err error
		rd, err = obj.NewReader(ctx)
		return err
	})
	if err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	return &objectReader{rd: rd, op: op, res: objResource(bucket, key), p: p}, fromAttrs(a), nil
}

// recordingReader remembers the error of the reader it wraps, to tell the
// caller's failures from the upload's.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

type objectReader struct {
	rd  *storage.Reader
	op  string
	res string
	p   *Provider
}

func (r *objectReader) Read(b []byte) (int, error) {
	n, err := r.rd.Read(b)
	if err != nil && err != io.EOF {
		err = mapError(err, r.op, r.res, r.p.clk)
	}
	return n, err
}

func (r *objectReader) Close() error { return r.rd.Close() }

// StatObject returns the object's info.
func (p *Provider) StatObject(ctx context.Context, bucket, key string) (providers.ObjectInfo, error) {
	a, err := p.statAttrs(ctx, "gcp.StatObject", bucket, key)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	return fromAttrs(a), nil
}

func (p *Provider) statAttrs(ctx context.Context, op, bucket, key string) (*storage.ObjectAttrs, error) {
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	if err := invalid(op, objResource(bucket, key), keyProblems(bucket, key)); err != nil {
		return nil, err
	}
	var a *storage.ObjectAttrs
	err := p.call(ctx, op, objResource(bucket, key), func(ctx context.Context) error {
		var err error
		a, err = p.gcs.Bucket(bucket).Object(key).Attrs(ctx)
		return err
	})
	return a, err
}

// ListObjects lists the objects whose key starts with prefix, sorted by key
// (the API's order), following pages.
func (p *Provider) ListObjects(ctx context.Context, bucket, prefix string) ([]providers.ObjectInfo, error) {
	const op = "gcp.ListObjects"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	if bucket == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "bucket: must not be empty"}
	}
	var out []providers.ObjectInfo
	err := p.call(ctx, op, objResource(bucket, prefix), func(ctx context.Context) error {
		out = out[:0]
		it := p.gcs.Bucket(bucket).Objects(ctx, &storage.Query{Prefix: prefix})
		for {
			a, err := it.Next()
			if err == iterator.Done {
				return nil
			}
			if err != nil {
				return err
			}
			out = append(out, fromAttrs(a))
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteObject deletes the object. Cloud Storage has no request ids: when
// an attempt failed in a way that may have deleted the object (a 5xx or a
// lost answer) and the retry finds no object, the delete is reported done.
func (p *Provider) DeleteObject(ctx context.Context, bucket, key string) error {
	const op = "gcp.DeleteObject"
	if err := p.check(ctx, op); err != nil {
		return err
	}
	if err := invalid(op, objResource(bucket, key), keyProblems(bucket, key)); err != nil {
		return err
	}
	maybeApplied := false
	return p.call(ctx, op, objResource(bucket, key), func(ctx context.Context) error {
		err := mapError(p.gcs.Bucket(bucket).Object(key).Delete(ctx), op, objResource(bucket, key), p.clk)
		if maybeApplied && providers.Code(err) == providers.NotFound {
			return nil
		}
		if providers.Code(err) == providers.Unavailable {
			maybeApplied = true
		}
		return err
	})
}
