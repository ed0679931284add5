// Package cdn composes the edge in front of an OroCommerce environment's web
// nodes, checks it, and switches its DNS.
//
// The reference architecture offers two edges:
//
//   - Cloudflare Zero Trust (package cdn/cloudflare), on GCP and OCI: cloudflared
//     on each web node dials out to Cloudflare through a named tunnel, TLS is
//     terminated and managed at Cloudflare, nginx balances inside, and the
//     environment has no public entry point at all. CheckZeroTrust proves the
//     last point on a planned or observed set of firewall rules.
//   - Google Cloud CDN with the Google global load balancer (package
//     cdn/googlecdn), on GCP only: a public entry point whose backend service
//     caches according to the environment's CDN settings.
//
// Both implement Edge, one small interface: Ensure the edge for an
// environment, Describe it, Destroy it, and PointHostname — the DNS switch
// that disaster recovery uses, which always upserts (it never fails because a
// record "already exists") and reads the record back before returning.
//
// # Another CDN
//
// Edge is the extension point for any other CDN: there is no registry to
// join. Implement the four methods in your own package (a CDN's SDK stays out
// of everybody else's build, as each implementation here lives in its own
// subpackage), return errors carrying a providers.ErrorCode
// (providers.Errorf, providers.Wrap) so callers can branch on
// providers.Code, and hand your value to whatever takes an Edge. An edge that
// does not manage DNS returns an error with code Unimplemented from
// PointHostname: disaster recovery then hands the DNS step to the domain
// owner.
//
// Package cdn itself depends on neither the Cloudflare nor a cloud SDK.
package cdn

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

// Edge is the edge in front of an environment's web nodes. Implementations
// are safe for concurrent use, retry transient failures themselves, and
// return errors for which providers.Code gives a code.
type Edge interface {
	// Kind is the environment.CDNKind the edge implements.
	Kind() environment.CDNKind
	// Ensure creates or updates every part of the edge so that it serves
	// env's hostnames from origin, and returns its state. It validates env
	// and origin first and returns InvalidArgument before any call, listing
	// every problem (an edge that cannot serve env, such as Google Cloud CDN
	// for an OCI environment, is one). It is idempotent: a second call with
	// the same arguments creates nothing new.
	Ensure(ctx context.Context, env *environment.Environment, origin Origin) (*State, error)
	// Describe returns the edge of env as it is. An edge that does not exist
	// returns an error for which Code is NotFound.
	Describe(ctx context.Context, env *environment.Environment) (*State, error)
	// Destroy removes every part of the edge of env that the SDK created.
	// Destroying an edge that does not exist returns nil.
	Destroy(ctx context.Context, env *environment.Environment) error
	// PointHostname makes r.Name resolve to r.Content: it updates the
	// name's record in place, or creates it when there is none (a create
	// that races into "already exists" re-reads and updates), removes the
	// other records of the name that would conflict with r, then reads the
	// record back and returns it as stored. It returns Unimplemented when
	// the edge does not manage DNS.
	PointHostname(ctx context.Context, r Record) (*Record, error)
}

// DNS is the DNS part of an edge, for callers (disaster recovery) that only
// switch records. cloudflare.Edge implements it.
type DNS interface {
	// PointHostname behaves as Edge.PointHostname.
	PointHostname(ctx context.Context, r Record) (*Record, error)
	// LookupRecord returns the record of name and type. A missing record
	// returns NotFound.
	LookupRecord(ctx context.Context, zone, name string, typ RecordType) (*Record, error)
}

// Origin is where the edge sends traffic: the environment's web nodes.
type Origin struct {
	// WebNodes are the environment's web node instances. Google Cloud CDN
	// uses them as backends; the Cloudflare tunnel needs none (cloudflared
	// runs on each of them and dials out) but records how many there are.
	WebNodes []providers.InstanceRef
	// Port is nginx's HTTP port on the web nodes (default 80).
	Port int
	// HealthCheckPath is the load balancer's health check path (default "/").
	HealthCheckPath string
	// AddressName is the reserved global address of a Google load balancer;
	// empty means the environment's primary address
	// (environment.PrimaryAddressName), reserved by Ensure when missing.
	AddressName string
}

// DefaultPort is the web nodes' nginx port.
const DefaultPort = 80

// WithDefaults returns o with the defaults filled in.
func (o Origin) WithDefaults() Origin {
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.HealthCheckPath == "" {
		o.HealthCheckPath = "/"
	}
	return o
}

// RecordType is a DNS record type.
type RecordType string

// The record types the edge switches.
const (
	RecordA     RecordType = "A"
	RecordAAAA  RecordType = "AAAA"
	RecordCNAME RecordType = "CNAME"
)

// Record is a DNS record.
type Record struct {
	// Zone is the DNS zone at the DNS provider (a Cloudflare zone ID); empty
	// means the edge's default zone.
	Zone string `json:"zone,omitempty"`
	// ID is the provider's record identifier (set on records returned).
	ID string `json:"id,omitempty"`
	// Name is the fully qualified host name ("shop.example.com").
	Name string     `json:"name"`
	Type RecordType `json:"type"`
	// Content is an IPv4 address (A), an IPv6 address (AAAA) or a host name
	// (CNAME).
	Content string `json:"content"`
	// Proxied routes the name through the CDN (Cloudflare's orange cloud).
	Proxied bool `json:"proxied,omitempty"`
	// TTL is the record's time to live; 0 means automatic.
	TTL time.Duration `json:"ttl,omitempty"`
}

// String returns "name TYPE content" and "(proxied)" when proxied.
func (r Record) String() string {
	s := r.Name + " " + string(r.Type) + " " + r.Content
	if r.Proxied {
		s += " (proxied)"
	}
	return s
}

// Validate checks the record and returns every problem at once, with code
// InvalidArgument.
func (r Record) Validate() error {
	var errs []string
	if !ValidHostname(r.Name) {
		errs = append(errs, fmt.Sprintf("name: %q is not a fully qualified host name", r.Name))
	}
	switch r.Type {
	case RecordA:
		if a, err := netip.ParseAddr(r.Content); err != nil || !a.Is4() {
			errs = append(errs, fmt.Sprintf("content: %q is not an IPv4 address (type A)", r.Content))
		}
	case RecordAAAA:
		if a, err := netip.ParseAddr(r.Content); err != nil || !a.Is6() || a.Is4In6() {
			errs = append(errs, fmt.Sprintf("content: %q is not an IPv6 address (type AAAA)", r.Content))
		}
	case RecordCNAME:
		if !ValidHostname(r.Content) {
			errs = append(errs, fmt.Sprintf("content: %q is not a host name (type CNAME)", r.Content))
		} else if strings.EqualFold(strings.TrimSuffix(r.Content, "."), strings.TrimSuffix(r.Name, ".")) {
			errs = append(errs, "content: a CNAME must not point to its own name")
		}
	default:
		errs = append(errs, fmt.Sprintf("type: %q is not one of A, AAAA, CNAME", r.Type))
	}
	if r.TTL < 0 {
		errs = append(errs, "ttl: must not be negative")
	}
	if len(errs) > 0 {
		return &providers.Error{Code: providers.InvalidArgument, Op: "cdn.Record", Resource: r.Name,
			Msg: strings.Join(errs, "; "), Err: ErrInvalidRecord}
	}
	return nil
}

// ErrInvalidRecord is the cause of the error Record.Validate returns.
var ErrInvalidRecord = errors.New("invalid DNS record")

// Conflicts reports whether a record of type other on the same name must go
// for a record of type t to be the name's answer: a CNAME excludes every
// A, AAAA and CNAME; an A excludes CNAMEs and other A records; an AAAA
// excludes CNAMEs and other AAAA records.
func (t RecordType) Conflicts(other RecordType) bool {
	switch t {
	case RecordCNAME:
		return other == RecordA || other == RecordAAAA || other == RecordCNAME
	case RecordA, RecordAAAA:
		return other == t || other == RecordCNAME
	}
	return other == t
}

// ValidHostname reports whether s is a fully qualified host name: at least
// two labels of letters, digits and '-' (not at either end of a label), at
// most 63 characters a label and 253 in all; a trailing dot is allowed.
// A leading "*." wildcard label is accepted.
func ValidHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for i, l := range labels {
		if i == 0 && l == "*" {
			continue
		}
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// SameHost reports whether two host names are equal, ignoring case and a
// trailing dot.
func SameHost(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// IngressRule is one rule of a Cloudflare tunnel's ingress configuration.
type IngressRule struct {
	// Hostname is empty for the final catch-all rule.
	Hostname string
	// Service is where cloudflared sends the request
	// ("http://localhost:80", "http_status:404").
	Service string
}

// State is an edge as ensured or described. It never holds a secret in
// clear: TunnelToken is a providers.Secret, redacted by fmt, %v, %+v, %#v,
// JSON and slog.
type State struct {
	Kind        environment.CDNKind
	Environment string
	Hostnames   []string
	// PublicEntryPoint is true when the edge exposes an address on the
	// internet that reaches the web nodes (Google Cloud CDN's load
	// balancer); false for the Cloudflare tunnel.
	PublicEntryPoint bool

	// Cloudflare: the tunnel, its ingress, the token cloudflared runs with,
	// the DNS records and the zone settings (ssl, always_use_https).
	AccountID   string
	ZoneID      string
	TunnelID    string
	TunnelName  string
	TunnelToken providers.Secret
	Ingress     []IngressRule
	Records     []Record
	Settings    map[string]string
	// TunnelStatus is Cloudflare's view of the tunnel: "inactive" (never
	// run), "healthy", "degraded" or "down".
	TunnelStatus string

	// Google Cloud CDN: the load balancer and its public address.
	LoadBalancer *providers.LoadBalancer
	IP           string
}

// MetadataTunnelToken is the startup metadata key under which web nodes
// receive the tunnel token (cloudflared runs "tunnel run --token <value>").
// It is delivered through InstanceSpec.Secrets, never plain Metadata.
const MetadataTunnelToken = "orocloud-cloudflared-token"

// TunnelSecrets returns the secrets the web tier's nodes need at startup
// for the edge in s: the tunnel token under MetadataTunnelToken for a
// Cloudflare edge, nil otherwise. The facade passes them to the provider as
// per-tier secrets (InstanceSpec.Secrets of web nodes), so they are never
// logged nor shown in a printed plan.
func TunnelSecrets(s *State) map[string]providers.Secret {
	if s == nil || s.TunnelToken == "" {
		return nil
	}
	return map[string]providers.Secret{MetadataTunnelToken: s.TunnelToken}
}

// PlanSecrets returns TunnelSecrets(s) keyed by the web tier, the shape of
// environment.PlanOptions.Secrets: environment.PlanOptions{Secrets:
// cdn.PlanSecrets(st)}. It returns nil when there is nothing to hand over.
func PlanSecrets(s *State) map[environment.Tier]map[string]providers.Secret {
	sec := TunnelSecrets(s)
	if sec == nil {
		return nil
	}
	return map[environment.Tier]map[string]providers.Secret{environment.TierWeb: sec}
}

// CheckZeroTrust checks that, with Cloudflare chosen as the edge, nothing
// opens the web nodes to the internet: neither an ingress rule of the spec
// (env.Ingress with tier "web") nor one of rules (firewall rules planned or
// observed at the provider) that targets web nodes: a rule whose target
// tags include the web tier's tag (environment.TierTag(env.Name, "web")),
// the tag every node carries (environment.NetworkTag(env.Name)) or the bare
// tier name "web", or that is labelled providers.LabelTier = "web". A
// source range is open to the internet when it is a /0 (0.0.0.0/0, ::/0). It returns nil for
// other edges, and otherwise every violation at once, with code
// InvalidArgument and the cause ErrPublicIngress.
func CheckZeroTrust(env *environment.Environment, rules []providers.FirewallRule) error {
	if env == nil {
		return providers.Errorf(providers.InvalidArgument, "cdn.CheckZeroTrust: nil environment")
	}
	if env.CDN.Kind != environment.CDNCloudflare {
		return nil
	}
	var errs []string
	for i, r := range env.Ingress {
		if r.Tier != environment.TierWeb {
			continue
		}
		if rs := openRanges(r.SourceRanges); len(rs) > 0 {
			errs = append(errs, fmt.Sprintf("ingress[%d] %q: opens web nodes to the internet (%s) on ports %v; with Cloudflare the web nodes are reached only through the tunnel",
				i, r.Name, strings.Join(rs, ", "), r.Ports))
		}
	}
	web := []string{environment.TierTag(env.Name, environment.TierWeb), environment.NetworkTag(env.Name), string(environment.TierWeb)}
	for _, r := range rules {
		if !targetsWeb(r, web) {
			continue
		}
		if rs := openRanges(r.SourceRanges); len(rs) > 0 {
			errs = append(errs, fmt.Sprintf("firewall rule %q: opens web nodes to the internet (%s) on %s ports %v; with Cloudflare the web nodes are reached only through the tunnel",
				r.Name, strings.Join(rs, ", "), r.Protocol, r.Ports))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &providers.Error{Code: providers.InvalidArgument, Op: "cdn.CheckZeroTrust", Resource: env.Name,
		Msg: strings.Join(errs, "; "), Err: ErrPublicIngress}
}

// ErrPublicIngress is the cause of CheckZeroTrust's error.
var ErrPublicIngress = errors.New("public ingress to web nodes with Cloudflare Zero Trust")

func targetsWeb(r providers.FirewallRule, webTags []string) bool {
	if r.Labels[providers.LabelTier] == string(environment.TierWeb) {
		return true
	}
	for _, t := range r.TargetTags {
		if slices.Contains(webTags, strings.TrimSpace(t)) {
			return true
		}
	}
	return false
}

func openRanges(ranges []string) []string {
	var out []string
	for _, s := range ranges {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil && p.Bits() == 0 {
			out = append(out, s)
			continue
		}
		if (providers.FirewallRule{SourceRanges: []string{s}}).OpenToInternet() {
			out = append(out, s)
		}
	}
	return out
}

// String summarises the edge on one line. The tunnel token shows as
// [REDACTED].
func (s *State) String() string {
	if s == nil {
		return "<nil edge>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s edge of %s", s.Kind, s.Environment)
	if s.TunnelID != "" {
		fmt.Fprintf(&b, ": tunnel %s (%s, %s), token %s", s.TunnelName, s.TunnelID, s.TunnelStatus, s.TunnelToken)
	}
	if s.LoadBalancer != nil {
		fmt.Fprintf(&b, ": load balancer %s at %s, cache %s", s.LoadBalancer.Name, s.IP, s.LoadBalancer.CDN.CacheMode)
	}
	fmt.Fprintf(&b, "; hostnames %s", strings.Join(s.Hostnames, ", "))
	for _, r := range s.Records {
		fmt.Fprintf(&b, "; %s", r)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Settings)) {
		fmt.Fprintf(&b, "; %s=%s", k, s.Settings[k])
	}
	if s.PublicEntryPoint {
		b.WriteString("; public entry point")
	} else {
		b.WriteString("; no public entry point")
	}
	return b.String()
}
