// Package gcp is the Google Cloud provider of orocloud-go: it implements the
// driver contract of package providers (zones, instances, static addresses,
// firewall rules, backup object storage) and the optional
// providers.LoadBalancers capability (a global external HTTPS load balancer
// with Cloud CDN) on the official clients, cloud.google.com/go/compute/apiv1
// (REST) and cloud.google.com/go/storage.
//
// Open it with a project and, optionally, client options:
//
//	prov, err := gcp.Open(ctx, "acme-prod", &gcp.Options{Network: "shop"})
//
// Tests point it at the in-process fake of package gcpfake with
// Options.Endpoint.
//
// # Retries
//
// Each Compute call is retried once in the stack, here, by the SDK's retry
// policy (capped exponential backoff with jitter, on the injected clock,
// honouring Retry-After) on transient errors (429, 5xx, dropped
// connections); the client library's own retries are disabled on every call
// (gax.WithRetry returning no retryer), so retries never stack and Get/List
// no longer retry 503 for ten minutes. Mutating Compute calls carry a
// requestId that stays the same across retries, so the API applies a request
// at most once even when a response is lost. Cloud Storage calls follow the
// same rule (the storage client's policy is RetryNever and the SDK's policy
// wraps the call) except the streamed body of PutObject, which cannot be
// replayed from the caller's reader: there the storage client's resumable
// upload retries chunks itself (policy RetryAlways, the SDK's attempt count
// and backoff) and the SDK does not retry the call.
//
// # Operations
//
// Mutating Compute calls return long-running operations. The provider polls
// them itself (ZoneOperations, RegionOperations or GlobalOperations Get) on
// the caller's context and injected clock, first after a tenth of
// Options.PollInterval (100 ms by default), then doubling up to it, instead
// of op.Wait, whose backoff starts at one second and grows to a minute; and
// it checks the operation's error
// field (op.Wait returns nil for a DONE operation that failed).
//
// # Errors
//
// Errors carry a providers.ErrorCode: 400 InvalidArgument, 403
// PermissionDenied (ResourceExhausted when the reason is a rate limit), 404
// NotFound, 409 AlreadyExists, 412 FailedPrecondition, 429
// ResourceExhausted, 5xx and dropped connections Unavailable; the
// Retry-After header becomes providers.Error.RetryAfter. The raw error stays
// reachable with errors.As: *apierror.APIError and *googleapi.Error for API
// errors, *OperationError for failed operations.
//
// # Ownership
//
// Instances, addresses, buckets and forwarding rules carry the SDK's labels
// (providers.LabelManagedBy, LabelEnvironment, ...). GCP firewall rules have
// no labels: the provider appends them to the rule's description, after the
// marker " | orocloud-labels: ", as comma-separated key=value pairs followed
// by "; region=REGION" (firewall rules are global in GCP; the region is the
// one the rule was created for). ListFirewallRules decodes them to select
// rules. Secrets of an InstanceSpec are sent as metadata items; the names of
// those items are recorded in the metadata item "orocloud-secret-keys" so
// they are read back as Secrets, and the boot image in "orocloud-image"
// (the API does not return it on the instance). Neither secrets nor their
// values are ever logged or put in errors.
//
// GCP names instances per zone; the contract names them per region, so
// CreateInstance first looks for the name in every zone of the region with
// one aggregated list call.
//
// # Load balancer with Cloud CDN
//
// EnsureLoadBalancer composes, for LoadBalancerSpec.Name N: unmanaged
// instance groups N-ig-a, N-ig-b... (one per zone of the web nodes, named
// port "http"), the HTTP health check N-hc, the backend service N-backend
// (EXTERNAL_MANAGED, enableCdn, the CDN policy), the URL map N-urlmap, the
// Google-managed certificate N-cert-HASH for the hostnames, the target HTTPS
// proxy N-https-proxy and the global forwarding rule N-fr on port 443 at the
// reserved global address. Each is read and written only when it differs.
package gcp

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// Defaults of Options.
const (
	DefaultMachineType  = "e2-standard-2"
	DefaultImage        = "projects/debian-cloud/global/images/family/debian-12"
	DefaultNetwork      = "global/networks/default"
	DefaultPollInterval = time.Second
)

// Options configure the provider. A nil *Options takes every default.
type Options struct {
	// ClientOptions are passed to every Compute and Storage client:
	// credentials, endpoint, HTTP client, user agent. Without them the
	// clients use application default credentials.
	ClientOptions []option.ClientOption
	// Endpoint is a shorthand for tests: the base URL of a fake (such as
	// gcpfake.Server.URL). Compute clients use it as their endpoint, the
	// storage client uses Endpoint+"/storage/v1/", and no credentials are
	// sent. It is applied before ClientOptions.
	Endpoint string
	// Network is the VPC network of instances and firewall rules, a name or
	// a "global/networks/NAME" path (default "global/networks/default").
	Network string
	// Subnetwork is the instances' subnetwork in their region, a name or a
	// path; empty lets the network choose (auto-mode networks).
	Subnetwork string
	// MachineTypes and Images are the defaults per tier name ("web",
	// "postgresql", ...) used when an InstanceSpec leaves MachineType or
	// Image empty; the key "" is the default of every tier. Built-in
	// defaults: DefaultMachineType and DefaultImage.
	MachineTypes map[string]string
	Images       map[string]string
	// Logger receives debug logs of API calls (never secrets). Default:
	// discard.
	Logger *slog.Logger
	// Clock drives retries and operation polling. Default: the system clock.
	Clock clock.Clock
	// Retry configures retries of transient errors. MaxAttempts 1 turns
	// them off (and RetriesTransientErrors then reports false, so callers
	// retry instead).
	// Only MaxAttempts, Initial and Max are read; waits run on Clock.
	Retry retry.Policy
	// PollInterval bounds the interval between polls of a long-running
	// operation (default DefaultPollInterval). The first poll comes after a
	// tenth of it and the interval doubles up to it, so quick operations
	// (most, on GCP, take well under a second except instance inserts) are
	// seen done early without polling slow ones often.
	PollInterval time.Duration
	// StorageLocation is the location of buckets created without a region
	// (default: the bucket spec's region, else "EU").
	StorageLocation string
	// UploadChunkSize is the chunk of PutObject's resumable uploads, and so
	// the most of a stream held in memory (default 8 MiB; rounded up to a
	// multiple of 256 KiB as the API requires). Objects smaller than a chunk
	// go in one request.
	UploadChunkSize int
}

// Provider is the Google Cloud provider. It is safe for concurrent use.
type Provider struct {
	project string
	opts    Options
	log     *slog.Logger
	clk     clock.Clock
	retry   retry.Policy
	poll    time.Duration
	noRetry []gax.CallOption

	instances       *compute.InstancesClient
	zones           *compute.ZonesClient
	addresses       *compute.AddressesClient
	globalAddresses *compute.GlobalAddressesClient
	firewalls       *compute.FirewallsClient
	zoneOps         *compute.ZoneOperationsClient
	regionOps       *compute.RegionOperationsClient
	globalOps       *compute.GlobalOperationsClient
	groups          *compute.InstanceGroupsClient
	healthChecks    *compute.HealthChecksClient
	backends        *compute.BackendServicesClient
	urlMaps         *compute.UrlMapsClient
	proxies         *compute.TargetHttpsProxiesClient
	certs           *compute.SslCertificatesClient
	rules           *compute.GlobalForwardingRulesClient
	gcs             *storage.Client

	closed atomic.Bool
	mu     sync.Mutex
	zoneOf map[string][]string // region -> zone names (zones never move)
}

var (
	_ providers.Provider      = (*Provider)(nil)
	_ providers.LoadBalancers = (*Provider)(nil)
	_ providers.SelfRetrying  = (*Provider)(nil)
)

// Open returns a provider for project. It creates the API clients but makes
// no call. An empty project returns InvalidArgument.
func Open(ctx context.Context, project string, opts *Options) (*Provider, error) {
	if ctx == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "gcp.Open: nil context")
	}
	if strings.TrimSpace(project) == "" {
		return nil, providers.Errorf(providers.InvalidArgument, "gcp.Open: project: must not be empty")
	}
	p := &Provider{project: project, zoneOf: map[string][]string{}}
	if opts != nil {
		p.opts = *opts
	}
	p.log = p.opts.Logger
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p.clk = clock.Or(p.opts.Clock)
	p.poll = cmp.Or(p.opts.PollInterval, DefaultPollInterval)
	const quantum = 256 << 10
	if p.opts.UploadChunkSize <= 0 {
		p.opts.UploadChunkSize = uploadChunkSize
	}
	p.opts.UploadChunkSize = (p.opts.UploadChunkSize + quantum - 1) / quantum * quantum
	if p.opts.Network == "" {
		p.opts.Network = DefaultNetwork
	}
	p.retry = retry.Policy{
		MaxAttempts: p.opts.Retry.MaxAttempts,
		Initial:     p.opts.Retry.Initial,
		Max:         p.opts.Retry.Max,
		Clock:       p.clk,
		OnRetry: func(attempt int, err error, wait time.Duration) {
			p.log.Debug("gcp: retrying", "attempt", attempt, "wait", wait, "code", providers.Code(err).String(), "err", err)
		},
	}
	p.noRetry = []gax.CallOption{gax.WithRetry(func() gax.Retryer { return nil })}

	computeOpts := slices.Clone(p.opts.ClientOptions)
	storageOpts := slices.Clone(p.opts.ClientOptions)
	if p.opts.Endpoint != "" {
		ep := strings.TrimRight(p.opts.Endpoint, "/")
		computeOpts = append([]option.ClientOption{option.WithEndpoint(ep), option.WithoutAuthentication()}, computeOpts...)
		storageOpts = append([]option.ClientOption{option.WithEndpoint(ep + "/storage/v1/"), option.WithoutAuthentication()}, storageOpts...)
	}
	var err error
	fail := func(what string, e error) (*Provider, error) {
		_ = p.Close()
		return nil, providers.Wrap(e, providers.InvalidArgument, "gcp.Open", what)
	}
	if p.instances, err = compute.NewInstancesRESTClient(ctx, computeOpts...); err != nil {
		return fail("instances client", err)
	}
	if p.zones, err = compute.NewZonesRESTClient(ctx, computeOpts...); err != nil {
		return fail("zones client", err)
	}
	if p.addresses, err = compute.NewAddressesRESTClient(ctx, computeOpts...); err != nil {
		return fail("addresses client", err)
	}
	if p.globalAddresses, err = compute.NewGlobalAddressesRESTClient(ctx, computeOpts...); err != nil {
		return fail("global addresses client", err)
	}
	if p.firewalls, err = compute.NewFirewallsRESTClient(ctx, computeOpts...); err != nil {
		return fail("firewalls client", err)
	}
	if p.zoneOps, err = compute.NewZoneOperationsRESTClient(ctx, computeOpts...); err != nil {
		return fail("zone operations client", err)
	}
	if p.regionOps, err = compute.NewRegionOperationsRESTClient(ctx, computeOpts...); err != nil {
		return fail("region operations client", err)
	}
	if p.globalOps, err = compute.NewGlobalOperationsRESTClient(ctx, computeOpts...); err != nil {
		return fail("global operations client", err)
	}
	if p.groups, err = compute.NewInstanceGroupsRESTClient(ctx, computeOpts...); err != nil {
		return fail("instance groups client", err)
	}
	if p.healthChecks, err = compute.NewHealthChecksRESTClient(ctx, computeOpts...); err != nil {
		return fail("health checks client", err)
	}
	if p.backends, err = compute.NewBackendServicesRESTClient(ctx, computeOpts...); err != nil {
		return fail("backend services client", err)
	}
	if p.urlMaps, err = compute.NewUrlMapsRESTClient(ctx, computeOpts...); err != nil {
		return fail("url maps client", err)
	}
	if p.proxies, err = compute.NewTargetHttpsProxiesRESTClient(ctx, computeOpts...); err != nil {
		return fail("target https proxies client", err)
	}
	if p.certs, err = compute.NewSslCertificatesRESTClient(ctx, computeOpts...); err != nil {
		return fail("ssl certificates client", err)
	}
	if p.rules, err = compute.NewGlobalForwardingRulesRESTClient(ctx, computeOpts...); err != nil {
		return fail("global forwarding rules client", err)
	}
	if p.gcs, err = storage.NewClient(ctx, append(storageOpts, storage.WithJSONReads())...); err != nil {
		return fail("storage client", err)
	}
	p.gcs.SetRetry(storage.WithPolicy(storage.RetryNever))
	return p, nil
}

// RetriesTransientErrors reports whether the provider retries transient
// errors itself (Options.Retry.MaxAttempts other than 1), which tells
// callers such as the environment reconciler not to retry again
// (providers.SelfRetrying).
func (p *Provider) RetriesTransientErrors() bool { return p != nil && p.opts.Retry.MaxAttempts != 1 }

// Kind returns providers.KindGCP.
func (p *Provider) Kind() providers.Kind { return providers.KindGCP }

// Project returns the project the provider works in.
func (p *Provider) Project() string { return p.project }

// As sets *target to one of the raw clients: **compute.InstancesClient,
// **compute.ZonesClient, **compute.AddressesClient,
// **compute.GlobalAddressesClient, **compute.FirewallsClient,
// **compute.ZoneOperationsClient, **compute.RegionOperationsClient,
// **compute.GlobalOperationsClient, **compute.InstanceGroupsClient,
// **compute.HealthChecksClient, **compute.BackendServicesClient,
// **compute.UrlMapsClient, **compute.TargetHttpsProxiesClient,
// **compute.SslCertificatesClient, **compute.GlobalForwardingRulesClient or
// **storage.Client. It reports whether it did.
func (p *Provider) As(target any) bool {
	if p == nil {
		return false
	}
	switch t := target.(type) {
	case **compute.InstancesClient:
		return set(t, p.instances)
	case **compute.ZonesClient:
		return set(t, p.zones)
	case **compute.AddressesClient:
		return set(t, p.addresses)
	case **compute.GlobalAddressesClient:
		return set(t, p.globalAddresses)
	case **compute.FirewallsClient:
		return set(t, p.firewalls)
	case **compute.ZoneOperationsClient:
		return set(t, p.zoneOps)
	case **compute.RegionOperationsClient:
		return set(t, p.regionOps)
	case **compute.GlobalOperationsClient:
		return set(t, p.globalOps)
	case **compute.InstanceGroupsClient:
		return set(t, p.groups)
	case **compute.HealthChecksClient:
		return set(t, p.healthChecks)
	case **compute.BackendServicesClient:
		return set(t, p.backends)
	case **compute.UrlMapsClient:
		return set(t, p.urlMaps)
	case **compute.TargetHttpsProxiesClient:
		return set(t, p.proxies)
	case **compute.SslCertificatesClient:
		return set(t, p.certs)
	case **compute.GlobalForwardingRulesClient:
		return set(t, p.rules)
	case **storage.Client:
		return set(t, p.gcs)
	}
	return false
}

func set[T any](target *T, v T) bool {
	if target == nil {
		return false
	}
	*target = v
	return true
}

// Close closes every client. Calls after Close return FailedPrecondition.
func (p *Provider) Close() error {
	if p == nil || p.closed.Swap(true) {
		return nil
	}
	var errs []error
	add := func(c io.Closer, isNil bool) {
		if !isNil {
			errs = append(errs, c.Close())
		}
	}
	add(p.instances, p.instances == nil)
	add(p.zones, p.zones == nil)
	add(p.addresses, p.addresses == nil)
	add(p.globalAddresses, p.globalAddresses == nil)
	add(p.firewalls, p.firewalls == nil)
	add(p.zoneOps, p.zoneOps == nil)
	add(p.regionOps, p.regionOps == nil)
	add(p.globalOps, p.globalOps == nil)
	add(p.groups, p.groups == nil)
	add(p.healthChecks, p.healthChecks == nil)
	add(p.backends, p.backends == nil)
	add(p.urlMaps, p.urlMaps == nil)
	add(p.proxies, p.proxies == nil)
	add(p.certs, p.certs == nil)
	add(p.rules, p.rules == nil)
	add(p.gcs, p.gcs == nil)
	return errors.Join(errs...)
}

// check returns an error when the provider is closed or ctx is nil.
func (p *Provider) check(ctx context.Context, op string) error {
	if ctx == nil {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "nil context"}
	}
	if p == nil || p.closed.Load() {
		return &providers.Error{Code: providers.FailedPrecondition, Op: op, Msg: "provider is closed"}
	}
	return nil
}

// call runs fn with the retry policy, mapping its errors to SDK errors.
// ctx is checked before every attempt: the REST clients' List methods do
// not attach the context to their HTTP requests (compute apiv1 v1.75), so a
// canceled context would not stop them.
func (p *Provider) call(ctx context.Context, op, resource string, fn func(ctx context.Context) error) error {
	return retry.Do(ctx, p.retry, func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return providers.Wrap(err, providers.Canceled, op, resource)
		}
		return mapError(fn(ctx), op, resource, p.clk)
	})
}

// mutate sends a mutating Compute call (retried with the same requestId)
// and waits for its operation.
func (p *Provider) mutate(ctx context.Context, op, resource string, send func(ctx context.Context, requestID string) (*compute.Operation, error)) error {
	rid := newRequestID()
	var cop *compute.Operation
	err := p.call(ctx, op, resource, func(ctx context.Context) error {
		o, err := send(ctx, rid)
		if err == nil {
			cop = o
		}
		return err
	})
	if err != nil {
		return err
	}
	p.log.Debug("gcp: operation started", "op", op, "resource", resource, "operation", cop.Name())
	return p.wait(ctx, op, resource, cop.Proto())
}

// wait polls the operation until it is DONE and returns its error, if any.
// The interval starts at a tenth of the poll interval and doubles up to it.
func (p *Provider) wait(ctx context.Context, op, resource string, o *computepb.Operation) error {
	interval := max(p.poll/10, time.Millisecond)
	for o.GetStatus() != computepb.Operation_DONE {
		select {
		case <-ctx.Done():
			return providers.Wrap(ctx.Err(), providers.Canceled, op, resource)
		case <-p.clk.After(interval):
		}
		interval = min(2*interval, p.poll)
		name := o.GetName()
		var next *computepb.Operation
		err := p.call(ctx, op, resource, func(ctx context.Context) error {
			var err error
			switch {
			case o.GetZone() != "":
				next, err = p.zoneOps.Get(ctx, &computepb.GetZoneOperationRequest{Project: p.project, Zone: lastSegment(o.GetZone()), Operation: name}, p.noRetry...)
			case o.GetRegion() != "":
				next, err = p.regionOps.Get(ctx, &computepb.GetRegionOperationRequest{Project: p.project, Region: lastSegment(o.GetRegion()), Operation: name}, p.noRetry...)
			default:
				next, err = p.globalOps.Get(ctx, &computepb.GetGlobalOperationRequest{Project: p.project, Operation: name}, p.noRetry...)
			}
			return err
		})
		if err != nil {
			return err
		}
		o = next
	}
	return operationError(o, op, resource)
}

// lastSegment returns the part of a resource URL after its last '/'.
func lastSegment(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// regionOfZone returns "europe-west3" for "europe-west3-a".
func regionOfZone(zone string) string {
	zone = lastSegment(zone)
	if i := strings.LastIndexByte(zone, '-'); i > 0 {
		return zone[:i]
	}
	return ""
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
