package orocloud_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	orocloud "github.com/orocloud/orocloud-go"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers/memory"
)

// The README's usage snippet: declare, validate, plan, apply, and see what
// survives the loss of a zone.
func ExampleNew() {
	if err := readme(); err != nil {
		fmt.Println("error:", err)
	}
	// Output:
	// 25 to create, 0 to update, 0 to delete.
	// applied 25 changes
	// survives any single zone loss: true
	// second plan empty: true
}

func readme() error {
	ctx := context.Background()
	prov := memory.New(nil) // or gcp.Open(ctx, "acme-prod", &gcp.Options{...}), oci.Open(...)
	platform, err := orocloud.New(prov, &orocloud.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	env := environment.Standard("acme-prod", environment.GCP, "europe-west3")
	env.Web.Nodes = 3
	if err := env.Validate(); err != nil {
		return err // *environment.ValidationError lists every violation
	}
	plan, err := platform.Plan(ctx, env, nil)
	if err != nil {
		return err
	}
	c, u, d := plan.Count()
	fmt.Printf("%d to create, %d to update, %d to delete.\n", c, u, d) // fmt.Print(plan) prints the whole diff
	res, err := platform.Apply(ctx, plan)
	if err != nil {
		return err
	}
	fmt.Printf("applied %d changes\n", len(res.Applied))
	report, err := platform.ZoneLoss(ctx, env)
	if err != nil {
		return err
	}
	fmt.Println("survives any single zone loss:", report.OK()) // fmt.Print(report) prints the table
	again, err := platform.Plan(ctx, env, nil)
	if err != nil {
		return err
	}
	fmt.Println("second plan empty:", again.Empty())
	return nil
}
