package environment

import (
	"fmt"
	"strconv"

	"github.com/orocloud/orocloud-go/providers"
)

// tierOffset shifts each tier's round-robin so that the small tiers (web,
// consumers, SMTP) do not all start in the first zone. The PostgreSQL
// primary (index 1) lands in the first failure domain, the secondary
// (index 2) in the next.
var tierOffset = map[Tier]int{
	TierWeb:           0,
	TierElasticsearch: 0,
	TierPostgreSQL:    0,
	TierRabbitMQ:      1,
	TierConsumer:      1,
	TierSMTP:          2,
	TierRedis:         2,
	TierGridFS:        1,
}

// NodeName returns the name of node index (1-based) of a tier:
// "<env>-<tier>-<index>".
func NodeName(env string, tier Tier, index int) string {
	return env + "-" + string(tier) + "-" + strconv.Itoa(index)
}

// NodeCount returns how many nodes the environment asks of a tier: the web,
// Elasticsearch, RabbitMQ, Redis and GridFS node counts; 2 + replicas for
// PostgreSQL; the consumer hosts; one node per SMTP relay. It returns 0 for
// an unknown tier or a nil environment.
func (e *Environment) NodeCount(t Tier) int {
	if e == nil {
		return 0
	}
	switch t {
	case TierWeb:
		return e.Web.Nodes
	case TierElasticsearch:
		return e.Elasticsearch.Nodes
	case TierPostgreSQL:
		return 2 + e.PostgreSQL.Replicas
	case TierRabbitMQ:
		return e.RabbitMQ.Nodes
	case TierConsumer:
		return e.Consumers.Hosts
	case TierSMTP:
		return len(e.SMTP.Relays)
	case TierRedis:
		return e.Redis.Nodes
	case TierGridFS:
		return e.GridFS.Nodes
	}
	return 0
}

func (e *Environment) machine(t Tier) Machine {
	switch t {
	case TierWeb:
		return e.Web.Machine
	case TierElasticsearch:
		return e.Elasticsearch.Machine
	case TierPostgreSQL:
		return e.PostgreSQL.Machine
	case TierRabbitMQ:
		return e.RabbitMQ.Machine
	case TierConsumer:
		return e.Consumers.Machine
	case TierSMTP:
		return e.SMTP.Machine
	case TierRedis:
		return e.Redis.Machine
	case TierGridFS:
		return e.GridFS.Machine
	}
	return Machine{}
}

// domain is a failure domain placement spreads over: a zone, or a fault
// domain of the single zone of a region.
type domain struct {
	zone providers.Zone
	fd   string // set when spreading over the fault domains of one zone
}

// Place spreads each tier's nodes over the failure domains of zones and
// returns every node of the environment, tier by tier (in the order of
// Tiers), index by index.
//
// The zones used are the ones e.Zones names, in that order (each must be in
// zones, or Place refuses), or, when e.Zones is empty, the zones given, in
// the given order, at most three. Place does not skip zones that are down:
// placement is the desired state and must not move when a zone fails
// (ValidateZones reports down zones).
//
// When there are two zones or more, they are the failure domains; within a
// zone that has fault domains (OCI), a tier's nodes also rotate over them.
// When there is a single zone with fault domains (a single-availability-
// domain OCI region), its fault domains are the failure domains.
//
// Node i (1-based) of a tier goes to failure domain (i-1+offset(tier)) mod
// n: round-robin, with a per-tier offset. Node i's place depends only on i,
// the tier and the zone list, so scaling a tier up or down never moves an
// existing node. The PostgreSQL primary is node 1 and the secondary node 2,
// so they are in different failure domains whenever there are two; nodes 3
// and up are read replicas. Nodes are named by NodeName and carry the
// tier's Machine.
//
// Place returns a *ValidationError (code InvalidArgument) for a nil
// environment, an invalid name, no zones, unknown or repeated zones in
// e.Zones, or a tier size outside 0..MaxTierNodes.
func (e *Environment) Place(zones []providers.Zone) ([]Node, error) {
	if e == nil {
		return nil, &ValidationError{Violations: []Violation{{Rule: "environment is nil", Hint: "use Standard or Load"}}}
	}
	vs := &violations{}
	if !validEnvName(e.Name) {
		vs.add("name", fmt.Sprintf("%q is not a valid environment name", e.Name), "1 to 40 lower case letters, digits and '-', starting with a letter")
	}
	for _, t := range allTiers {
		n := e.NodeCount(t)
		if n < 0 || n > MaxTierNodes {
			vs.add(countField(t), fmt.Sprintf("%d nodes is outside 0..%d", n, MaxTierNodes), "")
		}
	}
	domains := e.domains(zones, vs)
	if len(vs.list) > 0 {
		return nil, vs.err(e.Name)
	}
	total := 0
	for _, t := range allTiers {
		total += e.NodeCount(t)
	}
	nodes := make([]Node, 0, total)
	d := len(domains)
	for _, t := range allTiers {
		off := tierOffset[t]
		m := e.machine(t)
		for i := 1; i <= e.NodeCount(t); i++ {
			k := (i - 1 + off) % d
			dom := domains[k]
			n := Node{Name: NodeName(e.Name, t, i), Tier: t, Role: RoleNode, Index: i, Zone: dom.zone.Name, Machine: m}
			switch {
			case dom.fd != "":
				n.FaultDomain = dom.fd
			case len(dom.zone.FaultDomains) > 0:
				// The k-th domain gets nodes i = k+1-off, k+1-off+d, ...:
				// rotate over the zone's fault domains by that ordinal.
				ord := (i - 1 + off) / d
				n.FaultDomain = dom.zone.FaultDomains[ord%len(dom.zone.FaultDomains)]
			}
			if t == TierPostgreSQL {
				switch i {
				case 1:
					n.Role = RolePrimary
				case 2:
					n.Role = RoleSecondary
				default:
					n.Role = RoleReplica
				}
			}
			nodes = append(nodes, n)
		}
	}
	return nodes, nil
}

// domains returns the failure domains to place over, adding violations for
// bad zone lists.
func (e *Environment) domains(zones []providers.Zone, vs *violations) []domain {
	var use []providers.Zone
	if len(e.Zones) > 0 {
		byName := make(map[string]providers.Zone, len(zones))
		for _, z := range zones {
			byName[z.Name] = z
		}
		seen := map[string]bool{}
		for i, name := range e.Zones {
			z, ok := byName[name]
			switch {
			case seen[name]:
				vs.add(fmt.Sprintf("zones[%d]", i), fmt.Sprintf("zone %q is listed twice", name), "")
			case !ok:
				vs.add(fmt.Sprintf("zones[%d]", i), fmt.Sprintf("zone %q is not among the region's zones", name), "")
			default:
				use = append(use, z)
			}
			seen[name] = true
		}
	} else {
		seen := map[string]bool{}
		for _, z := range zones {
			if z.Name == "" || seen[z.Name] {
				continue
			}
			seen[z.Name] = true
			use = append(use, z)
			if len(use) == 3 {
				break
			}
		}
	}
	if len(vs.list) > 0 {
		return nil
	}
	if len(use) == 0 {
		vs.add("zones", "no zone to place the nodes in", "pass the region's zones (ListZones)")
		return nil
	}
	if len(use) == 1 && len(use[0].FaultDomains) > 0 {
		out := make([]domain, 0, len(use[0].FaultDomains))
		seen := map[string]bool{}
		for _, fd := range use[0].FaultDomains {
			if fd == "" || seen[fd] {
				continue
			}
			seen[fd] = true
			out = append(out, domain{zone: use[0], fd: fd})
		}
		if len(out) > 0 {
			return out
		}
	}
	out := make([]domain, len(use))
	for i, z := range use {
		out[i] = domain{zone: z}
	}
	return out
}

// countField is the spec field that sizes a tier.
func countField(t Tier) string {
	switch t {
	case TierPostgreSQL:
		return "postgresql.replicas"
	case TierConsumer:
		return "consumers.hosts"
	case TierSMTP:
		return "smtp.relays"
	}
	return string(t) + ".nodes"
}
