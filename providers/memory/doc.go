// Package memory is an in-memory cloud: a complete implementation of every
// interface of package providers, including the optional
// providers.LoadBalancers. It is the SDK's embedded default (the quickstart
// runs on it) and the fake that the tests of every package above the
// drivers use. It is safe for concurrent use and holds all state in one
// mutex-guarded store; every value it returns is a deep copy.
//
// # Behaviour
//
// Regions and zones come from Options.Regions (DefaultRegions when nil: a
// GCP-like europe-west3, europe-west4 and us-east1 with three zones each;
// OCIRegion builds an OCI-like region of one availability domain with three
// fault domains). Instances start PROVISIONING and report RUNNING once
// Options.ProvisioningDelay has passed on Options.Clock (at once when it is
// zero); private IPs come from a per-region counter. Static addresses come
// from documentation ranges (203.0.113.0/24 for the first region,
// 198.51.100.0/24 for the second, 192.0.2.0/24 for global addresses), lowest
// free host first, so tests can predict them. Objects are stored as the
// chunks PutObject read, published only when the reader reached io.EOF, and
// read back without copying. Names, labels, firewall rules and load
// balancer specs are validated with the rules that hold on both GCP and
// OCI, so code that passes here does not fail on a cloud for a bad name.
//
// # Fault model
//
// Every API call goes through the same prologue, in this order:
//
//  1. It is counted: Calls reports calls per method and MutatingCalls the
//     calls of creates, updates, deletes, stop/start, reserve/release and
//     puts, failed calls included (ResetCalls zeroes them). An
//     EnsureLoadBalancer that finds nothing to change is not a mutating call.
//  2. After Close every call fails with FailedPrecondition (cause ErrClosed);
//     a done ctx fails with Canceled or DeadlineExceeded.
//  3. Latency (Options.Latency for every mutating method, or SetLatency per
//     method) is slept on Options.LatencyClock, the real clock by default,
//     and is cut short by ctx.
//  4. Injected faults are decided, before the call has any effect, in this
//     order: a region outage (InjectRegionOutage: every call about the
//     region fails Unavailable until RecoverRegion); FailNth(method, n, code)
//     (the n-th call of method from now on fails); FailNext(method, n, code)
//     (the next n calls fail); SetErrorRate(rate, seed, code) (each call fails
//     with probability rate, drawn from a generator seeded with seed, so a
//     sequential test sees the same failures on every run). Injected errors
//     carry the asked code and wrap ErrInjected.
//
// LoseResponse(method, n, code) is the one fault decided after the effect:
// the n-th successful call of a mutating method changes the state and then
// returns an error, like a response lost after the cloud committed. It
// exercises the retry-meets-its-own-first-attempt path of idempotent
// creates.
//
// A zone outage (InjectZoneOutage) is a state rather than a call fault: the
// zone is listed with Up false, its instances report StatusUnavailable, and
// creating, changing or deleting an instance in it fails with Unavailable
// until RecoverZone. ClearFaults removes every injected fault but keeps
// latency.
//
// Method names given to the helpers are the interface method names
// ("CreateInstance", "PutObject"...; see Methods); an unknown name returns
// an InvalidArgument error rather than being ignored.
package memory
