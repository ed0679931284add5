package gcpfake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apiBase is the prefix of self links, as the real API writes them.
const apiBase = "https://www.googleapis.com/compute/v1/projects/"

var nameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

type project struct {
	name string
	// res: collection key ("zones/europe-west3-a/instances") -> name -> object.
	res        map[string]map[string]map[string]any
	members    map[string][]string // instance group key -> instance URLs
	ops        map[string]*operation
	requestIDs map[string]*operation
	pending    []*operation
}

type operation struct {
	obj    map[string]any
	doneAt time.Time
	finish func()
	done   bool
}

func (s *Server) project(name string) *project {
	p := s.projects[name]
	if p == nil {
		p = &project{name: name, res: map[string]map[string]map[string]any{}, members: map[string][]string{},
			ops: map[string]*operation{}, requestIDs: map[string]*operation{}}
		s.projects[name] = p
	}
	return p
}

// advance completes the operations that are due.
func (s *Server) advance() {
	now := s.now()
	for _, p := range s.projects {
		n := 0
		for _, op := range p.pending {
			if !op.doneAt.After(now) {
				s.completeOp(op)
				continue
			}
			p.pending[n] = op
			n++
		}
		p.pending = p.pending[:n]
	}
}

func (s *Server) completeOp(op *operation) {
	if op.done {
		return
	}
	op.done = true
	if op.finish != nil {
		op.finish()
	}
	op.obj["status"] = "DONE"
	op.obj["progress"] = 100
	op.obj["endTime"] = s.now().UTC().Format(time.RFC3339Nano)
}

func (s *Server) zoneRegion(zone string) (string, bool) {
	for r, zs := range s.opts.Regions {
		if slices.Contains(zs, zone) {
			return r, true
		}
	}
	return "", false
}

func (s *Server) serveCompute(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/compute/v1/projects/")
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	if len(seg) < 2 || seg[0] == "" {
		writeError(w, http.StatusNotFound, "notFound", "no such endpoint")
		return
	}
	var body map[string]any
	if r.Method != http.MethodGet && r.Method != http.MethodDelete {
		raw, _ := readBody(r)
		if len(strings.TrimSpace(string(raw))) > 0 {
			if err := json.Unmarshal(raw, &body); err != nil {
				writeError(w, http.StatusBadRequest, "parseError", "invalid JSON body")
				return
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	p := s.project(seg[0])
	seg = seg[1:]

	// Aggregated lists (all pages in one answer).
	if seg[0] == "aggregated" && len(seg) == 2 && r.Method == http.MethodGet {
		s.writeAggregated(w, r, p, seg[1])
		return
	}
	// Zones.
	if seg[0] == "zones" && len(seg) <= 2 && r.Method == http.MethodGet {
		zones := s.zoneObjects(p.name)
		if len(seg) == 1 {
			s.writeList(w, r, "compute#zoneList", zones)
			return
		}
		for _, z := range zones {
			if z["name"] == seg[1] {
				writeJSON(w, http.StatusOK, z)
				return
			}
		}
		writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/zones/%s' was not found", p.name, seg[1]))
		return
	}
	if seg[0] == "regions" && len(seg) == 2 && r.Method == http.MethodGet {
		if _, ok := s.opts.Regions[seg[1]]; !ok {
			writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/regions/%s' was not found", p.name, seg[1]))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"kind": "compute#region", "name": seg[1], "status": "UP", "selfLink": apiBase + p.name + "/regions/" + seg[1]})
		return
	}

	// Scope.
	scope := "global"
	switch seg[0] {
	case "zones", "regions":
		if len(seg) < 3 {
			writeError(w, http.StatusNotFound, "notFound", "no such endpoint")
			return
		}
		scope = seg[0] + "/" + seg[1]
		known := false
		if seg[0] == "zones" {
			_, known = s.zoneRegion(seg[1])
		} else {
			_, known = s.opts.Regions[seg[1]]
		}
		if !known {
			writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/%s' was not found", p.name, scope))
			return
		}
		seg = seg[2:]
	case "global":
		seg = seg[1:]
	}
	if len(seg) == 0 {
		writeError(w, http.StatusNotFound, "notFound", "no such endpoint")
		return
	}
	coll := seg[0]
	if coll == "operations" {
		s.serveOperation(w, r, p, scope, seg)
		return
	}
	key := scope + "/" + coll
	switch {
	case len(seg) == 1 && r.Method == http.MethodGet:
		items := make([]map[string]any, 0, len(p.res[key]))
		for _, o := range p.res[key] {
			items = append(items, o)
		}
		s.writeList(w, r, "compute#"+strings.TrimSuffix(coll, "s")+"List", items)
	case len(seg) == 1 && r.Method == http.MethodPost:
		s.mutate(w, r, p, scope, coll, "", "insert", body)
	case len(seg) == 2 && r.Method == http.MethodGet:
		o := p.res[key][seg[1]]
		if o == nil {
			writeNotFound(w, p.name, key, seg[1])
			return
		}
		writeJSON(w, http.StatusOK, o)
	case len(seg) == 2 && r.Method == http.MethodDelete:
		s.mutate(w, r, p, scope, coll, seg[1], "delete", nil)
	case len(seg) == 2 && r.Method == http.MethodPatch:
		s.mutate(w, r, p, scope, coll, seg[1], "patch", body)
	case len(seg) == 2 && r.Method == http.MethodPut:
		s.mutate(w, r, p, scope, coll, seg[1], "update", body)
	case len(seg) == 3 && r.Method == http.MethodPost && seg[2] == "listInstances":
		if p.res[key][seg[1]] == nil {
			writeNotFound(w, p.name, key, seg[1])
			return
		}
		var items []map[string]any
		for _, m := range p.members[key+"/"+seg[1]] {
			items = append(items, map[string]any{"instance": m, "status": "RUNNING", "name": m})
		}
		s.writeList(w, r, "compute#instanceGroupsListInstances", items)
	case len(seg) == 3 && r.Method == http.MethodPost:
		s.mutate(w, r, p, scope, coll, seg[1], seg[2], body)
	default:
		writeError(w, http.StatusNotFound, "notFound", "no such endpoint: "+r.Method+" "+r.URL.Path)
	}
}

func (s *Server) writeAggregated(w http.ResponseWriter, r *http.Request, p *project, coll string) {
	f, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid value for field 'filter': "+err.Error())
		return
	}
	items := map[string]any{}
	for key, col := range p.res {
		scope, ok := strings.CutSuffix(key, "/"+coll)
		if !ok || scope == "global" {
			continue
		}
		var kept []map[string]any
		for _, o := range col {
			if f.match(o) {
				kept = append(kept, o)
			}
		}
		if len(kept) == 0 {
			continue
		}
		slices.SortFunc(kept, func(a, b map[string]any) int { return strings.Compare(a["name"].(string), b["name"].(string)) })
		items[scope] = map[string]any{coll: kept}
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "compute#aggregatedList", "id": "aggregated", "items": items})
}

func writeNotFound(w http.ResponseWriter, project, key, name string) {
	writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/%s/%s' was not found", project, key, name))
}

func (s *Server) zoneObjects(projectName string) []map[string]any {
	var out []map[string]any
	for region, zones := range s.opts.Regions {
		for _, z := range zones {
			status := "UP"
			if s.zoneDown[z] {
				status = "DOWN"
			}
			out = append(out, map[string]any{
				"kind": "compute#zone", "name": z, "status": status,
				"region":   apiBase + projectName + "/regions/" + region,
				"selfLink": apiBase + projectName + "/zones/" + z,
				"id":       strconv.FormatUint(uint64(hash32(z)), 10),
			})
		}
	}
	return out
}

func hash32(s string) uint32 {
	h := sha256.Sum256([]byte(s))
	return uint32(h[0])<<24 | uint32(h[1])<<16 | uint32(h[2])<<8 | uint32(h[3])
}

func fingerprint(v any) string {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(h[:8])
}

func (s *Server) serveOperation(w http.ResponseWriter, r *http.Request, p *project, scope string, seg []string) {
	if len(seg) < 2 || (r.Method != http.MethodGet && !(r.Method == http.MethodPost && len(seg) == 3 && seg[2] == "wait")) {
		writeError(w, http.StatusNotFound, "notFound", "no such endpoint")
		return
	}
	op := p.ops[seg[1]]
	if op == nil || !strings.HasSuffix(op.obj["selfLink"].(string), "/"+scope+"/operations/"+seg[1]) {
		writeNotFound(w, p.name, scope+"/operations", seg[1])
		return
	}
	writeJSON(w, http.StatusOK, op.obj)
}

// mutate runs a mutating call and answers with its operation.
func (s *Server) mutate(w http.ResponseWriter, r *http.Request, p *project, scope, coll, name, verb string, body map[string]any) {
	if rid := r.URL.Query().Get("requestId"); rid != "" {
		if op, ok := p.requestIDs[rid]; ok {
			writeJSON(w, http.StatusOK, op.obj)
			return
		}
	}
	key := scope + "/" + coll
	if p.res[key] == nil {
		p.res[key] = map[string]map[string]any{}
	}
	col := p.res[key]
	now := s.now()
	if f, ok := r.Context().Value(opFaultKey{}).(*Fault); ok {
		if verb == "insert" && body != nil {
			name, _ = body["name"].(string)
		}
		s.failedOp(w, r, p, scope, key, name, verb, f)
		return
	}
	delay := s.opts.OperationDelay
	var finish func()
	var target map[string]any
	fail := func(status int, reason, msg string) { writeError(w, status, reason, msg) }

	if verb == "insert" {
		if body == nil {
			fail(http.StatusBadRequest, "required", "Required field 'resource' not specified")
			return
		}
		name, _ = body["name"].(string)
		if !nameRE.MatchString(name) {
			fail(http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid value for field 'resource.name': '%s'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'", name))
			return
		}
		if col[name] != nil {
			fail(http.StatusConflict, "alreadyExists", fmt.Sprintf("The resource 'projects/%s/%s/%s' already exists", p.name, key, name))
			return
		}
		o := deepCopy(body)
		s.seq++
		o["id"] = strconv.FormatUint(uint64(1_000_000_000+s.seq), 10)
		o["creationTimestamp"] = now.UTC().Format(time.RFC3339Nano)
		o["selfLink"] = apiBase + p.name + "/" + key + "/" + name
		if z, ok := strings.CutPrefix(scope, "zones/"); ok {
			o["zone"] = apiBase + p.name + "/zones/" + z
		}
		if rg, ok := strings.CutPrefix(scope, "regions/"); ok {
			o["region"] = apiBase + p.name + "/regions/" + rg
		}
		switch coll {
		case "instances":
			if mt, _ := o["machineType"].(string); mt == "" {
				fail(http.StatusBadRequest, "required", "Required field 'resource.machineType' not specified")
				return
			}
			if delay > 0 {
				o["status"] = "PROVISIONING"
			} else {
				o["status"] = "RUNNING"
			}
			nics, _ := o["networkInterfaces"].([]any)
			if len(nics) == 0 {
				nics = []any{map[string]any{}}
			}
			for i, n := range nics {
				if nm, ok := n.(map[string]any); ok {
					nm["name"] = fmt.Sprintf("nic%d", i)
					nm["networkIP"] = fmt.Sprintf("10.%d.%d.%d", 128+i, (s.seq/250)%250, 2+s.seq%250)
				}
			}
			o["networkInterfaces"] = nics
			o["labelFingerprint"] = fingerprint(o["labels"])
			md, _ := o["metadata"].(map[string]any)
			if md == nil {
				md = map[string]any{}
			}
			md["fingerprint"] = fingerprint(md["items"])
			o["metadata"] = md
			finish = func() {
				if cur := col[name]; cur != nil && cur["status"] == "PROVISIONING" {
					cur["status"] = "RUNNING"
				}
			}
		case "addresses":
			if _, ok := o["address"]; !ok {
				if scope == "global" {
					o["address"] = fmt.Sprintf("34.120.%d.%d", (s.seq/250)%250, 1+s.seq%250)
				} else {
					o["address"] = fmt.Sprintf("35.198.%d.%d", (s.seq/250)%250, 1+s.seq%250)
				}
			}
			o["status"] = "RESERVED"
			o["labelFingerprint"] = fingerprint(o["labels"])
		case "forwardingRules":
			o["labelFingerprint"] = fingerprint(o["labels"])
		case "instanceGroups":
			o["size"] = 0
		case "sslCertificates":
			if m, ok := o["managed"].(map[string]any); ok {
				m["status"] = "PROVISIONING"
				o["type"] = "MANAGED"
			}
		case "backendServices", "urlMaps", "targetHttpsProxies":
			o["fingerprint"] = fingerprint(o)
		}
		col[name] = o
		target = o
	} else {
		target = col[name]
		if target == nil {
			writeNotFound(w, p.name, key, name)
			return
		}
		switch verb {
		case "delete":
			if user := s.referrer(p, key, name); user != "" {
				fail(http.StatusBadRequest, "resourceInUseByAnotherResource",
					fmt.Sprintf("The %s resource 'projects/%s/%s/%s' is already being used by '%s'", strings.TrimSuffix(coll, "s"), p.name, key, name, user))
				return
			}
			if coll == "instances" {
				target["status"] = "STOPPING"
			}
			finish = func() {
				delete(col, name)
				delete(p.members, key+"/"+name)
				if coll == "instances" {
					url := apiBase + p.name + "/" + key + "/" + name
					for k, ms := range p.members {
						p.members[k] = slices.DeleteFunc(ms, func(m string) bool { return sameResource(m, url) })
					}
				}
			}
		case "patch", "update":
			if body == nil {
				fail(http.StatusBadRequest, "required", "Required field 'resource' not specified")
				return
			}
			keep := map[string]any{}
			for _, k := range []string{"id", "creationTimestamp", "selfLink", "name", "zone", "region", "kind"} {
				if v, ok := target[k]; ok {
					keep[k] = v
				}
			}
			if verb == "update" {
				clear(target)
			}
			for k, v := range deepCopy(body) {
				if v == nil {
					delete(target, k)
					continue
				}
				target[k] = v
			}
			maps.Copy(target, keep)
			delete(target, "fingerprint")
			target["fingerprint"] = fingerprint(target)
		default:
			if !s.action(w, p, key, coll, name, verb, target, body, delay > 0, &finish) {
				return
			}
		}
	}

	// Operation.
	s.seq++
	opName := fmt.Sprintf("operation-%d-%d", now.UnixMilli(), s.seq)
	opObj := map[string]any{
		"kind": "compute#operation", "id": strconv.Itoa(s.seq), "name": opName,
		"operationType": verb, "status": "RUNNING", "progress": 0,
		"targetLink": apiBase + p.name + "/" + key + "/" + name,
		"insertTime": now.UTC().Format(time.RFC3339Nano), "startTime": now.UTC().Format(time.RFC3339Nano),
		"selfLink": apiBase + p.name + "/" + scope + "/operations/" + opName,
		"user":     "fake@example.com",
	}
	if target != nil {
		opObj["targetId"] = target["id"]
	}
	if z, ok := strings.CutPrefix(scope, "zones/"); ok {
		opObj["zone"] = apiBase + p.name + "/zones/" + z
	}
	if rg, ok := strings.CutPrefix(scope, "regions/"); ok {
		opObj["region"] = apiBase + p.name + "/regions/" + rg
	}
	op := &operation{obj: opObj, doneAt: now.Add(delay), finish: finish}
	p.ops[opName] = op
	if rid := r.URL.Query().Get("requestId"); rid != "" {
		p.requestIDs[rid] = op
	}
	if delay <= 0 {
		s.completeOp(op)
	} else {
		p.pending = append(p.pending, op)
	}
	writeJSON(w, http.StatusOK, op.obj)
}

// failedOp answers with an operation that failed without applying the call.
func (s *Server) failedOp(w http.ResponseWriter, r *http.Request, p *project, scope, key, name, verb string, f *Fault) {
	now := s.now()
	s.seq++
	opName := fmt.Sprintf("operation-%d-%d", now.UnixMilli(), s.seq)
	opObj := map[string]any{
		"kind": "compute#operation", "id": strconv.Itoa(s.seq), "name": opName,
		"operationType": verb, "status": "RUNNING", "progress": 0,
		"targetLink":          apiBase + p.name + "/" + key + "/" + name,
		"insertTime":          now.UTC().Format(time.RFC3339Nano),
		"selfLink":            apiBase + p.name + "/" + scope + "/operations/" + opName,
		"httpErrorStatusCode": f.Status, "httpErrorMessage": http.StatusText(f.Status),
		"error": map[string]any{"errors": []any{map[string]any{"code": f.OperationError, "message": "injected operation error: " + f.OperationError}}},
	}
	if z, ok := strings.CutPrefix(scope, "zones/"); ok {
		opObj["zone"] = apiBase + p.name + "/zones/" + z
	}
	if rg, ok := strings.CutPrefix(scope, "regions/"); ok {
		opObj["region"] = apiBase + p.name + "/regions/" + rg
	}
	op := &operation{obj: opObj, doneAt: now.Add(s.opts.OperationDelay)}
	p.ops[opName] = op
	if rid := r.URL.Query().Get("requestId"); rid != "" {
		p.requestIDs[rid] = op
	}
	if s.opts.OperationDelay <= 0 {
		s.completeOp(op)
	} else {
		p.pending = append(p.pending, op)
	}
	writeJSON(w, http.StatusOK, op.obj)
}

// action applies a custom method; it answers and returns false on error.
func (s *Server) action(w http.ResponseWriter, p *project, key, coll, name, verb string, target, body map[string]any, delayed bool, finish *func()) bool {
	bad := func(msg string) bool {
		writeError(w, http.StatusBadRequest, "invalid", msg)
		return false
	}
	if body == nil {
		body = map[string]any{}
	}
	switch coll + "/" + verb {
	case "instances/stop":
		if target["status"] == "TERMINATED" {
			return true
		}
		target["status"] = "STOPPING"
		*finish = func() { target["status"] = "TERMINATED" }
		if !delayed {
			(*finish)()
			*finish = nil
		}
	case "instances/start":
		if target["status"] == "RUNNING" {
			return true
		}
		target["status"] = "STAGING"
		*finish = func() { target["status"] = "RUNNING" }
		if !delayed {
			(*finish)()
			*finish = nil
		}
	case "instances/setLabels", "addresses/setLabels", "forwardingRules/setLabels":
		if fp, _ := body["labelFingerprint"].(string); fp != "" && fp != target["labelFingerprint"] {
			writeError(w, http.StatusPreconditionFailed, "conditionNotMet", "Labels fingerprint either invalid or resource labels have changed")
			return false
		}
		if l, ok := body["labels"]; ok && l != nil {
			target["labels"] = deepCopyAny(l)
		} else {
			delete(target, "labels")
		}
		target["labelFingerprint"] = fingerprint(target["labels"])
	case "instances/setMetadata":
		md, _ := target["metadata"].(map[string]any)
		if fp, _ := body["fingerprint"].(string); fp != "" && md != nil && fp != md["fingerprint"] {
			writeError(w, http.StatusPreconditionFailed, "conditionNotMet", "Supplied fingerprint does not match current metadata fingerprint")
			return false
		}
		nm := map[string]any{"kind": "compute#metadata"}
		if items, ok := body["items"]; ok && items != nil {
			nm["items"] = deepCopyAny(items)
		}
		nm["fingerprint"] = fingerprint(nm["items"])
		target["metadata"] = nm
	case "instanceGroups/addInstances", "instanceGroups/removeInstances":
		refs, _ := body["instances"].([]any)
		mk := key + "/" + name
		for _, ref := range refs {
			m, _ := ref.(map[string]any)
			u, _ := m["instance"].(string)
			if u == "" {
				return bad("Invalid value for field 'instances': missing instance")
			}
			if verb == "addInstances" {
				if !slices.ContainsFunc(p.members[mk], func(x string) bool { return sameResource(x, u) }) {
					p.members[mk] = append(p.members[mk], u)
				}
			} else {
				p.members[mk] = slices.DeleteFunc(p.members[mk], func(x string) bool { return sameResource(x, u) })
			}
		}
		target["size"] = len(p.members[mk])
	case "instanceGroups/setNamedPorts":
		target["namedPorts"] = deepCopyAny(body["namedPorts"])
		target["fingerprint"] = fingerprint(target["namedPorts"])
	case "targetHttpsProxies/setSslCertificates":
		target["sslCertificates"] = deepCopyAny(body["sslCertificates"])
		target["fingerprint"] = fingerprint(target)
	case "targetHttpsProxies/setUrlMap":
		target["urlMap"] = body["urlMap"]
		target["fingerprint"] = fingerprint(target)
	case "forwardingRules/setTarget":
		target["target"] = body["target"]
	default:
		writeError(w, http.StatusNotFound, "notFound", "no such method: "+coll+"."+verb)
		return false
	}
	return true
}

// referrer returns the self link of a resource that refers to key/name, or "".
func (s *Server) referrer(p *project, key, name string) string {
	suffix := "/" + key + "/" + name
	if strings.HasPrefix(key, "zones/") && strings.HasSuffix(key, "/instances") {
		return "" // instances may be deleted while in a group
	}
	for k, col := range p.res {
		for n, o := range col {
			if k == key && n == name {
				continue
			}
			if refersTo(o, suffix) {
				link, _ := o["selfLink"].(string)
				return link
			}
		}
	}
	return ""
}

func refersTo(v any, suffix string) bool {
	switch t := v.(type) {
	case string:
		return strings.HasSuffix(t, suffix) && !strings.Contains(t, "/operations/")
	case map[string]any:
		for k, x := range t {
			if k == "selfLink" {
				continue
			}
			if refersTo(x, suffix) {
				return true
			}
		}
	case []any:
		for _, x := range t {
			if refersTo(x, suffix) {
				return true
			}
		}
	}
	return false
}

// sameResource compares two resource URLs (full or partial) by their path
// from "projects/".
func sameResource(a, b string) bool { return resourcePath(a) == resourcePath(b) }

func resourcePath(u string) string {
	if i := strings.Index(u, "projects/"); i >= 0 {
		return u[i:]
	}
	return u
}

func (s *Server) writeList(w http.ResponseWriter, r *http.Request, kind string, items []map[string]any) {
	q := r.URL.Query()
	f, err := parseFilter(q.Get("filter"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid value for field 'filter': '"+q.Get("filter")+"'. "+err.Error())
		return
	}
	var kept []map[string]any
	for _, it := range items {
		if f.match(it) {
			kept = append(kept, it)
		}
	}
	slices.SortFunc(kept, func(a, b map[string]any) int {
		an, _ := a["name"].(string)
		bn, _ := b["name"].(string)
		return strings.Compare(an, bn)
	})
	size := s.opts.MaxPageSize
	if m, err := strconv.Atoi(q.Get("maxResults")); err == nil && m > 0 && m < size {
		size = m
	}
	start := 0
	if tok := q.Get("pageToken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "page-"))
		if err != nil || n < 0 || n > len(kept) {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid value for field 'pageToken'")
			return
		}
		start = n
	}
	end := min(start+size, len(kept))
	out := map[string]any{"kind": kind, "id": "list", "items": kept[start:end], "selfLink": r.URL.Path}
	if end < len(kept) {
		out["nextPageToken"] = "page-" + strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, out)
}

// Filters.

type cond struct {
	field string
	op    string // "=", "!=", "eq", "ne"
	value string
	re    *regexp.Regexp
}

type filter []cond

var condRE = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(!=|=|\beq\b|\bne\b)\s*(.*?)\s*$`)

func parseFilter(s string) (filter, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var parts []string
	if strings.HasPrefix(s, "(") {
		depth, startIdx := 0, -1
		inQuote := byte(0)
		for i := 0; i < len(s); i++ {
			c := s[i]
			if inQuote != 0 {
				if c == inQuote {
					inQuote = 0
				}
				continue
			}
			switch c {
			case '"', '\'':
				inQuote = c
			case '(':
				if depth == 0 {
					startIdx = i + 1
				}
				depth++
			case ')':
				depth--
				if depth == 0 {
					parts = append(parts, s[startIdx:i])
				}
			default:
				if depth == 0 && c != ' ' && c != '\t' {
					if strings.HasPrefix(s[i:], "AND") {
						i += 2
						continue
					}
					if strings.HasPrefix(s[i:], "OR") {
						return nil, fmt.Errorf("OR is not supported by the fake")
					}
					return nil, fmt.Errorf("unexpected %q", s[i:])
				}
			}
		}
		if depth != 0 {
			return nil, fmt.Errorf("unbalanced parentheses")
		}
	} else {
		parts = splitAND(s)
	}
	var f filter
	for _, p := range parts {
		m := condRE.FindStringSubmatch(p)
		if m == nil {
			return nil, fmt.Errorf("cannot parse %q", p)
		}
		c := cond{field: m[1], op: m[2], value: unquote(m[3])}
		if c.op == "eq" || c.op == "ne" {
			re, err := regexp.Compile("^(?:" + c.value + ")$")
			if err != nil {
				return nil, err
			}
			c.re = re
		}
		f = append(f, c)
	}
	return f, nil
}

func splitAND(s string) []string {
	var out []string
	for _, p := range strings.Split(s, " AND ") {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

func (f filter) match(o map[string]any) bool {
	for _, c := range f {
		v, ok := lookup(o, c.field)
		switch c.op {
		case "=":
			if !ok || v != c.value {
				return false
			}
		case "!=":
			if ok && v == c.value {
				return false
			}
		case "eq":
			if !ok || !c.re.MatchString(v) {
				return false
			}
		case "ne":
			if ok && c.re.MatchString(v) {
				return false
			}
		}
	}
	return true
}

func lookup(o map[string]any, path string) (string, bool) {
	var cur any = o
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		cur, ok = m[k]
		if !ok {
			return "", false
		}
	}
	switch t := cur.(type) {
	case string:
		return t, true
	case nil:
		return "", false
	default:
		return fmt.Sprint(t), true
	}
}

func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c, _ := deepCopyAny(m).(map[string]any)
	return c
}

func deepCopyAny(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, x := range t {
			c[k] = deepCopyAny(x)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, x := range t {
			c[i] = deepCopyAny(x)
		}
		return c
	default:
		return t
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":500,"message":"encoding"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
