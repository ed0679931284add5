package failover

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/providers"
)

// Synchronous mode, a writer committing continuously, the primary's node
// killed: every acknowledged row survives. A planned switchover first, then
// three kills, the killed primary rejoining (pg_rewind) in between.
func TestZeroLossSwitchoverAndRepeatedNodeLoss(t *testing.T) {
	t.Parallel()
	c := newCluster(t, true)
	ctl, _ := c.start(nil)
	ctx := context.Background()

	waitSync := func(primary string) {
		waitUntil(t, 20*time.Second, "a synchronous standby of "+primary, func() bool {
			cn, err := c.servers[primary].Connect(ctx, "postgres")
			if err != nil {
				return false
			}
			defer cn.Close(ctx)
			var n int
			return cn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync','quorum')").Scan(&n) == nil && n > 0 && !ctl.Status().SyncDegraded
		})
	}

	// Planned switchover p -> s1 under load, zero loss, p rejoins.
	w := startWriter(ctl.Router(), 5*time.Millisecond, 0)
	waitUntil(t, 10*time.Second, "writes", func() bool { return w.ackedCount() > 20 })
	require.NoError(t, ctl.Switchover(ctx, "s1"))
	waitUntil(t, 10*time.Second, "writes after switchover", func() bool { return w.ackedCount() > 60 })
	acked := w.stop()
	assert.Empty(t, missing(t, c.servers["s1"], acked), "switchover lost acknowledged rows")
	assert.Equal(t, "s1", ctl.Status().Primary)
	assert.False(t, ctl.Status().IsFenced("p"), "p rejoined")
	assert.True(t, inRecovery(t, c.servers["p"]))

	next := int64(1_000_000)
	for trial := range 3 {
		primary := ctl.Status().Primary
		standby := map[string]string{"p": "s1", "s1": "p"}[primary]
		waitSync(primary)
		routed := c.events.count(EventRouted)
		w := startWriter(ctl.Router(), 2*time.Millisecond, next)
		next += 1_000_000
		waitUntil(t, 10*time.Second, "writes", func() bool { return w.ackedCount() > 30 })
		before := w.ackedCount()
		c.servers[primary].Kill() // node loss: postmaster and every backend at once
		ev := c.events.wait(t, EventRouted, routed, 20*time.Second)
		assert.Equal(t, standby, ev.Target)
		waitUntil(t, 10*time.Second, "writes on the new primary", func() bool { return w.ackedCount() > before+30 })
		acked := w.stop()
		assert.Empty(t, missing(t, c.servers[standby], acked), "trial %d lost acknowledged rows", trial)
		for _, e := range c.events.all() {
			if e.Kind == EventPromoted && e.Target == standby {
				assert.True(t, e.Synchronous, "promotion should be known synchronous")
			}
		}
		t.Logf("trial %d: %s -> %s, routed %s after detection, %d rows acked", trial, primary, standby, ev.Duration, len(acked))
		if trial < 2 {
			require.NoError(t, ctl.Rejoin(ctx, primary))
		}
	}
}

// Standby down when the primary dies: no promotion of a stale node, and a
// clear event for each reason.
func TestStandbyDownNoStalePromotion(t *testing.T) {
	t.Parallel()
	c := newCluster(t, true)
	ctl, _ := c.start(&Options{MaxLagBytes: 4096})
	ctx := context.Background()
	c.servers["s1"].Kill()
	// SyncAvailable: after a detection window the primary commits alone.
	c.events.wait(t, EventSyncDegraded, 0, 10*time.Second)
	w := startWriter(ctl.Router(), time.Millisecond, 0)
	waitUntil(t, 20*time.Second, "writes without the standby", func() bool { return w.ackedCount() > 300 })
	w.stop()
	c.servers["p"].Kill()
	ev := c.events.wait(t, EventElectionFailed, 0, 10*time.Second)
	assert.ErrorIs(t, ev.Err, providers.ErrUnavailable, "first reason: no standby reachable")

	require.NoError(t, c.servers["s1"].Restart(ctx)) // comes back stale
	waitUntil(t, 10*time.Second, "a lag refusal", func() bool {
		for _, e := range c.events.all() {
			if e.Kind == EventElectionFailed && errors.Is(e.Err, providers.ErrFailedPrecondition) {
				assert.Contains(t, e.Err.Error(), "lags")
				return true
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond)
	assert.True(t, inRecovery(t, c.servers["s1"]), "a stale standby was promoted")
	assert.Zero(t, c.events.count(EventPromoted))
	_, err := ctl.Router().Primary()
	assert.ErrorIs(t, err, providers.ErrUnavailable, "the router must not hand out the dead primary")
}

// A controller killed between two steps of a failover: a new controller on
// the same status file finishes it.
func TestResumeAfterControllerCrash(t *testing.T) {
	t.Parallel()
	c := newCluster(t, true)
	store, err := NewFileStore(filepath.Join(t.TempDir(), "status.json"))
	require.NoError(t, err)
	ctl1, done := c.start(&Options{Store: store, beforeStep: func(p Pending) error {
		if p.Step == StepPromote {
			return errors.New("crash")
		}
		return nil
	}})
	_ = ctl1
	c.servers["p"].Kill()
	select {
	case err := <-done:
		require.ErrorIs(t, err, errStopped)
	case <-time.After(20 * time.Second):
		t.Fatal("first controller did not stop at the promote step")
	}
	st, ok, err := store.Load(context.Background())
	require.NoError(t, err)
	require.True(t, ok)
	require.NotNil(t, st.Pending)
	assert.Equal(t, StepPromote, st.Pending.Step)
	assert.Equal(t, "s1", st.Pending.To)
	assert.True(t, inRecovery(t, c.servers["s1"]))

	resumed := c.events.count(EventResumed)
	ctl2, _ := c.start(&Options{Store: store})
	assert.Equal(t, resumed+1, c.events.count(EventResumed))
	ep, err := ctl2.Router().Primary()
	require.NoError(t, err)
	assert.Equal(t, "s1", ep.Node.Name)
	assert.False(t, inRecovery(t, c.servers["s1"]))
	st = ctl2.Status()
	assert.Nil(t, st.Pending)
	assert.Equal(t, int64(2), st.Epoch)
	assert.True(t, st.IsFenced("p"))
}

// A stall shorter than half the detection window never fails over; a
// partition (long stall) does, and once it heals the router still hands out
// exactly one primary while the old one is fenced read-only.
func TestStallThenPartitionHeals(t *testing.T) {
	t.Parallel()
	c := newCluster(t, true)
	fenceErr := errors.New("cloud API unreachable")
	ctl, _ := c.start(&Options{Fencer: FencerFunc(func(context.Context, Node) error { return fenceErr })})
	ctx := context.Background()
	h := ctl.opts.Health
	half := h.WorstCaseDetection() / 2
	for range 3 {
		require.NoError(t, c.servers["p"].Pause())
		time.Sleep(half)
		require.NoError(t, c.servers["p"].Resume())
		time.Sleep(h.WorstCaseDetection())
	}
	assert.Zero(t, c.events.count(EventDetected), "a brief stall triggered detection: %s", c.events.summary())
	ep, err := ctl.Router().Primary()
	require.NoError(t, err)
	assert.Equal(t, "p", ep.Node.Name)

	// Partition: p stalls until the failover completes, then comes back.
	require.NoError(t, c.servers["p"].Pause())
	c.events.wait(t, EventRouted, c.events.count(EventRouted), 20*time.Second)
	require.NoError(t, c.servers["p"].Resume())
	assert.GreaterOrEqual(t, c.events.count(EventFenceFailed), 1)

	waitUntil(t, 10*time.Second, "old primary fenced read-only", func() bool {
		cn, err := c.servers["p"].Connect(ctx, "postgres")
		if err != nil {
			return false
		}
		defer cn.Close(ctx)
		var ro string
		return cn.QueryRow(ctx, "SHOW default_transaction_read_only").Scan(&ro) == nil && ro == "on"
	})
	for range 20 {
		ep, err := ctl.Router().Primary()
		require.NoError(t, err)
		assert.Equal(t, "s1", ep.Node.Name)
		cfg, err := ctl.Router().ConnConfig(ctx)
		require.NoError(t, err)
		assert.Equal(t, uint16(c.servers["s1"].Port()), cfg.Port)
	}
	cn, err := ctl.Router().Connect(ctx)
	require.NoError(t, err)
	_, err = cn.Exec(ctx, "INSERT INTO t(id) VALUES (-1)")
	require.NoError(t, err)
	cn.Close(ctx)
	// The healed old primary refuses writes.
	old, err := c.servers["p"].Connect(ctx, "postgres")
	require.NoError(t, err)
	defer old.Close(ctx)
	_, err = old.Exec(ctx, "INSERT INTO t(id) VALUES (-2)")
	require.Error(t, err)
}
