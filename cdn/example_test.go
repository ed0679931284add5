package cdn_test

import (
	"fmt"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

// With Cloudflare chosen, nothing may open the web nodes to the internet:
// check the rules planned for the environment, or those observed at the
// provider.
func ExampleCheckZeroTrust() {
	env := environment.Standard("acme", environment.OCI, "eu-frankfurt-1") // Cloudflare on OCI
	observed := []providers.FirewallRule{
		{Name: "acme-internal", Protocol: providers.TCP, Ports: []int{5432}, SourceRanges: []string{"10.0.0.0/16"}, TargetTags: []string{"acme-node"}},
		{Name: "acme-public-web", Protocol: providers.TCP, Ports: []int{80, 443}, SourceRanges: []string{"0.0.0.0/0"}, TargetTags: []string{"acme-web"}},
	}
	err := cdn.CheckZeroTrust(env, observed)
	fmt.Println(providers.Code(err))
	fmt.Println(err)
	fmt.Println(cdn.CheckZeroTrust(env, observed[:1]))
	// Output:
	// InvalidArgument
	// cdn.CheckZeroTrust acme: InvalidArgument: firewall rule "acme-public-web": opens web nodes to the internet (0.0.0.0/0) on tcp ports [80 443]; with Cloudflare the web nodes are reached only through the tunnel: public ingress to web nodes with Cloudflare Zero Trust
	// <nil>
}
