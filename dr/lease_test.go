package dr_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/dr"
	"github.com/orocloud/orocloud-go/providers"
)

func testLease(t *testing.T, j dr.Journal) {
	ctx := context.Background()
	require.NoError(t, j.Create(ctx, &dr.RunState{ID: "lease-run", Environment: "lease", Status: dr.RunRunning}))
	now := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	require.NoError(t, j.Claim(ctx, "lease-run", "a", now, time.Minute))
	require.NoError(t, j.Claim(ctx, "lease-run", "a", now.Add(10*time.Second), time.Minute), "renewal")
	err := j.Claim(ctx, "lease-run", "b", now.Add(30*time.Second), time.Minute)
	require.Error(t, err)
	assert.True(t, errors.Is(err, dr.ErrRunBusy), "%v", err)
	assert.Equal(t, providers.FailedPrecondition, providers.Code(err))
	assert.Contains(t, err.Error(), "driven by a")
	// a died: its lease (renewed at +10s) expires at +70s.
	require.NoError(t, j.Claim(ctx, "lease-run", "b", now.Add(71*time.Second), time.Minute))
	require.NoError(t, j.Release(ctx, "lease-run", "a"), "a no longer holds it: no-op")
	err = j.Claim(ctx, "lease-run", "c", now.Add(72*time.Second), time.Minute)
	assert.True(t, errors.Is(err, dr.ErrRunBusy))
	// Fencing: a runner whose lease went to b cannot write.
	err = j.Save(ctx, &dr.RunState{ID: "lease-run", Environment: "lease", Status: dr.RunRunning, Driver: "a"})
	assert.True(t, errors.Is(err, dr.ErrRunBusy), "%v", err)
	require.NoError(t, j.Save(ctx, &dr.RunState{ID: "lease-run", Environment: "lease", Status: dr.RunRunning, Driver: "b"}))
	require.NoError(t, j.Release(ctx, "lease-run", "b"))
	require.NoError(t, j.Claim(ctx, "lease-run", "c", now.Add(72*time.Second), time.Minute))
	err = j.Claim(ctx, "nope", "c", now, time.Minute)
	assert.True(t, errors.Is(err, providers.ErrNotFound), "%v", err)
}

func TestFileJournalLease(t *testing.T) {
	j, err := dr.NewFileJournal(t.TempDir())
	require.NoError(t, err)
	testLease(t, j)
}

func TestPGJournalLease(t *testing.T) {
	srv := sharedServer(t)
	testLease(t, pgJournal(t, srv, freshDB(t, srv)))
}

// A run driven by one runner cannot be resumed, retried or cancelled-and-
// driven by another at the same time.
func TestRunDrivenElsewhereIsBusy(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	waiting := make(chan string, 1)
	r1 := f.runner(func(o *dr.Options) {
		o.Owner = "controller-1"
		o.Approver = dr.ApproverFunc(func(ctx context.Context, req dr.ApprovalRequest) (dr.Approval, error) {
			waiting <- req.RunID
			<-release
			return dr.Approval{Approved: true, By: contactEmail}, nil
		})
	})
	done := make(chan error, 1)
	go func() {
		_, err := r1.Start(context.Background(), f.request(dr.ModeFailover))
		done <- err
	}()
	id := <-waiting
	r2 := f.runner(func(o *dr.Options) { o.Owner = "controller-2" })
	_, err := r2.Resume(context.Background(), id)
	require.Error(t, err)
	assert.True(t, errors.Is(err, dr.ErrRunBusy), "%v", err)
	assert.Contains(t, err.Error(), "controller-1")
	close(release)
	require.NoError(t, <-done)
	// Once the run is over, the lease is released with it.
	rep, err := r2.Status(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, dr.RunSucceeded, rep.Status)
}

// The driving runner renews its lease while a long step runs: another
// controller cannot take the run over, even long after one lease period.
func TestLeaseRenewedDuringLongStep(t *testing.T) {
	f := newFixture(t)
	var intruder error
	f.backups.restoreFn = func(ctx context.Context) error {
		time.Sleep(200 * time.Millisecond) // 4 lease periods
		act, err := f.journal.Active(ctx, "shop")
		if err != nil {
			return err
		}
		intruder = f.journal.Claim(ctx, act.ID, "intruder", time.Now(), 50*time.Millisecond)
		return nil
	}
	rep, err := f.runner(func(o *dr.Options) { o.LeaseTTL = 50 * time.Millisecond }).Start(context.Background(), f.request(dr.ModeFailover))
	require.NoError(t, err)
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	assert.True(t, errors.Is(intruder, dr.ErrRunBusy), "%v", intruder)
}

// Failback waits for the primary region to be healthy again: while it is
// down, the prechecks refuse it.
func TestFailbackRefusedWhilePrimaryIsDown(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.prov.InjectRegionOutage(primaryRegion))
	checks, err := f.runner().Precheck(context.Background(), dr.Request{Environment: f.env, Mode: dr.ModeFailback})
	require.Error(t, err)
	var pe *dr.PrecheckError
	require.True(t, errors.As(err, &pe), "%v", err)
	assert.True(t, pe.Has(dr.CheckTargetZones), "%v", err)
	assert.Contains(t, err.Error(), "cannot list the zones of europe-west3")
	assert.NotEmpty(t, checks)
}
