package failover

import (
	"log/slog"
	"time"
)

// EventKind names what happened.
type EventKind string

// Event kinds.
const (
	// EventDetected: the primary failed FailureThreshold probes in a row.
	EventDetected EventKind = "detected"
	// EventElectionFailed: no standby can be promoted safely (all down, or
	// lagging beyond MaxLagBytes); the Controller retries.
	EventElectionFailed EventKind = "election-failed"
	// EventElected: a standby was chosen.
	EventElected EventKind = "elected"
	// EventFenced: the old primary was made read-only or stopped.
	EventFenced EventKind = "fenced"
	// EventFenceFailed: a fencing attempt failed; the Router still never
	// hands the node out.
	EventFenceFailed EventKind = "fence-failed"
	// EventPromoted: the standby left recovery.
	EventPromoted EventKind = "promoted"
	// EventRouted: the Router hands out the new primary.
	EventRouted EventKind = "routed"
	// EventResumed: a pending operation found in the store is being finished.
	EventResumed EventKind = "resumed"
	// EventSyncDegraded: the primary now commits without a synchronous
	// standby (SyncAvailable); acknowledged writes from now on may be lost
	// if it fails before a standby catches up.
	EventSyncDegraded EventKind = "sync-degraded"
	// EventSyncRestored: a synchronous standby is back.
	EventSyncRestored EventKind = "sync-restored"
	// EventRejoined: a former primary streams from the new one.
	EventRejoined EventKind = "rejoined"
	// EventSwitchover: a planned switchover completed.
	EventSwitchover EventKind = "switchover"
)

// Event is one step of the Controller's work.
type Event struct {
	Kind EventKind
	// Time is when it happened (Options.Clock).
	Time time.Time
	// Node is the node concerned (the old primary for detected/fenced).
	Node string
	// Target is the promoted standby, where relevant.
	Target string
	// Duration is how long the step took; for EventDetected, the time since
	// the last successful probe; for EventRouted, the time since detection.
	Duration time.Duration
	// LossBoundBytes is, on EventPromoted, the WAL bytes between the last
	// position seen on the old primary and the promoted standby's position:
	// what may have been lost (0 when replication was synchronous).
	LossBoundBytes int64
	// Synchronous is, on EventPromoted, whether acknowledged commits were
	// guaranteed to be on the promoted standby.
	Synchronous bool
	// Message is a human-readable explanation.
	Message string
	// Err is the error, for failure events.
	Err error
}

func (e Event) attrs() []any {
	a := []any{"kind", string(e.Kind), "node", e.Node}
	if e.Target != "" {
		a = append(a, "target", e.Target)
	}
	if e.Duration != 0 {
		a = append(a, "duration", e.Duration)
	}
	if e.Kind == EventPromoted {
		a = append(a, "synchronous", e.Synchronous, "loss_bound_bytes", e.LossBoundBytes)
	}
	if e.Err != nil {
		a = append(a, "err", e.Err.Error())
	}
	return a
}

func (e Event) level() slog.Level {
	switch e.Kind {
	case EventElectionFailed, EventFenceFailed, EventSyncDegraded:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
