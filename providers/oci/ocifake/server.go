// Package ocifake is an in-process fake of the Oracle Cloud Infrastructure
// REST endpoints that providers/oci uses, so tests and examples drive the
// real OCI Go SDK over HTTP without a tenancy.
//
// One httptest listener serves each region (the SDK addresses a region by
// host); all of them share one state. Point the provider at it with
// oci.Options.RegionEndpoints = srv.Endpoints().
//
// Covered endpoints (core and identity under /20160918, Object Storage
// under /n):
//
//	identity  GET    /availabilityDomains, /faultDomains
//	compute   POST   /instances                          LaunchInstance (opc-retry-token)
//	          GET    /instances, /instances/{id}         ListInstances (paged), GetInstance
//	          PUT    /instances/{id}                     UpdateInstance
//	          POST   /instances/{id}?action=             InstanceAction (STOP, SOFTSTOP, START, RESET)
//	          DELETE /instances/{id}                     TerminateInstance
//	          GET    /vnicAttachments                    ListVnicAttachments
//	network   GET/PUT /vnics/{id}                        GetVnic, UpdateVnic (etag, If-Match)
//	          GET    /privateIps?subnetId=|vnicId=       ListPrivateIps (paged)
//	          POST   /publicIps                          CreatePublicIp (opc-retry-token)
//	          GET    /publicIps, /publicIps/{id}         ListPublicIps (paged), GetPublicIp
//	          DELETE /publicIps/{id}                     DeletePublicIp
//	          POST   /networkSecurityGroups              CreateNetworkSecurityGroup (opc-retry-token)
//	          GET    /networkSecurityGroups[/{id}]       ListNetworkSecurityGroups (paged), GetNetworkSecurityGroup
//	          DELETE /networkSecurityGroups/{id}         DeleteNetworkSecurityGroup (409 while VNICs are in it)
//	          POST   /networkSecurityGroups/{id}/actions/addSecurityRules
//	          GET    /networkSecurityGroups/{id}/securityRules, /vnics (paged)
//	storage   GET    /n                                  GetNamespace
//	          POST   /n/{ns}/b                           CreateBucket
//	          GET/DELETE /n/{ns}/b/{bucket}              GetBucket, DeleteBucket (409 BucketNotEmpty)
//	          PUT/GET/HEAD/DELETE /n/{ns}/b/{bucket}/o/{object}  (If-None-Match: *, opc-meta-*)
//	          GET    /n/{ns}/b/{bucket}/o                ListObjects (prefix, start, nextStartWith)
//	          POST   /n/{ns}/b/{bucket}/u                CreateMultipartUpload
//	          PUT/POST/DELETE /n/{ns}/b/{bucket}/u/{object}?uploadId=  UploadPart, Commit, Abort
//
// Every request must be signed: an Authorization header carrying keyId and
// signature (401 NotAuthenticated otherwise); with Options.VerifyKey the
// RSA-SHA256 signature itself is verified. Every response carries an
// opc-request-id. Instances move PROVISIONING -> RUNNING, STOPPING ->
// STOPPED, STARTING -> RUNNING and TERMINATING -> TERMINATED once
// Options.TransitionDelay has passed (evaluated when read). Lists page with
// opc-next-page (Options.PageSize items a page).
//
// Faults: Inject adds a Fault (a status code with an optional Retry-After,
// or a dropped connection, for the Nth matching request, optionally after
// the request was applied, and latency); Options.FaultRate with
// Options.Seed fails a random share of requests with 503. Requests returns
// the request log for assertions.
package ocifake

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure the fake. The zero value serves one region,
// eu-frankfurt-1, with three availability domains.
type Options struct {
	// Regions served; the first is the primary. Default eu-frankfurt-1.
	Regions []string
	// ADs is the number of availability domains per region (default 3);
	// SingleAD lists regions that have one AD (like most OCI regions).
	ADs      int
	SingleAD []string
	// FaultDomains per AD (default 3).
	FaultDomains int
	// Namespace of Object Storage (default "orocloudfake").
	Namespace string
	// PageSize caps list pages (default 50).
	PageSize int
	// Latency is added to every request.
	Latency time.Duration
	// TransitionDelay is how long lifecycle transitions take (0: the next
	// read sees the final state).
	TransitionDelay time.Duration
	// FaultRate is the share of requests (0..1) answered 503 before being
	// applied, drawn from a generator seeded with Seed.
	FaultRate float64
	Seed      uint64
	// AllowUnsigned accepts requests without an Authorization header.
	AllowUnsigned bool
	// VerifyKey, when set, makes the fake verify every request's RSA-SHA256
	// signature (and x-content-sha256 body hash) against this public key,
	// as OCI does: 401 NotAuthenticated on a mismatch.
	VerifyKey *rsa.PublicKey
}

// Fault makes matching requests fail.
type Fault struct {
	// Op is the operation ("LaunchInstance", "PutObject"; see the package
	// doc) or "" for any.
	Op string
	// Region limits the fault to one region ("" for any).
	Region string
	// Nth is the first matching request (1-based) that fails; 0 means 1.
	Nth int
	// Times is how many consecutive matching requests fail from the Nth on
	// (0 means 1; negative means forever).
	Times int
	// Status and Code of the error answer (Status 0 with Drop false only
	// adds Latency).
	Status int
	Code   string
	// RetryAfter is sent as a Retry-After header (whole seconds, rounded
	// up).
	RetryAfter time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// AfterApply applies the request first, then fails or drops: the
	// client cannot tell the change happened.
	AfterApply bool
	// Latency is added to matching requests.
	Latency time.Duration

	seen int
}

// Request is one logged request.
type Request struct {
	Region   string
	Op       string
	Method   string
	Path     string // escaped path
	Query    url.Values
	Header   http.Header
	Body     []byte // JSON request bodies (object content is not kept)
	BodyLen  int64
	Status   int  // 0 when the connection was dropped
	Faulted  bool // answered by an injected fault
	Mutating bool
	// Start is when the request arrived; Elapsed how long it took to
	// answer (latency included).
	Start   time.Time
	Elapsed time.Duration
}

// Server is the fake. Create it with New and Close it when done.
type Server struct {
	opts    Options
	servers map[string]*httptest.Server
	regions []string

	mu     sync.Mutex
	rng    *rand.Rand
	faults []*Fault
	log    []Request
	seq    int
	reqSeq int
	state  map[string]*regionState
	tokens map[string]tokenEntry
	tokMu  sync.Mutex // serialises creates under retry tokens
}

type tokenEntry struct {
	hash   string
	status int
	header http.Header
	body   []byte
}

// New starts the fake's listeners.
func New(opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(o.Regions) == 0 {
		o.Regions = []string{"eu-frankfurt-1"}
	}
	if o.ADs <= 0 {
		o.ADs = 3
	}
	if o.FaultDomains <= 0 {
		o.FaultDomains = 3
	}
	if o.Namespace == "" {
		o.Namespace = "orocloudfake"
	}
	if o.PageSize <= 0 {
		o.PageSize = 50
	}
	s := &Server{
		opts:    o,
		servers: map[string]*httptest.Server{},
		regions: slices.Clone(o.Regions),
		rng:     rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		state:   map[string]*regionState{},
		tokens:  map[string]tokenEntry{},
	}
	for _, r := range o.Regions {
		s.state[r] = newRegionState(r)
		region := r
		s.servers[r] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			s.serve(region, w, req)
		}))
	}
	return s
}

// Close stops every listener.
func (s *Server) Close() {
	for _, h := range s.servers {
		h.CloseClientConnections()
		h.Close()
	}
}

// URL returns the primary region's endpoint (scheme://host:port).
func (s *Server) URL() string { return s.servers[s.regions[0]].URL }

// Region returns the primary region.
func (s *Server) Region() string { return s.regions[0] }

// Endpoints maps each region to its endpoint, for
// oci.Options.RegionEndpoints.
func (s *Server) Endpoints() map[string]string {
	m := map[string]string{}
	for r, h := range s.servers {
		m[r] = h.URL
	}
	return m
}

// Namespace returns the Object Storage namespace.
func (s *Server) Namespace() string { return s.opts.Namespace }

// VCNID and SubnetID are the IDs of the fake's network, for oci.Options.
const (
	VCNID    = "ocid1.vcn.oc1..fakevcn"
	SubnetID = "ocid1.subnet.oc1..fakesubnet"
)

// ADName returns the name of availability domain n (1-based) of region.
func ADName(region string, n int) string {
	return fmt.Sprintf("Fake:%s-AD-%d", strings.ToUpper(region), n)
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault.
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

// ResetLog empties the request log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Count returns how many logged requests have op ("" for all).
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if op == "" || r.Op == op {
			n++
		}
	}
	return n
}

// Mutating returns the logged requests that change state (any method but
// GET and HEAD).
func (s *Server) Mutating() []Request {
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

// response is a handler's answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func jsonResp(status int, v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		return errResp(500, "InternalServerError", err.Error())
	}
	return response{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: b}
}

func errResp(status int, code, msg string) response {
	b, _ := json.Marshal(map[string]string{"code": code, "message": msg})
	return response{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: b}
}

func (r response) withHeader(k, v string) response {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(k, v)
	return r
}

// call is one decoded request.
type call struct {
	region string
	req    *http.Request
	op     string
	segs   []string // unescaped path segments after the version prefix
	body   []byte
	now    time.Time
}

func (c *call) q(name string) string { return c.req.URL.Query().Get(name) }

func (s *Server) serve(region string, w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqSeq++
	reqID := fmt.Sprintf("fake-%s-%06d", region, s.reqSeq)
	s.mu.Unlock()
	w.Header().Set("opc-request-id", reqID)

	var body []byte
	if r.Body != nil {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		body = buf.Bytes()
	}
	c := &call{region: region, req: r, body: body, now: time.Now()}
	handler := s.route(c)
	entry := Request{Region: region, Op: c.op, Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(),
		Header: r.Header.Clone(), BodyLen: int64(len(body)), Start: c.now, Mutating: r.Method != http.MethodGet && r.Method != http.MethodHead}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") && len(body) <= 1<<16 {
		entry.Body = body
	}

	s.mu.Lock()
	var fault *Fault
	var latency = s.opts.Latency
	for _, f := range s.faults {
		if (f.Op != "" && f.Op != c.op) || (f.Region != "" && f.Region != region) {
			continue
		}
		f.seen++
		nth := max(f.Nth, 1)
		times := f.Times
		if times == 0 {
			times = 1
		}
		latency += f.Latency
		if f.seen >= nth && (times < 0 || f.seen < nth+times) && (f.Status != 0 || f.Drop) && fault == nil {
			fault = f
		}
	}
	if fault == nil && s.opts.FaultRate > 0 && s.rng.Float64() < s.opts.FaultRate {
		fault = &Fault{Status: 503, Code: "ServiceUnavailable"}
	}
	s.mu.Unlock()

	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}

	finish := func(status int, faulted bool) {
		entry.Status = status
		entry.Faulted = faulted
		entry.Elapsed = time.Since(c.now)
		s.mu.Lock()
		s.log = append(s.log, entry)
		s.mu.Unlock()
	}
	if !s.opts.AllowUnsigned && (!signed(r) || (s.opts.VerifyKey != nil && verify(r, body, s.opts.VerifyKey) != nil)) {
		writeResp(w, errResp(401, "NotAuthenticated", "The required information to complete authentication was not provided or was incorrect."))
		finish(401, false)
		return
	}
	var resp response
	if fault == nil || fault.AfterApply {
		resp = handler()
	}
	if fault != nil {
		if fault.Drop {
			finish(0, true)
			drop(w)
			return
		}
		code := fault.Code
		if code == "" {
			code = http.StatusText(fault.Status)
		}
		er := errResp(fault.Status, strings.ReplaceAll(code, " ", ""), "injected fault")
		if fault.RetryAfter > 0 {
			er = er.withHeader("Retry-After", strconv.Itoa(int((fault.RetryAfter+time.Second-1)/time.Second)))
		}
		writeResp(w, er)
		finish(fault.Status, true)
		return
	}
	writeResp(w, resp)
	finish(resp.status, false)
}

func writeResp(w http.ResponseWriter, r response) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	if r.status == 0 {
		r.status = 200
	}
	if len(r.body) > 0 || r.header.Get("Content-Length") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(r.body)))
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// signed reports whether r carries an OCI HTTP signature (draft-cavage):
// Authorization: Signature version="1",keyId="...",algorithm=...,
// headers="...",signature="...".
func signed(r *http.Request) bool {
	a := r.Header.Get("Authorization")
	return strings.HasPrefix(a, "Signature ") && strings.Contains(a, `keyId="`) && strings.Contains(a, `signature="`) &&
		!strings.Contains(a, `signature=""`) && !strings.Contains(a, `keyId=""`)
}

// withToken runs create under an opc-retry-token: the same token with the
// same body replays the first answer; with another body it is a 409.
func (s *Server) withToken(c *call, create func() response) response {
	tok := c.req.Header.Get("opc-retry-token")
	if tok == "" {
		return create()
	}
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	key := c.region + "|" + c.op + "|" + tok
	hash := string(c.body)
	s.mu.Lock()
	e, ok := s.tokens[key]
	s.mu.Unlock()
	if ok {
		if e.hash != hash {
			return errResp(409, "RetryTokenConflict", "the retry token was used with a different request")
		}
		return response{status: e.status, header: e.header.Clone(), body: e.body}
	}
	r := create()
	if r.status < 300 {
		s.mu.Lock()
		s.tokens[key] = tokenEntry{hash: hash, status: r.status, header: r.header.Clone(), body: r.body}
		s.mu.Unlock()
	}
	return r
}

// page slices items by the page (an offset) and limit query parameters.
func page[T any](s *Server, c *call, items []T) ([]T, string) {
	start, _ := strconv.Atoi(c.q("page"))
	limit, _ := strconv.Atoi(c.q("limit"))
	if limit <= 0 || limit > s.opts.PageSize {
		limit = s.opts.PageSize
	}
	if start < 0 || start > len(items) {
		start = len(items)
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next
}

func listResp[T any](s *Server, c *call, items []T) response {
	pg, next := page(s, c, items)
	if pg == nil {
		pg = []T{}
	}
	r := jsonResp(200, pg)
	if next != "" {
		r = r.withHeader("opc-next-page", next)
	}
	return r
}

func (s *Server) nextID(kind, region string) string {
	s.seq++
	return fmt.Sprintf("ocid1.%s.oc1.%s.fake%06d", kind, region, s.seq)
}

var authParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

// verify checks the draft-cavage HTTP signature the OCI SDK computes: the
// listed headers ((request-target), host, date, and for bodies
// content-length, content-type, x-content-sha256), signed with RSA-SHA256.
func verify(r *http.Request, body []byte, key *rsa.PublicKey) error {
	params := map[string]string{}
	for _, m := range authParam.FindAllStringSubmatch(r.Header.Get("Authorization"), -1) {
		params[m[1]] = m[2]
	}
	if params["algorithm"] != "rsa-sha256" || params["headers"] == "" {
		return errors.New("unsupported signature algorithm or no signed headers")
	}
	var lines []string
	for _, h := range strings.Fields(params["headers"]) {
		var v string
		switch h {
		case "(request-target)":
			v = strings.ToLower(r.Method) + " " + r.RequestURI
		case "host":
			v = r.Host
		case "content-length":
			if v = r.Header.Get(h); v == "" {
				v = strconv.FormatInt(r.ContentLength, 10)
			}
		default:
			v = r.Header.Get(h)
		}
		lines = append(lines, h+": "+v)
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return err
	}
	if h := r.Header.Get("x-content-sha256"); h != "" {
		sum := sha256.Sum256(body)
		if base64.StdEncoding.EncodeToString(sum[:]) != h {
			return errors.New("x-content-sha256 does not match the body")
		}
	}
	return nil
}
