package dr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/dr"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

const (
	primaryRegion = "europe-west3"
	drRegion      = "europe-west4"
	contactEmail  = "ops@example.com"
)

// fakeBackups is an in-memory Backups.
type fakeBackups struct {
	mu        sync.Mutex
	points    []dr.Point
	verifyErr error
	restoreFn func(ctx context.Context) error
	restores  []dr.RestoreTarget
}

func (b *fakeBackups) LatestBefore(_ context.Context, t time.Time) (dr.Point, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var best *dr.Point
	for i := range b.points {
		p := &b.points[i]
		if p.Time.Before(t) && (best == nil || p.Time.After(best.Time)) {
			best = p
		}
	}
	if best == nil {
		return dr.Point{}, providers.Errorf(providers.NotFound, "no recovery point before %s", t)
	}
	return *best, nil
}

func (b *fakeBackups) Verify(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.verifyErr
}

func (b *fakeBackups) Restore(ctx context.Context, id string, t dr.RestoreTarget) (*dr.Restored, error) {
	b.mu.Lock()
	fn := b.restoreFn
	b.restores = append(b.restores, t)
	b.mu.Unlock()
	if fn != nil {
		if err := fn(ctx); err != nil {
			return nil, err
		}
	}
	for _, p := range b.points {
		if p.ID == id {
			return &dr.Restored{Point: p, Bytes: 1 << 20, Tables: 12, Duration: time.Millisecond}, nil
		}
	}
	return nil, providers.Errorf(providers.NotFound, "no point %s", id)
}

func (b *fakeBackups) restoreCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.restores)
}

// fakeTargets hands out a target per environment copy.
type fakeTargets struct {
	mu       sync.Mutex
	released []string
	dsn      string
}

func (f *fakeTargets) Target(_ context.Context, env *environment.Environment, _ *environment.Inventory) (dr.RestoreTarget, error) {
	dsn := f.dsn
	if dsn == "" {
		dsn = "host=db." + env.Region + " dbname=" + env.Name + " password=hunter2-secret"
	}
	return dr.RestoreTarget{Database: providers.Secret(dsn), Media: "/srv/" + env.Name + "/media"}, nil
}

func (f *fakeTargets) Release(_ context.Context, env *environment.Environment) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, env.Name+"@"+env.Region)
	return nil
}

// fakeDNS is an in-memory DNS zone.
type fakeDNS struct {
	mu      sync.Mutex
	records map[string]cdn.Record
	points  int
	failN   int // PointHostname fails this many times (permanently coded)
	err     error
}

func newFakeDNS() *fakeDNS { return &fakeDNS{records: map[string]cdn.Record{}} }

func (d *fakeDNS) PointHostname(_ context.Context, r cdn.Record) (*cdn.Record, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.points++
	if d.failN > 0 {
		d.failN--
		return nil, providers.Errorf(providers.PermissionDenied, "token lacks DNS edit")
	}
	r.ID = fmt.Sprintf("rec-%d", len(d.records)+1)
	d.records[r.Name+"/"+string(r.Type)] = r
	return &r, nil
}

func (d *fakeDNS) LookupRecord(_ context.Context, zone, name string, typ cdn.RecordType) (*cdn.Record, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	r, ok := d.records[name+"/"+string(typ)]
	if !ok {
		return nil, providers.Errorf(providers.NotFound, "no record %s", name)
	}
	return &r, nil
}

func (d *fakeDNS) pointCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.points
}

// dbCheck stands in for the database health checks in memory-only tests.
type dbCheck struct{}

func (dbCheck) Name() string { return "database (fake)" }
func (dbCheck) Check(_ context.Context, t dr.HealthTarget) error {
	if t.Restored == nil || t.Database == "" {
		return errors.New("nothing restored")
	}
	return nil
}

type notices struct {
	mu   sync.Mutex
	list []dr.Notice
}

func (n *notices) Notify(_ context.Context, no dr.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, no)
	return nil
}

func (n *notices) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.list)
}

func autoApprove(by string) dr.Approver {
	return dr.ApproverFunc(func(ctx context.Context, req dr.ApprovalRequest) (dr.Approval, error) {
		return dr.Approval{Approved: true, By: by, Comment: "go"}, nil
	})
}

// fixture is a memory provider with an onboarded environment, a backup
// from an hour before the disaster, and a runner.
type fixture struct {
	t        *testing.T
	prov     *memory.Provider
	env      *environment.Environment
	backups  *fakeBackups
	targets  *fakeTargets
	dns      *fakeDNS
	notes    *notices
	journal  dr.Journal
	opts     dr.Options
	disaster time.Time
	onboard  *dr.Onboarding
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	prov := memory.New(nil)
	env := environment.Standard("shop", environment.Memory, primaryRegion)
	ob, err := dr.Onboard(ctx, prov, env, nil)
	require.NoError(t, err)
	// The environment runs in its primary region.
	rec, err := environment.NewReconciler(prov, nil)
	require.NoError(t, err)
	plan, err := rec.Plan(ctx, env, nil)
	require.NoError(t, err)
	_, err = rec.Apply(ctx, plan)
	require.NoError(t, err)

	disaster := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	j, err := dr.NewFileJournal(t.TempDir())
	require.NoError(t, err)
	f := &fixture{t: t, prov: prov, env: env, disaster: disaster, onboard: ob, journal: j,
		backups: &fakeBackups{points: []dr.Point{
			{ID: "p-old", Time: disaster.Add(-30 * time.Hour), CodeRef: "git:1111111"},
			{ID: "p-latest", Time: disaster.Add(-50 * time.Minute), CodeRef: "git:3f2c1e9"},
			{ID: "p-after", Time: disaster.Add(5 * time.Minute)},
		}},
		targets: &fakeTargets{}, dns: newFakeDNS(), notes: &notices{}}
	f.opts = dr.Options{Backups: f.backups, Targets: f.targets, Approver: autoApprove(contactEmail), Journal: j,
		DNS: f.dns, Notifier: f.notes, HealthChecks: []dr.HealthChecker{dbCheck{}, dr.WebNodesRunning{}},
		HealthInterval: 5 * time.Millisecond, HealthTimeout: 5 * time.Second}
	return f
}

func (f *fixture) runner(mod ...func(*dr.Options)) *dr.Runner {
	f.t.Helper()
	o := f.opts
	for _, m := range mod {
		m(&o)
	}
	r, err := dr.New(f.prov, &o)
	require.NoError(f.t, err)
	return r
}

func (f *fixture) request(m dr.Mode) dr.Request {
	return dr.Request{Environment: f.env, Mode: m, DisasterAt: f.disaster, Reason: "europe-west3 outage"}
}

// inventory lists what the provider holds in region for the environment
// named env (all environments when env is "").
func inventory(t *testing.T, prov *memory.Provider, region, env string) (instances, rules, addresses []string) {
	t.Helper()
	ctx := context.Background()
	var sel providers.Labels
	if env != "" {
		sel = providers.Labels{providers.LabelEnvironment: env}
	}
	ins, err := prov.ListInstances(ctx, region, sel)
	require.NoError(t, err)
	for _, in := range ins {
		instances = append(instances, in.Name)
	}
	fws, err := prov.ListFirewallRules(ctx, region, sel)
	require.NoError(t, err)
	for _, r := range fws {
		rules = append(rules, r.Name)
	}
	as, err := prov.ListAddresses(ctx, region, sel)
	require.NoError(t, err)
	for _, a := range as {
		addresses = append(addresses, a.Name)
	}
	return
}

// eventLog records events and can cancel a context on one of them.
type eventLog struct {
	mu     sync.Mutex
	events []dr.Event
	on     func(dr.Event)
}

func (l *eventLog) add(e dr.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	on := l.on
	l.mu.Unlock()
	if on != nil {
		on(e)
	}
}

func (l *eventLog) count(step dr.StepID, phase dr.EventPhase) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Step == step && e.Phase == phase {
			n++
		}
	}
	return n
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.events {
		fmt.Fprintf(&b, "%s %s %s\n", e.Step, e.Phase, e.Message)
	}
	return b.String()
}

var _ clock.Clock = clock.Real()
