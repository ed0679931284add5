package failover

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SyncStrict: after a failover of a two-node pair the new primary names the
// old one as its synchronous standby, so commits wait (nothing is
// acknowledged on one node only) until the old primary rejoins. A pgxpool
// configured by the router follows the primary.
func TestStrictModeWaitsForRejoin(t *testing.T) {
	t.Parallel()
	c := newCluster(t, true)
	ctl, _ := c.start(&Options{Sync: SyncStrict})
	ctx := context.Background()

	cfg, err := pgxpool.ParseConfig("user=postgres dbname=postgres sslmode=disable pool_max_conns=2")
	require.NoError(t, err)
	ctl.Router().ConfigurePool(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	var port int
	require.NoError(t, pool.QueryRow(ctx, "SELECT inet_server_port()").Scan(&port))
	assert.Equal(t, c.servers["p"].Port(), port)

	routed := c.events.count(EventRouted)
	c.servers["p"].Kill()
	c.events.wait(t, EventRouted, routed, 20*time.Second)

	// The pool drops connections to the old primary and reaches the new one.
	waitUntil(t, 10*time.Second, "pool on the new primary", func() bool {
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return pool.QueryRow(qctx, "SELECT inet_server_port()").Scan(&port) == nil && port == c.servers["s1"].Port()
	})
	var names string
	require.NoError(t, pool.QueryRow(ctx, "SHOW synchronous_standby_names").Scan(&names))
	assert.Equal(t, "ANY 1 (p)", names)

	// A commit waits for the missing synchronous standby.
	wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = pool.Exec(wctx, "INSERT INTO t(id) VALUES (1)")
	cancel()
	require.Error(t, err, "strict mode acknowledged a commit without a synchronous standby")

	require.NoError(t, ctl.Rejoin(ctx, "p"))
	wctx, cancel = context.WithTimeout(ctx, 10*time.Second)
	_, err = pool.Exec(wctx, "INSERT INTO t(id) VALUES (2)")
	cancel()
	require.NoError(t, err)
	assert.Zero(t, c.events.count(EventSyncDegraded), "strict mode never degrades")
}

// SyncAsync: the promotion event says it was not synchronous and reports
// the bound of what could have been lost.
func TestAsyncReportsLossBound(t *testing.T) {
	t.Parallel()
	c := newCluster(t, false)
	ctl, _ := c.start(&Options{Sync: SyncAsync})
	w := startWriter(ctl.Router(), time.Millisecond, 0)
	waitUntil(t, 10*time.Second, "writes", func() bool { return w.ackedCount() > 50 })
	c.servers["p"].Kill()
	ev := c.events.wait(t, EventPromoted, 0, 20*time.Second)
	w.stop()
	assert.False(t, ev.Synchronous)
	assert.GreaterOrEqual(t, ev.LossBoundBytes, int64(0))
	assert.Contains(t, ev.Message, "loss bound")
	assert.Equal(t, "s1", ctl.Status().Primary)
}
