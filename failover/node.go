package failover

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/orocloud/orocloud-go/providers"
)

// Node is one PostgreSQL server of the cluster.
type Node struct {
	// Name identifies the node; as a standby it is also its
	// application_name, as named in synchronous_standby_names.
	Name string
	// DSN is a libpq connection string (keyword/value or URL) reaching the
	// node as a superuser or a role allowed to run pg_promote, ALTER SYSTEM
	// and pg_terminate_backend. It is never logged nor put in errors.
	DSN string
	// Zone is where the node runs (informational: events and Status).
	Zone string
	// Instance, when set, is the cloud instance running the node, used by
	// InstanceFencer.
	Instance *providers.InstanceRef
}

// String returns the node's name and zone (never its DSN).
func (n Node) String() string {
	if n.Zone == "" {
		return n.Name
	}
	return n.Name + "@" + n.Zone
}

// SyncMode is how the Controller manages synchronous replication.
type SyncMode string

// The synchronous replication modes.
const (
	// SyncAvailable: synchronous_standby_names names the standbys while any
	// streams, so acknowledged commits are on a standby; when none is left
	// the Controller clears it so writes continue, and reports the window
	// (SyncDegraded). This is Patroni's synchronous_mode.
	SyncAvailable SyncMode = "available"
	// SyncStrict: synchronous_standby_names always names the standbys;
	// with none streaming, commits wait. No acknowledged write can exist on
	// the primary alone. Patroni's synchronous_mode_strict.
	SyncStrict SyncMode = "strict"
	// SyncAsync: asynchronous replication; the Controller does not touch
	// synchronous_standby_names. A failover may lose the last commits; the
	// Promoted event reports the bound.
	SyncAsync SyncMode = "async"
	// DefaultSyncMode is the mode used when Options.Sync is empty.
	DefaultSyncMode = SyncAvailable
)

// Health configures the health checks of the primary. Probes run one
// after the other: a probe starts Interval after the previous one started,
// or when it ended if it took longer.
type Health struct {
	// Interval between the starts of two probes (default 50 ms).
	Interval time.Duration
	// Timeout of one probe, connection included (default 400 ms). A dead
	// node on a reachable host refuses connections at once, so Timeout
	// only matters for a stalled or unreachable node; keep it well above
	// the slowest answer of a loaded server.
	Timeout time.Duration
	// FailureThreshold is how many consecutive failed probes declare the
	// primary down (default 3).
	FailureThreshold int
}

// Default health-check settings.
const (
	DefaultInterval         = 50 * time.Millisecond
	DefaultTimeout          = 400 * time.Millisecond
	DefaultFailureThreshold = 3
)

func (h Health) withDefaults() Health {
	if h.Interval == 0 {
		h.Interval = DefaultInterval
	}
	if h.Timeout == 0 {
		h.Timeout = DefaultTimeout
	}
	if h.FailureThreshold == 0 {
		h.FailureThreshold = DefaultFailureThreshold
	}
	return h
}

func (h Health) period() time.Duration { return max(h.Interval, h.Timeout) }

// RefusedDetection returns the longest time between the primary failing
// and the Controller declaring it down when connections are refused at once
// (postgres dead on a live host): FailureThreshold x Interval.
func (h Health) RefusedDetection() time.Duration {
	h = h.withDefaults()
	return time.Duration(h.FailureThreshold) * h.Interval
}

// WorstCaseDetection returns the longest time between the primary failing
// and the Controller declaring it down, whatever the failure (a stalled or
// unreachable node lets every probe run its full Timeout): the failure can
// happen just after a successful probe, the next starts up to Interval
// later, and FailureThreshold probes of up to max(Interval, Timeout) follow.
func (h Health) WorstCaseDetection() time.Duration {
	h = h.withDefaults()
	return h.Interval + time.Duration(h.FailureThreshold)*h.period()
}

// MinStallTolerated returns the longest stall of the primary (every probe
// timing out) that can never trigger a failover:
// (FailureThreshold-1) x max(Interval, Timeout).
func (h Health) MinStallTolerated() time.Duration {
	h = h.withDefaults()
	return time.Duration(h.FailureThreshold-1) * h.period()
}

// Validate checks the settings (after defaults) and returns an
// InvalidArgument error listing every unsafe combination at once.
func (h Health) Validate() error {
	h = h.withDefaults()
	var bad []string
	if h.Interval < 10*time.Millisecond {
		bad = append(bad, fmt.Sprintf("Health.Interval %s: must be at least 10ms", h.Interval))
	}
	if h.Timeout < 50*time.Millisecond {
		bad = append(bad, fmt.Sprintf("Health.Timeout %s: must be at least 50ms (a loaded server needs time to accept a connection)", h.Timeout))
	}
	if h.Timeout > 0 && h.Interval > 0 && h.Timeout > 20*h.Interval {
		bad = append(bad, fmt.Sprintf("Health.Timeout %s: must be at most 20 x Health.Interval %s (detection would be dominated by one probe)", h.Timeout, h.Interval))
	}
	if h.FailureThreshold < 2 {
		bad = append(bad, fmt.Sprintf("Health.FailureThreshold %d: must be at least 2 (one lost probe must not fail over)", h.FailureThreshold))
	}
	if h.FailureThreshold > 1000 {
		bad = append(bad, fmt.Sprintf("Health.FailureThreshold %d: must be at most 1000", h.FailureThreshold))
	}
	if len(bad) == 0 && h.MinStallTolerated() < 200*time.Millisecond {
		bad = append(bad, fmt.Sprintf("Health: a stall of %s (FailureThreshold-1 probes of max(Interval, Timeout)) would already fail over; raise FailureThreshold, Interval or Timeout so that at least 200ms is tolerated", h.MinStallTolerated()))
	}
	if len(bad) > 0 {
		return providers.Errorf(providers.InvalidArgument, "failover: unsafe health settings: %s", strings.Join(bad, "; "))
	}
	return nil
}

func validateNodes(primary Node, standbys []Node) []string {
	var bad []string
	seen := map[string]bool{}
	check := func(field string, n Node) {
		if n.Name == "" {
			bad = append(bad, field+".Name: must not be empty")
		} else if strings.ContainsAny(n.Name, " ,'\"()\\") {
			bad = append(bad, fmt.Sprintf("%s.Name %q: must not contain spaces, commas, quotes, parentheses or backslashes (it is a synchronous_standby_names entry)", field, n.Name))
		} else if seen[n.Name] {
			bad = append(bad, fmt.Sprintf("%s.Name %q: duplicate node name", field, n.Name))
		}
		seen[n.Name] = true
		if n.DSN == "" {
			bad = append(bad, field+".DSN: must not be empty")
		} else if _, err := pgx.ParseConfig(n.DSN); err != nil {
			bad = append(bad, field+".DSN: not a valid connection string")
		}
	}
	check("primary", primary)
	if len(standbys) == 0 {
		bad = append(bad, "standbys: at least one standby is required")
	}
	for i, s := range standbys {
		check(fmt.Sprintf("standbys[%d]", i), s)
	}
	return bad
}
