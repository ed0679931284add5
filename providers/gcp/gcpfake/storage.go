package gcpfake

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type bucket struct {
	name     string
	project  string
	location string
	labels   map[string]any
	created  time.Time
	objects  map[string]*object
}

type object struct {
	name        string
	data        []byte
	gen         int64
	contentType string
	metadata    map[string]any
	updated     time.Time
	crc         uint32
	md5         []byte
}

type upload struct {
	bucket     string
	meta       map[string]any
	ifGenMatch string
	buf        bytes.Buffer
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func readBody(r *http.Request) ([]byte, error) { return io.ReadAll(r.Body) }

// pathSegments splits the escaped path so object names with %2F survive.
func pathSegments(r *http.Request, prefix string) []string {
	p := strings.TrimPrefix(r.URL.EscapedPath(), prefix)
	raw := strings.Split(strings.Trim(p, "/"), "/")
	out := make([]string, 0, len(raw))
	for _, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			u = s
		}
		out = append(out, u)
	}
	return out
}

func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(path, "/upload/storage/v1/b/"):
		seg := pathSegments(r, "/upload/storage/v1/b/")
		if len(seg) != 2 || seg[1] != "o" {
			writeError(w, http.StatusNotFound, "notFound", "no such endpoint")
			return
		}
		s.serveUpload(w, r, seg[0])
		return
	case strings.HasPrefix(path, "/download/storage/v1/b/"):
		seg := pathSegments(r, "/download/storage/v1/b/")
		if len(seg) < 3 || seg[1] != "o" {
			writeError(w, http.StatusNotFound, "notFound", "no such endpoint")
			return
		}
		s.serveObjectGet(w, r, seg[0], strings.Join(seg[2:], "/"), true)
		return
	}
	seg := pathSegments(r, "/storage/v1/")
	switch {
	case len(seg) == 1 && seg[0] == "b" && r.Method == http.MethodPost:
		s.createBucket(w, r)
	case len(seg) == 2 && seg[0] == "b" && r.Method == http.MethodGet:
		s.mu.Lock()
		defer s.mu.Unlock()
		b := s.buckets[seg[1]]
		if b == nil {
			writeError(w, http.StatusNotFound, "notFound", "The specified bucket does not exist.")
			return
		}
		writeJSON(w, http.StatusOK, bucketJSON(b))
	case len(seg) == 2 && seg[0] == "b" && r.Method == http.MethodDelete:
		s.mu.Lock()
		defer s.mu.Unlock()
		b := s.buckets[seg[1]]
		if b == nil {
			writeError(w, http.StatusNotFound, "notFound", "The specified bucket does not exist.")
			return
		}
		if len(b.objects) > 0 {
			writeError(w, http.StatusConflict, "conflict", "The bucket you tried to delete is not empty.")
			return
		}
		delete(s.buckets, b.name)
		w.WriteHeader(http.StatusNoContent)
	case len(seg) == 3 && seg[0] == "b" && seg[2] == "o" && r.Method == http.MethodGet:
		s.listObjects(w, r, seg[1])
	case len(seg) >= 4 && seg[0] == "b" && seg[2] == "o" && r.Method == http.MethodGet:
		s.serveObjectGet(w, r, seg[1], strings.Join(seg[3:], "/"), r.URL.Query().Get("alt") == "media")
	case len(seg) >= 4 && seg[0] == "b" && seg[2] == "o" && r.Method == http.MethodDelete:
		s.mu.Lock()
		defer s.mu.Unlock()
		b := s.buckets[seg[1]]
		if b == nil {
			writeError(w, http.StatusNotFound, "notFound", "The specified bucket does not exist.")
			return
		}
		key := strings.Join(seg[3:], "/")
		if b.objects[key] == nil {
			writeError(w, http.StatusNotFound, "notFound", "No such object: "+b.name+"/"+key)
			return
		}
		delete(b.objects, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusNotFound, "notFound", "no such endpoint: "+r.Method+" "+r.URL.Path)
	}
}

func (s *Server) createBucket(w http.ResponseWriter, r *http.Request) {
	raw, _ := readBody(r)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "invalid JSON body")
		return
	}
	name, _ := body["name"].(string)
	if name == "" {
		writeError(w, http.StatusBadRequest, "required", "Required field 'name' not specified")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] != nil {
		writeError(w, http.StatusConflict, "conflict", "Your previous request to create the named bucket succeeded and you already own it.")
		return
	}
	loc, _ := body["location"].(string)
	if loc == "" {
		loc = "US"
	}
	labels, _ := body["labels"].(map[string]any)
	b := &bucket{name: name, project: r.URL.Query().Get("project"), location: strings.ToUpper(loc), labels: labels,
		created: s.now(), objects: map[string]*object{}}
	s.buckets[name] = b
	writeJSON(w, http.StatusOK, bucketJSON(b))
}

func bucketJSON(b *bucket) map[string]any {
	out := map[string]any{
		"kind": "storage#bucket", "id": b.name, "name": b.name, "location": b.location,
		"timeCreated": b.created.UTC().Format(time.RFC3339Nano), "updated": b.created.UTC().Format(time.RFC3339Nano),
		"metageneration": "1", "storageClass": "STANDARD", "projectNumber": "123456789",
	}
	if b.labels != nil {
		out["labels"] = b.labels
	}
	return out
}

func objectJSON(b *bucket, o *object) map[string]any {
	gen := strconv.FormatInt(o.gen, 10)
	crc := make([]byte, 4)
	binary.BigEndian.PutUint32(crc, o.crc)
	out := map[string]any{
		"kind": "storage#object", "id": b.name + "/" + o.name + "/" + gen, "name": o.name, "bucket": b.name,
		"generation": gen, "metageneration": "1", "contentType": o.contentType,
		"size": strconv.Itoa(len(o.data)), "md5Hash": base64.StdEncoding.EncodeToString(o.md5),
		"crc32c": base64.StdEncoding.EncodeToString(crc), "etag": "CP" + gen + "=",
		"timeCreated": o.updated.UTC().Format(time.RFC3339Nano), "updated": o.updated.UTC().Format(time.RFC3339Nano),
		"storageClass": "STANDARD",
	}
	if o.metadata != nil {
		out["metadata"] = o.metadata
	}
	return out
}

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request, bucketName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		writeError(w, http.StatusNotFound, "notFound", "The specified bucket does not exist.")
		return
	}
	q := r.URL.Query()
	prefix := q.Get("prefix")
	var keys []string
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if tok := q.Get("pageToken"); tok != "" {
		i, _ := slices.BinarySearch(keys, tok)
		keys = keys[i:]
	}
	size := 1000
	if m, err := strconv.Atoi(q.Get("maxResults")); err == nil && m > 0 && m < size {
		size = m
	}
	out := map[string]any{"kind": "storage#objects"}
	if len(keys) > size {
		out["nextPageToken"] = keys[size]
		keys = keys[:size]
	}
	items := make([]any, 0, len(keys))
	for _, k := range keys {
		items = append(items, objectJSON(b, b.objects[k]))
	}
	out["items"] = items
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveXMLRead(w http.ResponseWriter, r *http.Request) {
	seg := pathSegments(r, "/")
	if len(seg) < 2 {
		writeError(w, http.StatusNotFound, "notFound", "no such endpoint")
		return
	}
	s.serveObjectGet(w, r, seg[0], strings.Join(seg[1:], "/"), true)
}

func (s *Server) serveObjectGet(w http.ResponseWriter, r *http.Request, bucketName, key string, media bool) {
	s.mu.Lock()
	b := s.buckets[bucketName]
	if b == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "notFound", "The specified bucket does not exist.")
		return
	}
	o := b.objects[key]
	if o == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "notFound", "No such object: "+bucketName+"/"+key)
		return
	}
	if g := r.URL.Query().Get("generation"); g != "" && g != "0" && g != strconv.FormatInt(o.gen, 10) {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "notFound", "No such object generation: "+bucketName+"/"+key+"#"+g)
		return
	}
	if !media {
		defer s.mu.Unlock()
		writeJSON(w, http.StatusOK, objectJSON(b, o))
		return
	}
	data, gen, crc, sum, ct, updated := o.data, o.gen, o.crc, o.md5, o.contentType, o.updated
	s.mu.Unlock()

	crcb := make([]byte, 4)
	binary.BigEndian.PutUint32(crcb, crc)
	h := w.Header()
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("X-Goog-Generation", strconv.FormatInt(gen, 10))
	h.Set("X-Goog-Metageneration", "1")
	h.Set("Last-Modified", updated.UTC().Format(http.TimeFormat))
	h.Set("Etag", fmt.Sprintf("%q", base64.StdEncoding.EncodeToString(sum)))
	start, end := 0, len(data)
	if rg := r.Header.Get("Range"); rg != "" {
		var a, z int
		if n, _ := fmt.Sscanf(rg, "bytes=%d-%d", &a, &z); n == 2 && a <= z && a < len(data) {
			start, end = a, min(z+1, len(data))
		} else if n == 1 && a < len(data) {
			start = a
		}
	}
	if start == 0 && end == len(data) {
		h.Set("X-Goog-Hash", "crc32c="+base64.StdEncoding.EncodeToString(crcb)+",md5="+base64.StdEncoding.EncodeToString(sum))
		h.Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
	} else {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, len(data)))
		h.Set("Content-Length", strconv.Itoa(end-start))
		w.WriteHeader(http.StatusPartialContent)
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(data[start:end])
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, bucketName string) {
	q := r.URL.Query()
	if r.Method == http.MethodPut || (r.Method == http.MethodPost && q.Get("upload_id") != "") {
		s.resumeUpload(w, r, q.Get("upload_id"))
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusNotFound, "notFound", "no such endpoint")
		return
	}
	s.mu.Lock()
	exists := s.buckets[bucketName] != nil
	s.mu.Unlock()
	if !exists {
		writeError(w, http.StatusNotFound, "notFound", "The specified bucket does not exist.")
		return
	}
	switch q.Get("uploadType") {
	case "multipart":
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || !strings.HasPrefix(mt, "multipart/") {
			writeError(w, http.StatusBadRequest, "invalid", "multipart upload needs a multipart body")
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		part, err := mr.NextPart()
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid", "missing metadata part")
			return
		}
		var meta map[string]any
		if err := json.NewDecoder(part).Decode(&meta); err != nil {
			writeError(w, http.StatusBadRequest, "invalid", "invalid metadata part")
			return
		}
		part, err = mr.NextPart()
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid", "missing media part")
			return
		}
		if ct := part.Header.Get("Content-Type"); meta["contentType"] == nil && ct != "" {
			meta["contentType"] = ct
		}
		data, err := io.ReadAll(part)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid", "cannot read media part")
			return
		}
		s.finishUpload(w, bucketName, meta, q.Get("ifGenerationMatch"), data)
	case "media":
		data, _ := readBody(r)
		meta := map[string]any{"name": q.Get("name"), "contentType": r.Header.Get("Content-Type")}
		s.finishUpload(w, bucketName, meta, q.Get("ifGenerationMatch"), data)
	case "resumable":
		raw, _ := readBody(r)
		var meta map[string]any
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &meta); err != nil {
				writeError(w, http.StatusBadRequest, "invalid", "invalid metadata")
				return
			}
		}
		if meta == nil {
			meta = map[string]any{}
		}
		if n := q.Get("name"); n != "" {
			meta["name"] = n
		}
		s.mu.Lock()
		s.seq++
		id := fmt.Sprintf("upload-%d", s.seq)
		s.uploads[id] = &upload{bucket: bucketName, meta: meta, ifGenMatch: q.Get("ifGenerationMatch")}
		s.mu.Unlock()
		w.Header().Set("Location", s.URL+"/upload/storage/v1/b/"+url.PathEscape(bucketName)+"/o?uploadType=resumable&upload_id="+id)
		writeJSON(w, http.StatusOK, map[string]any{})
	default:
		writeError(w, http.StatusBadRequest, "invalid", "unsupported uploadType "+q.Get("uploadType"))
	}
}

func (s *Server) resumeUpload(w http.ResponseWriter, r *http.Request, id string) {
	data, _ := readBody(r)
	s.mu.Lock()
	up := s.uploads[id]
	if up == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "notFound", "no such upload")
		return
	}
	// Content-Range: "bytes a-b/total", "bytes a-b/*" or "bytes */total".
	cr := strings.TrimPrefix(r.Header.Get("Content-Range"), "bytes ")
	total := -1
	if cr != "" {
		rng, tot, _ := strings.Cut(cr, "/")
		if tot != "*" {
			t, err := strconv.Atoi(tot)
			if err != nil {
				s.mu.Unlock()
				writeError(w, http.StatusBadRequest, "invalid", "bad Content-Range")
				return
			}
			total = t
		}
		if rng != "*" {
			var a, b int
			if _, err := fmt.Sscanf(rng, "%d-%d", &a, &b); err != nil || b-a+1 != len(data) {
				s.mu.Unlock()
				writeError(w, http.StatusBadRequest, "invalid", "bad Content-Range")
				return
			}
			switch {
			case a == up.buf.Len():
				up.buf.Write(data)
			case a+len(data) <= up.buf.Len():
				// A resent chunk already stored.
			default:
				s.mu.Unlock()
				writeError(w, http.StatusBadRequest, "invalid", "chunk does not continue the upload")
				return
			}
		}
	} else {
		up.buf.Write(data)
		total = up.buf.Len()
	}
	if total >= 0 && up.buf.Len() >= total {
		delete(s.uploads, id)
		s.mu.Unlock()
		s.finishUpload(w, up.bucket, up.meta, up.ifGenMatch, up.buf.Bytes()[:total])
		return
	}
	n := up.buf.Len()
	s.mu.Unlock()
	if n > 0 {
		w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", n-1))
	}
	w.Header().Set("Content-Length", "0")
	if r.Header.Get("X-GUploader-No-308") == "yes" {
		// What the real upload endpoint does for clients that ask: 200
		// with the 308 in a header.
		w.Header().Set("X-Http-Status-Code-Override", "308")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusPermanentRedirect)
}

func (s *Server) finishUpload(w http.ResponseWriter, bucketName string, meta map[string]any, ifGen string, data []byte) {
	name, _ := meta["name"].(string)
	if name == "" {
		writeError(w, http.StatusBadRequest, "required", "Required field 'name' not specified")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		writeError(w, http.StatusNotFound, "notFound", "The specified bucket does not exist.")
		return
	}
	old := b.objects[name]
	if ifGen != "" {
		want, _ := strconv.ParseInt(ifGen, 10, 64)
		if (want == 0 && old != nil) || (want != 0 && (old == nil || old.gen != want)) {
			writeError(w, http.StatusPreconditionFailed, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.")
			return
		}
	}
	sum := md5.Sum(data)
	s.seq++
	o := &object{name: name, data: bytes.Clone(data), gen: s.now().UnixMicro()*10 + int64(s.seq%10),
		updated: s.now(), crc: crc32.Checksum(data, castagnoli), md5: sum[:]}
	o.contentType, _ = meta["contentType"].(string)
	if md, ok := meta["metadata"].(map[string]any); ok {
		o.metadata = md
	}
	if old != nil && o.gen <= old.gen {
		o.gen = old.gen + 1
	}
	b.objects[name] = o
	writeJSON(w, http.StatusOK, objectJSON(b, o))
}
