package memory

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/orocloud/orocloud-go/providers"
)

func cloneAddress(a providers.Address) providers.Address {
	a.Labels = a.Labels.Clone()
	return a
}

// poolLocked returns the address pool of region ("" for global).
func (p *Provider) poolLocked(op, region string) (*ipPool, error) {
	if region == "" {
		if p.noGlobalAddr {
			return nil, invalid(op, "", []string{"region: must not be empty: this provider has no global addresses"})
		}
		return p.global, nil
	}
	r, err := p.regionLocked(op, region)
	if err != nil {
		return nil, err
	}
	return r.addresses, nil
}

// ReserveAddress reserves a static address, idempotently by name. Addresses
// come from documentation ranges, lowest free host first: 203.0.113.0/24
// for the first region, 198.51.100.0/24 for the second, 100.64.<i>.0/24 for
// region i after that, 192.0.2.0/24 for global addresses.
func (p *Provider) ReserveAddress(ctx context.Context, spec providers.AddressSpec) (_ *providers.Address, err error) {
	defer p.lost(mReserveAddress, &err)
	const op = "memory.ReserveAddress"
	if err := p.begin(ctx, mReserveAddress, spec.Region, spec.Name, nil); err != nil {
		return nil, err
	}
	var problems []string
	if !providers.ValidName(spec.Name) {
		problems = append(problems, fmt.Sprintf("name: %q must be 1-63 lower case letters, digits or '-', starting with a letter", spec.Name))
	}
	problems = checkLabels(problems, "labels", spec.Labels)
	if len(problems) > 0 {
		return nil, invalid(op, spec.Name, problems)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pool, err := p.poolLocked(op, spec.Region)
	if err != nil {
		return nil, err
	}
	if existing := p.addresses[spec.Region][spec.Name]; existing != nil {
		if !sameOwner(existing.Labels, spec.Labels) {
			return nil, alreadyExists(op, spec.Name, "an address of that name exists and belongs to another owner or environment")
		}
		out := cloneAddress(*existing)
		return &out, nil
	}
	ip, ok := pool.take()
	if !ok {
		return nil, &providers.Error{Code: providers.ResourceExhausted, Op: op, Resource: spec.Name, Msg: "no free address left in " + pool.prefix + "0/24"}
	}
	a := providers.Address{AddressSpec: spec, ID: p.newIDLocked("address"), IP: ip}
	a = cloneAddress(a)
	if p.addresses[spec.Region] == nil {
		p.addresses[spec.Region] = map[string]*providers.Address{}
	}
	p.addresses[spec.Region][spec.Name] = &a
	out := cloneAddress(a)
	return &out, nil
}

// GetAddress returns the address.
func (p *Provider) GetAddress(ctx context.Context, region, name string) (*providers.Address, error) {
	const op = "memory.GetAddress"
	if err := p.begin(ctx, mGetAddress, region, name, nil); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.poolLocked(op, region); err != nil {
		return nil, err
	}
	a := p.addresses[region][name]
	if a == nil {
		return nil, notFound(op, name, "address")
	}
	out := cloneAddress(*a)
	return &out, nil
}

// ListAddresses returns the addresses of region ("" for global) matching
// selector, sorted by name.
func (p *Provider) ListAddresses(ctx context.Context, region string, selector providers.Labels) ([]providers.Address, error) {
	const op = "memory.ListAddresses"
	if err := p.begin(ctx, mListAddresses, region, region, nil); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.poolLocked(op, region); err != nil {
		return nil, err
	}
	m := p.addresses[region]
	out := make([]providers.Address, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if m[name].Labels.Matches(selector) {
			out = append(out, cloneAddress(*m[name]))
		}
	}
	return out, nil
}

// ReleaseAddress releases the address; its IP may be handed out again. An
// address used by a load balancer returns FailedPrecondition.
func (p *Provider) ReleaseAddress(ctx context.Context, region, name string) (err error) {
	defer p.lost(mReleaseAddress, &err)
	const op = "memory.ReleaseAddress"
	if err := p.begin(ctx, mReleaseAddress, region, name, nil); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pool, err := p.poolLocked(op, region)
	if err != nil {
		return err
	}
	a := p.addresses[region][name]
	if a == nil {
		return notFound(op, name, "address")
	}
	if region == "" {
		for _, lb := range p.lbs {
			if lb.lb.AddressName == name {
				return &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: name, Msg: "address is in use by load balancer " + lb.lb.Name}
			}
		}
	}
	pool.give(a.IP)
	delete(p.addresses[region], name)
	return nil
}

func cloneRule(r providers.FirewallRule) providers.FirewallRule {
	r.Ports = slices.Clone(r.Ports)
	r.SourceRanges = slices.Clone(r.SourceRanges)
	r.TargetTags = slices.Clone(r.TargetTags)
	r.Labels = r.Labels.Clone()
	return r
}

// validateRule lists every problem of rule.
func validateRule(rule providers.FirewallRule) []string {
	var problems []string
	if !providers.ValidName(rule.Name) {
		problems = append(problems, fmt.Sprintf("name: %q must be 1-63 lower case letters, digits or '-', starting with a letter", rule.Name))
	}
	if rule.Region == "" {
		problems = append(problems, "region: must not be empty")
	}
	switch rule.Protocol {
	case providers.TCP, providers.UDP, "":
	default:
		problems = append(problems, fmt.Sprintf("protocol: %q must be tcp or udp", rule.Protocol))
	}
	if len(rule.Ports) == 0 {
		problems = append(problems, "ports: at least one port is required")
	}
	for i, port := range rule.Ports {
		if port < 1 || port > 65535 {
			problems = append(problems, fmt.Sprintf("ports[%d]: %d must be within 1-65535", i, port))
		}
	}
	if len(rule.SourceRanges) == 0 {
		problems = append(problems, "sourceRanges: at least one source range is required")
	}
	for i, s := range rule.SourceRanges {
		if _, err := netip.ParsePrefix(s); err != nil {
			problems = append(problems, fmt.Sprintf("sourceRanges[%d]: %q is not a CIDR range", i, s))
		}
	}
	if len(rule.TargetTags) == 0 {
		problems = append(problems, "targetTags: at least one target tag is required")
	}
	for i, t := range rule.TargetTags {
		if !providers.ValidName(t) {
			problems = append(problems, fmt.Sprintf("targetTags[%d]: %q must be a valid name", i, t))
		}
	}
	return checkLabels(problems, "labels", rule.Labels)
}

// CreateFirewallRule creates the rule, idempotently by name within its
// region. An empty Protocol means tcp.
func (p *Provider) CreateFirewallRule(ctx context.Context, rule providers.FirewallRule) (_ *providers.FirewallRule, err error) {
	defer p.lost(mCreateFirewallRule, &err)
	const op = "memory.CreateFirewallRule"
	if err := p.begin(ctx, mCreateFirewallRule, rule.Region, rule.Name, nil); err != nil {
		return nil, err
	}
	if problems := validateRule(rule); len(problems) > 0 {
		return nil, invalid(op, rule.Name, problems)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.regionLocked(op, rule.Region); err != nil {
		return nil, err
	}
	if existing := p.rules[rule.Region][rule.Name]; existing != nil {
		if !sameOwner(existing.Labels, rule.Labels) {
			return nil, alreadyExists(op, rule.Name, "a firewall rule of that name exists and belongs to another owner or environment")
		}
		out := cloneRule(*existing)
		return &out, nil
	}
	stored := cloneRule(rule)
	if stored.Protocol == "" {
		stored.Protocol = providers.TCP
	}
	if p.rules[rule.Region] == nil {
		p.rules[rule.Region] = map[string]*providers.FirewallRule{}
	}
	p.rules[rule.Region][rule.Name] = &stored
	out := cloneRule(stored)
	return &out, nil
}

// GetFirewallRule returns the rule.
func (p *Provider) GetFirewallRule(ctx context.Context, region, name string) (*providers.FirewallRule, error) {
	const op = "memory.GetFirewallRule"
	if err := p.begin(ctx, mGetFirewallRule, region, name, nil); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.regionLocked(op, region); err != nil {
		return nil, err
	}
	r := p.rules[region][name]
	if r == nil {
		return nil, notFound(op, name, "firewall rule")
	}
	out := cloneRule(*r)
	return &out, nil
}

// ListFirewallRules returns the rules of region matching selector, sorted
// by name.
func (p *Provider) ListFirewallRules(ctx context.Context, region string, selector providers.Labels) ([]providers.FirewallRule, error) {
	const op = "memory.ListFirewallRules"
	if err := p.begin(ctx, mListFirewallRules, region, region, nil); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.regionLocked(op, region); err != nil {
		return nil, err
	}
	m := p.rules[region]
	out := make([]providers.FirewallRule, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if m[name].Labels.Matches(selector) {
			out = append(out, cloneRule(*m[name]))
		}
	}
	return out, nil
}

// DeleteFirewallRule deletes the rule.
func (p *Provider) DeleteFirewallRule(ctx context.Context, region, name string) (err error) {
	defer p.lost(mDeleteFirewallRule, &err)
	const op = "memory.DeleteFirewallRule"
	if err := p.begin(ctx, mDeleteFirewallRule, region, name, nil); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.regionLocked(op, region); err != nil {
		return err
	}
	if p.rules[region][name] == nil {
		return notFound(op, name, "firewall rule")
	}
	delete(p.rules[region], name)
	return nil
}
