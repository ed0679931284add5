package gcp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"

	"github.com/orocloud/orocloud-go/providers"
)

// Suffixes of the load balancer's components, after LoadBalancerSpec.Name:
// "NAME-ig-a" (the unmanaged instance group of zone REGION-a), "NAME-hc",
// "NAME-backend", "NAME-urlmap", "NAME-cert-HASH" (a managed certificate;
// HASH identifies its hostnames, since certificates are immutable),
// "NAME-https-proxy" and "NAME-fr" (the global forwarding rule on port 443).
const (
	lbGroupSuffix   = "-ig-"
	lbHealthSuffix  = "-hc"
	lbBackendSuffix = "-backend"
	lbURLMapSuffix  = "-urlmap"
	lbCertSuffix    = "-cert-"
	lbProxySuffix   = "-https-proxy"
	lbRuleSuffix    = "-fr"
	// maxLBNameLen leaves room for the longest suffix ("-cert-" + 8).
	maxLBNameLen = 63 - len(lbCertSuffix) - 8
	lbPortName   = "http"
)

var hostnameRE = regexp.MustCompile(`^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

func (p *Provider) url(scope, coll, name string) string {
	return "https://www.googleapis.com/compute/v1/projects/" + p.project + "/" + scope + "/" + coll + "/" + name
}

// sameRef compares two resource references (full or partial URLs) from
// their "projects/" part on.
func sameRef(a, b string) bool {
	cut := func(s string) string {
		if i := strings.Index(s, "projects/"); i >= 0 {
			return s[i:]
		}
		return s
	}
	return cut(a) == cut(b)
}

func certName(name string, hosts []string) string {
	h := sha256.Sum256([]byte(strings.Join(hosts, ",")))
	return name + lbCertSuffix + hex.EncodeToString(h[:4])
}

func groupName(name, zone string) string {
	return name + lbGroupSuffix + zone[strings.LastIndexByte(zone, '-')+1:]
}

// lbDescription records what the forwarding rule cannot say by itself.
func lbDescription(spec providers.LoadBalancerSpec) string {
	return fmt.Sprintf("orocloud-go load balancer; address=%s; region=%s", spec.AddressName, spec.Region)
}

func parseLBDescription(s string) (address, region string) {
	for _, f := range strings.Split(s, "; ") {
		if v, ok := strings.CutPrefix(f, "address="); ok {
			address = v
		}
		if v, ok := strings.CutPrefix(f, "region="); ok {
			region = v
		}
	}
	return address, region
}

// validateLB returns every problem of spec, the CDN policy's included.
func validateLB(spec providers.LoadBalancerSpec) error {
	const op = "gcp.EnsureLoadBalancer"
	var problems []string
	if !providers.ValidName(spec.Name) || len(spec.Name) > maxLBNameLen {
		problems = append(problems, fmt.Sprintf("name: %q must be a valid resource name of at most %d characters (room for component suffixes)", spec.Name, maxLBNameLen))
	}
	if spec.Region == "" {
		problems = append(problems, "region: must not be empty")
	}
	if len(spec.Hostnames) == 0 {
		problems = append(problems, "hostnames: at least one hostname is required for the managed certificate")
	}
	if len(spec.Hostnames) > 100 {
		problems = append(problems, "hostnames: a managed certificate takes at most 100 hostnames")
	}
	for _, h := range spec.Hostnames {
		if !hostnameRE.MatchString(h) || strings.HasPrefix(h, "*.") {
			problems = append(problems, fmt.Sprintf("hostnames: %q is not a fully qualified lower case domain name (managed certificates take no wildcards)", h))
		}
	}
	if len(spec.Backends) == 0 {
		problems = append(problems, "backends: at least one web node is required")
	}
	for i, b := range spec.Backends {
		if b.Name == "" || b.Zone == "" {
			problems = append(problems, fmt.Sprintf("backends[%d]: name and zone are required", i))
		} else if spec.Region != "" && regionOfZone(b.Zone) != spec.Region {
			problems = append(problems, fmt.Sprintf("backends[%d]: zone %q is not in region %q", i, b.Zone, spec.Region))
		}
	}
	if spec.AddressName == "" {
		problems = append(problems, "addressName: the reserved global address is required")
	}
	if spec.Port < 0 || spec.Port > 65535 {
		problems = append(problems, fmt.Sprintf("port: %d is not in 0-65535", spec.Port))
	}
	if spec.HealthCheckPath != "" && !strings.HasPrefix(spec.HealthCheckPath, "/") {
		problems = append(problems, fmt.Sprintf("healthCheckPath: %q must start with '/'", spec.HealthCheckPath))
	}
	problems = append(problems, labelProblems("labels", spec.Labels)...)
	if err := spec.CDN.Validate(); err != nil {
		var e *providers.Error
		if errors.As(err, &e) {
			problems = append(problems, "cdn: "+e.Msg)
		} else {
			problems = append(problems, "cdn: "+err.Error())
		}
	}
	return invalid(op, spec.Name, problems)
}

func normalizeLB(spec providers.LoadBalancerSpec) providers.LoadBalancerSpec {
	if spec.Port == 0 {
		spec.Port = 80
	}
	if spec.HealthCheckPath == "" {
		spec.HealthCheckPath = "/"
	}
	spec.CDN = spec.CDN.WithDefaults()
	spec.Hostnames = slices.Clone(spec.Hostnames)
	slices.Sort(spec.Hostnames)
	spec.Hostnames = slices.Compact(spec.Hostnames)
	return spec
}

func secs(d interface{ Seconds() float64 }) *int32 {
	s := int32(d.Seconds())
	if s == 0 {
		return nil
	}
	return proto.Int32(s)
}

func cdnPolicy(c providers.CDNPolicy) *computepb.BackendServiceCdnPolicy {
	return &computepb.BackendServiceCdnPolicy{
		CacheMode:       proto.String(string(c.CacheMode)),
		DefaultTtl:      secs(c.DefaultTTL),
		MaxTtl:          secs(c.MaxTTL),
		ClientTtl:       secs(c.ClientTTL),
		ServeWhileStale: secs(c.ServeWhileStale),
		NegativeCaching: proto.Bool(c.NegativeCaching),
	}
}

func sameCDN(a, b *computepb.BackendServiceCdnPolicy) bool {
	return a.GetCacheMode() == b.GetCacheMode() && a.GetDefaultTtl() == b.GetDefaultTtl() && a.GetMaxTtl() == b.GetMaxTtl() &&
		a.GetClientTtl() == b.GetClientTtl() && a.GetServeWhileStale() == b.GetServeWhileStale() && a.GetNegativeCaching() == b.GetNegativeCaching()
}

// EnsureLoadBalancer creates or updates the global external HTTPS load
// balancer with Cloud CDN: an unmanaged instance group per zone of the web
// nodes (named port "http"), an HTTP health check, a backend service with
// enableCdn and the CDN policy (defaults: CACHE_ALL_STATIC, TTLs 1 h / 24 h /
// 1 h), a URL map, a Google-managed certificate for the hostnames, a target
// HTTPS proxy and a global forwarding rule on port 443 at the reserved
// global address spec.AddressName. spec is validated, CDN policy included,
// before any call. Every component is read first and written only when it
// differs, so a second call with the same spec makes no mutating call.
// Independent components are ensured in parallel. Components left over from
// a previous spec (the instance group of a zone no longer used, a
// certificate for other hostnames) are deleted once nothing uses them.
func (p *Provider) EnsureLoadBalancer(ctx context.Context, spec providers.LoadBalancerSpec) (*providers.LoadBalancer, error) {
	const op = "gcp.EnsureLoadBalancer"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	if err := validateLB(spec); err != nil {
		return nil, err
	}
	spec = normalizeLB(spec)
	byZone := map[string][]providers.InstanceRef{}
	for _, b := range spec.Backends {
		byZone[b.Zone] = append(byZone[b.Zone], b)
	}
	zones := sortedKeys(byZone)

	// The reserved address first: a missing one stops here, before
	// anything is created.
	addr, err := p.GetAddress(ctx, "", spec.AddressName)
	if err != nil {
		return nil, err
	}
	ip := addr.IP

	// Stage 1, in parallel: the groups, the health check, the certificate.
	var (
		cert   = certName(spec.Name, spec.Hostnames)
		hc     = spec.Name + lbHealthSuffix
		groups = make([]string, len(zones))
		stage1 []func(context.Context) error
	)
	for i, z := range zones {
		groups[i] = p.url("zones/"+z, "instanceGroups", groupName(spec.Name, z))
		stage1 = append(stage1, func(ctx context.Context) error { return p.ensureGroup(ctx, spec, z, byZone[z]) })
	}
	stage1 = append(stage1,
		func(ctx context.Context) error { return p.ensureHealthCheck(ctx, spec, hc) },
		func(ctx context.Context) error { return p.ensureCert(ctx, spec, cert) })
	if err := parallel(ctx, stage1...); err != nil {
		return nil, err
	}

	// Stage 2, in order: backend service, URL map, proxy, forwarding rule.
	staleGroups, err := p.ensureBackend(ctx, spec, groups, p.url("global", "healthChecks", hc))
	if err != nil {
		return nil, err
	}
	if err := p.ensureURLMap(ctx, spec); err != nil {
		return nil, err
	}
	staleCerts, err := p.ensureProxy(ctx, spec, cert)
	if err != nil {
		return nil, err
	}
	if err := p.ensureRule(ctx, spec, ip); err != nil {
		return nil, err
	}

	// Leftovers, now unused.
	var cleanup []func(context.Context) error
	for _, g := range staleGroups {
		cleanup = append(cleanup, func(ctx context.Context) error {
			return ignoreNotFound(p.mutate(ctx, op, g, func(ctx context.Context, rid string) (*compute.Operation, error) {
				return p.groups.Delete(ctx, &computepb.DeleteInstanceGroupRequest{Project: p.project, Zone: zoneOfURL(g), InstanceGroup: lastSegment(g), RequestId: proto.String(rid)}, p.noRetry...)
			}))
		})
	}
	for _, c := range staleCerts {
		cleanup = append(cleanup, func(ctx context.Context) error {
			return ignoreNotFound(p.mutate(ctx, op, c, func(ctx context.Context, rid string) (*compute.Operation, error) {
				return p.certs.Delete(ctx, &computepb.DeleteSslCertificateRequest{Project: p.project, SslCertificate: c, RequestId: proto.String(rid)}, p.noRetry...)
			}))
		})
	}
	if err := parallel(ctx, cleanup...); err != nil {
		return nil, err
	}
	return &providers.LoadBalancer{LoadBalancerSpec: spec, IP: ip, Components: components(spec, zones, cert)}, nil
}

func components(spec providers.LoadBalancerSpec, zones []string, cert string) []string {
	var out []string
	for _, z := range zones {
		out = append(out, "zones/"+z+"/instanceGroups/"+groupName(spec.Name, z))
	}
	return append(out,
		"global/healthChecks/"+spec.Name+lbHealthSuffix,
		"global/backendServices/"+spec.Name+lbBackendSuffix,
		"global/urlMaps/"+spec.Name+lbURLMapSuffix,
		"global/sslCertificates/"+cert,
		"global/targetHttpsProxies/"+spec.Name+lbProxySuffix,
		"global/forwardingRules/"+spec.Name+lbRuleSuffix)
}

func zoneOfURL(u string) string {
	_, after, _ := strings.Cut(u, "/zones/")
	z, _, _ := strings.Cut(after, "/")
	return z
}

func ignoreNotFound(err error) error {
	if providers.Code(err) == providers.NotFound {
		return nil
	}
	return err
}

// parallel runs fns concurrently and returns the first error (by index).
func parallel(ctx context.Context, fns ...func(context.Context) error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn(ctx) })
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (p *Provider) ensureGroup(ctx context.Context, spec providers.LoadBalancerSpec, zone string, members []providers.InstanceRef) error {
	const op = "gcp.EnsureLoadBalancer"
	name := groupName(spec.Name, zone)
	res := zone + "/" + name
	ports := []*computepb.NamedPort{{Name: proto.String(lbPortName), Port: proto.Int32(int32(spec.Port))}}
	body := &computepb.InstanceGroup{Name: proto.String(name), NamedPorts: ports, Network: proto.String(p.networkPath()),
		Description: proto.String("web nodes of load balancer " + spec.Name)}
	g, created, err := getOrInsert(ctx, p, op, res, func(ctx context.Context) (*computepb.InstanceGroup, error) {
		return p.groups.Get(ctx, &computepb.GetInstanceGroupRequest{Project: p.project, Zone: zone, InstanceGroup: name}, p.noRetry...)
	}, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.groups.Insert(ctx, &computepb.InsertInstanceGroupRequest{Project: p.project, Zone: zone, InstanceGroupResource: body, RequestId: proto.String(rid)}, p.noRetry...)
	})
	var current []string
	switch {
	case err != nil:
		return err
	case !created:
		np := g.GetNamedPorts()
		if len(np) != 1 || np[0].GetName() != lbPortName || np[0].GetPort() != int32(spec.Port) {
			fp := g.GetFingerprint()
			if err := p.mutate(ctx, op, res, func(ctx context.Context, rid string) (*compute.Operation, error) {
				return p.groups.SetNamedPorts(ctx, &computepb.SetNamedPortsInstanceGroupRequest{Project: p.project, Zone: zone, InstanceGroup: name, RequestId: proto.String(rid),
					InstanceGroupsSetNamedPortsRequestResource: &computepb.InstanceGroupsSetNamedPortsRequest{NamedPorts: ports, Fingerprint: proto.String(fp)}}, p.noRetry...)
			}); err != nil {
				return err
			}
		}
		if err := p.call(ctx, op, res, func(ctx context.Context) error {
			current = current[:0]
			it := p.groups.ListInstances(ctx, &computepb.ListInstancesInstanceGroupsRequest{Project: p.project, Zone: zone, InstanceGroup: name,
				InstanceGroupsListInstancesRequestResource: &computepb.InstanceGroupsListInstancesRequest{InstanceState: proto.String("ALL")}}, p.noRetry...)
			for {
				m, err := it.Next()
				if err == iterator.Done {
					return nil
				}
				if err != nil {
					return err
				}
				current = append(current, m.GetInstance())
			}
		}); err != nil {
			return err
		}
	}
	var add, remove []*computepb.InstanceReference
	want := make([]string, len(members))
	for i, m := range members {
		want[i] = p.url("zones/"+zone, "instances", m.Name)
		if !slices.ContainsFunc(current, func(c string) bool { return sameRef(c, want[i]) }) {
			add = append(add, &computepb.InstanceReference{Instance: proto.String(want[i])})
		}
	}
	for _, c := range current {
		if !slices.ContainsFunc(want, func(w string) bool { return sameRef(c, w) }) {
			remove = append(remove, &computepb.InstanceReference{Instance: proto.String(c)})
		}
	}
	if len(add) > 0 {
		if err := p.mutate(ctx, op, res, func(ctx context.Context, rid string) (*compute.Operation, error) {
			return p.groups.AddInstances(ctx, &computepb.AddInstancesInstanceGroupRequest{Project: p.project, Zone: zone, InstanceGroup: name, RequestId: proto.String(rid),
				InstanceGroupsAddInstancesRequestResource: &computepb.InstanceGroupsAddInstancesRequest{Instances: add}}, p.noRetry...)
		}); err != nil {
			return err
		}
	}
	if len(remove) > 0 {
		if err := p.mutate(ctx, op, res, func(ctx context.Context, rid string) (*compute.Operation, error) {
			return p.groups.RemoveInstances(ctx, &computepb.RemoveInstancesInstanceGroupRequest{Project: p.project, Zone: zone, InstanceGroup: name, RequestId: proto.String(rid),
				InstanceGroupsRemoveInstancesRequestResource: &computepb.InstanceGroupsRemoveInstancesRequest{Instances: remove}}, p.noRetry...)
		}); err != nil {
			return err
		}
	}
	return nil
}

func (p *Provider) ensureHealthCheck(ctx context.Context, spec providers.LoadBalancerSpec, name string) error {
	const op = "gcp.EnsureLoadBalancer"
	want := &computepb.HealthCheck{
		Name: proto.String(name), Type: proto.String("HTTP"),
		HttpHealthCheck:  &computepb.HTTPHealthCheck{Port: proto.Int32(int32(spec.Port)), RequestPath: proto.String(spec.HealthCheckPath)},
		CheckIntervalSec: proto.Int32(5), TimeoutSec: proto.Int32(5), HealthyThreshold: proto.Int32(2), UnhealthyThreshold: proto.Int32(2),
	}
	cur, created, err := getOrInsert(ctx, p, op, name, func(ctx context.Context) (*computepb.HealthCheck, error) {
		return p.healthChecks.Get(ctx, &computepb.GetHealthCheckRequest{Project: p.project, HealthCheck: name}, p.noRetry...)
	}, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.healthChecks.Insert(ctx, &computepb.InsertHealthCheckRequest{Project: p.project, HealthCheckResource: want, RequestId: proto.String(rid)}, p.noRetry...)
	})
	if created || err != nil {
		return err
	}
	if cur.GetType() == "HTTP" && cur.GetHttpHealthCheck().GetPort() == int32(spec.Port) && cur.GetHttpHealthCheck().GetRequestPath() == spec.HealthCheckPath {
		return nil
	}
	return p.mutate(ctx, op, name, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.healthChecks.Update(ctx, &computepb.UpdateHealthCheckRequest{Project: p.project, HealthCheck: name, HealthCheckResource: want, RequestId: proto.String(rid)}, p.noRetry...)
	})
}

func ignoreAlreadyExists(err error) error {
	if providers.Code(err) == providers.AlreadyExists {
		return nil
	}
	return err
}

// read runs get as one call on the resource res (retries, error mapping).
func read[T any](ctx context.Context, p *Provider, op, res string, get func(context.Context) (T, error)) (T, error) {
	var out T
	err := p.call(ctx, op, res, func(ctx context.Context) error {
		var err error
		out, err = get(ctx)
		return err
	})
	return out, err
}

// getOrInsert reads the global or zonal resource res with get; when it is
// missing, it creates it with insert (one that appeared meanwhile counts as
// created) and reports created, with the zero cur.
func getOrInsert[T any](ctx context.Context, p *Provider, op, res string, get func(context.Context) (T, error),
	insert func(ctx context.Context, rid string) (*compute.Operation, error)) (cur T, created bool, err error) {
	cur, err = read(ctx, p, op, res, get)
	if providers.Code(err) == providers.NotFound {
		return cur, true, ignoreAlreadyExists(p.mutate(ctx, op, res, insert))
	}
	return cur, false, err
}

func (p *Provider) ensureCert(ctx context.Context, spec providers.LoadBalancerSpec, name string) error {
	const op = "gcp.EnsureLoadBalancer"
	body := &computepb.SslCertificate{Name: proto.String(name), Type: proto.String("MANAGED"),
		Managed: &computepb.SslCertificateManagedSslCertificate{Domains: slices.Clone(spec.Hostnames)}}
	_, _, err := getOrInsert(ctx, p, op, name, func(ctx context.Context) (*computepb.SslCertificate, error) {
		return p.certs.Get(ctx, &computepb.GetSslCertificateRequest{Project: p.project, SslCertificate: name}, p.noRetry...)
	}, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.certs.Insert(ctx, &computepb.InsertSslCertificateRequest{Project: p.project, SslCertificateResource: body, RequestId: proto.String(rid)}, p.noRetry...)
	})
	return err
}

// ensureBackend returns the instance groups the backend service used before
// and no longer does.
func (p *Provider) ensureBackend(ctx context.Context, spec providers.LoadBalancerSpec, groups []string, hc string) ([]string, error) {
	const op = "gcp.EnsureLoadBalancer"
	name := spec.Name + lbBackendSuffix
	want := &computepb.BackendService{
		Name: proto.String(name), Protocol: proto.String("HTTP"), PortName: proto.String(lbPortName),
		LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"), TimeoutSec: proto.Int32(30),
		HealthChecks: []string{hc}, EnableCDN: proto.Bool(true), CdnPolicy: cdnPolicy(spec.CDN),
	}
	for _, g := range groups {
		want.Backends = append(want.Backends, &computepb.Backend{Group: proto.String(g), BalancingMode: proto.String("UTILIZATION"), CapacityScaler: proto.Float32(1)})
	}
	cur, created, err := getOrInsert(ctx, p, op, name, func(ctx context.Context) (*computepb.BackendService, error) {
		return p.backends.Get(ctx, &computepb.GetBackendServiceRequest{Project: p.project, BackendService: name}, p.noRetry...)
	}, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.backends.Insert(ctx, &computepb.InsertBackendServiceRequest{Project: p.project, BackendServiceResource: want, RequestId: proto.String(rid)}, p.noRetry...)
	})
	if created || err != nil {
		return nil, err
	}
	var curGroups, stale []string
	for _, b := range cur.GetBackends() {
		curGroups = append(curGroups, b.GetGroup())
		if !slices.ContainsFunc(groups, func(g string) bool { return sameRef(g, b.GetGroup()) }) {
			stale = append(stale, b.GetGroup())
		}
	}
	same := cur.GetEnableCDN() && sameCDN(cur.GetCdnPolicy(), want.GetCdnPolicy()) && cur.GetPortName() == lbPortName &&
		cur.GetProtocol() == "HTTP" && len(cur.GetHealthChecks()) == 1 && sameRef(cur.GetHealthChecks()[0], hc) &&
		len(curGroups) == len(groups) && len(stale) == 0
	if same {
		return nil, nil
	}
	want.Fingerprint = cur.Fingerprint
	if err := p.mutate(ctx, op, name, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.backends.Update(ctx, &computepb.UpdateBackendServiceRequest{Project: p.project, BackendService: name, BackendServiceResource: want, RequestId: proto.String(rid)}, p.noRetry...)
	}); err != nil {
		return nil, err
	}
	return stale, nil
}

func (p *Provider) ensureURLMap(ctx context.Context, spec providers.LoadBalancerSpec) error {
	const op = "gcp.EnsureLoadBalancer"
	name := spec.Name + lbURLMapSuffix
	bes := p.url("global", "backendServices", spec.Name+lbBackendSuffix)
	want := &computepb.UrlMap{Name: proto.String(name), DefaultService: proto.String(bes)}
	cur, created, err := getOrInsert(ctx, p, op, name, func(ctx context.Context) (*computepb.UrlMap, error) {
		return p.urlMaps.Get(ctx, &computepb.GetUrlMapRequest{Project: p.project, UrlMap: name}, p.noRetry...)
	}, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.urlMaps.Insert(ctx, &computepb.InsertUrlMapRequest{Project: p.project, UrlMapResource: want, RequestId: proto.String(rid)}, p.noRetry...)
	})
	if created || err != nil {
		return err
	}
	if sameRef(cur.GetDefaultService(), bes) {
		return nil
	}
	want.Fingerprint = cur.Fingerprint
	return p.mutate(ctx, op, name, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.urlMaps.Update(ctx, &computepb.UpdateUrlMapRequest{Project: p.project, UrlMap: name, UrlMapResource: want, RequestId: proto.String(rid)}, p.noRetry...)
	})
}

// ensureProxy returns our certificates the proxy used before and no longer
// does.
func (p *Provider) ensureProxy(ctx context.Context, spec providers.LoadBalancerSpec, cert string) ([]string, error) {
	const op = "gcp.EnsureLoadBalancer"
	name := spec.Name + lbProxySuffix
	um := p.url("global", "urlMaps", spec.Name+lbURLMapSuffix)
	certURL := p.url("global", "sslCertificates", cert)
	body := &computepb.TargetHttpsProxy{Name: proto.String(name), UrlMap: proto.String(um), SslCertificates: []string{certURL}}
	cur, created, err := getOrInsert(ctx, p, op, name, func(ctx context.Context) (*computepb.TargetHttpsProxy, error) {
		return p.proxies.Get(ctx, &computepb.GetTargetHttpsProxyRequest{Project: p.project, TargetHttpsProxy: name}, p.noRetry...)
	}, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.proxies.Insert(ctx, &computepb.InsertTargetHttpsProxyRequest{Project: p.project, TargetHttpsProxyResource: body, RequestId: proto.String(rid)}, p.noRetry...)
	})
	if created || err != nil {
		return nil, err
	}
	if !sameRef(cur.GetUrlMap(), um) {
		if err := p.mutate(ctx, op, name, func(ctx context.Context, rid string) (*compute.Operation, error) {
			return p.proxies.SetUrlMap(ctx, &computepb.SetUrlMapTargetHttpsProxyRequest{Project: p.project, TargetHttpsProxy: name, RequestId: proto.String(rid),
				UrlMapReferenceResource: &computepb.UrlMapReference{UrlMap: proto.String(um)}}, p.noRetry...)
		}); err != nil {
			return nil, err
		}
	}
	certs := cur.GetSslCertificates()
	if len(certs) == 1 && sameRef(certs[0], certURL) {
		return nil, nil
	}
	if err := p.mutate(ctx, op, name, func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.proxies.SetSslCertificates(ctx, &computepb.SetSslCertificatesTargetHttpsProxyRequest{Project: p.project, TargetHttpsProxy: name, RequestId: proto.String(rid),
			TargetHttpsProxiesSetSslCertificatesRequestResource: &computepb.TargetHttpsProxiesSetSslCertificatesRequest{SslCertificates: []string{certURL}}}, p.noRetry...)
	}); err != nil {
		return nil, err
	}
	var stale []string
	for _, c := range certs {
		if n := lastSegment(c); strings.HasPrefix(n, spec.Name+lbCertSuffix) && n != cert {
			stale = append(stale, n)
		}
	}
	return stale, nil
}

func (p *Provider) ensureRule(ctx context.Context, spec providers.LoadBalancerSpec, ip string) error {
	const op = "gcp.EnsureLoadBalancer"
	name := spec.Name + lbRuleSuffix
	proxy := p.url("global", "targetHttpsProxies", spec.Name+lbProxySuffix)
	want := &computepb.ForwardingRule{
		Name: proto.String(name), IPAddress: proto.String(ip), IPProtocol: proto.String("TCP"), PortRange: proto.String("443-443"),
		Target: proto.String(proxy), LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"), Labels: spec.Labels.Clone(),
		Description: proto.String(lbDescription(spec)),
	}
	insert := func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.rules.Insert(ctx, &computepb.InsertGlobalForwardingRuleRequest{Project: p.project, ForwardingRuleResource: want, RequestId: proto.String(rid)}, p.noRetry...)
	}
	cur, created, err := getOrInsert(ctx, p, op, name, func(ctx context.Context) (*computepb.ForwardingRule, error) {
		return p.rules.Get(ctx, &computepb.GetGlobalForwardingRuleRequest{Project: p.project, ForwardingRule: name}, p.noRetry...)
	}, insert)
	if created || err != nil {
		return err
	}
	if cur.GetIPAddress() != ip || cur.GetDescription() != lbDescription(spec) {
		// The address of a forwarding rule cannot change: replace it.
		if err := p.mutate(ctx, op, name, func(ctx context.Context, rid string) (*compute.Operation, error) {
			return p.rules.Delete(ctx, &computepb.DeleteGlobalForwardingRuleRequest{Project: p.project, ForwardingRule: name, RequestId: proto.String(rid)}, p.noRetry...)
		}); ignoreNotFound(err) != nil {
			return err
		}
		return ignoreAlreadyExists(p.mutate(ctx, op, name, insert))
	}
	if !sameRef(cur.GetTarget(), proxy) {
		if err := p.mutate(ctx, op, name, func(ctx context.Context, rid string) (*compute.Operation, error) {
			return p.rules.SetTarget(ctx, &computepb.SetTargetGlobalForwardingRuleRequest{Project: p.project, ForwardingRule: name, RequestId: proto.String(rid),
				TargetReferenceResource: &computepb.TargetReference{Target: proto.String(proxy)}}, p.noRetry...)
		}); err != nil {
			return err
		}
	}
	if !providers.Labels(cur.GetLabels()).Matches(spec.Labels) || len(cur.GetLabels()) != len(spec.Labels) {
		fp := cur.GetLabelFingerprint()
		return p.mutate(ctx, op, name, func(ctx context.Context, rid string) (*compute.Operation, error) {
			return p.rules.SetLabels(ctx, &computepb.SetLabelsGlobalForwardingRuleRequest{Project: p.project, Resource: name,
				GlobalSetLabelsRequestResource: &computepb.GlobalSetLabelsRequest{Labels: spec.Labels.Clone(), LabelFingerprint: proto.String(fp)}}, p.noRetry...)
		})
	}
	return nil
}

// GetLoadBalancer reads the load balancer's components back, starting from
// its forwarding rule. A missing forwarding rule returns NotFound.
func (p *Provider) GetLoadBalancer(ctx context.Context, name string) (*providers.LoadBalancer, error) {
	const op = "gcp.GetLoadBalancer"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "name: must not be empty"}
	}
	get := func(res string, fn func(ctx context.Context) error) error { return p.call(ctx, op, res, fn) }
	rule, err := read(ctx, p, op, name+lbRuleSuffix, func(ctx context.Context) (*computepb.ForwardingRule, error) {
		return p.rules.Get(ctx, &computepb.GetGlobalForwardingRuleRequest{Project: p.project, ForwardingRule: name + lbRuleSuffix}, p.noRetry...)
	})
	if err != nil {
		return nil, err
	}
	lb := &providers.LoadBalancer{IP: rule.GetIPAddress()}
	lb.Name = name
	lb.AddressName, lb.Region = parseLBDescription(rule.GetDescription())
	lb.Labels = providers.Labels(rule.GetLabels()).Clone()
	var (
		proxy *computepb.TargetHttpsProxy
		bes   *computepb.BackendService
		hc    *computepb.HealthCheck
	)
	if err := parallel(ctx,
		func(ctx context.Context) error {
			return get(name+lbProxySuffix, func(ctx context.Context) error {
				var err error
				proxy, err = p.proxies.Get(ctx, &computepb.GetTargetHttpsProxyRequest{Project: p.project, TargetHttpsProxy: name + lbProxySuffix}, p.noRetry...)
				return err
			})
		},
		func(ctx context.Context) error {
			return get(name+lbBackendSuffix, func(ctx context.Context) error {
				var err error
				bes, err = p.backends.Get(ctx, &computepb.GetBackendServiceRequest{Project: p.project, BackendService: name + lbBackendSuffix}, p.noRetry...)
				return err
			})
		},
		func(ctx context.Context) error {
			return get(name+lbHealthSuffix, func(ctx context.Context) error {
				var err error
				hc, err = p.healthChecks.Get(ctx, &computepb.GetHealthCheckRequest{Project: p.project, HealthCheck: name + lbHealthSuffix}, p.noRetry...)
				return err
			})
		}); err != nil {
		return nil, err
	}
	lb.Port = int(hc.GetHttpHealthCheck().GetPort())
	lb.HealthCheckPath = hc.GetHttpHealthCheck().GetRequestPath()
	cp := bes.GetCdnPolicy()
	lb.CDN = providers.CDNPolicy{
		CacheMode:       providers.CacheMode(cp.GetCacheMode()),
		DefaultTTL:      seconds(cp.GetDefaultTtl()),
		MaxTTL:          seconds(cp.GetMaxTtl()),
		ClientTTL:       seconds(cp.GetClientTtl()),
		ServeWhileStale: seconds(cp.GetServeWhileStale()),
		NegativeCaching: cp.GetNegativeCaching(),
	}
	var certName string
	if cs := proxy.GetSslCertificates(); len(cs) > 0 {
		certName = lastSegment(cs[0])
		cert, err := read(ctx, p, op, certName, func(ctx context.Context) (*computepb.SslCertificate, error) {
			return p.certs.Get(ctx, &computepb.GetSslCertificateRequest{Project: p.project, SslCertificate: certName}, p.noRetry...)
		})
		if err != nil {
			return nil, err
		}
		lb.Hostnames = slices.Clone(cert.GetManaged().GetDomains())
		slices.Sort(lb.Hostnames)
	}
	var zones []string
	for _, b := range bes.GetBackends() {
		g := b.GetGroup()
		zone := zoneOfURL(g)
		zones = append(zones, zone)
		if err := get(g, func(ctx context.Context) error {
			it := p.groups.ListInstances(ctx, &computepb.ListInstancesInstanceGroupsRequest{Project: p.project, Zone: zone, InstanceGroup: lastSegment(g),
				InstanceGroupsListInstancesRequestResource: &computepb.InstanceGroupsListInstancesRequest{InstanceState: proto.String("ALL")}}, p.noRetry...)
			for {
				m, err := it.Next()
				if err == iterator.Done {
					return nil
				}
				if err != nil {
					return err
				}
				lb.Backends = append(lb.Backends, providers.InstanceRef{Region: regionOfZone(zone), Zone: zone, Name: lastSegment(m.GetInstance())})
			}
		}); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(lb.Backends, func(a, b providers.InstanceRef) int { return cmpStrings(a.Name, b.Name, a.Zone, b.Zone) })
	slices.Sort(zones)
	lb.Components = components(lb.LoadBalancerSpec, slices.Compact(zones), certName)
	return lb, nil
}

func seconds(s int32) time.Duration { return time.Duration(s) * time.Second }

// DeleteLoadBalancer deletes the forwarding rule, proxy, URL map, backend
// service, health check, certificates and instance groups of the load
// balancer, in that order (each after what uses it). Components already
// gone are skipped; when none exists it returns NotFound. The reserved
// address is not released.
func (p *Provider) DeleteLoadBalancer(ctx context.Context, name string) error {
	const op = "gcp.DeleteLoadBalancer"
	if err := p.check(ctx, op); err != nil {
		return err
	}
	if name == "" {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "name: must not be empty"}
	}
	var found atomic.Bool
	del := func(res string, send func(ctx context.Context, rid string) (*compute.Operation, error)) error {
		err := p.mutate(ctx, op, res, send)
		if err == nil {
			found.Store(true)
		}
		return ignoreNotFound(err)
	}
	// Learn the certificates and groups before their users are gone.
	var certs, groups []string
	proxy, err := read(ctx, p, op, name+lbProxySuffix, func(ctx context.Context) (*computepb.TargetHttpsProxy, error) {
		return p.proxies.Get(ctx, &computepb.GetTargetHttpsProxyRequest{Project: p.project, TargetHttpsProxy: name + lbProxySuffix}, p.noRetry...)
	})
	if ignoreNotFound(err) != nil {
		return err
	}
	for _, c := range proxy.GetSslCertificates() {
		certs = append(certs, lastSegment(c))
	}
	if err := p.call(ctx, op, name+lbCertSuffix+"*", func(ctx context.Context) error {
		it := p.certs.List(ctx, &computepb.ListSslCertificatesRequest{Project: p.project, Filter: proto.String(fmt.Sprintf("name eq %s%s.*", name, lbCertSuffix))}, p.noRetry...)
		for {
			c, err := it.Next()
			if err == iterator.Done {
				return nil
			}
			if err != nil {
				return err
			}
			if !slices.Contains(certs, c.GetName()) && strings.HasPrefix(c.GetName(), name+lbCertSuffix) {
				certs = append(certs, c.GetName())
			}
		}
	}); err != nil {
		return err
	}
	bes, err := read(ctx, p, op, name+lbBackendSuffix, func(ctx context.Context) (*computepb.BackendService, error) {
		return p.backends.Get(ctx, &computepb.GetBackendServiceRequest{Project: p.project, BackendService: name + lbBackendSuffix}, p.noRetry...)
	})
	if ignoreNotFound(err) != nil {
		return err
	}
	for _, b := range bes.GetBackends() {
		groups = append(groups, b.GetGroup())
	}

	steps := []func() error{
		func() error {
			return del(name+lbRuleSuffix, func(ctx context.Context, rid string) (*compute.Operation, error) {
				return p.rules.Delete(ctx, &computepb.DeleteGlobalForwardingRuleRequest{Project: p.project, ForwardingRule: name + lbRuleSuffix, RequestId: proto.String(rid)}, p.noRetry...)
			})
		},
		func() error {
			return del(name+lbProxySuffix, func(ctx context.Context, rid string) (*compute.Operation, error) {
				return p.proxies.Delete(ctx, &computepb.DeleteTargetHttpsProxyRequest{Project: p.project, TargetHttpsProxy: name + lbProxySuffix, RequestId: proto.String(rid)}, p.noRetry...)
			})
		},
		func() error {
			return del(name+lbURLMapSuffix, func(ctx context.Context, rid string) (*compute.Operation, error) {
				return p.urlMaps.Delete(ctx, &computepb.DeleteUrlMapRequest{Project: p.project, UrlMap: name + lbURLMapSuffix, RequestId: proto.String(rid)}, p.noRetry...)
			})
		},
		func() error {
			return del(name+lbBackendSuffix, func(ctx context.Context, rid string) (*compute.Operation, error) {
				return p.backends.Delete(ctx, &computepb.DeleteBackendServiceRequest{Project: p.project, BackendService: name + lbBackendSuffix, RequestId: proto.String(rid)}, p.noRetry...)
			})
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	var last []func(context.Context) error
	last = append(last, func(ctx context.Context) error {
		return del(name+lbHealthSuffix, func(ctx context.Context, rid string) (*compute.Operation, error) {
			return p.healthChecks.Delete(ctx, &computepb.DeleteHealthCheckRequest{Project: p.project, HealthCheck: name + lbHealthSuffix, RequestId: proto.String(rid)}, p.noRetry...)
		})
	})
	for _, c := range certs {
		last = append(last, func(ctx context.Context) error {
			return del(c, func(ctx context.Context, rid string) (*compute.Operation, error) {
				return p.certs.Delete(ctx, &computepb.DeleteSslCertificateRequest{Project: p.project, SslCertificate: c, RequestId: proto.String(rid)}, p.noRetry...)
			})
		})
	}
	for _, g := range groups {
		last = append(last, func(ctx context.Context) error {
			return del(g, func(ctx context.Context, rid string) (*compute.Operation, error) {
				return p.groups.Delete(ctx, &computepb.DeleteInstanceGroupRequest{Project: p.project, Zone: zoneOfURL(g), InstanceGroup: lastSegment(g), RequestId: proto.String(rid)}, p.noRetry...)
			})
		})
	}
	if err := parallel(ctx, last...); err != nil {
		return err
	}
	if !found.Load() {
		return &providers.Error{Code: providers.NotFound, Op: op, Resource: name, Msg: "no component of the load balancer exists"}
	}
	return nil
}
