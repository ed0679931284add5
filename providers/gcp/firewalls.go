package gcp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"

	"github.com/orocloud/orocloud-go/providers"
)

// LabelMarker separates a firewall rule's own description from the labels
// the provider encodes in it (GCP firewall rules have no labels).
const LabelMarker = " | orocloud-labels: "

// encodeDescription appends the labels and region to the description:
// "DESC | orocloud-labels: k=v,k2=v2; region=REGION".
func encodeDescription(desc string, labels providers.Labels, region string) string {
	var kv []string
	for _, k := range sortedKeys(labels) {
		kv = append(kv, k+"="+labels[k])
	}
	return desc + LabelMarker + strings.Join(kv, ",") + "; region=" + region
}

// decodeDescription splits a description written by encodeDescription. A
// description without the marker has no labels.
func decodeDescription(s string) (desc string, labels providers.Labels, region string) {
	i := strings.LastIndex(s, LabelMarker)
	if i < 0 {
		return s, nil, ""
	}
	desc, enc := s[:i], s[i+len(LabelMarker):]
	enc, region, _ = strings.Cut(enc, "; region=")
	for _, kv := range strings.Split(enc, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			if labels == nil {
				labels = providers.Labels{}
			}
			labels[k] = v
		}
	}
	return desc, labels, region
}

func fromFirewall(f *computepb.Firewall) *providers.FirewallRule {
	desc, labels, region := decodeDescription(f.GetDescription())
	out := &providers.FirewallRule{
		Name:         f.GetName(),
		Region:       region,
		Description:  desc,
		SourceRanges: slices.Clone(f.GetSourceRanges()),
		TargetTags:   slices.Clone(f.GetTargetTags()),
		Labels:       labels,
	}
	for _, a := range f.GetAllowed() {
		out.Protocol = providers.Protocol(a.GetIPProtocol())
		for _, ps := range a.GetPorts() {
			lo, hi, isRange := strings.Cut(ps, "-")
			a, err1 := strconv.Atoi(lo)
			b := a
			var err2 error
			if isRange {
				b, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil {
				continue
			}
			for port := a; port <= b && port-a < 65536; port++ {
				out.Ports = append(out.Ports, port)
			}
		}
	}
	return out
}

// CreateFirewallRule creates an INGRESS rule on Options.Network allowing
// rule.Ports over rule.Protocol (default tcp) from rule.SourceRanges to
// instances with one of rule.TargetTags. Labels and region go into the
// description (see the package doc). An existing rule of the name with the
// same managed-by and environment labels is returned unchanged; another
// returns AlreadyExists.
func (p *Provider) CreateFirewallRule(ctx context.Context, rule providers.FirewallRule) (*providers.FirewallRule, error) {
	const op = "gcp.CreateFirewallRule"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	var problems []string
	if !providers.ValidName(rule.Name) {
		problems = append(problems, fmt.Sprintf("name: %q must be 1-63 lower case letters, digits or '-', starting with a letter", rule.Name))
	}
	proto_ := rule.Protocol
	if proto_ == "" {
		proto_ = providers.TCP
	}
	if proto_ != providers.TCP && proto_ != providers.UDP {
		problems = append(problems, fmt.Sprintf("protocol: %q must be tcp or udp", rule.Protocol))
	}
	if len(rule.Ports) == 0 {
		problems = append(problems, "ports: at least one port is required")
	}
	for _, port := range rule.Ports {
		if port < 1 || port > 65535 {
			problems = append(problems, fmt.Sprintf("ports: %d is not in 1-65535", port))
		}
	}
	if len(rule.SourceRanges) == 0 {
		problems = append(problems, "sourceRanges: at least one source range is required")
	}
	for _, r := range rule.SourceRanges {
		if _, err := netip.ParsePrefix(strings.TrimSpace(r)); err != nil {
			if _, err := netip.ParseAddr(strings.TrimSpace(r)); err != nil {
				problems = append(problems, fmt.Sprintf("sourceRanges: %q is not a CIDR range", r))
			}
		}
	}
	if len(rule.TargetTags) == 0 {
		problems = append(problems, "targetTags: at least one target tag is required")
	}
	for _, t := range rule.TargetTags {
		if !tagRE.MatchString(t) {
			problems = append(problems, fmt.Sprintf("targetTags: %q is not a valid network tag", t))
		}
	}
	problems = append(problems, labelProblems("labels", rule.Labels)...)
	if err := invalid(op, rule.Name, problems); err != nil {
		return nil, err
	}
	ports := make([]string, 0, len(rule.Ports))
	sorted := slices.Clone(rule.Ports)
	slices.Sort(sorted)
	for _, port := range slices.Compact(sorted) {
		ports = append(ports, strconv.Itoa(port))
	}
	body := &computepb.Firewall{
		Name:         proto.String(rule.Name),
		Description:  proto.String(encodeDescription(rule.Description, rule.Labels, rule.Region)),
		Network:      proto.String(p.networkPath()),
		Direction:    proto.String("INGRESS"),
		Allowed:      []*computepb.Allowed{{IPProtocol: proto.String(string(proto_)), Ports: ports}},
		SourceRanges: slices.Clone(rule.SourceRanges),
		TargetTags:   slices.Clone(rule.TargetTags),
	}
	err := p.mutate(ctx, op, rule.Name, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.firewalls.Insert(ctx, &computepb.InsertFirewallRequest{Project: p.project, FirewallResource: body, RequestId: proto.String(rid)}, p.noRetry...)
	})
	if err != nil && providers.Code(err) != providers.AlreadyExists {
		return nil, err
	}
	got, gerr := p.GetFirewallRule(ctx, rule.Region, rule.Name)
	if gerr != nil {
		if err != nil {
			return nil, err
		}
		return nil, gerr
	}
	if err != nil && !sameOwner(got.Labels, rule.Labels) {
		return nil, &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: rule.Name, Msg: "a firewall rule of that name exists and belongs to another owner", Err: err}
	}
	return got, nil
}

// GetFirewallRule returns the rule. GCP rules are global: region is not
// needed to find it.
func (p *Provider) GetFirewallRule(ctx context.Context, region, name string) (*providers.FirewallRule, error) {
	const op = "gcp.GetFirewallRule"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "name: must not be empty"}
	}
	f, err := read(ctx, p, op, name, func(ctx context.Context) (*computepb.Firewall, error) {
		return p.firewalls.Get(ctx, &computepb.GetFirewallRequest{Project: p.project, Firewall: name}, p.noRetry...)
	})
	if err != nil {
		return nil, err
	}
	return fromFirewall(f), nil
}

// ListFirewallRules lists the project's rules and returns those created for
// region (every region when region is "") whose encoded labels contain
// selector, sorted by name.
func (p *Provider) ListFirewallRules(ctx context.Context, region string, selector providers.Labels) ([]providers.FirewallRule, error) {
	const op = "gcp.ListFirewallRules"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	var out []providers.FirewallRule
	err := p.call(ctx, op, region, func(ctx context.Context) error {
		out = out[:0]
		it := p.firewalls.List(ctx, &computepb.ListFirewallsRequest{Project: p.project}, p.noRetry...)
		for {
			f, err := it.Next()
			if err == iterator.Done {
				return nil
			}
			if err != nil {
				return err
			}
			r := fromFirewall(f)
			if (region == "" || r.Region == region) && r.Labels.Matches(selector) {
				out = append(out, *r)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b providers.FirewallRule) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteFirewallRule deletes the rule.
func (p *Provider) DeleteFirewallRule(ctx context.Context, region, name string) error {
	const op = "gcp.DeleteFirewallRule"
	if err := p.check(ctx, op); err != nil {
		return err
	}
	if name == "" {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "name: must not be empty"}
	}
	return p.mutate(ctx, op, name, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.firewalls.Delete(ctx, &computepb.DeleteFirewallRequest{Project: p.project, Firewall: name, RequestId: proto.String(rid)}, p.noRetry...)
	})
}
