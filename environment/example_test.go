package environment_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

// A standard environment validates out of the box; a broken one reports
// every violation at once, each naming its field.
func ExampleStandard() {
	env := environment.Standard("acme-prod", environment.GCP, "europe-west3")
	fmt.Println(env.Validate(), env.CDN.Kind, env.DR.Region)

	env.Web.Nodes = 1
	env.SMTP.Relays[1].Priority = 70000
	err := env.Validate()
	var ve *environment.ValidationError
	if errors.As(err, &ve) {
		for _, v := range ve.Violations {
			fmt.Println(v.Field)
		}
	}
	fmt.Println(errors.Is(err, providers.ErrInvalidArgument))
	// Output:
	// <nil> google-cdn europe-west4
	// web.nodes
	// smtp.relays[1].priority
	// true
}

// Load reads YAML (or JSON) with the same field names; unknown fields are
// refused with their line and path.
func ExampleLoad() {
	env, err := environment.Load([]byte(`
name: shop
provider: oci
region: eu-frankfurt-1
web: {nodes: 3}
`), environment.YAML)
	fmt.Println(env.Name, env.Web.Nodes, err)

	_, err = environment.Load([]byte("name: shop\nweb:\n  nodez: 3\n"), environment.YAML)
	fmt.Println(err)
	// Output:
	// shop 3 <nil>
	// InvalidArgument: environment.Load: yaml: line 3, column 3: field web.nodez: unknown field "nodez"
}

// Place spreads the nodes over the region's zones; AnalyzeZoneLoss tells
// what keeps serving if a zone is lost.
func ExampleAnalyzeZoneLoss() {
	env := environment.Standard("acme", environment.OCI, "eu-frankfurt-1")
	zones := []providers.Zone{
		{Name: "AD-1", Up: true}, {Name: "AD-2", Up: true}, {Name: "AD-3", Up: true},
	}
	nodes, err := env.Place(zones)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range nodes[:4] {
		fmt.Println(n.Name, n.Role, n.Zone)
	}
	rep := environment.AnalyzeZoneLoss(env, nodes)
	fmt.Println("survives any zone loss:", rep.OK())

	// AD-1 goes down: drop its nodes and check again.
	var serving []environment.Node
	for _, n := range nodes {
		if n.Zone != "AD-1" {
			serving = append(serving, n)
		}
	}
	rep = environment.AnalyzeZoneLoss(env, serving)
	fmt.Println("survives another zone loss:", rep.OK())
	fmt.Println(rep.Failures()[0])
	// Output:
	// acme-web-1 node AD-1
	// acme-web-2 node AD-2
	// acme-elasticsearch-1 node AD-1
	// acme-elasticsearch-2 node AD-2
	// survives any zone loss: true
	// survives another zone loss: false
	// AD-2: web: no web nodes left (of 2)
}

// Next returns the window in progress or the next one, in the window's time
// zone, across daylight saving changes.
func ExampleWindow_Next() {
	w := environment.Window{Day: "Sunday", Start: "02:30", Duration: environment.Duration(time.Hour), TimeZone: "Europe/Berlin"}
	after := time.Date(2026, 3, 25, 12, 0, 0, 0, time.UTC)
	start, end, err := w.Next(after)
	fmt.Println(start, "-", end, err)
	in, _ := w.Contains(start.Add(30 * time.Minute))
	fmt.Println(in)
	// Output:
	// 2026-03-29 03:30:00 +0200 CEST - 2026-03-29 04:30:00 +0200 CEST <nil>
	// true
}

// Urgent maintenance outside the window is announced to the environment's
// technical contact through any Notifier.
func ExampleAnnounceUrgentMaintenance() {
	env := environment.Standard("acme-prod", environment.GCP, "europe-west3")
	env.TechnicalContact = environment.Contact{Name: "Jane Doe", Email: "jane@example.com"}
	notifier := environment.NotifierFunc(func(_ context.Context, n environment.Notice) error {
		fmt.Printf("to %s <%s>: %s maintenance of %s at %s for %s (in window: %v): %s\n",
			n.Contact.Name, n.Contact.Email, n.Severity, n.Environment,
			n.Start.Format(time.RFC3339), n.ExpectedDuration, n.InWindow, n.Reason)
		return nil
	})
	err := environment.AnnounceUrgentMaintenance(context.Background(), env, notifier, environment.Notice{
		Reason:           "critical kernel security patch",
		Start:            time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC),
		ExpectedDuration: 30 * time.Minute,
		Severity:         environment.SeverityCritical,
	})
	fmt.Println(err)
	// Output:
	// to Jane Doe <jane@example.com>: critical maintenance of acme-prod at 2026-11-25T14:00:00Z for 30m0s (in window: false): critical kernel security patch
	// <nil>
}
