package dr

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

// Objectives of the reference architecture.
const (
	// DefaultRPOObjective is the recovery point objective: the last daily
	// backup, so a point at most 24 hours older than the disaster.
	DefaultRPOObjective = 24 * time.Hour
	// ReferenceRTO is the reference's minimal recovery time: at least 60
	// minutes from approval to service availability.
	ReferenceRTO = 60 * time.Minute
)

// Options configure a Runner. Backups, Targets, Approver and Journal are
// required.
type Options struct {
	// Backups finds, verifies and restores recovery points.
	Backups Backups
	// Targets resolves where the data is restored in the target region.
	Targets Targets
	// Approver asks the technical contact to approve a run.
	Approver Approver
	// Journal persists runs (NewFileJournal, NewPGJournal).
	Journal Journal
	// DNS switches the site's records when the domain is ours (not
	// customer-managed). A failover or failback of such an environment
	// without DNS is refused by the prechecks.
	DNS DNS
	// DNSZone is the DNS zone of the records (a Cloudflare zone ID); empty
	// means env.CDN.Cloudflare.ZoneID when set.
	DNSZone string
	// HealthChecks run after the restore; nil means DefaultHealthChecks().
	HealthChecks []HealthChecker
	// Notifier tells the technical contact; nil logs the notice.
	Notifier Notifier
	// PlanOptions are passed to the reconciler's Plan when provisioning
	// (the tunnel token secrets of the web tier, extra metadata).
	PlanOptions *environment.PlanOptions
	// Parallelism bounds concurrent provider calls while provisioning and
	// tearing down (default 10).
	Parallelism int
	// ApprovalTimeout bounds the wait at the approval gate (default 1 h).
	ApprovalTimeout time.Duration
	// HealthTimeout bounds the health checks (default 15 min), polled every
	// HealthInterval (default 5 s).
	HealthTimeout, HealthInterval time.Duration
	// MaxBackupAge is how much older than the disaster the latest point may
	// be (default DefaultRPOObjective): the RPO objective.
	MaxBackupAge time.Duration
	// RTOObjective is what the achieved RTO is compared with (default
	// ReferenceRTO).
	RTOObjective time.Duration
	// Logger receives structured logs (nil discards them); Clock is the
	// time source (nil is the system clock).
	Logger *slog.Logger
	Clock  clock.Clock
	// OnEvent receives progress events, from one goroutine at a time. It
	// must not block for long.
	OnEvent func(Event)
	// Owner names this runner in run leases (default: host name, process
	// ID and a random suffix). LeaseTTL is how long a lease lasts without
	// renewal (default 1 minute; the driving runner renews it every third
	// of that): a run whose driver died can be resumed elsewhere once its
	// lease has expired, and never while it is driven.
	Owner    string
	LeaseTTL time.Duration
}

// Runner runs DR plans on one provider. It is safe for concurrent use;
// each run is driven by one goroutine, which runs independent steps in
// parallel.
type Runner struct {
	prov providers.Provider
	rec  *environment.Reconciler
	o    Options
	log  *slog.Logger
	clk  clock.Clock
	evMu sync.Mutex // OnEvent is called by one goroutine at a time
}

// New returns a Runner over prov. It checks every option and reports all
// problems at once.
func New(prov providers.Provider, opts *Options) (*Runner, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var problems []string
	if prov == nil {
		problems = append(problems, "provider: must not be nil")
	}
	if o.Backups == nil {
		problems = append(problems, "Options.Backups: required (NewEngineBackups over a backup engine)")
	}
	if o.Targets == nil {
		problems = append(problems, "Options.Targets: required (where the data is restored)")
	}
	if o.Approver == nil {
		problems = append(problems, "Options.Approver: required (the technical contact approves every run)")
	}
	if o.Journal == nil {
		problems = append(problems, "Options.Journal: required (NewFileJournal or NewPGJournal)")
	}
	for name, d := range map[string]time.Duration{"ApprovalTimeout": o.ApprovalTimeout, "HealthTimeout": o.HealthTimeout, "LeaseTTL": o.LeaseTTL,
		"HealthInterval": o.HealthInterval, "MaxBackupAge": o.MaxBackupAge, "RTOObjective": o.RTOObjective} {
		if d < 0 {
			problems = append(problems, "Options."+name+": must not be negative")
		}
	}
	if o.Parallelism < 0 {
		problems = append(problems, "Options.Parallelism: must not be negative")
	}
	for i, h := range o.HealthChecks {
		if h == nil {
			problems = append(problems, fmt.Sprintf("Options.HealthChecks[%d]: nil", i))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: "dr.New", Msg: strings.Join(problems, "; ")}
	}
	o.ApprovalTimeout = cmpOr(o.ApprovalTimeout, time.Hour)
	o.HealthTimeout = cmpOr(o.HealthTimeout, 15*time.Minute)
	o.HealthInterval = cmpOr(o.HealthInterval, 5*time.Second)
	o.MaxBackupAge = cmpOr(o.MaxBackupAge, DefaultRPOObjective)
	o.RTOObjective = cmpOr(o.RTOObjective, ReferenceRTO)
	o.LeaseTTL = cmpOr(o.LeaseTTL, time.Minute)
	if o.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if o.HealthChecks == nil {
		o.HealthChecks = DefaultHealthChecks()
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := clock.Or(o.Clock)
	if o.Notifier == nil {
		o.Notifier = logNotifier{log}
	}
	rec, err := environment.NewReconciler(prov, &environment.ReconcilerOptions{Logger: log, Clock: clk, Parallelism: o.Parallelism})
	if err != nil {
		return nil, err
	}
	return &Runner{prov: prov, rec: rec, o: o, log: log, clk: clk}, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

type logNotifier struct{ log *slog.Logger }

func (l logNotifier) Notify(ctx context.Context, n Notice) error {
	l.log.InfoContext(ctx, "dr notice", "to", n.Contact.Email, "subject", n.Subject)
	return nil
}

// Request asks for a run.
type Request struct {
	// Environment is the environment to recover, as it runs in its primary
	// region (also for ModeFailback).
	Environment *environment.Environment
	Mode        Mode
	// DisasterAt is when the disaster began: the reference of the achieved
	// RPO and of the backup chosen (the latest before it). Zero means the
	// start of the run. For ModeFailback it is ignored: the latest point
	// taken in the DR region is restored.
	DisasterAt time.Time
	// Reason is recorded in the journal and the report.
	Reason string
	// RunID names the run; empty generates one.
	RunID string
}

// DrillName returns the name of env's drill copy: "<env>-drill", shortened
// to stay a valid environment name.
func DrillName(env string) string {
	const suffix = "-drill"
	if len(env)+len(suffix) > 40 {
		env = strings.TrimRight(env[:40-len(suffix)], "-")
	}
	return env + suffix
}

func (r *Runner) newID(env string, m Mode) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%s-%s", env, m, r.clk.Now().UTC().Format("20060102t150405"), hex.EncodeToString(b[:]))
}

// Start creates a run in the journal and drives it: prechecks (a failure
// refuses the run, listing every problem, with nothing done), the approval
// gate, then the steps of the mode. It returns when the run succeeds,
// fails, is paused or cancelled, or ctx ends; the report describes the run
// at that point. When ctx ends (the process is being stopped) the journal
// keeps the run as it was and Resume continues it.
//
// A second run for an environment that has an active run is refused with
// an error for which errors.Is(err, ErrActiveRun) holds.
func (r *Runner) Start(ctx context.Context, req Request) (*Report, error) {
	const op = "dr.Runner.Start"
	if ctx == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: nil context", op)
	}
	var problems []string
	if req.Environment == nil {
		problems = append(problems, "Request.Environment: required")
	}
	if !req.Mode.valid() {
		problems = append(problems, fmt.Sprintf("Request.Mode: %q is not one of failover, drill, failback", req.Mode))
	}
	if req.RunID != "" && !idRE.MatchString(req.RunID) {
		problems = append(problems, fmt.Sprintf("Request.RunID: %q: use lower case letters, digits, '.', '_' and '-'", req.RunID))
	}
	if len(problems) > 0 {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: strings.Join(problems, "; ")}
	}
	env := req.Environment.Clone()
	if !idRE.MatchString(env.Name) {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: environment name %q is not valid", op, env.Name)
	}
	now := r.clk.Now()
	st := &RunState{
		ID: req.RunID, Environment: env.Name, Mode: req.Mode, Status: RunRunning, Spec: env,
		Reason: req.Reason, DisasterAt: req.DisasterAt, Created: now, Updated: now,
	}
	if st.ID == "" {
		st.ID = r.newID(env.Name, req.Mode)
	}
	if st.DisasterAt.IsZero() || req.Mode == ModeFailback {
		st.DisasterAt = now
	}
	drRegion, _ := DRRegion(env) // prechecks report a bad pair
	switch req.Mode {
	case ModeFailover:
		st.FromRegion, st.ToRegion, st.Target = env.Region, drRegion, env.Name
	case ModeDrill:
		st.FromRegion, st.ToRegion, st.Target = env.Region, drRegion, DrillName(env.Name)
	case ModeFailback:
		st.FromRegion, st.ToRegion, st.Target = drRegion, env.Region, env.Name
	}
	for _, d := range StepsFor(req.Mode) {
		st.Steps = append(st.Steps, StepState{ID: d.ID, Status: StepPending})
	}
	if err := r.o.Journal.Create(ctx, st); err != nil {
		return nil, err
	}
	r.log.Info("dr run created", "run", st.ID, "environment", env.Name, "mode", req.Mode, "from", st.FromRegion, "to", st.ToRegion)
	r.emit(Event{RunID: st.ID, Phase: EventRun, At: now, Status: st.Status,
		Message: fmt.Sprintf("%s of %s from %s to %s", req.Mode, env.Name, st.FromRegion, st.ToRegion)})
	return r.drive(ctx, st, r.newDriver())
}

// Resume continues a run from its journal: steps done are not run again,
// a step that was running when the run was killed runs again (every step
// observes before it acts), a pause is lifted, and a cancellation requested
// meanwhile is carried out. A run with a failed step needs Retry or Skip.
func (r *Runner) Resume(ctx context.Context, id string) (*Report, error) {
	return r.resume(ctx, "dr.Runner.Resume", id, r.newDriver())
}

// newDriver returns a lease owner token for one drive of a run: the
// runner's Owner and a random suffix, so that two calls on the same Runner
// never both drive a run.
func (r *Runner) newDriver() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return r.o.Owner + "#" + hex.EncodeToString(b[:])
}

func (r *Runner) resume(ctx context.Context, op, id, driver string) (*Report, error) {
	st, err := r.load(ctx, op, id)
	if err != nil {
		return nil, err
	}
	if f := failedStep(st); f != nil && !st.Control.Cancel {
		return r.report(st), providers.Errorf(providers.FailedPrecondition,
			"%s: run %s: step %s failed (%s): Retry or Skip it, or Cancel the run", op, id, f.ID, f.Error)
	}
	// Take the lease first: lifting the pause of a run another runner
	// drives would undo an operator's request.
	if err := r.o.Journal.Claim(ctx, id, driver, r.clk.Now(), r.o.LeaseTTL); err != nil {
		return r.report(st), err
	}
	if st.Control.Pause {
		if err := r.o.Journal.SetControl(ctx, id, Control{Cancel: st.Control.Cancel, Reason: st.Control.Reason, By: st.Control.By}); err != nil {
			_ = r.o.Journal.Release(context.WithoutCancel(ctx), id, driver)
			return nil, err
		}
		st.Control.Pause = false
	}
	st.Status = RunRunning
	return r.drive(ctx, st, driver)
}

func failedStep(st *RunState) *StepState {
	for i := range st.Steps {
		if st.Steps[i].Status == StepFailed {
			return &st.Steps[i]
		}
	}
	return nil
}

func (r *Runner) load(ctx context.Context, op, id string) (*RunState, error) {
	if ctx == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: nil context", op)
	}
	st, err := r.o.Journal.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !st.Status.Active() {
		return st, &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: id,
			Msg: fmt.Sprintf("run is over (%s)", st.Status)}
	}
	return st, nil
}

// Retry marks a failed step of a run pending again and resumes the run.
func (r *Runner) Retry(ctx context.Context, id string, step StepID) (*Report, error) {
	const op = "dr.Runner.Retry"
	st, err := r.load(ctx, op, id)
	if err != nil {
		return nil, err
	}
	s := st.Step(step)
	if s == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: run %s has no step %q", op, id, step)
	}
	if s.Status != StepFailed {
		return nil, providers.Errorf(providers.FailedPrecondition, "%s: step %s is %s, not failed", op, step, s.Status)
	}
	driver := r.newDriver()
	if err := r.o.Journal.Claim(ctx, id, driver, r.clk.Now(), r.o.LeaseTTL); err != nil {
		return nil, err
	}
	st.Driver = driver
	s.Status, s.Error = StepPending, ""
	st.Status = RunRunning
	if err := r.save(ctx, st); err != nil {
		_ = r.o.Journal.Release(context.WithoutCancel(ctx), id, driver)
		return nil, err
	}
	return r.resume(ctx, op, id, driver)
}

// Skip marks a failed or pending step of a run skipped with a reason (which
// the report shows) and resumes the run; the steps that need it run. The
// prechecks and the approval gate cannot be skipped.
func (r *Runner) Skip(ctx context.Context, id string, step StepID, reason string) (*Report, error) {
	const op = "dr.Runner.Skip"
	if strings.TrimSpace(reason) == "" {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: a reason is required", op)
	}
	if step == StepPrecheck || step == StepApproval {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: step %s cannot be skipped: nothing runs without the prechecks and the technical contact's approval", op, step)
	}
	st, err := r.load(ctx, op, id)
	if err != nil {
		return nil, err
	}
	s := st.Step(step)
	if s == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: run %s has no step %q", op, id, step)
	}
	if s.Status != StepFailed && s.Status != StepPending {
		return nil, providers.Errorf(providers.FailedPrecondition, "%s: step %s is %s: only a failed or pending step can be skipped", op, step, s.Status)
	}
	driver := r.newDriver()
	if err := r.o.Journal.Claim(ctx, id, driver, r.clk.Now(), r.o.LeaseTTL); err != nil {
		return nil, err
	}
	st.Driver = driver
	s.Status, s.Reason = StepSkipped, reason
	s.Finished = r.clk.Now()
	st.Status = RunRunning
	if err := r.save(ctx, st); err != nil {
		_ = r.o.Journal.Release(context.WithoutCancel(ctx), id, driver)
		return nil, err
	}
	r.emit(Event{RunID: id, Step: step, Phase: EventSkipped, At: s.Finished, Message: reason, Status: st.Status})
	return r.resume(ctx, op, id, driver)
}

// Pause asks a run to stop before its next step; the steps running finish
// first. The goroutine driving the run returns a report with status paused;
// Resume continues.
func (r *Runner) Pause(ctx context.Context, id, by, reason string) error {
	st, err := r.load(ctx, "dr.Runner.Pause", id)
	if err != nil {
		return err
	}
	c := st.Control
	c.Pause, c.By, c.Reason = true, by, reason
	return r.o.Journal.SetControl(ctx, id, c)
}

// Cancel asks a run to stop and end as cancelled. A drill tears its copy
// down (and checks nothing is left) before it ends. When another runner
// drives the run, that runner ends it (at its next step, or at once when it
// waits at the approval gate) and Cancel returns a nil report; otherwise
// (the run is paused, failed, or its driver died and its lease expired)
// Cancel carries the cancellation out itself and returns the report.
func (r *Runner) Cancel(ctx context.Context, id, by, reason string) (*Report, error) {
	st, err := r.load(ctx, "dr.Runner.Cancel", id)
	if err != nil {
		return nil, err
	}
	c := Control{Cancel: true, By: by, Reason: reason}
	if err := r.o.Journal.SetControl(ctx, id, c); err != nil {
		return nil, err
	}
	driver := r.newDriver()
	err = r.o.Journal.Claim(ctx, id, driver, r.clk.Now(), r.o.LeaseTTL)
	switch {
	case errors.Is(err, ErrRunBusy):
		return nil, nil
	case err != nil:
		return nil, err
	}
	st.Control = c
	return r.drive(ctx, st, driver)
}

// Status returns the report of a run as the journal holds it.
func (r *Runner) Status(ctx context.Context, id string) (*Report, error) {
	if ctx == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "dr.Runner.Status: nil context")
	}
	st, err := r.o.Journal.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.report(st), nil
}

func (r *Runner) emit(e Event) {
	if r.o.OnEvent != nil {
		r.evMu.Lock()
		defer r.evMu.Unlock()
		r.o.OnEvent(e)
	}
}

func (r *Runner) save(ctx context.Context, st *RunState) error {
	st.Updated = r.clk.Now()
	// The journal write must not be lost to a cancellation that arrives
	// while it happens: it records what was already done.
	return r.o.Journal.Save(context.WithoutCancel(ctx), st)
}

// stepResult is what a step returns to the driving goroutine, which alone
// mutates the run's state.
type stepResult struct {
	id     StepID
	err    error
	status StepStatus // StepDone by default
	notes  []string
	work   time.Duration
	apply  func(st *RunState)
}

type stepFunc func(ctx context.Context, snap *RunState) stepResult

// errKilled marks a step interrupted by its context (the process stopping):
// nothing is recorded, Resume runs the step again.
var errKilled = errors.New("dr: run interrupted")

// drive runs the ready steps of st until every step is settled, a step
// fails, the run is paused or cancelled, or ctx ends. One goroutine (this
// one) owns st; steps run in their own goroutines and hand back a result.
// Each turn of the loop writes the journal once, before anything new
// starts: the results of the steps that ended (after-step records) and the
// steps about to start, marked running (before-step records).
func (r *Runner) drive(ctx context.Context, st *RunState, driver string) (*Report, error) {
	defs := StepsFor(st.Mode)
	results := make(chan stepResult)
	inflight := map[StepID]bool{}
	var failure error
	ctl := st.Control
	cancelling := ctl.Cancel
	if st.Status != RunRunning && st.Status != RunAwaitingApproval {
		st.Status = RunRunning
	}
	if err := r.o.Journal.Claim(ctx, st.ID, driver, r.clk.Now(), r.o.LeaseTTL); err != nil {
		return r.report(st), err
	}
	st.Driver = driver
	renewAt := r.clk.Now().Add(r.o.LeaseTTL / 3)
	lost := false // the lease went to another runner: write nothing more
	defer func() {
		if !lost {
			_ = r.o.Journal.Release(context.WithoutCancel(ctx), st.ID, driver)
		}
	}()
	dirty := true
	var events []Event
	for {
		if ctx.Err() == nil && !cancelling {
			if c, err := r.o.Journal.Load(ctx, st.ID); err == nil {
				ctl = c.Control
				cancelling = ctl.Cancel
			}
		}
		var start []StepID
		if ctx.Err() == nil && failure == nil && !ctl.Pause && !cancelling {
			for _, d := range defs {
				s := st.Step(d.ID)
				if inflight[d.ID] || s.Status.settled() || s.Status == StepFailed || !r.ready(st, d) {
					continue
				}
				r.markRunning(st, d.ID)
				start = append(start, d.ID)
				dirty = true
			}
		}
		if dirty && !lost {
			if err := r.save(ctx, st); err != nil {
				if failure == nil {
					failure = fmt.Errorf("dr: run %s: journal: %w", st.ID, err)
				}
				start = nil
			}
			dirty = false
		}
		for _, e := range events {
			r.emit(e)
		}
		events = events[:0]
		for _, id := range start {
			if ctx.Err() != nil {
				break // journaled as running: Resume runs it
			}
			r.startStep(ctx, st, id, results)
			inflight[id] = true
		}
		if len(inflight) == 0 {
			break
		}
		var res stepResult
		select {
		case res = <-results:
		case <-r.clk.After(renewAt.Sub(r.clk.Now())):
		}
		if !r.clk.Now().Before(renewAt) && !lost {
			now := r.clk.Now()
			if err := r.o.Journal.Claim(ctx, st.ID, driver, now, r.o.LeaseTTL); err != nil && ctx.Err() == nil {
				if errors.Is(err, ErrRunBusy) {
					lost = true
				}
				if failure == nil {
					failure = fmt.Errorf("dr: run %s: renew the lease: %w", st.ID, err)
				}
			}
			renewAt = now.Add(r.o.LeaseTTL / 3)
		}
		if res.id == "" {
			continue // the renewal timer, no result
		}
		delete(inflight, res.id)
		ev, err := r.record(st, res)
		if errors.Is(err, errKilled) {
			continue
		}
		dirty = true
		events = append(events, ev)
		if err != nil && failure == nil {
			failure = err
		}
	}
	switch {
	case ctx.Err() != nil:
		r.log.Warn("dr run interrupted; resume it from the journal", "run", st.ID)
		return r.report(st), providers.Wrap(ctx.Err(), providers.Canceled, "dr.Runner", st.ID)
	case lost:
		return r.report(st), failure
	case cancelling:
		return r.finishCancel(ctx, st, ctl)
	case failure != nil:
		return r.report(st), failure
	case ctl.Pause:
		st.Status = RunPaused
		err := r.save(ctx, st)
		r.emit(Event{RunID: st.ID, Phase: EventRun, At: r.clk.Now(), Status: st.Status, Message: "paused: " + ctl.Reason})
		return r.report(st), err
	}
	for _, s := range st.Steps {
		if !s.Status.settled() {
			return r.report(st), providers.Errorf(providers.Internal, "dr: run %s stopped with step %s %s", st.ID, s.ID, s.Status)
		}
	}
	st.Status = RunSucceeded
	st.Ended = r.clk.Now()
	err := r.save(ctx, st)
	r.log.Info("dr run succeeded", "run", st.ID)
	r.emit(Event{RunID: st.ID, Phase: EventRun, At: st.Ended, Status: st.Status, Message: "run succeeded"})
	return r.report(st), err
}

func (r *Runner) ready(st *RunState, d StepDef) bool {
	for _, n := range d.Needs {
		if s := st.Step(n); s == nil || !s.Status.settled() {
			return false
		}
	}
	return true
}

func (r *Runner) markRunning(st *RunState, id StepID) {
	s := st.Step(id)
	s.Status = StepRunning
	s.Attempts++
	s.Started = r.clk.Now()
	s.Finished, s.Error, s.Work, s.Notes = time.Time{}, "", 0, nil
	if id == StepApproval {
		st.Status = RunAwaitingApproval
	}
}

// startStep runs a step, journaled as running, in a goroutine.
func (r *Runner) startStep(ctx context.Context, st *RunState, id StepID, results chan<- stepResult) {
	s := st.Step(id)
	r.log.Info("dr step started", "run", st.ID, "step", id, "attempt", s.Attempts)
	r.emit(Event{RunID: st.ID, Step: id, Phase: EventStarted, At: s.Started, Status: st.Status})
	fn := r.stepFunc(id)
	snap := st.Clone()
	go func() {
		start := r.clk.Now()
		res := fn(ctx, snap)
		res.id = id
		if res.work == 0 {
			res.work = r.clk.Now().Sub(start)
		}
		if res.err != nil && ctx.Err() != nil {
			res.err = errKilled
		}
		results <- res
	}()
}

// runOne journals a step as running, runs it and journals its result.
func (r *Runner) runOne(ctx context.Context, st *RunState, id StepID) error {
	r.markRunning(st, id)
	if err := r.save(ctx, st); err != nil {
		return err
	}
	results := make(chan stepResult, 1)
	r.startStep(ctx, st, id, results)
	ev, err := r.record(st, <-results)
	if errors.Is(err, errKilled) {
		return err
	}
	serr := r.save(ctx, st)
	r.emit(ev)
	return errors.Join(err, serr)
}

// record applies a step's result to the run; the caller journals it.
func (r *Runner) record(st *RunState, res stepResult) (Event, error) {
	s := st.Step(res.id)
	if errors.Is(res.err, errKilled) {
		return Event{}, errKilled // left running in the journal: Resume runs it again
	}
	now := r.clk.Now()
	s.Finished, s.Work, s.Notes = now, res.work, res.notes
	if res.apply != nil {
		res.apply(st)
	}
	var err error
	if res.err != nil {
		s.Status, s.Error = StepFailed, res.err.Error()
		st.Status = RunFailed
		switch {
		case res.id == StepPrecheck:
			st.Status, st.Ended = RunRefused, now
		case errors.Is(res.err, errRejected):
			st.Status, st.Ended = RunRejected, now
		}
		err = fmt.Errorf("dr: run %s: step %s: %w", st.ID, res.id, res.err)
	} else {
		s.Status = cmpStatus(res.status)
		if st.Status == RunAwaitingApproval {
			st.Status = RunRunning
		}
	}
	phase := EventDone
	switch s.Status {
	case StepFailed:
		phase = EventFailed
		r.log.Warn("dr step failed", "run", st.ID, "step", res.id, "err", res.err)
	case StepManual:
		phase = EventManual
	case StepSkipped:
		phase = EventSkipped
	default:
		r.log.Info("dr step done", "run", st.ID, "step", res.id, "work", res.work)
	}
	return Event{RunID: st.ID, Step: res.id, Phase: phase, At: now, Err: res.err, Status: st.Status,
		Message: strings.Join(res.notes, "; ")}, err
}

func cmpStatus(s StepStatus) StepStatus {
	if s == "" {
		return StepDone
	}
	return s
}

// finishCancel ends a cancelled run. A drill whose copy may exist is torn
// down and checked first.
func (r *Runner) finishCancel(ctx context.Context, st *RunState, ctl Control) (*Report, error) {
	var errs []error
	if st.Mode == ModeDrill {
		if p := st.Step(StepProvision); p != nil && p.Status != StepPending {
			for _, id := range []StepID{StepTeardown, StepVerifyClean} {
				if st.Step(id).Status == StepDone {
					continue
				}
				if err := r.runOne(ctx, st, id); err != nil {
					errs = append(errs, err)
					break
				}
			}
		}
	}
	if ctx.Err() != nil {
		return r.report(st), providers.Wrap(ctx.Err(), providers.Canceled, "dr.Runner", st.ID)
	}
	if len(errs) > 0 {
		return r.report(st), errors.Join(errs...)
	}
	st.Status = RunCancelled
	st.Ended = r.clk.Now()
	st.Reason = strings.TrimSpace(st.Reason + " (cancelled by " + ctl.By + ": " + ctl.Reason + ")")
	err := r.save(ctx, st)
	r.emit(Event{RunID: st.ID, Phase: EventRun, At: st.Ended, Status: st.Status, Message: "cancelled: " + ctl.Reason})
	return r.report(st), err
}
