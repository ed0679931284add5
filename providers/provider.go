// Package providers defines the contract a cloud implements for orocloud-go:
// small driver interfaces split by capability (zones, instances, addresses,
// firewall rules, object storage, and the optional load balancer with CDN),
// the shared resource types, and the SDK's single error model.
//
// Every method's doc comment is a contract; package providertest checks each
// sentence against an implementation. Drivers return errors carrying an
// ErrorCode and keep the raw SDK error reachable with errors.As.
//
// Retries happen once, as low in the stack as they can be made safe. A
// cloud driver knows when a retry is safe (a create that was applied before
// its response was lost, an upload part), so the GCP and OCI drivers retry
// transient errors themselves and say so through SelfRetrying; callers
// (the environment reconciler) then do not retry again. Drivers that do not
// retry (the in-memory provider) leave it to their callers.
//
// Implementations: providers/memory (in-memory, the embedded default and test
// fake), providers/gcp and providers/oci.
package providers

import (
	"context"
	"io"
)

// Provider is a cloud the SDK can compose environments on. Optional
// capabilities (LoadBalancers) are found with a type assertion, or with
// LoadBalancersOf, which returns an Unimplemented error when missing.
type Provider interface {
	// Kind names the implementation.
	Kind() Kind
	ZoneLister
	Instances
	Addresses
	Firewalls
	ObjectStorage
	// As sets *target to a raw client of the implementation when target
	// points to a type the implementation supports, and reports whether it
	// did. It never panics; an unsupported target returns false.
	As(target any) bool
	// Close releases clients and connections. Methods called after Close
	// return an error.
	Close() error
}

// ZoneLister lists the zones of a region.
type ZoneLister interface {
	// ListZones returns the zones of region sorted by name. Zones the provider
	// reports as down are returned with Up false. An unknown region returns an
	// error for which Code is NotFound; an empty region returns
	// InvalidArgument.
	ListZones(ctx context.Context, region string) ([]Zone, error)
}

// Instances manages virtual machines.
type Instances interface {
	// CreateInstance creates the instance and returns it once the provider has
	// accepted it (Status PROVISIONING or RUNNING). It is idempotent by name:
	// when an instance of that name exists in the region and its labels carry
	// the same LabelManagedBy and LabelEnvironment values as spec.Labels, it
	// returns that instance and a nil error without changing it; when the
	// existing instance belongs to anything else it returns AlreadyExists. A
	// spec without Name, Region or Zone, or with an invalid name, returns
	// InvalidArgument; an unknown zone returns NotFound (or InvalidArgument).
	CreateInstance(ctx context.Context, spec InstanceSpec) (*Instance, error)
	// GetInstance returns the instance. A missing instance returns NotFound.
	GetInstance(ctx context.Context, ref InstanceRef) (*Instance, error)
	// ListInstances returns the instances of region whose labels contain
	// every pair of selector, sorted by name. Terminated instances are not
	// listed.
	ListInstances(ctx context.Context, region string, selector Labels) ([]Instance, error)
	// UpdateInstance replaces the labels and metadata of the instance with
	// the non-nil fields of u and returns the instance as updated. A missing
	// instance returns NotFound.
	UpdateInstance(ctx context.Context, ref InstanceRef, u InstanceUpdate) (*Instance, error)
	// StopInstance stops the instance (powers it off; the disk is kept). It
	// is idempotent: stopping a stopped instance returns nil. A missing
	// instance returns NotFound. Failover uses it to fence a primary.
	StopInstance(ctx context.Context, ref InstanceRef) error
	// StartInstance starts a stopped instance; starting a running one returns
	// nil. A missing instance returns NotFound.
	StartInstance(ctx context.Context, ref InstanceRef) error
	// DeleteInstance deletes the instance and returns once it is gone from
	// ListInstances. A missing instance returns NotFound.
	DeleteInstance(ctx context.Context, ref InstanceRef) error
}

// Addresses manages reserved static IP addresses (the environment's primary
// and DR addresses given to customers for their whitelists).
type Addresses interface {
	// ReserveAddress reserves a static address. It is idempotent by name:
	// an existing address with the same LabelManagedBy and LabelEnvironment
	// is returned unchanged; any other existing address returns
	// AlreadyExists. Region "" reserves a global address where the provider
	// has them, and InvalidArgument otherwise.
	ReserveAddress(ctx context.Context, spec AddressSpec) (*Address, error)
	// GetAddress returns the address. A missing one returns NotFound.
	GetAddress(ctx context.Context, region, name string) (*Address, error)
	// ListAddresses returns the addresses of region ("" for global) whose
	// labels contain selector, sorted by name.
	ListAddresses(ctx context.Context, region string, selector Labels) ([]Address, error)
	// ReleaseAddress releases the address. A missing one returns NotFound.
	ReleaseAddress(ctx context.Context, region, name string) error
}

// Firewalls manages ingress rules (GCP firewall rules, OCI network security
// group rules).
type Firewalls interface {
	// CreateFirewallRule creates the rule. It is idempotent by name like
	// CreateInstance: an existing rule with our labels is returned unchanged,
	// anything else returns AlreadyExists. A rule with no port, no source
	// range or no target tag returns InvalidArgument.
	CreateFirewallRule(ctx context.Context, rule FirewallRule) (*FirewallRule, error)
	// GetFirewallRule returns the rule. A missing one returns NotFound.
	GetFirewallRule(ctx context.Context, region, name string) (*FirewallRule, error)
	// ListFirewallRules returns the rules of region whose labels contain
	// selector, sorted by name.
	ListFirewallRules(ctx context.Context, region string, selector Labels) ([]FirewallRule, error)
	// DeleteFirewallRule deletes the rule. A missing one returns NotFound.
	DeleteFirewallRule(ctx context.Context, region, name string) error
}

// ObjectStorage stores backups: buckets of objects addressed by key.
type ObjectStorage interface {
	// CreateBucket creates the bucket; an existing bucket with our labels
	// returns nil, any other existing bucket returns AlreadyExists.
	CreateBucket(ctx context.Context, spec BucketSpec) error
	// DeleteBucket deletes an empty bucket. A non-empty bucket returns
	// FailedPrecondition; a missing one NotFound.
	DeleteBucket(ctx context.Context, bucket string) error
	// PutObject streams r into the object key. The object becomes visible
	// (to GetObject and ListObjects) only when r has been read to io.EOF and
	// the upload has succeeded; an error from r, or a canceled ctx, leaves no
	// object and no change to an object already at key. A missing bucket
	// returns NotFound. With opts.IfNotExists an existing key returns
	// AlreadyExists.
	PutObject(ctx context.Context, bucket, key string, r io.Reader, opts *PutOptions) (ObjectInfo, error)
	// GetObject returns a stream of the object's content, which the caller
	// must close, and its info. The stream is not buffered whole in memory. A
	// missing object or bucket returns NotFound.
	GetObject(ctx context.Context, bucket, key string) (io.ReadCloser, ObjectInfo, error)
	// StatObject returns the object's info. A missing object returns NotFound.
	StatObject(ctx context.Context, bucket, key string) (ObjectInfo, error)
	// ListObjects returns the objects whose key starts with prefix, sorted by
	// key. A missing bucket returns NotFound.
	ListObjects(ctx context.Context, bucket, prefix string) ([]ObjectInfo, error)
	// DeleteObject deletes the object. A missing object returns NotFound.
	DeleteObject(ctx context.Context, bucket, key string) error
}

// LoadBalancers is the optional capability of a global HTTPS load balancer
// with CDN in front of web nodes (Google Cloud CDN). Providers without it do
// not implement the interface.
type LoadBalancers interface {
	// EnsureLoadBalancer creates or updates every component of the load
	// balancer so that it matches spec, and returns it. It validates spec
	// (including spec.CDN, see CDNPolicy.Validate) before any call and returns
	// InvalidArgument on a bad spec. Calling it again with the same spec makes
	// no mutating call.
	EnsureLoadBalancer(ctx context.Context, spec LoadBalancerSpec) (*LoadBalancer, error)
	// GetLoadBalancer returns the load balancer named name. A missing one
	// returns NotFound.
	GetLoadBalancer(ctx context.Context, name string) (*LoadBalancer, error)
	// DeleteLoadBalancer deletes every component. A missing one returns
	// NotFound.
	DeleteLoadBalancer(ctx context.Context, name string) error
}

// SelfRetrying is implemented by drivers that retry transient errors
// (ResourceExhausted, Unavailable, DeadlineExceeded) themselves, with
// backoff and honouring Retry-After. RetriesTransientErrors reports whether
// this instance does (a driver configured with retries off returns false).
// Callers that find it true do not add retries of their own, so retries
// never stack.
type SelfRetrying interface {
	RetriesTransientErrors() bool
}

// RetriesItself reports whether p retries transient errors itself.
func RetriesItself(p any) bool {
	s, ok := p.(SelfRetrying)
	return ok && s.RetriesTransientErrors()
}

// LoadBalancersOf returns p's load balancer capability, or an error with code
// Unimplemented when p has none.
func LoadBalancersOf(p Provider) (LoadBalancers, error) {
	if p == nil {
		return nil, Errorf(InvalidArgument, "providers: nil provider")
	}
	if lb, ok := p.(LoadBalancers); ok {
		return lb, nil
	}
	return nil, &Error{Code: Unimplemented, Op: "providers.LoadBalancersOf", Resource: string(p.Kind()),
		Msg: "provider has no load balancer with CDN (Google Cloud CDN is available on GCP only)"}
}
