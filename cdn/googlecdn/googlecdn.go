// Package googlecdn is the Google Cloud CDN edge of an environment: the
// Google global external HTTPS load balancer with Cloud CDN on its backend
// service, in front of the web nodes, over the provider's optional
// providers.LoadBalancers capability. It is available on GCP only (and on
// the memory provider, for tests); its entry point is public, unlike the
// Cloudflare tunnel's.
//
// Ensure builds the providers.LoadBalancerSpec from the environment's CDN
// settings (cache mode, default/max/client TTLs, negative caching,
// hostnames) with environment.LoadBalancerSpec, so it names and labels the
// load balancer exactly as the environment's own plan does, puts the web
// nodes behind it and the environment's reserved global address in front,
// and validates all of it (providers.CDNPolicy.Validate included) before any
// call. It refuses an OCI environment with InvalidArgument, and a provider
// without the capability with Unimplemented.
//
// The edge does not manage DNS by itself: give it a cdn.DNS (the Cloudflare
// edge, say) in Options.DNS for PointHostname, or let disaster recovery hand
// the DNS step to the domain owner on the Unimplemented error.
package googlecdn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// Options configure an Edge. The zero value is usable.
type Options struct {
	// DNS switches hostnames for PointHostname; nil makes PointHostname
	// return Unimplemented.
	DNS cdn.DNS
	// Logger receives one line per change (default: discard).
	Logger *slog.Logger
	// Clock times retries (default: the system clock).
	Clock clock.Clock
	// Retry is the retry policy for transient provider errors.
	Retry retry.Policy
}

// Edge is the Google Cloud CDN edge. It implements cdn.Edge.
type Edge struct {
	prov  providers.Provider
	lbs   providers.LoadBalancers
	opts  Options
	log   *slog.Logger
	retry retry.Policy
}

var _ cdn.Edge = (*Edge)(nil)

// New returns the edge over prov. A nil prov returns InvalidArgument; a
// provider without the load balancer capability (OCI) returns
// Unimplemented.
func New(prov providers.Provider, opts *Options) (*Edge, error) {
	if prov == nil {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: "googlecdn.New", Msg: "nil provider"}
	}
	lbs, err := providers.LoadBalancersOf(prov)
	if err != nil {
		return nil, &providers.Error{Code: providers.Code(err), Op: "googlecdn.New", Resource: string(prov.Kind()),
			Msg: "Google Cloud CDN needs the provider's load balancer capability (GCP); use the Cloudflare edge on OCI", Err: err}
	}
	e := &Edge{prov: prov, lbs: lbs}
	if opts != nil {
		e.opts = *opts
	}
	e.log = e.opts.Logger
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e.retry = retry.Policy{MaxAttempts: e.opts.Retry.MaxAttempts, Initial: e.opts.Retry.Initial, Max: e.opts.Retry.Max,
		Clock: clock.Or(e.opts.Clock),
		OnRetry: func(attempt int, err error, wait time.Duration) {
			e.log.Warn("googlecdn: retrying", "attempt", attempt, "wait", wait, "err", err)
		}}
	return e, nil
}

// Kind returns environment.CDNGoogle.
func (e *Edge) Kind() environment.CDNKind { return environment.CDNGoogle }

// Spec returns the load balancer that serves env from origin, or
// InvalidArgument listing every problem: an environment that is not on
// GCP (or memory), an edge kind other than google-cdn, no web nodes, a bad
// hostname, port or health check path, and the CDN policy's violations
// (providers.CDNPolicy.Validate).
func Spec(env *environment.Environment, origin cdn.Origin) (providers.LoadBalancerSpec, error) {
	const op = "googlecdn.Spec"
	if env == nil {
		return providers.LoadBalancerSpec{}, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "nil environment"}
	}
	var errs []string
	if !providers.ValidName(env.Name) {
		errs = append(errs, fmt.Sprintf("name: %q is not a valid environment name", env.Name))
	}
	switch env.Provider {
	case environment.GCP, environment.Memory:
	case environment.OCI:
		errs = append(errs, "provider: Google Cloud CDN is available on GCP only; an OCI environment uses the Cloudflare edge (cdn.kind: cloudflare)")
	default:
		errs = append(errs, fmt.Sprintf("provider: %q: Google Cloud CDN is available on GCP only", env.Provider))
	}
	if env.CDN.Kind != environment.CDNGoogle {
		errs = append(errs, fmt.Sprintf("cdn.kind: is %q, want %q for the Google Cloud CDN edge", env.CDN.Kind, environment.CDNGoogle))
	}
	if env.Region == "" {
		errs = append(errs, "region: required")
	}
	for i, h := range env.CDN.Hostnames {
		if !cdn.ValidHostname(h) || h != strings.ToLower(h) {
			errs = append(errs, fmt.Sprintf("cdn.hostnames[%d]: %q is not a lower case fully qualified host name", i, h))
		}
	}
	if len(origin.WebNodes) == 0 {
		errs = append(errs, "origin.webNodes: at least one web node is required as a backend")
	}
	for i, n := range origin.WebNodes {
		if n.Name == "" || n.Zone == "" {
			errs = append(errs, fmt.Sprintf("origin.webNodes[%d]: zone and name are required", i))
		}
		if n.Region != "" && n.Region != env.Region {
			errs = append(errs, fmt.Sprintf("origin.webNodes[%d].region: %q is not the environment's region %q", i, n.Region, env.Region))
		}
	}
	if origin.Port < 0 || origin.Port > 65535 {
		errs = append(errs, fmt.Sprintf("origin.port: %d is not a TCP port", origin.Port))
	}
	if origin.HealthCheckPath != "" && !strings.HasPrefix(origin.HealthCheckPath, "/") {
		errs = append(errs, fmt.Sprintf("origin.healthCheckPath: %q must start with '/'", origin.HealthCheckPath))
	}
	if origin.AddressName != "" && !providers.ValidName(origin.AddressName) {
		errs = append(errs, fmt.Sprintf("origin.addressName: %q is not a valid name", origin.AddressName))
	}
	spec := environment.LoadBalancerSpec(env, origin.WebNodes)
	if err := spec.CDN.Validate(); err != nil {
		msg := err.Error()
		if pe := (*providers.Error)(nil); errors.As(err, &pe) {
			msg = pe.Msg
		}
		for _, m := range strings.Split(msg, "; ") {
			errs = append(errs, "cdn.google."+m)
		}
	}
	if len(errs) > 0 {
		return providers.LoadBalancerSpec{}, &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: env.Name, Msg: strings.Join(errs, "; ")}
	}
	o := origin.WithDefaults()
	spec.Port, spec.HealthCheckPath = o.Port, o.HealthCheckPath
	if origin.AddressName != "" {
		spec.AddressName = origin.AddressName
	}
	for i := range spec.Backends {
		if spec.Backends[i].Region == "" {
			spec.Backends[i].Region = env.Region
		}
	}
	return spec, nil
}

// Ensure reserves the load balancer's global address when it is missing
// and creates or updates the load balancer with Cloud CDN so that it
// matches Spec(env, origin). A repeated call with the same arguments makes
// no mutating call on a provider honouring the LoadBalancers contract.
func (e *Edge) Ensure(ctx context.Context, env *environment.Environment, origin cdn.Origin) (*cdn.State, error) {
	spec, err := Spec(env, origin)
	if err != nil {
		return nil, err
	}
	addr, err := retry.Value(ctx, e.retry, func(ctx context.Context) (*providers.Address, error) {
		a, err := e.prov.GetAddress(ctx, "", spec.AddressName)
		if providers.Code(err) != providers.NotFound {
			return a, err
		}
		labels := spec.Labels.Clone()
		labels[providers.LabelRole] = "primary-address"
		a, err = e.prov.ReserveAddress(ctx, providers.AddressSpec{Name: spec.AddressName,
			Description: "primary address of OroCommerce environment " + env.Name, Labels: labels})
		if err == nil {
			e.log.InfoContext(ctx, "googlecdn: reserved global address", "address", spec.AddressName, "ip", a.IP)
		}
		return a, err
	})
	if err != nil {
		return nil, err
	}
	if !addr.Labels.OwnedBy(env.Name) {
		return nil, &providers.Error{Code: providers.AlreadyExists, Op: "googlecdn.Ensure", Resource: spec.AddressName,
			Msg: "the global address exists but does not belong to environment " + env.Name}
	}
	lb, err := retry.Value(ctx, e.retry, func(ctx context.Context) (*providers.LoadBalancer, error) {
		return e.lbs.EnsureLoadBalancer(ctx, spec)
	})
	if err != nil {
		return nil, err
	}
	e.log.InfoContext(ctx, "googlecdn: load balancer ensured", "env", env.Name, "lb", lb.Name, "ip", lb.IP,
		"backends", len(lb.Backends), "cache_mode", lb.CDN.CacheMode)
	return state(env, lb), nil
}

func state(env *environment.Environment, lb *providers.LoadBalancer) *cdn.State {
	return &cdn.State{Kind: environment.CDNGoogle, Environment: env.Name, Hostnames: lb.Hostnames,
		PublicEntryPoint: true, LoadBalancer: lb, IP: lb.IP}
}

// Describe returns the load balancer of env. A missing one returns
// NotFound.
func (e *Edge) Describe(ctx context.Context, env *environment.Environment) (*cdn.State, error) {
	if env == nil || !providers.ValidName(env.Name) {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: "googlecdn.Describe", Msg: "a valid environment is required"}
	}
	name := environment.LoadBalancerSpec(env, nil).Name
	lb, err := retry.Value(ctx, e.retry, func(ctx context.Context) (*providers.LoadBalancer, error) {
		return e.lbs.GetLoadBalancer(ctx, name)
	})
	if err != nil {
		return nil, err
	}
	return state(env, lb), nil
}

// Destroy deletes every component of env's load balancer. The reserved
// global address stays: it is the environment's primary address, given to
// customers for their whitelists, and goes with the environment. Without a
// load balancer it returns nil.
func (e *Edge) Destroy(ctx context.Context, env *environment.Environment) error {
	if env == nil || !providers.ValidName(env.Name) {
		return &providers.Error{Code: providers.InvalidArgument, Op: "googlecdn.Destroy", Msg: "a valid environment is required"}
	}
	name := environment.LoadBalancerSpec(env, nil).Name
	err := retry.Do(ctx, e.retry, func(ctx context.Context) error { return e.lbs.DeleteLoadBalancer(ctx, name) })
	if providers.Code(err) == providers.NotFound {
		return nil // already gone, or gone by a retried call whose answer was lost
	}
	if err == nil {
		e.log.InfoContext(ctx, "googlecdn: load balancer deleted", "env", env.Name, "lb", name)
	}
	return err
}

// PointHostname switches r with Options.DNS, or returns Unimplemented when
// there is none: the Google edge does not own the DNS zone.
func (e *Edge) PointHostname(ctx context.Context, r cdn.Record) (*cdn.Record, error) {
	if e.opts.DNS == nil {
		return nil, &providers.Error{Code: providers.Unimplemented, Op: "googlecdn.PointHostname", Resource: r.Name,
			Msg: "the Google Cloud CDN edge does not manage DNS: set Options.DNS, or hand the record change to the domain owner"}
	}
	return e.opts.DNS.PointHostname(ctx, r)
}
