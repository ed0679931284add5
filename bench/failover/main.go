// Command failoverbench measures the failover controller against real
// PostgreSQL 15 with the peers' method (../../../shared/bench-peers/failover):
// a writer inserts one row every 50 ms through the Router, the primary is
// killed with SIGKILL, and the time from the kill to the first acknowledged
// INSERT on the new primary is recorded, with the detection, promotion and
// routing split from the controller's events. Every acknowledged id is then
// looked up on the new primary (rows lost). The killed node rejoins with
// pg_rewind before the next trial. A stall series SIGSTOPs the primary for
// half the worst-case detection window and counts failovers.
//
//	go run ./bench/failover -trials 10 -scenario node-loss -out results.jsonl
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orocloud/orocloud-go/failover"
	"github.com/orocloud/orocloud-go/internal/pgharness"
)

type attempt struct {
	id    int64
	start time.Time
	ack   time.Time
	port  uint16
	ok    bool
}

type writerT struct {
	mu       sync.Mutex
	attempts []attempt
	stop     context.CancelFunc
	done     chan struct{}
}

func startWriter(r *failover.Router, firstID int64) *writerT {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writerT{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var conn *pgx.Conn
		id := firstID
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			id++
			a := attempt{id: id, start: time.Now()}
			if conn == nil {
				cctx, c := context.WithTimeout(ctx, 2*time.Second)
				conn, _ = r.Connect(cctx)
				c()
			}
			if conn != nil {
				a.port = conn.Config().Port
				ectx, c := context.WithTimeout(ctx, 2*time.Second)
				_, err := conn.Exec(ectx, "INSERT INTO t(id) VALUES ($1)", id)
				c()
				if err == nil {
					a.ok, a.ack = true, time.Now()
				} else {
					cctx, c := context.WithTimeout(context.Background(), 100*time.Millisecond)
					conn.Close(cctx)
					c()
					conn = nil
				}
			}
			w.mu.Lock()
			w.attempts = append(w.attempts, a)
			w.mu.Unlock()
			if !a.ok {
				continue // retry at once, like the peers' writer reconnecting
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	return w
}

func (w *writerT) finish() []attempt {
	w.stop()
	<-w.done
	return w.attempts
}

type trial struct {
	Scenario    string  `json:"scenario"`
	Trial       int     `json:"trial"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	FirstAckS   float64 `json:"first_ack_s"`
	DetectedS   float64 `json:"detected_s"`
	PromotionS  float64 `json:"promotion_s"`
	RoutedS     float64 `json:"routed_s"`
	Acked       int     `json:"acked"`
	Lost        int     `json:"lost"`
	Synchronous bool    `json:"synchronous"`
	Failovers   int     `json:"failovers"`
}

type eventLog struct {
	mu sync.Mutex
	ev []failover.Event
}

func (l *eventLog) add(e failover.Event) { l.mu.Lock(); l.ev = append(l.ev, e); l.mu.Unlock() }
func (l *eventLog) since(n int) []failover.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ev[n:])
}
func (l *eventLog) len() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.ev) }

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	trials := flag.Int("trials", 10, "trials per scenario")
	scenario := flag.String("scenario", "node-loss", "node-loss, pg-kill or stall")
	out := flag.String("out", "", "append one JSON line per trial to this file")
	flag.Parse()
	if err := pgharness.Available(); err != nil {
		return err
	}
	// ^C stops the run and still cleans every server up.
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	p, err := pgharness.Start(ctx, &pgharness.Options{Synchronous: "ANY 1 (s1)"})
	if err != nil {
		return err
	}
	defer p.Cleanup()
	s, err := p.StartStandby(ctx, "s1", nil)
	if err != nil {
		return err
	}
	defer s.Cleanup()
	if err := p.Exec(ctx, "CREATE TABLE t(id bigint PRIMARY KEY, ts timestamptz DEFAULT now())"); err != nil {
		return err
	}
	servers := map[string]*pgharness.Server{"p": p, "s1": s}
	events := &eventLog{}
	// The status is persisted as in production: a file, fsynced before
	// every destructive step.
	statusDir, err := os.MkdirTemp("", "failoverbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(statusDir)
	store, err := failover.NewFileStore(filepath.Join(statusDir, "status.json"))
	if err != nil {
		return err
	}
	ctl, err := failover.New(
		failover.Node{Name: "p", DSN: p.DSN("postgres"), Zone: "zone-a"},
		[]failover.Node{{Name: "s1", DSN: s.DSN("postgres"), Zone: "zone-b"}},
		&failover.Options{
			Store:   store,
			OnEvent: events.add,
			Rejoiner: failover.RejoinerFunc(func(ctx context.Context, n, primary failover.Node) error {
				return servers[n.Name].RejoinAsStandby(ctx, servers[primary.Name], n.Name)
			}),
		})
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- ctl.Run(rctx) }()
	defer func() { cancel(); <-runDone }()
	h := failover.Health{}
	fmt.Fprintf(os.Stderr, "settings: interval %s timeout %s threshold %d (refused detection <= %s, worst case %s), sync %s\n",
		failover.DefaultInterval, failover.DefaultTimeout, failover.DefaultFailureThreshold, h.RefusedDetection(), h.WorstCaseDetection(), failover.DefaultSyncMode)

	var f *os.File
	if *out != "" {
		f, err = os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
	}
	nextID := int64(0)
	for i := range *trials {
		if ctx.Err() != nil {
			break
		}
		primary := ctl.Status().Primary
		if err := waitHealthy(ctx, ctl, servers[primary]); err != nil {
			return fmt.Errorf("trial %d: %v", i, err)
		}
		mark := events.len()
		w := startWriter(ctl.Router(), nextID)
		nextID += 1_000_000
		time.Sleep(time.Second + time.Duration(rand.Int64N(int64(100*time.Millisecond))))
		tr := trial{Scenario: *scenario, Trial: i, From: primary}
		var kill time.Time
		switch *scenario {
		case "node-loss":
			kill = time.Now()
			servers[primary].Kill()
		case "pg-kill":
			kill = time.Now()
			servers[primary].KillPostmaster()
		case "stall":
			kill = time.Now()
			if err := servers[primary].Pause(); err != nil {
				return err
			}
			time.Sleep(h.WorstCaseDetection() / 2)
			if err := servers[primary].Resume(); err != nil {
				return err
			}
			time.Sleep(3 * time.Second)
		default:
			return fmt.Errorf("unknown scenario %q", *scenario)
		}
		if *scenario != "stall" {
			deadline := time.Now().Add(30 * time.Second)
			for ctl.Status().Primary == primary && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(time.Second)
		}
		attempts := w.finish()
		newPrimary := ctl.Status().Primary
		tr.To = newPrimary
		port := uint16(servers[newPrimary].Port())
		var acked []int64
		for _, a := range attempts {
			if !a.ok {
				continue
			}
			acked = append(acked, a.id)
			if tr.FirstAckS == 0 && a.start.After(kill) && a.port == port && newPrimary != primary {
				tr.FirstAckS = a.ack.Sub(kill).Seconds()
			}
		}
		tr.Acked = len(acked)
		if tr.Lost, err = countMissing(context.Background(), servers[newPrimary], acked); err != nil {
			return err
		}
		for _, e := range events.since(mark) {
			switch e.Kind {
			case failover.EventDetected:
				tr.DetectedS = e.Time.Sub(kill).Seconds()
				tr.Failovers++
			case failover.EventPromoted:
				tr.PromotionS = e.Duration.Seconds()
				tr.Synchronous = e.Synchronous
			case failover.EventRouted:
				if e.Target != "" {
					tr.RoutedS = e.Time.Sub(kill).Seconds()
				}
			}
		}
		b, _ := json.Marshal(tr)
		fmt.Println(string(b))
		if f != nil {
			f.Write(append(b, '\n'))
		}
		if newPrimary != primary {
			rj, c := context.WithTimeout(ctx, 60*time.Second)
			err := ctl.Rejoin(rj, primary)
			c()
			if err != nil {
				return fmt.Errorf("rejoin %s: %v", primary, err)
			}
		}
	}
	return ctx.Err()
}

// waitHealthy waits until the primary has a synchronous standby and the
// controller routes it.
func waitHealthy(ctx context.Context, ctl *failover.Controller, s *pgharness.Server) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := ctl.Router().Primary(); err == nil && !ctl.Status().SyncDegraded {
			c, err := s.Connect(ctx, "postgres")
			if err == nil {
				var n int
				err = c.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync','quorum') AND state = 'streaming'").Scan(&n)
				c.Close(ctx)
				if err == nil && n > 0 {
					return nil
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("cluster not healthy within 30s")
}

func countMissing(ctx context.Context, s *pgharness.Server, acked []int64) (int, error) {
	c, err := s.Connect(ctx, "postgres")
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, "SELECT id FROM t WHERE id = ANY($1)", acked)
	if err != nil {
		return 0, err
	}
	have := 0
	for rows.Next() {
		have++
	}
	if rows.Err() != nil {
		return 0, rows.Err()
	}
	return len(acked) - have, nil
}
