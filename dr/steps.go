package dr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// LabelDrillOf marks the resources of a drill copy with the name of the
// environment it copies.
const LabelDrillOf = "orocloud-drill-of"

// errRejected is the cause of a run's failure when the technical contact
// refuses it.
var errRejected = errors.New("dr: rejected by the technical contact")

// ErrRejected reports (with errors.Is) that the technical contact refused
// the run.
var ErrRejected = errRejected

func (r *Runner) stepFunc(id StepID) stepFunc {
	switch id {
	case StepPrecheck:
		return r.stepPrecheck
	case StepApproval:
		return r.stepApproval
	case StepProvision:
		return r.stepProvision
	case StepRestore:
		return r.stepRestore
	case StepDNS:
		return r.stepDNS
	case StepHealth:
		return r.stepHealth
	case StepTeardown:
		return r.stepTeardown
	case StepVerifyClean:
		return r.stepVerifyClean
	case StepNotify:
		return r.stepNotify
	}
	return func(context.Context, *RunState) stepResult {
		return stepResult{err: providers.Errorf(providers.Internal, "dr: unknown step %q", id)}
	}
}

// TargetEnvironment returns the environment a run builds: for a failover the
// environment under its own name in the DR region; for a drill the copy
// named DrillName(env) in the DR region, with its own host names
// ("drill.<host>") and the LabelDrillOf label; for a failback the
// environment in its primary region. Zones are left to the target region's.
func TargetEnvironment(st *RunState) *environment.Environment {
	e := st.Spec.Clone()
	if e == nil {
		return nil
	}
	e.Region = st.ToRegion
	e.DR.Region = st.FromRegion
	if st.Mode != ModeFailback {
		e.Zones = nil
	}
	if st.Mode == ModeDrill {
		e.Name = st.Target
		for i, h := range e.CDN.Hostnames {
			e.CDN.Hostnames[i] = "drill." + h
		}
		if e.Labels == nil {
			e.Labels = map[string]string{}
		}
		e.Labels[LabelDrillOf] = st.Spec.Name
	}
	return e
}

// sourceEnvironment is the environment where it runs before the run.
func sourceEnvironment(st *RunState) *environment.Environment {
	e := st.Spec.Clone()
	e.Region = st.FromRegion
	e.DR.Region = st.ToRegion
	if st.Mode == ModeFailback {
		e.Zones = nil
	}
	return e
}

func (r *Runner) retryPolicy() retry.Policy { return retry.Policy{Clock: r.clk} }

// ---- precheck

func (r *Runner) stepPrecheck(ctx context.Context, snap *RunState) stepResult {
	checks, point, addr := r.prechecks(ctx, snap)
	res := stepResult{apply: func(st *RunState) {
		st.Prechecks = checks
		st.Point = point
		st.Address = addr
	}}
	var failed []CheckResult
	for _, c := range checks {
		if !c.OK {
			failed = append(failed, c)
		}
		res.notes = append(res.notes, c.String())
	}
	if len(failed) > 0 {
		res.err = &providers.Error{Code: providers.FailedPrecondition, Op: "dr.precheck", Resource: snap.Environment,
			Err: &PrecheckError{Failures: failed}}
	}
	return res
}

// ---- approval

func (r *Runner) stepApproval(ctx context.Context, snap *RunState) stepResult {
	req := ApprovalRequest{RunID: snap.ID, Environment: snap.Environment, Mode: snap.Mode, FromRegion: snap.FromRegion,
		ToRegion: snap.ToRegion, Contact: snap.Spec.TechnicalContact, DisasterAt: snap.DisasterAt, Reason: snap.Reason}
	if snap.Point != nil {
		req.Point = *snap.Point
	}
	r.emit(Event{RunID: snap.ID, Step: StepApproval, Phase: EventWaiting, At: r.clk.Now(), Status: RunAwaitingApproval,
		Message: fmt.Sprintf("waiting for %s <%s> to approve (timeout %s)", req.Contact.Name, req.Contact.Email, r.o.ApprovalTimeout)})
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		a   Approval
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		a, err := r.o.Approver.Approve(actx, req)
		ch <- answer{a, err}
	}()
	var ans answer
	timeout := r.clk.After(r.o.ApprovalTimeout)
wait:
	for {
		select {
		case ans = <-ch:
			break wait
		case <-timeout:
			cancel()
			return stepResult{err: &providers.Error{Code: providers.DeadlineExceeded, Op: "dr.approval", Resource: snap.ID,
				Msg: fmt.Sprintf("no approval from the technical contact %s within %s: nothing after the gate ran; Retry the approval step or Cancel the run",
					req.Contact.Email, r.o.ApprovalTimeout)}}
		case <-ctx.Done():
			return stepResult{err: ctx.Err()}
		case <-r.clk.After(approvalPoll):
			// A Cancel requested meanwhile (by any controller) ends the wait.
			if c, err := r.o.Journal.Load(ctx, snap.ID); err == nil && c.Control.Cancel {
				cancel()
				return stepResult{err: providers.Errorf(providers.Canceled, "cancelled by %s while waiting for approval: %s", c.Control.By, c.Control.Reason)}
			}
		}
	}
	if ans.err != nil {
		return stepResult{err: fmt.Errorf("approver: %w", ans.err)}
	}
	a := ans.a
	if a.At.IsZero() {
		a.At = r.clk.Now()
	}
	if !isContact(a.By, req.Contact) {
		return stepResult{err: &providers.Error{Code: providers.PermissionDenied, Op: "dr.approval", Resource: snap.ID,
			Msg: fmt.Sprintf("answer by %q, who is not the technical contact %s <%s>: only the technical contact may approve", a.By, req.Contact.Name, req.Contact.Email)}}
	}
	rec := func(st *RunState) { st.Approval = &a }
	if !a.Approved {
		msg := "refused by " + a.By
		if a.Comment != "" {
			msg += ": " + a.Comment
		}
		return stepResult{apply: rec, err: fmt.Errorf("%w (%s)", errRejected, msg)}
	}
	return stepResult{apply: rec, notes: []string{fmt.Sprintf("approved by %s at %s", a.By, a.At.UTC().Format(time.RFC3339))}}
}

// approvalPoll is how often the approval gate looks for a cancellation.
const approvalPoll = 2 * time.Second

func isContact(by string, c environment.Contact) bool {
	by = strings.TrimSpace(by)
	return by != "" && (strings.EqualFold(by, c.Email) || strings.EqualFold(by, strings.TrimSpace(c.Name)))
}

// ---- provision

func (r *Runner) stepProvision(ctx context.Context, snap *RunState) stepResult {
	env := TargetEnvironment(snap)
	var po environment.PlanOptions
	if r.o.PlanOptions != nil {
		po = *r.o.PlanOptions
	}
	if snap.Mode == ModeFailover {
		// The recovered environment is reached on the DR address reserved
		// at onboarding, not on a new one.
		po.PrimaryAddress = environment.DRAddressName(env.Name)
	}
	plan, err := r.rec.Plan(ctx, env, &po)
	if err != nil {
		return stepResult{err: fmt.Errorf("plan %s in %s: %w", env.Name, env.Region, err)}
	}
	c, u, d := plan.Count()
	notes := []string{fmt.Sprintf("plan in %s: %d to create, %d to update, %d to delete", env.Region, c, u, d)}
	if !plan.Empty() {
		res, err := r.rec.Apply(ctx, plan)
		if err != nil {
			return stepResult{notes: notes, err: fmt.Errorf("apply %s in %s: %w", env.Name, env.Region, err)}
		}
		notes = append(notes, fmt.Sprintf("%d changes applied in %s", len(res.Applied), res.Duration.Round(time.Millisecond)))
	}
	notes = append(notes, fmt.Sprintf("%d nodes placed over zones %s", len(plan.Nodes), zoneNames(plan.Zones)))
	return stepResult{notes: notes}
}

func zoneNames(zs []providers.Zone) string {
	names := make([]string, len(zs))
	for i, z := range zs {
		names[i] = z.Name
	}
	return strings.Join(names, ", ")
}

// ---- restore

func (r *Runner) restoreTarget(ctx context.Context, snap *RunState) (*environment.Environment, RestoreTarget, error) {
	env := TargetEnvironment(snap)
	inv, err := r.rec.Observe(ctx, env)
	if err != nil {
		return env, RestoreTarget{}, err
	}
	t, err := r.o.Targets.Target(ctx, env, inv)
	return env, t, err
}

func (r *Runner) stepRestore(ctx context.Context, snap *RunState) stepResult {
	if snap.Point == nil {
		return stepResult{err: providers.Errorf(providers.FailedPrecondition, "no recovery point was chosen by the prechecks")}
	}
	_, t, err := r.restoreTarget(ctx, snap)
	if err != nil {
		return stepResult{err: fmt.Errorf("restore target: %w", err)}
	}
	// A failback restores over the old primary; a restore interrupted
	// earlier left part of this same point in the target.
	t.Replace = t.Replace || snap.Mode == ModeFailback || snap.Step(StepRestore).Attempts > 1
	start := r.clk.Now()
	res, err := r.o.Backups.Restore(ctx, snap.Point.ID, t)
	if err != nil {
		return stepResult{err: fmt.Errorf("restore point %s: %w", snap.Point.ID, err)}
	}
	if res.Duration == 0 {
		res.Duration = r.clk.Now().Sub(start)
	}
	if res.Point.ID == "" {
		res.Point = *snap.Point
	}
	notes := []string{fmt.Sprintf("restored point %s (%s): %d tables, %d bytes in %s", res.Point.ID,
		res.Point.Time.UTC().Format(time.RFC3339), res.Tables, res.Bytes, res.Duration.Round(time.Millisecond))}
	if res.Point.CodeRef != "" {
		notes = append(notes, "code reference "+res.Point.CodeRef)
	}
	return stepResult{notes: notes, apply: func(st *RunState) { st.Restored = res }}
}

// ---- DNS

func (r *Runner) dnsZone(env *environment.Environment) string {
	if r.o.DNSZone != "" {
		return r.o.DNSZone
	}
	if env.CDN.Cloudflare != nil {
		return env.CDN.Cloudflare.ZoneID
	}
	return ""
}

// DNSRecords returns the records that point env's host names at ip: A
// records, proxied through Cloudflare when it is the edge.
func DNSRecords(env *environment.Environment, zone, ip string) []cdn.Record {
	var out []cdn.Record
	for _, h := range env.CDN.Hostnames {
		out = append(out, cdn.Record{Zone: zone, Name: h, Type: cdn.RecordA, Content: ip,
			Proxied: env.CDN.Kind == environment.CDNCloudflare})
	}
	return out
}

func (r *Runner) stepDNS(ctx context.Context, snap *RunState) stepResult {
	if snap.Address == nil || snap.Address.IP == "" {
		return stepResult{err: providers.Errorf(providers.FailedPrecondition, "no address to point DNS to (the prechecks found none)")}
	}
	env := snap.Spec
	records := DNSRecords(env, r.dnsZone(env), snap.Address.IP)
	apply := func(st *RunState) { st.DNSRecords = records }
	if env.CustomerManagedDomain {
		var lines []string
		for _, rec := range records {
			lines = append(lines, fmt.Sprintf("%s %s %s", rec.Name, rec.Type, rec.Content))
		}
		action := ManualAction{Step: StepDNS, Who: "the owner of the customer-managed domain (" + strings.Join(env.CDN.Hostnames, ", ") + ")",
			What: "set these DNS records: " + strings.Join(lines, "; "), Records: records}
		return stepResult{status: StepManual, notes: []string{"customer-managed domain: " + action.What},
			apply: func(st *RunState) { apply(st); st.Manual = append(st.Manual, action) }}
	}
	if r.o.DNS == nil {
		return stepResult{err: providers.Errorf(providers.FailedPrecondition, "no DNS configured (Options.DNS) for a domain we manage")}
	}
	var notes []string
	stored := make([]cdn.Record, 0, len(records))
	for _, rec := range records {
		got, err := retry.Value(ctx, r.retryPolicy(), func(ctx context.Context) (*cdn.Record, error) {
			return r.o.DNS.PointHostname(ctx, rec)
		})
		if err != nil {
			return stepResult{notes: notes, err: fmt.Errorf("point %s to %s: %w", rec.Name, rec.Content, err)}
		}
		// Verify by reading it back.
		back, err := r.o.DNS.LookupRecord(ctx, rec.Zone, rec.Name, rec.Type)
		if err != nil {
			return stepResult{notes: notes, err: fmt.Errorf("verify %s: %w", rec.Name, err)}
		}
		if back.Content != rec.Content {
			return stepResult{notes: notes, err: providers.Errorf(providers.Internal, "verify %s: record holds %s, want %s", rec.Name, back.Content, rec.Content)}
		}
		stored = append(stored, *got)
		notes = append(notes, "switched "+got.String())
	}
	return stepResult{notes: notes, apply: func(st *RunState) { st.DNSRecords = stored }}
}

// ---- health

func (r *Runner) stepHealth(ctx context.Context, snap *RunState) stepResult {
	env, t, err := r.restoreTarget(ctx, snap)
	if err != nil {
		return stepResult{err: fmt.Errorf("health target: %w", err)}
	}
	ht := HealthTarget{Environment: env, Provider: r.prov, Database: t.Database, Restored: snap.Restored}
	deadline := r.clk.Now().Add(r.o.HealthTimeout)
	pending := slices.Clone(r.o.HealthChecks)
	var notes []string
	for attempt := 1; ; attempt++ {
		var still []HealthChecker
		var errs []string
		for _, h := range pending {
			if err := h.Check(ctx, ht); err != nil {
				if ctx.Err() != nil {
					return stepResult{err: ctx.Err()}
				}
				still = append(still, h)
				errs = append(errs, h.Name()+": "+err.Error())
			} else {
				notes = append(notes, fmt.Sprintf("%s: ok (attempt %d)", h.Name(), attempt))
			}
		}
		pending = still
		if len(pending) == 0 {
			now := r.clk.Now()
			return stepResult{notes: notes, apply: func(st *RunState) { st.Healthy = now }}
		}
		if !r.clk.Now().Before(deadline) {
			return stepResult{notes: notes, err: &providers.Error{Code: providers.DeadlineExceeded, Op: "dr.health", Resource: env.Name,
				Msg: fmt.Sprintf("not healthy after %s: %s", r.o.HealthTimeout, strings.Join(errs, "; "))}}
		}
		r.emit(Event{RunID: snap.ID, Step: StepHealth, Phase: EventProgress, At: r.clk.Now(), Status: RunRunning,
			Message: "waiting: " + strings.Join(errs, "; ")})
		select {
		case <-ctx.Done():
			return stepResult{err: ctx.Err()}
		case <-r.clk.After(r.o.HealthInterval):
		}
	}
}

// ---- teardown

func (r *Runner) stepTeardown(ctx context.Context, snap *RunState) stepResult {
	switch snap.Mode {
	case ModeDrill:
		env := TargetEnvironment(snap)
		res, err := r.rec.Destroy(ctx, env)
		if err != nil {
			return stepResult{err: fmt.Errorf("destroy drill copy %s: %w", env.Name, err)}
		}
		if err := r.o.Targets.Release(ctx, env); err != nil {
			return stepResult{err: fmt.Errorf("release drill data of %s: %w", env.Name, err)}
		}
		return stepResult{notes: []string{fmt.Sprintf("drill copy %s destroyed in %s: %d resources deleted; its data released", env.Name, env.Region, len(res.Applied))}}
	case ModeFailback:
		env := sourceEnvironment(snap)
		n, err := r.decommission(ctx, env)
		if err != nil {
			return stepResult{err: fmt.Errorf("decommission the DR copy of %s in %s: %w", env.Name, env.Region, err)}
		}
		if err := r.o.Targets.Release(ctx, env); err != nil {
			return stepResult{err: fmt.Errorf("release the DR copy's data of %s: %w", env.Name, err)}
		}
		return stepResult{notes: []string{fmt.Sprintf("DR copy of %s in %s decommissioned: %d resources deleted; the DR address %s stays reserved",
			env.Name, env.Region, n, environment.DRAddressName(env.Name))}}
	}
	return stepResult{err: providers.Errorf(providers.Internal, "teardown in mode %s", snap.Mode)}
}

// decommission deletes env's regional instances, firewall rules and
// addresses in env.Region, except the DR address (customers whitelist it).
// Global resources (a Google load balancer now fronting the primary region)
// are left alone.
func (r *Runner) decommission(ctx context.Context, env *environment.Environment) (int, error) {
	drAddr := environment.DRAddressName(env.Name)
	res, err := r.rec.DestroyWith(ctx, env, &environment.DestroyOptions{
		RegionalOnly: true,
		Keep: func(c environment.Change) bool {
			return c.Kind == environment.KindAddress && c.Name == drAddr
		},
	})
	if res == nil {
		return 0, err
	}
	return len(res.Applied), err
}

func ownerSelector(env string) providers.Labels {
	return providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: env}
}

// ---- verify clean

// Leftovers lists every resource of the environment named env that the
// provider still holds in region (and globally): instances, addresses,
// firewall rules and its load balancer.
func Leftovers(ctx context.Context, prov providers.Provider, env, region string) ([]string, error) {
	if prov == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "dr.Leftovers: nil provider")
	}
	sel := ownerSelector(env)
	var out []string
	ins, err := prov.ListInstances(ctx, region, sel)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		out = append(out, "instance "+in.InstanceSpec.Ref().String())
	}
	fws, err := prov.ListFirewallRules(ctx, region, sel)
	if err != nil {
		return nil, err
	}
	for _, f := range fws {
		out = append(out, "firewall rule "+f.Region+"/"+f.Name)
	}
	for _, reg := range []string{region, ""} {
		addrs, err := prov.ListAddresses(ctx, reg, sel)
		if c := providers.Code(err); reg == "" && (c == providers.InvalidArgument || c == providers.Unimplemented) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			where := a.Region
			if where == "" {
				where = "global"
			}
			out = append(out, "address "+where+"/"+a.Name)
		}
	}
	if lb, ok := prov.(providers.LoadBalancers); ok {
		got, err := lb.GetLoadBalancer(ctx, env+"-lb")
		switch providers.Code(err) {
		case providers.OK:
			if got.Labels.OwnedBy(env) {
				out = append(out, "load balancer "+got.Name)
			}
		case providers.NotFound, providers.Unimplemented:
		default:
			return nil, err
		}
	}
	return out, nil
}

func (r *Runner) stepVerifyClean(ctx context.Context, snap *RunState) stepResult {
	env := TargetEnvironment(snap)
	left, err := retry.Value(ctx, r.retryPolicy(), func(ctx context.Context) ([]string, error) {
		return Leftovers(ctx, r.prov, env.Name, env.Region)
	})
	if err != nil {
		return stepResult{err: fmt.Errorf("list what is left of %s: %w", env.Name, err)}
	}
	apply := func(st *RunState) { st.Leftovers = left }
	if len(left) > 0 {
		return stepResult{apply: apply, err: &providers.Error{Code: providers.FailedPrecondition, Op: "dr.verify-clean", Resource: env.Name,
			Msg: fmt.Sprintf("%d resources of the drill copy are left: %s", len(left), strings.Join(left, ", "))}}
	}
	return stepResult{apply: apply, notes: []string{fmt.Sprintf("nothing of %s is left in %s", env.Name, env.Region)}}
}

// ---- notify

func (r *Runner) stepNotify(ctx context.Context, snap *RunState) stepResult {
	rep := r.report(snap)
	subject := map[Mode]string{
		ModeFailover: "service restored in the DR region " + snap.ToRegion,
		ModeDrill:    "DR drill completed in " + snap.ToRegion,
		ModeFailback: "service back in the primary region " + snap.ToRegion,
	}[snap.Mode]
	n := Notice{RunID: snap.ID, Environment: snap.Environment, Mode: snap.Mode, Contact: snap.Spec.TechnicalContact,
		Subject: snap.Environment + ": " + subject, Body: rep.String(), Report: rep}
	if len(snap.Manual) > 0 {
		n.Subject += " (action needed: DNS)"
	}
	if err := retry.Do(ctx, r.retryPolicy(), func(ctx context.Context) error { return r.o.Notifier.Notify(ctx, n) }); err != nil {
		return stepResult{err: fmt.Errorf("notify %s: %w", n.Contact.Email, err)}
	}
	return stepResult{notes: []string{"notified " + n.Contact.Email + ": " + n.Subject}}
}
