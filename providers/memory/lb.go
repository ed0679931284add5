package memory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/orocloud/orocloud-go/providers"
)

type lbRec struct {
	lb        providers.LoadBalancer
	ephemeral bool // lb.IP came from the ephemeral pool
}

func cloneLB(lb providers.LoadBalancer) providers.LoadBalancer {
	lb.Hostnames = slices.Clone(lb.Hostnames)
	lb.Backends = slices.Clone(lb.Backends)
	lb.Labels = lb.Labels.Clone()
	lb.Components = slices.Clone(lb.Components)
	return lb
}

// normalizeLB applies the defaults a cloud would and orders sets, so that
// two specs meaning the same load balancer compare equal.
func normalizeLB(spec providers.LoadBalancerSpec) providers.LoadBalancerSpec {
	if spec.Port == 0 {
		spec.Port = 80
	}
	if spec.HealthCheckPath == "" {
		spec.HealthCheckPath = "/"
	}
	spec.CDN = spec.CDN.WithDefaults()
	spec.Hostnames = slices.Sorted(slices.Values(spec.Hostnames))
	spec.Hostnames = slices.Compact(spec.Hostnames)
	spec.Backends = slices.Clone(spec.Backends)
	for i := range spec.Backends {
		if spec.Backends[i].Region == "" {
			spec.Backends[i].Region = spec.Region
		}
	}
	slices.SortFunc(spec.Backends, func(a, b providers.InstanceRef) int { return strings.Compare(a.String(), b.String()) })
	spec.Backends = slices.Compact(spec.Backends)
	if len(spec.Hostnames) == 0 {
		spec.Hostnames = nil
	}
	if len(spec.Backends) == 0 {
		spec.Backends = nil
	}
	if len(spec.Labels) == 0 {
		spec.Labels = nil
	} else {
		spec.Labels = maps.Clone(spec.Labels)
	}
	return spec
}

// components names the cloud resources a GCP external HTTPS load balancer
// with Cloud CDN is made of: an instance group per backend zone, a health
// check, a backend service (carrying the CDN policy), a URL map, a managed
// certificate when there are hostnames, a target HTTPS proxy and a global
// forwarding rule.
func components(spec providers.LoadBalancerSpec) []string {
	var zones []string
	for _, b := range spec.Backends {
		zones = append(zones, b.Zone)
	}
	slices.Sort(zones)
	var out []string
	for _, z := range slices.Compact(zones) {
		out = append(out, "instanceGroups/"+spec.Name+"-ig-"+z)
	}
	out = append(out, "healthChecks/"+spec.Name+"-hc", "backendServices/"+spec.Name+"-backend", "urlMaps/"+spec.Name+"-urlmap")
	if len(spec.Hostnames) > 0 {
		out = append(out, "sslCertificates/"+spec.Name+"-cert")
	}
	return append(out, "targetHttpsProxies/"+spec.Name+"-https-proxy", "forwardingRules/"+spec.Name+"-fr")
}

func validateLB(spec providers.LoadBalancerSpec) []string {
	var problems []string
	if !providers.ValidName(spec.Name) {
		problems = append(problems, fmt.Sprintf("name: %q must be 1-63 lower case letters, digits or '-', starting with a letter", spec.Name))
	}
	if spec.Region == "" {
		problems = append(problems, "region: must not be empty")
	}
	if spec.Port < 0 || spec.Port > 65535 {
		problems = append(problems, fmt.Sprintf("port: %d must be within 1-65535 (0 means 80)", spec.Port))
	}
	if spec.HealthCheckPath != "" && !strings.HasPrefix(spec.HealthCheckPath, "/") {
		problems = append(problems, fmt.Sprintf("healthCheckPath: %q must start with '/'", spec.HealthCheckPath))
	}
	for i, h := range spec.Hostnames {
		if !validHostname(h) {
			problems = append(problems, fmt.Sprintf("hostnames[%d]: %q is not a valid lower case DNS name", i, h))
		}
	}
	for i, b := range spec.Backends {
		if b.Name == "" || b.Zone == "" {
			problems = append(problems, fmt.Sprintf("backends[%d]: zone and name must not be empty", i))
		}
		if b.Region != "" && b.Region != spec.Region {
			problems = append(problems, fmt.Sprintf("backends[%d].region: %q differs from the load balancer's region %q", i, b.Region, spec.Region))
		}
	}
	if spec.AddressName != "" && !providers.ValidName(spec.AddressName) {
		problems = append(problems, fmt.Sprintf("addressName: %q is not a valid name", spec.AddressName))
	}
	if err := spec.CDN.Validate(); err != nil {
		msg := err.Error()
		var pe *providers.Error
		if errors.As(err, &pe) {
			msg = pe.Msg
		}
		for _, m := range strings.Split(msg, "; ") {
			problems = append(problems, "cdn."+m)
		}
	}
	return checkLabels(problems, "labels", spec.Labels)
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimPrefix(h, "*."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// EnsureLoadBalancer creates or updates the load balancer to match spec.
// The spec is validated first (every problem at once, the CDN policy with
// CDNPolicy.Validate) and refused with InvalidArgument before anything
// changes; a missing reserved address (AddressName, a global address) or
// backend instance returns NotFound. Without AddressName the load balancer
// gets an ephemeral IP from 198.18.0.0/24. A spec equal to the stored one
// (after defaults: port 80, health check "/", CDN defaults; hostnames and
// backends compared as sets) changes nothing and is not counted in
// MutatingCalls.
func (p *Provider) EnsureLoadBalancer(ctx context.Context, spec providers.LoadBalancerSpec) (_ *providers.LoadBalancer, err error) {
	defer p.lost(mEnsureLoadBalancer, &err)
	const op = "memory.EnsureLoadBalancer"
	if problems := validateLB(spec); len(problems) > 0 {
		p.mu.Lock()
		p.calls[mEnsureLoadBalancer]++
		p.mu.Unlock()
		return nil, invalid(op, spec.Name, problems)
	}
	if err := p.begin(ctx, mEnsureLoadBalancer, spec.Region, spec.Name, nil); err != nil {
		p.mu.Lock()
		p.mutating++ // a failed attempt counts like any failed mutating call
		p.mu.Unlock()
		return nil, err
	}
	norm := normalizeLB(spec)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.regionLocked(op, spec.Region); err != nil {
		return nil, err
	}
	ip := ""
	if norm.AddressName != "" {
		a := p.addresses[""][norm.AddressName]
		if a == nil {
			return nil, notFound(op, norm.AddressName, "global address")
		}
		ip = a.IP
	}
	for _, b := range norm.Backends {
		rec := p.instances[b.Region][b.Name]
		if rec == nil || rec.inst.Zone != b.Zone {
			return nil, notFound(op, b.String(), "backend instance")
		}
	}
	existing := p.lbs[norm.Name]
	if existing != nil && reflect.DeepEqual(existing.lb.LoadBalancerSpec, norm) {
		out := cloneLB(existing.lb)
		return &out, nil
	}
	p.mutating++
	rec := &lbRec{lb: providers.LoadBalancer{LoadBalancerSpec: norm, Components: components(norm)}}
	switch {
	case ip != "":
		if existing != nil && existing.ephemeral {
			p.ephemeral.give(existing.lb.IP)
		}
		rec.lb.IP = ip
	case existing != nil && existing.ephemeral:
		rec.lb.IP, rec.ephemeral = existing.lb.IP, true
	default:
		got, ok := p.ephemeral.take()
		if !ok {
			return nil, &providers.Error{Code: providers.ResourceExhausted, Op: op, Resource: norm.Name, Msg: "no ephemeral address left"}
		}
		rec.lb.IP, rec.ephemeral = got, true
	}
	p.lbs[norm.Name] = rec
	out := cloneLB(rec.lb)
	return &out, nil
}

func (p *Provider) lbRegion(name string) func() string {
	return func() string {
		if rec := p.lbs[name]; rec != nil {
			return rec.lb.Region
		}
		return ""
	}
}

// GetLoadBalancer returns the load balancer.
func (p *Provider) GetLoadBalancer(ctx context.Context, name string) (*providers.LoadBalancer, error) {
	const op = "memory.GetLoadBalancer"
	if err := p.begin(ctx, mGetLoadBalancer, "", name, p.lbRegion(name)); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rec := p.lbs[name]
	if rec == nil {
		return nil, notFound(op, name, "load balancer")
	}
	out := cloneLB(rec.lb)
	return &out, nil
}

// DeleteLoadBalancer deletes every component; a reserved address it used
// is kept.
func (p *Provider) DeleteLoadBalancer(ctx context.Context, name string) (err error) {
	defer p.lost(mDeleteLoadBalancer, &err)
	const op = "memory.DeleteLoadBalancer"
	if err := p.begin(ctx, mDeleteLoadBalancer, "", name, p.lbRegion(name)); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rec := p.lbs[name]
	if rec == nil {
		return notFound(op, name, "load balancer")
	}
	if rec.ephemeral {
		p.ephemeral.give(rec.lb.IP)
	}
	delete(p.lbs, name)
	return nil
}
