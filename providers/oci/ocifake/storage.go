package ocifake

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/objectstorage"
)

type object struct {
	data        []byte
	md5         string // base64, single-part objects only
	etag        string
	meta        map[string]string
	contentType string
	modified    time.Time
	created     time.Time
}

type upload struct {
	key         string
	meta        map[string]string
	contentType string
	parts       map[int]object
}

type bucket struct {
	objectstorage.Bucket
	objects map[string]*object
	uploads map[string]*upload
}

func (s *Server) routeStorage(c *call, p string) func() response {
	segs := unescapeSegs(p)
	m := c.req.Method
	n := len(segs)
	// segs: ["n", ns, "b", bucket, "o"|"u", object...]
	if n == 1 && m == http.MethodGet {
		c.op = "GetNamespace"
		return func() response { return jsonResp(200, s.opts.Namespace) }
	}
	if n < 3 || segs[2] != "b" {
		c.op = "Unknown"
		return func() response { return errResp(404, "NotFound", "the fake does not serve "+m+" "+p) }
	}
	if segs[1] != s.opts.Namespace {
		c.op = "Unknown"
		return func() response { return errResp(404, "NamespaceNotFound", "namespace "+segs[1]+" not found") }
	}
	key := ""
	if n > 5 {
		key = strings.Join(segs[5:], "/")
	}
	switch {
	case n == 3 && m == http.MethodPost:
		c.op = "CreateBucket"
		return func() response { return s.createBucket(c) }
	case n == 4 && m == http.MethodGet:
		c.op = "GetBucket"
		return func() response { return s.getBucket(c, segs[3]) }
	case n == 4 && m == http.MethodDelete:
		c.op = "DeleteBucket"
		return func() response { return s.deleteBucket(c, segs[3]) }
	case n == 5 && segs[4] == "o" && m == http.MethodGet:
		c.op = "ListObjects"
		return func() response { return s.listObjects(c, segs[3]) }
	case n > 5 && segs[4] == "o" && m == http.MethodPut:
		c.op = "PutObject"
		return func() response { return s.putObject(c, segs[3], key) }
	case n > 5 && segs[4] == "o" && (m == http.MethodGet || m == http.MethodHead):
		c.op = "GetObject"
		if m == http.MethodHead {
			c.op = "HeadObject"
		}
		return func() response { return s.getObject(c, segs[3], key, m == http.MethodHead) }
	case n > 5 && segs[4] == "o" && m == http.MethodDelete:
		c.op = "DeleteObject"
		return func() response { return s.deleteObject(c, segs[3], key) }
	case n == 5 && segs[4] == "u" && m == http.MethodPost:
		c.op = "CreateMultipartUpload"
		return func() response { return s.createUpload(c, segs[3]) }
	case n > 5 && segs[4] == "u" && m == http.MethodPut:
		c.op = "UploadPart"
		return func() response { return s.uploadPart(c, segs[3], key) }
	case n > 5 && segs[4] == "u" && m == http.MethodPost:
		c.op = "CommitMultipartUpload"
		return func() response { return s.commitUpload(c, segs[3], key) }
	case n > 5 && segs[4] == "u" && m == http.MethodDelete:
		c.op = "AbortMultipartUpload"
		return func() response { return s.abortUpload(c, segs[3], key) }
	}
	c.op = "Unknown"
	return func() response { return errResp(404, "NotFound", "the fake does not serve "+m+" "+p) }
}

func bucketNotFound(name string) response {
	return errResp(404, "BucketNotFound", "Either the bucket named '"+name+"' does not exist in the namespace or you are not authorized to access it")
}

func objectNotFound(key string) response {
	return errResp(404, "ObjectNotFound", "The object '"+key+"' was not found")
}

func etag(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

func (s *Server) createBucket(c *call) response {
	var d objectstorage.CreateBucketDetails
	if err := json.Unmarshal(c.body, &d); err != nil {
		return badRequest("malformed body: " + err.Error())
	}
	if d.Name == nil || *d.Name == "" || d.CompartmentId == nil {
		return badRequest("name and compartmentId are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st(c)
	if _, ok := st.buckets[*d.Name]; ok {
		return errResp(409, "BucketAlreadyExists", "Either the bucket '"+*d.Name+"' in namespace '"+s.opts.Namespace+"' already exists or you are not authorized to create it")
	}
	b := &bucket{Bucket: objectstorage.Bucket{Namespace: common.String(s.opts.Namespace), Name: d.Name, CompartmentId: d.CompartmentId,
		FreeformTags: d.FreeformTags, Metadata: d.Metadata, PublicAccessType: objectstorage.BucketPublicAccessTypeEnum(d.PublicAccessType),
		TimeCreated: &common.SDKTime{Time: c.now.UTC()}, CreatedBy: common.String("fake"), Etag: common.String(etag([]byte(*d.Name)))},
		objects: map[string]*object{}, uploads: map[string]*upload{}}
	st.buckets[*d.Name] = b
	return jsonResp(200, b.Bucket)
}

func (s *Server) getBucket(c *call, name string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.st(c).buckets[name]
	if !ok {
		return bucketNotFound(name)
	}
	return jsonResp(200, b.Bucket)
}

func (s *Server) deleteBucket(c *call, name string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st(c)
	b, ok := st.buckets[name]
	if !ok {
		return bucketNotFound(name)
	}
	if len(b.objects) > 0 {
		return errResp(409, "BucketNotEmpty", "Bucket named '"+name+"' is not empty. Delete all objects first.")
	}
	delete(st.buckets, name)
	return response{status: 204}
}

func optMeta(h http.Header) map[string]string {
	var m map[string]string
	for k, v := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "opc-meta-") && len(v) > 0 {
			if m == nil {
				m = map[string]string{}
			}
			m[strings.TrimPrefix(lk, "opc-meta-")] = v[0]
		}
	}
	return m
}

func (s *Server) putObject(c *call, bname, key string) response {
	if cl := c.req.Header.Get("Content-Length"); cl == "" && c.req.ContentLength < 0 {
		return errResp(411, "MissingContentLength", "Content-Length is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.st(c).buckets[bname]
	if !ok {
		return bucketNotFound(bname)
	}
	if c.req.Header.Get("If-None-Match") == "*" {
		if _, exists := b.objects[key]; exists {
			return errResp(412, "IfNoneMatchFailed", "The If-None-Match header is '*' but there is an existing entity")
		}
	}
	sum := md5.Sum(c.body)
	o := &object{data: c.body, etag: etag(c.body), meta: optMeta(c.req.Header), contentType: c.req.Header.Get("Content-Type"),
		modified: c.now.UTC().Truncate(time.Second), created: c.now.UTC(), md5: base64.StdEncoding.EncodeToString(sum[:])}
	if want := c.req.Header.Get("Content-MD5"); want != "" && want != o.md5 {
		return errResp(400, "InvalidContentMD5", "the Content-MD5 does not match the content")
	}
	if old, ok := b.objects[key]; ok {
		o.created = old.created
	}
	b.objects[key] = o
	return response{status: 200, header: http.Header{"Etag": {o.etag}, "Last-Modified": {o.modified.Format(http.TimeFormat)}}}
}

func (s *Server) getObject(c *call, bname, key string, head bool) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.st(c).buckets[bname]
	if !ok {
		return bucketNotFound(bname)
	}
	o, ok := b.objects[key]
	if !ok {
		return objectNotFound(key)
	}
	h := http.Header{"Etag": {o.etag}, "Last-Modified": {o.modified.Format(http.TimeFormat)},
		"Content-Length": {strconv.Itoa(len(o.data))}}
	if o.md5 != "" {
		h.Set("Content-MD5", o.md5)
	}
	if o.contentType != "" {
		h.Set("Content-Type", o.contentType)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	for k, v := range o.meta {
		h.Set("opc-meta-"+k, v)
	}
	if head {
		return response{status: 200, header: h}
	}
	return response{status: 200, header: h, body: o.data}
}

func (s *Server) deleteObject(c *call, bname, key string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.st(c).buckets[bname]
	if !ok {
		return bucketNotFound(bname)
	}
	if _, ok := b.objects[key]; !ok {
		return objectNotFound(key)
	}
	delete(b.objects, key)
	return response{status: 204}
}

func (s *Server) listObjects(c *call, bname string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.st(c).buckets[bname]
	if !ok {
		return bucketNotFound(bname)
	}
	prefix, start := c.q("prefix"), c.q("start")
	limit, _ := strconv.Atoi(c.q("limit"))
	if limit <= 0 || limit > s.opts.PageSize {
		limit = s.opts.PageSize
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) && k >= start {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := objectstorage.ListObjects{Objects: []objectstorage.ObjectSummary{}}
	for i, k := range keys {
		if i == limit {
			out.NextStartWith = common.String(k)
			break
		}
		o := b.objects[k]
		out.Objects = append(out.Objects, objectstorage.ObjectSummary{Name: common.String(k), Size: common.Int64(int64(len(o.data))),
			Etag: common.String(o.etag), TimeCreated: &common.SDKTime{Time: o.created}, TimeModified: &common.SDKTime{Time: o.modified}})
	}
	return jsonResp(200, out)
}

func (s *Server) createUpload(c *call, bname string) response {
	var d objectstorage.CreateMultipartUploadDetails
	if err := json.Unmarshal(c.body, &d); err != nil {
		return badRequest("malformed body: " + err.Error())
	}
	if d.Object == nil || *d.Object == "" {
		return badRequest("object is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.st(c).buckets[bname]
	if !ok {
		return bucketNotFound(bname)
	}
	id := s.nextID("upload", c.region)
	u := &upload{key: *d.Object, meta: d.Metadata, parts: map[int]object{}}
	if d.ContentType != nil {
		u.contentType = *d.ContentType
	}
	b.uploads[id] = u
	return jsonResp(200, objectstorage.MultipartUpload{Namespace: common.String(s.opts.Namespace), Bucket: common.String(bname),
		Object: d.Object, UploadId: common.String(id), TimeCreated: &common.SDKTime{Time: c.now.UTC()}})
}

func (s *Server) findUpload(c *call, bname, key string) (*bucket, *upload, string, response) {
	b, ok := s.st(c).buckets[bname]
	if !ok {
		return nil, nil, "", bucketNotFound(bname)
	}
	id := c.q("uploadId")
	u, ok := b.uploads[id]
	if !ok || u.key != key {
		return nil, nil, "", errResp(404, "NoSuchUpload", "upload "+id+" not found for "+key)
	}
	return b, u, id, response{}
}

func (s *Server) uploadPart(c *call, bname, key string) response {
	num, err := strconv.Atoi(c.q("uploadPartNum"))
	if err != nil || num < 1 || num > 10000 {
		return badRequest("uploadPartNum must be 1-10000")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, u, _, errr := s.findUpload(c, bname, key)
	if u == nil {
		return errr
	}
	p := object{data: c.body, etag: etag(c.body)}
	u.parts[num] = p
	return response{status: 200, header: http.Header{"Etag": {p.etag}}}
}

func (s *Server) commitUpload(c *call, bname, key string) response {
	var d objectstorage.CommitMultipartUploadDetails
	if err := json.Unmarshal(c.body, &d); err != nil {
		return badRequest("malformed body: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, u, id, errr := s.findUpload(c, bname, key)
	if u == nil {
		return errr
	}
	if c.req.Header.Get("If-None-Match") == "*" {
		if _, exists := b.objects[key]; exists {
			return errResp(412, "IfNoneMatchFailed", "The If-None-Match header is '*' but there is an existing entity")
		}
	}
	var data []byte
	last := 0
	for _, p := range d.PartsToCommit {
		if p.PartNum == nil || p.Etag == nil {
			return badRequest("partNum and etag are required")
		}
		part, ok := u.parts[*p.PartNum]
		if !ok || part.etag != *p.Etag {
			return badRequest("part " + strconv.Itoa(*p.PartNum) + " missing or etag mismatch")
		}
		if *p.PartNum <= last {
			return badRequest("parts must be in ascending order")
		}
		last = *p.PartNum
		data = append(data, part.data...)
	}
	o := &object{data: data, etag: etag(data) + "-" + strconv.Itoa(len(d.PartsToCommit)), meta: u.meta, contentType: u.contentType,
		modified: c.now.UTC().Truncate(time.Second), created: c.now.UTC()}
	b.objects[key] = o
	delete(b.uploads, id)
	return response{status: 200, header: http.Header{"Etag": {o.etag}, "Last-Modified": {o.modified.Format(http.TimeFormat)}}}
}

func (s *Server) abortUpload(c *call, bname, key string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, u, id, errr := s.findUpload(c, bname, key)
	if u == nil {
		return errr
	}
	delete(b.uploads, id)
	return response{status: 204}
}

// Uploads returns how many multipart uploads are open in bucket (of the
// primary region), for tests that check aborts.
func (s *Server) Uploads(bucket string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.state[s.regions[0]].buckets[bucket]
	if !ok {
		return 0
	}
	return len(b.uploads)
}
