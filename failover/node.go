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

// Health configures the health checks of the primary.
type Health struct {
	// Interval between the starts of two probes (default 150 ms).
	Interval time.Duration
	// Timeout of one probe, connection included (default Interval).
	Timeout time.Duration
	// FailureThreshold is how many consecutive failed probes declare the
	// primary down (default 3).
	FailureThreshold int
}

// Default health-check settings.
const (
	DefaultInterval         = 150 * time.Millisecond
	DefaultFailureThreshold = 3
)

func (h Health) withDefaults() Health {
	if h.Interval == 0 {
		h.Interval = DefaultInterval
	}
	if h.Timeout == 0 {
		h.Timeout = h.Interval
	}
	if h.FailureThreshold == 0 {
		h.FailureThreshold = DefaultFailureThreshold
	}
	return h
}

// WorstCaseDetection returns the longest time between the primary failing
// and the Controller declaring it down: the failure can happen just after a
// successful probe, then FailureThreshold probes start Interval apart and
// the last may run its full Timeout. A refused connection (a dead node on a
// reachable host) is detected faster: FailureThreshold x Interval at most.
func (h Health) WorstCaseDetection() time.Duration {
	h = h.withDefaults()
	return time.Duration(h.FailureThreshold)*h.Interval + h.Timeout
}

// MinStallTolerated returns the longest stall of the primary (every probe
// timing out) that can never trigger a failover:
// (FailureThreshold-1) x Interval.
func (h Health) MinStallTolerated() time.Duration {
	h = h.withDefaults()
	return time.Duration(h.FailureThreshold-1) * h.Interval
}

// Validate checks the settings (after defaults) and returns an
// InvalidArgument error listing every unsafe combination at once.
func (h Health) Validate() error {
	h = h.withDefaults()
	var bad []string
	if h.Interval < 10*time.Millisecond {
		bad = append(bad, fmt.Sprintf("Health.Interval %s: must be at least 10ms", h.Interval))
	}
	if h.Timeout < 10*time.Millisecond {
		bad = append(bad, fmt.Sprintf("Health.Timeout %s: must be at least 10ms (a loaded server needs time to answer)", h.Timeout))
	}
	if h.Timeout > h.Interval {
		bad = append(bad, fmt.Sprintf("Health.Timeout %s: must not exceed Health.Interval %s (probes would overlap)", h.Timeout, h.Interval))
	}
	if h.FailureThreshold < 2 {
		bad = append(bad, fmt.Sprintf("Health.FailureThreshold %d: must be at least 2 (one lost probe must not fail over)", h.FailureThreshold))
	}
	if h.FailureThreshold > 1000 {
		bad = append(bad, fmt.Sprintf("Health.FailureThreshold %d: must be at most 1000", h.FailureThreshold))
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
