package dr_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/dr"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

func TestDRRegion(t *testing.T) {
	tests := []struct {
		name    string
		kind    environment.ProviderKind
		region  string
		dr      string
		want    string
		wantErr string
	}{
		{name: "gcp default pair", kind: environment.GCP, region: "europe-west3", want: "europe-west4"},
		{name: "oci default pair", kind: environment.OCI, region: "eu-frankfurt-1", want: "eu-amsterdam-1"},
		{name: "override", kind: environment.GCP, region: "europe-west3", dr: "europe-west1", want: "europe-west1"},
		{name: "memory uses the catalog pair", kind: environment.Memory, region: "europe-west3", want: "europe-west4"},
		{name: "equal to primary", kind: environment.GCP, region: "europe-west3", dr: "europe-west3", wantErr: "must differ from the primary region"},
		{name: "unknown primary", kind: environment.GCP, region: "mars-north1", wantErr: `"mars-north1" is not a known gcp region`},
		{name: "unknown DR region", kind: environment.OCI, region: "eu-frankfurt-1", dr: "eu-atlantis-1", wantErr: `"eu-atlantis-1" is not a known oci region`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := environment.Standard("shop", tc.kind, tc.region)
			env.DR.Region = tc.dr
			got, err := dr.DRRegion(env)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, providers.InvalidArgument, providers.Code(err))
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	_, err := dr.DRRegion(nil)
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
}

func TestOnboardReservesBothAddresses(t *testing.T) {
	f := newFixture(t)
	ob := f.onboard
	assert.Equal(t, "shop-primary", ob.Primary.Name)
	assert.Equal(t, primaryRegion, ob.Primary.Region)
	assert.Equal(t, "shop-dr", ob.DR.Name)
	assert.Equal(t, drRegion, ob.DR.Region)
	assert.NotEmpty(t, ob.Primary.IP)
	assert.NotEmpty(t, ob.DR.IP)
	assert.NotEqual(t, ob.Primary.IP, ob.DR.IP)
	assert.Contains(t, ob.String(), ob.DR.IP)

	again, err := dr.Onboard(context.Background(), f.prov, f.env, nil)
	require.NoError(t, err)
	assert.Equal(t, ob.Primary.IP, again.Primary.IP, "idempotent")
	assert.Equal(t, ob.DR.IP, again.DR.IP, "idempotent")

	// Cold DR: nothing but the DR address in the DR region.
	ins, rules, addrs := inventory(t, f.prov, drRegion, "")
	assert.Empty(t, ins)
	assert.Empty(t, rules)
	assert.Equal(t, []string{"shop-dr"}, addrs)

	_, err = dr.Onboard(context.Background(), nil, f.env, nil)
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
	bad := f.env.Clone()
	bad.DR.Region = primaryRegion
	_, err = dr.Onboard(context.Background(), f.prov, bad, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dr.region")
}

func TestAssess(t *testing.T) {
	now := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	netFail := func(from string, ago time.Duration) dr.Probe {
		return dr.Probe{Target: "https://shop.example.com/", From: from, At: now.Add(-ago), Error: "i/o timeout", Network: true}
	}
	tests := []struct {
		name      string
		s         dr.Signals
		want      dr.Recommendation
		criterion string
		evidence  string
	}{
		{name: "healthy", s: dr.Signals{Status: dr.StatusOperational, Probes: []dr.Probe{{From: "a", OK: true, At: now}}},
			want: dr.NoAction, evidence: "environment reachable"},
		{name: "outage without recovery time", s: dr.Signals{Status: dr.StatusOutage, Since: now.Add(-20 * time.Minute)},
			want: dr.DeclareDR, criterion: dr.CriterionRegionDown, evidence: "no announced recovery time"},
		{name: "outage expected back in 30 minutes", s: dr.Signals{Status: dr.StatusOutage, ExpectedRecovery: now.Add(30 * time.Minute)},
			want: dr.Monitor, evidence: "(within 1h0m0s): wait"},
		{name: "outage expected back in 3 hours", s: dr.Signals{Status: dr.StatusOutage, ExpectedRecovery: now.Add(3 * time.Hour)},
			want: dr.DeclareDR, criterion: dr.CriterionRegionDown, evidence: "recovery expected in 3h0m0s"},
		{name: "degraded", s: dr.Signals{Status: dr.StatusDegraded}, want: dr.Monitor, evidence: "degraded"},
		{name: "regional network failure", s: dr.Signals{Status: dr.StatusOperational, Probes: []dr.Probe{
			{From: "a", OK: true, At: now.Add(-time.Hour)}, netFail("a", 3*time.Minute), netFail("b", 2*time.Minute), netFail("c", time.Minute)}},
			want: dr.DeclareDR, criterion: dr.CriterionRegionalNetwork, evidence: "3 network failures from 3 vantage point(s)"},
		{name: "network failures from one vantage point", s: dr.Signals{Probes: []dr.Probe{netFail("a", 3*time.Minute), netFail("a", 2*time.Minute), netFail("a", time.Minute)}},
			want: dr.Monitor},
		{name: "application errors are not a regional problem", s: dr.Signals{Probes: []dr.Probe{
			{From: "a", At: now, Error: "HTTP 500"}, {From: "b", At: now, Error: "HTTP 500"}, {From: "c", At: now, Error: "HTTP 500"}}},
			want: dr.Monitor},
		{name: "failures followed by a success", s: dr.Signals{Probes: []dr.Probe{netFail("a", 3*time.Minute), netFail("b", 2*time.Minute),
			netFail("c", 2*time.Minute), {From: "a", OK: true, At: now}}}, want: dr.NoAction},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Now, tc.s.Region = now, primaryRegion
			a := dr.Assess(tc.s, nil)
			assert.Equal(t, tc.want, a.Recommendation, a.String())
			assert.Equal(t, tc.criterion, a.Criterion)
			assert.NotEmpty(t, a.Evidence)
			if tc.evidence != "" {
				assert.Contains(t, a.String(), tc.evidence)
			}
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := dr.New(nil, &dr.Options{ApprovalTimeout: -1})
	require.Error(t, err)
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
	for _, want := range []string{"provider", "Options.Backups", "Options.Targets", "Options.Approver", "Options.Journal", "Options.ApprovalTimeout"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestFailover(t *testing.T) {
	f := newFixture(t)
	var ev eventLog
	r := f.runner(func(o *dr.Options) { o.OnEvent = ev.add })
	rep, err := r.Start(context.Background(), f.request(dr.ModeFailover))
	require.NoError(t, err, ev.String())
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	for _, e := range rep.Timeline {
		assert.Equal(t, dr.StepDone, e.Status, "step %s", e.Step)
		assert.Equal(t, 1, e.Attempts, "step %s", e.Step)
	}
	// Provisioned in the DR region with the environment's redundancy.
	ins, rules, addrs := inventory(t, f.prov, drRegion, "shop")
	primary, _, _ := inventory(t, f.prov, primaryRegion, "shop")
	assert.Len(t, ins, len(primary))
	assert.Len(t, ins, 20)
	assert.NotEmpty(t, rules)
	// The recovered environment uses the DR address reserved at onboarding
	// (the one customers whitelisted), and reserves no other.
	assert.Equal(t, []string{"shop-dr"}, addrs)
	// Restored the latest point before the disaster.
	require.NotNil(t, rep.Point)
	assert.Equal(t, "p-latest", rep.Point.ID)
	assert.Equal(t, 50*time.Minute, rep.RPO)
	assert.True(t, rep.RPOMet)
	assert.Equal(t, 1, f.backups.restoreCount())
	// DNS switched to the DR address, verified.
	require.Len(t, rep.DNSRecords, 1)
	assert.Equal(t, f.onboard.DR.IP, rep.DNSRecords[0].Content)
	assert.Equal(t, "shop.example.com", rep.DNSRecords[0].Name)
	assert.True(t, rep.DNSRecords[0].Proxied, "Cloudflare is the edge")
	// Notified, with the report.
	require.Equal(t, 1, f.notes.count())
	assert.Equal(t, contactEmail, f.notes.list[0].Contact.Email)
	assert.Contains(t, f.notes.list[0].Body, "RPO achieved 50m0s")
	// RTO from approval to healthy.
	assert.Equal(t, contactEmail, rep.ApprovedBy)
	assert.False(t, rep.HealthyAt.IsZero())
	assert.Positive(t, rep.RTO)
	assert.True(t, rep.RTOMet)
	assert.GreaterOrEqual(t, rep.RTO, rep.CriticalPathWork)
	text := rep.String()
	for _, want := range []string{"DR failover of shop", "RTO achieved", "RPO achieved 50m0s", "timeline:", "provision", "restore", "notify"} {
		assert.Contains(t, text, want)
	}
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	var back dr.Report
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, rep.RTO, back.RTO)
	// The slot is free again.
	_, err = f.journal.Active(context.Background(), "shop")
	assert.True(t, errors.Is(err, providers.ErrNotFound))
	// Independent steps ran in parallel: dns started before restore was done.
	assert.Equal(t, 1, ev.count(dr.StepDNS, dr.EventStarted))
}

func TestPrechecksRefuse(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(f *fixture, req *dr.Request, o *dr.Options)
		checks []string
		detail string
	}{
		{name: "missing backup", setup: func(f *fixture, _ *dr.Request, _ *dr.Options) { f.backups.points = nil },
			checks: []string{dr.CheckBackup}, detail: "no backup before"},
		{name: "stale backup", setup: func(f *fixture, _ *dr.Request, _ *dr.Options) { f.backups.points = f.backups.points[:1] },
			checks: []string{dr.CheckBackup}, detail: "more than the RPO objective 24h0m0s"},
		{name: "backup does not verify", setup: func(f *fixture, _ *dr.Request, _ *dr.Options) {
			f.backups.verifyErr = providers.Errorf(providers.Internal, "integrity: part db/0001 altered")
		}, checks: []string{dr.CheckBackup}, detail: "does not verify"},
		{name: "DR region equal to primary", setup: func(_ *fixture, req *dr.Request, _ *dr.Options) {
			req.Environment = req.Environment.Clone()
			req.Environment.DR.Region = primaryRegion
		}, checks: []string{dr.CheckRegions, dr.CheckSpec}, detail: "must differ from the primary region europe-west3"},
		{name: "unknown region", setup: func(_ *fixture, req *dr.Request, _ *dr.Options) {
			req.Environment = req.Environment.Clone()
			req.Environment.Provider = environment.GCP
			req.Environment.DR.Region = "europe-atlantis1"
		}, checks: []string{dr.CheckRegions}, detail: `"europe-atlantis1" is not a known gcp region`},
		{name: "DR region without the zones", setup: func(_ *fixture, req *dr.Request, _ *dr.Options) {
			req.Environment = req.Environment.Clone()
			req.Environment.DR.Region = "us-east1-dr-nowhere"
		}, checks: []string{dr.CheckTargetZones}, detail: "cannot list the zones"},
		{name: "DNS not configured", setup: func(_ *fixture, _ *dr.Request, o *dr.Options) { o.DNS = nil },
			checks: []string{dr.CheckDNS}, detail: "no DNS is configured"},
		{name: "DNS credentials fail", setup: func(f *fixture, _ *dr.Request, _ *dr.Options) {
			f.dns.err = providers.Errorf(providers.PermissionDenied, "invalid token")
		}, checks: []string{dr.CheckDNS}, detail: "DNS credentials or zone do not work"},
		{name: "DR address not reserved", setup: func(f *fixture, _ *dr.Request, _ *dr.Options) {
			require.NoError(t, f.prov.ReleaseAddress(context.Background(), drRegion, "shop-dr"))
		}, checks: []string{dr.CheckAddress}, detail: "reserve it with dr.Onboard"},
		{name: "already running in the DR region", setup: func(f *fixture, _ *dr.Request, _ *dr.Options) {
			_, err := f.prov.CreateInstance(context.Background(), providers.InstanceSpec{Name: "shop-web-9", Region: drRegion, Zone: drRegion + "-a",
				Labels: providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: "shop"}})
			require.NoError(t, err)
		}, checks: []string{dr.CheckTargetEmpty}, detail: "shop-web-9"},
		{name: "every failure at once", setup: func(f *fixture, _ *dr.Request, o *dr.Options) {
			f.backups.points = nil
			o.DNS = nil
			require.NoError(t, f.prov.ReleaseAddress(context.Background(), drRegion, "shop-dr"))
		}, checks: []string{dr.CheckBackup, dr.CheckDNS, dr.CheckAddress}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			req := f.request(dr.ModeFailover)
			o := f.opts
			tc.setup(f, &req, &o)
			r, err := dr.New(f.prov, &o)
			require.NoError(t, err)
			rep, err := r.Start(context.Background(), req)
			require.Error(t, err)
			assert.Equal(t, providers.FailedPrecondition, providers.Code(err))
			var pe *dr.PrecheckError
			require.True(t, errors.As(err, &pe), "%v", err)
			for _, c := range tc.checks {
				assert.True(t, pe.Has(c), "check %s should fail: %v", c, err)
			}
			if tc.detail != "" {
				assert.Contains(t, err.Error(), tc.detail)
			}
			assert.Equal(t, dr.RunRefused, rep.Status)
			// Nothing ran after the prechecks.
			assert.Equal(t, 0, f.backups.restoreCount())
			assert.Equal(t, 0, f.dns.pointCount())
			assert.Equal(t, 0, f.notes.count())
			for _, e := range rep.Timeline[1:] {
				assert.Equal(t, dr.StepPending, e.Status, "step %s", e.Step)
			}
			// A refused run does not hold the environment.
			_, err = f.journal.Active(context.Background(), req.Environment.Name)
			assert.True(t, errors.Is(err, providers.ErrNotFound))
		})
	}
}

func TestNoApprovalNothingAfterTheGate(t *testing.T) {
	tests := []struct {
		name     string
		approver dr.Approver
		status   dr.RunStatus
		code     providers.ErrorCode
		fake     bool
	}{
		{name: "refused", approver: dr.ApproverFunc(func(context.Context, dr.ApprovalRequest) (dr.Approval, error) {
			return dr.Approval{Approved: false, By: contactEmail, Comment: "region is coming back"}, nil
		}), status: dr.RunRejected},
		{name: "someone else approves", approver: autoApprove("intern@example.com"), status: dr.RunFailed, code: providers.PermissionDenied},
		{name: "approver error", approver: dr.ApproverFunc(func(context.Context, dr.ApprovalRequest) (dr.Approval, error) {
			return dr.Approval{}, providers.Errorf(providers.Unavailable, "paging service down")
		}), status: dr.RunFailed, code: providers.Unavailable},
		{name: "timeout", approver: dr.ApproverFunc(func(ctx context.Context, _ dr.ApprovalRequest) (dr.Approval, error) {
			<-ctx.Done()
			return dr.Approval{}, ctx.Err()
		}), status: dr.RunFailed, code: providers.DeadlineExceeded, fake: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			fake := clock.NewFake(time.Now())
			r := f.runner(func(o *dr.Options) {
				o.Approver = tc.approver
				o.ApprovalTimeout = 30 * time.Minute
				if tc.fake {
					o.Clock = fake
				}
			})
			stop := make(chan struct{})
			if tc.fake {
				// Time passes while the run waits (lease renewals and the
				// approval timeout both wait on the clock).
				go func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(time.Millisecond):
						}
						if fake.Waiters() > 0 {
							fake.Advance(5 * time.Minute)
						}
					}
				}()
			}
			rep, err := r.Start(context.Background(), f.request(dr.ModeFailover))
			close(stop)
			require.Error(t, err)
			if tc.code != providers.OK {
				assert.Equal(t, tc.code, providers.Code(err), "%v", err)
			} else {
				assert.True(t, errors.Is(err, dr.ErrRejected), "%v", err)
			}
			assert.Equal(t, tc.status, rep.Status)
			ins, _, _ := inventory(t, f.prov, drRegion, "")
			assert.Empty(t, ins, "nothing provisioned without approval")
			assert.Equal(t, 0, f.backups.restoreCount())
			assert.Equal(t, 0, f.dns.pointCount())
			assert.Equal(t, 0, f.notes.count())
			for _, e := range rep.Timeline[2:] {
				assert.Equal(t, dr.StepPending, e.Status, "step %s", e.Step)
			}
			assert.True(t, rep.ApprovedAt.IsZero())
		})
	}
}

func TestKilledAfterEachStepResumes(t *testing.T) {
	type kill struct {
		mode  dr.Mode
		step  dr.StepID
		phase dr.EventPhase
	}
	var cases []kill
	for _, m := range []dr.Mode{dr.ModeFailover, dr.ModeDrill, dr.ModeFailback} {
		for _, d := range dr.StepsFor(m) {
			cases = append(cases, kill{m, d.ID, dr.EventStarted}, kill{m, d.ID, dr.EventDone})
		}
	}
	for _, tc := range cases {
		t.Run(string(tc.mode)+"-"+string(tc.step)+"-"+string(tc.phase), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			var ev eventLog
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ev.on = func(e dr.Event) {
				if e.Step == tc.step && e.Phase == tc.phase {
					cancel()
				}
			}
			r1 := f.runner(func(o *dr.Options) { o.OnEvent = ev.add })
			rep, err := r1.Start(ctx, f.request(tc.mode))
			require.Error(t, err)
			assert.Equal(t, providers.Canceled, providers.Code(err))
			id := rep.RunID

			// A new process: a new runner on the same journal.
			ev.on = nil
			r2 := f.runner(func(o *dr.Options) { o.OnEvent = ev.add })
			active, err := f.journal.Active(context.Background(), "shop")
			require.NoError(t, err, "the killed run still holds the environment")
			assert.Equal(t, id, active.ID)
			rep, err = r2.Resume(context.Background(), id)
			require.NoError(t, err, ev.String())
			assert.Equal(t, dr.RunSucceeded, rep.Status)

			killedIndex := -1
			steps := dr.StepsFor(tc.mode)
			for i, d := range steps {
				if d.ID == tc.step {
					killedIndex = i
				}
			}
			for i, d := range steps {
				n := ev.count(d.ID, dr.EventStarted)
				switch {
				case d.ID == tc.step && tc.phase == dr.EventDone:
					assert.Equal(t, 1, n, "step %s completed before the kill must not run again", d.ID)
				case i < killedIndex && !(tc.step == dr.StepDNS && d.ID == dr.StepRestore):
					assert.Equal(t, 1, n, "step %s completed before the kill must not run again", d.ID)
				default:
					assert.LessOrEqual(t, n, 2, "step %s", d.ID)
					assert.GreaterOrEqual(t, n, 1, "step %s", d.ID)
				}
			}
			assert.LessOrEqual(t, f.backups.restoreCount(), 2)
			assert.GreaterOrEqual(t, f.backups.restoreCount(), 1)
			// A notification sent just as the process was killed may be
			// sent again; nothing else is.
			assert.GreaterOrEqual(t, f.notes.count(), 1)
			assert.LessOrEqual(t, f.notes.count(), 1+boolInt(tc.step == dr.StepNotify && tc.phase == dr.EventStarted))
			switch tc.mode {
			case dr.ModeFailover:
				ins, _, _ := inventory(t, f.prov, drRegion, "shop")
				assert.Len(t, ins, 20, "no duplicate instances")
			case dr.ModeFailback:
				ins, _, _ := inventory(t, f.prov, primaryRegion, "shop")
				assert.Len(t, ins, 20, "no duplicate instances")
				ins, rules, addrs := inventory(t, f.prov, drRegion, "")
				assert.Empty(t, ins)
				assert.Empty(t, rules)
				assert.Equal(t, []string{"shop-dr"}, addrs, "the DR address stays reserved")
			default:
				ins, rules, addrs := inventory(t, f.prov, drRegion, "")
				assert.Empty(t, ins, "the drill copy is gone")
				assert.Empty(t, rules)
				assert.Equal(t, []string{"shop-dr"}, addrs)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestCustomerManagedDomainGetsManualDNSStep(t *testing.T) {
	f := newFixture(t)
	f.env.CustomerManagedDomain = true
	f.env.CDN.Hostnames = []string{"shop.example.com", "www.shop.example.com"}
	r := f.runner(func(o *dr.Options) { o.DNS = nil })
	rep, err := r.Start(context.Background(), f.request(dr.ModeFailover))
	require.NoError(t, err)
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	require.Len(t, rep.Manual, 1)
	m := rep.Manual[0]
	assert.Equal(t, dr.StepDNS, m.Step)
	assert.Contains(t, m.Who, "owner of the customer-managed domain")
	assert.Contains(t, m.What, "shop.example.com A "+f.onboard.DR.IP)
	assert.Contains(t, m.What, "www.shop.example.com A "+f.onboard.DR.IP)
	require.Len(t, m.Records, 2)
	assert.Contains(t, rep.String(), "MANUAL STEP (dns)")
	for _, e := range rep.Timeline {
		if e.Step == dr.StepDNS {
			assert.Equal(t, dr.StepManual, e.Status)
		}
	}
	require.Equal(t, 1, f.notes.count())
	assert.Contains(t, f.notes.list[0].Subject, "action needed: DNS")
}

func TestDrillLeavesNothing(t *testing.T) {
	f := newFixture(t)
	var ev eventLog
	r := f.runner(func(o *dr.Options) { o.OnEvent = ev.add })
	before, _, _ := inventory(t, f.prov, primaryRegion, "")
	rep, err := r.Start(context.Background(), f.request(dr.ModeDrill))
	require.NoError(t, err, ev.String())
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	assert.Equal(t, "shop-drill", rep.Target)
	assert.False(t, rep.HealthyAt.IsZero(), "the drill copy was healthy before teardown")
	assert.Positive(t, rep.RTO)
	assert.Empty(t, rep.Leftovers)
	// Zero resources of the drill left in the DR region; the DR address of
	// the real environment stays.
	ins, rules, addrs := inventory(t, f.prov, drRegion, "")
	assert.Empty(t, ins)
	assert.Empty(t, rules)
	assert.Equal(t, []string{"shop-dr"}, addrs)
	left, err := dr.Leftovers(context.Background(), f.prov, "shop-drill", drRegion)
	require.NoError(t, err)
	assert.Empty(t, left)
	// DNS untouched, the primary untouched, the drill's data released.
	assert.Equal(t, 0, f.dns.pointCount())
	after, _, _ := inventory(t, f.prov, primaryRegion, "")
	assert.Equal(t, before, after)
	assert.Equal(t, []string{"shop-drill@" + drRegion}, f.targets.released)
	require.Len(t, f.backups.restores, 1)
	assert.Contains(t, f.backups.restores[0].Media, "shop-drill")
	assert.Equal(t, 1, ev.count(dr.StepVerifyClean, dr.EventDone))
}

func TestDrillCancelledAfterFailureTearsDown(t *testing.T) {
	f := newFixture(t)
	r := f.runner(func(o *dr.Options) {
		o.HealthChecks = []dr.HealthChecker{failingCheck{}}
		o.HealthTimeout = 20 * time.Millisecond
	})
	rep, err := r.Start(context.Background(), f.request(dr.ModeDrill))
	require.Error(t, err)
	assert.Equal(t, dr.RunFailed, rep.Status)
	ins, _, _ := inventory(t, f.prov, drRegion, "shop-drill")
	require.NotEmpty(t, ins, "the failed drill copy is there to inspect")

	rep, err = r.Cancel(context.Background(), rep.RunID, contactEmail, "drill abandoned")
	require.NoError(t, err)
	require.NotNil(t, rep)
	assert.Equal(t, dr.RunCancelled, rep.Status)
	ins, rules, addrs := inventory(t, f.prov, drRegion, "")
	assert.Empty(t, ins)
	assert.Empty(t, rules)
	assert.Equal(t, []string{"shop-dr"}, addrs)
	_, err = f.journal.Active(context.Background(), "shop")
	assert.True(t, errors.Is(err, providers.ErrNotFound))
}

type failingCheck struct{}

func (failingCheck) Name() string { return "always failing" }
func (failingCheck) Check(context.Context, dr.HealthTarget) error {
	return errors.New("HTTP 502 from the web nodes")
}

func TestSecondRunRefusedFileJournal(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	waiting := make(chan struct{}, 1)
	r := f.runner(func(o *dr.Options) {
		o.Approver = dr.ApproverFunc(func(ctx context.Context, _ dr.ApprovalRequest) (dr.Approval, error) {
			waiting <- struct{}{}
			<-release
			return dr.Approval{Approved: true, By: contactEmail}, nil
		})
	})
	var wg sync.WaitGroup
	wg.Add(1)
	var first *dr.Report
	var firstErr error
	go func() {
		defer wg.Done()
		first, firstErr = r.Start(context.Background(), f.request(dr.ModeFailover))
	}()
	<-waiting
	// Same journal, another runner (another controller), any mode.
	_, err := f.runner().Start(context.Background(), f.request(dr.ModeDrill))
	require.Error(t, err)
	assert.True(t, errors.Is(err, dr.ErrActiveRun), "%v", err)
	assert.Equal(t, providers.FailedPrecondition, providers.Code(err))
	assert.Contains(t, err.Error(), "shop-failover-")
	close(release)
	wg.Wait()
	require.NoError(t, firstErr)
	assert.Equal(t, dr.RunSucceeded, first.Status)
	// Once over, the next run may start (a drill after the failover has
	// its own target).
	f2 := f.runner()
	_, err = f2.Precheck(context.Background(), f.request(dr.ModeDrill))
	require.NoError(t, err)
}

func TestRetryAndSkip(t *testing.T) {
	f := newFixture(t)
	f.dns.failN = 1
	r := f.runner()
	rep, err := r.Start(context.Background(), f.request(dr.ModeFailover))
	require.Error(t, err)
	assert.Equal(t, providers.PermissionDenied, providers.Code(err))
	assert.Equal(t, dr.RunFailed, rep.Status)
	_, err = r.Resume(context.Background(), rep.RunID)
	require.Error(t, err, "a failed step needs Retry or Skip")
	assert.Contains(t, err.Error(), "Retry or Skip")
	_, err = r.Skip(context.Background(), rep.RunID, dr.StepApproval, "in a hurry")
	require.Error(t, err)
	_, err = r.Skip(context.Background(), rep.RunID, dr.StepDNS, "")
	require.Error(t, err, "a reason is required")

	rep, err = r.Retry(context.Background(), rep.RunID, dr.StepDNS)
	require.NoError(t, err)
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	for _, e := range rep.Timeline {
		if e.Step == dr.StepDNS {
			assert.Equal(t, 2, e.Attempts)
		} else {
			assert.Equal(t, 1, e.Attempts, "step %s not redone", e.Step)
		}
	}
	assert.Equal(t, 1, f.backups.restoreCount())

	// Skip with a reason.
	g := newFixture(t)
	g.dns.failN = 100
	rg := g.runner()
	rep, err = rg.Start(context.Background(), g.request(dr.ModeFailover))
	require.Error(t, err)
	rep, err = rg.Skip(context.Background(), rep.RunID, dr.StepDNS, "DNS switched by hand in the registrar's console")
	require.NoError(t, err)
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	assert.Contains(t, rep.String(), "reason: DNS switched by hand")
}

func TestPauseAndResume(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	waiting := make(chan string, 1)
	r := f.runner(func(o *dr.Options) {
		o.Approver = dr.ApproverFunc(func(ctx context.Context, req dr.ApprovalRequest) (dr.Approval, error) {
			waiting <- req.RunID
			<-release
			return dr.Approval{Approved: true, By: "Technical Contact"}, nil
		})
	})
	done := make(chan *dr.Report, 1)
	go func() {
		rep, err := r.Start(context.Background(), f.request(dr.ModeFailover))
		assert.NoError(t, err)
		done <- rep
	}()
	id := <-waiting
	require.NoError(t, r.Pause(context.Background(), id, "sre@example.com", "waiting for the provider's next update"))
	close(release)
	rep := <-done
	assert.Equal(t, dr.RunPaused, rep.Status)
	assert.Equal(t, "Technical Contact", rep.ApprovedBy, "the contact's name also identifies them")
	ins, _, _ := inventory(t, f.prov, drRegion, "")
	assert.Empty(t, ins, "paused before provisioning")

	rep, err := r.Resume(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	for _, e := range rep.Timeline {
		assert.Equal(t, 1, e.Attempts, "step %s", e.Step)
	}
}

func TestCancelBeforeProvisioning(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	waiting := make(chan string, 1)
	r := f.runner(func(o *dr.Options) {
		o.Approver = dr.ApproverFunc(func(ctx context.Context, req dr.ApprovalRequest) (dr.Approval, error) {
			waiting <- req.RunID
			<-release
			return dr.Approval{Approved: true, By: contactEmail}, nil
		})
	})
	done := make(chan *dr.Report, 1)
	go func() {
		rep, err := r.Start(context.Background(), f.request(dr.ModeFailover))
		assert.NoError(t, err)
		done <- rep
	}()
	id := <-waiting
	rep, err := r.Cancel(context.Background(), id, contactEmail, "region back")
	require.NoError(t, err)
	assert.Nil(t, rep, "the driving goroutine ends the run")
	// The gate notices the cancellation without waiting for the approver.
	rep = <-done
	close(release)
	assert.Equal(t, dr.RunCancelled, rep.Status)
	assert.Contains(t, rep.Reason, "cancelled by ops@example.com: region back")
	assert.Contains(t, rep.Timeline[1].Error, "cancelled by ops@example.com while waiting for approval")
	ins, _, _ := inventory(t, f.prov, drRegion, "")
	assert.Empty(t, ins)
	_, err = r.Resume(context.Background(), id)
	assert.Equal(t, providers.FailedPrecondition, providers.Code(err), "a cancelled run is over")
}

func TestSecretsStayOut(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	j, err := dr.NewFileJournal(dir)
	require.NoError(t, err)
	r := f.runner(func(o *dr.Options) { o.Journal = j })
	rep, err := r.Start(context.Background(), f.request(dr.ModeFailover))
	require.NoError(t, err)
	require.NotEmpty(t, f.backups.restores)
	assert.Contains(t, f.backups.restores[0].Database.Reveal(), "hunter2-secret", "the restore got the real DSN")
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "hunter2")
	assert.NotContains(t, rep.String(), "hunter2")
	entries, err := filepath.Glob(filepath.Join(dir, "runs", "*.json*"))
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		data, err := os.ReadFile(e)
		require.NoError(t, err)
		assert.NotContains(t, string(data), "hunter2")
	}
	tgt := dr.RestoreTarget{Database: "password=hunter2"}
	b, err = json.Marshal(tgt)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "hunter2")
}

func TestFailback(t *testing.T) {
	f := newFixture(t)
	r := f.runner()
	ctx := context.Background()
	require.NoError(t, f.prov.InjectRegionOutage(primaryRegion))
	rep, err := r.Start(ctx, f.request(dr.ModeFailover))
	require.NoError(t, err)
	require.Equal(t, dr.RunSucceeded, rep.Status)
	require.NoError(t, f.prov.RecoverRegion(primaryRegion))

	// Backups taken in the DR region since.
	f.backups.points = append(f.backups.points, dr.Point{ID: "p-dr", Time: time.Now().Add(-time.Minute)})
	rep, err = r.Start(ctx, dr.Request{Environment: f.env, Mode: dr.ModeFailback, Reason: "europe-west3 healthy again"})
	require.NoError(t, err, "%v", rep)
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	assert.Equal(t, drRegion, rep.FromRegion)
	assert.Equal(t, primaryRegion, rep.ToRegion)
	assert.Equal(t, "p-dr", rep.Point.ID)
	last := f.backups.restores[len(f.backups.restores)-1]
	assert.True(t, last.Replace, "failback restores over the old primary")
	require.Len(t, rep.DNSRecords, 1)
	assert.Equal(t, f.onboard.Primary.IP, rep.DNSRecords[0].Content)
	// The DR copy is decommissioned; the DR address stays reserved.
	ins, rules, addrs := inventory(t, f.prov, drRegion, "")
	assert.Empty(t, ins)
	assert.Empty(t, rules)
	assert.Equal(t, []string{"shop-dr"}, addrs)
	ins, _, _ = inventory(t, f.prov, primaryRegion, "shop")
	assert.Len(t, ins, 20)
}

func TestStartRejectsBadRequests(t *testing.T) {
	f := newFixture(t)
	r := f.runner()
	_, err := r.Start(context.Background(), dr.Request{Mode: "teleport", RunID: "Bad ID"})
	require.Error(t, err)
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
	for _, want := range []string{"Request.Environment", "Request.Mode", "Request.RunID"} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = r.Resume(context.Background(), "nope")
	assert.True(t, errors.Is(err, providers.ErrNotFound))
	assert.True(t, strings.HasPrefix(dr.DrillName(strings.Repeat("a", 40)), strings.Repeat("a", 34)))
	assert.LessOrEqual(t, len(dr.DrillName(strings.Repeat("a", 40))), 40)
}
