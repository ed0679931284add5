// Package oci implements providers.Provider on Oracle Cloud Infrastructure
// with the official OCI Go SDK (github.com/oracle/oci-go-sdk/v65: common,
// core, identity and objectstorage only).
//
// Open a provider for a compartment with a configuration provider (the OCI
// config file by default; see ConfigFile, RawKey and InstancePrincipal):
//
//	prov, err := oci.Open(ctx, compartmentOCID, &oci.Options{
//		Region:   "eu-frankfurt-1",
//		VCNID:    vcnOCID,
//		SubnetID: subnetOCID,
//		Images:   map[string]string{"web": imageOCID},
//	})
//
// # Mapping
//
//   - Zones are availability domains (identity ListAvailabilityDomains) with
//     their fault domains (ListFaultDomains). Spreading is the caller's job
//     (environment.Place); CreateInstance honours InstanceSpec.FaultDomain.
//   - Instances are compute instances named by display name, with the labels
//     as freeform tags, a shape (flexible shapes sized by OCPUs and memory;
//     defaults per tier in Options.Shapes), an image (Options.Images), and
//     metadata: "startup-script" is sent as base64 cloud-init user_data;
//     Secrets travel in metadata but never in logs or errors. OCI cannot
//     filter ListInstances by freeform tags, so lists page through the
//     compartment and filter here.
//   - Addresses are reserved regional public IPs (lifetime RESERVED). OCI
//     has no global addresses.
//   - Firewall rules are network security groups (below).
//   - Object storage is OCI Object Storage in the primary region's
//     namespace. PutObject streams through the multipart upload API (the
//     SDK's PutObject needs a Content-Length and otherwise reads the whole
//     body into memory), keeping at most UploadConcurrency parts in memory.
//     The SDK does not escape object names in paths, so keys with '/' are
//     escaped by a request interceptor before signing.
//
// # Firewall rules and network security groups
//
// Each providers.FirewallRule is one NSG in Options.VCNID whose display
// name is the rule's name and whose freeform tags carry the rule's labels,
// its TargetTags (TagTargetTags, comma-separated) and its description
// (TagDescription). The NSG holds one stateful INGRESS security rule per
// (source range, port), protocol 6 (TCP) or 17 (UDP), described
// "orocloud:<rule name>". Ports come back sorted.
//
// InstanceSpec.Tags map to NSGs the way GCP network tags map to firewall
// rules: an instance's primary VNIC joins every NSG whose target tags
// contain one of the instance's tags (at most 5, OCI's limit per VNIC).
// CreateInstance launches the VNIC in those NSGs and looks again after the
// launch; CreateFirewallRule adds its new NSG to the VNICs of existing
// instances carrying a target tag (their tags are kept in the
// TagNetworkTags freeform tag); so whichever is created first, the VNIC
// ends up in the NSG. VNIC updates are conditional (If-Match) so concurrent
// joins are not lost. DeleteFirewallRule removes the NSG from its VNICs
// before deleting it.
//
// # Instances
//
// GetInstance fills PrivateIP from the primary VNIC (two more calls);
// ListInstances from two more listings (VNIC attachments, the private IPs
// of Options.SubnetID), not from calls per instance. Stop,
// start and delete wait for STOPPED, RUNNING and TERMINATED, and first let
// a transition in progress finish (OCI refuses power actions mid-way).
// UpdateInstance cannot change user_data (the startup script) or
// ssh_authorized_keys after launch: OCI refuses it.
//
// # Errors, retries and idempotency
//
// Errors carry a providers.ErrorCode mapped from common.ServiceError (400
// InvalidArgument, 401/403 PermissionDenied, 404 NotFound, 409
// AlreadyExists or FailedPrecondition, 412 FailedPrecondition, 429
// ResourceExhausted, 5xx Unavailable; dropped connections Unavailable) and
// the service's Retry-After; the SDK error stays reachable with errors.As.
//
// Transient errors are retried here, with internal/retry on the injected
// clock (Options.Retry). The SDK's own retry policy and circuit breaker are
// set to none on every client, so retries are never stacked. Only the
// driver can make retries safe (retry tokens, re-listing before
// non-idempotent calls, conditional updates); the provider says so through
// providers.SelfRetrying, and the environment reconciler then makes each
// change once instead of adding its own retries.
//
// The SDK's common.Retry returns early on a canceled context while its
// worker goroutine still writes the response (a data race). The provider
// therefore hands the SDK a context that is never canceled and puts the
// caller's context back on the HTTP request in its dispatcher: cancellation
// still aborts the request, and reaches the SDK as the transport's error.
//
// Creates are idempotent: each looks the resource up by display name first,
// and launches, public IPs and NSGs carry an OCI retry token (a digest of
// the request plus a nonce drawn once per call), so a retry after a 503
// that was applied, or after a dropped connection, returns the first
// resource instead of a duplicate. A PutObject with IfNotExists that is
// refused on a retry checks the stored object's MD5 against its own content. Adding
// security rules is not idempotent on OCI, so each attempt re-lists the
// rules and adds only the missing ones; deletions treat NotFound on a retry
// as done.
//
// Lifecycle waits (stop, start, terminate) poll GetInstance every
// Options.PollInterval on the injected clock, bounded by the caller's
// context.
//
// Package ocifake is an in-process fake of the OCI endpoints used here, for
// tests and examples.
package oci
