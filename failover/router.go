package failover

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/orocloud/orocloud-go/providers"
)

// Router hands out the current primary to applications. It holds at most
// one primary; during a failover it holds none (callers wait or get an
// Unavailable error), and a fenced node is never handed out again until the
// Controller unfences it after it rejoined as a standby. Every connection
// made through it also checks target_session_attrs=read-write, so even a
// stale endpoint can never give a writable session on a read-only node.
// It is safe for concurrent use.
type Router struct {
	mu      sync.Mutex
	primary *Node
	epoch   int64
	fenced  map[string]bool
	changed chan struct{} // closed and replaced at each change
	subs    map[int]chan Endpoint
	nextSub int
}

// Endpoint is what the Router hands out.
type Endpoint struct {
	// Node is the primary; the zero Node while there is none.
	Node Node
	// Epoch increases at each change of primary.
	Epoch int64
}

// NewRouter returns a Router with no primary.
func NewRouter() *Router {
	return &Router{fenced: map[string]bool{}, changed: make(chan struct{}), subs: map[int]chan Endpoint{}}
}

// Primary returns the current primary, or an Unavailable error while there
// is none (a failover is in progress).
func (r *Router) Primary() (Endpoint, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.primary == nil {
		return Endpoint{Epoch: r.epoch}, providers.Errorf(providers.Unavailable, "failover: no primary (failover in progress)")
	}
	return Endpoint{Node: *r.primary, Epoch: r.epoch}, nil
}

// WaitPrimary returns the current primary, waiting while there is none
// until ctx ends.
func (r *Router) WaitPrimary(ctx context.Context) (Endpoint, error) {
	for {
		r.mu.Lock()
		if r.primary != nil {
			ep := Endpoint{Node: *r.primary, Epoch: r.epoch}
			r.mu.Unlock()
			return ep, nil
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Endpoint{}, providers.Wrap(ctx.Err(), providers.Unavailable, "failover.Router.WaitPrimary", "")
		}
	}
}

// set installs n as the primary (nil: none). A fenced node is refused.
func (r *Router) set(n *Node, epoch int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n != nil && r.fenced[n.Name] {
		return providers.Errorf(providers.FailedPrecondition, "failover: node %s is fenced and cannot be routed", n.Name)
	}
	if n != nil {
		c := *n
		n = &c
	}
	same := (n == nil && r.primary == nil) || (n != nil && r.primary != nil && n.Name == r.primary.Name && epoch == r.epoch)
	r.primary, r.epoch = n, epoch
	if same {
		return nil
	}
	close(r.changed)
	r.changed = make(chan struct{})
	ep := Endpoint{Epoch: epoch}
	if n != nil {
		ep.Node = *n
	}
	for _, ch := range r.subs {
		select { // keep only the latest endpoint for slow subscribers
		case <-ch:
		default:
		}
		ch <- ep
	}
	return nil
}

// fence marks name as never to be handed out; if it is the current
// primary it is withdrawn at once.
func (r *Router) fence(name string) {
	r.mu.Lock()
	r.fenced[name] = true
	withdraw := r.primary != nil && r.primary.Name == name
	epoch := r.epoch
	r.mu.Unlock()
	if withdraw {
		_ = r.set(nil, epoch)
	}
}

func (r *Router) unfence(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.fenced, name)
}

// Subscribe returns a channel receiving the Endpoint after each change
// (only the latest is kept for a slow reader) and a function that ends the
// subscription.
func (r *Router) Subscribe() (<-chan Endpoint, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.nextSub
	r.nextSub++
	ch := make(chan Endpoint, 1)
	r.subs[id] = ch
	return ch, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.subs, id)
	}
}

// ConnConfig returns a connection config for the current primary (waiting
// for one until ctx ends), with target_session_attrs=read-write enforced.
func (r *Router) ConnConfig(ctx context.Context) (*pgx.ConnConfig, error) {
	ep, err := r.WaitPrimary(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(ep.Node.DSN)
	if err != nil {
		return nil, providers.Errorf(providers.InvalidArgument, "failover: node %s: invalid DSN", ep.Node.Name)
	}
	cfg.ValidateConnect = pgconn.ValidateConnectTargetSessionAttrsReadWrite
	return cfg, nil
}

// Connect opens a connection to the current primary.
func (r *Router) Connect(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := r.ConnConfig(ctx)
	if err != nil {
		return nil, err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, providers.Wrap(err, providers.Unavailable, "failover.Router.Connect", "")
	}
	return c, nil
}

// BeforeConnect is a pgxpool.Config.BeforeConnect hook: every new pool
// connection goes to the current primary (waiting for one while a failover
// runs, until ctx ends).
func (r *Router) BeforeConnect(ctx context.Context, cfg *pgx.ConnConfig) error {
	target, err := r.ConnConfig(ctx)
	if err != nil {
		return err
	}
	cfg.Host, cfg.Port, cfg.Fallbacks = target.Host, target.Port, nil
	cfg.ValidateConnect = pgconn.ValidateConnectTargetSessionAttrsReadWrite
	return nil
}

// ConfigurePool installs the Router's hooks in a pgxpool config: new
// connections go to the current primary, and pooled connections to a node
// that is no longer the primary are discarded instead of being reused.
func (r *Router) ConfigurePool(cfg *pgxpool.Config) {
	cfg.BeforeConnect = r.BeforeConnect
	cfg.PrepareConn = func(ctx context.Context, c *pgx.Conn) (bool, error) {
		ep, err := r.Primary()
		if err != nil {
			return false, nil
		}
		pc, err := pgx.ParseConfig(ep.Node.DSN)
		if err != nil {
			return false, nil
		}
		cc := c.Config()
		return cc.Host == pc.Host && cc.Port == pc.Port, nil
	}
}
