package cloudflare_test

import (
	"context"
	"fmt"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/cdn/cloudflare"
	"github.com/orocloud/orocloud-go/cdn/cloudflare/cloudflarefake"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

// Compose the Cloudflare Zero Trust edge of an OCI environment (here against
// the local fake of the Cloudflare API), hand the tunnel token to the web
// tier as a secret, and switch a hostname for disaster recovery.
func ExampleEdge_Ensure() {
	api := cloudflarefake.New(nil)
	defer api.Close()

	env := environment.Standard("acme-prod", environment.OCI, "eu-frankfurt-1")
	env.CDN.Hostnames = []string{"shop.example.com"}

	edge, err := cloudflare.New(&cloudflare.Options{
		APIToken: providers.Secret(api.Token()), // from your secret store; never an env var read behind your back
		BaseURL:  api.URL(),
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	st, err := edge.Ensure(ctx, env, cdn.Origin{})
	if err != nil {
		panic(err)
	}
	fmt.Println("tunnel:", st.TunnelName)
	for _, in := range st.Ingress {
		fmt.Printf("ingress: %q -> %s\n", in.Hostname, in.Service)
	}
	fmt.Println("record target is the tunnel:", st.Records[0].Content == cloudflare.TunnelTarget(st.TunnelID), "proxied:", st.Records[0].Proxied)
	fmt.Println("ssl:", st.Settings[cloudflare.SettingSSL], "always https:", st.Settings[cloudflare.SettingAlwaysUseHTTPS])
	fmt.Printf("web tier secrets: %v\n", cdn.TunnelSecrets(st))
	fmt.Println("public entry point:", st.PublicEntryPoint)

	// DR: point the hostname at the DR region's address; this upserts.
	r, err := edge.PointHostname(ctx, cdn.Record{Zone: st.ZoneID, Name: "shop.example.com", Type: cdn.RecordA, Content: "203.0.113.10", Proxied: true})
	if err != nil {
		panic(err)
	}
	fmt.Println("switched:", r)
	// Output:
	// tunnel: orocloud-acme-prod
	// ingress: "shop.example.com" -> http://localhost:80
	// ingress: "" -> http_status:404
	// record target is the tunnel: true proxied: true
	// ssl: strict always https: on
	// web tier secrets: map[orocloud-cloudflared-token:[REDACTED]]
	// public entry point: false
	// switched: shop.example.com A 203.0.113.10 (proxied)
}
