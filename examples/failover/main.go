// Command failover shows automatic database failover end to end on real
// PostgreSQL 15 processes on 127.0.0.1: a primary and a synchronous standby
// in two "zones", a writer inserting through the failover Router, the
// primary's node killed (SIGKILL of every postgres process), and the
// failover timeline printed. It runs in a few seconds:
//
//	go run ./examples/failover
//
// It needs the PostgreSQL 15 server binaries (see the message it prints
// when they are missing); run as root, it runs postgres as the postgres user.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orocloud/orocloud-go/failover"
	"github.com/orocloud/orocloud-go/internal/pgharness"
)

func main() {
	if err := pgharness.Available(); err != nil {
		fmt.Fprintln(os.Stderr, "This example runs real PostgreSQL 15 servers:", err)
		fmt.Fprintln(os.Stderr, "Install them with: apt-get install postgresql-15 (Debian/Ubuntu), then run it again.")
		os.Exit(2)
	}
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx := context.Background()
	primary, err := pgharness.Start(ctx, &pgharness.Options{Synchronous: "ANY 1 (standby)"})
	if err != nil {
		return err
	}
	defer primary.Cleanup()
	standby, err := primary.StartStandby(ctx, "standby", nil)
	if err != nil {
		return err
	}
	defer standby.Cleanup()
	if err := primary.Exec(ctx, "CREATE TABLE orders(id bigint PRIMARY KEY, at timestamptz DEFAULT now())"); err != nil {
		return err
	}

	start := time.Now()
	var mu sync.Mutex
	var timeline []string
	note := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		timeline = append(timeline, fmt.Sprintf("%+8.3fs  %s", time.Since(start).Seconds(), fmt.Sprintf(format, args...)))
	}
	ctl, err := failover.New(
		failover.Node{Name: "primary", DSN: primary.DSN("postgres"), Zone: "europe-west3-a"},
		[]failover.Node{{Name: "standby", DSN: standby.DSN("postgres"), Zone: "europe-west3-b"}},
		&failover.Options{
			Sync: failover.SyncAvailable,
			OnEvent: func(e failover.Event) {
				note("%-14s %s %s", e.Kind, e.Node, e.Message)
			},
		})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ctl.Run(runCtx) }()
	defer func() { stop(); <-done }()

	// The writer: one INSERT every 20 ms through the router.
	var acked []int64
	var failed atomic.Int64
	wctx, stopWriter := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		id := int64(0)
		lastPort := uint16(0)
		for wctx.Err() == nil {
			conn, err := ctl.Router().Connect(wctx)
			if err != nil {
				continue
			}
			for wctx.Err() == nil {
				id++
				qctx, cancel := context.WithTimeout(wctx, 2*time.Second)
				_, err := conn.Exec(qctx, "INSERT INTO orders(id) VALUES ($1)", id)
				cancel()
				if err != nil {
					failed.Add(1)
					break
				}
				mu.Lock()
				acked = append(acked, id)
				n := len(acked)
				mu.Unlock()
				if port := conn.Config().Port; n == 1 || port != lastPort || id%25 == 0 {
					note("writer         row %d committed on port %d", id, port)
					lastPort = port
				}
				time.Sleep(20 * time.Millisecond)
			}
			conn.Close(context.Background())
		}
	}()

	time.Sleep(time.Second)
	note("KILL           primary node (SIGKILL to every postgres process)")
	primary.Kill()
	deadline := time.Now().Add(15 * time.Second)
	for ctl.Status().Primary != "standby" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(700 * time.Millisecond)
	stopWriter()
	<-wdone

	var have int
	c, err := standby.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	if err := c.QueryRow(ctx, "SELECT count(*) FROM orders WHERE id = ANY($1)", acked).Scan(&have); err != nil {
		return err
	}
	for _, l := range timeline {
		fmt.Println(l)
	}
	fmt.Printf("\nprimary now: %s; %d rows acknowledged, %d on the new primary, %d lost; %d failed attempts retried\n",
		ctl.Status().Primary, len(acked), have, len(acked)-have, failed.Load())
	fmt.Printf("detection bound: %s (refused connections: %s)\n", failover.Health{}.WorstCaseDetection(), failover.Health{}.RefusedDetection())
	return nil
}
