package environment

import (
	"time"
)

// MaxTierNodes bounds the number of nodes of one tier (and the PostgreSQL
// primary, secondary and replicas together). Validate and Place refuse
// larger tiers.
const MaxTierNodes = 500

// Placeholder values Standard fills in. A real environment replaces them
// before its first Apply; Validate accepts them so that a standard
// environment validates out of the box.
const (
	// PlaceholderCloudflareAccountID is the example Cloudflare account ID
	// Standard sets when the edge is Cloudflare.
	PlaceholderCloudflareAccountID = "0123456789abcdef0123456789abcdef"
	// PlaceholderCloudflareZoneID is the example Cloudflare zone ID Standard
	// sets when the edge is Cloudflare.
	PlaceholderCloudflareZoneID = "fedcba9876543210fedcba9876543210"
	// PlaceholderContactName is the technical contact Standard sets.
	PlaceholderContactName = "Technical Contact"
)

// Standard returns the reference environment of the OroCloud architecture
// for a name, a cloud and a region:
//
//   - web: 2 nodes, one per zone;
//   - Elasticsearch: 3 nodes; RabbitMQ: 3 nodes; GridFS: 3 nodes (one per
//     zone over three zones, so one zone loss keeps a majority);
//   - PostgreSQL 15: a primary and a secondary (asynchronous streaming
//     standby) in another zone, no read replica;
//   - consumers: 4 consumer processes over 2 hosts;
//   - SMTP: 2 relays, "relay-1" (priority 10) and "relay-2" (priority 20);
//   - Redis: 3 nodes with Sentinel, quorum 2;
//   - CDN: Google Cloud CDN on GCP; Cloudflare Zero Trust on OCI and on the
//     memory provider; serving "<name>.example.com";
//   - maintenance: Sunday 02:00 UTC for 4 hours;
//   - DR region: the designated pair of the region (DefaultDRRegion), left
//     empty when the region is unknown (Validate then reports the region);
//   - technical contact: "Technical Contact" <ops@example.com>.
//
// Zones are left empty: placement uses the region's zones (up to three).
//
// Standard(name, kind, region).Validate() passes for GCP, OCI and memory
// whenever name is valid and region is known for kind. Before a real
// deployment, fill in what is only an example: CDN.Hostnames (the site's
// real hostnames), CDN.Cloudflare.AccountID and ZoneID on Cloudflare (the
// placeholders PlaceholderCloudflareAccountID and
// PlaceholderCloudflareZoneID), TechnicalContact, and Project (the GCP
// project or OCI compartment; empty means the provider's own).
func Standard(name string, kind ProviderKind, region string) *Environment {
	dr, _ := DefaultDRRegion(kind, region)
	e := &Environment{
		Name:          name,
		Provider:      kind,
		Region:        region,
		Web:           WebTier{Nodes: 2},
		Elasticsearch: ClusterTier{Nodes: 3},
		PostgreSQL:    DatabaseTier{Version: "15"},
		RabbitMQ:      ClusterTier{Nodes: 3},
		Consumers:     ConsumerTier{Count: 4, Hosts: 2},
		SMTP: SMTPTier{Relays: []SMTPRelay{
			{Name: "relay-1", Priority: 10},
			{Name: "relay-2", Priority: 20},
		}},
		Redis:  RedisTier{Nodes: 3, SentinelQuorum: 2},
		GridFS: ClusterTier{Nodes: 3},
		CDN: CDN{
			Kind:      CDNCloudflare,
			Hostnames: []string{name + ".example.com"},
		},
		Maintenance: Window{Day: "Sunday", Start: "02:00", Duration: Duration(4 * time.Hour), TimeZone: "UTC"},
		DR:          DR{Region: dr},
		TechnicalContact: Contact{
			Name:  PlaceholderContactName,
			Email: "ops@example.com",
		},
	}
	if kind == GCP {
		e.CDN.Kind = CDNGoogle
	} else {
		e.CDN.Cloudflare = &CloudflareSettings{
			AccountID: PlaceholderCloudflareAccountID,
			ZoneID:    PlaceholderCloudflareZoneID,
		}
	}
	return e
}

// Clone returns a deep copy of e (nil for nil).
func (e *Environment) Clone() *Environment {
	if e == nil {
		return nil
	}
	c := *e
	c.Zones = append([]string(nil), e.Zones...)
	c.SMTP.Relays = append([]SMTPRelay(nil), e.SMTP.Relays...)
	c.CDN.Hostnames = append([]string(nil), e.CDN.Hostnames...)
	if e.CDN.Cloudflare != nil {
		cf := *e.CDN.Cloudflare
		c.CDN.Cloudflare = &cf
	}
	if e.CDN.Google != nil {
		g := *e.CDN.Google
		c.CDN.Google = &g
	}
	if e.Ingress != nil {
		c.Ingress = make([]IngressRule, len(e.Ingress))
		for i, r := range e.Ingress {
			r.Ports = append([]int(nil), r.Ports...)
			r.SourceRanges = append([]string(nil), r.SourceRanges...)
			c.Ingress[i] = r
		}
	}
	if e.Labels != nil {
		c.Labels = make(map[string]string, len(e.Labels))
		for k, v := range e.Labels {
			c.Labels[k] = v
		}
	}
	return &c
}
