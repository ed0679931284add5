package failover_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/orocloud/orocloud-go/failover"
)

// The worst-case detection time of a configuration, checked before use.
func ExampleHealth_WorstCaseDetection() {
	h := failover.Health{} // the defaults
	fmt.Println(h.Validate() == nil, h.RefusedDetection(), h.WorstCaseDetection(), h.MinStallTolerated())

	risky := failover.Health{Interval: 20e6, Timeout: 50e6, FailureThreshold: 2}
	fmt.Println(risky.Validate())
	// Output:
	// true 150ms 1.25s 800ms
	// InvalidArgument: failover: unsafe health settings: Health: a stall of 50ms (FailureThreshold-1 probes of max(Interval, Timeout)) would already fail over; raise FailureThreshold, Interval or Timeout so that at least 200ms is tolerated
}

// A controller for the reference pair: a primary in the main zone and a
// synchronous standby in the secondary zone. Applications get connections
// through its Router.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "failover-example")
	defer os.RemoveAll(dir)
	store, err := failover.NewFileStore(filepath.Join(dir, "status.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctl, err := failover.New(
		failover.Node{Name: "db-a", Zone: "europe-west3-a", DSN: "host=10.0.0.2 user=postgres dbname=postgres"},
		[]failover.Node{{Name: "db-b", Zone: "europe-west3-b", DSN: "host=10.0.1.2 user=postgres dbname=postgres"}},
		&failover.Options{
			Sync:   failover.SyncAvailable,
			Store:  store,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
			OnEvent: func(e failover.Event) {
				fmt.Println(e.Kind, e.Node, e.Target, e.Duration)
			},
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("detects a lost primary within", ctl.DetectionBound())
	// In a service: go ctl.Run(ctx); and for applications:
	//   cfg, _ := pgxpool.ParseConfig(appDSN)
	//   ctl.Router().ConfigurePool(cfg)
	//   pool, _ := pgxpool.NewWithConfig(ctx, cfg)
	_ = context.Background
	// Output: detects a lost primary within 1.25s
}
