package environment

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
)

// Checks of the zone-loss analysis, one per tier, plus the Cloudflare tunnel
// connectors.
const (
	CheckWeb           = "web"
	CheckTunnel        = "tunnel"
	CheckDatabase      = "database"
	CheckElasticsearch = "elasticsearch"
	CheckRabbitMQ      = "rabbitmq"
	CheckRedis         = "redis"
	CheckGridFS        = "gridfs"
	CheckConsumers     = "consumers"
	CheckSMTP          = "smtp"
)

// TierCheck is whether one tier keeps serving in a situation (no further
// loss, or the loss of one failure domain).
type TierCheck struct {
	// Check names what is checked (CheckWeb, CheckDatabase, ...).
	Check string
	// Tier is the tier the check is about.
	Tier Tier
	// OK is true when the tier keeps serving.
	OK bool
	// Left is how many of the tier's nodes are left; Needed how many it
	// needs to serve (1, or the quorum of a cluster).
	Left, Needed int
	// Reason explains the verdict in a sentence.
	Reason string
}

// ZoneLoss is the verdict for the loss of one failure domain.
type ZoneLoss struct {
	// Zone is the failure domain: a zone name, or "zone/fault-domain" when
	// the nodes span a single zone and are spread over its fault domains.
	Zone string
	// Lost lists the names of the nodes the loss takes down.
	Lost []string
	// Checks holds one verdict per tier.
	Checks []TierCheck
}

// OK reports whether every tier keeps serving after this loss.
func (z ZoneLoss) OK() bool {
	return !slices.ContainsFunc(z.Checks, func(c TierCheck) bool { return !c.OK })
}

// ZoneLossReport tells, for each failure domain, which tiers keep serving
// if it is lost. It is data: print it with String, test it with OK.
type ZoneLossReport struct {
	// Environment is the environment's name.
	Environment string
	// Current holds the verdicts with the nodes given and no further loss.
	Current []TierCheck
	// Zones holds one entry per failure domain the nodes span, sorted.
	Zones []ZoneLoss
	// Problems lists reasons the analysis could not be made (a nil
	// environment); the report is then not OK.
	Problems []string
}

// OK reports whether every tier serves now and after the loss of any one
// failure domain.
func (r *ZoneLossReport) OK() bool {
	if r == nil || len(r.Problems) > 0 {
		return false
	}
	if slices.ContainsFunc(r.Current, func(c TierCheck) bool { return !c.OK }) {
		return false
	}
	for _, z := range r.Zones {
		if !z.OK() {
			return false
		}
	}
	return true
}

// Failures returns every failed check as "zone: check: reason" lines
// ("now" for the current state).
func (r *ZoneLossReport) Failures() []string {
	if r == nil {
		return []string{"nil report"}
	}
	out := slices.Clone(r.Problems)
	for _, c := range r.Current {
		if !c.OK {
			out = append(out, "now: "+c.Check+": "+c.Reason)
		}
	}
	for _, z := range r.Zones {
		for _, c := range z.Checks {
			if !c.OK {
				out = append(out, z.Zone+": "+c.Check+": "+c.Reason)
			}
		}
	}
	return out
}

// String prints a compact table: one row per situation ("now", then
// "lose <zone>"), one column per check, each cell "ok" or "FAIL" with
// left/needed nodes; then the reason of every failure.
func (r *ZoneLossReport) String() string {
	if r == nil {
		return "<nil zone-loss report>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Zone-loss analysis of %q over %d failure domain(s):\n", r.Environment, len(r.Zones))
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  problem: %s\n", p)
	}
	if len(r.Current) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "  situation")
		for _, c := range r.Current {
			fmt.Fprintf(tw, "\t%s", c.Check)
		}
		fmt.Fprintln(tw, "\t")
		row := func(label string, checks []TierCheck) {
			fmt.Fprintf(tw, "  %s", label)
			for _, c := range checks {
				verdict := "ok"
				if !c.OK {
					verdict = "FAIL"
				}
				fmt.Fprintf(tw, "\t%s %d/%d", verdict, c.Left, c.Needed)
			}
			fmt.Fprintln(tw, "\t")
		}
		row("now", r.Current)
		for _, z := range r.Zones {
			row("lose "+z.Zone, z.Checks)
		}
		tw.Flush()
	}
	fails := r.Failures()
	if len(fails) == 0 && len(r.Problems) == 0 {
		b.WriteString("  every tier keeps serving after the loss of any one failure domain\n")
	} else {
		for _, f := range fails[len(r.Problems):] {
			fmt.Fprintf(&b, "  FAIL %s\n", f)
		}
	}
	return b.String()
}

// failureDomainFunc returns the failure domain key of a node: its zone,
// or "zone/fault-domain" when every node is in one zone.
func failureDomainFunc(nodes []Node) func(Node) string {
	single := len(nodes) > 0
	for _, n := range nodes {
		if n.Zone != nodes[0].Zone {
			single = false
			break
		}
	}
	if single && slices.ContainsFunc(nodes, func(n Node) bool { return n.FaultDomain != "" }) {
		return func(n Node) string {
			if n.FaultDomain == "" {
				return n.Zone
			}
			return n.Zone + "/" + n.FaultDomain
		}
	}
	return func(n Node) string { return n.Zone }
}

// AnalyzeZoneLoss tells, for each failure domain the nodes span, which tiers
// keep serving if it is lost. nodes are the nodes currently serving (Place's
// output for a planned environment; the caller drops nodes that are down to
// re-check after an outage). The checks:
//
//   - web: at least one web node left;
//   - tunnel (with Cloudflare): at least one web node left running the
//     cloudflared connector, since the tunnel is the only way in;
//   - database: the failover target survives: if the primary is lost, the
//     secondary must be elsewhere; otherwise the primary survives;
//   - Elasticsearch, RabbitMQ, GridFS: a majority of the tier's configured
//     size (from env, not from nodes) is left;
//   - Redis: a majority of the configured Sentinels (to authorise a
//     failover) and at least SentinelQuorum of them (to agree the master is
//     down) are left;
//   - consumers: at least one consumer host left;
//   - SMTP: at least one relay left.
//
// Current holds the same checks with no loss. Zones are the nodes' zones,
// or their fault domains when every node is in a single zone. The analysis
// takes time linear in the number of nodes and domains. A nil env gives a
// report that is not OK, with a Problem.
func AnalyzeZoneLoss(env *Environment, nodes []Node) *ZoneLossReport {
	if env == nil {
		return &ZoneLossReport{Problems: []string{"environment is nil"}}
	}
	r := &ZoneLossReport{Environment: env.Name}
	domainOf := failureDomainFunc(nodes)
	all := &tally{}
	per := map[string]*tally{}
	var domains []string
	for _, n := range nodes {
		all.add(n)
		d := domainOf(n)
		t, ok := per[d]
		if !ok {
			t = &tally{}
			per[d] = t
			domains = append(domains, d)
		}
		t.add(n)
	}
	r.Current = env.checks(all, nil, domainOf, "")
	slices.Sort(domains)
	for _, d := range domains {
		r.Zones = append(r.Zones, ZoneLoss{Zone: d, Lost: per[d].names, Checks: env.checks(all, per[d], domainOf, d)})
	}
	return r
}

// tally counts nodes per tier, and keeps the PostgreSQL primaries and
// secondaries (normally one each).
type tally struct {
	tiers       map[Tier]int
	primaries   []Node
	secondaries []Node
	names       []string
}

func (t *tally) add(n Node) {
	if t.tiers == nil {
		t.tiers = map[Tier]int{}
	}
	t.tiers[n.Tier]++
	t.names = append(t.names, n.Name)
	if n.Tier == TierPostgreSQL {
		switch n.Role {
		case RolePrimary:
			t.primaries = append(t.primaries, n)
		case RoleSecondary:
			t.secondaries = append(t.secondaries, n)
		}
	}
}

// count returns how many nodes of a tier t holds (0 for a nil t).
func (t *tally) count(tier Tier) int {
	if t == nil {
		return 0
	}
	return t.tiers[tier]
}

// survivor returns how many nodes of list are not lost, and the first of
// them. It scans at most lostCount+1 nodes.
func survivor(list []Node, lostCount int, domainOf func(Node) string, lostDomain string) (Node, int) {
	left := len(list) - lostCount
	if left <= 0 {
		return Node{}, 0
	}
	for _, n := range list {
		if lostDomain == "" || domainOf(n) != lostDomain {
			return n, left
		}
	}
	return Node{}, 0
}

// checks computes every tier's verdict with the nodes of all minus those of
// lost (nil: nothing lost).
func (e *Environment) checks(all, lost *tally, domainOf func(Node) string, lostDomain string) []TierCheck {
	left := func(t Tier) int { return all.count(t) - lost.count(t) }
	atLeastOne := func(check string, t Tier, what string, configured int) TierCheck {
		n := left(t)
		c := TierCheck{Check: check, Tier: t, Left: n, Needed: 1, OK: n >= 1}
		if c.OK {
			c.Reason = fmt.Sprintf("%d of %d %s left", n, configured, what)
		} else {
			c.Reason = fmt.Sprintf("no %s left (of %d)", what, configured)
		}
		return c
	}
	quorum := func(check string, t Tier, configured int) TierCheck {
		n := left(t)
		need := configured/2 + 1
		c := TierCheck{Check: check, Tier: t, Left: n, Needed: need, OK: n >= need}
		if c.OK {
			c.Reason = fmt.Sprintf("%d of %d nodes left, majority %d kept", n, configured, need)
		} else {
			c.Reason = fmt.Sprintf("%d of %d nodes left, below the majority of %d: the cluster stops", n, configured, need)
		}
		return c
	}
	var out []TierCheck
	out = append(out, atLeastOne(CheckWeb, TierWeb, "web nodes", e.Web.Nodes))
	if e.CDN.Kind == CDNCloudflare {
		out = append(out, atLeastOne(CheckTunnel, TierWeb, "cloudflared tunnel connectors", e.Web.Nodes))
	}
	out = append(out, databaseCheck(all, lost, domainOf, lostDomain))
	out = append(out, quorum(CheckElasticsearch, TierElasticsearch, e.Elasticsearch.Nodes))
	out = append(out, quorum(CheckRabbitMQ, TierRabbitMQ, e.RabbitMQ.Nodes))
	out = append(out, e.redisCheck(left(TierRedis)))
	out = append(out, quorum(CheckGridFS, TierGridFS, e.GridFS.Nodes))
	out = append(out, atLeastOne(CheckConsumers, TierConsumer, "consumer hosts", e.Consumers.Hosts))
	out = append(out, atLeastOne(CheckSMTP, TierSMTP, "SMTP relays", len(e.SMTP.Relays)))
	return out
}

func databaseCheck(all, lost *tally, domainOf func(Node) string, lostDomain string) TierCheck {
	c := TierCheck{Check: CheckDatabase, Tier: TierPostgreSQL, Needed: 1}
	var lostP, lostS int
	if lost != nil {
		lostP, lostS = len(lost.primaries), len(lost.secondaries)
	}
	primary, np := survivor(all.primaries, lostP, domainOf, lostDomain)
	secondary, ns := survivor(all.secondaries, lostS, domainOf, lostDomain)
	c.Left = np + ns
	switch {
	case np > 0:
		c.OK = true
		c.Reason = fmt.Sprintf("the primary %s in %s keeps serving", primary.Name, primary.Zone)
	case ns > 0:
		c.OK = true
		c.Reason = fmt.Sprintf("the primary is lost; the secondary %s in %s takes over", secondary.Name, secondary.Zone)
	case lostDomain == "":
		c.Reason = "neither the primary nor the secondary is serving"
	case len(all.primaries) == 0 && len(all.secondaries) > 0:
		c.Reason = "the primary is already down and the secondary is in this failure domain: no database left"
	case len(all.secondaries) == 0 && len(all.primaries) > 0:
		c.Reason = "the primary is in this failure domain and no secondary is serving: no failover target"
	default:
		c.Reason = "the primary and the secondary are both lost: they share this failure domain"
	}
	return c
}

func (e *Environment) redisCheck(n int) TierCheck {
	configured := e.Redis.Nodes
	majority := configured/2 + 1
	need := max(majority, e.Redis.SentinelQuorum)
	c := TierCheck{Check: CheckRedis, Tier: TierRedis, Left: n, Needed: need, OK: n >= need}
	if c.OK {
		c.Reason = fmt.Sprintf("%d of %d Sentinels left: quorum %d and majority %d reachable", n, configured, e.Redis.SentinelQuorum, majority)
	} else {
		c.Reason = fmt.Sprintf("%d of %d Sentinels left: quorum %d or majority %d out of reach, no master failover", n, configured, e.Redis.SentinelQuorum, majority)
	}
	return c
}

// field is the spec field Validate names when the check fails.
func (c TierCheck) field() string {
	switch c.Check {
	case CheckWeb, CheckTunnel:
		return "web.nodes"
	case CheckDatabase:
		return "postgresql"
	case CheckConsumers:
		return "consumers.hosts"
	case CheckSMTP:
		return "smtp.relays"
	}
	return string(c.Tier) + ".nodes"
}

// hint suggests a fix for a failed check, knowing the number of failure
// domains.
func (c TierCheck) hint(domains int) string {
	switch c.Check {
	case CheckElasticsearch, CheckRabbitMQ, CheckGridFS, CheckRedis:
		if domains < 3 {
			return "a majority survives a zone loss only over 3 or more zones (or fault domains)"
		}
		return "use 3, 5 or more nodes so that no zone holds half of them"
	case CheckDatabase:
		return "the primary and the secondary must be in different zones"
	}
	return "spread the tier over at least 2 zones"
}
