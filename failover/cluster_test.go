package failover

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/internal/pgharness"
)

// cluster is a real primary + standby pair with a controller under test.
type cluster struct {
	t       *testing.T
	servers map[string]*pgharness.Server
	nodes   []Node
	events  *recorder
}

func newCluster(t *testing.T, sync bool) *cluster {
	t.Helper()
	pgharness.Require(t)
	opts := &pgharness.Options{}
	if sync {
		opts.Synchronous = "ANY 1 (s1)"
	}
	p := pgharness.New(t, opts)
	s := pgharness.NewStandby(t, p, "s1", nil)
	ctx := context.Background()
	require.NoError(t, p.Exec(ctx, "CREATE TABLE t(id bigint PRIMARY KEY, ts timestamptz DEFAULT now())"))
	c := &cluster{
		t:       t,
		servers: map[string]*pgharness.Server{"p": p, "s1": s},
		nodes:   []Node{{Name: "p", DSN: p.DSN("postgres"), Zone: "a"}, {Name: "s1", DSN: s.DSN("postgres"), Zone: "b"}},
		events:  &recorder{},
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("events: %s", c.events.summary())
		}
	})
	return c
}

func (c *cluster) options(o *Options) *Options {
	if o == nil {
		o = &Options{}
	}
	o.OnEvent = c.events.add
	if o.Fencer == nil {
		o.Fencer = FencerFunc(func(ctx context.Context, n Node) error { c.servers[n.Name].Kill(); return nil })
	}
	o.Rejoiner = RejoinerFunc(func(ctx context.Context, n, primary Node) error {
		return c.servers[n.Name].RejoinAsStandby(ctx, c.servers[primary.Name], n.Name)
	})
	return o
}

// start runs a controller until the test ends; it returns the controller
// and a channel with Run's result.
func (c *cluster) start(o *Options) (*Controller, <-chan error) {
	c.t.Helper()
	ctl, err := New(c.nodes[0], c.nodes[1:], c.options(o))
	require.NoError(c.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() { done <- ctl.Run(ctx); close(exited) }()
	c.t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			c.t.Error("controller did not stop")
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	defer wcancel()
	_, err = ctl.Router().WaitPrimary(wctx)
	require.NoError(c.t, err)
	return ctl, done
}

type recorder struct {
	mu sync.Mutex
	ev []Event
}

func (r *recorder) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev = append(r.ev, e)
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ev)
}

func (r *recorder) count(k EventKind) int {
	n := 0
	for _, e := range r.all() {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func (r *recorder) wait(t *testing.T, k EventKind, after int, timeout time.Duration) Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		seen := 0
		for _, e := range r.all() {
			if e.Kind == k {
				seen++
				if seen > after {
					return e
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s event within %s; events: %v", k, timeout, r.summary())
	return Event{}
}

func (r *recorder) summary() string {
	var b strings.Builder
	for _, e := range r.all() {
		b.WriteString(string(e.Kind) + "(" + e.Node + "->" + e.Target + ") ")
		if e.Err != nil {
			b.WriteString("[" + e.Err.Error() + "] ")
		}
	}
	return b.String()
}

// writer inserts rows through the router until stopped and records the ids
// whose COMMIT was acknowledged.
type writer struct {
	mu     sync.Mutex
	acked  []int64
	cancel context.CancelFunc
	done   chan struct{}
}

func startWriter(r *Router, every time.Duration, firstID int64) *writer {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var conn *pgx.Conn
		defer func() { closeConn(conn) }()
		id := firstID
		for ctx.Err() == nil {
			if conn == nil {
				cctx, c := context.WithTimeout(ctx, 2*time.Second)
				var err error
				conn, err = r.Connect(cctx)
				c()
				if err != nil {
					conn = nil
					time.Sleep(5 * time.Millisecond)
					continue
				}
			}
			id++
			ectx, c := context.WithTimeout(ctx, 2*time.Second)
			_, err := conn.Exec(ectx, "INSERT INTO t(id) VALUES ($1)", id)
			c()
			if err != nil {
				closeConn(conn)
				conn = nil
				continue
			}
			w.mu.Lock()
			w.acked = append(w.acked, id)
			w.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(every):
			}
		}
	}()
	return w
}

func (w *writer) stop() []int64 {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.acked)
}

func (w *writer) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// missing returns the acked ids absent from the server.
func missing(t *testing.T, s *pgharness.Server, acked []int64) []int64 {
	t.Helper()
	ctx := context.Background()
	c, err := s.Connect(ctx, "postgres")
	require.NoError(t, err)
	defer c.Close(ctx)
	rows, err := c.Query(ctx, "SELECT id FROM t")
	require.NoError(t, err)
	have := map[int64]bool{}
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		have[id] = true
	}
	require.NoError(t, rows.Err())
	var out []int64
	for _, id := range acked {
		if !have[id] {
			out = append(out, id)
		}
	}
	return out
}

func inRecovery(t *testing.T, s *pgharness.Server) bool {
	t.Helper()
	c, err := s.Connect(context.Background(), "postgres")
	require.NoError(t, err)
	defer c.Close(context.Background())
	var b bool
	require.NoError(t, c.QueryRow(context.Background(), "SELECT pg_is_in_recovery()").Scan(&b))
	return b
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
