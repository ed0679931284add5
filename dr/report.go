package dr

import (
	"fmt"
	"strings"
	"time"

	"github.com/orocloud/orocloud-go/cdn"
)

// TimelineEntry is one step of a run's timeline.
type TimelineEntry struct {
	Step     StepID        `json:"step"`
	Title    string        `json:"title"`
	Status   StepStatus    `json:"status"`
	Attempts int           `json:"attempts"`
	Started  time.Time     `json:"started,omitzero"`
	Finished time.Time     `json:"finished,omitzero"`
	Duration time.Duration `json:"duration"`
	// Work is the time spent in the step's own work.
	Work   time.Duration `json:"work"`
	Notes  []string      `json:"notes,omitempty"`
	Error  string        `json:"error,omitempty"`
	Reason string        `json:"reason,omitempty"`
}

// Report describes a run: its timeline and the achieved RPO and RTO
// against the objectives. It prints with String and encodes as JSON.
type Report struct {
	RunID       string    `json:"runId"`
	Environment string    `json:"environment"`
	Target      string    `json:"target"`
	Mode        Mode      `json:"mode"`
	Status      RunStatus `json:"status"`
	FromRegion  string    `json:"fromRegion"`
	ToRegion    string    `json:"toRegion"`
	Reason      string    `json:"reason,omitempty"`

	DisasterAt time.Time `json:"disasterAt"`
	// ApprovedAt is when the approval reached the run; ApprovedBy who
	// gave it.
	ApprovedAt time.Time `json:"approvedAt,omitzero"`
	ApprovedBy string    `json:"approvedBy,omitempty"`
	// Approval is the technical contact's answer as given (who, when they
	// decided, comment), also when they refused.
	Approval *Approval `json:"approval,omitempty"`
	// HealthyAt is when every health check passed.
	HealthyAt time.Time `json:"healthyAt,omitzero"`

	Point    *Point    `json:"point,omitempty"`
	Restored *Restored `json:"restored,omitempty"`

	// RPO is DisasterAt − the restored point's time; RPOMet compares it
	// with RPOObjective (the last daily backup).
	RPO          time.Duration `json:"rpo"`
	RPOObjective time.Duration `json:"rpoObjective"`
	RPOMet       bool          `json:"rpoMet"`
	// RTO is ApprovedAt → HealthyAt (zero until healthy); RTOMet compares
	// it with RTOObjective (the reference's 60 minutes).
	RTO          time.Duration `json:"rto"`
	RTOObjective time.Duration `json:"rtoObjective"`
	RTOMet       bool          `json:"rtoMet"`
	// CriticalPathWork is the step work on the longest dependency path
	// from approval to healthy; Overhead is RTO minus it: the time the
	// orchestration itself took (journal writes, scheduling).
	CriticalPathWork time.Duration `json:"criticalPathWork"`
	Overhead         time.Duration `json:"overhead"`

	Timeline   []TimelineEntry `json:"timeline"`
	Prechecks  []CheckResult   `json:"prechecks,omitempty"`
	DNSRecords []cdn.Record    `json:"dnsRecords,omitempty"`
	Manual     []ManualAction  `json:"manual,omitempty"`
	Leftovers  []string        `json:"leftovers,omitempty"`
}

func (r *Runner) report(st *RunState) *Report {
	return BuildReport(st, r.o.MaxBackupAge, r.o.RTOObjective)
}

// BuildReport computes the report of a run state against the objectives
// (zero objectives take DefaultRPOObjective and ReferenceRTO).
func BuildReport(st *RunState, rpoObjective, rtoObjective time.Duration) *Report {
	rep := &Report{RunID: st.ID, Environment: st.Environment, Target: st.Target, Mode: st.Mode, Status: st.Status,
		FromRegion: st.FromRegion, ToRegion: st.ToRegion, Reason: st.Reason, DisasterAt: st.DisasterAt,
		RPOObjective: cmpOr(rpoObjective, DefaultRPOObjective), RTOObjective: cmpOr(rtoObjective, ReferenceRTO),
		Prechecks: st.Prechecks, DNSRecords: st.DNSRecords, Manual: st.Manual, Leftovers: st.Leftovers, Restored: st.Restored}
	titles := map[StepID]StepDef{}
	for _, d := range StepsFor(st.Mode) {
		titles[d.ID] = d
	}
	for _, s := range st.Steps {
		e := TimelineEntry{Step: s.ID, Title: titles[s.ID].Title, Status: s.Status, Attempts: s.Attempts, Started: s.Started,
			Finished: s.Finished, Work: s.Work, Notes: s.Notes, Error: s.Error, Reason: s.Reason}
		if !s.Started.IsZero() && !s.Finished.IsZero() {
			e.Duration = s.Finished.Sub(s.Started)
		}
		rep.Timeline = append(rep.Timeline, e)
	}
	if st.Point != nil {
		p := *st.Point
		rep.Point = &p
		rep.RPO = st.DisasterAt.Sub(p.Time)
		rep.RPOMet = rep.RPO <= rep.RPOObjective
	}
	if st.Approval != nil {
		a := *st.Approval
		rep.Approval = &a
	}
	if a := st.Step(StepApproval); a != nil && a.Status == StepDone && st.Approval != nil {
		rep.ApprovedAt, rep.ApprovedBy = a.Finished, st.Approval.By
	}
	if h := st.Step(StepHealth); h != nil && h.Status == StepDone && !rep.ApprovedAt.IsZero() {
		rep.HealthyAt = h.Finished
		rep.RTO = rep.HealthyAt.Sub(rep.ApprovedAt)
		rep.RTOMet = rep.RTO <= rep.RTOObjective
		rep.CriticalPathWork = criticalPath(st, StepHealth)
		rep.Overhead = rep.RTO - rep.CriticalPathWork
	}
	return rep
}

// criticalPath returns the largest sum of step work on a dependency path
// from just after the approval to step end.
func criticalPath(st *RunState, end StepID) time.Duration {
	cp := map[StepID]time.Duration{}
	for _, d := range StepsFor(st.Mode) {
		if d.ID == StepPrecheck || d.ID == StepApproval {
			cp[d.ID] = 0
			continue
		}
		var longest time.Duration
		for _, n := range d.Needs {
			longest = max(longest, cp[n])
		}
		if s := st.Step(d.ID); s != nil && s.Status == StepDone {
			longest += s.Work
		}
		cp[d.ID] = longest
		if d.ID == end {
			break
		}
	}
	return cp[end]
}

// String prints the report for people.
func (r *Report) String() string {
	var b strings.Builder
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05.000Z")
	}
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Fprintf(&b, "DR %s of %s", r.Mode, r.Environment)
	if r.Target != r.Environment {
		fmt.Fprintf(&b, " (copy %s)", r.Target)
	}
	fmt.Fprintf(&b, ": %s → %s, status %s (run %s)\n", r.FromRegion, r.ToRegion, r.Status, r.RunID)
	if r.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", r.Reason)
	}
	fmt.Fprintf(&b, "disaster at %s; approved at %s by %s; healthy at %s\n", ts(r.DisasterAt), ts(r.ApprovedAt), orDash(r.ApprovedBy), ts(r.HealthyAt))
	if r.Point != nil {
		fmt.Fprintf(&b, "restored point %s taken %s", r.Point.ID, ts(r.Point.Time))
		if r.Point.CodeRef != "" {
			fmt.Fprintf(&b, " (code %s)", r.Point.CodeRef)
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "RPO achieved %s, objective %s (last daily backup): %s\n", r.RPO.Round(time.Second), r.RPOObjective, mark(r.RPOMet))
	}
	if !r.HealthyAt.IsZero() {
		fmt.Fprintf(&b, "RTO achieved %s (approval → healthy), objective %s: %s\n", r.RTO.Round(time.Millisecond), r.RTOObjective, mark(r.RTOMet))
		fmt.Fprintf(&b, "critical path work %s, orchestration overhead %s\n", r.CriticalPathWork.Round(time.Millisecond), r.Overhead.Round(time.Millisecond))
	}
	b.WriteString("timeline:\n")
	for _, e := range r.Timeline {
		fmt.Fprintf(&b, "  %-13s %-8s %s  %9s", e.Step, e.Status, ts(e.Started), e.Duration.Round(time.Millisecond))
		if e.Attempts > 1 {
			fmt.Fprintf(&b, "  (%d attempts)", e.Attempts)
		}
		b.WriteString("\n")
		for _, n := range e.Notes {
			fmt.Fprintf(&b, "      %s\n", n)
		}
		if e.Reason != "" {
			fmt.Fprintf(&b, "      reason: %s\n", e.Reason)
		}
		if e.Error != "" {
			fmt.Fprintf(&b, "      error: %s\n", e.Error)
		}
	}
	for _, m := range r.Manual {
		fmt.Fprintf(&b, "MANUAL STEP (%s) for %s: %s\n", m.Step, m.Who, m.What)
	}
	for _, l := range r.Leftovers {
		fmt.Fprintf(&b, "LEFT OVER: %s\n", l)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
