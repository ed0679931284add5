package memory_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

// An in-memory cloud with the default regions: create an instance, take
// its zone down, look again, and read the call counters.
func ExampleNew() {
	ctx := context.Background()
	p := memory.New(nil) // europe-west3, europe-west4, us-east1
	defer p.Close()

	inst, err := p.CreateInstance(ctx, providers.InstanceSpec{
		Name: "web-1", Region: "europe-west3", Zone: "europe-west3-a", MachineType: "e2-standard-4",
		Labels: providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: "acme-prod"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inst.Name, inst.Status, inst.PrivateIP)

	_ = p.InjectZoneOutage("europe-west3", "europe-west3-a")
	got, _ := p.GetInstance(ctx, inst.Ref())
	fmt.Println("during outage:", got.Status)
	_, err = p.CreateInstance(ctx, providers.InstanceSpec{Name: "web-2", Region: "europe-west3", Zone: "europe-west3-a"})
	fmt.Println("create in down zone:", providers.Code(err))
	_ = p.RecoverZone("europe-west3", "europe-west3-a")

	addr, _ := p.ReserveAddress(ctx, providers.AddressSpec{Name: "primary-ip", Region: "europe-west3"})
	fmt.Println("primary address:", addr.IP)
	fmt.Println("mutating calls:", p.MutatingCalls())
	// Output:
	// web-1 PROVISIONING 10.0.0.2
	// during outage: UNAVAILABLE
	// create in down zone: Unavailable
	// primary address: 203.0.113.1
	// mutating calls: 3
}

// Fault injection for a retry test: the second PutObject fails with a
// transient error and stores nothing.
func ExampleProvider_FailNth() {
	ctx := context.Background()
	p := memory.New(nil)
	_ = p.CreateBucket(ctx, providers.BucketSpec{Name: "backups", Region: "europe-west3"})
	_ = p.FailNth("PutObject", 2, providers.Unavailable)
	for i := range 3 {
		key := fmt.Sprint("point-", i)
		_, err := p.PutObject(ctx, "backups", key, strings.NewReader("data"), nil)
		fmt.Println(key, providers.Code(err), providers.IsTransient(err))
	}
	list, _ := p.ListObjects(ctx, "backups", "point-")
	fmt.Println("stored:", len(list))
	// Output:
	// point-0 OK false
	// point-1 Unavailable true
	// point-2 OK false
	// stored: 2
}
