// Package gcpfake is an in-process Google Cloud server for tests: an
// httptest server that speaks the Compute Engine REST (v1 JSON) and Cloud
// Storage JSON API paths that orocloud-go's GCP provider uses, keeps state in
// memory, completes long-running operations (optionally after a delay), and
// injects faults. Tests (ours and our users') point the real client
// libraries at it:
//
//	srv := gcpfake.New(nil)
//	defer srv.Close()
//	instances, _ := compute.NewInstancesRESTClient(ctx, srv.ClientOptions()...)
//	gcs, _ := storage.NewClient(ctx, srv.StorageClientOptions()...)
//
// # Covered endpoints
//
// Compute Engine, under /compute/v1/projects/{project}/ (any project name is
// accepted; each has its own state):
//
//   - zones (list, with filters and paging) and zones/{zone} (get)
//   - aggregated/{collection} (aggregated list, such as aggregated/instances,
//     with filters; every item in one page)
//   - zones/{zone}/instances: insert, get, list, delete, and the
//     {name}/stop, {name}/start, {name}/setLabels (labelFingerprint checked),
//     {name}/setMetadata (fingerprint checked) actions
//   - regions/{region}/addresses and global/addresses: insert, get, list, delete
//   - global/firewalls: insert, get, list, delete, patch
//   - zones/{zone}/instanceGroups: insert, get, list, delete and the
//     {name}/addInstances, {name}/removeInstances, {name}/listInstances,
//     {name}/setNamedPorts actions
//   - global/healthChecks, global/backendServices, global/urlMaps,
//     global/sslCertificates, global/targetHttpsProxies,
//     global/forwardingRules: insert, get, list, delete, patch (merge) and
//     update (PUT, replace); targetHttpsProxies/{name}/setSslCertificates,
//     targetHttpsProxies/{name}/setUrlMap, global/forwardingRules/{name}/setTarget
//     and setLabels
//   - zones/{zone}/operations/{op}, regions/{region}/operations/{op},
//     global/operations/{op}: get (and .../wait, which returns at once)
//
// Every mutating Compute call returns an Operation (zonal, regional or
// global after the resource's scope). With Options.OperationDelay the
// operation stays RUNNING for that long and the resource shows the
// transitional state (PROVISIONING, STOPPING...) until it is DONE. A
// requestId query parameter is honoured as the real API does: a repeated
// requestId returns the first call's operation without applying the request
// again. List calls honour filter (expressions `field = "v"`, `field != "v"`,
// `field eq regexp`, `field ne regexp` on top-level fields and labels.KEY,
// joined by AND or juxtaposed in parentheses), maxResults and pageToken.
// Errors have the JSON shape of the real API ({"error":{"code","message",
// "errors":[{"reason"}]}}).
//
// Cloud Storage, JSON API:
//
//   - POST /storage/v1/b?project= (create bucket), GET and DELETE
//     /storage/v1/b/{bucket} (delete refuses a non-empty bucket with 409)
//   - GET /storage/v1/b/{bucket}/o (list, prefix, paging)
//   - GET and DELETE /storage/v1/b/{bucket}/o/{object}; GET with alt=media
//     (also under /download/storage/v1/...) streams the content, as does the
//     XML form GET /{bucket}/{object}
//   - POST /upload/storage/v1/b/{bucket}/o with uploadType=multipart, media
//     or resumable, and PUT of resumable chunks (Content-Range, 308 Resume
//     Incomplete); ifGenerationMatch=0 is honoured (412 when the object
//     exists). An object appears only when its upload completes.
//
// # Faults
//
// InjectFault adds a rule that matches requests by method and path
// substring: it answers the Nth matching request (or Times of them, or a
// seeded Rate of them) with a status code and optional Retry-After, delays
// them, drops the connection, and can first apply the request and then fail
// (a 503 or a dropped connection after the insert was applied), which is how
// tests prove that clients never create duplicates. Requests() returns the
// request log (method, path, query, body, status) for request-level
// assertions.
package gcpfake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/api/option"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Regions maps region names to their zones. Default: europe-west3 (a, b,
	// c), europe-west1 (b, c, d), us-central1 (a, b, c, f), us-east1 (b, c, d).
	Regions map[string][]string
	// OperationDelay keeps each operation RUNNING for this long (0: DONE at
	// once).
	OperationDelay time.Duration
	// Latency is added to every request.
	Latency time.Duration
	// MaxPageSize caps the page size of list calls (default 500, the API's).
	MaxPageSize int
}

// DefaultRegions are the regions and zones a Server knows by default.
func DefaultRegions() map[string][]string {
	return map[string][]string{
		"europe-west3": {"europe-west3-a", "europe-west3-b", "europe-west3-c"},
		"europe-west1": {"europe-west1-b", "europe-west1-c", "europe-west1-d"},
		"us-central1":  {"us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"},
		"us-east1":     {"us-east1-b", "us-east1-c", "us-east1-d"},
	}
}

// Request is one logged request.
type Request struct {
	Method string
	// Path is the unescaped URL path; Query the raw query string.
	Path  string
	Query string
	Body  []byte
	// Status is the status code answered (0 for a dropped connection).
	Status int
	// Mutating is true for calls that change state (inserts, deletes,
	// updates, actions other than listInstances, uploads).
	Mutating bool
}

// Fault is a fault injection rule. A request matches when Method (if set)
// equals its method and Path (if set) is a substring of its path (and Query,
// if set, of its raw query).
type Fault struct {
	Method string
	Path   string
	Query  string
	// Nth (1-based) applies the fault from the Nth matching request on, for
	// Times requests (default 1). With Nth 0 and Rate 0 every matching
	// request is faulted (up to Times when set).
	Nth   int
	Times int
	// Rate faults each matching request with this probability, drawn from a
	// generator seeded with Seed.
	Rate float64
	Seed uint64
	// Status is the status code answered (default 503).
	Status int
	// RetryAfter sets the Retry-After header (whole seconds, rounded up).
	RetryAfter time.Duration
	// Latency delays the request (and is the only effect when Status is 0
	// and Drop is false and Latency is set).
	Latency time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// AfterApply processes the request (changing state) before answering
	// with the fault.
	AfterApply bool
	// OperationError, on a mutating Compute call, accepts the request
	// without applying it and returns an operation that ends DONE with this
	// error code (such as "QUOTA_EXCEEDED") and httpErrorStatusCode Status
	// (default 400 here). The HTTP answer itself is 200.
	OperationError string
}

type opFaultKey struct{}

type faultState struct {
	Fault
	seen, fired int
	rng         *rand.Rand
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL ("http://127.0.0.1:port").
	URL string

	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	projects map[string]*project
	buckets  map[string]*bucket
	uploads  map[string]*upload
	zoneDown map[string]bool
	faults   []*faultState
	log      []Request
	seq      int
	now      func() time.Time
}

// New starts a Server on 127.0.0.1. Close it when done.
func New(opts *Options) *Server {
	s := &Server{
		projects: map[string]*project{},
		buckets:  map[string]*bucket{},
		uploads:  map[string]*upload{},
		zoneDown: map[string]bool{},
		now:      time.Now,
	}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Regions == nil {
		s.opts.Regions = DefaultRegions()
	}
	if s.opts.MaxPageSize <= 0 {
		s.opts.MaxPageSize = 500
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// ClientOptions returns the options that point a Compute REST client at the
// server without authentication.
func (s *Server) ClientOptions() []option.ClientOption {
	return []option.ClientOption{option.WithEndpoint(s.URL), option.WithoutAuthentication()}
}

// StorageClientOptions returns the options that point a storage.Client at
// the server's JSON API without authentication.
func (s *Server) StorageClientOptions() []option.ClientOption {
	return []option.ClientOption{option.WithEndpoint(s.URL + "/storage/v1/"), option.WithoutAuthentication()}
}

// SetZoneStatus marks a zone UP (up true) or DOWN in zone listings.
func (s *Server) SetZoneStatus(zone string, up bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zoneDown[zone] = !up
}

// SetOperationDelay changes how long new operations stay RUNNING.
func (s *Server) SetOperationDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.OperationDelay = d
}

// SetLatency changes the latency added to every request.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Latency = d
}

// InjectFault adds a fault rule. Rules are checked in order; the first that
// fires applies.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case f.OperationError != "" && f.Status == 0:
		f.Status = http.StatusBadRequest
	case f.Status == 0 && !f.Drop && f.Latency == 0:
		f.Status = http.StatusServiceUnavailable
	}
	if f.Nth > 0 && f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &faultState{Fault: f, rng: rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))})
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetRequests clears the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Count returns how many logged requests satisfy match (all when nil).
func (s *Server) Count(match func(Request) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if match == nil || match(r) {
			n++
		}
	}
	return n
}

// MutatingRequests returns the logged requests that change state.
func (s *Server) MutatingRequests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.log {
		if r.Mutating {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) pickFault(method, path, query string) *Fault {
	for _, f := range s.faults {
		if f.Method != "" && f.Method != method {
			continue
		}
		if f.Path != "" && !strings.Contains(path, f.Path) {
			continue
		}
		if f.Query != "" && !strings.Contains(query, f.Query) {
			continue
		}
		f.seen++
		if f.Times > 0 && f.fired >= f.Times {
			continue
		}
		fire := true
		switch {
		case f.Nth > 0:
			fire = f.seen >= f.Nth
		case f.Rate > 0:
			fire = f.rng.Float64() < f.Rate
		}
		if fire {
			f.fired++
			c := f.Fault
			return &c
		}
	}
	return nil
}

func isMutating(method, path string) bool {
	if method == http.MethodGet || method == http.MethodHead {
		return false
	}
	if method == http.MethodPost && (strings.HasSuffix(path, "/listInstances") || strings.HasSuffix(path, "/wait")) {
		return false
	}
	return true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "badRequest", "cannot read body")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	s.mu.Lock()
	latency := s.opts.Latency
	fault := s.pickFault(r.Method, r.URL.Path, r.URL.RawQuery)
	idx := len(s.log)
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body, Mutating: isMutating(r.Method, r.URL.Path)})
	s.mu.Unlock()

	if fault != nil {
		latency += fault.Latency
	}
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			s.setStatus(idx, 0)
			return
		}
	}
	if fault != nil && fault.OperationError != "" {
		r = r.WithContext(context.WithValue(r.Context(), opFaultKey{}, fault))
		fault = nil
	}
	if fault != nil && (fault.Status != 0 || fault.Drop) {
		if fault.AfterApply {
			s.route(httptest.NewRecorder(), r)
		}
		if fault.Drop {
			s.setStatus(idx, 0)
			drop(w)
			return
		}
		if fault.RetryAfter > 0 {
			secs := int((fault.RetryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
		s.setStatus(idx, fault.Status)
		writeError(w, fault.Status, reasonFor(fault.Status), fmt.Sprintf("injected fault: %d", fault.Status))
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.route(rec, r)
	s.setStatus(idx, rec.status)
}

func (s *Server) setStatus(idx, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if idx < len(s.log) {
		s.log[idx].Status = status
	}
}

func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "backendError", "connection dropped")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	_ = conn.Close()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/compute/v1/projects/"):
		s.serveCompute(w, r)
	case strings.HasPrefix(p, "/storage/v1/"), strings.HasPrefix(p, "/upload/storage/v1/"), strings.HasPrefix(p, "/download/storage/v1/"):
		s.serveStorage(w, r)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		s.serveXMLRead(w, r)
	default:
		writeError(w, http.StatusNotFound, "notFound", "no such endpoint: "+r.Method+" "+p)
	}
}

func reasonFor(status int) string {
	switch status {
	case 400:
		return "invalid"
	case 403:
		return "forbidden"
	case 404:
		return "notFound"
	case 409:
		return "alreadyExists"
	case 412:
		return "conditionNotMet"
	case 429:
		return "rateLimitExceeded"
	case 500:
		return "backendError"
	case 503:
		return "backendError"
	}
	return "error"
}

func writeError(w http.ResponseWriter, status int, reason, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": msg,
		"errors": []any{map[string]any{"reason": reason, "message": msg, "domain": "global"}},
	}})
}
