package dr_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/orocloud/orocloud-go/dr"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers/memory"
)

func ExampleOnboard() {
	prov := memory.New(nil)
	env := environment.Standard("acme", environment.Memory, "europe-west3")
	ob, err := dr.Onboard(context.Background(), prov, env, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ob)
	// Output:
	// environment acme: primary address 203.0.113.1 (acme-primary, europe-west3); DR address 198.51.100.1 (acme-dr, europe-west4). Add both to any whitelist.
}

func ExampleAssess() {
	now := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	a := dr.Assess(dr.Signals{
		Region: "europe-west3", Status: dr.StatusOutage, Since: now.Add(-25 * time.Minute),
		ExpectedRecovery: now.Add(4 * time.Hour), Now: now,
	}, nil)
	fmt.Println(a)
	// Output:
	// recommendation: declare-dr (region unavailable and not expected back within the threshold)
	//   - provider reports an outage of europe-west3 for 25m0s, recovery expected in 4h0m0s (more than 1h0m0s)
	//   - no reachability probes
	//   - DR criteria met: ask the technical contact to approve a failover to the DR region
}

// A drill on the memory provider. Backups, targets and health checks are
// stand-ins here; see examples/dr-drill for the engine and a real database.
func ExampleRunner_Start() {
	ctx := context.Background()
	prov := memory.New(nil)
	env := environment.Standard("acme", environment.Memory, "europe-west3")
	if _, err := dr.Onboard(ctx, prov, env, nil); err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "dr-example-")
	defer os.RemoveAll(dir)
	journal, _ := dr.NewFileJournal(dir)

	disaster := time.Now().Truncate(time.Second)
	backups := &fakeBackups{points: []dr.Point{{ID: "nightly", Time: disaster.Add(-7 * time.Hour), CodeRef: "git:3f2c1e9"}}}
	runner, err := dr.New(prov, &dr.Options{
		Backups: backups,
		Targets: &fakeTargets{},
		Journal: journal,
		Approver: dr.ApproverFunc(func(ctx context.Context, req dr.ApprovalRequest) (dr.Approval, error) {
			return dr.Approval{Approved: true, By: req.Contact.Email}, nil
		}),
		HealthChecks:   []dr.HealthChecker{dbCheck{}, dr.WebNodesRunning{}},
		HealthInterval: 10 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := runner.Start(ctx, dr.Request{Environment: env, Mode: dr.ModeDrill, DisasterAt: disaster})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("status:", rep.Status, "copy:", rep.Target)
	fmt.Println("restored:", rep.Point.ID, "RPO:", rep.RPO, "met:", rep.RPOMet)
	fmt.Println("healthy:", !rep.HealthyAt.IsZero(), "RTO met:", rep.RTOMet)
	for _, e := range rep.Timeline {
		fmt.Println(e.Step, e.Status)
	}
	left, _ := dr.Leftovers(ctx, prov, rep.Target, rep.ToRegion)
	fmt.Println("left over:", len(left))
	// Output:
	// status: succeeded copy: acme-drill
	// restored: nightly RPO: 7h0m0s met: true
	// healthy: true RTO met: true
	// precheck done
	// approval done
	// provision done
	// restore done
	// health done
	// teardown done
	// verify-clean done
	// notify done
	// left over: 0
}
