package providers

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Kind names a provider implementation.
type Kind string

// The provider kinds the SDK ships.
const (
	KindMemory Kind = "memory"
	KindGCP    Kind = "gcp"
	KindOCI    Kind = "oci"
)

// Label keys the SDK puts on every resource it creates. Keys and values are
// valid both as GCP labels and as OCI freeform tags (lower case letters,
// digits, '-' and '_', at most 63 characters).
const (
	LabelEnvironment = "orocloud-env"
	LabelTier        = "orocloud-tier"
	LabelRole        = "orocloud-role"
	LabelManagedBy   = "managed-by"
	// ManagedByValue is the value of LabelManagedBy on every resource the SDK
	// creates. Destroy never touches a resource without it.
	ManagedByValue = "orocloud-go"
)

// Labels are key/value pairs attached to a resource (GCP labels, OCI
// freeform tags).
type Labels map[string]string

// Matches reports whether l contains every key/value pair of selector. An
// empty selector matches everything.
func (l Labels) Matches(selector Labels) bool {
	for k, v := range selector {
		if got, ok := l[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Clone returns a copy of l (nil for nil).
func (l Labels) Clone() Labels { return maps.Clone(l) }

// OwnedBy reports whether l marks a resource created by the SDK for the
// environment env.
func (l Labels) OwnedBy(env string) bool {
	return l[LabelManagedBy] == ManagedByValue && l[LabelEnvironment] == env
}

// Secret is a sensitive string (a token, a password). Its String, GoString
// and MarshalText forms are redacted so it cannot leak through logs, errors,
// fmt or JSON; call Reveal to get the value.
type Secret string

const redacted = "[REDACTED]"

// String returns a redacted form.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns a redacted form for %#v.
func (s Secret) GoString() string { return `providers.Secret("` + s.String() + `")` }

// MarshalText returns a redacted form so encoders never write the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret value. Use it only at the point the value is
// sent to the system that needs it.
func (s Secret) Reveal() string { return string(s) }

// Zone is a failure domain of a region: a GCP zone or an OCI availability
// domain.
type Zone struct {
	// Name is the provider's zone name: "europe-west3-a", or an OCI
	// availability domain such as "Uocm:EU-FRANKFURT-1-AD-1".
	Name string
	// Region is the region the zone belongs to.
	Region string
	// FaultDomains lists the fault domains inside the zone (OCI); empty
	// elsewhere.
	FaultDomains []string
	// Up is false when the provider reports the zone as unavailable.
	Up bool
}

// InstanceStatus is the lifecycle state of an instance, normalised across
// providers.
type InstanceStatus string

// Instance states.
const (
	StatusProvisioning InstanceStatus = "PROVISIONING"
	StatusRunning      InstanceStatus = "RUNNING"
	StatusStopping     InstanceStatus = "STOPPING"
	StatusStopped      InstanceStatus = "STOPPED"
	StatusTerminating  InstanceStatus = "TERMINATING"
	StatusTerminated   InstanceStatus = "TERMINATED"
	// StatusUnavailable: the provider cannot reach the instance (its zone is
	// down, say).
	StatusUnavailable InstanceStatus = "UNAVAILABLE"
)

// InstanceSpec is what is asked of an instance.
type InstanceSpec struct {
	// Name is unique within the region and valid on both clouds: lower case
	// letters, digits and '-', starting with a letter, at most 63 characters.
	Name string
	// Region and Zone place the instance. FaultDomain is optional (OCI).
	Region      string
	Zone        string
	FaultDomain string
	// MachineType is a GCP machine type ("e2-standard-4") or an OCI shape
	// ("VM.Standard.E4.Flex"); OCPUs and MemoryGB size flexible shapes.
	MachineType string
	OCPUs       float32
	MemoryGB    float32
	// Image is the boot image (a GCP image URL or family, an OCI image OCID).
	Image string
	// DiskGB is the boot disk size; 0 means the provider default.
	DiskGB int
	// Labels must carry LabelEnvironment, LabelTier, LabelRole and
	// LabelManagedBy for resources created by the SDK.
	Labels Labels
	// Tags are network tags (GCP) used by firewall rules; OCI maps them to
	// network security groups.
	Tags []string
	// Metadata is startup metadata (GCP metadata items, OCI instance metadata
	// / user-data).
	Metadata map[string]string
	// Secrets are metadata values that must never be logged or printed
	// (a tunnel token). Drivers send them with Metadata.
	Secrets map[string]Secret
}

// Instance is an instance as observed.
type Instance struct {
	InstanceSpec
	// ID is the provider's identifier (a GCP numeric id, an OCI OCID).
	ID        string
	Status    InstanceStatus
	PrivateIP string
	CreatedAt time.Time
}

// InstanceRef identifies an instance.
type InstanceRef struct {
	Region string
	Zone   string
	Name   string
}

// Ref returns the reference of the spec's instance.
func (s InstanceSpec) Ref() InstanceRef {
	return InstanceRef{Region: s.Region, Zone: s.Zone, Name: s.Name}
}

// String returns "region/zone/name".
func (r InstanceRef) String() string { return r.Region + "/" + r.Zone + "/" + r.Name }

// InstanceUpdate changes the mutable parts of an instance in place. Nil
// fields are left as they are.
type InstanceUpdate struct {
	Labels   Labels
	Metadata map[string]string
	Secrets  map[string]Secret
}

// AddressSpec asks for a static IP address.
type AddressSpec struct {
	// Name is unique per region (or globally when Region is "").
	Name string
	// Region is "" for a global address (a GCP global load balancer's).
	Region      string
	Description string
	Labels      Labels
}

// Address is a reserved static IP address.
type Address struct {
	AddressSpec
	ID string
	IP string
}

// Protocol of a firewall rule.
type Protocol string

// Protocols.
const (
	TCP Protocol = "tcp"
	UDP Protocol = "udp"
)

// FirewallRule is an ingress rule: traffic from SourceRanges on Ports reaches
// instances carrying one of TargetTags.
type FirewallRule struct {
	Name         string
	Region       string
	Description  string
	Protocol     Protocol
	Ports        []int
	SourceRanges []string
	TargetTags   []string
	Labels       Labels
}

// OpenToInternet reports whether the rule admits traffic from anywhere.
func (r FirewallRule) OpenToInternet() bool {
	return slices.ContainsFunc(r.SourceRanges, func(s string) bool {
		s = strings.TrimSpace(s)
		return s == "0.0.0.0/0" || s == "::/0"
	})
}

// BucketSpec asks for an object storage bucket.
type BucketSpec struct {
	Name   string
	Region string
	Labels Labels
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Bucket  string
	Key     string
	Size    int64
	ETag    string
	Updated time.Time
	// Metadata is user metadata stored with the object.
	Metadata map[string]string
}

// PutOptions are optional settings of PutObject.
type PutOptions struct {
	ContentType string
	Metadata    map[string]string
	// IfNotExists makes PutObject fail with AlreadyExists when the key
	// exists.
	IfNotExists bool
}

// CacheMode of a CDN policy, as Google Cloud CDN names them.
type CacheMode string

// Cache modes.
const (
	CacheAllStatic       CacheMode = "CACHE_ALL_STATIC"
	UseOriginHeaders     CacheMode = "USE_ORIGIN_HEADERS"
	ForceCacheAll        CacheMode = "FORCE_CACHE_ALL"
	DefaultCDNDefaultTTL           = time.Hour
	DefaultCDNMaxTTL               = 24 * time.Hour
	DefaultCDNClientTTL            = time.Hour
)

// CDNPolicy configures caching of a load balancer's backend.
type CDNPolicy struct {
	// CacheMode defaults to CACHE_ALL_STATIC.
	CacheMode CacheMode
	// DefaultTTL, MaxTTL and ClientTTL; zero means the default of the mode.
	// USE_ORIGIN_HEADERS takes none of them.
	DefaultTTL time.Duration
	MaxTTL     time.Duration
	ClientTTL  time.Duration
	// NegativeCaching caches 404/410/etc. responses.
	NegativeCaching bool
	// ServeWhileStale serves stale content for this long while revalidating.
	ServeWhileStale time.Duration
}

// LoadBalancerSpec describes a global HTTPS load balancer with CDN in front
// of the web nodes of an environment.
type LoadBalancerSpec struct {
	// Name prefixes every component (instance groups, health check, backend
	// service, URL map, proxy, certificate, forwarding rule).
	Name   string
	Region string
	// Hostnames get a managed certificate.
	Hostnames []string
	// Backends are the web nodes; they are grouped per zone.
	Backends []InstanceRef
	// AddressName is the reserved global address of the forwarding rule.
	AddressName string
	// Port is the backends' HTTP port (default 80); HealthCheckPath defaults
	// to "/".
	Port            int
	HealthCheckPath string
	CDN             CDNPolicy
	Labels          Labels
}

// LoadBalancer is an observed load balancer with CDN.
type LoadBalancer struct {
	LoadBalancerSpec
	// IP is the forwarding rule's address.
	IP string
	// Components lists the provider resources that make it up.
	Components []string
}
