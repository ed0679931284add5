package cdn_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

func cloudflareEnv() *environment.Environment {
	return environment.Standard("acme", environment.OCI, "eu-frankfurt-1")
}

func TestCheckZeroTrust(t *testing.T) {
	open := func(name string, tags []string, labels providers.Labels, ranges ...string) providers.FirewallRule {
		return providers.FirewallRule{Name: name, Protocol: providers.TCP, Ports: []int{443}, SourceRanges: ranges, TargetTags: tags, Labels: labels}
	}
	for _, tc := range []struct {
		name    string
		edit    func(*environment.Environment)
		rules   []providers.FirewallRule
		wantErr []string
	}{
		{name: "no rules", wantErr: nil},
		{name: "office range to web is fine",
			rules: []providers.FirewallRule{open("ssh", []string{"acme-web"}, nil, "203.0.113.0/24")}},
		{name: "internal traffic is fine",
			rules: []providers.FirewallRule{open("internal", []string{"acme-node"}, nil, "10.0.0.0/8")}},
		{name: "open rule on another tier's tag is not about web nodes",
			rules: []providers.FirewallRule{open("smtp", []string{"acme-smtp"}, nil, "0.0.0.0/0")}},
		{name: "web tier tag open", rules: []providers.FirewallRule{open("public-web", []string{"acme-web"}, nil, "0.0.0.0/0")},
			wantErr: []string{`firewall rule "public-web"`, "0.0.0.0/0"}},
		{name: "every node's tag open, IPv6", rules: []providers.FirewallRule{open("all", []string{"acme-node"}, nil, " ::/0")},
			wantErr: []string{`firewall rule "all"`, "::/0"}},
		{name: "labelled web, /0 with spaces", rules: []providers.FirewallRule{open("lbl", []string{"x"}, providers.Labels{providers.LabelTier: "web"}, "0.0.0.0/0 ")},
			wantErr: []string{`"lbl"`}},
		{name: "bare tier tag", rules: []providers.FirewallRule{open("bare", []string{"web"}, nil, "0.0.0.0/0")}, wantErr: []string{`"bare"`}},
		{name: "spec ingress", edit: func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Name: "https", Tier: environment.TierWeb, Ports: []int{443}, SourceRanges: []string{"0.0.0.0/0"}},
				{Name: "ssh", Tier: environment.TierWeb, Ports: []int{22}, SourceRanges: []string{"198.51.100.7/32"}}}
		}, wantErr: []string{`ingress[0] "https"`}},
		{name: "all violations at once", edit: func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Name: "https", Tier: environment.TierWeb, Ports: []int{443}, SourceRanges: []string{"0.0.0.0/0"}}}
		}, rules: []providers.FirewallRule{open("a", []string{"acme-web"}, nil, "0.0.0.0/0"), open("b", []string{"acme-node"}, nil, "::/0")},
			wantErr: []string{`"https"`, `"a"`, `"b"`}},
		{name: "google cdn may be public", edit: func(e *environment.Environment) { e.CDN.Kind = environment.CDNGoogle },
			rules: []providers.FirewallRule{open("public-web", []string{"acme-web"}, nil, "0.0.0.0/0")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := cloudflareEnv()
			if tc.edit != nil {
				tc.edit(env)
			}
			err := cdn.CheckZeroTrust(env, tc.rules)
			if tc.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, cdn.ErrPublicIngress)
			require.ErrorIs(t, err, providers.ErrInvalidArgument)
			for _, w := range tc.wantErr {
				assert.Contains(t, err.Error(), w)
			}
			names := 0 // each violation is named in quotes
			for _, w := range tc.wantErr {
				if strings.Contains(w, `"`) {
					names++
				}
			}
			assert.Equal(t, names, strings.Count(err.Error(), "opens web nodes"), "one line per violation")
		})
	}
	assert.ErrorIs(t, cdn.CheckZeroTrust(nil, nil), providers.ErrInvalidArgument)
}

// The planned rule set of a Cloudflare environment passes; environment
// Validate and CheckZeroTrust agree on a spec that opens web nodes; rules
// left from another edge are caught in an observed rule set.
func TestZeroTrustWithTheEnvironmentPlan(t *testing.T) {
	env := cloudflareEnv()
	zones := []providers.Zone{{Name: "Uocm:EU-FRANKFURT-1-AD-1", Region: "eu-frankfurt-1", Up: true, FaultDomains: []string{"FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"}}}
	nodes, err := env.Place(zones)
	require.NoError(t, err)
	require.NoError(t, env.Validate())
	planned := environment.DesiredResources(env, nodes, nil).FirewallRules
	require.NotEmpty(t, planned)
	assert.NoError(t, cdn.CheckZeroTrust(env, planned), "the plan of a Cloudflare environment has no public ingress")

	bad := env.Clone()
	bad.Ingress = []environment.IngressRule{{Name: "https", Tier: environment.TierWeb, Ports: []int{443}, SourceRanges: []string{"0.0.0.0/0"}}}
	assert.Error(t, bad.Validate(), "environment.Validate refuses it")
	assert.ErrorIs(t, cdn.CheckZeroTrust(bad, environment.DesiredResources(bad, nodes, nil).FirewallRules), cdn.ErrPublicIngress)

	other := env.Clone()
	other.CDN.Kind, other.CDN.Name = environment.CDNOther, "fastly"
	observed := environment.DesiredResources(other, nodes, nil).FirewallRules // left by a previous edge
	err = cdn.CheckZeroTrust(env, observed)
	require.ErrorIs(t, err, cdn.ErrPublicIngress)
	assert.Contains(t, err.Error(), "acme-public-web")
}

// The zone-loss analysis counts the tunnel's connectors (one cloudflared
// per web node) per failure domain: with web nodes in two zones, losing
// either keeps a connector.
func TestZoneLossCountsTunnelConnectors(t *testing.T) {
	env := environment.Standard("acme", environment.GCP, "europe-west3")
	env.CDN = environment.CDN{Kind: environment.CDNCloudflare, Hostnames: []string{"shop.example.com"},
		Cloudflare: &environment.CloudflareSettings{AccountID: "a", ZoneID: "z"}}
	var zones []providers.Zone
	for _, z := range []string{"a", "b", "c"} {
		zones = append(zones, providers.Zone{Name: "europe-west3-" + z, Region: "europe-west3", Up: true})
	}
	nodes, err := env.Place(zones)
	require.NoError(t, err)
	report := environment.AnalyzeZoneLoss(env, nodes)
	for _, z := range report.Zones {
		c := tunnelCheck(t, z.Checks)
		assert.True(t, c.OK, "zone %s: %s", z.Zone, c.Reason)
		assert.GreaterOrEqual(t, c.Left, 1)
	}

	// Both web nodes in one zone: losing it leaves no connector.
	var squeezed []environment.Node
	for _, n := range nodes {
		if n.Tier == environment.TierWeb {
			n.Zone = "europe-west3-a"
		}
		squeezed = append(squeezed, n)
	}
	report = environment.AnalyzeZoneLoss(env, squeezed)
	var lostA *environment.ZoneLoss
	for i := range report.Zones {
		if report.Zones[i].Zone == "europe-west3-a" {
			lostA = &report.Zones[i]
		}
	}
	require.NotNil(t, lostA)
	c := tunnelCheck(t, lostA.Checks)
	assert.False(t, c.OK)
	assert.Zero(t, c.Left)
}

func tunnelCheck(t *testing.T, checks []environment.TierCheck) environment.TierCheck {
	t.Helper()
	for _, c := range checks {
		if c.Check == environment.CheckTunnel {
			return c
		}
	}
	t.Fatalf("no %q check in %v", environment.CheckTunnel, checks)
	return environment.TierCheck{}
}

func TestRecordValidate(t *testing.T) {
	for _, tc := range []struct {
		r    cdn.Record
		want []string
	}{
		{cdn.Record{Name: "shop.example.com", Type: cdn.RecordA, Content: "192.0.2.1"}, nil},
		{cdn.Record{Name: "shop.example.com.", Type: cdn.RecordAAAA, Content: "2001:db8::1"}, nil},
		{cdn.Record{Name: "shop.example.com", Type: cdn.RecordCNAME, Content: "x.cfargotunnel.com", Proxied: true, TTL: time.Minute}, nil},
		{cdn.Record{Name: "*.example.com", Type: cdn.RecordCNAME, Content: "x.cfargotunnel.com"}, nil},
		{cdn.Record{Name: "shop", Type: cdn.RecordA, Content: "2001:db8::1", TTL: -1}, []string{"name:", "not an IPv4", "ttl:"}},
		{cdn.Record{Name: "shop.example.com", Type: cdn.RecordAAAA, Content: "192.0.2.1"}, []string{"not an IPv6"}},
		{cdn.Record{Name: "shop.example.com", Type: cdn.RecordCNAME, Content: "Shop.Example.com."}, []string{"own name"}},
		{cdn.Record{Name: "shop.example.com", Type: "MX", Content: "mx.example.com"}, []string{"type:"}},
		{cdn.Record{Name: "-bad-.example.com", Type: cdn.RecordCNAME, Content: "under_score.example.com"}, []string{"name:", "content:"}},
	} {
		t.Run(tc.r.String(), func(t *testing.T) {
			err := tc.r.Validate()
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, providers.ErrInvalidArgument)
			require.ErrorIs(t, err, cdn.ErrInvalidRecord)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestConflicts(t *testing.T) {
	types := []cdn.RecordType{cdn.RecordA, cdn.RecordAAAA, cdn.RecordCNAME, "TXT"}
	want := map[cdn.RecordType][]cdn.RecordType{
		cdn.RecordA:     {cdn.RecordA, cdn.RecordCNAME},
		cdn.RecordAAAA:  {cdn.RecordAAAA, cdn.RecordCNAME},
		cdn.RecordCNAME: {cdn.RecordA, cdn.RecordAAAA, cdn.RecordCNAME},
	}
	for _, a := range types[:3] {
		for _, b := range types {
			assert.Equal(t, contains(want[a], b), a.Conflicts(b), "%s vs %s", a, b)
		}
	}
}

func contains(ts []cdn.RecordType, t cdn.RecordType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func TestTunnelSecrets(t *testing.T) {
	assert.Nil(t, cdn.TunnelSecrets(nil))
	assert.Nil(t, cdn.TunnelSecrets(&cdn.State{Kind: environment.CDNGoogle}))
	assert.Nil(t, cdn.PlanSecrets(&cdn.State{Kind: environment.CDNGoogle}))
	st := &cdn.State{TunnelToken: "eyJhIjoiYWJjIn0="}
	s := cdn.TunnelSecrets(st)
	assert.Equal(t, "eyJhIjoiYWJjIn0=", s[cdn.MetadataTunnelToken].Reveal())
	assert.Equal(t, map[environment.Tier]map[string]providers.Secret{environment.TierWeb: s}, cdn.PlanSecrets(st))
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", st), fmt.Sprintf("%#v", st)} {
		assert.NotContains(t, out, "eyJhIjoiYWJjIn0=")
	}
}

func TestValidHostname(t *testing.T) {
	for h, ok := range map[string]bool{
		"shop.example.com": true, "SHOP.example.com.": true, "*.example.com": true, "a-b.c": true,
		"localhost": false, "": false, "a..b": false, "-a.b": false, "a-.b": false, "a.*.b": false,
		strings.Repeat("a", 64) + ".com": false, "under_score.example.com": false,
	} {
		assert.Equal(t, ok, cdn.ValidHostname(h), h)
	}
	assert.True(t, cdn.SameHost("Shop.Example.com.", "shop.example.com"))
	assert.Equal(t, cdn.Origin{Port: 80, HealthCheckPath: "/"}, cdn.Origin{}.WithDefaults())
}
