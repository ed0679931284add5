package failover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
)

// Options configures a Controller. The zero value (or nil) is usable.
type Options struct {
	// Health configures the probes of the primary.
	Health Health
	// Sync is the synchronous replication mode (default DefaultSyncMode,
	// SyncAvailable).
	Sync SyncMode
	// MaxLagBytes is the largest WAL distance between the last position
	// seen on the primary and a standby that may be promoted when
	// replication was not synchronous (default 16 MiB). Negative: no bound.
	MaxLagBytes int64
	// Force promotes the most advanced reachable standby even when it lags
	// beyond MaxLagBytes (acknowledged writes may be lost).
	Force bool
	// Store persists the Status (default: a MemoryStore).
	Store StatusStore
	// Fencer powers off a fenced old primary (optional).
	Fencer Fencer
	// Rejoiner brings a fenced old primary back as a standby (optional;
	// needed by Rejoin and by Switchover to restore redundancy).
	Rejoiner Rejoiner
	// PromoteTimeout bounds a promotion (default 30 s).
	PromoteTimeout time.Duration
	// SwitchoverTimeout bounds the wait for the target to replay
	// everything in a Switchover (default 30 s).
	SwitchoverTimeout time.Duration
	// Logger receives the events (default: discard).
	Logger *slog.Logger
	// Clock times the probes and stamps events and status (default: real).
	Clock clock.Clock
	// OnEvent, when set, is called synchronously for every event.
	OnEvent func(Event)

	// beforeStep, in tests, is called after each pending marker is saved;
	// an error stops the operation as if the controller had died.
	beforeStep func(Pending) error
}

// Controller watches a primary and its standbys and fails over when the
// primary is lost. Create it with New and run it with Run.
type Controller struct {
	opts   Options
	nodes  map[string]Node
	order  []string // configuration order: primary first
	router *Router
	store  StatusStore
	clk    clock.Clock
	log    *slog.Logger

	opMu sync.Mutex // one operation (tick, switchover, rejoin) at a time

	mu           sync.Mutex
	st           Status
	loaded       bool
	conns        map[string]*pgx.Conn // open connections per node (used under opMu)
	pconn        *pgx.Conn            // probe connection to the primary (under opMu)
	pconnNode    string
	inflight     chan probeOutcome // probe of the primary still running
	inflightNode string
	failures     int
	lastOK       time.Time
	last         probeResult // last good probe of the primary
	noSyncSince  time.Time   // first probe with no streaming standby
	lastElectErr string      // last election failure reported
}

// errStopped is returned by an operation interrupted by the beforeStep
// test hook.
var errStopped = errors.New("failover: controller stopped by test hook")

// storeError marks a StatusStore failure: the Controller stops rather than
// act without persisting its decisions.
type storeError struct{ err error }

func (e *storeError) Error() string { return "failover: status store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// New returns a Controller for primary and standbys. It checks every
// argument and option and returns one InvalidArgument error listing all
// problems.
func New(primary Node, standbys []Node, opts *Options) (*Controller, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var bad []string
	bad = append(bad, validateNodes(primary, standbys)...)
	if err := o.Health.Validate(); err != nil {
		var pe *providers.Error
		if errors.As(err, &pe) {
			bad = append(bad, strings.TrimPrefix(pe.Msg, "failover: unsafe health settings: "))
		}
	}
	o.Health = o.Health.withDefaults()
	if o.Sync == "" {
		o.Sync = DefaultSyncMode
	}
	switch o.Sync {
	case SyncAvailable, SyncStrict, SyncAsync:
	default:
		bad = append(bad, fmt.Sprintf("Sync %q: must be %q, %q or %q", o.Sync, SyncAvailable, SyncStrict, SyncAsync))
	}
	if o.PromoteTimeout < 0 || o.SwitchoverTimeout < 0 {
		bad = append(bad, "PromoteTimeout and SwitchoverTimeout must not be negative")
	}
	if len(bad) > 0 {
		return nil, providers.Errorf(providers.InvalidArgument, "failover: invalid configuration: %s", strings.Join(bad, "; "))
	}
	if o.MaxLagBytes == 0 {
		o.MaxLagBytes = 16 << 20
	}
	if o.PromoteTimeout == 0 {
		o.PromoteTimeout = 30 * time.Second
	}
	if o.SwitchoverTimeout == 0 {
		o.SwitchoverTimeout = 30 * time.Second
	}
	if o.Store == nil {
		o.Store = &MemoryStore{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Controller{
		opts:   o,
		nodes:  map[string]Node{},
		router: NewRouter(),
		store:  o.Store,
		clk:    clock.Or(o.Clock),
		log:    o.Logger,
	}
	for _, n := range append([]Node{primary}, standbys...) {
		c.nodes[n.Name] = n
		c.order = append(c.order, n.Name)
	}
	c.st = Status{Epoch: 1, Primary: primary.Name}
	return c, nil
}

// Router returns the Router applications use to reach the primary.
func (c *Controller) Router() *Router { return c.router }

// Status returns a copy of the current status.
func (c *Controller) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.clone()
}

// DetectionBound returns the worst-case detection time of the settings.
func (c *Controller) DetectionBound() time.Duration { return c.opts.Health.WorstCaseDetection() }

func (c *Controller) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = c.clk.Now()
	}
	c.log.Log(context.Background(), e.level(), "failover: "+string(e.Kind)+": "+e.Message, e.attrs()...)
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(e)
	}
}

func (c *Controller) save(ctx context.Context, mutate func(*Status)) error {
	c.mu.Lock()
	st := c.st.clone()
	mutate(&st)
	st.Updated = c.clk.Now()
	c.mu.Unlock()
	if err := c.store.Save(ctx, st); err != nil {
		return &storeError{err}
	}
	c.mu.Lock()
	c.st = st
	c.mu.Unlock()
	return nil
}

// load reads the persisted status once and applies it to the router.
func (c *Controller) load(ctx context.Context) error {
	if c.loaded {
		return nil
	}
	st, ok, err := c.store.Load(ctx)
	if err != nil {
		return err
	}
	if ok {
		if _, known := c.nodes[st.Primary]; !known {
			return providers.Errorf(providers.FailedPrecondition, "failover: stored primary %q is not a configured node", st.Primary)
		}
		c.mu.Lock()
		c.st = st
		c.mu.Unlock()
	} else if err := c.save(ctx, func(*Status) {}); err != nil {
		return err
	}
	for _, f := range st.Fenced {
		c.router.fence(f)
	}
	c.loaded = true
	return nil
}

// Run monitors the cluster until ctx ends (then it returns nil). It first
// finishes any operation left pending in the store by a previous
// controller. It returns an error when the store fails, when the stored
// status names an unknown node, or when a pending operation cannot be
// finished (the marker stays: running the controller again retries it).
// Run must not be called again while it runs.
func (c *Controller) Run(ctx context.Context) error {
	c.opMu.Lock()
	err := c.load(ctx)
	if err == nil {
		err = c.resume(ctx)
	}
	c.opMu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	fenceDone := make(chan struct{})
	go func() { defer close(fenceDone); c.watchFenced(wctx) }()
	defer func() { stopWatch(); <-fenceDone }()
	defer func() {
		c.opMu.Lock()
		for name := range c.conns {
			c.dropConn(name)
		}
		c.abandonProbe()
		closeConn(c.pconn)
		c.pconn = nil
		c.opMu.Unlock()
	}()
	interval := c.opts.Health.Interval
	for {
		start := c.clk.Now()
		c.opMu.Lock()
		err := c.tick(ctx)
		c.opMu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
		var se *storeError
		if errors.Is(err, errStopped) || errors.As(err, &se) {
			return err
		}
		wait := interval - c.clk.Now().Sub(start)
		if wait < 0 {
			wait = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.clk.After(wait):
		}
	}
}

// resume finishes a pending operation found in the store.
func (c *Controller) resume(ctx context.Context) error {
	st := c.Status()
	if st.Pending == nil {
		return nil
	}
	p := *st.Pending
	c.emit(Event{Kind: EventResumed, Node: p.From, Target: p.To, Message: fmt.Sprintf("finishing %s interrupted at step %s", p.Op, p.Step)})
	c.router.fence(p.From)
	return c.runOp(ctx, p, c.clk.Now(), election{Name: p.To})
}

// tick probes the primary once and fails over when it has failed
// FailureThreshold times in a row.
func (c *Controller) tick(ctx context.Context) error {
	st := c.Status()
	primary := c.nodes[st.Primary]
	h := c.opts.Health
	res, err := c.probePrimary(ctx, primary)
	if ctx.Err() != nil {
		return nil
	}
	if err == nil && res.InRecovery {
		err = providers.Errorf(providers.FailedPrecondition, "failover: primary %s is in recovery", primary.Name)
	}
	now := c.clk.Now()
	if err == nil {
		c.mu.Lock()
		c.failures, c.lastOK, c.last = 0, now, res
		c.mu.Unlock()
		if _, rerr := c.router.Primary(); rerr != nil && !st.IsFenced(primary.Name) {
			if c.router.set(&primary, st.Epoch) == nil {
				c.emit(Event{Kind: EventRouted, Node: primary.Name, Message: "primary confirmed and routed"})
			}
		}
		c.warmStandbys(ctx, primary.Name)
		return c.manageSync(ctx, primary, res)
	}
	c.mu.Lock()
	c.failures++
	n, lastOK := c.failures, c.lastOK
	c.mu.Unlock()
	c.log.Debug("failover: probe failed", "node", primary.Name, "consecutive", n, "err", err.Error())
	if n < h.FailureThreshold {
		return nil
	}
	var down time.Duration
	if !lastOK.IsZero() {
		down = now.Sub(lastOK)
	}
	if n == h.FailureThreshold {
		// Applications stop getting the lost primary at once.
		c.router.set(nil, st.Epoch)
		c.emit(Event{Kind: EventDetected, Node: primary.Name, Duration: down, Err: err,
			Message: fmt.Sprintf("%d consecutive probes failed", n)})
	}
	return c.failover(ctx, primary, now)
}

// probeOutcome is the result of one probe of the primary; conn is the
// connection it used, handed back when it is still usable.
type probeOutcome struct {
	res  probeResult
	err  error
	conn *pgx.Conn
}

// probePrimary waits up to Health.Timeout for a probe of n. A probe that
// does not answer in time counts as failed but is not cancelled: the next
// tick waits for the same probe instead of starting another. So a stalled
// primary that resumes answers on its existing connection, without paying
// for a new backend (which on a loaded machine can take longer than the
// timeout and turn a short stall into a failover). An in-flight probe
// gives up after the worst-case detection time. Callers hold opMu.
func (c *Controller) probePrimary(ctx context.Context, n Node) (probeResult, error) {
	h := c.opts.Health
	if c.inflight != nil && c.inflightNode != n.Name {
		c.abandonProbe()
	}
	if c.inflight == nil {
		ch := make(chan probeOutcome, 1)
		conn := c.pconn
		c.pconn = nil
		if conn != nil && (c.pconnNode != n.Name || conn.IsClosed()) {
			closeConn(conn)
			conn = nil
		}
		c.inflight, c.inflightNode = ch, n.Name
		go func() {
			pctx, cancel := context.WithTimeout(context.Background(), h.WorstCaseDetection()+h.Timeout)
			defer cancel()
			var out probeOutcome
			if conn == nil {
				conn, out.err = connect(pctx, n, h.WorstCaseDetection()+h.Timeout)
			}
			if out.err == nil {
				out.res, out.err = probe(pctx, conn)
				if out.err == nil {
					out.conn = conn
				} else {
					closeConn(conn)
				}
			}
			ch <- out
		}()
	}
	select {
	case out := <-c.inflight:
		c.inflight = nil
		if out.conn != nil {
			c.pconn, c.pconnNode = out.conn, n.Name
		}
		return out.res, out.err
	case <-c.clk.After(h.Timeout):
		return probeResult{}, providers.Errorf(providers.DeadlineExceeded, "failover: %s did not answer within %s", n.Name, h.Timeout)
	case <-ctx.Done():
		return probeResult{}, providers.Wrap(ctx.Err(), providers.Canceled, "failover.probe", n.Name)
	}
}

// abandonProbe forgets the in-flight probe; its connection is closed when
// it ends.
func (c *Controller) abandonProbe() {
	if c.inflight == nil {
		return
	}
	go func(ch <-chan probeOutcome) {
		if out := <-ch; out.conn != nil {
			closeConn(out.conn)
		}
	}(c.inflight)
	c.inflight = nil
}

// nodeConn returns the open connection to n, connecting when there is
// none. Callers hold opMu. Connections are kept because opening one forks
// a backend: on a loaded machine that alone can take 100 ms.
func (c *Controller) nodeConn(ctx context.Context, n Node, timeout time.Duration) (*pgx.Conn, error) {
	if conn := c.conns[n.Name]; conn != nil && !conn.IsClosed() {
		return conn, nil
	}
	conn, err := connect(ctx, n, timeout)
	if err != nil {
		return nil, err
	}
	if c.conns == nil {
		c.conns = map[string]*pgx.Conn{}
	}
	c.conns[n.Name] = conn
	return conn, nil
}

// dropConn closes the cached connection to name. Callers hold opMu.
func (c *Controller) dropConn(name string) {
	closeConn(c.conns[name])
	delete(c.conns, name)
}

// warmStandbys opens a connection to every standby that has none, so an
// election and a promotion do not pay for new backends. Callers hold opMu.
func (c *Controller) warmStandbys(ctx context.Context, primary string) {
	st := c.Status()
	for _, name := range c.otherStandbys(primary, &st) {
		if conn := c.conns[name]; conn != nil && !conn.IsClosed() {
			continue
		}
		_, _ = c.nodeConn(ctx, c.nodes[name], c.opts.Health.Timeout)
	}
}

// manageSync keeps synchronous_standby_names on the primary in line with
// the mode and the streaming standbys.
func (c *Controller) manageSync(ctx context.Context, primary Node, res probeResult) error {
	if c.opts.Sync == SyncAsync {
		return nil
	}
	st := c.Status()
	var want []string
	streaming := map[string]bool{}
	for _, r := range res.Replicas {
		if r.State == "streaming" {
			streaming[r.Name] = true
		}
	}
	for _, name := range c.order {
		if name == primary.Name {
			continue
		}
		if c.opts.Sync == SyncStrict || (streaming[name] && !st.IsFenced(name)) {
			want = append(want, name)
		}
	}
	now := c.clk.Now()
	degrade := false
	if c.opts.Sync == SyncAvailable && len(want) == 0 {
		// Commits wait for the missing standby for at most one detection
		// window, then continue without it.
		c.mu.Lock()
		if c.noSyncSince.IsZero() {
			c.noSyncSince = now
		}
		since := c.noSyncSince
		c.mu.Unlock()
		if now.Sub(since) < c.opts.Health.WorstCaseDetection() && !st.SyncDegraded {
			return nil
		}
		degrade = true
	} else {
		c.mu.Lock()
		c.noSyncSince = time.Time{}
		c.mu.Unlock()
	}
	value := syncNamesValue(want)
	if res.SyncNames == value && st.SyncDegraded == degrade {
		return nil
	}
	if res.SyncNames != value {
		if err := c.setSyncNames(ctx, primary, value); err != nil {
			c.log.Warn("failover: cannot set synchronous_standby_names", "node", primary.Name, "err", err.Error())
			return nil
		}
	}
	if st.SyncDegraded != degrade {
		if err := c.save(ctx, func(s *Status) { s.SyncDegraded = degrade }); err != nil {
			return err
		}
		if degrade {
			c.emit(Event{Kind: EventSyncDegraded, Node: primary.Name,
				Message: "no synchronous standby streams: commits continue without one and could be lost if the primary fails"})
		} else {
			c.emit(Event{Kind: EventSyncRestored, Node: primary.Name, Message: "synchronous standbys: " + value})
		}
	}
	return nil
}

func (c *Controller) setSyncNames(ctx context.Context, n Node, value string) error {
	conn, err := c.nodeConn(ctx, n, c.opts.Health.Timeout)
	if err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(ctx, 4*c.opts.Health.period())
	defer cancel()
	for _, q := range []string{"ALTER SYSTEM SET synchronous_standby_names = " + quoteLiteral(value), "SELECT pg_reload_conf()"} {
		if _, err := conn.Exec(qctx, q); err != nil {
			c.dropConn(n.Name)
			return providers.Wrap(err, providers.Unavailable, "failover.setSyncNames", n.Name)
		}
	}
	return nil
}

// election is the outcome of choosing a standby.
type election struct {
	Name        string
	LSN         LSN
	LossBound   int64
	Synchronous bool
}

type standbyState struct {
	name       string
	inRecovery bool
	lsn        LSN
	err        error
}

// elect chooses the standby to promote, or explains why none can be.
func (c *Controller) elect(ctx context.Context, old Node) (election, error) {
	st := c.Status()
	c.mu.Lock()
	last := c.last
	c.mu.Unlock()
	var cands []string
	for _, name := range c.order {
		if name != old.Name && !st.IsFenced(name) {
			cands = append(cands, name)
		}
	}
	if len(cands) == 0 {
		return election{}, providers.Errorf(providers.FailedPrecondition, "failover: no standby left to promote")
	}
	states := make([]standbyState, len(cands))
	conns := make([]*pgx.Conn, len(cands))
	for i, name := range cands {
		if cn := c.conns[name]; cn != nil && !cn.IsClosed() {
			conns[i] = cn
		}
	}
	var wg sync.WaitGroup
	for i, name := range cands {
		wg.Go(func() {
			states[i] = c.standbyPosition(ctx, c.nodes[name], conns[i], c.opts.Health.period())
			if states[i].err != nil && conns[i] != nil {
				// The kept connection may be stale (standby restarted).
				states[i] = c.standbyPosition(ctx, c.nodes[name], nil, c.opts.Health.period())
			}
		})
	}
	wg.Wait()
	for i, name := range cands {
		if conns[i] != nil && states[i].err != nil {
			c.dropConn(name)
		}
	}
	var best *standbyState
	var down []string
	for i := range states {
		s := &states[i]
		if s.err != nil {
			down = append(down, s.name)
			continue
		}
		if !s.inRecovery {
			// A second writable node: never promote another one beside it.
			return election{}, providers.Errorf(providers.FailedPrecondition, "failover: standby %s is not in recovery (already a primary?)", s.name)
		}
		if best == nil || s.lsn > best.lsn {
			best = s
		}
	}
	if best == nil {
		return election{}, providers.Errorf(providers.Unavailable, "failover: no standby reachable (%s down)", strings.Join(down, ", "))
	}
	var lossBound int64
	if last.LSN > best.lsn {
		lossBound = int64(last.LSN - best.lsn)
	}
	// Acknowledged commits are guaranteed on the best standby when the
	// primary was committing synchronously (ANY 1 of the named standbys)
	// and every named standby answered, or when it has everything the
	// primary had flushed at its last probe.
	named := map[string]bool{}
	for _, n := range parseSyncNames(last.SyncNames) {
		named[n] = true
	}
	allNamedUp := len(named) > 0
	for _, d := range down {
		if named[d] {
			allNamedUp = false
		}
	}
	synchronous := c.opts.Sync != SyncAsync && !st.SyncDegraded && allNamedUp
	e := election{Name: best.name, LSN: best.lsn, LossBound: lossBound, Synchronous: synchronous}
	if synchronous {
		e.LossBound = 0
		return e, nil
	}
	if lossBound == 0 && len(down) == 0 {
		return e, nil
	}
	if c.opts.MaxLagBytes >= 0 && lossBound > c.opts.MaxLagBytes && !c.opts.Force {
		return e, providers.Errorf(providers.FailedPrecondition,
			"failover: standby %s lags %d bytes behind the last position seen on %s (bound %d); not promoting a stale node (set Force to override)",
			best.name, lossBound, old.Name, c.opts.MaxLagBytes)
	}
	return e, nil
}

func parseSyncNames(v string) []string {
	v = strings.TrimSpace(v)
	if i := strings.Index(v, "("); i >= 0 {
		v = strings.TrimSuffix(strings.TrimSpace(v[i+1:]), ")")
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.Trim(strings.TrimSpace(p), `"`); p != "" && p != "*" {
			out = append(out, p)
		}
	}
	return out
}

// standbyPosition queries n's recovery state and WAL position on conn
// (opening a connection when conn is nil).
func (c *Controller) standbyPosition(ctx context.Context, n Node, conn *pgx.Conn, timeout time.Duration) standbyState {
	s := standbyState{name: n.Name}
	if conn == nil {
		var err error
		if conn, err = connect(ctx, n, timeout); err != nil {
			s.err = err
			return s
		}
		defer closeConn(conn)
	}
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := probe(qctx, conn)
	if err != nil {
		s.err = providers.Wrap(err, providers.Unavailable, "failover.standbyPosition", n.Name)
		return s
	}
	s.inRecovery, s.lsn = res.InRecovery, res.LSN
	return s
}

// failover runs the whole failover from the primary old.
func (c *Controller) failover(ctx context.Context, old Node, detected time.Time) error {
	e, err := c.elect(ctx, old)
	if err != nil {
		c.mu.Lock()
		repeat := c.lastElectErr == err.Error()
		c.lastElectErr = err.Error()
		c.mu.Unlock()
		if !repeat {
			c.emit(Event{Kind: EventElectionFailed, Node: old.Name, Target: e.Name, Err: err, Message: "no standby can be promoted safely; retrying"})
		}
		return err
	}
	c.mu.Lock()
	c.lastElectErr = ""
	c.mu.Unlock()
	c.emit(Event{Kind: EventElected, Node: old.Name, Target: e.Name, Message: fmt.Sprintf("most advanced standby at %s", e.LSN)})
	p := Pending{Op: OpFailover, From: old.Name, To: e.Name, Step: StepFence, Started: detected}
	return c.runOp(ctx, p, detected, e)
}

// runOp performs (or resumes) a failover or switchover from its step.
func (c *Controller) runOp(ctx context.Context, p Pending, detected time.Time, e election) error {
	old, target := c.nodes[p.From], c.nodes[p.To]
	mark := func(step Step) error {
		p.Step = step
		pp := p
		if err := c.save(ctx, func(s *Status) {
			s.Pending = &pp
			if !s.IsFenced(p.From) {
				s.Fenced = append(s.Fenced, p.From)
			}
		}); err != nil {
			return err
		}
		if c.opts.beforeStep != nil {
			if err := c.opts.beforeStep(pp); err != nil {
				return errStopped
			}
		}
		return nil
	}
	order := []Step{StepFence, StepPromote, StepRoute}
	from := slices.Index(order, p.Step)
	if from < 0 {
		from = 0
	}
	// The router withdraws the old primary before anything else.
	c.router.fence(old.Name)
	c.dropConn(old.Name)
	c.abandonProbe()

	if from <= 0 {
		if err := mark(StepFence); err != nil {
			return err
		}
		c.fence(ctx, old, p.Op == OpSwitchover)
	}
	preconfigured := false
	if from <= 1 {
		if err := mark(StepPromote); err != nil {
			return err
		}
		t0 := c.clk.Now()
		// Configure first (ALTER SYSTEM works in recovery): the node then
		// leaves recovery with the right synchronous_standby_names and no
		// read-only fence, so commits never wait for itself.
		preconfigured = c.configureNewPrimary(ctx, target) == nil
		if err := c.promote(ctx, target); err != nil {
			c.emit(Event{Kind: EventElectionFailed, Node: old.Name, Target: target.Name, Err: err, Message: "promotion failed"})
			return err
		}
		c.emit(Event{Kind: EventPromoted, Node: old.Name, Target: target.Name, Duration: c.clk.Now().Sub(t0),
			LossBoundBytes: e.LossBound, Synchronous: e.Synchronous,
			Message: fmt.Sprintf("%s promoted (synchronous=%v, loss bound %d bytes)", target.Name, e.Synchronous, e.LossBound)})
	}
	if err := mark(StepRoute); err != nil {
		return err
	}
	if !preconfigured {
		if err := c.configureNewPrimary(ctx, target); err != nil {
			c.log.Warn("failover: configuring the new primary", "node", target.Name, "err", err.Error())
		}
	}
	var epoch int64
	if err := c.save(ctx, func(s *Status) {
		s.Epoch++
		epoch = s.Epoch
		s.Primary = target.Name
		s.Pending = nil
		s.SyncDegraded = c.opts.Sync == SyncAvailable && len(c.otherStandbys(target.Name, s)) == 0
	}); err != nil {
		return err
	}
	c.mu.Lock()
	c.failures, c.lastOK, c.last, c.noSyncSince = 0, c.clk.Now(), probeResult{}, time.Time{}
	c.mu.Unlock()
	if err := c.router.set(&target, epoch); err != nil {
		return err
	}
	c.emit(Event{Kind: EventRouted, Node: old.Name, Target: target.Name, Duration: c.clk.Now().Sub(detected),
		Message: fmt.Sprintf("router hands out %s (epoch %d)", target.Name, epoch)})
	if c.Status().SyncDegraded {
		c.emit(Event{Kind: EventSyncDegraded, Node: target.Name,
			Message: "new primary has no synchronous standby yet: writes continue and are at risk until a standby (the old primary, once rejoined) streams"})
	}
	go c.repointStandbys(context.WithoutCancel(ctx), target)
	return nil
}

func (c *Controller) otherStandbys(primary string, st *Status) []string {
	var out []string
	for _, n := range c.order {
		if n != primary && !st.IsFenced(n) {
			out = append(out, n)
		}
	}
	return out
}

// fence makes old read-only when it answers (terminating its client
// sessions) and calls the Fencer. In a failover the Fencer runs in the
// background (the router already never hands old out, and with synchronous
// replication old cannot acknowledge a commit once its standby is
// promoted); in a switchover the read-only step must succeed.
func (c *Controller) fence(ctx context.Context, old Node, planned bool) error {
	t0 := c.clk.Now()
	timeout := c.opts.Health.Timeout
	if planned {
		timeout = 5 * time.Second
	}
	err := fenceReadOnly(ctx, old, timeout)
	if err == nil {
		c.emit(Event{Kind: EventFenced, Node: old.Name, Duration: c.clk.Now().Sub(t0), Message: "made read-only, client sessions terminated"})
	} else {
		c.emit(Event{Kind: EventFenceFailed, Node: old.Name, Err: err, Message: "not reachable to make read-only; the router will never hand it out"})
	}
	if f := c.opts.Fencer; f != nil {
		run := func() {
			t1 := c.clk.Now()
			if ferr := f.Fence(ctx, old); ferr != nil {
				c.emit(Event{Kind: EventFenceFailed, Node: old.Name, Err: ferr, Message: "Fencer failed"})
			} else {
				c.emit(Event{Kind: EventFenced, Node: old.Name, Duration: c.clk.Now().Sub(t1), Message: "stopped by the Fencer"})
			}
		}
		if planned {
			run()
		} else {
			go run()
		}
	}
	return err
}

// fenceReadOnly makes n read-only for every new transaction and terminates
// its client sessions.
func fenceReadOnly(ctx context.Context, n Node, timeout time.Duration) error {
	conn, err := connect(ctx, n, timeout)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, q := range []string{
		"ALTER SYSTEM SET default_transaction_read_only = on",
		"SELECT pg_reload_conf()",
		"SET default_transaction_read_only = on",
		"SELECT count(pg_terminate_backend(pid, 1000)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
	} {
		if _, err := conn.Exec(qctx, q); err != nil {
			return providers.Wrap(err, providers.Unavailable, "failover.fence", n.Name)
		}
	}
	return nil
}

// promote promotes n and verifies it left recovery. It signals with
// pg_promote(wait => false) and then polls pg_is_in_recovery() every 5 ms
// on the same connection: pg_promote(wait => true) checks only every
// 100 ms (WAITS_PER_SECOND in PostgreSQL's xlogfuncs.c), a tenth of the
// whole failover budget. While the node is still in recovery it re-signals
// every 500 ms (a PostgreSQL 15 standby sitting in a WAL-retry sleep can
// otherwise hold a promotion for seconds). It is idempotent.
func (c *Controller) promote(ctx context.Context, n Node) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.PromoteTimeout)
	defer cancel()
	var last error
	var signalled time.Time
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return providers.Errorf(providers.DeadlineExceeded, "failover: promoting %s: %v (last error: %v)", n.Name, ctx.Err(), last)
			case <-c.clk.After(5 * time.Millisecond):
			}
		}
		conn, err := c.nodeConn(ctx, n, 2*time.Second)
		if err != nil {
			last = err
			continue
		}
		var inRecovery bool
		if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
			last = err
			c.dropConn(n.Name)
			continue
		}
		if !inRecovery {
			return nil
		}
		if signalled.IsZero() || c.clk.Now().Sub(signalled) > 500*time.Millisecond {
			var ok bool
			if err := conn.QueryRow(ctx, "SELECT pg_promote(wait => false)").Scan(&ok); err != nil {
				last = err
				c.dropConn(n.Name)
				continue
			}
			signalled = c.clk.Now()
		}
	}
}

// configureNewPrimary clears a fence left in its configuration and sets
// synchronous_standby_names for the mode.
func (c *Controller) configureNewPrimary(ctx context.Context, n Node) error {
	conn, err := c.nodeConn(ctx, n, 2*time.Second)
	if err != nil {
		return err
	}
	stmts := []string{"ALTER SYSTEM RESET default_transaction_read_only"}
	if c.opts.Sync != SyncAsync {
		// Strict: every other node, the old primary included (it satisfies
		// the quorum once it rejoins). Available: nobody streams from the
		// new primary yet; manageSync adds standbys as they stream.
		var names []string
		if c.opts.Sync == SyncStrict {
			for _, name := range c.order {
				if name != n.Name {
					names = append(names, name)
				}
			}
		}
		stmts = append(stmts, "ALTER SYSTEM SET synchronous_standby_names = "+quoteLiteral(syncNamesValue(names)))
	}
	stmts = append(stmts, "SELECT pg_reload_conf()")
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, q := range stmts {
		if _, err := conn.Exec(qctx, q); err != nil {
			c.dropConn(n.Name)
			return providers.Wrap(err, providers.Unavailable, "failover.configureNewPrimary", n.Name)
		}
	}
	return nil
}

// repointStandbys makes the remaining standbys stream from the new primary
// (primary_conninfo is reloadable since PostgreSQL 13).
func (c *Controller) repointStandbys(ctx context.Context, primary Node) {
	st := c.Status()
	for _, name := range c.otherStandbys(primary.Name, &st) {
		n := c.nodes[name]
		ci, err := primaryConninfo(primary, name)
		if err != nil {
			continue
		}
		conn, err := connect(ctx, n, 2*time.Second)
		if err != nil {
			c.log.Warn("failover: cannot repoint standby", "node", name, "err", err.Error())
			continue
		}
		for _, q := range []string{"ALTER SYSTEM SET primary_conninfo = " + quoteLiteral(ci), "SELECT pg_reload_conf()"} {
			if _, err := conn.Exec(ctx, q); err != nil {
				c.log.Warn("failover: cannot repoint standby", "node", name, "err", providers.Wrap(err, providers.Unavailable, "", name).Error())
				break
			}
		}
		closeConn(conn)
	}
}

// watchFenced re-fences fenced nodes that come back writable (a healed
// partition, a restarted machine) until they rejoin.
func (c *Controller) watchFenced(ctx context.Context) {
	every := 2 * c.opts.Health.period()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.clk.After(every):
		}
		st := c.Status()
		for _, name := range st.Fenced {
			if st.Pending != nil && st.Pending.To == name {
				continue
			}
			n := c.nodes[name]
			conn, err := connect(ctx, n, c.opts.Health.Timeout)
			if err != nil {
				continue
			}
			var inRecovery bool
			var ro string
			qctx, cancel := context.WithTimeout(ctx, c.opts.Health.Timeout)
			err = conn.QueryRow(qctx, "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')").Scan(&inRecovery, &ro)
			cancel()
			closeConn(conn)
			if err != nil || inRecovery || ro == "on" {
				continue
			}
			if err := fenceReadOnly(ctx, n, 2*time.Second); err == nil {
				c.emit(Event{Kind: EventFenced, Node: name, Message: "fenced node came back writable: made read-only again"})
			}
		}
	}
}

// Switchover hands the primary role to the standby target with zero loss,
// for a maintenance window: the router stops handing out the primary, the
// primary is made read-only and its client sessions end, target replays
// everything the primary wrote, then target is promoted and routed. With a
// Rejoiner the old primary then rejoins as a standby. If target does not
// catch up within SwitchoverTimeout, the old primary is made writable and
// routed again, and an error is returned.
func (c *Controller) Switchover(ctx context.Context, target string) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if err := c.load(ctx); err != nil {
		return err
	}
	st := c.Status()
	tn, ok := c.nodes[target]
	switch {
	case !ok:
		return providers.Errorf(providers.NotFound, "failover: no node named %q", target)
	case target == st.Primary:
		return providers.Errorf(providers.InvalidArgument, "failover: %s is already the primary", target)
	case st.IsFenced(target):
		return providers.Errorf(providers.FailedPrecondition, "failover: %s is fenced; rejoin it first", target)
	case st.Pending != nil:
		return providers.Errorf(providers.FailedPrecondition, "failover: a %s is pending", st.Pending.Op)
	}
	old := c.nodes[st.Primary]
	pos := c.standbyPosition(ctx, tn, nil, 5*time.Second)
	if pos.err != nil || !pos.inRecovery {
		return providers.Errorf(providers.FailedPrecondition, "failover: switchover target %s is not a healthy standby: %v", target, pos.err)
	}
	t0 := c.clk.Now()
	p := Pending{Op: OpSwitchover, From: old.Name, To: target, Step: StepFence, Started: t0}
	if err := c.save(ctx, func(s *Status) { pp := p; s.Pending = &pp }); err != nil {
		return err
	}
	c.router.fence(old.Name)
	rollback := func(cause error) error {
		if conn, err := connect(ctx, old, 2*time.Second); err == nil {
			_, _ = conn.Exec(ctx, "ALTER SYSTEM RESET default_transaction_read_only")
			_, _ = conn.Exec(ctx, "SELECT pg_reload_conf()")
			closeConn(conn)
		}
		c.router.unfence(old.Name)
		_ = c.save(ctx, func(s *Status) {
			s.Pending = nil
			s.Fenced = slices.DeleteFunc(s.Fenced, func(n string) bool { return n == old.Name })
		})
		_ = c.router.set(&old, st.Epoch)
		return cause
	}
	if err := fenceReadOnly(ctx, old, 5*time.Second); err != nil {
		return rollback(providers.Wrap(err, providers.Unavailable, "failover.Switchover", old.Name))
	}
	c.emit(Event{Kind: EventFenced, Node: old.Name, Duration: c.clk.Now().Sub(t0), Message: "read-only for the switchover"})
	if err := c.waitReplayed(ctx, old, tn); err != nil {
		return rollback(err)
	}
	p.Step = StepFence
	if err := c.runOp(ctx, p, t0, election{Name: target, Synchronous: true}); err != nil {
		return err
	}
	c.emit(Event{Kind: EventSwitchover, Node: old.Name, Target: target, Duration: c.clk.Now().Sub(t0), Message: "planned switchover done"})
	if c.opts.Rejoiner != nil {
		c.opMu.Unlock()
		err := c.Rejoin(ctx, old.Name)
		c.opMu.Lock()
		return err
	}
	return nil
}

// waitReplayed waits until standby has replayed everything old has flushed.
func (c *Controller) waitReplayed(ctx context.Context, old, standby Node) error {
	conn, err := connect(ctx, old, 2*time.Second)
	if err != nil {
		return err
	}
	var s string
	err = conn.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&s)
	closeConn(conn)
	if err != nil {
		return providers.Wrap(err, providers.Unavailable, "failover.Switchover", old.Name)
	}
	want, err := ParseLSN(s)
	if err != nil {
		return err
	}
	deadline := c.clk.Now().Add(c.opts.SwitchoverTimeout)
	for {
		sc, err := connect(ctx, standby, 2*time.Second)
		if err == nil {
			var r string
			err = sc.QueryRow(ctx, "SELECT coalesce(pg_last_wal_replay_lsn(), '0/0')::text").Scan(&r)
			closeConn(sc)
			if got, perr := ParseLSN(r); err == nil && perr == nil && got >= want {
				return nil
			}
		}
		if c.clk.Now().After(deadline) {
			return providers.Errorf(providers.DeadlineExceeded, "failover: %s did not replay up to %s within %s", standby.Name, want, c.opts.SwitchoverTimeout)
		}
		select {
		case <-ctx.Done():
			return providers.Wrap(ctx.Err(), providers.Canceled, "failover.Switchover", standby.Name)
		case <-c.clk.After(10 * time.Millisecond):
		}
	}
}

// Rejoin brings the fenced former primary name back as a standby of the
// current primary through the Rejoiner, verifies it is in recovery and
// streaming, and unfences it (the Controller then counts it among the
// synchronous standbys).
func (c *Controller) Rejoin(ctx context.Context, name string) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if c.opts.Rejoiner == nil {
		return providers.Errorf(providers.FailedPrecondition, "failover: Rejoin needs Options.Rejoiner")
	}
	st := c.Status()
	n, ok := c.nodes[name]
	switch {
	case !ok:
		return providers.Errorf(providers.NotFound, "failover: no node named %q", name)
	case name == st.Primary:
		return providers.Errorf(providers.InvalidArgument, "failover: %s is the primary", name)
	case !st.IsFenced(name):
		return providers.Errorf(providers.FailedPrecondition, "failover: %s is not a fenced former primary", name)
	}
	primary := c.nodes[st.Primary]
	t0 := c.clk.Now()
	if err := c.opts.Rejoiner.Rejoin(ctx, n, primary); err != nil {
		return providers.Wrap(err, providers.Code(err), "failover.Rejoin", name)
	}
	pos := c.standbyPosition(ctx, n, nil, 5*time.Second)
	if pos.err != nil {
		return pos.err
	}
	if !pos.inRecovery {
		return providers.Errorf(providers.FailedPrecondition, "failover: %s is not in recovery after the rejoin", name)
	}
	deadline := c.clk.Now().Add(30 * time.Second)
	for {
		conn, err := connect(ctx, primary, 2*time.Second)
		if err == nil {
			var streaming bool
			err = conn.QueryRow(ctx, "SELECT count(*) > 0 FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'", name).Scan(&streaming)
			closeConn(conn)
			if err == nil && streaming {
				break
			}
		}
		if c.clk.Now().After(deadline) {
			return providers.Errorf(providers.DeadlineExceeded, "failover: %s is not streaming from %s", name, primary.Name)
		}
		select {
		case <-ctx.Done():
			return providers.Wrap(ctx.Err(), providers.Canceled, "failover.Rejoin", name)
		case <-c.clk.After(20 * time.Millisecond):
		}
	}
	if err := c.save(ctx, func(s *Status) {
		s.Fenced = slices.DeleteFunc(s.Fenced, func(x string) bool { return x == name })
	}); err != nil {
		return err
	}
	c.router.unfence(name)
	c.emit(Event{Kind: EventRejoined, Node: name, Target: primary.Name, Duration: c.clk.Now().Sub(t0), Message: "streams from " + primary.Name})
	return nil
}
