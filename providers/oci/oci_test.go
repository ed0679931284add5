package oci_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"
	"github.com/oracle/oci-go-sdk/v65/identity"
	"github.com/oracle/oci-go-sdk/v65/objectstorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/oci"
	"github.com/orocloud/orocloud-go/providers/oci/ocifake"
	"github.com/orocloud/orocloud-go/retry"
)

func webSpec(srv *ocifake.Server, name string) providers.InstanceSpec {
	return providers.InstanceSpec{
		Name: name, Region: srv.Region(), Zone: ocifake.ADName(srv.Region(), 2), FaultDomain: "FAULT-DOMAIN-3",
		Labels: ours("acme", "web"), Tags: []string{"acme-web"},
	}
}

func requestsOf(srv *ocifake.Server, op string) []ocifake.Request {
	var out []ocifake.Request
	for _, r := range srv.Requests() {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

func TestLaunchRequestCarriesPlacementShapeTagsAndMetadata(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	prov, srv := newTest(t, nil, func(o *oci.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.Shapes = map[string]oci.Shape{"web": {Name: "VM.Standard.E5.Flex", OCPUs: 4, MemoryGB: 32}}
		o.Images = map[string]string{"web": "ocid1.image.oc1..web"}
	})
	_, err := prov.CreateFirewallRule(ctx, providers.FirewallRule{Name: "acme-web", Region: srv.Region(), Ports: []int{443},
		SourceRanges: []string{"10.0.0.0/16"}, TargetTags: []string{"acme-web"}, Labels: ours("acme", "web")})
	require.NoError(t, err)

	const secret = "tunnel-token-value-7f3a"
	spec := webSpec(srv, "acme-web-1")
	spec.DiskGB = 100
	spec.Metadata = map[string]string{oci.MetadataStartupScript: "#!/bin/sh\necho hi\n", "role": "web"}
	spec.Secrets = map[string]providers.Secret{"cloudflared-token": secret}
	inst, err := prov.CreateInstance(ctx, spec)
	require.NoError(t, err)
	assert.Equal(t, providers.StatusProvisioning, inst.Status)

	launches := requestsOf(srv, "LaunchInstance")
	require.Len(t, launches, 1)
	r := launches[0]
	assert.True(t, strings.HasPrefix(r.Header.Get("opc-retry-token"), "orocloud-"), r.Header.Get("opc-retry-token"))
	assert.Contains(t, r.Header.Get("Authorization"), `keyId="`+testTenancy+"/")
	var d core.LaunchInstanceDetails
	require.NoError(t, json.Unmarshal(r.Body, &d))
	assert.Equal(t, testCompartment, *d.CompartmentId)
	assert.Equal(t, spec.Zone, *d.AvailabilityDomain)
	assert.Equal(t, "FAULT-DOMAIN-3", *d.FaultDomain)
	assert.Equal(t, "acme-web-1", *d.DisplayName)
	assert.Equal(t, "VM.Standard.E5.Flex", *d.Shape)
	assert.Equal(t, float32(4), *d.ShapeConfig.Ocpus)
	assert.Equal(t, float32(32), *d.ShapeConfig.MemoryInGBs)
	src, ok := d.SourceDetails.(core.InstanceSourceViaImageDetails)
	require.True(t, ok)
	assert.Equal(t, "ocid1.image.oc1..web", *src.ImageId)
	assert.Equal(t, int64(100), *src.BootVolumeSizeInGBs)
	assert.Equal(t, map[string]string{
		providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: "acme",
		providers.LabelTier: "web", providers.LabelRole: "node",
		oci.TagNetworkTags: "acme-web", oci.TagSecretKeys: "cloudflared-token",
	}, d.FreeformTags)
	script, err := base64.StdEncoding.DecodeString(d.Metadata["user_data"])
	require.NoError(t, err)
	assert.Equal(t, "#!/bin/sh\necho hi\n", string(script))
	assert.Equal(t, "web", d.Metadata["role"])
	assert.Equal(t, secret, d.Metadata["cloudflared-token"], "secrets travel in metadata")
	assert.Equal(t, ocifake.SubnetID, *d.CreateVnicDetails.SubnetId)
	assert.Len(t, d.CreateVnicDetails.NsgIds, 1, "the VNIC joins the NSG targeting its tag")
	assert.False(t, *d.CreateVnicDetails.AssignPublicIp)

	// Read back: portable metadata, secrets separated, tags restored.
	got, err := prov.GetInstance(ctx, spec.Ref())
	require.NoError(t, err)
	assert.Equal(t, spec.Metadata, got.Metadata)
	assert.Equal(t, spec.Secrets, got.Secrets)
	assert.Equal(t, spec.Tags, got.Tags)
	assert.Equal(t, spec.Labels, got.Labels)
	assert.Equal(t, "VM.Standard.E5.Flex", got.MachineType)
	assert.Equal(t, float32(4), got.OCPUs)
	assert.Equal(t, 100, got.DiskGB)
	assert.NotEmpty(t, got.PrivateIP)
	listed, err := prov.ListInstances(ctx, srv.Region(), nil)
	require.NoError(t, err)
	require.Len(t, listed, 1)
	assert.Equal(t, got.PrivateIP, listed[0].PrivateIP, "lists carry private IPs too")

	assert.NotEmpty(t, logs.String())
	assert.NotContains(t, logs.String(), secret, "secrets never logged")
}

func TestCreateInstanceNoDuplicateUnderFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault ocifake.Fault
	}{
		{"503 after the launch was applied", ocifake.Fault{Op: "LaunchInstance", Status: 503, AfterApply: true}},
		{"connection dropped after the launch was applied", ocifake.Fault{Op: "LaunchInstance", Drop: true, AfterApply: true}},
		{"503 before the launch", ocifake.Fault{Op: "LaunchInstance", Status: 503}},
		{"429 with Retry-After", ocifake.Fault{Op: "LaunchInstance", Status: 429, RetryAfter: 2 * time.Second}},
		{"two 500s after apply", ocifake.Fault{Op: "LaunchInstance", Status: 500, AfterApply: true, Times: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var waits []time.Duration
			prov, srv := newTest(t, nil, func(o *oci.Options) {
				o.Clock = clock.NewAutoFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
				o.Retry.OnRetry = func(_ int, _ error, wait time.Duration) { waits = append(waits, wait) }
			})
			srv.Inject(tc.fault)
			inst, err := prov.CreateInstance(ctx, webSpec(srv, "acme-web-1"))
			require.NoError(t, err)
			assert.NotEmpty(t, inst.ID)

			all, err := prov.ListInstances(ctx, srv.Region(), nil)
			require.NoError(t, err)
			require.Len(t, all, 1, "exactly one instance")
			assert.Equal(t, inst.ID, all[0].ID)

			launches := requestsOf(srv, "LaunchInstance")
			require.GreaterOrEqual(t, len(launches), 2)
			for _, l := range launches {
				assert.Equal(t, launches[0].Header.Get("opc-retry-token"), l.Header.Get("opc-retry-token"), "retries reuse the retry token")
			}
			if tc.fault.RetryAfter > 0 {
				require.NotEmpty(t, waits)
				assert.GreaterOrEqual(t, waits[0], tc.fault.RetryAfter, "Retry-After honoured")
			}
		})
	}
}

func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		want   providers.ErrorCode
	}{
		{400, "InvalidParameter", providers.InvalidArgument},
		{400, "LimitExceeded", providers.ResourceExhausted},
		{401, "NotAuthenticated", providers.PermissionDenied},
		{403, "NotAllowed", providers.PermissionDenied},
		{404, "NotAuthorizedOrNotFound", providers.NotFound},
		{409, "Conflict", providers.FailedPrecondition},
		{409, "BucketAlreadyExists", providers.AlreadyExists},
		{412, "NoEtagMatch", providers.FailedPrecondition},
		{429, "TooManyRequests", providers.ResourceExhausted},
		{500, "InternalServerError", providers.Unavailable},
		{503, "ServiceUnavailable", providers.Unavailable},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.status, tc.code), func(t *testing.T) {
			prov, srv := newTest(t, nil, func(o *oci.Options) { o.Retry.MaxAttempts = 1 })
			srv.Inject(ocifake.Fault{Op: "ListAvailabilityDomains", Status: tc.status, Code: tc.code, RetryAfter: 3 * time.Second})
			_, err := prov.ListZones(context.Background(), srv.Region())
			require.Error(t, err)
			assert.Equal(t, tc.want, providers.Code(err), "%v", err)
			var se common.ServiceError
			require.True(t, errors.As(err, &se), "raw SDK error reachable")
			assert.Equal(t, tc.status, se.GetHTTPStatusCode())
			assert.Contains(t, err.Error(), "opc-request-id fake-")
			ra, ok := providers.RetryAfter(err)
			assert.True(t, ok)
			assert.Equal(t, 3*time.Second, ra)
			assert.Len(t, srv.Requests(), 1, "MaxAttempts 1: no retry, and the SDK retries nothing")
		})
	}
	t.Run("dropped connection", func(t *testing.T) {
		prov, srv := newTest(t, nil, func(o *oci.Options) { o.Retry.MaxAttempts = 1 })
		srv.Inject(ocifake.Fault{Op: "ListAvailabilityDomains", Drop: true})
		_, err := prov.ListZones(context.Background(), srv.Region())
		assert.Equal(t, providers.Unavailable, providers.Code(err), "%v", err)
		assert.True(t, providers.IsTransient(err))
	})
}

func TestRetriesTransientOnlyOnce(t *testing.T) {
	ctx := context.Background()
	prov, srv := newTest(t, nil, nil)
	srv.Inject(ocifake.Fault{Op: "ListAvailabilityDomains", Status: 503, Times: 2})
	zones, err := prov.ListZones(ctx, srv.Region())
	require.NoError(t, err)
	assert.Len(t, zones, 3)
	assert.Equal(t, 3, srv.Count("ListAvailabilityDomains"), "two failures and a success: our retries, not the SDK's on top")

	srv.ResetLog()
	srv.Inject(ocifake.Fault{Op: "ListInstances", Status: 400, Times: -1})
	_, err = prov.ListInstances(ctx, srv.Region(), nil)
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
	assert.Equal(t, 1, srv.Count("ListInstances"), "permanent errors are not retried")

	srv.ClearFaults()
	srv.ResetLog()
	srv.Inject(ocifake.Fault{Op: "GetNamespace", Status: 503, Times: -1})
	_, err = prov.ListObjects(ctx, "b", "")
	assert.Equal(t, providers.Unavailable, providers.Code(err))
	assert.Equal(t, 5, srv.Count("GetNamespace"), "Options.Retry.MaxAttempts bounds the attempts (object storage's SDK default of 8 is off)")
}

func TestSDKRetryPolicyAndCircuitBreakerOff(t *testing.T) {
	prov, _ := newTest(t, nil, nil)
	var cc core.ComputeClient
	var vn core.VirtualNetworkClient
	var id identity.IdentityClient
	var os objectstorage.ObjectStorageClient
	require.True(t, prov.As(&cc))
	require.True(t, prov.As(&vn))
	require.True(t, prov.As(&id))
	require.True(t, prov.As(&os))
	for name, c := range map[string]*common.BaseClient{"compute": &cc.BaseClient, "network": &vn.BaseClient, "identity": &id.BaseClient, "storage": &os.BaseClient} {
		require.NotNil(t, c.Configuration.RetryPolicy, name)
		assert.Equal(t, uint(1), c.Configuration.RetryPolicy.MaximumNumberAttempts, name)
		assert.Nil(t, c.Configuration.CircuitBreaker, name)
	}
	assert.False(t, prov.As(new(string)))
	assert.False(t, prov.As(nil))
}

func TestRequestsAreSignedAndUnsignedRefused(t *testing.T) {
	prov, srv := newTest(t, nil, nil)
	_, err := prov.ListZones(context.Background(), srv.Region())
	require.NoError(t, err)
	for _, r := range srv.Requests() {
		a := r.Header.Get("Authorization")
		assert.Contains(t, a, `keyId="`)
		assert.Contains(t, a, `signature="`)
		assert.Contains(t, a, `algorithm="rsa-sha256"`)
	}
	resp, err := http.Get(srv.URL() + "/20160918/availabilityDomains?compartmentId=x")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("opc-request-id"))
}

func TestZonesPerRegionAndSingleAD(t *testing.T) {
	ctx := context.Background()
	prov, _ := newTest(t, &ocifake.Options{Regions: []string{"eu-frankfurt-1", "eu-amsterdam-1"}, SingleAD: []string{"eu-amsterdam-1"}}, nil)
	fra, err := prov.ListZones(ctx, "eu-frankfurt-1")
	require.NoError(t, err)
	require.Len(t, fra, 3)
	assert.Equal(t, ocifake.ADName("eu-frankfurt-1", 1), fra[0].Name)
	assert.Equal(t, []string{"FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"}, fra[0].FaultDomains)
	ams, err := prov.ListZones(ctx, "eu-amsterdam-1")
	require.NoError(t, err)
	require.Len(t, ams, 1, "a single-AD region")
	assert.Len(t, ams[0].FaultDomains, 3, "its fault domains carry the spread")
	assert.Equal(t, "eu-amsterdam-1", ams[0].Region)

	_, err = prov.ListZones(ctx, "nowhere-9")
	assert.Equal(t, providers.NotFound, providers.Code(err))
}

func TestOpenValidation(t *testing.T) {
	_, err := oci.Open(context.Background(), "", &oci.Options{Endpoint: "http://127.0.0.1:1/path", PartSize: -1,
		ConfigurationProvider: oci.RawKey(testTenancy, "u", "eu-frankfurt-1", "f", "k", "")})
	require.Error(t, err)
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
	for _, want := range []string{"compartmentID", "Options.Endpoint", "Options.PartSize"} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = oci.Open(context.Background(), testCompartment, &oci.Options{Region: "nowhere-9",
		ConfigurationProvider: oci.RawKey(testTenancy, "u", "eu-frankfurt-1", "f", "k", "")})
	assert.Equal(t, providers.NotFound, providers.Code(err))
}

func TestRawKeyNeverPrinted(t *testing.T) {
	cp := oci.RawKey(testTenancy, "u", "eu-frankfurt-1", "f", providers.Secret(testKey()), "pass-s3cret")
	prov, srv := newTest(t, nil, func(o *oci.Options) { o.ConfigurationProvider = cp })
	_ = srv
	for _, f := range []string{"%v", "%+v", "%#v"} {
		s := fmt.Sprintf(f, prov)
		assert.NotContains(t, s, "PRIVATE KEY", f)
		assert.NotContains(t, s, "pass-s3cret", f)
	}
}

func TestInstanceLifecycleWaits(t *testing.T) {
	ctx := context.Background()
	prov, srv := newTest(t, &ocifake.Options{TransitionDelay: 30 * time.Millisecond}, nil)
	spec := webSpec(srv, "acme-db-1")
	_, err := prov.CreateInstance(ctx, spec)
	require.NoError(t, err)
	require.NoError(t, prov.StopInstance(ctx, spec.Ref()))
	got, err := prov.GetInstance(ctx, spec.Ref())
	require.NoError(t, err)
	assert.Equal(t, providers.StatusStopped, got.Status)
	assert.Equal(t, "STOP", requestsOf(srv, "InstanceAction")[0].Query.Get("action"))
	require.NoError(t, prov.StartInstance(ctx, spec.Ref()))
	got, err = prov.GetInstance(ctx, spec.Ref())
	require.NoError(t, err)
	assert.Equal(t, providers.StatusRunning, got.Status)

	// A wait is bounded by the caller's context.
	slow, slowSrv := newTest(t, &ocifake.Options{TransitionDelay: time.Hour}, nil)
	s2 := webSpec(slowSrv, "acme-db-2")
	_, err = slow.CreateInstance(ctx, s2)
	require.NoError(t, err)
	tctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = slow.DeleteInstance(tctx, s2.Ref())
	require.Error(t, err)
	assert.Less(t, time.Since(start), 15*time.Second)
	assert.Contains(t, []providers.ErrorCode{providers.DeadlineExceeded, providers.Canceled}, providers.Code(err), "%v", err)
	assert.Equal(t, 1, slowSrv.Count("TerminateInstance"))
}

func TestFirewallRuleNSGMapping(t *testing.T) {
	ctx := context.Background()
	prov, srv := newTest(t, &ocifake.Options{PageSize: 2}, nil)
	// Instances first, then the rule: the rule joins their VNICs.
	for _, n := range []string{"acme-web-1", "acme-web-2"} {
		_, err := prov.CreateInstance(ctx, webSpec(srv, n))
		require.NoError(t, err)
	}
	other := webSpec(srv, "acme-db-1")
	other.Tags = []string{"acme-db"}
	_, err := prov.CreateInstance(ctx, other)
	require.NoError(t, err)

	srv.Inject(ocifake.Fault{Op: "AddNetworkSecurityGroupSecurityRules", Status: 503, AfterApply: true})
	rule := providers.FirewallRule{Name: "acme-web-in", Region: srv.Region(), Description: "office to web",
		Ports: []int{443, 80, 8080}, SourceRanges: []string{"192.0.2.0/24", "198.51.100.0/24"},
		TargetTags: []string{"acme-web"}, Labels: ours("acme", "web")}
	got, err := prov.CreateFirewallRule(ctx, rule)
	require.NoError(t, err)
	assert.Equal(t, []int{80, 443, 8080}, got.Ports)

	var d core.CreateNetworkSecurityGroupDetails
	creates := requestsOf(srv, "CreateNetworkSecurityGroup")
	require.Len(t, creates, 1)
	require.NoError(t, json.Unmarshal(creates[0].Body, &d))
	assert.Equal(t, ocifake.VCNID, *d.VcnId)
	assert.Equal(t, "acme-web", d.FreeformTags[oci.TagTargetTags])
	assert.Equal(t, "office to web", d.FreeformTags[oci.TagDescription])

	back, err := prov.GetFirewallRule(ctx, srv.Region(), "acme-web-in")
	require.NoError(t, err)
	assert.Equal(t, []int{80, 443, 8080}, back.Ports)
	assert.Equal(t, rule.SourceRanges, back.SourceRanges)
	assert.Equal(t, rule.TargetTags, back.TargetTags)
	assert.Equal(t, "office to web", back.Description)
	assert.Equal(t, providers.TCP, back.Protocol)
	assert.Equal(t, rule.Labels, back.Labels)

	var vn core.VirtualNetworkClient
	require.True(t, prov.As(&vn))
	nsgs, err := vn.ListNetworkSecurityGroups(ctx, core.ListNetworkSecurityGroupsRequest{CompartmentId: common.String(testCompartment)})
	require.NoError(t, err)
	require.Len(t, nsgs.Items, 1)
	rules, err := vn.ListNetworkSecurityGroupSecurityRules(ctx, core.ListNetworkSecurityGroupSecurityRulesRequest{NetworkSecurityGroupId: nsgs.Items[0].Id, Limit: common.Int(100)})
	require.NoError(t, err)
	_ = rules
	all := 0
	page := (*string)(nil)
	for {
		r, err := vn.ListNetworkSecurityGroupSecurityRules(ctx, core.ListNetworkSecurityGroupSecurityRulesRequest{NetworkSecurityGroupId: nsgs.Items[0].Id, Page: page})
		require.NoError(t, err)
		for _, sr := range r.Items {
			assert.Equal(t, core.SecurityRuleDirectionIngress, sr.Direction)
			assert.Equal(t, "6", *sr.Protocol)
			assert.False(t, *sr.IsStateless)
		}
		all += len(r.Items)
		if r.OpcNextPage == nil {
			break
		}
		page = r.OpcNextPage
	}
	assert.Equal(t, 6, all, "one rule per (source, port); the add retried after a 503 added nothing twice")

	members, err := vn.ListNetworkSecurityGroupVnics(ctx, core.ListNetworkSecurityGroupVnicsRequest{NetworkSecurityGroupId: nsgs.Items[0].Id, Limit: common.Int(2)})
	require.NoError(t, err)
	assert.Len(t, members.Items, 2, "the two web instances joined, the db one did not")

	listed, err := prov.ListFirewallRules(ctx, srv.Region(), providers.Labels{providers.LabelEnvironment: "acme"})
	require.NoError(t, err)
	require.Len(t, listed, 1)

	require.NoError(t, prov.DeleteFirewallRule(ctx, srv.Region(), "acme-web-in"), "detaches the VNICs, then deletes")
	_, err = prov.GetFirewallRule(ctx, srv.Region(), "acme-web-in")
	assert.Equal(t, providers.NotFound, providers.Code(err))
	assert.Len(t, requestsOf(srv, "UpdateVnic"), 4, "two joins, two leaves")
}

func TestObjectStorage(t *testing.T) {
	ctx := context.Background()
	prov, srv := newTest(t, &ocifake.Options{PageSize: 3}, nil)
	bucket := providers.BucketSpec{Name: "acme-backups", Labels: ours("acme", "backup")}
	require.NoError(t, prov.CreateBucket(ctx, bucket))
	require.NoError(t, prov.CreateBucket(ctx, bucket), "idempotent")
	assert.Equal(t, providers.AlreadyExists, providers.Code(prov.CreateBucket(ctx, providers.BucketSpec{Name: "acme-backups", Labels: ours("other", "backup")})))

	t.Run("keys with slashes are escaped and listed with paging", func(t *testing.T) {
		for i := range 7 {
			_, err := prov.PutObject(ctx, "acme-backups", fmt.Sprintf("points/2026/01/%02d/manifest.json", i), strings.NewReader("{}"), nil)
			require.NoError(t, err)
		}
		_, err := prov.PutObject(ctx, "acme-backups", "other/x", strings.NewReader("x"), nil)
		require.NoError(t, err)
		puts := requestsOf(srv, "PutObject")
		assert.Contains(t, puts[0].Path, "/o/points%2F2026%2F01%2F00%2Fmanifest.json")
		objs, err := prov.ListObjects(ctx, "acme-backups", "points/2026/")
		require.NoError(t, err)
		require.Len(t, objs, 7)
		assert.Equal(t, "points/2026/01/06/manifest.json", objs[6].Key)
		assert.GreaterOrEqual(t, srv.Count("ListObjects"), 3, "paged with nextStartWith")
		rc, info, err := prov.GetObject(ctx, "acme-backups", "points/2026/01/03/manifest.json")
		require.NoError(t, err)
		b, _ := io.ReadAll(rc)
		rc.Close()
		assert.Equal(t, "{}", string(b))
		assert.Equal(t, int64(2), info.Size)
	})

	t.Run("a small object is one PutObject with Content-Length", func(t *testing.T) {
		srv.ResetLog()
		info, err := prov.PutObject(ctx, "acme-backups", "small", strings.NewReader("hello"),
			&providers.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"point": "p1"}})
		require.NoError(t, err)
		assert.Equal(t, int64(5), info.Size)
		puts := requestsOf(srv, "PutObject")
		require.Len(t, puts, 1)
		assert.Equal(t, "5", puts[0].Header.Get("Content-Length"))
		assert.Equal(t, "p1", puts[0].Header.Get("opc-meta-point"))
		st, err := prov.StatObject(ctx, "acme-backups", "small")
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"point": "p1"}, st.Metadata)
		_, err = prov.PutObject(ctx, "acme-backups", "small", strings.NewReader("again"), &providers.PutOptions{IfNotExists: true})
		assert.Equal(t, providers.AlreadyExists, providers.Code(err))
		assert.NotEmpty(t, puts[0].Header.Get("Content-MD5"))

		// IfNotExists retried after a put that was applied but answered 503:
		// the object is ours (same MD5), not someone else's.
		srv.Inject(ocifake.Fault{Op: "PutObject", Status: 503, AfterApply: true})
		_, err = prov.PutObject(ctx, "acme-backups", "once", strings.NewReader("first"), &providers.PutOptions{IfNotExists: true})
		require.NoError(t, err)
		_, err = prov.PutObject(ctx, "acme-backups", "once", strings.NewReader("other"), &providers.PutOptions{IfNotExists: true})
		assert.Equal(t, providers.AlreadyExists, providers.Code(err))
	})

	t.Run("a large stream goes multipart with bounded memory and survives a part fault", func(t *testing.T) {
		srv.ResetLog()
		srv.Inject(ocifake.Fault{Op: "UploadPart", Nth: 2, Status: 503})
		data := bytes.Repeat([]byte("0123456789abcdef"), (1<<20+1000)/16) // > 4 parts of 256 KiB
		info, err := prov.PutObject(ctx, "acme-backups", "db/dump.bin", onlyReader{bytes.NewReader(data)}, nil)
		require.NoError(t, err)
		assert.Equal(t, int64(len(data)), info.Size)
		assert.Equal(t, 1, srv.Count("CreateMultipartUpload"))
		assert.Equal(t, 6, srv.Count("UploadPart"), "5 parts and one retry")
		assert.Equal(t, 1, srv.Count("CommitMultipartUpload"))
		assert.Zero(t, srv.Count("PutObject"))
		for _, r := range requestsOf(srv, "UploadPart") {
			assert.LessOrEqual(t, r.BodyLen, int64(256<<10))
		}
		rc, _, err := prov.GetObject(ctx, "acme-backups", "db/dump.bin")
		require.NoError(t, err)
		got, _ := io.ReadAll(rc)
		rc.Close()
		assert.Equal(t, data, got)
	})

	t.Run("a commit applied but answered 503 is not an error", func(t *testing.T) {
		srv.Inject(ocifake.Fault{Op: "CommitMultipartUpload", Status: 503, AfterApply: true})
		data := bytes.Repeat([]byte{7}, 700<<10)
		info, err := prov.PutObject(ctx, "acme-backups", "db/commit.bin", onlyReader{bytes.NewReader(data)}, nil)
		require.NoError(t, err)
		assert.Equal(t, int64(len(data)), info.Size)
		st, err := prov.StatObject(ctx, "acme-backups", "db/commit.bin")
		require.NoError(t, err)
		assert.Equal(t, int64(len(data)), st.Size)
	})

	t.Run("a failing reader leaves nothing and aborts the upload", func(t *testing.T) {
		srv.ResetLog()
		r := io.MultiReader(bytes.NewReader(make([]byte, 600<<10)), errReader{errors.New("disk gone")})
		_, err := prov.PutObject(ctx, "acme-backups", "db/broken.bin", r, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "disk gone")
		_, err = prov.StatObject(ctx, "acme-backups", "db/broken.bin")
		assert.Equal(t, providers.NotFound, providers.Code(err))
		assert.Equal(t, 1, srv.Count("AbortMultipartUpload"))
		assert.Zero(t, srv.Uploads("acme-backups"))
	})

	t.Run("delete", func(t *testing.T) {
		assert.Equal(t, providers.FailedPrecondition, providers.Code(prov.DeleteBucket(ctx, "acme-backups")), "not empty")
		objs, err := prov.ListObjects(ctx, "acme-backups", "")
		require.NoError(t, err)
		for _, o := range objs {
			require.NoError(t, prov.DeleteObject(ctx, "acme-backups", o.Key))
		}
		assert.Equal(t, providers.NotFound, providers.Code(prov.DeleteObject(ctx, "acme-backups", "small")))
		require.NoError(t, prov.DeleteBucket(ctx, "acme-backups"))
		assert.Equal(t, providers.NotFound, providers.Code(prov.DeleteBucket(ctx, "acme-backups")))
	})
}

// onlyReader hides every method but Read (no WriterTo, no Seeker).
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestReserveAddressIdempotentUnderFault(t *testing.T) {
	ctx := context.Background()
	prov, srv := newTest(t, nil, nil)
	srv.Inject(ocifake.Fault{Op: "CreatePublicIp", Drop: true, AfterApply: true})
	a, err := prov.ReserveAddress(ctx, providers.AddressSpec{Name: "acme-primary", Region: srv.Region(), Description: "primary", Labels: ours("acme", "")})
	require.NoError(t, err)
	list, err := prov.ListAddresses(ctx, srv.Region(), nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, a.IP, list[0].IP)
	assert.Equal(t, "primary", list[0].Description)
	var d core.CreatePublicIpDetails
	require.NoError(t, json.Unmarshal(requestsOf(srv, "CreatePublicIp")[0].Body, &d))
	assert.Equal(t, core.CreatePublicIpDetailsLifetimeReserved, d.Lifetime)
	assert.Equal(t, "acme-primary", *d.DisplayName)

	srv.Inject(ocifake.Fault{Op: "DeletePublicIp", Status: 503, AfterApply: true})
	require.NoError(t, prov.ReleaseAddress(ctx, srv.Region(), "acme-primary"), "a retried delete that finds it gone is done")
	_, err = prov.ReserveAddress(ctx, providers.AddressSpec{Name: "global", Labels: ours("acme", "")})
	assert.Equal(t, providers.InvalidArgument, providers.Code(err), "no global addresses on OCI")
}

func TestRandomFaultsConverge(t *testing.T) {
	ctx := context.Background()
	prov, srv := newTest(t, &ocifake.Options{FaultRate: 0.2, Seed: 7}, func(o *oci.Options) {
		o.Retry = retry.Policy{Initial: time.Millisecond, Max: 2 * time.Millisecond, MaxAttempts: 10}
	})
	for i := range 6 {
		_, err := prov.CreateInstance(ctx, webSpec(srv, fmt.Sprintf("acme-web-%d", i+1)))
		require.NoError(t, err)
	}
	list, err := prov.ListInstances(ctx, srv.Region(), nil)
	require.NoError(t, err)
	assert.Len(t, list, 6)
	faulted := 0
	for _, r := range srv.Requests() {
		if r.Faulted {
			faulted++
		}
	}
	assert.Positive(t, faulted)
}

func TestConcurrentRulesBothJoinEveryVNIC(t *testing.T) {
	ctx := context.Background()
	prov, srv := newTest(t, &ocifake.Options{Latency: 2 * time.Millisecond}, nil)
	for i := range 4 {
		s := webSpec(srv, fmt.Sprintf("acme-web-%d", i+1))
		s.Tags = []string{"acme-a", "acme-b"}
		_, err := prov.CreateInstance(ctx, s)
		require.NoError(t, err)
	}
	errs := make(chan error, 2)
	for _, tag := range []string{"acme-a", "acme-b"} {
		go func() {
			_, err := prov.CreateFirewallRule(ctx, providers.FirewallRule{Name: tag + "-in", Region: srv.Region(), Ports: []int{22},
				SourceRanges: []string{"192.0.2.0/24"}, TargetTags: []string{tag}, Labels: ours("acme", "")})
			errs <- err
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	var vn core.VirtualNetworkClient
	require.True(t, prov.As(&vn))
	var cc core.ComputeClient
	require.True(t, prov.As(&cc))
	atts, err := cc.ListVnicAttachments(ctx, core.ListVnicAttachmentsRequest{CompartmentId: common.String(testCompartment)})
	require.NoError(t, err)
	require.Len(t, atts.Items, 4)
	for _, a := range atts.Items {
		v, err := vn.GetVnic(ctx, core.GetVnicRequest{VnicId: a.VnicId})
		require.NoError(t, err)
		assert.Len(t, v.NsgIds, 2, "no join lost to a concurrent one (If-Match)")
	}
}

func TestSingleEndpointAndLazyRegions(t *testing.T) {
	ctx := context.Background()
	srv := ocifake.New(&ocifake.Options{Regions: []string{"eu-frankfurt-1", "eu-amsterdam-1"}})
	t.Cleanup(srv.Close)
	o := testOptions(srv)
	o.RegionEndpoints = map[string]string{"eu-amsterdam-1": srv.Endpoints()["eu-amsterdam-1"]}
	o.Endpoint = srv.URL() // every other region: the primary's listener
	prov, err := oci.Open(ctx, testCompartment, o)
	require.NoError(t, err)
	defer prov.Close()
	// DR region: its clients are created on first use and go to its host.
	_, err = prov.CreateInstance(ctx, providers.InstanceSpec{Name: "acme-dr-web-1", Region: "eu-amsterdam-1",
		Zone: ocifake.ADName("eu-amsterdam-1", 1), Labels: ours("acme", "web")})
	require.NoError(t, err)
	launches := requestsOf(srv, "LaunchInstance")
	require.Len(t, launches, 1)
	assert.Equal(t, "eu-amsterdam-1", launches[0].Region)
	zones, err := prov.ListZones(ctx, "eu-frankfurt-1")
	require.NoError(t, err)
	assert.Equal(t, "eu-frankfurt-1", zones[0].Region)
	inFra, err := prov.ListInstances(ctx, "eu-frankfurt-1", nil)
	require.NoError(t, err)
	assert.Empty(t, inFra, "regions are separate")
}

func TestSignaturesVerifiedByTheFake(t *testing.T) {
	ctx := context.Background()
	block, _ := pem.Decode([]byte(testKey()))
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	require.NoError(t, err)
	prov, srv := newTest(t, &ocifake.Options{VerifyKey: &key.PublicKey}, nil)
	// GET, POST with a JSON body, PUT of an object whose key needs escaping
	// (the signature covers the escaped path), multipart, HEAD, DELETE.
	_, err = prov.ListZones(ctx, srv.Region())
	require.NoError(t, err)
	_, err = prov.CreateInstance(ctx, webSpec(srv, "acme-web-1"))
	require.NoError(t, err)
	require.NoError(t, prov.CreateBucket(ctx, providers.BucketSpec{Name: "b", Labels: ours("acme", "")}))
	_, err = prov.PutObject(ctx, "b", "a/b c/d?.json", strings.NewReader("x"), nil)
	require.NoError(t, err)
	_, err = prov.PutObject(ctx, "b", "big/one", bytes.NewReader(make([]byte, 600<<10)), nil)
	require.NoError(t, err)
	_, err = prov.StatObject(ctx, "b", "a/b c/d?.json")
	require.NoError(t, err)
	require.NoError(t, prov.DeleteObject(ctx, "b", "a/b c/d?.json"))
	for _, r := range srv.Requests() {
		assert.NotEqual(t, 401, r.Status, "%s %s", r.Op, r.Path)
	}

	// Another key: every request is refused.
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})
	bad, err := oci.Open(ctx, testCompartment, func() *oci.Options {
		o := testOptions(srv)
		o.ConfigurationProvider = oci.RawKey(testTenancy, "u", srv.Region(), "ff:ff", providers.Secret(otherPEM), "")
		return o
	}())
	require.NoError(t, err)
	_, err = bad.ListZones(ctx, srv.Region())
	assert.Equal(t, providers.PermissionDenied, providers.Code(err))
}

func TestRawKeyPrintsWithoutKey(t *testing.T) {
	cp := oci.RawKey(testTenancy, "ocid1.user.oc1..u", "eu-frankfurt-1", "f", providers.Secret(testKey()), "pw-s3cret")
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		s := fmt.Sprintf(f, cp)
		assert.NotContains(t, s, "PRIVATE KEY", f)
		assert.NotContains(t, s, "pw-s3cret", f)
		assert.Contains(t, s, testTenancy, f)
	}
	k1, err := cp.PrivateRSAKey()
	require.NoError(t, err)
	k2, err := cp.PrivateRSAKey()
	require.NoError(t, err)
	assert.Same(t, k1, k2, "parsed once")
}
