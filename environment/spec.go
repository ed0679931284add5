package environment

import (
	"slices"

	"github.com/orocloud/orocloud-go/providers"
)

// ProviderKind names the cloud an environment runs on.
type ProviderKind = providers.Kind

// The clouds an environment can run on. Memory is the in-memory provider
// used by examples and tests.
const (
	GCP    = providers.KindGCP
	OCI    = providers.KindOCI
	Memory = providers.KindMemory
)

// Tier names a tier of the reference architecture.
type Tier string

// The tiers of an OroCommerce environment.
const (
	TierWeb           Tier = "web"
	TierElasticsearch Tier = "elasticsearch"
	TierPostgreSQL    Tier = "postgresql"
	TierRabbitMQ      Tier = "rabbitmq"
	TierConsumer      Tier = "consumer"
	TierSMTP          Tier = "smtp"
	TierRedis         Tier = "redis"
	TierGridFS        Tier = "gridfs"
)

// allTiers lists every tier in a stable order (an array: nothing can
// change it).
var allTiers = [...]Tier{TierWeb, TierElasticsearch, TierPostgreSQL, TierRabbitMQ, TierConsumer, TierSMTP, TierRedis, TierGridFS}

// AllTiers returns every tier in a stable order, in a new slice.
func AllTiers() []Tier { return slices.Clone(allTiers[:]) }

// Node roles. Most tiers have one role ("node"); PostgreSQL has a primary, a
// secondary (the failover target in another zone) and optional replicas;
// Redis nodes also run Sentinel.
const (
	RoleNode      = "node"
	RolePrimary   = "primary"
	RoleSecondary = "secondary"
	RoleReplica   = "replica"
)

// CDNKind is the edge in front of the web nodes.
type CDNKind string

// Edges of the reference architecture.
const (
	// CDNGoogle is Google Cloud CDN with the Google load balancer (GCP only;
	// the entry point is public).
	CDNGoogle CDNKind = "google-cdn"
	// CDNCloudflare is Cloudflare Zero Trust: a tunnel from the web nodes, no
	// public entry point (GCP and OCI).
	CDNCloudflare CDNKind = "cloudflare"
	// CDNOther is another CDN, named in CDN.Name.
	CDNOther CDNKind = "other"
)

// Environment is the desired state of one OroCommerce environment. Build one
// with Standard and adjust it, or Load it from YAML or JSON; check it with
// Validate.
type Environment struct {
	// Name is the environment's name; every resource name starts with it.
	// Valid on both clouds: lower case letters, digits and '-', starting
	// with a letter, at most 40 characters (room for suffixes).
	Name string `json:"name"`
	// Provider is the cloud: gcp, oci or memory.
	Provider ProviderKind `json:"provider"`
	// Project is the GCP project or the OCI compartment (tenancy) OCID.
	Project string `json:"project,omitempty"`
	// Region is the primary region ("europe-west3", "eu-frankfurt-1").
	Region string `json:"region"`
	// Zones lists the zones (GCP) or availability domains (OCI) to spread
	// over; empty means all zones of the region that are up, at most three.
	Zones []string `json:"zones,omitempty"`

	Web           WebTier      `json:"web"`
	Elasticsearch ClusterTier  `json:"elasticsearch"`
	PostgreSQL    DatabaseTier `json:"postgresql"`
	RabbitMQ      ClusterTier  `json:"rabbitmq"`
	Consumers     ConsumerTier `json:"consumers"`
	SMTP          SMTPTier     `json:"smtp"`
	Redis         RedisTier    `json:"redis"`
	GridFS        ClusterTier  `json:"gridfs"`

	// CDN is the edge in front of the web nodes.
	CDN CDN `json:"cdn"`
	// Ingress lists extra ingress rules (an office range for SSH, say). With
	// Cloudflare, no rule may open web nodes to the internet.
	Ingress []IngressRule `json:"ingress,omitempty"`
	// Maintenance is the weekly maintenance window.
	Maintenance Window `json:"maintenance"`
	// DR is the disaster recovery setting.
	DR DR `json:"dr"`
	// TechnicalContact approves DR and is told of unplanned maintenance.
	TechnicalContact Contact `json:"technicalContact"`
	// CustomerManagedDomain is true when the customer owns the DNS of the
	// site: DR then hands the DNS change to the domain owner.
	CustomerManagedDomain bool `json:"customerManagedDomain,omitempty"`
	// Labels are extra labels put on every resource.
	Labels map[string]string `json:"labels,omitempty"`
}

// Machine sizes a node: a GCP machine type or an OCI shape (with OCPUs and
// memory for flexible shapes), and the boot image. Empty fields take the
// provider's defaults.
type Machine struct {
	Type     string  `json:"type,omitempty"`
	OCPUs    float32 `json:"ocpus,omitempty"`
	MemoryGB float32 `json:"memoryGB,omitempty"`
	Image    string  `json:"image,omitempty"`
	DiskGB   int     `json:"diskGB,omitempty"`
}

// WebTier is the web nodes (nginx + PHP-FPM), behind the edge.
type WebTier struct {
	// Nodes is at least 2, spread over at least 2 zones.
	Nodes   int     `json:"nodes"`
	Machine Machine `json:"machine,omitzero"`
}

// ClusterTier is a clustered service that needs a majority of its nodes
// (Elasticsearch, RabbitMQ, GridFS).
type ClusterTier struct {
	Nodes   int     `json:"nodes"`
	Machine Machine `json:"machine,omitzero"`
}

// DatabaseTier is PostgreSQL: a primary in the main zone, a secondary (the
// failover target, a streaming standby) in another zone, and optional read
// replicas.
type DatabaseTier struct {
	// Replicas is the number of extra read replicas (0 or more).
	Replicas int     `json:"replicas,omitempty"`
	Version  string  `json:"version,omitempty"`
	Machine  Machine `json:"machine,omitzero"`
	// Synchronous makes the secondary a synchronous standby (no
	// acknowledged write lost at failover).
	Synchronous bool `json:"synchronous,omitempty"`
}

// ConsumerTier is the message consumers: Count consumer processes spread
// over Hosts hosts.
type ConsumerTier struct {
	Count   int     `json:"count"`
	Hosts   int     `json:"hosts"`
	Machine Machine `json:"machine,omitzero"`
}

// SMTPTier is the SMTP relays; mail goes to the relay of lowest Priority
// value first (MX-style).
type SMTPTier struct {
	Relays  []SMTPRelay `json:"relays"`
	Machine Machine     `json:"machine,omitzero"`
}

// SMTPRelay is one relay.
type SMTPRelay struct {
	Name     string `json:"name"`
	Priority int    `json:"priority"`
}

// RedisTier is the Redis cache with Sentinel on each node.
type RedisTier struct {
	Nodes int `json:"nodes"`
	// SentinelQuorum is how many Sentinels must agree that the master is
	// down; it must be a majority of Nodes.
	SentinelQuorum int     `json:"sentinelQuorum"`
	Machine        Machine `json:"machine,omitzero"`
}

// CDN is the edge choice and its settings.
type CDN struct {
	Kind CDNKind `json:"kind"`
	// Name names the CDN when Kind is "other".
	Name string `json:"name,omitempty"`
	// Hostnames served by the environment ("shop.example.com").
	Hostnames []string `json:"hostnames,omitempty"`
	// Cloudflare settings, with Kind "cloudflare".
	Cloudflare *CloudflareSettings `json:"cloudflare,omitempty"`
	// Google settings, with Kind "google-cdn".
	Google *GoogleCDNSettings `json:"google,omitempty"`
}

// CloudflareSettings identify the Cloudflare account and DNS zone. The API
// token is not part of the spec: it is passed to the edge's Options.
type CloudflareSettings struct {
	AccountID string `json:"accountId"`
	ZoneID    string `json:"zoneId"`
}

// GoogleCDNSettings configure Cloud CDN caching.
type GoogleCDNSettings struct {
	// CacheMode is CACHE_ALL_STATIC (default), USE_ORIGIN_HEADERS or
	// FORCE_CACHE_ALL.
	CacheMode       providers.CacheMode `json:"cacheMode,omitempty"`
	DefaultTTL      Duration            `json:"defaultTTL,omitempty"`
	MaxTTL          Duration            `json:"maxTTL,omitempty"`
	ClientTTL       Duration            `json:"clientTTL,omitempty"`
	NegativeCaching bool                `json:"negativeCaching,omitempty"`
}

// IngressRule admits traffic from SourceRanges to the nodes of Tier on Ports.
type IngressRule struct {
	Name         string   `json:"name"`
	Tier         Tier     `json:"tier"`
	Ports        []int    `json:"ports"`
	SourceRanges []string `json:"sourceRanges"`
}

// DR is the disaster recovery setting of an environment.
type DR struct {
	// Region is the designated DR region; empty takes the default pair of
	// the primary region (see package dr).
	Region string `json:"region,omitempty"`
}

// Contact is the environment's technical contact.
type Contact struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}
