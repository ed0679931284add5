package environment

import (
	"errors"
	"fmt"
	"math"
	"net/mail"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orocloud/orocloud-go/providers"
)

// Violation is one broken rule of an environment.
type Violation struct {
	// Field is the path of the offending field, with the JSON/YAML names:
	// "web.nodes", "smtp.relays[1].priority", "labels.team". It is empty
	// for a nil environment.
	Field string
	// Rule is the rule that is broken, in a sentence fragment.
	Rule string
	// Hint says how to fix it, when there is something useful to say.
	Hint string
}

// String renders "field: rule (hint)".
func (v Violation) String() string {
	s := v.Rule
	if v.Field != "" {
		s = v.Field + ": " + s
	}
	if v.Hint != "" {
		s += " (" + v.Hint + ")"
	}
	return s
}

// ValidationError lists every violation found in an environment. Its code is
// InvalidArgument: errors.Is(err, providers.ErrInvalidArgument) is true and
// providers.Code(err) is providers.InvalidArgument.
type ValidationError struct {
	// Environment is the name of the environment checked.
	Environment string
	// Violations lists every problem, in the order of the spec's fields.
	Violations []Violation
}

// Error lists every violation, one per line after a summary line.
func (e *ValidationError) Error() string {
	if e == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "environment %q: InvalidArgument: %d violation", e.Environment, len(e.Violations))
	if len(e.Violations) != 1 {
		b.WriteByte('s')
	}
	b.WriteByte(':')
	for _, v := range e.Violations {
		b.WriteString("\n  - ")
		b.WriteString(v.String())
	}
	return b.String()
}

// Unwrap returns a *providers.Error with code InvalidArgument, so that
// errors.Is(err, providers.ErrInvalidArgument) and providers.Code work.
func (e *ValidationError) Unwrap() error {
	if e == nil {
		return nil
	}
	return &providers.Error{Code: providers.InvalidArgument, Op: "environment.Validate", Resource: e.Environment,
		Msg: fmt.Sprintf("%d violations", len(e.Violations))}
}

// Fields returns the Field of every violation, in order.
func (e *ValidationError) Fields() []string {
	if e == nil {
		return nil
	}
	out := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		out[i] = v.Field
	}
	return out
}

// Has reports whether some violation names field.
func (e *ValidationError) Has(field string) bool {
	return e != nil && slices.ContainsFunc(e.Violations, func(v Violation) bool { return v.Field == field })
}

// violations collects violations.
type violations struct{ list []Violation }

func (vs *violations) add(field, rule, hint string) {
	vs.list = append(vs.list, Violation{Field: field, Rule: rule, Hint: hint})
}

func (vs *violations) has(field string) bool {
	return slices.ContainsFunc(vs.list, func(v Violation) bool { return v.Field == field })
}

func (vs *violations) err(env string) error {
	if len(vs.list) == 0 {
		return nil
	}
	return &ValidationError{Environment: env, Violations: vs.list}
}

var (
	envNameRE      = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)
	gcpProjectRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	ociOCIDRE      = regexp.MustCompile(`^ocid1\.(compartment|tenancy)\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9]+$`)
	ociADRE        = regexp.MustCompile(`^([A-Za-z0-9]+:)?([A-Z0-9-]+)-AD-[1-9]$`)
	memZoneRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9:._-]{0,62}$`)
	hhmmRE         = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)
	cfIDRE         = regexp.MustCompile(`^[0-9a-f]{32}$`)
	labelKeyRE     = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	labelValueRE   = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
	dnsLabelRE     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	pgVersionRE    = regexp.MustCompile(`^([0-9]{2})(\.[0-9]+)?$`)
	reservedRules  = []string{"internal", "lb-web", "public-web"}
	reservedLabels = []string{providers.LabelEnvironment, providers.LabelTier, providers.LabelRole, providers.LabelManagedBy}
)

// Validate checks the environment against every rule of the reference
// architecture and returns nil or a *ValidationError listing every violation
// at once. The rules:
//
//   - name: 1 to 40 characters, lower case letters, digits and '-', starting
//     with a letter and not ending with '-' (valid on GCP and OCI, with room
//     for node suffixes);
//   - provider: gcp, oci or memory; project: a GCP project ID or an OCI
//     compartment/tenancy OCID when set;
//   - region: in the catalog for GCP and OCI (see Regions), any well-formed
//     name for memory;
//   - zones, when given: at least 2, unique, named as the provider names its
//     zones in that region (GCP "<region>-<letter>", OCI availability
//     domains "…<REGION>-AD-<n>");
//   - every tier sized within 0..MaxTierNodes; machine sizes not negative;
//   - web: at least 2 nodes, spread over at least 2 zones so that a zone loss
//     leaves a web node;
//   - PostgreSQL: the primary and the secondary (the failover target) in
//     different zones; replicas not negative; version "NN" or "NN.N" (13 or
//     later);
//   - Elasticsearch, RabbitMQ and GridFS need a majority of their nodes
//     (master election, quorum queues, replica-set election): at least 3
//     nodes, and no zone may hold half of them or more, so that the loss of
//     any one zone leaves a majority. Over 3 zones every size from 3 works
//     except 4 (2+1+1: losing the zone with 2 leaves 2 of 4, no majority);
//     over 2 zones no size works;
//   - Redis with Sentinel: at least 3 nodes (each runs a Sentinel); the
//     Sentinel quorum is a majority of the nodes; a zone loss must leave a
//     majority of the Sentinels (needed to authorise a failover) and at
//     least quorum Sentinels (needed to agree the master is down): quorum
//     ≤ nodes − the largest zone's share;
//   - consumers: at least 1 consumer process over at least 2 hosts, and no
//     more hosts than processes; hosts spread so that a zone loss leaves one;
//   - SMTP: at least 2 relays (each its own node, spread over zones) with
//     unique valid names and priorities in 0..65535, and at least two
//     distinct priorities: the reference runs relays "with different
//     priorities", a preferred relay and a fallback;
//   - CDN: kind google-cdn, cloudflare or other; google-cdn only on GCP (or
//     the memory provider, which emulates it), with settings that pass
//     providers.CDNPolicy.Validate; cloudflare needs the account ID and zone
//     ID (32 hexadecimal characters each); other needs a name; at least one
//     well-formed, unique hostname (a leading "*." is allowed); settings of
//     one kind are refused with another kind;
//   - ingress rules: a valid, unique name (not internal, lb-web or
//     public-web, which the SDK uses), a known tier, at least one port in
//     1..65535, at least one source range in canonical CIDR form; with
//     Cloudflare no rule may open the web nodes to the internet (0.0.0.0/0
//     or ::/0): Zero Trust means no public entry point;
//   - maintenance window: an English weekday, start "HH:MM", duration 30m to
//     12h, a loadable IANA time zone (not "Local");
//   - DR region: set or defaultable (DefaultDRRegion), different from the
//     region, known for the provider;
//   - technical contact: a name and a well-formed email address;
//   - labels: GCP label syntax (keys start with a letter; lower case
//     letters, digits, '-' and '_'; at most 63 characters), none of the
//     keys the SDK sets.
//
// The zone rules are checked on the placement (Place) over the zones the
// environment names, or over three assumed failure domains when it names
// none (both clouds offer three: GCP zones, OCI availability domains or the
// fault domains of a single-domain region); ValidateZones checks them
// against a region's real zones.
func (e *Environment) Validate() error {
	if e == nil {
		return &ValidationError{Violations: []Violation{{Rule: "environment is nil", Hint: "use Standard or Load"}}}
	}
	vs := &violations{}
	e.checkStatic(vs)
	e.checkPlacement(vs, e.assumedZones(), nil)
	return vs.err(e.Name)
}

// ValidateZones checks the zone and placement rules against a region's real
// zones, as Plan sees them: the zones the environment names must exist, and
// the placement over the zones (see Place) must keep every tier serving
// after the loss of any one zone, counting zones that are down as already
// lost. It returns nil or a *ValidationError. Call Validate first for the
// other rules.
func (e *Environment) ValidateZones(zones []providers.Zone) error {
	if e == nil {
		return &ValidationError{Violations: []Violation{{Rule: "environment is nil", Hint: "use Standard or Load"}}}
	}
	vs := &violations{}
	byName := map[string]providers.Zone{}
	for _, z := range zones {
		byName[z.Name] = z
	}
	down := map[string]bool{}
	for i, name := range e.Zones {
		z, ok := byName[name]
		switch {
		case !ok:
			vs.add(fmt.Sprintf("zones[%d]", i), fmt.Sprintf("zone %q is not a zone of region %q", name, e.Region), "list the region's zones with the provider")
		case !z.Up:
			vs.add(fmt.Sprintf("zones[%d]", i), fmt.Sprintf("zone %q is down", name), "wait for the zone to recover or name another zone")
		}
	}
	for _, z := range zones {
		if !z.Up {
			down[z.Name] = true
		}
	}
	if len(vs.list) > 0 {
		return vs.err(e.Name)
	}
	if len(zones) == 0 {
		vs.add("zones", "the region has no zone", "check the region name and the provider's credentials")
		return vs.err(e.Name)
	}
	e.checkPlacement(vs, zones, down)
	return vs.err(e.Name)
}

// assumedZones returns the failure domains Validate places over: the named
// zones, or three generic zones of the region.
func (e *Environment) assumedZones() []providers.Zone {
	if len(e.Zones) > 0 {
		out := make([]providers.Zone, 0, len(e.Zones))
		for _, z := range e.Zones {
			out = append(out, providers.Zone{Name: z, Region: e.Region, Up: true})
		}
		return out
	}
	out := make([]providers.Zone, 3)
	for i := range out {
		out[i] = providers.Zone{Name: fmt.Sprintf("%s-%c", e.Region, 'a'+i), Region: e.Region, Up: true}
	}
	return out
}

// checkPlacement places the environment over zones, drops the nodes of down
// zones and turns every failure of the zone-loss analysis into a violation
// of the field that decides it. Fields that already have a violation are
// not reported twice.
func (e *Environment) checkPlacement(vs *violations, zones []providers.Zone, down map[string]bool) {
	if e.countsInvalid() {
		return // reported by checkStatic
	}
	if !validEnvName(e.Name) {
		// Reported by checkStatic; place under a stand-in name so that the
		// zone rules are still checked.
		c := *e
		c.Name = "env"
		e = &c
	}
	nodes, err := e.Place(zones)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			for _, v := range ve.Violations {
				if !vs.has(v.Field) {
					vs.list = append(vs.list, v)
				}
			}
		} else {
			vs.add("zones", err.Error(), "")
		}
		return
	}
	if len(down) > 0 {
		nodes = slices.DeleteFunc(nodes, func(n Node) bool { return down[n.Zone] })
	}
	rep := AnalyzeZoneLoss(e, nodes)
	seen := map[string]bool{}
	report := func(c TierCheck, zone string) {
		field := c.field()
		hint := c.hint(len(rep.Zones))
		if c.Check == CheckRedis && c.Left >= e.Redis.Nodes/2+1 {
			// A majority of Sentinels is left: the quorum is what is out of
			// reach.
			field = "redis.sentinelQuorum"
			hint = fmt.Sprintf("at most %d: the Sentinels left after the loss of the largest zone", c.Left)
		}
		if seen[field] || vs.has(field) {
			return
		}
		seen[field] = true
		rule := c.Reason
		if zone != "" {
			rule = fmt.Sprintf("if %s is lost: %s", zone, c.Reason)
		}
		vs.add(field, rule, hint)
	}
	for _, c := range rep.Current {
		if !c.OK {
			report(c, "")
		}
	}
	if len(rep.Zones) < 2 && !vs.has("zones") {
		vs.add("zones", fmt.Sprintf("the environment spans %d failure domain(s); at least 2 are needed, 3 for the clustered tiers", len(rep.Zones)),
			"name at least 3 zones, or use a region with 3 zones or fault domains")
	}
	for _, z := range rep.Zones {
		for _, c := range z.Checks {
			if !c.OK {
				report(c, z.Zone)
			}
		}
	}
}

// countsInvalid reports whether a tier size is out of range, which makes
// placement meaningless.
func (e *Environment) countsInvalid() bool {
	for _, n := range []int{e.Web.Nodes, e.Elasticsearch.Nodes, e.PostgreSQL.Replicas, e.RabbitMQ.Nodes,
		e.Consumers.Hosts, len(e.SMTP.Relays), e.Redis.Nodes, e.GridFS.Nodes} {
		if n < 0 || n > MaxTierNodes {
			return true
		}
	}
	return e.PostgreSQL.Replicas > MaxTierNodes-2
}

func validEnvName(name string) bool { return len(name) <= 40 && envNameRE.MatchString(name) }

func (e *Environment) checkStatic(vs *violations) {
	// Identity.
	switch {
	case e.Name == "":
		vs.add("name", "required", "1 to 40 lower case letters, digits and '-', starting with a letter")
	case !validEnvName(e.Name):
		vs.add("name", fmt.Sprintf("%q is not valid on both clouds: 1 to 40 characters, lower case letters, digits and '-', starting with a letter and not ending with '-'", e.Name), "")
	}
	kindOK := true
	switch e.Provider {
	case GCP, OCI, Memory:
	case "":
		kindOK = false
		vs.add("provider", "required", "one of gcp, oci, memory")
	default:
		kindOK = false
		vs.add("provider", fmt.Sprintf("unknown provider %q", e.Provider), "one of gcp, oci, memory")
	}
	if e.Project != "" {
		switch e.Provider {
		case GCP:
			if !gcpProjectRE.MatchString(e.Project) {
				vs.add("project", fmt.Sprintf("%q is not a GCP project ID: 6 to 30 lower case letters, digits and '-', starting with a letter", e.Project), "")
			}
		case OCI:
			if !ociOCIDRE.MatchString(e.Project) {
				vs.add("project", fmt.Sprintf("%q is not an OCI compartment or tenancy OCID", e.Project), "ocid1.compartment.oc1..<id>")
			}
		}
	}
	regionOK := false
	switch {
	case e.Region == "":
		vs.add("region", "required", "a region of the provider, such as europe-west3 or eu-frankfurt-1")
	case kindOK && !KnownRegion(e.Provider, e.Region):
		vs.add("region", fmt.Sprintf("%q is not a known %s region", e.Region, e.Provider), "see environment.Regions for the catalog")
	case kindOK:
		regionOK = true
	}
	e.checkZones(vs, regionOK)

	// Tiers.
	checkCount := func(field string, n, min int, hint string) {
		switch {
		case n < 0:
			vs.add(field, fmt.Sprintf("must not be negative (got %d)", n), "")
		case n > MaxTierNodes:
			vs.add(field, fmt.Sprintf("must be at most %d (got %d)", MaxTierNodes, n), "")
		case n < min:
			vs.add(field, fmt.Sprintf("must be at least %d (got %d)", min, n), hint)
		}
	}
	checkCount("web.nodes", e.Web.Nodes, 2, "two web nodes in different zones survive a zone loss")
	checkMachine(vs, "web.machine", e.Web.Machine)
	quorumHint := "a majority quorum survives a zone loss only with at least 3 nodes over 3 zones"
	checkCount("elasticsearch.nodes", e.Elasticsearch.Nodes, 3, quorumHint)
	checkMachine(vs, "elasticsearch.machine", e.Elasticsearch.Machine)
	switch {
	case e.PostgreSQL.Replicas < 0:
		vs.add("postgresql.replicas", fmt.Sprintf("must not be negative (got %d)", e.PostgreSQL.Replicas), "")
	case e.PostgreSQL.Replicas > MaxTierNodes-2:
		vs.add("postgresql.replicas", fmt.Sprintf("must be at most %d (got %d)", MaxTierNodes-2, e.PostgreSQL.Replicas), "")
	}
	if v := e.PostgreSQL.Version; v != "" {
		m := pgVersionRE.FindStringSubmatch(v)
		if m == nil {
			vs.add("postgresql.version", fmt.Sprintf("%q is not a PostgreSQL major version such as \"15\"", v), "")
		} else if major, _ := strconv.Atoi(m[1]); major < 13 {
			vs.add("postgresql.version", fmt.Sprintf("PostgreSQL %s is not supported: 13 or later", v), "")
		}
	}
	checkMachine(vs, "postgresql.machine", e.PostgreSQL.Machine)
	checkCount("rabbitmq.nodes", e.RabbitMQ.Nodes, 3, quorumHint)
	checkMachine(vs, "rabbitmq.machine", e.RabbitMQ.Machine)
	switch {
	case e.Consumers.Count < 1:
		vs.add("consumers.count", fmt.Sprintf("must be at least 1 (got %d)", e.Consumers.Count), "the consumer processes run the message queue's jobs")
	case e.Consumers.Count > 100*MaxTierNodes:
		vs.add("consumers.count", fmt.Sprintf("must be at most %d (got %d)", 100*MaxTierNodes, e.Consumers.Count), "")
	}
	checkCount("consumers.hosts", e.Consumers.Hosts, 2, "consumers on two hosts in different zones survive a zone loss")
	if e.Consumers.Count >= 1 && e.Consumers.Hosts > e.Consumers.Count {
		vs.add("consumers.hosts", fmt.Sprintf("must not exceed consumers.count (%d hosts for %d processes)", e.Consumers.Hosts, e.Consumers.Count), "every host runs at least one consumer")
	}
	checkMachine(vs, "consumers.machine", e.Consumers.Machine)
	e.checkSMTP(vs)
	checkCount("redis.nodes", e.Redis.Nodes, 3, "Sentinel needs 3 nodes to elect a new master after a zone loss")
	if n := e.Redis.Nodes; n >= 0 && n <= MaxTierNodes {
		q := e.Redis.SentinelQuorum
		switch {
		case q < 1:
			vs.add("redis.sentinelQuorum", fmt.Sprintf("must be at least 1 (got %d)", q), fmt.Sprintf("a majority of the nodes: %d", n/2+1))
		case n >= 1 && q < n/2+1:
			vs.add("redis.sentinelQuorum", fmt.Sprintf("must be a majority of the %d nodes: at least %d (got %d)", n, n/2+1, q), "a minority quorum lets a partitioned side start a failover")
		case q > n:
			vs.add("redis.sentinelQuorum", fmt.Sprintf("must not exceed redis.nodes (%d, got %d)", n, q), "")
		}
	}
	checkMachine(vs, "redis.machine", e.Redis.Machine)
	checkCount("gridfs.nodes", e.GridFS.Nodes, 3, quorumHint)
	checkMachine(vs, "gridfs.machine", e.GridFS.Machine)

	e.checkCDN(vs)
	e.checkIngress(vs)
	checkWindow(vs, "maintenance", e.Maintenance)
	e.checkDR(vs, kindOK, regionOK)
	checkContact(vs, "technicalContact", e.TechnicalContact)
	for _, k := range sortedKeys(e.Labels) {
		field := "labels." + k
		switch {
		case !labelKeyRE.MatchString(k):
			vs.add(field, fmt.Sprintf("label key %q is not valid: 1 to 63 lower case letters, digits, '-' or '_', starting with a letter", k), "")
		case slices.Contains(reservedLabels, k):
			vs.add(field, fmt.Sprintf("label key %q is set by the SDK", k), "choose another key")
		}
		if !labelValueRE.MatchString(e.Labels[k]) {
			vs.add(field, fmt.Sprintf("label value %q is not valid: at most 63 lower case letters, digits, '-' or '_'", e.Labels[k]), "")
		}
	}
}

func (e *Environment) checkZones(vs *violations, regionOK bool) {
	if len(e.Zones) == 0 {
		return
	}
	if len(e.Zones) < 2 {
		vs.add("zones", fmt.Sprintf("at least 2 zones are needed when zones are given (got %d)", len(e.Zones)),
			"name 3 zones, or leave zones empty to use the region's zones")
	}
	seen := map[string]int{}
	for i, z := range e.Zones {
		field := fmt.Sprintf("zones[%d]", i)
		if j, dup := seen[z]; dup {
			vs.add(field, fmt.Sprintf("zone %q is listed twice (also zones[%d])", z, j), "")
			continue
		}
		seen[z] = i
		if !regionOK {
			if z == "" {
				vs.add(field, "empty zone name", "")
			}
			continue
		}
		switch e.Provider {
		case GCP:
			if !strings.HasPrefix(z, e.Region+"-") || len(z) != len(e.Region)+2 || z[len(z)-1] < 'a' || z[len(z)-1] > 'z' {
				vs.add(field, fmt.Sprintf("%q is not a zone of GCP region %s", z, e.Region), fmt.Sprintf("GCP zones are named %s-a, %s-b, ...", e.Region, e.Region))
			}
		case OCI:
			m := ociADRE.FindStringSubmatch(z)
			if m == nil || !strings.HasSuffix(m[2], strings.ToUpper(e.Region)) {
				vs.add(field, fmt.Sprintf("%q is not an availability domain of OCI region %s", z, e.Region),
					fmt.Sprintf("OCI availability domains are named like \"Uocm:%s-AD-1\"", strings.ToUpper(e.Region)))
			}
		default:
			if !memZoneRE.MatchString(z) {
				vs.add(field, fmt.Sprintf("%q is not a well-formed zone name", z), "letters, digits, ':', '.', '_' and '-'")
			}
		}
	}
}

func checkMachine(vs *violations, field string, m Machine) {
	if !(m.OCPUs >= 0) || math.IsInf(float64(m.OCPUs), 0) {
		vs.add(field+".ocpus", fmt.Sprintf("must be a non-negative number (got %v)", m.OCPUs), "")
	}
	if !(m.MemoryGB >= 0) || math.IsInf(float64(m.MemoryGB), 0) {
		vs.add(field+".memoryGB", fmt.Sprintf("must be a non-negative number (got %v)", m.MemoryGB), "")
	}
	if m.DiskGB < 0 {
		vs.add(field+".diskGB", fmt.Sprintf("must not be negative (got %d)", m.DiskGB), "")
	}
	if strings.ContainsAny(m.Type, " \t\r\n") {
		vs.add(field+".type", fmt.Sprintf("%q is not a machine type or shape", m.Type), "")
	}
}

func (e *Environment) checkSMTP(vs *violations) {
	relays := e.SMTP.Relays
	switch {
	case len(relays) < 2:
		vs.add("smtp.relays", fmt.Sprintf("at least 2 relays are needed (got %d)", len(relays)), "a preferred relay and a fallback with a higher priority value, in different zones")
	case len(relays) > MaxTierNodes:
		vs.add("smtp.relays", fmt.Sprintf("at most %d relays (got %d)", MaxTierNodes, len(relays)), "")
	}
	names := map[string]int{}
	prios := map[int]bool{}
	badPrio := false
	for i, r := range relays {
		f := fmt.Sprintf("smtp.relays[%d]", i)
		switch {
		case r.Name == "":
			vs.add(f+".name", "required", "a short name such as relay-1")
		case !providers.ValidName(r.Name):
			vs.add(f+".name", fmt.Sprintf("%q is not valid: lower case letters, digits and '-', starting with a letter", r.Name), "")
		default:
			if j, dup := names[r.Name]; dup {
				vs.add(f+".name", fmt.Sprintf("%q is already used by smtp.relays[%d]", r.Name, j), "relay names are unique")
			} else {
				names[r.Name] = i
			}
		}
		if r.Priority < 0 || r.Priority > 65535 {
			vs.add(f+".priority", fmt.Sprintf("must be in 0..65535 (got %d)", r.Priority), "lower values are preferred, as with MX records")
			badPrio = true
		} else {
			prios[r.Priority] = true
		}
	}
	if len(relays) >= 2 && !badPrio && len(prios) == 1 {
		vs.add("smtp.relays", "at least two distinct priorities are needed", "give the fallback relay a higher priority value (10 and 20, say)")
	}
	checkMachine(vs, "smtp.machine", e.SMTP.Machine)
}

func (e *Environment) checkCDN(vs *violations) {
	c := e.CDN
	switch c.Kind {
	case "":
		vs.add("cdn.kind", "required", "google-cdn (GCP only), cloudflare or other")
	case CDNGoogle:
		if e.Provider != GCP && e.Provider != Memory && e.Provider != "" {
			vs.add("cdn.kind", fmt.Sprintf("google-cdn is available only on GCP, not on %s", e.Provider), "use cloudflare (available on GCP and OCI) or other")
		}
		if g := c.Google; g != nil {
			pol := providers.CDNPolicy{CacheMode: g.CacheMode, DefaultTTL: g.DefaultTTL.D(), MaxTTL: g.MaxTTL.D(),
				ClientTTL: g.ClientTTL.D(), NegativeCaching: g.NegativeCaching}
			if err := pol.Validate(); err != nil {
				msg := err.Error()
				var pe *providers.Error
				if errors.As(err, &pe) && pe.Msg != "" {
					msg = pe.Msg
				}
				for part := range strings.SplitSeq(msg, "; ") {
					field, rule := "cdn.google", part
					if k, r, ok := strings.Cut(part, ": "); ok {
						rule = r
						switch k {
						case "cacheMode":
							field += ".cacheMode"
						case "defaultTtl":
							field += ".defaultTTL"
						case "maxTtl":
							field += ".maxTTL"
						case "clientTtl":
							field += ".clientTTL"
						default:
							rule = part
						}
					}
					vs.add(field, rule, "")
				}
			}
		}
	case CDNCloudflare:
		if cf := c.Cloudflare; cf == nil {
			vs.add("cdn.cloudflare", "the Cloudflare account ID and zone ID are required", "set cdn.cloudflare.accountId and cdn.cloudflare.zoneId")
		} else {
			for _, id := range []struct{ field, val, what string }{
				{"cdn.cloudflare.accountId", cf.AccountID, "account ID"},
				{"cdn.cloudflare.zoneId", cf.ZoneID, "zone ID"},
			} {
				switch {
				case id.val == "":
					vs.add(id.field, "required", "the Cloudflare "+id.what+": 32 hexadecimal characters, shown in the Cloudflare dashboard")
				case !cfIDRE.MatchString(id.val):
					vs.add(id.field, fmt.Sprintf("%q is not a Cloudflare %s: 32 lower case hexadecimal characters", id.val, id.what), "")
				}
			}
		}
	case CDNOther:
		if strings.TrimSpace(c.Name) == "" {
			vs.add("cdn.name", "required with kind other", "the CDN's name, such as fastly")
		}
	default:
		vs.add("cdn.kind", fmt.Sprintf("unknown CDN kind %q", c.Kind), "google-cdn (GCP only), cloudflare or other")
	}
	if c.Kind != CDNGoogle && c.Google != nil {
		vs.add("cdn.google", "Google CDN settings are only valid with kind google-cdn", "remove cdn.google")
	}
	if c.Kind != CDNCloudflare && c.Cloudflare != nil {
		vs.add("cdn.cloudflare", "Cloudflare settings are only valid with kind cloudflare", "remove cdn.cloudflare")
	}
	if c.Kind != CDNOther && c.Name != "" {
		vs.add("cdn.name", "a CDN name is only valid with kind other", "remove cdn.name")
	}
	if len(c.Hostnames) == 0 {
		vs.add("cdn.hostnames", "at least one hostname is required", "the site's hostname, such as shop.example.com")
	}
	seen := map[string]int{}
	for i, h := range c.Hostnames {
		f := fmt.Sprintf("cdn.hostnames[%d]", i)
		if j, dup := seen[h]; dup {
			vs.add(f, fmt.Sprintf("%q is listed twice (also cdn.hostnames[%d])", h, j), "")
			continue
		}
		seen[h] = i
		if !validHostname(h) {
			vs.add(f, fmt.Sprintf("%q is not a well-formed hostname", h), "lower case DNS labels separated by dots, such as shop.example.com; a leading *. is allowed")
		}
	}
}

// validHostname reports whether h is a fully qualified lower case host name
// of at least two labels, optionally starting with "*.".
func validHostname(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !dnsLabelRE.MatchString(l) {
			return false
		}
	}
	tld := labels[len(labels)-1]
	return strings.ContainsFunc(tld, func(r rune) bool { return r >= 'a' && r <= 'z' })
}

func (e *Environment) checkIngress(vs *violations) {
	names := map[string]int{}
	for i, r := range e.Ingress {
		f := fmt.Sprintf("ingress[%d]", i)
		switch {
		case r.Name == "":
			vs.add(f+".name", "required", "a short name such as office-ssh")
		case !providers.ValidName(r.Name) || len(e.Name)+1+len(r.Name) > 63:
			vs.add(f+".name", fmt.Sprintf("%q is not valid: lower case letters, digits and '-', starting with a letter; with the environment's name, at most 63 characters", r.Name), "")
		case slices.Contains(reservedRules, r.Name):
			vs.add(f+".name", fmt.Sprintf("%q is used by the SDK's own rules", r.Name), "choose another name")
		default:
			if j, dup := names[r.Name]; dup {
				vs.add(f+".name", fmt.Sprintf("%q is already used by ingress[%d]", r.Name, j), "rule names are unique")
			} else {
				names[r.Name] = i
			}
		}
		switch {
		case r.Tier == "":
			vs.add(f+".tier", "required", "one of "+tierList())
		case !slices.Contains(allTiers[:], r.Tier):
			vs.add(f+".tier", fmt.Sprintf("unknown tier %q", r.Tier), "one of "+tierList())
		}
		if len(r.Ports) == 0 {
			vs.add(f+".ports", "at least one port is required", "")
		}
		for j, p := range r.Ports {
			if p < 1 || p > 65535 {
				vs.add(fmt.Sprintf("%s.ports[%d]", f, j), fmt.Sprintf("port %d is not in 1..65535", p), "")
			}
		}
		if len(r.SourceRanges) == 0 {
			vs.add(f+".sourceRanges", "at least one source range is required", "a CIDR such as 203.0.113.0/24")
		}
		for j, s := range r.SourceRanges {
			sf := fmt.Sprintf("%s.sourceRanges[%d]", f, j)
			p, err := netip.ParsePrefix(s)
			switch {
			case err != nil:
				vs.add(sf, fmt.Sprintf("%q is not a CIDR range", s), "such as 203.0.113.0/24 or 2001:db8::/32")
			case p.Masked() != p:
				vs.add(sf, fmt.Sprintf("%q has host bits set", s), fmt.Sprintf("use %s", p.Masked()))
			case e.CDN.Kind == CDNCloudflare && r.Tier == TierWeb && p.Bits() == 0:
				vs.add(sf, fmt.Sprintf("%s opens the web nodes to the internet; with Cloudflare Zero Trust they have no public entry point", s),
					"traffic reaches the web nodes through the Cloudflare tunnel; remove the rule or restrict it to an office range")
			}
		}
	}
}

func tierList() string {
	s := make([]string, len(allTiers))
	for i, t := range allTiers {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func checkWindow(vs *violations, field string, w Window) {
	if _, err := parseWeekday(w.Day); err != nil {
		vs.add(field+".day", err.Error(), "an English weekday such as Sunday")
	}
	if w.Start == "" {
		vs.add(field+".start", "required", "HH:MM on a 24-hour clock, such as 02:00")
	} else if !hhmmRE.MatchString(w.Start) {
		vs.add(field+".start", fmt.Sprintf("%q is not a time HH:MM on a 24-hour clock", w.Start), "such as 02:00")
	}
	if d := w.Duration.D(); d < 30*time.Minute || d > 12*time.Hour {
		vs.add(field+".duration", fmt.Sprintf("must be between 30m and 12h (got %s)", d), "")
	}
	if _, err := loadZone(w.TimeZone); err != nil {
		vs.add(field+".timeZone", err.Error(), "an IANA time zone such as Europe/Berlin, or UTC")
	}
}

func (e *Environment) checkDR(vs *violations, kindOK, regionOK bool) {
	dr := e.DR.Region
	if dr == "" {
		if regionOK {
			if _, ok := DefaultDRRegion(e.Provider, e.Region); !ok {
				vs.add("dr.region", fmt.Sprintf("required: region %s has no designated DR region", e.Region), "set dr.region to another region of the same geography")
			}
		}
		return
	}
	if dr == e.Region {
		vs.add("dr.region", fmt.Sprintf("must differ from the primary region %s", e.Region), "a region loss must not take the DR region with it")
		return
	}
	if kindOK && !KnownRegion(e.Provider, dr) {
		vs.add("dr.region", fmt.Sprintf("%q is not a known %s region", dr, e.Provider), "see environment.Regions for the catalog")
	}
}

func checkContact(vs *violations, field string, c Contact) {
	if strings.TrimSpace(c.Name) == "" {
		vs.add(field+".name", "required", "the person who approves DR and is told of unplanned maintenance")
	}
	if c.Email == "" {
		vs.add(field+".email", "required", "such as ops@example.com")
	} else if !validEmail(c.Email) {
		vs.add(field+".email", fmt.Sprintf("%q is not a well-formed email address", c.Email), "such as ops@example.com")
	}
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && validHostname(strings.ToLower(s[at+1:]))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
