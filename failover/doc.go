// Package failover keeps one writable PostgreSQL primary available for an
// environment: it watches the primary over pgx, and when the primary stops
// answering it elects the standby with the most advanced replication
// position, fences the old primary, promotes the standby with
// pg_promote(wait => true), and points applications at it through a Router.
//
// The reference platform runs two PostgreSQL instances, one in the main zone
// and one in the secondary zone; the Controller manages that pair (or one
// primary and several standbys).
//
// # Safety
//
//   - Detection needs FailureThreshold consecutive failed probes, each
//     bounded by Timeout, one every Interval; Health.Validate refuses
//     combinations where a single slow probe or a short stall could trigger a
//     failover, and Health.WorstCaseDetection reports the bound.
//   - Before every destructive step the Status, with a Pending marker naming
//     the operation, its source, its target and the step, is saved to a
//     StatusStore (FileStore writes a temporary file, fsyncs it and renames
//     it). A Controller started on a store holding a pending marker finishes
//     that operation first, so a controller killed mid-failover never leaves
//     two primaries or none.
//   - The old primary is fenced: the Router stops handing it out before the
//     promotion and never hands it out again until it rejoins as a standby;
//     when it is reachable it is made read-only (ALTER SYSTEM SET
//     default_transaction_read_only, reload, client backends terminated); a
//     Fencer (InstanceFencer stops the cloud instance) powers it off. Fenced
//     nodes that reappear (a healed partition) are made read-only again.
//   - Synchronous replication: in SyncStrict and SyncAvailable modes the
//     Controller keeps synchronous_standby_names on the primary naming the
//     standbys, so an acknowledged commit is on a standby and a failover to
//     it loses nothing. SyncAvailable (DefaultSyncMode) lets writes continue
//     when no standby is left (after a failover of a two-node pair, say) and
//     reports the window in a SyncDegraded event; SyncStrict keeps writes
//     waiting. In SyncAsync mode the Promoted event reports the bound of what
//     may have been lost (LossBoundBytes).
//   - A standby lagging beyond Options.MaxLagBytes (when replication was not
//     synchronous) is never promoted unless Options.Force is set; a standby
//     that is down is never a candidate: an ElectionFailed event says why and
//     the Controller keeps trying.
//
// # Timing
//
// Defaults (Interval 50 ms, Timeout 400 ms, FailureThreshold 3) detect a
// dead postgres or node whose host refuses connections within 150 ms, and
// any failure (a stalled or unreachable node) within 1.25 s, while a stall
// of up to 800 ms never fails over; promotion on PostgreSQL 15 takes tens of
// milliseconds once the standby's wal_retrieve_retry_interval is low (the
// harness uses 100 ms; the default 5 s can hold a promotion for up to 5 s,
// which is why the Controller verifies pg_is_in_recovery() after
// pg_promote and re-signals when needed).
package failover
