package googlecdn_test

import (
	"context"
	"fmt"
	"time"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/cdn/googlecdn"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

// Put Google Cloud CDN in front of an environment's web nodes (here on the
// in-memory provider; on GCP pass the gcp provider).
func ExampleEdge_Ensure() {
	prov := memory.New(nil)
	ctx := context.Background()
	env := environment.Standard("acme-prod", environment.GCP, "europe-west3")
	env.CDN.Google = &environment.GoogleCDNSettings{CacheMode: providers.CacheAllStatic,
		DefaultTTL: environment.Duration(time.Hour), NegativeCaching: true}

	var web []providers.InstanceRef
	for i, zone := range []string{"europe-west3-a", "europe-west3-b"} {
		in, err := prov.CreateInstance(ctx, providers.InstanceSpec{Name: fmt.Sprintf("acme-prod-web-%d", i+1), Region: "europe-west3", Zone: zone,
			Labels: providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: "acme-prod"}})
		if err != nil {
			panic(err)
		}
		web = append(web, in.Ref())
	}

	edge, err := googlecdn.New(prov, nil)
	if err != nil {
		panic(err) // Unimplemented on a provider without load balancers (OCI)
	}
	st, err := edge.Ensure(ctx, env, cdn.Origin{WebNodes: web})
	if err != nil {
		panic(err)
	}
	lb := st.LoadBalancer
	fmt.Println("load balancer:", lb.Name, "address:", lb.AddressName, "backends:", len(lb.Backends))
	fmt.Println("cache:", lb.CDN.CacheMode, lb.CDN.DefaultTTL, "negative caching:", lb.CDN.NegativeCaching)
	fmt.Println("public entry point:", st.PublicEntryPoint)

	env.Provider = environment.OCI
	_, err = edge.Ensure(ctx, env, cdn.Origin{WebNodes: web})
	fmt.Println("on OCI:", providers.Code(err))
	// Output:
	// load balancer: acme-prod-lb address: acme-prod-primary backends: 2
	// cache: CACHE_ALL_STATIC 1h0m0s negative caching: true
	// public entry point: true
	// on OCI: InvalidArgument
}
