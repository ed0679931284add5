package cloudflare_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/zero_trust"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/cdn/cloudflare"
	"github.com/orocloud/orocloud-go/cdn/cloudflare/cloudflarefake"
	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

const (
	account = "0123456789abcdef0123456789abcdef"
	zone    = "fedcba9876543210fedcba9876543210"
)

var t0 = time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)

func testEnv() *environment.Environment {
	return &environment.Environment{
		Name: "acme-prod", Provider: environment.OCI, Region: "eu-frankfurt-1",
		Web: environment.WebTier{Nodes: 3},
		CDN: environment.CDN{Kind: environment.CDNCloudflare,
			Hostnames:  []string{"shop.example.com", "b2b.example.com"},
			Cloudflare: &environment.CloudflareSettings{AccountID: account, ZoneID: zone}},
	}
}

type harness struct {
	srv   *cloudflarefake.Server
	edge  *cloudflare.Edge
	clk   *clock.Fake
	logs  *bytes.Buffer
	mutex sync.Mutex
}

func newHarness(t *testing.T, fopts *cloudflarefake.Options, edit func(*cloudflare.Options)) *harness {
	t.Helper()
	srv := cloudflarefake.New(fopts)
	t.Cleanup(srv.Close)
	h := &harness{srv: srv, clk: clock.NewAutoFake(t0), logs: &bytes.Buffer{}}
	opts := &cloudflare.Options{
		APIToken:   providers.Secret(srv.Token()),
		BaseURL:    srv.URL(),
		HTTPClient: srv.Client(),
		Clock:      h.clk,
		Logger:     slog.New(slog.NewTextHandler(&lockedWriter{w: h.logs, mu: &h.mutex}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Retry:      retry.Policy{MaxAttempts: 4, Initial: 100 * time.Millisecond, Max: time.Second},
	}
	if edit != nil {
		edit(opts)
	}
	e, err := cloudflare.New(opts)
	require.NoError(t, err)
	h.edge = e
	return h
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (h *harness) logText() string {
	h.mutex.Lock()
	defer h.mutex.Unlock()
	return h.logs.String()
}

func mutating(reqs []cloudflarefake.Request) []string {
	var out []string
	for _, r := range reqs {
		if r.Method != http.MethodGet {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func TestEnsureComposesTheEdge(t *testing.T) {
	h := newHarness(t, nil, nil)
	st, err := h.edge.Ensure(context.Background(), testEnv(), cdn.Origin{})
	require.NoError(t, err)

	tunnels := h.srv.Tunnels(account)
	require.Len(t, tunnels, 1)
	tun := tunnels[0]
	assert.Equal(t, "orocloud-acme-prod", tun.Name)
	assert.Equal(t, [][2]string{
		{"shop.example.com", "http://localhost:80"},
		{"b2b.example.com", "http://localhost:80"},
		{"", "http_status:404"},
	}, tun.Ingress)

	recs := h.srv.Records(zone)
	require.Len(t, recs, 2)
	for _, r := range recs {
		assert.Equal(t, "CNAME", r.Type)
		assert.Equal(t, tun.ID+".cfargotunnel.com", r.Content)
		assert.True(t, r.Proxied, "tunnel CNAMEs are proxied")
	}
	assert.Equal(t, "strict", h.srv.Setting(zone, "ssl"))
	assert.Equal(t, "on", h.srv.Setting(zone, "always_use_https"))

	assert.Equal(t, environment.CDNCloudflare, st.Kind)
	assert.Equal(t, tun.ID, st.TunnelID)
	assert.False(t, st.PublicEntryPoint)
	assert.Equal(t, h.srv.TunnelToken(account, tun.ID), st.TunnelToken.Reveal())
	assert.Equal(t, map[string]string{"ssl": "strict", "always_use_https": "on"}, st.Settings)
	require.Len(t, st.Records, 2)
	assert.Equal(t, "shop.example.com", st.Records[0].Name)
	assert.Equal(t, map[string]providers.Secret{cdn.MetadataTunnelToken: st.TunnelToken}, cdn.TunnelSecrets(st))
}

func TestEnsureIsIdempotent(t *testing.T) {
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	first, err := h.edge.Ensure(ctx, testEnv(), cdn.Origin{})
	require.NoError(t, err)
	h.srv.ResetRequests()

	second, err := h.edge.Ensure(ctx, testEnv(), cdn.Origin{})
	require.NoError(t, err)
	assert.Len(t, h.srv.Tunnels(account), 1, "one tunnel")
	assert.Len(t, h.srv.Records(zone), 2, "one record per hostname")
	assert.Empty(t, mutating(h.srv.Requests()), "a second Ensure changes nothing")
	assert.Equal(t, first.TunnelID, second.TunnelID)
	assert.Equal(t, first.Records, second.Records)
}

func TestEnsureNeverDuplicatesTheTunnel(t *testing.T) {
	t.Run("create response lost, then retried", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		h.srv.Inject(cloudflarefake.Fault{Method: http.MethodPost, Path: "/cfd_tunnel", Status: 502, AfterApply: true})
		_, err := h.edge.Ensure(context.Background(), testEnv(), cdn.Origin{})
		require.NoError(t, err)
		assert.Len(t, h.srv.Tunnels(account), 1)
		assert.Equal(t, 1, h.srv.CountRequests(http.MethodPost, "/cfd_tunnel"), "the retry found the tunnel instead of creating another")
	})
	t.Run("concurrent ensures race into 409", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		ids := make([]string, 4)
		for i := range errs {
			wg.Go(func() {
				st, err := h.edge.Ensure(context.Background(), testEnv(), cdn.Origin{})
				errs[i] = err
				if err == nil {
					ids[i] = st.TunnelID
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, h.srv.Tunnels(account), 1)
		for _, id := range ids {
			assert.Equal(t, h.srv.Tunnels(account)[0].ID, id)
		}
		assert.Len(t, h.srv.Records(zone), 2)
	})
	t.Run("deleted tunnel of the same name is not reused", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		ctx := context.Background()
		first, err := h.edge.Ensure(ctx, testEnv(), cdn.Origin{})
		require.NoError(t, err)
		require.NoError(t, h.edge.Destroy(ctx, testEnv()))
		second, err := h.edge.Ensure(ctx, testEnv(), cdn.Origin{})
		require.NoError(t, err)
		assert.NotEqual(t, first.TunnelID, second.TunnelID)
	})
}

func TestEnsureFollowsPages(t *testing.T) {
	h := newHarness(t, &cloudflarefake.Options{MaxPerPage: 2}, nil)
	ctx := context.Background()
	for i := range 5 {
		env := testEnv()
		env.Name = fmt.Sprintf("other-%d", i)
		env.CDN.Hostnames = []string{fmt.Sprintf("o%d.example.com", i)}
		_, err := h.edge.Ensure(ctx, env, cdn.Origin{})
		require.NoError(t, err)
	}
	// The fake lists by name, so seed records under one name to page them:
	for i := range 5 {
		h.srv.AddRecord(zone, cloudflarefake.Record{Name: "shop.example.com", Type: "A", Content: fmt.Sprintf("192.0.2.%d", i+1)})
	}
	_, err := h.edge.Ensure(ctx, testEnv(), cdn.Origin{})
	require.NoError(t, err)
	var shop []cloudflarefake.Record
	for _, r := range h.srv.Records(zone) {
		if r.Name == "shop.example.com" {
			shop = append(shop, r)
		}
	}
	require.Len(t, shop, 1, "all five A records, over three pages, were replaced by the CNAME")
	assert.Equal(t, "CNAME", shop[0].Type)
	assert.Len(t, h.srv.Tunnels(account), 6)
}

func TestPointHostnameUpsertsOverExistingRecords(t *testing.T) {
	h := newHarness(t, nil, func(o *cloudflare.Options) { o.ZoneID = zone })
	ctx := context.Background()
	a := h.srv.AddRecord(zone, cloudflarefake.Record{Name: "shop.example.com", Type: "A", Content: "192.0.2.10", Proxied: true})
	h.srv.AddRecord(zone, cloudflarefake.Record{Name: "shop.example.com", Type: "A", Content: "192.0.2.11", Proxied: true})
	h.srv.AddRecord(zone, cloudflarefake.Record{Name: "shop.example.com", Type: "TXT", Content: "v=spf1 -all"})
	h.srv.AddRecord(zone, cloudflarefake.Record{Name: "other.example.com", Type: "A", Content: "192.0.2.99"})

	// DR switch: point the name at the DR region's address.
	got, err := h.edge.PointHostname(ctx, cdn.Record{Name: "Shop.Example.com.", Type: cdn.RecordA, Content: "203.0.113.7", Proxied: true})
	require.NoError(t, err)
	assert.Equal(t, a.ID, got.ID, "updated in place, not recreated")
	assert.Equal(t, "203.0.113.7", got.Content)
	assert.Equal(t, zone, got.Zone)

	types := map[string][]string{}
	for _, r := range h.srv.Records(zone) {
		types[r.Name] = append(types[r.Name], r.Type+" "+r.Content)
	}
	assert.ElementsMatch(t, []string{"A 203.0.113.7", "TXT v=spf1 -all"}, types["shop.example.com"], "the second A went, the TXT stayed")
	assert.Equal(t, []string{"A 192.0.2.99"}, types["other.example.com"])

	// A TTL is kept on DNS-only records; proxied ones are automatic.
	got, err = h.edge.PointHostname(ctx, cdn.Record{Name: "api.example.com", Type: cdn.RecordA, Content: "203.0.113.8", TTL: 5 * time.Minute})
	require.NoError(t, err)
	assert.Equal(t, 5*time.Minute, got.TTL)
	got, err = h.edge.PointHostname(ctx, cdn.Record{Name: "api.example.com", Type: cdn.RecordA, Content: "203.0.113.8", TTL: 5 * time.Minute, Proxied: true})
	require.NoError(t, err)
	assert.Zero(t, got.TTL)

	// Switching it again to the same target writes nothing.
	h.srv.ResetRequests()
	_, err = h.edge.PointHostname(ctx, cdn.Record{Name: "shop.example.com", Type: cdn.RecordA, Content: "203.0.113.7", Proxied: true})
	require.NoError(t, err)
	assert.Empty(t, mutating(h.srv.Requests()))

	// And back to a tunnel: the A record becomes the CNAME.
	got, err = h.edge.PointHostname(ctx, cdn.Record{Name: "shop.example.com", Type: cdn.RecordCNAME, Content: "1234.cfargotunnel.com", Proxied: true})
	require.NoError(t, err)
	assert.Equal(t, a.ID, got.ID)
	found, err := h.edge.LookupRecord(ctx, "", "shop.example.com", cdn.RecordCNAME)
	require.NoError(t, err)
	assert.Equal(t, "1234.cfargotunnel.com", found.Content)
	_, err = h.edge.LookupRecord(ctx, "", "shop.example.com", cdn.RecordA)
	assert.ErrorIs(t, err, providers.ErrNotFound)
}

func TestPointHostnameRacesIntoAlreadyExists(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault cloudflarefake.Fault
		seed  bool
	}{
		{
			// The list missed a record another writer had just created: the
			// real conflict (81053) makes PointHostname read again and update.
			name:  "81053 from a stale list",
			fault: cloudflarefake.Fault{Method: http.MethodGet, Path: "/dns_records", Status: 200, Result: json.RawMessage(`[]`)},
			seed:  true,
		},
		{
			name:  "81057 on a create that was applied",
			fault: cloudflarefake.Fault{Method: http.MethodPost, Path: "/dns_records", Status: 400, Code: 81057, Message: "Record already exists.", AfterApply: true},
		},
		{
			name:  "409 already exists",
			fault: cloudflarefake.Fault{Method: http.MethodPost, Path: "/dns_records", Status: 409, Code: 81057, Message: "Record already exists.", AfterApply: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil, func(o *cloudflare.Options) { o.Retry.MaxAttempts = 1 })
			if tc.seed {
				h.srv.AddRecord(zone, cloudflarefake.Record{Name: "shop.example.com", Type: "CNAME", Content: "old.example.net"})
			}
			h.srv.Inject(tc.fault)
			got, err := h.edge.PointHostname(context.Background(), cdn.Record{Zone: zone, Name: "shop.example.com", Type: cdn.RecordA, Content: "203.0.113.8"})
			require.NoError(t, err, "never fails on 'already exists', even without retries")
			assert.Equal(t, "203.0.113.8", got.Content)
			recs := h.srv.Records(zone)
			require.Len(t, recs, 1)
			assert.Equal(t, "A", recs[0].Type)
			assert.Equal(t, "203.0.113.8", recs[0].Content)
		})
	}
}

func TestPointHostnameVerifies(t *testing.T) {
	stale := json.RawMessage(`{"id":"x","name":"shop.example.com","type":"A","content":"192.0.2.1","proxied":false,"ttl":1}`)
	t.Run("stale read once, then retried", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		h.srv.Inject(cloudflarefake.Fault{Method: http.MethodGet, Path: "/dns_records/", Status: 200, Result: stale})
		got, err := h.edge.PointHostname(context.Background(), cdn.Record{Zone: zone, Name: "shop.example.com", Type: cdn.RecordA, Content: "203.0.113.9"})
		require.NoError(t, err)
		assert.Equal(t, "203.0.113.9", got.Content)
		assert.Equal(t, 1, h.srv.CountRequests(http.MethodPost, "/dns_records"), "created once")
		lists := 0
		for _, r := range h.srv.Requests() {
			if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/dns_records") {
				lists++
			}
		}
		assert.Equal(t, 2, lists, "the retry's fresh list showed the record as written")
	})
	t.Run("a write that does not take", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		h.srv.AddRecord(zone, cloudflarefake.Record{Name: "shop.example.com", Type: "A", Content: "192.0.2.1"})
		// The API acknowledges every update but keeps the old content.
		h.srv.Inject(cloudflarefake.Fault{Method: http.MethodPut, Path: "/dns_records/", Status: 200, Result: stale, Times: -1})
		_, err := h.edge.PointHostname(context.Background(), cdn.Record{Zone: zone, Name: "shop.example.com", Type: cdn.RecordA, Content: "203.0.113.9"})
		require.Error(t, err)
		assert.Equal(t, providers.Unavailable, providers.Code(err))
		assert.Contains(t, err.Error(), "verification failed")
		assert.Equal(t, 4, h.srv.CountRequests(http.MethodPut, "/dns_records/"), "one write per attempt")
		assert.Equal(t, "192.0.2.1", h.srv.Records(zone)[0].Content)
	})
}

func TestRetryPolicy(t *testing.T) {
	t.Run("429 with Retry-After and 503 are retried by our policy", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		h.srv.Inject(cloudflarefake.Fault{Method: http.MethodGet, Path: "/cfd_tunnel", Status: 429, Code: 971, Message: "rate limited", RetryAfter: 3 * time.Second})
		h.srv.Inject(cloudflarefake.Fault{Method: http.MethodGet, Path: "/cfd_tunnel", Status: 503})
		_, err := h.edge.Ensure(context.Background(), testEnv(), cdn.Origin{})
		require.NoError(t, err)
		assert.GreaterOrEqual(t, h.clk.Now().Sub(t0), 3*time.Second, "waited as long as Retry-After asked, on our clock")
		var reqs []cloudflarefake.Request
		for _, r := range h.srv.Requests() {
			if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/cfd_tunnel") {
				reqs = append(reqs, r)
			}
		}
		require.GreaterOrEqual(t, len(reqs), 3)
		assert.Equal(t, []int{429, 503, 200}, []int{reqs[0].Status, reqs[1].Status, reqs[2].Status})
		for _, r := range reqs[:3] {
			assert.Equal(t, "0", r.Header.Get("X-Stainless-Retry-Count"), "each attempt is ours, not an SDK retry")
		}
	})
	t.Run("the SDK does not retry by itself", func(t *testing.T) {
		for _, status := range []int{408, 409, 429, 500, 503} {
			h := newHarness(t, nil, func(o *cloudflare.Options) { o.Retry.MaxAttempts = 1 })
			h.srv.Inject(cloudflarefake.Fault{Method: http.MethodGet, Path: "/cfd_tunnel", Status: status, RetryAfter: 2 * time.Second})
			_, err := h.edge.Describe(context.Background(), testEnv())
			require.Error(t, err)
			assert.Equal(t, 1, len(h.srv.Requests()), "status %d: one request", status)
			ra, ok := providers.RetryAfter(err)
			assert.True(t, ok)
			assert.Equal(t, 2*time.Second, ra)
		}
	})
	t.Run("codes", func(t *testing.T) {
		for _, tc := range []struct {
			status int
			code   providers.ErrorCode
		}{{429, providers.ResourceExhausted}, {500, providers.Unavailable}, {502, providers.Unavailable}, {400, providers.InvalidArgument}, {403, providers.PermissionDenied}, {404, providers.NotFound}} {
			h := newHarness(t, nil, func(o *cloudflare.Options) { o.Retry.MaxAttempts = 1 })
			h.srv.Inject(cloudflarefake.Fault{Method: http.MethodGet, Path: "/cfd_tunnel", Status: tc.status})
			_, err := h.edge.Describe(context.Background(), testEnv())
			assert.Equal(t, tc.code, providers.Code(err), "status %d", tc.status)
			var raw *zero_trust.Error
			require.ErrorAs(t, err, &raw, "the SDK's error stays reachable")
			assert.Equal(t, tc.status, raw.StatusCode)
		}
	})
	t.Run("permanent errors are not retried", func(t *testing.T) {
		h := newHarness(t, nil, nil)
		h.srv.Inject(cloudflarefake.Fault{Method: http.MethodGet, Path: "/cfd_tunnel", Status: 400, Times: -1})
		_, err := h.edge.Ensure(context.Background(), testEnv(), cdn.Origin{})
		assert.ErrorIs(t, err, providers.ErrInvalidArgument)
		assert.Equal(t, 1, h.srv.CountRequests(http.MethodGet, "/cfd_tunnel"))
	})
	t.Run("context canceled stops the retries", func(t *testing.T) {
		h := newHarness(t, nil, func(o *cloudflare.Options) { o.Clock = clock.NewFake(t0); o.Retry.MaxAttempts = 10 })
		h.srv.Inject(cloudflarefake.Fault{Method: http.MethodGet, Path: "/cfd_tunnel", Status: 503, Times: -1})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := h.edge.Ensure(ctx, testEnv(), cdn.Origin{})
		require.Error(t, err)
		assert.False(t, providers.IsTransient(err) && ctx.Err() == nil)
	})
}

func TestNoEnvironmentVariablesAreRead(t *testing.T) {
	t.Setenv("CLOUDFLARE_API_TOKEN", "token-from-env")
	t.Setenv("CLOUDFLARE_API_KEY", "key-from-env")
	t.Setenv("CLOUDFLARE_EMAIL", "env@example.com")
	t.Setenv("CLOUDFLARE_API_USER_SERVICE_KEY", "service-key-from-env")
	t.Setenv("CLOUDFLARE_BASE_URL", "http://127.0.0.1:1/client/v4/")
	t.Setenv("CLOUDFLARE_CUSTOM_HEADERS", "X-Leak: from-env")

	_, err := cloudflare.New(&cloudflare.Options{})
	assert.ErrorIs(t, err, providers.ErrInvalidArgument, "no token in Options: CLOUDFLARE_API_TOKEN is not a fallback")
	_, err = cloudflare.New(&cloudflare.Options{APIToken: "t", BaseURL: "api.cloudflare.com/client/v4"})
	assert.ErrorIs(t, err, providers.ErrInvalidArgument, "a base URL without scheme")

	h := newHarness(t, nil, nil)
	_, err = h.edge.Ensure(context.Background(), testEnv(), cdn.Origin{})
	require.NoError(t, err, "requests went to Options.BaseURL, not CLOUDFLARE_BASE_URL")
	reqs := h.srv.Requests()
	require.NotEmpty(t, reqs)
	for _, r := range reqs {
		assert.Equal(t, "Bearer "+h.srv.Token(), r.Header.Get("Authorization"))
		for _, hdr := range []string{"X-Auth-Key", "X-Auth-Email", "X-Auth-User-Service-Key", "X-Leak"} {
			assert.Empty(t, r.Header.Get(hdr), "%s %s carries %s", r.Method, r.Path, hdr)
		}
	}
}

func TestSecretsAreNeverPrinted(t *testing.T) {
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	st, err := h.edge.Ensure(ctx, testEnv(), cdn.Origin{})
	require.NoError(t, err)
	token := st.TunnelToken.Reveal()
	require.NotEmpty(t, token)
	apiToken := h.srv.Token()

	// A failing Ensure after the token was fetched.
	h.srv.Inject(cloudflarefake.Fault{Method: http.MethodGet, Path: "/settings/ssl", Status: 500, Times: -1})
	_, ensureErr := h.edge.Ensure(ctx, testEnv(), cdn.Origin{})
	require.Error(t, ensureErr)
	// And a bad API token.
	bad, err := cloudflare.New(&cloudflare.Options{APIToken: "wrong-token-value", BaseURL: h.srv.URL(), Retry: retry.Policy{MaxAttempts: 1}})
	require.NoError(t, err)
	_, authErr := bad.Ensure(ctx, testEnv(), cdn.Origin{})
	require.ErrorIs(t, authErr, providers.ErrPermissionDenied)

	js, err := json.Marshal(st)
	require.NoError(t, err)
	secrets := cdn.TunnelSecrets(st)
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", st), "%+v": fmt.Sprintf("%+v", st), "%#v": fmt.Sprintf("%#v", st),
		"String": st.String(), "value %+v": fmt.Sprintf("%+v", *st), "value %v": fmt.Sprintf("%v", *st),
		"%s": fmt.Sprintf("%s", st.TunnelToken), "json": string(js), "secrets %v": fmt.Sprintf("%v %+v %#v", secrets, secrets, secrets),
		"logs": h.logText(), "ensure error": ensureErr.Error(), "auth error": authErr.Error(),
		"auth error %+v": fmt.Sprintf("%+v", authErr),
		"edge":           fmt.Sprintf("%v %+v %#v %v %+v %#v", h.edge, h.edge, h.edge, bad, bad, bad),
	}
	for name, out := range outputs {
		assert.NotContains(t, out, token, name)
		assert.NotContains(t, out, apiToken, name)
		assert.NotContains(t, out, "wrong-token-value", name)
	}
	assert.Contains(t, outputs["String"], "token [REDACTED]")
	assert.Contains(t, outputs["value %+v"], "TunnelToken:[REDACTED]")
}

func TestValidationBeforeAnyCall(t *testing.T) {
	h := newHarness(t, nil, nil)
	env := testEnv()
	env.Name = "Acme_Prod"
	env.CDN.Kind = environment.CDNGoogle
	env.CDN.Cloudflare = &environment.CloudflareSettings{AccountID: "ACC-1"}
	env.CDN.Hostnames = []string{"shop", "b2b.example.com", "B2B.example.com."}
	_, err := h.edge.Ensure(context.Background(), env, cdn.Origin{})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	for _, want := range []string{"name:", "cdn.kind:", "zoneId: required", `"ACC-1" is not a Cloudflare account ID`, `cdn.hostnames[0]: "shop"`, "listed twice"} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = h.edge.Ensure(context.Background(), nil, cdn.Origin{})
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = h.edge.PointHostname(context.Background(), cdn.Record{Name: "x.example.com", Type: cdn.RecordA, Content: "not-an-ip"})
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "not an IPv4 address")
	assert.Empty(t, h.srv.Requests())
}

func TestDescribeAndDestroy(t *testing.T) {
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	_, err := h.edge.Describe(ctx, testEnv())
	require.ErrorIs(t, err, providers.ErrNotFound)

	st, err := h.edge.Ensure(ctx, testEnv(), cdn.Origin{})
	require.NoError(t, err)
	foreign := h.srv.AddRecord(zone, cloudflarefake.Record{Name: "blog.example.com", Type: "CNAME", Content: "blog.example.net"})

	d, err := h.edge.Describe(ctx, testEnv())
	require.NoError(t, err)
	assert.Equal(t, st.TunnelID, d.TunnelID)
	assert.Equal(t, st.Ingress, d.Ingress)
	assert.Equal(t, st.Records, d.Records)
	assert.Equal(t, st.Settings, d.Settings)
	assert.Equal(t, st.TunnelToken.Reveal(), d.TunnelToken.Reveal())

	h.srv.SetConnectors(account, st.TunnelID, 2)
	err = h.edge.Destroy(ctx, testEnv())
	require.ErrorIs(t, err, providers.ErrFailedPrecondition, "a tunnel with connectors is not deleted")

	h.srv.SetConnectors(account, st.TunnelID, 0)
	require.NoError(t, h.edge.Destroy(ctx, testEnv()))
	assert.True(t, h.srv.Tunnels(account)[0].Deleted)
	assert.Equal(t, []cloudflarefake.Record{foreign}, h.srv.Records(zone), "records not pointing to the tunnel are kept")
	_, err = h.edge.Describe(ctx, testEnv())
	assert.ErrorIs(t, err, providers.ErrNotFound)
	require.NoError(t, h.edge.Destroy(ctx, testEnv()), "destroying nothing is fine")
}

func TestZeroTrustOfTheEnsuredEdge(t *testing.T) {
	// The Cloudflare edge needs no ingress rule; an environment that adds
	// one to the web nodes is refused.
	env := testEnv()
	require.NoError(t, cdn.CheckZeroTrust(env, nil))
	env.Ingress = []environment.IngressRule{{Name: "web-https", Tier: environment.TierWeb, Ports: []int{443}, SourceRanges: []string{"0.0.0.0/0"}}}
	err := cdn.CheckZeroTrust(env, nil)
	assert.True(t, errors.Is(err, cdn.ErrPublicIngress))
	assert.True(t, strings.Contains(err.Error(), "web-https"))
}
