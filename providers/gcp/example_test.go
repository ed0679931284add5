package gcp_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"google.golang.org/api/googleapi"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/gcp"
	"github.com/orocloud/orocloud-go/providers/gcp/gcpfake"
)

// Open a provider on the in-process fake (a real project needs only the
// project name: application default credentials are used) and create a web
// node.
func ExampleOpen() {
	ctx := context.Background()
	srv := gcpfake.New(nil)
	defer srv.Close()

	prov, err := gcp.Open(ctx, "acme-prod", &gcp.Options{
		Endpoint:     srv.URL, // omit for the real API
		MachineTypes: map[string]string{"web": "e2-standard-4"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer prov.Close()

	zones, _ := prov.ListZones(ctx, "europe-west3")
	inst, err := prov.CreateInstance(ctx, providers.InstanceSpec{
		Name: "acme-prod-web-1", Region: "europe-west3", Zone: zones[0].Name,
		Labels: providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: "acme-prod",
			providers.LabelTier: "web", providers.LabelRole: "node"},
		Tags:    []string{"acme-prod-web"},
		Secrets: map[string]providers.Secret{"tunnel-token": "never printed"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inst.Name, inst.Zone, inst.MachineType, inst.Status, inst.Secrets["tunnel-token"])

	// The raw Compute clients are reachable for what the SDK does not wrap.
	var instances *compute.InstancesClient
	fmt.Println(prov.As(&instances))
	// Output:
	// acme-prod-web-1 europe-west3-a e2-standard-4 RUNNING [REDACTED]
	// true
}

// Errors carry an SDK code, and the raw API error stays reachable.
func ExampleProvider_GetInstance_notFound() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := gcpfake.New(nil)
	defer srv.Close()
	prov, _ := gcp.Open(ctx, "acme-prod", &gcp.Options{Endpoint: srv.URL})
	defer prov.Close()

	_, err := prov.GetInstance(ctx, providers.InstanceRef{Region: "europe-west3", Zone: "europe-west3-a", Name: "missing"})
	var apiErr *googleapi.Error
	fmt.Println(providers.Code(err), errors.Is(err, providers.ErrNotFound), errors.As(err, &apiErr) && apiErr.Code == 404)
	// Output:
	// NotFound true true
}
