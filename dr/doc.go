// Package dr recovers an OroCommerce environment in its designated disaster
// recovery (DR) region, the way the reference architecture describes it: a
// cold DR location (nothing allocated or billed until DR starts), a DR
// region designated for each production region, primary and DR addresses
// handed to the customer at onboarding, and a flow of
//
//	approval by the technical contact
//	→ provision the DR infrastructure and restore the latest backups
//	→ switch DNS (or hand the record to the owner of a customer-managed domain)
//	→ health checks
//	→ notify the technical contact
//
// with the objectives RPO = the last daily backup and RTO of at least 60
// minutes after approval (the reference's minimum; this package measures the
// achieved figures and reports both against the objectives).
//
// # Pieces
//
//   - DRRegion and Onboard: the region pair of an environment (the
//     documented default table of package environment, overridable per
//     environment with DR.Region) and the reservation of its primary and DR
//     addresses.
//   - Assess: turns region health signals into a recommendation with its
//     evidence. It never starts a DR by itself.
//   - Runner: the typed, resumable plan. Start runs the prechecks (every
//     failure listed), waits at the approval gate, then runs the steps as a
//     dependency graph, independent steps in parallel. Every step's state is
//     written to a Journal before and after it runs, so a run killed at any
//     point is resumed with Resume and finishes without redoing completed
//     steps. A failed step can be retried (Retry) or skipped with a reason
//     (Skip); a run can be paused (Pause) and cancelled (Cancel). A Journal
//     holds at most one active run per environment, and a run is driven by
//     one runner at a time: the driver holds a lease it renews, so a second
//     controller cannot resume a run being driven, and can take over one
//     whose driver died once the lease has expired.
//   - Modes: ModeFailover (the real thing), ModeDrill (an isolated copy with
//     its own name in the DR region, DNS untouched, torn down afterwards and
//     checked to leave nothing behind) and ModeFailback (back to the primary
//     region once it is healthy again).
//   - Report: the timeline of every step, the achieved RPO (disaster time −
//     restored point time) and RTO (approval → healthy) against the
//     objectives, printable (String) and as data (JSON).
//
// # Design
//
// The package depends on small interfaces of its own — Backups, DNS,
// Approver, HealthChecker, Notifier, Targets, Journal — so each can be
// replaced in tests and by users. Adapters connect them to the rest of the
// SDK: NewEngineBackups over *backup.Engine, and any cdn.DNS (the
// Cloudflare edge) satisfies DNS directly. Provisioning goes through the
// environment reconciler's Plan and Apply, so the redundancy rules hold in
// the DR region as they do in the primary one.
//
// Time comes from an injected clock.Clock (approval timeout, health check
// polling, timeline, RPO and RTO); logs go to an injected *slog.Logger.
package dr
