package providertest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/providers"
)

func providerTests() []test {
	return []test{
		{"KindIsSet", func(t *testing.T, f *fixture) {
			assert.NotEmpty(t, f.p.Kind())
		}},
		{"AsUnsupportedTargetReturnsFalse", func(t *testing.T, f *fixture) {
			var s string
			var pp *int
			for _, target := range []any{nil, 42, "x", &s, &pp, new(providers.Provider), (**int)(nil)} {
				assert.False(t, f.p.As(target), "As(%T)", target)
			}
		}},
		{"AsSupportedTarget", func(t *testing.T, f *fixture) {
			if f.cfg.AsTarget == nil {
				t.Skip("harness names no As target")
			}
			assert.True(t, f.p.As(f.cfg.AsTarget()))
		}},
		{"MethodsAfterCloseError", func(t *testing.T, f *fixture) {
			require.NoError(t, f.p.Close())
			_, err := f.p.ListZones(f.ctx, f.cfg.Region)
			assert.Error(t, err, "ListZones")
			_, err = f.p.GetInstance(f.ctx, providers.InstanceRef{Region: f.cfg.Region, Zone: f.cfg.Zones[0], Name: "web-1"})
			assert.Error(t, err, "GetInstance")
			_, err = f.p.CreateInstance(f.ctx, f.instanceSpec("web-1", f.cfg.Zones[0], ours(Env, "web")))
			assert.Error(t, err, "CreateInstance")
			_, err = f.p.ListAddresses(f.ctx, f.cfg.Region, nil)
			assert.Error(t, err, "ListAddresses")
			_, err = f.p.ListFirewallRules(f.ctx, f.cfg.Region, nil)
			assert.Error(t, err, "ListFirewallRules")
			assert.Error(t, f.p.CreateBucket(f.ctx, providers.BucketSpec{Name: "closed-bucket", Region: f.cfg.Region}), "CreateBucket")
			_, err = f.p.PutObject(f.ctx, "closed-bucket", "k", strings.NewReader("x"), nil)
			assert.Error(t, err, "PutObject")
		}},
		{"CanceledContext", func(t *testing.T, f *fixture) {
			ctx, cancel := context.WithCancel(f.ctx)
			cancel()
			_, err := f.p.ListZones(ctx, f.cfg.Region)
			wantCode(t, providers.Canceled, err, "ListZones")
			_, err = f.p.CreateInstance(ctx, f.instanceSpec("web-1", f.cfg.Zones[0], ours(Env, "web")))
			wantCode(t, providers.Canceled, err, "CreateInstance")
			_, err = f.p.ListInstances(ctx, f.cfg.Region, nil)
			wantCode(t, providers.Canceled, err, "ListInstances")
			_, err = f.p.ReserveAddress(ctx, providers.AddressSpec{Name: "ip-1", Region: f.cfg.Region, Labels: ours(Env, "web")})
			wantCode(t, providers.Canceled, err, "ReserveAddress")
			wantCode(t, providers.Canceled, f.p.CreateBucket(ctx, providers.BucketSpec{Name: "canceled-bucket", Region: f.cfg.Region}), "CreateBucket")
			// Nothing was created.
			list, err := f.p.ListInstances(f.ctx, f.cfg.Region, nil)
			require.NoError(t, err)
			assert.Empty(t, list)
			_, err = f.p.GetAddress(f.ctx, f.cfg.Region, "ip-1")
			wantCode(t, providers.NotFound, err, "GetAddress after canceled reserve")
		}},
	}
}

func zoneTests() []test {
	return []test{
		{"ListZonesSortedWithConfiguredZones", func(t *testing.T, f *fixture) {
			zones, err := f.p.ListZones(f.ctx, f.cfg.Region)
			require.NoError(t, err)
			names := make([]string, 0, len(zones))
			for _, z := range zones {
				names = append(names, z.Name)
				assert.Equal(t, f.cfg.Region, z.Region, "zone %s region", z.Name)
				assert.True(t, z.Up, "zone %s up", z.Name)
			}
			assert.True(t, slices.IsSorted(names), "zones not sorted: %v", names)
			for _, z := range f.cfg.Zones {
				assert.Contains(t, names, z)
			}
		}},
		{"ListZonesReportsDownZone", func(t *testing.T, f *fixture) {
			if f.cfg.ZoneOutage == nil {
				t.Skip("harness cannot take a zone down")
			}
			down := f.cfg.Zones[0]
			require.NoError(t, f.cfg.ZoneOutage(f.p, down))
			zones, err := f.p.ListZones(f.ctx, f.cfg.Region)
			require.NoError(t, err)
			seen := false
			for _, z := range zones {
				if z.Name == down {
					seen = true
					assert.False(t, z.Up, "zone %s is down", z.Name)
				} else {
					assert.True(t, z.Up, "zone %s is up", z.Name)
				}
			}
			assert.True(t, seen, "a down zone is still listed")
		}},
		{"ListZonesUnknownRegionNotFound", func(t *testing.T, f *fixture) {
			_, err := f.p.ListZones(f.ctx, f.cfg.UnknownRegion)
			wantCode(t, providers.NotFound, err, "ListZones(unknown)")
		}},
		{"ListZonesEmptyRegionInvalid", func(t *testing.T, f *fixture) {
			_, err := f.p.ListZones(f.ctx, "")
			wantCode(t, providers.InvalidArgument, err, `ListZones("")`)
		}},
	}
}

func instanceTests() []test {
	return []test{
		{"CreateReturnsAcceptedInstance", func(t *testing.T, f *fixture) {
			spec := f.instanceSpec("web-1", f.cfg.Zones[0], ours(Env, "web"))
			inst, err := f.p.CreateInstance(f.ctx, spec)
			require.NoError(t, err)
			assert.Contains(t, []providers.InstanceStatus{providers.StatusProvisioning, providers.StatusRunning}, inst.Status)
			assert.NotEmpty(t, inst.ID)
			assert.Equal(t, spec.Ref(), inst.Ref())
			assert.Equal(t, spec.Labels, inst.Labels)
			assert.Equal(t, "web", inst.Metadata["role"])
		}},
		{"CreateIdempotentByName", func(t *testing.T, f *fixture) {
			spec := f.instanceSpec("web-1", f.cfg.Zones[0], ours(Env, "web"))
			first, err := f.p.CreateInstance(f.ctx, spec)
			require.NoError(t, err)
			spec.Metadata = map[string]string{"role": "changed"}
			again, err := f.p.CreateInstance(f.ctx, spec)
			require.NoError(t, err, "second create of our instance")
			assert.Equal(t, first.ID, again.ID)
			assert.Equal(t, "web", again.Metadata["role"], "the existing instance is returned unchanged")
			list, err := f.p.ListInstances(f.ctx, f.cfg.Region, nil)
			require.NoError(t, err)
			assert.Len(t, list, 1)
		}},
		{"CreateOverForeignInstanceAlreadyExists", func(t *testing.T, f *fixture) {
			_, err := f.p.CreateInstance(f.ctx, f.instanceSpec("web-1", f.cfg.Zones[0], ours("other-env", "web")))
			require.NoError(t, err)
			_, err = f.p.CreateInstance(f.ctx, f.instanceSpec("web-2", f.cfg.Zones[0], providers.Labels{"team": "shop"}))
			require.NoError(t, err)
			_, err = f.p.CreateInstance(f.ctx, f.instanceSpec("web-1", f.cfg.Zones[0], ours(Env, "web")))
			wantCode(t, providers.AlreadyExists, err, "other environment's instance")
			_, err = f.p.CreateInstance(f.ctx, f.instanceSpec("web-2", f.cfg.Zones[0], ours(Env, "web")))
			wantCode(t, providers.AlreadyExists, err, "unmanaged instance")
			inst, err := f.p.GetInstance(f.ctx, providers.InstanceRef{Region: f.cfg.Region, Zone: f.cfg.Zones[0], Name: "web-1"})
			require.NoError(t, err)
			assert.Equal(t, "other-env", inst.Labels[providers.LabelEnvironment], "the foreign instance is untouched")
		}},
		{"CreateInvalidSpec", func(t *testing.T, f *fixture) {
			for _, tc := range []struct {
				name string
				edit func(*providers.InstanceSpec)
			}{
				{"no name", func(s *providers.InstanceSpec) { s.Name = "" }},
				{"no region", func(s *providers.InstanceSpec) { s.Region = "" }},
				{"no zone", func(s *providers.InstanceSpec) { s.Zone = "" }},
				{"upper case name", func(s *providers.InstanceSpec) { s.Name = "Web-1" }},
				{"underscore name", func(s *providers.InstanceSpec) { s.Name = "web_1" }},
				{"name ends with dash", func(s *providers.InstanceSpec) { s.Name = "web-" }},
				{"name too long", func(s *providers.InstanceSpec) { s.Name = "w" + strings.Repeat("e", 63) }},
			} {
				spec := f.instanceSpec("web-1", f.cfg.Zones[0], ours(Env, "web"))
				tc.edit(&spec)
				_, err := f.p.CreateInstance(f.ctx, spec)
				wantCode(t, providers.InvalidArgument, err, tc.name)
			}
			list, err := f.p.ListInstances(f.ctx, f.cfg.Region, nil)
			require.NoError(t, err)
			assert.Empty(t, list)
		}},
		{"CreateUnknownZone", func(t *testing.T, f *fixture) {
			_, err := f.p.CreateInstance(f.ctx, f.instanceSpec("web-1", f.cfg.Region+"-zz", ours(Env, "web")))
			code := providers.Code(err)
			assert.True(t, code == providers.NotFound || code == providers.InvalidArgument, "got %v (%v), want NotFound or InvalidArgument", code, err)
		}},
		{"GetMissingNotFound", func(t *testing.T, f *fixture) {
			_, err := f.p.GetInstance(f.ctx, providers.InstanceRef{Region: f.cfg.Region, Zone: f.cfg.Zones[0], Name: "missing"})
			wantCode(t, providers.NotFound, err, "GetInstance(missing)")
		}},
		{"GetReturnsInstance", func(t *testing.T, f *fixture) {
			spec := f.instanceSpec("db-1", f.cfg.Zones[1], ours(Env, "db"))
			created, err := f.p.CreateInstance(f.ctx, spec)
			require.NoError(t, err)
			got, err := f.p.GetInstance(f.ctx, spec.Ref())
			require.NoError(t, err)
			assert.Equal(t, created.ID, got.ID)
			assert.Equal(t, spec.Ref(), got.Ref())
			assert.Equal(t, spec.Labels, got.Labels)
			assert.Equal(t, spec.Metadata, got.Metadata)
			assert.Equal(t, spec.Tags, got.Tags)
			assert.NotEmpty(t, got.PrivateIP)
		}},
		{"ListBySelectorSortedByName", func(t *testing.T, f *fixture) {
			for i, name := range []string{"web-c", "web-a", "web-b"} {
				_, err := f.p.CreateInstance(f.ctx, f.instanceSpec(name, f.cfg.Zones[i%2], ours(Env, "web")))
				require.NoError(t, err)
			}
			_, err := f.p.CreateInstance(f.ctx, f.instanceSpec("db-a", f.cfg.Zones[0], ours(Env, "db")))
			require.NoError(t, err)
			_, err = f.p.CreateInstance(f.ctx, f.instanceSpec("aaa-other", f.cfg.Zones[0], ours("other-env", "web")))
			require.NoError(t, err)

			names := func(sel providers.Labels) []string {
				list, err := f.p.ListInstances(f.ctx, f.cfg.Region, sel)
				require.NoError(t, err)
				var out []string
				for _, i := range list {
					out = append(out, i.Name)
				}
				return out
			}
			assert.Equal(t, []string{"web-a", "web-b", "web-c"}, names(providers.Labels{providers.LabelEnvironment: Env, providers.LabelTier: "web"}))
			assert.Equal(t, []string{"db-a", "web-a", "web-b", "web-c"}, names(providers.Labels{providers.LabelEnvironment: Env}))
			assert.Equal(t, []string{"aaa-other", "db-a", "web-a", "web-b", "web-c"}, names(nil))
			assert.Empty(t, names(providers.Labels{providers.LabelEnvironment: "nobody"}))
		}},
		{"DeletedNotListed", func(t *testing.T, f *fixture) {
			spec := f.instanceSpec("web-1", f.cfg.Zones[0], ours(Env, "web"))
			_, err := f.p.CreateInstance(f.ctx, spec)
			require.NoError(t, err)
			_, err = f.p.CreateInstance(f.ctx, f.instanceSpec("web-2", f.cfg.Zones[1], ours(Env, "web")))
			require.NoError(t, err)
			require.NoError(t, f.p.DeleteInstance(f.ctx, spec.Ref()))
			list, err := f.p.ListInstances(f.ctx, f.cfg.Region, nil)
			require.NoError(t, err)
			require.Len(t, list, 1)
			assert.Equal(t, "web-2", list[0].Name)
			_, err = f.p.GetInstance(f.ctx, spec.Ref())
			wantCode(t, providers.NotFound, err, "GetInstance after delete")
		}},
		{"DeleteMissingNotFound", func(t *testing.T, f *fixture) {
			err := f.p.DeleteInstance(f.ctx, providers.InstanceRef{Region: f.cfg.Region, Zone: f.cfg.Zones[0], Name: "missing"})
			wantCode(t, providers.NotFound, err, "DeleteInstance(missing)")
		}},
		{"UpdateReplacesLabelsAndMetadata", func(t *testing.T, f *fixture) {
			spec := f.instanceSpec("web-1", f.cfg.Zones[0], ours(Env, "web"))
			_, err := f.p.CreateInstance(f.ctx, spec)
			require.NoError(t, err)
			labels := ours(Env, "web")
			labels["version"] = "v2"
			got, err := f.p.UpdateInstance(f.ctx, spec.Ref(), providers.InstanceUpdate{Labels: labels, Metadata: map[string]string{"startup": "echo hi"}})
			require.NoError(t, err)
			assert.Equal(t, labels, got.Labels)
			assert.Equal(t, map[string]string{"startup": "echo hi"}, got.Metadata, "metadata is replaced, not merged")
			again, err := f.p.GetInstance(f.ctx, spec.Ref())
			require.NoError(t, err)
			assert.Equal(t, labels, again.Labels)
			assert.Equal(t, map[string]string{"startup": "echo hi"}, again.Metadata)
		}},
		{"UpdateKeepsNilFields", func(t *testing.T, f *fixture) {
			spec := f.instanceSpec("web-1", f.cfg.Zones[0], ours(Env, "web"))
			_, err := f.p.CreateInstance(f.ctx, spec)
			require.NoError(t, err)
			got, err := f.p.UpdateInstance(f.ctx, spec.Ref(), providers.InstanceUpdate{Metadata: map[string]string{"k": "v"}})
			require.NoError(t, err)
			assert.Equal(t, spec.Labels, got.Labels, "nil Labels leaves labels as they are")
			got, err = f.p.UpdateInstance(f.ctx, spec.Ref(), providers.InstanceUpdate{})
			require.NoError(t, err)
			assert.Equal(t, map[string]string{"k": "v"}, got.Metadata, "nil Metadata leaves metadata as it is")
		}},
		{"UpdateMissingNotFound", func(t *testing.T, f *fixture) {
			_, err := f.p.UpdateInstance(f.ctx, providers.InstanceRef{Region: f.cfg.Region, Zone: f.cfg.Zones[0], Name: "missing"}, providers.InstanceUpdate{Labels: providers.Labels{"a": "b"}})
			wantCode(t, providers.NotFound, err, "UpdateInstance(missing)")
		}},
		{"StopStartIdempotent", func(t *testing.T, f *fixture) {
			spec := f.instanceSpec("db-1", f.cfg.Zones[0], ours(Env, "db"))
			_, err := f.p.CreateInstance(f.ctx, spec)
			require.NoError(t, err)
			require.NoError(t, f.p.StopInstance(f.ctx, spec.Ref()))
			require.NoError(t, f.p.StopInstance(f.ctx, spec.Ref()), "stopping a stopped instance")
			got, err := f.p.GetInstance(f.ctx, spec.Ref())
			require.NoError(t, err)
			assert.Equal(t, providers.StatusStopped, got.Status)
			require.NoError(t, f.p.StartInstance(f.ctx, spec.Ref()))
			require.NoError(t, f.p.StartInstance(f.ctx, spec.Ref()), "starting a running instance")
			got, err = f.p.GetInstance(f.ctx, spec.Ref())
			require.NoError(t, err)
			assert.Contains(t, []providers.InstanceStatus{providers.StatusProvisioning, providers.StatusRunning}, got.Status)
		}},
		{"StopStartMissingNotFound", func(t *testing.T, f *fixture) {
			ref := providers.InstanceRef{Region: f.cfg.Region, Zone: f.cfg.Zones[0], Name: "missing"}
			wantCode(t, providers.NotFound, f.p.StopInstance(f.ctx, ref), "StopInstance(missing)")
			wantCode(t, providers.NotFound, f.p.StartInstance(f.ctx, ref), "StartInstance(missing)")
		}},
		{"SecretsNeverPrinted", func(t *testing.T, f *fixture) {
			const token = "tunnel-token-s3cr3t-value"
			spec := f.instanceSpec("web-1", f.cfg.Zones[0], ours(Env, "web"))
			spec.Secrets = map[string]providers.Secret{"cloudflared-token": token}
			inst, err := f.p.CreateInstance(f.ctx, spec)
			require.NoError(t, err)
			for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
				assert.NotContains(t, fmt.Sprintf(format, inst), token, format)
			}
			other := spec
			other.Labels = ours("other-env", "web")
			_, err = f.p.CreateInstance(f.ctx, other)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), token)
		}},
	}
}

func addressTests() []test {
	return []test{
		{"ReserveReturnsIP", func(t *testing.T, f *fixture) {
			a, err := f.p.ReserveAddress(f.ctx, providers.AddressSpec{Name: "primary-ip", Region: f.cfg.Region, Labels: ours(Env, "edge")})
			require.NoError(t, err)
			_, perr := netip.ParseAddr(a.IP)
			assert.NoError(t, perr, "IP %q", a.IP)
			assert.Equal(t, "primary-ip", a.Name)
			assert.Equal(t, f.cfg.Region, a.Region)
		}},
		{"ReserveIdempotentByName", func(t *testing.T, f *fixture) {
			spec := providers.AddressSpec{Name: "primary-ip", Region: f.cfg.Region, Labels: ours(Env, "edge")}
			a, err := f.p.ReserveAddress(f.ctx, spec)
			require.NoError(t, err)
			b, err := f.p.ReserveAddress(f.ctx, spec)
			require.NoError(t, err)
			assert.Equal(t, a.IP, b.IP)
			assert.Equal(t, a.ID, b.ID)
			list, err := f.p.ListAddresses(f.ctx, f.cfg.Region, nil)
			require.NoError(t, err)
			assert.Len(t, list, 1)
		}},
		{"ReserveOverForeignAlreadyExists", func(t *testing.T, f *fixture) {
			_, err := f.p.ReserveAddress(f.ctx, providers.AddressSpec{Name: "primary-ip", Region: f.cfg.Region, Labels: ours("other-env", "edge")})
			require.NoError(t, err)
			_, err = f.p.ReserveAddress(f.ctx, providers.AddressSpec{Name: "primary-ip", Region: f.cfg.Region, Labels: ours(Env, "edge")})
			wantCode(t, providers.AlreadyExists, err, "foreign address")
		}},
		{"GetAndRelease", func(t *testing.T, f *fixture) {
			a, err := f.p.ReserveAddress(f.ctx, providers.AddressSpec{Name: "dr-ip", Region: f.cfg.Region, Labels: ours(Env, "edge")})
			require.NoError(t, err)
			got, err := f.p.GetAddress(f.ctx, f.cfg.Region, "dr-ip")
			require.NoError(t, err)
			assert.Equal(t, a.IP, got.IP)
			require.NoError(t, f.p.ReleaseAddress(f.ctx, f.cfg.Region, "dr-ip"))
			_, err = f.p.GetAddress(f.ctx, f.cfg.Region, "dr-ip")
			wantCode(t, providers.NotFound, err, "GetAddress after release")
		}},
		{"MissingNotFound", func(t *testing.T, f *fixture) {
			_, err := f.p.GetAddress(f.ctx, f.cfg.Region, "missing")
			wantCode(t, providers.NotFound, err, "GetAddress(missing)")
			wantCode(t, providers.NotFound, f.p.ReleaseAddress(f.ctx, f.cfg.Region, "missing"), "ReleaseAddress(missing)")
		}},
		{"ListBySelectorSortedByName", func(t *testing.T, f *fixture) {
			for _, n := range []string{"ip-c", "ip-a", "ip-b"} {
				_, err := f.p.ReserveAddress(f.ctx, providers.AddressSpec{Name: n, Region: f.cfg.Region, Labels: ours(Env, "edge")})
				require.NoError(t, err)
			}
			_, err := f.p.ReserveAddress(f.ctx, providers.AddressSpec{Name: "ip-0", Region: f.cfg.Region, Labels: ours("other-env", "edge")})
			require.NoError(t, err)
			list, err := f.p.ListAddresses(f.ctx, f.cfg.Region, providers.Labels{providers.LabelEnvironment: Env})
			require.NoError(t, err)
			var names []string
			for _, a := range list {
				names = append(names, a.Name)
			}
			assert.Equal(t, []string{"ip-a", "ip-b", "ip-c"}, names)
		}},
		{"GlobalAddress", func(t *testing.T, f *fixture) {
			spec := providers.AddressSpec{Name: "lb-ip", Labels: ours(Env, "edge")}
			a, err := f.p.ReserveAddress(f.ctx, spec)
			if !f.cfg.GlobalAddresses {
				wantCode(t, providers.InvalidArgument, err, "global address on a provider without them")
				return
			}
			require.NoError(t, err)
			assert.NotEmpty(t, a.IP)
			list, err := f.p.ListAddresses(f.ctx, "", nil)
			require.NoError(t, err)
			require.Len(t, list, 1)
			assert.Equal(t, "lb-ip", list[0].Name)
			regional, err := f.p.ListAddresses(f.ctx, f.cfg.Region, nil)
			require.NoError(t, err)
			assert.Empty(t, regional, "a global address is not regional")
			require.NoError(t, f.p.ReleaseAddress(f.ctx, "", "lb-ip"))
		}},
	}
}

func (f *fixture) rule(name string, labels providers.Labels) providers.FirewallRule {
	return providers.FirewallRule{
		Name: name, Region: f.cfg.Region, Description: "web from anywhere", Protocol: providers.TCP,
		Ports: []int{80, 443}, SourceRanges: []string{"0.0.0.0/0"}, TargetTags: []string{"web"}, Labels: labels,
	}
}

func firewallTests() []test {
	return []test{
		{"CreateAndGet", func(t *testing.T, f *fixture) {
			r := f.rule("allow-web", ours(Env, "web"))
			got, err := f.p.CreateFirewallRule(f.ctx, r)
			require.NoError(t, err)
			assert.Equal(t, r.Ports, got.Ports)
			assert.Equal(t, r.SourceRanges, got.SourceRanges)
			assert.Equal(t, r.TargetTags, got.TargetTags)
			again, err := f.p.GetFirewallRule(f.ctx, f.cfg.Region, "allow-web")
			require.NoError(t, err)
			assert.Equal(t, r.Ports, again.Ports)
			assert.Equal(t, r.Labels, again.Labels)
			assert.True(t, again.OpenToInternet())
		}},
		{"CreateIdempotentByName", func(t *testing.T, f *fixture) {
			r := f.rule("allow-web", ours(Env, "web"))
			_, err := f.p.CreateFirewallRule(f.ctx, r)
			require.NoError(t, err)
			changed := r
			changed.Ports = []int{8080}
			got, err := f.p.CreateFirewallRule(f.ctx, changed)
			require.NoError(t, err)
			assert.Equal(t, []int{80, 443}, got.Ports, "the existing rule is returned unchanged")
		}},
		{"CreateOverForeignAlreadyExists", func(t *testing.T, f *fixture) {
			_, err := f.p.CreateFirewallRule(f.ctx, f.rule("allow-web", providers.Labels{"team": "net"}))
			require.NoError(t, err)
			_, err = f.p.CreateFirewallRule(f.ctx, f.rule("allow-web", ours(Env, "web")))
			wantCode(t, providers.AlreadyExists, err, "foreign rule")
		}},
		{"CreateInvalidRule", func(t *testing.T, f *fixture) {
			for _, tc := range []struct {
				name string
				edit func(*providers.FirewallRule)
			}{
				{"no port", func(r *providers.FirewallRule) { r.Ports = nil }},
				{"no source range", func(r *providers.FirewallRule) { r.SourceRanges = nil }},
				{"no target tag", func(r *providers.FirewallRule) { r.TargetTags = nil }},
			} {
				r := f.rule("allow-web", ours(Env, "web"))
				tc.edit(&r)
				_, err := f.p.CreateFirewallRule(f.ctx, r)
				wantCode(t, providers.InvalidArgument, err, tc.name)
			}
			_, err := f.p.GetFirewallRule(f.ctx, f.cfg.Region, "allow-web")
			wantCode(t, providers.NotFound, err, "no rule after refused creates")
		}},
		{"MissingNotFound", func(t *testing.T, f *fixture) {
			_, err := f.p.GetFirewallRule(f.ctx, f.cfg.Region, "missing")
			wantCode(t, providers.NotFound, err, "GetFirewallRule(missing)")
			wantCode(t, providers.NotFound, f.p.DeleteFirewallRule(f.ctx, f.cfg.Region, "missing"), "DeleteFirewallRule(missing)")
		}},
		{"ListBySelectorSortedAndDelete", func(t *testing.T, f *fixture) {
			for _, n := range []string{"allow-c", "allow-a", "allow-b"} {
				_, err := f.p.CreateFirewallRule(f.ctx, f.rule(n, ours(Env, "web")))
				require.NoError(t, err)
			}
			_, err := f.p.CreateFirewallRule(f.ctx, f.rule("allow-0", ours("other-env", "web")))
			require.NoError(t, err)
			require.NoError(t, f.p.DeleteFirewallRule(f.ctx, f.cfg.Region, "allow-b"))
			list, err := f.p.ListFirewallRules(f.ctx, f.cfg.Region, providers.Labels{providers.LabelEnvironment: Env})
			require.NoError(t, err)
			var names []string
			for _, r := range list {
				names = append(names, r.Name)
			}
			assert.Equal(t, []string{"allow-a", "allow-c"}, names)
		}},
	}
}
