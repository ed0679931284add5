package dr

import (
	"context"
	"slices"
	"time"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

// Mode is what a run does.
type Mode string

// Run modes.
const (
	// ModeFailover recreates the environment, under its own name, in its DR
	// region and moves its DNS there.
	ModeFailover Mode = "failover"
	// ModeDrill recreates an isolated copy of the environment with its own
	// name ("<env>-drill") in the DR region, leaves DNS untouched, then tears
	// the copy down and checks that nothing of it is left.
	ModeDrill Mode = "drill"
	// ModeFailback recreates the environment in its primary region from the
	// latest backup taken in the DR region, moves DNS back, and
	// decommissions the DR copy (keeping the reserved DR address).
	ModeFailback Mode = "failback"
)

func (m Mode) valid() bool { return m == ModeFailover || m == ModeDrill || m == ModeFailback }

// StepID names a step of a run.
type StepID string

// The steps of a run. Which steps a run has depends on its mode (see
// StepsFor).
const (
	StepPrecheck  StepID = "precheck"
	StepApproval  StepID = "approval"
	StepProvision StepID = "provision"
	StepRestore   StepID = "restore"
	StepDNS       StepID = "dns"
	StepHealth    StepID = "health"
	// StepTeardown removes the drill copy (ModeDrill) or the DR copy
	// (ModeFailback, keeping the reserved DR address).
	StepTeardown StepID = "teardown"
	// StepVerifyClean checks that nothing of the drill copy is left.
	StepVerifyClean StepID = "verify-clean"
	StepNotify      StepID = "notify"
)

// StepDef is a step of a mode's plan and the steps it needs first.
type StepDef struct {
	ID    StepID
	Needs []StepID
	// Title describes the step for people.
	Title string
}

// StepsFor returns the steps of a mode in a stable (topological) order with
// their dependencies. Steps whose needs are met run in parallel: in a
// failover the DNS switch runs while the backup is restored.
func StepsFor(m Mode) []StepDef {
	pre := []StepDef{
		{ID: StepPrecheck, Title: "prechecks"},
		{ID: StepApproval, Needs: []StepID{StepPrecheck}, Title: "approval by the technical contact"},
	}
	switch m {
	case ModeFailover:
		return append(pre,
			StepDef{ID: StepProvision, Needs: []StepID{StepApproval}, Title: "provision the environment in the DR region"},
			StepDef{ID: StepRestore, Needs: []StepID{StepProvision}, Title: "restore the latest backup (database, media, code reference)"},
			StepDef{ID: StepDNS, Needs: []StepID{StepProvision}, Title: "point DNS to the DR address"},
			StepDef{ID: StepHealth, Needs: []StepID{StepRestore, StepDNS}, Title: "health checks"},
			StepDef{ID: StepNotify, Needs: []StepID{StepHealth}, Title: "notify the technical contact"},
		)
	case ModeDrill:
		return append(pre,
			StepDef{ID: StepProvision, Needs: []StepID{StepApproval}, Title: "provision the drill copy in the DR region"},
			StepDef{ID: StepRestore, Needs: []StepID{StepProvision}, Title: "restore the latest backup into the drill copy"},
			StepDef{ID: StepHealth, Needs: []StepID{StepRestore}, Title: "health checks"},
			StepDef{ID: StepTeardown, Needs: []StepID{StepHealth}, Title: "tear the drill copy down"},
			StepDef{ID: StepVerifyClean, Needs: []StepID{StepTeardown}, Title: "check that nothing of the drill copy is left"},
			StepDef{ID: StepNotify, Needs: []StepID{StepVerifyClean}, Title: "notify the technical contact"},
		)
	case ModeFailback:
		return append(pre,
			StepDef{ID: StepProvision, Needs: []StepID{StepApproval}, Title: "provision the environment in the primary region"},
			StepDef{ID: StepRestore, Needs: []StepID{StepProvision}, Title: "restore the latest backup taken in the DR region"},
			StepDef{ID: StepDNS, Needs: []StepID{StepProvision}, Title: "point DNS back to the primary address"},
			StepDef{ID: StepHealth, Needs: []StepID{StepRestore, StepDNS}, Title: "health checks"},
			StepDef{ID: StepTeardown, Needs: []StepID{StepHealth}, Title: "decommission the DR copy (the DR address stays reserved)"},
			StepDef{ID: StepNotify, Needs: []StepID{StepTeardown}, Title: "notify the technical contact"},
		)
	}
	return nil
}

// StepStatus is the state of a step in the journal.
type StepStatus string

// Step states.
const (
	StepPending StepStatus = "pending"
	// StepRunning is written before the step's work starts. A run killed
	// while a step runs leaves it running in the journal; Resume runs it
	// again (every step observes before it acts, so a second run is safe).
	StepRunning StepStatus = "running"
	StepDone    StepStatus = "done"
	StepFailed  StepStatus = "failed"
	// StepSkipped: skipped by an operator (with a reason) or not applicable
	// (a drill leaves DNS untouched); dependants run.
	StepSkipped StepStatus = "skipped"
	// StepManual: the step is handed to a person (the DNS record of a
	// customer-managed domain); dependants run, and the report lists the
	// action.
	StepManual StepStatus = "manual"
)

func (s StepStatus) settled() bool { return s == StepDone || s == StepSkipped || s == StepManual }

// RunStatus is the state of a run.
type RunStatus string

// Run states. Active runs (pending, running, paused, failed) hold their
// environment's slot in the journal: a second run is refused until the
// active one succeeds or is cancelled.
const (
	RunRunning RunStatus = "running"
	// RunAwaitingApproval: the run waits at the approval gate.
	RunAwaitingApproval RunStatus = "awaiting-approval"
	RunPaused           RunStatus = "paused"
	// RunFailed: a step failed; Retry or Skip it, then Resume, or Cancel.
	RunFailed RunStatus = "failed"
	// RunSucceeded, RunCancelled, RunRefused (prechecks failed, nothing
	// was done) and RunRejected (approval refused or timed out) are final.
	RunSucceeded RunStatus = "succeeded"
	RunCancelled RunStatus = "cancelled"
	RunRefused   RunStatus = "refused"
	RunRejected  RunStatus = "rejected"
)

// Active reports whether the run still holds its environment's slot.
func (s RunStatus) Active() bool {
	switch s {
	case RunSucceeded, RunCancelled, RunRefused, RunRejected:
		return false
	}
	return true
}

// Point is a recovery point as DR sees it.
type Point struct {
	ID string `json:"id"`
	// Time is when the database snapshot was taken: the restored state.
	Time time.Time `json:"time"`
	// CodeRef is the application code reference (a commit hash).
	CodeRef string `json:"codeRef,omitempty"`
	// Size is the stored size in bytes.
	Size int64 `json:"size,omitempty"`
}

// RestoreTarget is where a point is restored: the database of the
// environment as provisioned in the target region, its media directory, and
// the directory the code archive goes to. Database is a connection string,
// kept as a Secret so it is never printed.
type RestoreTarget struct {
	Database providers.Secret `json:"-"`
	Media    string           `json:"media,omitempty"`
	Code     string           `json:"code,omitempty"`
	// Replace lets the restore overwrite a non-empty target (failback onto
	// the old primary database).
	Replace bool `json:"replace,omitempty"`
}

// Restored describes a finished restore.
type Restored struct {
	Point    Point         `json:"point"`
	Bytes    int64         `json:"bytes"`
	Tables   int           `json:"tables"`
	Duration time.Duration `json:"duration"`
}

// Backups is what DR needs of a backup system. NewEngineBackups adapts a
// *backup.Engine.
type Backups interface {
	// LatestBefore returns the newest point taken before t, or an error for
	// which providers.Code is NotFound when there is none.
	LatestBefore(ctx context.Context, t time.Time) (Point, error)
	// Verify authenticates and checks every part of the point without
	// restoring it.
	Verify(ctx context.Context, id string) error
	// Restore restores the point into target.
	Restore(ctx context.Context, id string, target RestoreTarget) (*Restored, error)
}

// Targets resolves where the environment's data goes in the target region,
// once its infrastructure is provisioned.
type Targets interface {
	// Target returns the restore target of env (env is the copy being
	// built: for a drill it carries the drill's own name), given what was
	// provisioned for it. It is called again when a step is re-run and must
	// return the same target.
	Target(ctx context.Context, env *environment.Environment, inv *environment.Inventory) (RestoreTarget, error)
	// Release removes what Target set up for env (a drill's database and
	// media directory). Releasing what does not exist returns nil.
	Release(ctx context.Context, env *environment.Environment) error
}

// DNS switches host names. cdn.DNS (the Cloudflare edge) satisfies it.
type DNS interface {
	// PointHostname upserts r and returns the record as stored.
	PointHostname(ctx context.Context, r cdn.Record) (*cdn.Record, error)
	// LookupRecord returns the record of name and type, or NotFound.
	LookupRecord(ctx context.Context, zone, name string, typ cdn.RecordType) (*cdn.Record, error)
}

var _ DNS = (cdn.DNS)(nil)

// ApprovalRequest is what the approver is asked to approve.
type ApprovalRequest struct {
	RunID       string
	Environment string
	Mode        Mode
	// FromRegion and ToRegion: where the environment runs and where it is
	// recreated.
	FromRegion, ToRegion string
	// Contact is the environment's technical contact, the only person who
	// may approve.
	Contact environment.Contact
	// Point is the recovery point that will be restored and DisasterAt the
	// time of the disaster: the RPO the approver accepts is their difference.
	Point      Point
	DisasterAt time.Time
	Reason     string
}

// Approval is the approver's answer.
type Approval struct {
	Approved bool `json:"approved"`
	// By identifies who decided: the technical contact's email or name.
	By string `json:"by"`
	// At is when they decided; zero means when the answer arrived.
	At      time.Time `json:"at"`
	Comment string    `json:"comment,omitempty"`
}

// Approver asks the environment's technical contact to approve a run. It
// blocks until they answer or ctx ends (the runner bounds it with
// Options.ApprovalTimeout).
type Approver interface {
	Approve(ctx context.Context, req ApprovalRequest) (Approval, error)
}

// ApproverFunc adapts a function to Approver.
type ApproverFunc func(ctx context.Context, req ApprovalRequest) (Approval, error)

// Approve calls f.
func (f ApproverFunc) Approve(ctx context.Context, req ApprovalRequest) (Approval, error) {
	return f(ctx, req)
}

// HealthTarget is what health checks look at.
type HealthTarget struct {
	// Environment is the environment as recreated (its name and region are
	// the copy's).
	Environment *environment.Environment
	Provider    providers.Provider
	// Database is the restored database's connection string.
	Database providers.Secret
	// Restored describes the restore (tables loaded, the point).
	Restored *Restored
}

// HealthChecker is one health check of the recreated environment.
type HealthChecker interface {
	// Name names the check in the report.
	Name() string
	// Check returns nil when healthy. The runner polls until every check
	// passes or Options.HealthTimeout ends.
	Check(ctx context.Context, t HealthTarget) error
}

// Notice is what the technical contact is told.
type Notice struct {
	RunID       string
	Environment string
	Mode        Mode
	Contact     environment.Contact
	Subject     string
	// Body is the printed report.
	Body   string
	Report *Report
}

// Notifier tells the technical contact.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, n Notice) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, n Notice) error { return f(ctx, n) }

// ManualAction is a step handed to a person: the DNS record a domain
// owner must set.
type ManualAction struct {
	Step StepID `json:"step"`
	// Who must act ("the owner of the domain example.com").
	Who string `json:"who"`
	// What to do, with the exact record.
	What    string       `json:"what"`
	Records []cdn.Record `json:"records,omitempty"`
}

// StepState is a step's record in the journal.
type StepState struct {
	ID       StepID     `json:"id"`
	Status   StepStatus `json:"status"`
	Attempts int        `json:"attempts"`
	Started  time.Time  `json:"started,omitzero"`
	Finished time.Time  `json:"finished,omitzero"`
	// Work is the time spent in the step's own work in its last attempt.
	Work   time.Duration `json:"work"`
	Error  string        `json:"error,omitempty"`
	Reason string        `json:"reason,omitempty"`
	// Notes are what the step did ("3 instances created", "restored point
	// X").
	Notes []string `json:"notes,omitempty"`
}

// Control is an operator's request to a run, stored beside its state so
// another process can pause or cancel it.
type Control struct {
	Pause  bool   `json:"pause,omitempty"`
	Cancel bool   `json:"cancel,omitempty"`
	Reason string `json:"reason,omitempty"`
	By     string `json:"by,omitempty"`
}

// RunState is a run as the journal holds it.
type RunState struct {
	ID string `json:"id"`
	// Environment is the name of the environment being recovered (the
	// journal's one-active-run key).
	Environment string    `json:"environment"`
	Mode        Mode      `json:"mode"`
	Status      RunStatus `json:"status"`
	// Spec is the environment as given to Start.
	Spec *environment.Environment `json:"spec"`
	// FromRegion is where the environment ran; ToRegion where it is
	// recreated; Target the name of the copy (the drill's own name).
	FromRegion string `json:"fromRegion"`
	ToRegion   string `json:"toRegion"`
	Target     string `json:"target"`
	Reason     string `json:"reason,omitempty"`
	// DisasterAt is the time of the disaster (the RPO reference).
	DisasterAt time.Time `json:"disasterAt"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`

	Steps    []StepState `json:"steps"`
	Approval *Approval   `json:"approval,omitempty"`
	// Point is the recovery point chosen by the prechecks.
	Point *Point `json:"point,omitempty"`
	// Restored is the restore's result.
	Restored *Restored `json:"restored,omitempty"`
	// Addresses found or reserved: the DR (or, on failback, primary)
	// address the site is switched to.
	Address *providers.Address `json:"address,omitempty"`
	// DNSRecords are the records switched (or to switch by hand).
	DNSRecords []cdn.Record   `json:"dnsRecords,omitempty"`
	Manual     []ManualAction `json:"manual,omitempty"`
	Prechecks  []CheckResult  `json:"prechecks,omitempty"`
	Healthy    time.Time      `json:"healthy,omitzero"`
	Leftovers  []string       `json:"leftovers,omitempty"`
	Control    Control        `json:"control"`
	Ended      time.Time      `json:"ended,omitzero"`
	// Driver is the owner of the lease the runner writing this state
	// holds (see Journal.Claim); a journal refuses a Save by a runner
	// whose lease has gone to another. It is not stored.
	Driver string `json:"-"`
}

// Step returns the state of step id (nil when the mode has no such step).
func (s *RunState) Step(id StepID) *StepState {
	i := slices.IndexFunc(s.Steps, func(st StepState) bool { return st.ID == id })
	if i < 0 {
		return nil
	}
	return &s.Steps[i]
}

// Clone returns a deep enough copy of s for a journal to keep.
func (s *RunState) Clone() *RunState {
	if s == nil {
		return nil
	}
	c := *s
	c.Spec = s.Spec.Clone()
	c.Steps = make([]StepState, len(s.Steps))
	for i, st := range s.Steps {
		st.Notes = slices.Clone(st.Notes)
		c.Steps[i] = st
	}
	if s.Approval != nil {
		a := *s.Approval
		c.Approval = &a
	}
	if s.Point != nil {
		p := *s.Point
		c.Point = &p
	}
	if s.Restored != nil {
		r := *s.Restored
		c.Restored = &r
	}
	if s.Address != nil {
		a := *s.Address
		a.Labels = a.Labels.Clone()
		c.Address = &a
	}
	c.DNSRecords = slices.Clone(s.DNSRecords)
	c.Manual = slices.Clone(s.Manual)
	c.Prechecks = slices.Clone(s.Prechecks)
	c.Leftovers = slices.Clone(s.Leftovers)
	return &c
}

// EventPhase is the kind of a progress event.
type EventPhase string

// Event phases.
const (
	EventStarted  EventPhase = "started"
	EventDone     EventPhase = "done"
	EventFailed   EventPhase = "failed"
	EventSkipped  EventPhase = "skipped"
	EventManual   EventPhase = "manual"
	EventWaiting  EventPhase = "waiting"
	EventProgress EventPhase = "progress"
	EventRun      EventPhase = "run"
)

// Event is a progress event of a run.
type Event struct {
	RunID string
	Step  StepID
	Phase EventPhase
	At    time.Time
	// Message describes the event for people.
	Message string
	Err     error
	// Status is the run's status after the event.
	Status RunStatus
}
