package dr

import (
	"fmt"
	"strings"
	"time"
)

// ProviderStatus is what the cloud's status page or API says about a
// region.
type ProviderStatus string

// Provider statuses.
const (
	StatusUnknown     ProviderStatus = ""
	StatusOperational ProviderStatus = "operational"
	StatusDegraded    ProviderStatus = "degraded"
	StatusOutage      ProviderStatus = "outage"
)

// Probe is one reachability probe of the environment (an HTTP check of the
// site from outside the region, a TCP connect to the database from a
// monitoring host).
type Probe struct {
	// Target names what was probed ("https://shop.example.com/health").
	Target string
	// From names where the probe ran ("monitor-us-east1").
	From string
	OK   bool
	At   time.Time
	// Error is the failure as observed ("connection timed out").
	Error string
	// Network is true when the failure is a network failure (timeout,
	// unreachable route, DNS of the provider's network) rather than an
	// application error.
	Network bool
}

// Signals are the observations a DR decision is made on.
type Signals struct {
	// Region is the region the environment runs in.
	Region string
	// Status is the provider's reported status of the region, and Since
	// when it has been so.
	Status ProviderStatus
	Since  time.Time
	// ExpectedRecovery is the provider's announced recovery time; zero
	// means none announced.
	ExpectedRecovery time.Time
	// Probes are recent reachability probes of the environment.
	Probes []Probe
	// Now is the time of the assessment.
	Now time.Time
}

// Recommendation is Assess's verdict.
type Recommendation string

// Recommendations.
const (
	// NoAction: the environment is reachable and its region is up.
	NoAction Recommendation = "no-action"
	// Monitor: something is wrong but the DR criteria are not met (yet).
	Monitor Recommendation = "monitor"
	// DeclareDR: the DR criteria are met; ask the technical contact to
	// approve a failover.
	DeclareDR Recommendation = "declare-dr"
)

// Assessment is a recommendation with its evidence.
type Assessment struct {
	Recommendation Recommendation `json:"recommendation"`
	// Criterion names the reference criterion met, when DeclareDR:
	// CriterionRegionDown or CriterionRegionalNetwork.
	Criterion string `json:"criterion,omitempty"`
	// Evidence lists the observations, one a line, in the order they were
	// weighed.
	Evidence []string `json:"evidence"`
}

// The DR criteria of the reference architecture.
const (
	// CriterionRegionDown: the region is not available and not expected to
	// be recovered by the provider within the next hour.
	CriterionRegionDown = "region unavailable and not expected back within the threshold"
	// CriterionRegionalNetwork: the environment is not reachable because of
	// network issues of the region's location.
	CriterionRegionalNetwork = "environment unreachable because of regional network problems"
)

// AssessOptions tune Assess.
type AssessOptions struct {
	// Threshold is how soon recovery must be expected for DR not to be
	// declared (default 1 hour, the reference's criterion).
	Threshold time.Duration
	// MinFailedProbes is how many failed network probes, from at least two
	// vantage points, make the environment "unreachable" (default 3).
	MinFailedProbes int
}

// String prints the assessment with its evidence.
func (a Assessment) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "recommendation: %s", a.Recommendation)
	if a.Criterion != "" {
		fmt.Fprintf(&b, " (%s)", a.Criterion)
	}
	for _, e := range a.Evidence {
		fmt.Fprintf(&b, "\n  - %s", e)
	}
	return b.String()
}

// Assess turns region health signals into a recommendation with its
// evidence. It is a pure function of its arguments: it never starts a DR
// (a person approves that, see Runner). DR is recommended when
//
//   - the provider reports an outage of the region and announces no
//     recovery, or a recovery further than Threshold (1 hour) away; or
//   - the environment is unreachable: at least MinFailedProbes recent
//     probes failed with network errors, from at least two vantage points,
//     and none succeeded after them.
//
// A degraded region, an outage expected to end within the hour, or failures
// that are not network failures give Monitor.
func Assess(s Signals, opts *AssessOptions) Assessment {
	var o AssessOptions
	if opts != nil {
		o = *opts
	}
	if o.Threshold <= 0 {
		o.Threshold = time.Hour
	}
	if o.MinFailedProbes <= 0 {
		o.MinFailedProbes = 3
	}
	a := Assessment{Recommendation: NoAction}
	ev := func(format string, args ...any) { a.Evidence = append(a.Evidence, fmt.Sprintf(format, args...)) }
	region := s.Region
	if region == "" {
		region = "the region"
	}
	worse := func(r Recommendation) {
		if r == DeclareDR || a.Recommendation == NoAction {
			a.Recommendation = r
		}
	}
	switch s.Status {
	case StatusOutage:
		since := ""
		if !s.Since.IsZero() && !s.Now.IsZero() {
			since = fmt.Sprintf(" for %s", s.Now.Sub(s.Since).Round(time.Minute))
		}
		switch {
		case s.ExpectedRecovery.IsZero():
			ev("provider reports an outage of %s%s with no announced recovery time", region, since)
			worse(DeclareDR)
			a.Criterion = CriterionRegionDown
		case s.ExpectedRecovery.Sub(s.Now) > o.Threshold:
			ev("provider reports an outage of %s%s, recovery expected in %s (more than %s)", region, since,
				s.ExpectedRecovery.Sub(s.Now).Round(time.Minute), o.Threshold)
			worse(DeclareDR)
			a.Criterion = CriterionRegionDown
		default:
			ev("provider reports an outage of %s%s, recovery expected in %s (within %s): wait", region, since,
				max(0, s.ExpectedRecovery.Sub(s.Now)).Round(time.Minute), o.Threshold)
			worse(Monitor)
		}
	case StatusDegraded:
		ev("provider reports %s as degraded", region)
		worse(Monitor)
	case StatusOperational:
		ev("provider reports %s as operational", region)
	default:
		ev("no provider status for %s", region)
	}

	// Probes: the failures after the latest success count.
	var lastOK time.Time
	for _, p := range s.Probes {
		if p.OK && p.At.After(lastOK) {
			lastOK = p.At
		}
	}
	failed, network := 0, 0
	vantage := map[string]bool{}
	for _, p := range s.Probes {
		if p.OK || (!lastOK.IsZero() && !p.At.After(lastOK)) {
			continue
		}
		failed++
		if p.Network {
			network++
			vantage[p.From] = true
		}
	}
	switch {
	case len(s.Probes) == 0:
		ev("no reachability probes")
	case failed == 0:
		ev("environment reachable: %d probe(s), the latest successful at %s", len(s.Probes), lastOK.UTC().Format(time.RFC3339))
	default:
		ev("%d probe(s) failed since the last success (%d network failures from %d vantage point(s))", failed, network, len(vantage))
		for _, p := range s.Probes {
			if !p.OK && (lastOK.IsZero() || p.At.After(lastOK)) {
				ev("probe %s from %s at %s: %s", p.Target, p.From, p.At.UTC().Format(time.RFC3339), p.Error)
			}
		}
		if network >= o.MinFailedProbes && len(vantage) >= 2 {
			worse(DeclareDR)
			if a.Criterion == "" {
				a.Criterion = CriterionRegionalNetwork
			}
		} else {
			worse(Monitor)
		}
	}
	switch a.Recommendation {
	case DeclareDR:
		ev("DR criteria met: ask the technical contact to approve a failover to the DR region")
	case Monitor:
		ev("DR criteria not met: keep monitoring")
	}
	return a
}
