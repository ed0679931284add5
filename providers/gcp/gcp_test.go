package gcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2/apierror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/googleapi"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/gcp"
	"github.com/orocloud/orocloud-go/providers/gcp/gcpfake"
	"github.com/orocloud/orocloud-go/retry"
)

const (
	project = "acme-test"
	region  = "europe-west3"
	zoneA   = "europe-west3-a"
	zoneB   = "europe-west3-b"
)

type env struct {
	srv  *gcpfake.Server
	p    *gcp.Provider
	logs *bytes.Buffer
	clk  *clock.Fake
}

// newEnv opens a provider over a new fake. With auto, the provider runs on
// an auto-advancing fake clock (retries and polls take no real time).
func newEnv(t *testing.T, fopts *gcpfake.Options, auto bool) *env {
	t.Helper()
	srv := gcpfake.New(fopts)
	t.Cleanup(srv.Close)
	logs := &bytes.Buffer{}
	opts := &gcp.Options{
		Endpoint:        srv.URL,
		PollInterval:    2 * time.Millisecond,
		Retry:           retry.Policy{Initial: time.Millisecond, Max: 4 * time.Millisecond},
		Logger:          slog.New(slog.NewTextHandler(&lockedWriter{b: logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MachineTypes:    map[string]string{"web": "e2-standard-4", "": "e2-small"},
		Images:          map[string]string{"": "projects/debian-cloud/global/images/family/debian-12"},
		UploadChunkSize: 300 << 10, // rounded up to 512 KiB
	}
	e := &env{srv: srv, logs: logs}
	if auto {
		e.clk = clock.NewAutoFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		opts.Clock = e.clk
	}
	p, err := gcp.Open(t.Context(), project, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	e.p = p
	return e
}

type lockedWriter struct{ b *bytes.Buffer }

func (w *lockedWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

func labels(env, tier string) providers.Labels {
	return providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: env,
		providers.LabelTier: tier, providers.LabelRole: "node"}
}

func webSpec(name, zone string) providers.InstanceSpec {
	return providers.InstanceSpec{
		Name: name, Region: region, Zone: zone, Labels: labels("shop", "web"), Tags: []string{"web", "http-server"},
		Metadata: map[string]string{"startup-script": "#!/bin/sh\necho hi"},
	}
}

// requests returns the logged requests with method and a path suffix.
func requests(srv *gcpfake.Server, method, pathSuffix string) []gcpfake.Request {
	var out []gcpfake.Request
	for _, r := range srv.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, pathSuffix) {
			out = append(out, r)
		}
	}
	return out
}

func TestCreateInstanceSendsLabelsZoneTagsMetadata(t *testing.T) {
	e := newEnv(t, nil, false)
	spec := webSpec("shop-web-1", zoneB)
	spec.Secrets = map[string]providers.Secret{"tunnel-token": "s3cr3t-tunnel-token"}
	inst, err := e.p.CreateInstance(t.Context(), spec)
	require.NoError(t, err)

	inserts := requests(e.srv, http.MethodPost, "/compute/v1/projects/"+project+"/zones/"+zoneB+"/instances")
	require.Len(t, inserts, 1)
	q, err := url.ParseQuery(inserts[0].Query)
	require.NoError(t, err)
	assert.NotEmpty(t, q.Get("requestId"), "inserts carry a requestId")
	var body struct {
		Name        string                   `json:"name"`
		MachineType string                   `json:"machineType"`
		Labels      map[string]string        `json:"labels"`
		Tags        struct{ Items []string } `json:"tags"`
		Metadata    struct {
			Items []struct{ Key, Value string }
		} `json:"metadata"`
		Disks []struct {
			Boot             bool `json:"boot"`
			InitializeParams struct {
				SourceImage string `json:"sourceImage"`
			} `json:"initializeParams"`
		} `json:"disks"`
		NetworkInterfaces []struct{ Network string } `json:"networkInterfaces"`
	}
	require.NoError(t, json.Unmarshal(inserts[0].Body, &body))
	assert.Equal(t, "shop-web-1", body.Name)
	assert.Equal(t, "zones/"+zoneB+"/machineTypes/e2-standard-4", body.MachineType, "tier default machine type")
	assert.Equal(t, map[string]string(spec.Labels), body.Labels)
	assert.Equal(t, []string{"web", "http-server"}, body.Tags.Items)
	items := map[string]string{}
	for _, it := range body.Metadata.Items {
		items[it.Key] = it.Value
	}
	assert.Equal(t, "#!/bin/sh\necho hi", items["startup-script"])
	assert.Equal(t, "s3cr3t-tunnel-token", items["tunnel-token"], "secrets are sent as metadata")
	assert.Equal(t, "tunnel-token", items[gcp.MetadataSecretKeys])
	require.Len(t, body.Disks, 1)
	assert.True(t, body.Disks[0].Boot)
	assert.Equal(t, "projects/debian-cloud/global/images/family/debian-12", body.Disks[0].InitializeParams.SourceImage)
	assert.Equal(t, "global/networks/default", body.NetworkInterfaces[0].Network)

	// Read back: secrets come back as Secrets, never in Metadata.
	assert.Equal(t, zoneB, inst.Zone)
	assert.Equal(t, region, inst.Region)
	assert.Equal(t, "e2-standard-4", inst.MachineType)
	assert.Equal(t, spec.Metadata, inst.Metadata)
	assert.Equal(t, providers.Secret("s3cr3t-tunnel-token"), inst.Secrets["tunnel-token"])
	assert.NotEmpty(t, inst.PrivateIP)
	assert.NotContains(t, e.logs.String(), "s3cr3t-tunnel-token", "secrets never logged")

	// A foreign owner's error does not leak the secret either.
	other := spec
	other.Labels = labels("other", "web")
	_, err = e.p.CreateInstance(t.Context(), other)
	require.ErrorIs(t, err, providers.ErrAlreadyExists)
	assert.NotContains(t, err.Error(), "s3cr3t-tunnel-token")
}

func TestListInstancesSendsLabelFilterPerZone(t *testing.T) {
	e := newEnv(t, nil, false)
	_, err := e.p.CreateInstance(t.Context(), webSpec("shop-web-1", zoneA))
	require.NoError(t, err)
	e.srv.ResetRequests()
	list, err := e.p.ListInstances(t.Context(), region, providers.Labels{providers.LabelEnvironment: "shop", providers.LabelTier: "web"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	var zones []string
	for _, r := range e.srv.Requests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/instances") {
			q, _ := url.ParseQuery(r.Query)
			assert.Equal(t, `(labels.orocloud-env = "shop") AND (labels.orocloud-tier = "web")`, q.Get("filter"))
			zones = append(zones, strings.Split(r.Path, "/")[6])
		}
	}
	assert.ElementsMatch(t, []string{zoneA, zoneB, "europe-west3-c"}, zones, "one list per zone of the region (zones cached)")
}

func TestListZonesFilterAndPaging(t *testing.T) {
	e := newEnv(t, &gcpfake.Options{MaxPageSize: 2}, false)
	e.srv.SetZoneStatus("europe-west3-c", false)
	zones, err := e.p.ListZones(t.Context(), region)
	require.NoError(t, err)
	require.Len(t, zones, 3)
	assert.Equal(t, []bool{true, true, false}, []bool{zones[0].Up, zones[1].Up, zones[2].Up})
	reqs := requests(e.srv, http.MethodGet, "/zones")
	require.Len(t, reqs, 2, "two pages of two")
	q, _ := url.ParseQuery(reqs[0].Query)
	assert.Equal(t, "region eq .*/regions/europe-west3", q.Get("filter"))
}

func TestRetryHonoursRetryAfterOn429(t *testing.T) {
	e := newEnv(t, nil, true)
	e.srv.InjectFault(gcpfake.Fault{Method: http.MethodPost, Path: "/instances", Nth: 1, Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second})
	start := e.clk.Now()
	_, err := e.p.CreateInstance(t.Context(), webSpec("shop-web-1", zoneA))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, e.clk.Now().Sub(start), 3*time.Second, "the retry waited for Retry-After on the injected clock")
	inserts := requests(e.srv, http.MethodPost, "/instances")
	require.Len(t, inserts, 2)
	assert.Equal(t, http.StatusTooManyRequests, inserts[0].Status)
	assert.Equal(t, inserts[0].Query, inserts[1].Query, "the retry reuses the requestId")
}

func TestRetryOn503ThenGivesUp(t *testing.T) {
	e := newEnv(t, nil, true)
	e.srv.InjectFault(gcpfake.Fault{Method: http.MethodGet, Path: "/instances/shop-web-1", Nth: 1, Times: 2, Status: http.StatusServiceUnavailable})
	_, err := e.p.CreateInstance(t.Context(), webSpec("shop-web-1", zoneA))
	require.NoError(t, err, "two 503 on the read-back are retried")

	e.srv.InjectFault(gcpfake.Fault{Method: http.MethodGet, Path: "/instances/shop-web-1", Status: http.StatusServiceUnavailable})
	e.srv.ResetRequests()
	_, err = e.p.GetInstance(t.Context(), providers.InstanceRef{Region: region, Zone: zoneA, Name: "shop-web-1"})
	require.Error(t, err)
	assert.Equal(t, providers.Unavailable, providers.Code(err))
	assert.Len(t, e.srv.Requests(), 5, "the default policy makes 5 attempts, and the client library adds none")
	var ge *googleapi.Error
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, http.StatusServiceUnavailable, ge.Code)
}

func TestNoDuplicateInstanceUnderFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault gcpfake.Fault
	}{
		{"503 after the insert was applied", gcpfake.Fault{Method: http.MethodPost, Path: "/instances", Nth: 1, Status: http.StatusServiceUnavailable, AfterApply: true}},
		{"connection dropped after the insert was applied", gcpfake.Fault{Method: http.MethodPost, Path: "/instances", Nth: 1, Drop: true, AfterApply: true}},
		{"connection dropped before the insert", gcpfake.Fault{Method: http.MethodPost, Path: "/instances", Nth: 1, Drop: true}},
		{"two 500s after apply", gcpfake.Fault{Method: http.MethodPost, Path: "/instances", Nth: 1, Times: 2, Status: http.StatusInternalServerError, AfterApply: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, &gcpfake.Options{OperationDelay: 5 * time.Millisecond}, false)
			e.srv.InjectFault(tc.fault)
			inst, err := e.p.CreateInstance(t.Context(), webSpec("shop-web-1", zoneA))
			require.NoError(t, err)
			assert.Equal(t, "shop-web-1", inst.Name)
			list, err := e.p.ListInstances(t.Context(), region, nil)
			require.NoError(t, err)
			assert.Len(t, list, 1, "exactly one instance")
			assert.GreaterOrEqual(t, len(requests(e.srv, http.MethodPost, "/instances")), 2, "the insert was retried")
		})
	}
}

func TestCreateAfterLostResponseWithNewRequestIsIdempotent(t *testing.T) {
	// A crash between the insert and its answer: the next run sends a new
	// requestId, gets 409 and adopts the instance because it is ours.
	e := newEnv(t, nil, false)
	e.srv.InjectFault(gcpfake.Fault{Method: http.MethodPost, Path: "/instances", Nth: 1, Times: 5, Status: http.StatusServiceUnavailable, AfterApply: true})
	_, err := e.p.CreateInstance(t.Context(), webSpec("shop-web-1", zoneA))
	require.Error(t, err)
	assert.True(t, providers.IsTransient(err))
	e.srv.ClearFaults()
	inst, err := e.p.CreateInstance(t.Context(), webSpec("shop-web-1", zoneA))
	require.NoError(t, err)
	assert.Equal(t, labels("shop", "web"), inst.Labels)
	list, err := e.p.ListInstances(t.Context(), region, nil)
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func TestOperationErrorIsChecked(t *testing.T) {
	e := newEnv(t, &gcpfake.Options{OperationDelay: 5 * time.Millisecond}, false)
	e.srv.InjectFault(gcpfake.Fault{Method: http.MethodPost, Path: "/instances", Nth: 1, OperationError: "ZONE_RESOURCE_POOL_EXHAUSTED", Status: http.StatusServiceUnavailable})
	_, err := e.p.CreateInstance(t.Context(), webSpec("shop-web-1", zoneA))
	require.Error(t, err, "op.Wait would return nil here")
	assert.Equal(t, providers.ResourceExhausted, providers.Code(err))
	var oe *gcp.OperationError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "ZONE_RESOURCE_POOL_EXHAUSTED", oe.Operation.GetError().GetErrors()[0].GetCode())
	assert.Equal(t, computepb.Operation_DONE, oe.Operation.GetStatus())
	assert.Greater(t, len(requests(e.srv, http.MethodGet, "")), 0)
}

func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   providers.ErrorCode
	}{
		{400, providers.InvalidArgument},
		{403, providers.PermissionDenied},
		{404, providers.NotFound},
		{409, providers.AlreadyExists},
		{412, providers.FailedPrecondition},
		{429, providers.ResourceExhausted},
		{500, providers.Unavailable},
		{502, providers.Unavailable},
		{504, providers.Unavailable},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			e := newEnv(t, nil, true)
			e.srv.InjectFault(gcpfake.Fault{Method: http.MethodGet, Path: "/global/firewalls/x", Status: tc.status, RetryAfter: time.Second})
			_, err := e.p.GetFirewallRule(t.Context(), region, "x")
			require.Error(t, err)
			assert.Equal(t, tc.want, providers.Code(err), "%v", err)
			var ae *apierror.APIError
			require.ErrorAs(t, err, &ae, "the client's *apierror.APIError is reachable")
			var ge *googleapi.Error
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, tc.status, ge.Code)
			d, ok := providers.RetryAfter(err)
			assert.True(t, ok)
			assert.Equal(t, time.Second, d)
		})
	}
}

func TestInvalidSpecsRefusedBeforeAnyCall(t *testing.T) {
	e := newEnv(t, nil, false)
	_, err := e.p.CreateInstance(t.Context(), providers.InstanceSpec{Name: "Bad_Name", Zone: "us-east1-b", Region: region,
		Labels: providers.Labels{"Bad": "x"}, Tags: []string{"UPPER"}, Metadata: map[string]string{"bad key": "v"}})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	for _, want := range []string{"name:", "zone:", "labels:", "tags:", "metadata:"} {
		assert.Contains(t, err.Error(), want, "every problem is reported at once")
	}
	_, err = e.p.EnsureLoadBalancer(t.Context(), providers.LoadBalancerSpec{
		Name: "shop-lb", Region: region, Hostnames: []string{"shop.example.com"}, AddressName: "shop-ip",
		Backends: []providers.InstanceRef{{Region: region, Zone: zoneA, Name: "web-1"}},
		CDN:      providers.CDNPolicy{CacheMode: providers.UseOriginHeaders, DefaultTTL: time.Hour},
	})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "USE_ORIGIN_HEADERS")
	assert.Empty(t, e.srv.Requests(), "no request reaches the API")
}

// lbSetup creates two web nodes and the global address.
func lbSetup(t *testing.T, e *env) providers.LoadBalancerSpec {
	t.Helper()
	var backends []providers.InstanceRef
	for i, z := range []string{zoneA, zoneB} {
		inst, err := e.p.CreateInstance(t.Context(), webSpec("shop-web-"+string(rune('1'+i)), z))
		require.NoError(t, err)
		backends = append(backends, inst.Ref())
	}
	_, err := e.p.ReserveAddress(t.Context(), providers.AddressSpec{Name: "shop-ip", Labels: labels("shop", "edge")})
	require.NoError(t, err)
	return providers.LoadBalancerSpec{
		Name: "shop", Region: region, Hostnames: []string{"shop.example.com", "www.example.com"}, Backends: backends,
		AddressName: "shop-ip", HealthCheckPath: "/health",
		CDN:    providers.CDNPolicy{DefaultTTL: 30 * time.Minute, MaxTTL: 2 * time.Hour, ClientTTL: 10 * time.Minute, NegativeCaching: true},
		Labels: labels("shop", "edge"),
	}
}

func TestEnsureLoadBalancerSendsCDNPolicy(t *testing.T) {
	e := newEnv(t, &gcpfake.Options{OperationDelay: 2 * time.Millisecond}, false)
	spec := lbSetup(t, e)
	e.srv.ResetRequests()
	lb, err := e.p.EnsureLoadBalancer(t.Context(), spec)
	require.NoError(t, err)
	assert.Len(t, lb.Components, 8)

	bes := requests(e.srv, http.MethodPost, "/global/backendServices")
	require.Len(t, bes, 1)
	var body struct {
		EnableCDN bool `json:"enableCDN"`
		CdnPolicy struct {
			CacheMode       string `json:"cacheMode"`
			DefaultTTL      int    `json:"defaultTtl"`
			MaxTTL          int    `json:"maxTtl"`
			ClientTTL       int    `json:"clientTtl"`
			NegativeCaching bool   `json:"negativeCaching"`
		} `json:"cdnPolicy"`
		Backends            []struct{ Group string } `json:"backends"`
		HealthChecks        []string                 `json:"healthChecks"`
		LoadBalancingScheme string                   `json:"loadBalancingScheme"`
	}
	require.NoError(t, json.Unmarshal(bes[0].Body, &body))
	assert.True(t, body.EnableCDN)
	assert.Equal(t, "CACHE_ALL_STATIC", body.CdnPolicy.CacheMode, "the default cache mode")
	assert.Equal(t, 1800, body.CdnPolicy.DefaultTTL)
	assert.Equal(t, 7200, body.CdnPolicy.MaxTTL)
	assert.Equal(t, 600, body.CdnPolicy.ClientTTL)
	assert.True(t, body.CdnPolicy.NegativeCaching)
	assert.Len(t, body.Backends, 2, "one instance group per zone")
	assert.Equal(t, "EXTERNAL_MANAGED", body.LoadBalancingScheme)

	cert := requests(e.srv, http.MethodPost, "/global/sslCertificates")
	require.Len(t, cert, 1)
	var certBody struct {
		Type    string                     `json:"type"`
		Managed struct{ Domains []string } `json:"managed"`
	}
	require.NoError(t, json.Unmarshal(cert[0].Body, &certBody))
	assert.Equal(t, "MANAGED", certBody.Type)
	assert.Equal(t, []string{"shop.example.com", "www.example.com"}, certBody.Managed.Domains)
	fr := requests(e.srv, http.MethodPost, "/global/forwardingRules")
	require.Len(t, fr, 1)
	var frBody struct {
		IPAddress string `json:"IPAddress"`
		PortRange string `json:"portRange"`
		Target    string `json:"target"`
	}
	require.NoError(t, json.Unmarshal(fr[0].Body, &frBody))
	assert.Equal(t, lb.IP, frBody.IPAddress)
	assert.Equal(t, "443-443", frBody.PortRange)
	assert.True(t, strings.HasSuffix(frBody.Target, "/global/targetHttpsProxies/shop-https-proxy"))

	// Re-ensure: reads only.
	e.srv.ResetRequests()
	_, err = e.p.EnsureLoadBalancer(t.Context(), spec)
	require.NoError(t, err)
	assert.Empty(t, e.srv.MutatingRequests())

	// New hostnames: a new certificate, swapped in, the old one deleted.
	spec.Hostnames = []string{"shop.example.com"}
	e.srv.ResetRequests()
	lb2, err := e.p.EnsureLoadBalancer(t.Context(), spec)
	require.NoError(t, err)
	assert.Len(t, requests(e.srv, http.MethodPost, "/setSslCertificates"), 1)
	assert.Len(t, requests(e.srv, http.MethodDelete, lb.Components[5][strings.LastIndex(lb.Components[5], "/"):]), 1, "old certificate deleted")
	got, err := e.p.GetLoadBalancer(t.Context(), "shop")
	require.NoError(t, err)
	assert.Equal(t, []string{"shop.example.com"}, got.Hostnames)
	assert.ElementsMatch(t, lb2.Components, got.Components)
	require.NoError(t, e.p.DeleteLoadBalancer(t.Context(), "shop"))
	_, err = e.p.GetLoadBalancer(t.Context(), "shop")
	require.ErrorIs(t, err, providers.ErrNotFound)
}

func TestObjectStorageOverFake(t *testing.T) {
	e := newEnv(t, nil, false)
	require.NoError(t, e.p.CreateBucket(t.Context(), providers.BucketSpec{Name: "shop-backups", Region: region, Labels: labels("shop", "backup")}))
	data := bytes.Repeat([]byte("0123456789abcdef"), (600<<10)/16) // 600 KiB: two 512 KiB chunks
	info, err := e.p.PutObject(t.Context(), "shop-backups", "points/p1/db.dump", bytes.NewReader(data), &providers.PutOptions{Metadata: map[string]string{"point": "p1"}})
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), info.Size)
	var chunks int
	for _, r := range e.srv.Requests() {
		if strings.HasPrefix(r.Path, "/upload/") && strings.Contains(r.Query, "upload_id=") {
			chunks++
		}
	}
	assert.Equal(t, 2, chunks, "a 600 KiB object goes in two resumable chunks")
	rc, got, err := e.p.GetObject(t.Context(), "shop-backups", "points/p1/db.dump")
	require.NoError(t, err)
	defer rc.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rc)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, buf.Bytes()))
	assert.Equal(t, "p1", got.Metadata["point"])

	// A 503 on a metadata call is retried by the SDK, not by the storage client.
	e.srv.InjectFault(gcpfake.Fault{Method: http.MethodGet, Path: "/storage/v1/b/shop-backups/o/", Nth: 1, Status: http.StatusServiceUnavailable})
	_, err = e.p.StatObject(t.Context(), "shop-backups", "points/p1/db.dump")
	require.NoError(t, err)

	// A 503 on a resumable chunk is retried by the storage client (the
	// stream cannot be replayed from above).
	e.srv.InjectFault(gcpfake.Fault{Path: "/upload/storage/v1/b/shop-backups/o", Query: "upload_id=", Nth: 2, Status: http.StatusServiceUnavailable})
	_, err = e.p.PutObject(t.Context(), "shop-backups", "points/p2/db.dump", bytes.NewReader(data), nil)
	require.NoError(t, err)
	rc2, _, err := e.p.GetObject(t.Context(), "shop-backups", "points/p2/db.dump")
	require.NoError(t, err)
	buf.Reset()
	_, err = buf.ReadFrom(rc2)
	require.NoError(t, err)
	require.NoError(t, rc2.Close())
	assert.True(t, bytes.Equal(data, buf.Bytes()), "content intact after a retried chunk")

	// A delete whose answer is lost is done, not NotFound, on retry.
	e.srv.InjectFault(gcpfake.Fault{Method: http.MethodDelete, Path: "/o/points/p2", Nth: 1, Status: http.StatusServiceUnavailable, AfterApply: true})
	require.NoError(t, e.p.DeleteObject(t.Context(), "shop-backups", "points/p2/db.dump"))
	dels := requests(e.srv, http.MethodDelete, "/o/points/p2/db.dump")
	require.Len(t, dels, 2)
	assert.Equal(t, []int{http.StatusServiceUnavailable, http.StatusNotFound}, []int{dels[0].Status, dels[1].Status})
	_, err = e.p.StatObject(t.Context(), "shop-backups", "points/p2/db.dump")
	require.ErrorIs(t, err, providers.ErrNotFound)

	// A multi-chunk upload to a missing bucket fails in the writer, not in
	// the caller's reader: NotFound.
	_, err = e.p.PutObject(t.Context(), "missing-bucket", "k", bytes.NewReader(data), nil)
	assert.ErrorIs(t, err, providers.ErrNotFound)

	err = e.p.DeleteBucket(t.Context(), "shop-backups")
	assert.ErrorIs(t, err, providers.ErrFailedPrecondition)
	var sc *storage.Client
	assert.True(t, e.p.As(&sc))
	assert.NotNil(t, sc)
}

func TestOpenRejectsEmptyProject(t *testing.T) {
	_, err := gcp.Open(context.Background(), "", nil)
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.True(t, errors.Is(err, providers.ErrInvalidArgument))
}

func TestCanceledContextStopsListsToo(t *testing.T) {
	e := newEnv(t, nil, false)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := e.p.ListZones(ctx, region)
	require.ErrorIs(t, err, providers.ErrCanceled)
	_, err = e.p.ListInstances(ctx, region, nil)
	require.ErrorIs(t, err, providers.ErrCanceled)
	assert.Empty(t, e.srv.Requests(), "no request is sent on a canceled context")
}

func TestInstanceNamesAreUniquePerRegion(t *testing.T) {
	e := newEnv(t, nil, false)
	first, err := e.p.CreateInstance(t.Context(), webSpec("shop-web-1", zoneA))
	require.NoError(t, err)
	e.srv.ResetRequests()
	again, err := e.p.CreateInstance(t.Context(), webSpec("shop-web-1", zoneB))
	require.NoError(t, err, "our instance of that name in another zone of the region")
	assert.Equal(t, first.ID, again.ID)
	assert.Equal(t, zoneA, again.Zone)
	assert.Empty(t, e.srv.MutatingRequests(), "no second instance is inserted")
	agg := requests(e.srv, http.MethodGet, "/aggregated/instances")
	require.Len(t, agg, 1)
	q, _ := url.ParseQuery(agg[0].Query)
	assert.Equal(t, `name = "shop-web-1"`, q.Get("filter"))

	foreign := webSpec("shop-web-1", zoneB)
	foreign.Labels = labels("other", "web")
	_, err = e.p.CreateInstance(t.Context(), foreign)
	require.ErrorIs(t, err, providers.ErrAlreadyExists)

	// The same name in another region is another instance.
	other := webSpec("shop-web-1", "europe-west1-b")
	other.Region = "europe-west1"
	inst, err := e.p.CreateInstance(t.Context(), other)
	require.NoError(t, err)
	assert.NotEqual(t, first.ID, inst.ID)

	// A ref without zone is resolved in the region.
	got, err := e.p.GetInstance(t.Context(), providers.InstanceRef{Region: region, Name: "shop-web-1"})
	require.NoError(t, err)
	assert.Equal(t, zoneA, got.Zone)
}

func TestNilAndClosedAreErrorsNotPanics(t *testing.T) {
	var nilProv *gcp.Provider
	assert.False(t, nilProv.As(new(*compute.InstancesClient)))
	assert.NoError(t, nilProv.Close())
	_, err := nilProv.ListZones(t.Context(), region)
	assert.ErrorIs(t, err, providers.ErrFailedPrecondition)

	e := newEnv(t, nil, false)
	assert.False(t, e.p.As((**compute.InstancesClient)(nil)))
	_, err = e.p.GetInstance(nil, providers.InstanceRef{Zone: zoneA, Name: "x"}) //nolint:staticcheck // a nil context is refused
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	require.NoError(t, e.p.Close())
	require.NoError(t, e.p.Close(), "Close is idempotent")
	_, err = e.p.ListInstances(t.Context(), region, nil)
	assert.ErrorIs(t, err, providers.ErrFailedPrecondition)
	assert.Empty(t, e.srv.Requests())
}

func TestEnsureLoadBalancerMissingAddressCreatesNothing(t *testing.T) {
	e := newEnv(t, nil, false)
	spec := lbSetup(t, e)
	spec.AddressName = "not-reserved"
	e.srv.ResetRequests()
	_, err := e.p.EnsureLoadBalancer(t.Context(), spec)
	require.ErrorIs(t, err, providers.ErrNotFound)
	assert.Contains(t, err.Error(), "not-reserved")
	assert.Empty(t, e.srv.MutatingRequests())
}

func TestSelfRetrying(t *testing.T) {
	e := newEnv(t, nil, false)
	assert.True(t, providers.RetriesItself(e.p), "the reconciler must not stack retries on the provider's")
	p, err := gcp.Open(t.Context(), project, &gcp.Options{Endpoint: e.srv.URL, Retry: retry.Policy{MaxAttempts: 1}})
	require.NoError(t, err)
	defer p.Close()
	assert.False(t, providers.RetriesItself(p))
	e.srv.InjectFault(gcpfake.Fault{Method: http.MethodGet, Path: "/global/firewalls/x", Status: http.StatusServiceUnavailable})
	_, err = p.GetFirewallRule(t.Context(), region, "x")
	require.ErrorIs(t, err, providers.ErrUnavailable)
	assert.Len(t, requests(e.srv, http.MethodGet, "/global/firewalls/x"), 1, "one attempt")
}
