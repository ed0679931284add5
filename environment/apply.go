package environment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// Result reports what Apply or Destroy did.
type Result struct {
	// Applied lists the changes that succeeded, in completion order.
	Applied []Change
	// Failed lists the changes that failed, with Errors[i] for Failed[i].
	Failed []Change
	Errors []error
	// Duration is the wall time of the run.
	Duration time.Duration
}

// Err returns nil when every change succeeded, or the failures joined.
func (r *Result) Err() error {
	if r == nil || len(r.Errors) == 0 {
		return nil
	}
	return joinErrs(r.Errors)
}

// Apply makes the changes of p with bounded parallelism: addresses, firewall
// rules and instances run concurrently (at most Parallelism calls at once),
// the load balancer after the instances it fronts. Transient errors are
// retried with backoff on the reconciler's clock. Every change is
// idempotent, so Apply may be re-run, or a new plan made and applied after a
// crash, without creating duplicates. Apply returns the result and an error
// when any change failed; changes that do not depend on a failed one still
// run.
func (r *Reconciler) Apply(ctx context.Context, p *Plan) (*Result, error) {
	if p == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "environment: Apply: nil plan")
	}
	for i, c := range p.Changes {
		if err := c.check(); err != nil {
			return nil, providers.Errorf(providers.InvalidArgument, "environment: Apply: change %d (%s): %v", i, c.Key(), err)
		}
	}
	return r.run(ctx, p.Changes)
}

func (c Change) check() error {
	if !c.Action.valid() {
		return fmt.Errorf("unknown action %q", c.Action)
	}
	if c.Name == "" {
		return errors.New("no resource name")
	}
	if c.Action == ActionDelete {
		return nil
	}
	switch c.Kind {
	case KindInstance:
		if c.Action == ActionCreate && c.Instance == nil || c.Action == ActionUpdate && c.Update == nil {
			return errors.New("no instance spec")
		}
	case KindAddress:
		if c.Address == nil {
			return errors.New("no address spec")
		}
	case KindFirewallRule:
		if c.FirewallRule == nil {
			return errors.New("no firewall rule")
		}
	case KindLoadBalancer:
		if c.LoadBalancer == nil {
			return errors.New("no load balancer spec")
		}
	default:
		return fmt.Errorf("unknown kind %q", c.Kind)
	}
	return nil
}

// run executes changes in two waves: everything but load balancers, then
// load balancers (they need the instances). Deletes of load balancers go
// first instead (they reference the instances being deleted).
func (r *Reconciler) run(ctx context.Context, changes []Change) (*Result, error) {
	start := r.clk.Now()
	res := &Result{}
	var first, second []Change
	for _, c := range changes {
		isLB := c.Kind == KindLoadBalancer
		switch {
		case isLB && c.Action == ActionDelete:
			first = append(first, c)
		case isLB:
			second = append(second, c)
		default:
			first = append(first, c)
		}
	}
	// LB deletes must finish before the rest of wave one deletes backends.
	var lbDeletes, rest []Change
	for _, c := range first {
		if c.Kind == KindLoadBalancer {
			lbDeletes = append(lbDeletes, c)
		} else {
			rest = append(rest, c)
		}
	}
	total := len(changes)
	var (
		mu   sync.Mutex
		done int
	)
	record := func(c Change, err error) {
		mu.Lock()
		defer mu.Unlock()
		done++
		if err != nil {
			res.Failed = append(res.Failed, c)
			res.Errors = append(res.Errors, err)
			r.emit(Event{Phase: "failed", Change: c, Err: err, Done: done, Total: total, Elapsed: r.clk.Now().Sub(start).Seconds()})
			r.log.Error("change failed", "change", c.Key(), "action", c.Action, "err", err)
			return
		}
		res.Applied = append(res.Applied, c)
		r.emit(Event{Phase: "done", Change: c, Done: done, Total: total, Elapsed: r.clk.Now().Sub(start).Seconds()})
		r.log.Info("change applied", "change", c.Key(), "action", c.Action)
	}
	waveFailed := func() bool { mu.Lock(); defer mu.Unlock(); return len(res.Failed) > 0 }
	r.wave(ctx, lbDeletes, start, record)
	r.wave(ctx, rest, start, record)
	if len(second) > 0 {
		if waveFailed() {
			for _, c := range second {
				record(c, providers.Errorf(providers.FailedPrecondition, "%s not applied: an earlier change failed", c.Key()))
			}
		} else {
			r.wave(ctx, second, start, record)
		}
	}
	res.Duration = r.clk.Now().Sub(start)
	return res, res.Err()
}

func (r *Reconciler) wave(ctx context.Context, changes []Change, start time.Time, record func(Change, error)) {
	sem := make(chan struct{}, r.opts.Parallelism)
	var wg sync.WaitGroup
	for _, c := range changes {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			record(c, providers.Wrap(ctx.Err(), providers.Canceled, "environment.Apply", c.Key()))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r.emit(Event{Phase: "start", Change: c, Elapsed: r.clk.Now().Sub(start).Seconds()})
			record(c, r.execute(ctx, c, start))
		}()
	}
	wg.Wait()
}

func (r *Reconciler) emit(e Event) {
	if r.opts.OnEvent == nil {
		return
	}
	r.evMu.Lock()
	defer r.evMu.Unlock()
	r.opts.OnEvent(e)
}

func (r *Reconciler) policy() retry.Policy {
	return r.opts.Retry
}

func (r *Reconciler) retry(ctx context.Context, f func() error) error {
	return retry.Do(ctx, r.policy(), func(context.Context) error { return f() })
}

func retryValue[T any](r *Reconciler, ctx context.Context, f func() (T, error)) (T, error) {
	return retry.Value(ctx, r.policy(), func(context.Context) (T, error) { return f() })
}

// execute makes one change, retrying transient errors. A delete of a
// resource that is already gone, and a create of one that already exists
// as ours, count as success: that is what makes re-running safe.
func (r *Reconciler) execute(ctx context.Context, c Change, start time.Time) error {
	p := r.policy()
	if providers.RetriesItself(r.prov) {
		// The driver retried already; a second layer would multiply the
		// attempts and the time to give up.
		p.MaxAttempts = 1
	}
	p.OnRetry = func(attempt int, err error, wait time.Duration) {
		r.emit(Event{Phase: "retry", Change: c, Attempt: attempt, Err: err, Elapsed: r.clk.Now().Sub(start).Seconds()})
		r.log.Warn("retrying change", "change", c.Key(), "attempt", attempt, "wait", wait, "err", err)
	}
	err := retry.Do(ctx, p, func(ctx context.Context) error {
		err := r.call(ctx, c)
		if c.Action == ActionDelete && providers.Code(err) == providers.NotFound {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.Action, c.Key(), err)
	}
	return nil
}

func (r *Reconciler) call(ctx context.Context, c Change) error {
	switch c.Kind {
	case KindInstance:
		ref := providers.InstanceRef{Region: c.Region, Zone: c.Zone, Name: c.Name}
		switch c.Action {
		case ActionCreate:
			_, err := r.prov.CreateInstance(ctx, *c.Instance)
			return err
		case ActionUpdate:
			_, err := r.prov.UpdateInstance(ctx, ref, *c.Update)
			return err
		case ActionDelete:
			return r.prov.DeleteInstance(ctx, ref)
		}
	case KindAddress:
		switch c.Action {
		case ActionCreate:
			_, err := r.prov.ReserveAddress(ctx, *c.Address)
			return err
		case ActionDelete:
			return r.prov.ReleaseAddress(ctx, c.Region, c.Name)
		}
	case KindFirewallRule:
		switch c.Action {
		case ActionCreate:
			_, err := r.prov.CreateFirewallRule(ctx, *c.FirewallRule)
			return err
		case ActionDelete:
			return r.prov.DeleteFirewallRule(ctx, c.Region, c.Name)
		}
	case KindLoadBalancer:
		lb, err := providers.LoadBalancersOf(r.prov)
		if err != nil {
			return err
		}
		switch c.Action {
		case ActionCreate, ActionUpdate:
			_, err := lb.EnsureLoadBalancer(ctx, *c.LoadBalancer)
			return err
		case ActionDelete:
			return lb.DeleteLoadBalancer(ctx, c.Name)
		}
	}
	return providers.Errorf(providers.InvalidArgument, "unsupported change %s %s", c.Action, c.Kind)
}

// Destroy deletes every resource labelled as env's (managed-by orocloud-go
// and the environment's name) in its region, and its global resources; it
// never touches anything else. It is idempotent.
func (r *Reconciler) Destroy(ctx context.Context, env *Environment) (*Result, error) {
	return r.DestroyWith(ctx, env, nil)
}

// DestroyOptions narrow what DestroyWith deletes.
type DestroyOptions struct {
	// RegionalOnly leaves global resources alone (a Google load balancer
	// and global addresses, which may front another region by now).
	RegionalOnly bool
	// Keep, when set, spares every resource it returns true for (the DR
	// address customers whitelisted, say).
	Keep func(Change) bool
}

// DestroyWith is Destroy narrowed by opts (nil deletes everything Destroy
// does).
func (r *Reconciler) DestroyWith(ctx context.Context, env *Environment, opts *DestroyOptions) (*Result, error) {
	var o DestroyOptions
	if opts != nil {
		o = *opts
	}
	if env == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "environment: Destroy: nil environment")
	}
	if env.Name == "" || env.Region == "" {
		return nil, providers.Errorf(providers.InvalidArgument, "environment: Destroy: name and region are required")
	}
	inv, err := r.observe(ctx, env.Name, env.Region, !o.RegionalOnly)
	if err != nil {
		return nil, err
	}
	var changes []Change
	if lb := inv.LoadBalancer; lb != nil && lb.Labels.OwnedBy(env.Name) {
		changes = append(changes, Change{Action: ActionDelete, Kind: KindLoadBalancer, Name: lb.Name, Reason: "destroy"})
	}
	for _, in := range inv.Instances {
		if in.Labels.OwnedBy(env.Name) {
			changes = append(changes, Change{Action: ActionDelete, Kind: KindInstance, Name: in.Name, Region: in.Region, Zone: in.Zone, Reason: "destroy"})
		}
	}
	for _, a := range inv.Addresses {
		if a.Labels.OwnedBy(env.Name) {
			changes = append(changes, Change{Action: ActionDelete, Kind: KindAddress, Name: a.Name, Region: a.Region, Reason: "destroy"})
		}
	}
	for _, f := range inv.FirewallRules {
		if f.Labels.OwnedBy(env.Name) {
			changes = append(changes, Change{Action: ActionDelete, Kind: KindFirewallRule, Name: f.Name, Region: f.Region, Reason: "destroy"})
		}
	}
	if o.Keep != nil {
		changes = slices.DeleteFunc(changes, o.Keep)
	}
	return r.run(ctx, changes)
}

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
