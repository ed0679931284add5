// Package cloudflarefake is a local Cloudflare API v4 server for tests: an
// httptest server that speaks the wire format of the endpoints package
// cdn/cloudflare uses, keeps their state in memory, and injects faults, so
// tests drive the real cloudflare-go SDK with no network access.
//
// Covered endpoints (all under /client/v4):
//
//	GET    /accounts/{account}/cfd_tunnel                       list (name, is_deleted, uuid, page, per_page)
//	POST   /accounts/{account}/cfd_tunnel                       create (409, code 1013, on a duplicate live name)
//	GET    /accounts/{account}/cfd_tunnel/{id}                  get
//	DELETE /accounts/{account}/cfd_tunnel/{id}                  soft delete (deleted_at set; 400, code 1022, with connectors)
//	GET    /accounts/{account}/cfd_tunnel/{id}/configurations   remote configuration
//	PUT    /accounts/{account}/cfd_tunnel/{id}/configurations   replace it (last ingress rule must be a catch-all)
//	GET    /accounts/{account}/cfd_tunnel/{id}/token            the token cloudflared runs with
//	GET    /zones/{zone}/dns_records                            list (name, name.exact, type, content, page, per_page)
//	POST   /zones/{zone}/dns_records                            create (400, code 81057 / 81053, on duplicates and CNAME conflicts)
//	GET    /zones/{zone}/dns_records/{id}                       get
//	PUT    /zones/{zone}/dns_records/{id}                       overwrite (the type may change)
//	PATCH  /zones/{zone}/dns_records/{id}                       edit the fields sent
//	DELETE /zones/{zone}/dns_records/{id}                       delete
//	GET    /zones/{zone}/settings/{setting}                     ssl, always_use_https, min_tls_version, ...
//	PATCH  /zones/{zone}/settings/{setting}                     {"value": ...}
//
// Every response uses the API's envelope (success, errors, messages, result,
// and result_info on lists). Lists honour page and per_page (capped by
// Options.MaxPerPage) and answer an empty page past the end, which is where
// the SDK's auto-pager stops. Every request must carry
// "Authorization: Bearer <Options.Token>", or gets 403 with code 10000.
// Accounts and zones spring into existence on first use.
package cloudflarefake

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure the server. The zero value is usable.
type Options struct {
	// Token is the API token the server accepts (default DefaultToken).
	Token string
	// MaxPerPage caps per_page on lists (default 100); small values force
	// clients through several pages.
	MaxPerPage int
	// Latency delays every response, to measure call counts against wall
	// time.
	Latency time.Duration
	// Now is the time source for timestamps (default time.Now).
	Now func() time.Time
}

// DefaultToken is the token a server accepts when Options.Token is empty.
const DefaultToken = "fake-cloudflare-api-token"

// Server is a running fake. Close it when done.
type Server struct {
	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	accounts map[string]*account
	zones    map[string]*zone
	faults   []*Fault
	log      []Request
	seq      int
}

type account struct {
	tunnels []*tunnel
}

type tunnel struct {
	ID         string
	Name       string
	Account    string
	CreatedAt  time.Time
	DeletedAt  time.Time
	Secret     string
	Config     json.RawMessage
	Version    int
	Connectors int
}

type zone struct {
	records  []*Record
	settings map[string]any
}

// Record is a DNS record as the fake stores it.
type Record struct {
	ID         string    `json:"id"`
	ZoneID     string    `json:"zone_id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Content    string    `json:"content"`
	Proxied    bool      `json:"proxied"`
	Proxiable  bool      `json:"proxiable"`
	TTL        float64   `json:"ttl"`
	Comment    string    `json:"comment,omitempty"`
	CreatedOn  time.Time `json:"created_on"`
	ModifiedOn time.Time `json:"modified_on"`
}

// Tunnel is a tunnel as the fake reports it.
type Tunnel struct {
	ID        string
	Name      string
	Deleted   bool
	CreatedAt time.Time
	// Ingress is the remote configuration's ingress rules, as
	// [hostname, service] pairs (hostname "" for the catch-all).
	Ingress [][2]string
	// ConfigVersion counts configuration writes.
	ConfigVersion int
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	// Status is the HTTP status answered.
	Status int
}

// Fault makes matching requests fail (or answer a given result).
type Fault struct {
	// Method and Path select requests: Method "" matches any method; Path
	// matches when the request path contains it ("" matches any).
	Method string
	Path   string
	// Status is the HTTP status answered (default 500).
	Status int
	// Code and Message fill the envelope's errors (default 10000 + Status).
	Code    int
	Message string
	// RetryAfter sets the Retry-After header (whole seconds, rounded up).
	RetryAfter time.Duration
	// Times is how many matching requests fail (default 1; -1 forever).
	Times int
	// AfterApply applies the request to the state first, then answers the
	// fault: a response lost after the server acted.
	AfterApply bool
	// Result, when set with a Status below 400, is answered as the
	// envelope's result instead of the real one (a stale read, say).
	Result json.RawMessage
}

// New starts a server. Close it with Close.
func New(opts *Options) *Server {
	s := &Server{accounts: map[string]*account{}, zones: map[string]*zone{}}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Token == "" {
		s.opts.Token = DefaultToken
	}
	if s.opts.MaxPerPage <= 0 {
		s.opts.MaxPerPage = 100
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	mux := http.NewServeMux()
	const v4 = "/client/v4"
	mux.HandleFunc("GET "+v4+"/accounts/{account}/cfd_tunnel", s.listTunnels)
	mux.HandleFunc("POST "+v4+"/accounts/{account}/cfd_tunnel", s.createTunnel)
	mux.HandleFunc("GET "+v4+"/accounts/{account}/cfd_tunnel/{id}", s.getTunnel)
	mux.HandleFunc("DELETE "+v4+"/accounts/{account}/cfd_tunnel/{id}", s.deleteTunnel)
	mux.HandleFunc("GET "+v4+"/accounts/{account}/cfd_tunnel/{id}/configurations", s.getConfig)
	mux.HandleFunc("PUT "+v4+"/accounts/{account}/cfd_tunnel/{id}/configurations", s.putConfig)
	mux.HandleFunc("GET "+v4+"/accounts/{account}/cfd_tunnel/{id}/token", s.getToken)
	mux.HandleFunc("GET "+v4+"/zones/{zone}/dns_records", s.listRecords)
	mux.HandleFunc("POST "+v4+"/zones/{zone}/dns_records", s.createRecord)
	mux.HandleFunc("GET "+v4+"/zones/{zone}/dns_records/{id}", s.getRecord)
	mux.HandleFunc("PUT "+v4+"/zones/{zone}/dns_records/{id}", s.putRecord)
	mux.HandleFunc("PATCH "+v4+"/zones/{zone}/dns_records/{id}", s.patchRecord)
	mux.HandleFunc("DELETE "+v4+"/zones/{zone}/dns_records/{id}", s.deleteRecord)
	mux.HandleFunc("GET "+v4+"/zones/{zone}/settings/{setting}", s.getSetting)
	mux.HandleFunc("PATCH "+v4+"/zones/{zone}/settings/{setting}", s.patchSetting)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, 7000, "No route for that URI")
	})
	s.srv = httptest.NewServer(s.middleware(mux))
	return s
}

// URL is the API base URL to give the client ("http://127.0.0.1:port/client/v4/").
func (s *Server) URL() string { return s.srv.URL + "/client/v4/" }

// Token is the API token the server accepts.
func (s *Server) Token() string { return s.opts.Token }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Inject adds a fault. Faults are matched in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	s.faults = append(s.faults, &f)
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// CountRequests returns how many requests matched method ("" any) and had
// a path containing path.
func (s *Server) CountRequests(method, path string) int {
	n := 0
	for _, r := range s.Requests() {
		if (method == "" || r.Method == method) && strings.Contains(r.Path, path) {
			n++
		}
	}
	return n
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Tunnels returns the tunnels of account, deleted ones included, in
// creation order.
func (s *Server) Tunnels(accountID string) []Tunnel {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[accountID]
	if a == nil {
		return nil
	}
	out := make([]Tunnel, 0, len(a.tunnels))
	for _, t := range a.tunnels {
		tt := Tunnel{ID: t.ID, Name: t.Name, Deleted: !t.DeletedAt.IsZero(), CreatedAt: t.CreatedAt, ConfigVersion: t.Version}
		var cfg struct {
			Ingress []struct{ Hostname, Service string } `json:"ingress"`
		}
		_ = json.Unmarshal(t.Config, &cfg)
		for _, in := range cfg.Ingress {
			tt.Ingress = append(tt.Ingress, [2]string{in.Hostname, in.Service})
		}
		out = append(out, tt)
	}
	return out
}

// TunnelToken returns the token of a tunnel ("" when missing).
func (s *Server) TunnelToken(accountID, tunnelID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.findTunnel(accountID, tunnelID); t != nil {
		return tokenOf(t)
	}
	return ""
}

// SetConnectors sets how many cloudflared connectors a tunnel has; a tunnel
// with connectors cannot be deleted.
func (s *Server) SetConnectors(accountID, tunnelID string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.findTunnel(accountID, tunnelID); t != nil {
		t.Connectors = n
	}
}

// Records returns the DNS records of zone, in creation order.
func (s *Server) Records(zoneID string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zoneID]
	if z == nil {
		return nil
	}
	out := make([]Record, len(z.records))
	for i, r := range z.records {
		out[i] = *r
	}
	return out
}

// AddRecord seeds a DNS record (bypassing the API's conflict rules) and
// returns it with its ID.
func (s *Server) AddRecord(zoneID string, r Record) Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zone(zoneID)
	now := s.opts.Now().UTC()
	r.ID = s.newID()
	r.ZoneID = zoneID
	r.Name = normName(r.Name)
	r.CreatedOn, r.ModifiedOn = now, now
	if r.TTL == 0 {
		r.TTL = 1
	}
	z.records = append(z.records, &r)
	return r
}

// Setting returns a zone setting's value (nil when unset).
func (s *Server) Setting(zoneID, setting string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.zone(zoneID).settings[setting]
}

// ---- plumbing ----

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.mu.Lock()
			s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
				Header: r.Header.Clone(), Body: body, Status: rec.status})
			s.mu.Unlock()
		}()
		if s.opts.Latency > 0 {
			t := time.NewTimer(s.opts.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
			writeErr(rec, http.StatusForbidden, 10000, "Authentication error")
			return
		}
		f := s.takeFault(r)
		if f == nil {
			next.ServeHTTP(rec, r)
			return
		}
		if f.AfterApply {
			next.ServeHTTP(discard{}, r)
		}
		if f.RetryAfter > 0 {
			rec.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		if f.Status < 400 {
			writeJSON(rec, f.Status, envelope{Success: true, Errors: []apiErr{}, Messages: []apiErr{}, Result: f.Result})
			return
		}
		code, msg := f.Code, f.Message
		if code == 0 {
			code = 10000 + f.Status
		}
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		writeErr(rec, f.Status, code, msg)
	})
}

func (s *Server) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.Contains(r.URL.Path, f.Path) {
			if f.Times > 0 {
				f.Times--
				if f.Times == 0 {
					s.faults = slices.Delete(s.faults, i, i+1)
				}
			}
			return f
		}
	}
	return nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

type apiErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

type envelope struct {
	Success    bool        `json:"success"`
	Errors     []apiErr    `json:"errors"`
	Messages   []apiErr    `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *resultInfo `json:"result_info,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOK(w http.ResponseWriter, result any) {
	writeJSON(w, http.StatusOK, envelope{Success: true, Errors: []apiErr{}, Messages: []apiErr{}, Result: result})
}

func writeErr(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, envelope{Success: false, Errors: []apiErr{{Code: code, Message: msg}}, Messages: []apiErr{}, Result: nil})
}

// page slices items by the request's page and per_page.
func page[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T) {
	q := r.URL.Query()
	p, _ := strconv.Atoi(q.Get("page"))
	if p < 1 {
		p = 1
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per < 1 || per > s.opts.MaxPerPage {
		per = s.opts.MaxPerPage
	}
	start := min((p-1)*per, len(items))
	end := min(start+per, len(items))
	out := items[start:end]
	if out == nil {
		out = []T{}
	}
	writeJSON(w, http.StatusOK, envelope{Success: true, Errors: []apiErr{}, Messages: []apiErr{}, Result: out,
		ResultInfo: &resultInfo{Page: p, PerPage: per, Count: len(out), TotalCount: len(items),
			TotalPages: (len(items) + per - 1) / per}})
}

func (s *Server) newID() string {
	s.seq++
	return fmt.Sprintf("%032x", s.seq)
}

func (s *Server) newUUID() string {
	s.seq++
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", 0x0c1f1a2e, s.seq>>16&0xffff, s.seq>>8&0xfff, s.seq&0xfff, s.seq)
}

func (s *Server) zone(id string) *zone {
	z := s.zones[id]
	if z == nil {
		z = &zone{settings: map[string]any{"ssl": "flexible", "always_use_https": "off", "min_tls_version": "1.0"}}
		s.zones[id] = z
	}
	return z
}

func (s *Server) account(id string) *account {
	a := s.accounts[id]
	if a == nil {
		a = &account{}
		s.accounts[id] = a
	}
	return a
}

func decode(r *http.Request, v any) error {
	return json.NewDecoder(r.Body).Decode(v)
}

func normName(n string) string { return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), ".")) }

// ---- tunnels ----

func (s *Server) tunnelJSON(t *tunnel) map[string]any {
	var deleted any
	if !t.DeletedAt.IsZero() {
		deleted = t.DeletedAt
	}
	status := "inactive"
	if t.Connectors > 0 {
		status = "healthy"
	}
	return map[string]any{
		"id": t.ID, "account_tag": t.Account, "name": t.Name, "created_at": t.CreatedAt,
		"deleted_at": deleted, "config_src": "cloudflare", "remote_config": true,
		"status": status, "tun_type": "cfd_tunnel", "connections": []any{}, "metadata": map[string]any{},
	}
}

func (s *Server) findTunnel(accountID, id string) *tunnel {
	a := s.accounts[accountID]
	if a == nil {
		return nil
	}
	for _, t := range a.tunnels {
		if t.ID == id {
			return t
		}
	}
	return nil
}

func (s *Server) listTunnels(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	var out []map[string]any
	for _, t := range s.account(r.PathValue("account")).tunnels {
		if n := q.Get("name"); n != "" && t.Name != n {
			continue
		}
		if u := q.Get("uuid"); u != "" && t.ID != u {
			continue
		}
		switch q.Get("is_deleted") {
		case "true":
			if t.DeletedAt.IsZero() {
				continue
			}
		case "false":
			if !t.DeletedAt.IsZero() {
				continue
			}
		}
		out = append(out, s.tunnelJSON(t))
	}
	page(s, w, r, out)
}

func (s *Server) createTunnel(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name      string `json:"name"`
		ConfigSrc string `json:"config_src"`
	}
	if err := decode(r, &in); err != nil || strings.TrimSpace(in.Name) == "" {
		writeErr(w, http.StatusBadRequest, 1003, "Invalid request: tunnel name is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := r.PathValue("account")
	a := s.account(acct)
	for _, t := range a.tunnels {
		if t.Name == in.Name && t.DeletedAt.IsZero() {
			writeErr(w, http.StatusConflict, 1013, "You already have a tunnel with this name")
			return
		}
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	t := &tunnel{ID: s.newUUID(), Name: in.Name, Account: acct, CreatedAt: s.opts.Now().UTC(),
		Secret: base64.StdEncoding.EncodeToString(secret)}
	a.tunnels = append(a.tunnels, t)
	writeOK(w, s.tunnelJSON(t))
}

func (s *Server) liveTunnel(w http.ResponseWriter, r *http.Request) *tunnel {
	t := s.findTunnel(r.PathValue("account"), r.PathValue("id"))
	if t == nil || !t.DeletedAt.IsZero() {
		writeErr(w, http.StatusNotFound, 1003, "Tunnel not found")
		return nil
	}
	return t
}

func (s *Server) getTunnel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.findTunnel(r.PathValue("account"), r.PathValue("id"))
	if t == nil {
		writeErr(w, http.StatusNotFound, 1003, "Tunnel not found")
		return
	}
	writeOK(w, s.tunnelJSON(t))
}

func (s *Server) deleteTunnel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.liveTunnel(w, r)
	if t == nil {
		return
	}
	if t.Connectors > 0 {
		writeErr(w, http.StatusBadRequest, 1022, "Cannot delete tunnel because it has active connections")
		return
	}
	t.DeletedAt = s.opts.Now().UTC()
	writeOK(w, s.tunnelJSON(t))
}

func (s *Server) configJSON(t *tunnel) map[string]any {
	cfg := any(nil)
	if len(t.Config) > 0 {
		cfg = t.Config
	}
	return map[string]any{"account_id": t.Account, "tunnel_id": t.ID, "version": t.Version,
		"config": cfg, "source": "cloudflare", "created_at": t.CreatedAt}
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.liveTunnel(w, r); t != nil {
		writeOK(w, s.configJSON(t))
	}
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Config json.RawMessage `json:"config"`
	}
	if err := decode(r, &in); err != nil {
		writeErr(w, http.StatusBadRequest, 1003, "Invalid request body")
		return
	}
	var cfg struct {
		Ingress []struct{ Hostname, Service string } `json:"ingress"`
	}
	if err := json.Unmarshal(in.Config, &cfg); err != nil || len(cfg.Ingress) == 0 {
		writeErr(w, http.StatusBadRequest, 1055, "Validation failed: at least one ingress rule is required")
		return
	}
	for i, in := range cfg.Ingress {
		if in.Service == "" {
			writeErr(w, http.StatusBadRequest, 1055, fmt.Sprintf("Validation failed: ingress rule %d has no service", i))
			return
		}
	}
	if last := cfg.Ingress[len(cfg.Ingress)-1]; last.Hostname != "" {
		writeErr(w, http.StatusBadRequest, 1055, "Validation failed: the last ingress rule must match all requests (no hostname)")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.liveTunnel(w, r)
	if t == nil {
		return
	}
	t.Config = in.Config
	t.Version++
	writeOK(w, s.configJSON(t))
}

func tokenOf(t *tunnel) string {
	b, _ := json.Marshal(map[string]string{"a": t.Account, "t": t.ID, "s": t.Secret})
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.liveTunnel(w, r); t != nil {
		writeOK(w, tokenOf(t))
	}
}

// ---- DNS records ----

type recordIn struct {
	Name    *string  `json:"name"`
	Type    *string  `json:"type"`
	Content *string  `json:"content"`
	Proxied *bool    `json:"proxied"`
	TTL     *float64 `json:"ttl"`
	Comment *string  `json:"comment"`
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	name := q.Get("name")
	if name == "" {
		name = q.Get("name.exact")
	}
	content := q.Get("content")
	if content == "" {
		content = q.Get("content.exact")
	}
	out := []Record{}
	for _, rec := range s.zone(r.PathValue("zone")).records {
		if name != "" && rec.Name != normName(name) {
			continue
		}
		if t := q.Get("type"); t != "" && rec.Type != t {
			continue
		}
		if content != "" && !strings.EqualFold(rec.Content, content) {
			continue
		}
		out = append(out, *rec)
	}
	page(s, w, r, out)
}

func validateRecord(rec *Record) (int, string) {
	switch {
	case rec.Name == "":
		return 9005, "DNS Validation Error: name is required"
	case rec.Type == "":
		return 9004, "DNS Validation Error: type is required"
	case rec.Content == "":
		return 9021, "DNS Validation Error: content is required"
	case rec.TTL != 1 && (rec.TTL < 30 || rec.TTL > 86400):
		return 9006, "DNS Validation Error: ttl must be 1 (automatic) or between 30 and 86400"
	}
	switch rec.Type {
	case "A", "AAAA", "CNAME":
		rec.Proxiable = true
		if rec.Proxied {
			rec.TTL = 1 // proxied records always have an automatic TTL
		}
	default:
		if rec.Proxied {
			return 9041, "This record type cannot be proxied."
		}
	}
	return 0, ""
}

// conflict returns the Cloudflare error for rec against the zone's other
// records: 81053 (an A, AAAA or CNAME with that host already exists) when a
// CNAME would share its name with an address record, 81057 for an
// identical record.
func conflict(z *zone, rec *Record) (int, string) {
	for _, o := range z.records {
		if o.ID == rec.ID || o.Name != rec.Name {
			continue
		}
		cn := rec.Type == "CNAME" || o.Type == "CNAME"
		addr := func(t string) bool { return t == "A" || t == "AAAA" || t == "CNAME" }
		if cn && addr(rec.Type) && addr(o.Type) {
			return 81053, "An A, AAAA, or CNAME record with that host already exists."
		}
		if o.Type == rec.Type && strings.EqualFold(o.Content, rec.Content) {
			return 81057, "Record already exists."
		}
	}
	return 0, ""
}

func applyIn(rec *Record, in recordIn) {
	if in.Name != nil {
		rec.Name = normName(*in.Name)
	}
	if in.Type != nil {
		rec.Type = strings.ToUpper(*in.Type)
	}
	if in.Content != nil {
		rec.Content = strings.TrimSuffix(*in.Content, ".")
	}
	if in.Proxied != nil {
		rec.Proxied = *in.Proxied
	}
	if in.TTL != nil {
		rec.TTL = *in.TTL
	}
	if in.Comment != nil {
		rec.Comment = *in.Comment
	}
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) {
	var in recordIn
	if err := decode(r, &in); err != nil {
		writeErr(w, http.StatusBadRequest, 9207, "Request body is invalid.")
		return
	}
	rec := &Record{TTL: 1}
	applyIn(rec, in)
	if code, msg := validateRecord(rec); code != 0 {
		writeErr(w, http.StatusBadRequest, code, msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	zid := r.PathValue("zone")
	z := s.zone(zid)
	if code, msg := conflict(z, rec); code != 0 {
		writeErr(w, http.StatusBadRequest, code, msg)
		return
	}
	now := s.opts.Now().UTC()
	rec.ID, rec.ZoneID, rec.CreatedOn, rec.ModifiedOn = s.newID(), zid, now, now
	z.records = append(z.records, rec)
	writeOK(w, rec)
}

func (s *Server) findRecord(w http.ResponseWriter, r *http.Request) (*zone, *Record) {
	z := s.zone(r.PathValue("zone"))
	for _, rec := range z.records {
		if rec.ID == r.PathValue("id") {
			return z, rec
		}
	}
	writeErr(w, http.StatusNotFound, 81044, "Record does not exist.")
	return z, nil
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, rec := s.findRecord(w, r); rec != nil {
		writeOK(w, rec)
	}
}

func (s *Server) writeRecord(w http.ResponseWriter, r *http.Request, replace bool) {
	var in recordIn
	if err := decode(r, &in); err != nil {
		writeErr(w, http.StatusBadRequest, 9207, "Request body is invalid.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, cur := s.findRecord(w, r)
	if cur == nil {
		return
	}
	next := *cur
	if replace {
		next.Proxied, next.TTL, next.Comment = false, 1, ""
	}
	applyIn(&next, in)
	if code, msg := validateRecord(&next); code != 0 {
		writeErr(w, http.StatusBadRequest, code, msg)
		return
	}
	if code, msg := conflict(z, &next); code != 0 {
		writeErr(w, http.StatusBadRequest, code, msg)
		return
	}
	next.ModifiedOn = s.opts.Now().UTC()
	*cur = next
	writeOK(w, cur)
}

func (s *Server) putRecord(w http.ResponseWriter, r *http.Request)   { s.writeRecord(w, r, true) }
func (s *Server) patchRecord(w http.ResponseWriter, r *http.Request) { s.writeRecord(w, r, false) }

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, rec := s.findRecord(w, r)
	if rec == nil {
		return
	}
	z.records = slices.DeleteFunc(z.records, func(o *Record) bool { return o.ID == rec.ID })
	writeOK(w, map[string]string{"id": rec.ID})
}

// ---- zone settings ----

var settingValues = map[string][]string{
	"ssl":              {"off", "flexible", "full", "strict"},
	"always_use_https": {"on", "off"},
	"min_tls_version":  {"1.0", "1.1", "1.2", "1.3"},
	"tls_1_3":          {"on", "off", "zrt"},
}

func (s *Server) settingJSON(id string, v any) map[string]any {
	return map[string]any{"id": id, "value": v, "editable": true, "modified_on": s.opts.Now().UTC()}
}

func (s *Server) getSetting(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("setting")
	v, ok := s.zone(r.PathValue("zone")).settings[id]
	if !ok {
		writeErr(w, http.StatusNotFound, 1003, "Invalid or missing zone setting: "+id)
		return
	}
	writeOK(w, s.settingJSON(id, v))
}

func (s *Server) patchSetting(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Value any `json:"value"`
	}
	if err := decode(r, &in); err != nil || in.Value == nil {
		writeErr(w, http.StatusBadRequest, 1007, "Invalid value for zone setting")
		return
	}
	id := r.PathValue("setting")
	if allowed, ok := settingValues[id]; ok {
		str, _ := in.Value.(string)
		if !slices.Contains(allowed, str) {
			writeErr(w, http.StatusBadRequest, 1007, fmt.Sprintf("Invalid value for zone setting %s: %v", id, in.Value))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zone(r.PathValue("zone")).settings[id] = in.Value
	writeOK(w, s.settingJSON(id, in.Value))
}
