package oci

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/objectstorage"

	"github.com/orocloud/orocloud-go/providers"
)

var bucketNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,256}$`)

// namespace returns the Object Storage namespace: Options.Namespace, or
// GetNamespace once.
func (p *Provider) namespace(ctx context.Context, c *regionClients) (string, error) {
	p.mu.Lock()
	ns := p.ns
	p.mu.Unlock()
	if ns != "" {
		return ns, nil
	}
	err := p.call(ctx, "oci.GetNamespace", "", func(ctx context.Context) (*httpResponse, error) {
		r, err := c.storage.GetNamespace(ctx, objectstorage.GetNamespaceRequest{CompartmentId: common.String(p.compartment)})
		ns = deref(r.Value)
		return r.RawResponse, err
	})
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	p.ns = ns
	p.mu.Unlock()
	return ns, nil
}

// bucketClients returns the clients of the bucket's region (the primary
// region unless CreateBucket made it elsewhere) and the namespace.
func (p *Provider) bucketClients(ctx context.Context, op, bucket string) (*regionClients, string, error) {
	if err := p.checkOpen(op); err != nil {
		return nil, "", err
	}
	if !bucketNameRE.MatchString(bucket) {
		return nil, "", &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: bucket,
			Msg: "bucket: must be 1-256 letters, digits, '.', '-' or '_'"}
	}
	p.mu.Lock()
	region, ok := p.buckets[bucket]
	p.mu.Unlock()
	if !ok {
		region = p.region
	}
	c, err := p.regionClients(region)
	if err != nil {
		return nil, "", err
	}
	ns, err := p.namespace(ctx, c)
	if err != nil {
		return nil, "", err
	}
	return c, ns, nil
}

// CreateBucket creates a private bucket in spec.Region (default: the
// primary region) with the labels as freeform tags. An existing bucket with
// our labels returns nil; any other AlreadyExists.
func (p *Provider) CreateBucket(ctx context.Context, spec providers.BucketSpec) error {
	const op = "oci.CreateBucket"
	if spec.Region != "" && spec.Region != p.region {
		if _, err := p.regionClients(spec.Region); err != nil {
			return err
		}
		if bucketNameRE.MatchString(spec.Name) {
			p.mu.Lock()
			p.buckets[spec.Name] = spec.Region
			p.mu.Unlock()
		}
	}
	c, ns, err := p.bucketClients(ctx, op, spec.Name)
	if err != nil {
		return err
	}
	details := objectstorage.CreateBucketDetails{
		Name:             common.String(spec.Name),
		CompartmentId:    common.String(p.compartment),
		FreeformTags:     map[string]string(spec.Labels.Clone()),
		PublicAccessType: objectstorage.CreateBucketDetailsPublicAccessTypeNopublicaccess,
	}
	err = p.call(ctx, op, spec.Name, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.storage.CreateBucket(ctx, objectstorage.CreateBucketRequest{NamespaceName: common.String(ns), CreateBucketDetails: details})
		return r.RawResponse, err
	})
	if err == nil {
		p.log.InfoContext(ctx, "bucket created", "bucket", spec.Name, "region", c.region)
		return nil
	}
	var se common.ServiceError
	if !errors.As(err, &se) || se.GetHTTPStatusCode() != 409 {
		return err
	}
	// It exists (perhaps created by an earlier attempt of this call).
	var b objectstorage.Bucket
	gerr := p.call(ctx, op, spec.Name, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.storage.GetBucket(ctx, objectstorage.GetBucketRequest{NamespaceName: common.String(ns), BucketName: common.String(spec.Name)})
		b = r.Bucket
		return r.RawResponse, err
	})
	if gerr != nil {
		return &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: spec.Name, Msg: "bucket exists and cannot be read", Err: gerr}
	}
	if owned(b.FreeformTags, spec.Labels) {
		return nil
	}
	return &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: spec.Name,
		Msg: "a bucket of that name exists in the namespace and is not managed by this environment", Err: err}
}

// DeleteBucket deletes an empty bucket; a non-empty one is
// FailedPrecondition (OCI's 409 BucketNotEmpty).
func (p *Provider) DeleteBucket(ctx context.Context, bucket string) error {
	const op = "oci.DeleteBucket"
	c, ns, err := p.bucketClients(ctx, op, bucket)
	if err != nil {
		return err
	}
	err = p.deleteCall(ctx, op, bucket, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.storage.DeleteBucket(ctx, objectstorage.DeleteBucketRequest{NamespaceName: common.String(ns), BucketName: common.String(bucket)})
		return r.RawResponse, err
	})
	if err == nil {
		p.mu.Lock()
		delete(p.buckets, bucket)
		p.mu.Unlock()
	}
	return err
}

func checkKey(op, bucket, key string) error {
	if key == "" || len(key) > 1024 {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: bucket,
			Msg: "key: must be 1-1024 bytes"}
	}
	return nil
}

// PutObject streams r into the object without buffering it whole: the SDK's
// PutObject needs a Content-Length (without one it reads the entire body
// into memory to measure it), so PutObject reads r in parts of
// Options.PartSize. A stream that fits in one part is sent with a single
// PutObject; a longer one goes through the multipart upload API
// (CreateMultipartUpload, UploadPart with up to Options.UploadConcurrency
// parts in flight, CommitMultipartUpload). The object appears only at the
// final PutObject or commit; on any error (from r, ctx or the service) the
// upload is aborted and nothing changes at key. IfNotExists sends
// If-None-Match: * (a 412 becomes AlreadyExists).
func (p *Provider) PutObject(ctx context.Context, bucket, key string, r io.Reader, opts *providers.PutOptions) (providers.ObjectInfo, error) {
	const op = "oci.PutObject"
	var o providers.PutOptions
	if opts != nil {
		o = *opts
	}
	if r == nil {
		return providers.ObjectInfo{}, &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: bucket + "/" + key, Msg: "reader: must not be nil"}
	}
	if err := checkKey(op, bucket, key); err != nil {
		return providers.ObjectInfo{}, err
	}
	c, ns, err := p.bucketClients(ctx, op, bucket)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	res := bucket + "/" + key
	first := make([]byte, p.opts.PartSize)
	n, rerr := io.ReadFull(r, first)
	switch {
	case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
		return p.putSingle(ctx, c, ns, bucket, key, first[:n], o)
	case rerr != nil:
		return providers.ObjectInfo{}, readerError(op, res, rerr)
	}
	if err := ctx.Err(); err != nil {
		return providers.ObjectInfo{}, providers.Wrap(err, providers.Canceled, op, res)
	}
	return p.putMultipart(ctx, c, ns, bucket, key, first, r, o)
}

func readerError(op, res string, err error) error {
	code := providers.Code(err)
	if code == providers.Unknown || code == providers.OK {
		code = providers.Unknown
	}
	return &providers.Error{Code: code, Op: op, Resource: res, Msg: "reading the content", Err: err}
}

func ifNoneMatch(o providers.PutOptions) *string {
	if o.IfNotExists {
		return common.String("*")
	}
	return nil
}

// existsError turns the 412 of If-None-Match: * into AlreadyExists.
func existsError(err error, o providers.PutOptions) error {
	var se common.ServiceError
	if o.IfNotExists && errors.As(err, &se) && se.GetHTTPStatusCode() == 412 {
		var pe *providers.Error
		if errors.As(err, &pe) {
			cp := *pe
			cp.Code = providers.AlreadyExists
			cp.Msg = "object exists (If-None-Match: *): " + cp.Msg
			return &cp
		}
	}
	return err
}

func (p *Provider) putSingle(ctx context.Context, c *regionClients, ns, bucket, key string, data []byte, o providers.PutOptions) (providers.ObjectInfo, error) {
	const op = "oci.PutObject"
	var resp objectstorage.PutObjectResponse
	sum := md5.Sum(data)
	contentMD5 := base64.StdEncoding.EncodeToString(sum[:])
	attempts := 0
	err := p.call(ctx, op, bucket+"/"+key, func(ctx context.Context) (*httpResponse, error) {
		attempts++
		req := objectstorage.PutObjectRequest{
			NamespaceName: common.String(ns), BucketName: common.String(bucket), ObjectName: common.String(key),
			ContentLength: common.Int64(int64(len(data))),
			ContentMD5:    common.String(contentMD5), // the service checks it: integrity on the wire
			PutObjectBody: io.NopCloser(bytes.NewReader(data)),
			IfNoneMatch:   ifNoneMatch(o),
			OpcMeta:       o.Metadata,
		}
		if o.ContentType != "" {
			req.ContentType = common.String(o.ContentType)
		}
		r, err := c.storage.PutObject(ctx, req)
		resp = r
		return r.RawResponse, err
	})
	if err != nil && o.IfNotExists && attempts > 1 && isStatus(err, 412) {
		// A retry hit If-None-Match: maybe our own earlier attempt was
		// applied before its answer was lost. Same content: it was ours.
		if head, herr := p.headObject(ctx, c, ns, bucket, key); herr == nil && deref(head.ContentMd5) == contentMD5 {
			err = nil
			resp.ETag, resp.LastModified = head.ETag, head.LastModified
		}
	}
	if err != nil {
		return providers.ObjectInfo{}, existsError(err, o)
	}
	info := providers.ObjectInfo{Bucket: bucket, Key: key, Size: int64(len(data)), ETag: deref(resp.ETag), Metadata: maps.Clone(o.Metadata)}
	if resp.LastModified != nil {
		info.Updated = resp.LastModified.Time
	} else {
		info.Updated = p.clk.Now()
	}
	return info, nil
}

func (p *Provider) putMultipart(ctx context.Context, c *regionClients, ns, bucket, key string, first []byte, r io.Reader, o providers.PutOptions) (info providers.ObjectInfo, err error) {
	const op = "oci.PutObject"
	res := bucket + "/" + key
	if o.IfNotExists {
		// Fail before uploading gigabytes; the commit's If-None-Match
		// still guards against a race.
		if _, serr := p.StatObject(ctx, bucket, key); serr == nil {
			return info, &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: res, Msg: "object exists"}
		} else if providers.Code(serr) != providers.NotFound {
			return info, serr
		}
	}
	var upload objectstorage.MultipartUpload
	err = p.call(ctx, "oci.CreateMultipartUpload", res, func(ctx context.Context) (*httpResponse, error) {
		d := objectstorage.CreateMultipartUploadDetails{Object: common.String(key), Metadata: o.Metadata}
		if o.ContentType != "" {
			d.ContentType = common.String(o.ContentType)
		}
		resp, err := c.storage.CreateMultipartUpload(ctx, objectstorage.CreateMultipartUploadRequest{
			NamespaceName: common.String(ns), BucketName: common.String(bucket), CreateMultipartUploadDetails: d})
		upload = resp.MultipartUpload
		return resp.RawResponse, err
	})
	if err != nil {
		return info, err
	}
	uploadID := deref(upload.UploadId)
	defer func() {
		if err == nil {
			return
		}
		// Abort even when ctx was canceled: a dangling upload keeps parts
		// (and blocks deleting the bucket).
		actx := context.WithoutCancel(ctx)
		aerr := p.deleteCall(actx, "oci.AbortMultipartUpload", res, func(ctx context.Context) (*httpResponse, error) {
			resp, err := c.storage.AbortMultipartUpload(ctx, objectstorage.AbortMultipartUploadRequest{
				NamespaceName: common.String(ns), BucketName: common.String(bucket), ObjectName: common.String(key), UploadId: common.String(uploadID)})
			return resp.RawResponse, err
		})
		if aerr != nil {
			p.log.WarnContext(ctx, "abort of multipart upload failed", "object", res, "uploadId", uploadID, "err", aerr)
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conc := p.opts.UploadConcurrency
	bufs := make(chan []byte, conc)
	for range conc - 1 {
		bufs <- make([]byte, p.opts.PartSize)
	}
	var (
		mu       sync.Mutex
		parts    []objectstorage.CommitMultipartUploadPartDetails
		firstErr error
		wg       sync.WaitGroup
		total    int64
	)
	fail := func(e error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = e
			cancel()
		}
		mu.Unlock()
	}
	upload1 := func(num int, buf []byte, n int) {
		defer wg.Done()
		defer func() { bufs <- buf }()
		var etag string
		perr := p.call(ctx, "oci.UploadPart", fmt.Sprintf("%s#%d", res, num), func(ctx context.Context) (*httpResponse, error) {
			resp, err := c.storage.UploadPart(ctx, objectstorage.UploadPartRequest{
				NamespaceName: common.String(ns), BucketName: common.String(bucket), ObjectName: common.String(key),
				UploadId: common.String(uploadID), UploadPartNum: common.Int(num),
				ContentLength: common.Int64(int64(n)), UploadPartBody: io.NopCloser(bytes.NewReader(buf[:n]))})
			etag = deref(resp.ETag)
			return resp.RawResponse, err
		})
		if perr != nil {
			fail(perr)
			return
		}
		mu.Lock()
		parts = append(parts, objectstorage.CommitMultipartUploadPartDetails{PartNum: common.Int(num), Etag: common.String(etag)})
		mu.Unlock()
	}

	buf, n := first, len(first)
	for num := 1; ; num++ {
		total += int64(n)
		wg.Add(1)
		go upload1(num, buf, n)
		if num >= 10000 {
			fail(&providers.Error{Code: providers.InvalidArgument, Op: op, Resource: res, Msg: "object needs more than 10000 parts: raise Options.PartSize"})
			break
		}
		select {
		case buf = <-bufs:
		case <-ctx.Done():
			buf = nil
		}
		if buf == nil {
			break
		}
		var rerr error
		n, rerr = io.ReadFull(r, buf)
		if rerr == io.EOF {
			bufs <- buf
			break
		}
		if rerr != nil && rerr != io.ErrUnexpectedEOF {
			bufs <- buf
			fail(readerError(op, res, rerr))
			break
		}
		if rerr == io.ErrUnexpectedEOF {
			total += int64(n)
			wg.Add(1)
			go upload1(num+1, buf, n)
			break
		}
	}
	wg.Wait()
	mu.Lock()
	ferr := firstErr
	mu.Unlock()
	if ferr != nil {
		return info, ferr
	}
	if err := ctx.Err(); err != nil {
		return info, providers.Wrap(err, providers.Canceled, op, res)
	}
	slices.SortFunc(parts, func(a, b objectstorage.CommitMultipartUploadPartDetails) int { return *a.PartNum - *b.PartNum })
	var commit objectstorage.CommitMultipartUploadResponse
	commits := 0
	err = p.call(ctx, "oci.CommitMultipartUpload", res, func(ctx context.Context) (*httpResponse, error) {
		commits++
		resp, err := c.storage.CommitMultipartUpload(ctx, objectstorage.CommitMultipartUploadRequest{
			NamespaceName: common.String(ns), BucketName: common.String(bucket), ObjectName: common.String(key),
			UploadId: common.String(uploadID), IfNoneMatch: ifNoneMatch(o),
			CommitMultipartUploadDetails: objectstorage.CommitMultipartUploadDetails{PartsToCommit: parts}})
		commit = resp
		return resp.RawResponse, err
	})
	if err != nil && commits > 1 && isStatus(err, 404) {
		// A retried commit whose upload is gone: the earlier commit was
		// applied and its answer lost. The object is there with our size.
		if head, herr := p.headObject(ctx, c, ns, bucket, key); herr == nil && deref(head.ContentLength) == total {
			err = nil
			commit.ETag, commit.LastModified = head.ETag, head.LastModified
		}
	}
	if err != nil {
		return info, existsError(err, o)
	}
	info = providers.ObjectInfo{Bucket: bucket, Key: key, Size: total, ETag: deref(commit.ETag), Metadata: maps.Clone(o.Metadata)}
	if commit.LastModified != nil {
		info.Updated = commit.LastModified.Time
	} else {
		info.Updated = p.clk.Now()
	}
	p.log.DebugContext(ctx, "multipart upload committed", "object", res, "parts", len(parts), "bytes", total)
	return info, nil
}

// GetObject returns the object's content as a stream straight from the
// HTTP response (not buffered), and its info.
func (p *Provider) GetObject(ctx context.Context, bucket, key string) (io.ReadCloser, providers.ObjectInfo, error) {
	const op = "oci.GetObject"
	if err := checkKey(op, bucket, key); err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	c, ns, err := p.bucketClients(ctx, op, bucket)
	if err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	var resp objectstorage.GetObjectResponse
	err = p.call(ctx, op, bucket+"/"+key, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.storage.GetObject(ctx, objectstorage.GetObjectRequest{NamespaceName: common.String(ns), BucketName: common.String(bucket), ObjectName: common.String(key)})
		if err != nil && r.Content != nil {
			discard(r.Content)
		}
		resp = r
		return r.RawResponse, err
	})
	if err != nil {
		return nil, providers.ObjectInfo{}, err
	}
	info := providers.ObjectInfo{Bucket: bucket, Key: key, Size: deref(resp.ContentLength), ETag: deref(resp.ETag), Metadata: nilIfEmpty(resp.OpcMeta)}
	if resp.LastModified != nil {
		info.Updated = resp.LastModified.Time
	}
	return resp.Content, info, nil
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// StatObject returns the object's info (HeadObject).
func (p *Provider) StatObject(ctx context.Context, bucket, key string) (providers.ObjectInfo, error) {
	const op = "oci.StatObject"
	if err := checkKey(op, bucket, key); err != nil {
		return providers.ObjectInfo{}, err
	}
	c, ns, err := p.bucketClients(ctx, op, bucket)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	resp, err := p.headObject(ctx, c, ns, bucket, key)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	info := providers.ObjectInfo{Bucket: bucket, Key: key, Size: deref(resp.ContentLength), ETag: deref(resp.ETag), Metadata: nilIfEmpty(resp.OpcMeta)}
	if resp.LastModified != nil {
		info.Updated = resp.LastModified.Time
	}
	return info, nil
}

// ListObjects pages through ListObjects (prefix, start = nextStartWith)
// and returns the objects sorted by key. Metadata is not part of OCI's
// listing; use StatObject for it.
func (p *Provider) ListObjects(ctx context.Context, bucket, prefix string) ([]providers.ObjectInfo, error) {
	const op = "oci.ListObjects"
	c, ns, err := p.bucketClients(ctx, op, bucket)
	if err != nil {
		return nil, err
	}
	req := objectstorage.ListObjectsRequest{NamespaceName: common.String(ns), BucketName: common.String(bucket),
		Fields: common.String("name,size,etag,timeCreated,timeModified")}
	if prefix != "" {
		req.Prefix = common.String(prefix)
	}
	var out []providers.ObjectInfo
	for {
		var resp objectstorage.ListObjectsResponse
		err := p.call(ctx, op, bucket, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.storage.ListObjects(ctx, req)
			resp = r
			return r.RawResponse, err
		})
		if err != nil {
			return nil, err
		}
		for _, o := range resp.Objects {
			info := providers.ObjectInfo{Bucket: bucket, Key: deref(o.Name), Size: deref(o.Size), ETag: deref(o.Etag)}
			switch {
			case o.TimeModified != nil:
				info.Updated = o.TimeModified.Time
			case o.TimeCreated != nil:
				info.Updated = o.TimeCreated.Time
			}
			out = append(out, info)
		}
		if resp.NextStartWith == nil || *resp.NextStartWith == "" {
			break
		}
		req.Start = resp.NextStartWith
	}
	slices.SortFunc(out, func(a, b providers.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// DeleteObject deletes the object. A missing object is NotFound.
func (p *Provider) DeleteObject(ctx context.Context, bucket, key string) error {
	const op = "oci.DeleteObject"
	if err := checkKey(op, bucket, key); err != nil {
		return err
	}
	c, ns, err := p.bucketClients(ctx, op, bucket)
	if err != nil {
		return err
	}
	return p.deleteCall(ctx, op, bucket+"/"+key, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.storage.DeleteObject(ctx, objectstorage.DeleteObjectRequest{NamespaceName: common.String(ns), BucketName: common.String(bucket), ObjectName: common.String(key)})
		return r.RawResponse, err
	})
}

func (p *Provider) headObject(ctx context.Context, c *regionClients, ns, bucket, key string) (objectstorage.HeadObjectResponse, error) {
	var resp objectstorage.HeadObjectResponse
	err := p.call(ctx, "oci.StatObject", bucket+"/"+key, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.storage.HeadObject(ctx, objectstorage.HeadObjectRequest{NamespaceName: common.String(ns), BucketName: common.String(bucket), ObjectName: common.String(key)})
		resp = r
		return r.RawResponse, err
	})
	return resp, err
}

func isStatus(err error, status int) bool {
	var se common.ServiceError
	return errors.As(err, &se) && se.GetHTTPStatusCode() == status
}
