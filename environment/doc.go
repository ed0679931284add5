// Package environment is the desired state of an OroCommerce environment
// and everything that can be said about it before touching a cloud.
//
// An Environment names the cloud (GCP, OCI, or the in-memory provider), the
// region and zones, and every tier of the reference architecture: web
// nodes, Elasticsearch, PostgreSQL (primary, secondary, read replicas),
// RabbitMQ, message consumers, SMTP relays, Redis with Sentinel and GridFS;
// the edge (Google Cloud CDN, Cloudflare Zero Trust or another CDN), extra
// ingress rules, the weekly maintenance window, the DR region, the
// technical contact and whether the customer manages the domain.
//
//   - Standard returns the reference defaults for a name, a cloud and a
//     region; it validates out of the box, and its doc says which example
//     values to replace before a real deployment.
//   - Load, LoadFile and Decode read YAML or JSON (the same field names),
//     refusing unknown fields with the line and the field path; MarshalYAML
//     and MarshalJSON write them back.
//   - Validate checks every redundancy rule and returns all violations at
//     once as a *ValidationError (field path, rule, hint); ValidateZones
//     re-checks the zone rules against a region's real zones.
//   - Place spreads the nodes over zones (or the fault domains of a
//     single-domain OCI region) deterministically: scaling a tier never
//     moves an existing node.
//   - AnalyzeZoneLoss tells, for each failure domain, which tiers keep
//     serving if it is lost; give it the nodes still serving to re-check
//     after an outage.
//   - Window.Next and Window.Contains compute maintenance windows in their
//     time zone, across daylight saving changes; AnnounceUrgentMaintenance
//     tells the technical contact of unplanned maintenance through a
//     Notifier.
//   - Regions, KnownRegion and DefaultDRRegion hold the region catalog and
//     the designated DR region of each production region.
//   - Reconciler plans (a typed, printable diff) and applies an environment
//     through a provider.
//
// Everything except the Reconciler is pure: no clock is read (times are
// passed in), no I/O happens except in LoadFile, and nothing is global.
//
// Design notes. Validate works without a provider: when the environment
// names no zones it places over three assumed failure domains, which both
// clouds offer (GCP zones; OCI availability domains, or the three fault
// domains of a single-domain region). The quorum rule is deliberately the
// strict one (a zone loss must leave a majority of the configured nodes), so
// four nodes over three zones are refused: the zone holding two would take
// half the cluster with it. SMTP relays must use at least two distinct
// priorities, since the reference runs relays "with different priorities":
// a preferred relay and a fallback. Place does not skip zones that are down:
// placement is the desired state and must not move when a zone fails; the
// outage shows in ValidateZones and AnalyzeZoneLoss instead. YAML is read
// with github.com/goccy/go-yaml, which honours the json struct tags, so one
// set of field names serves both formats.
package environment
