package cloudflarefake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/dns"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/zero_trust"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/cdn/cloudflare/cloudflarefake"
)

func sdkOpts(s *cloudflarefake.Server, token string) []option.RequestOption {
	return []option.RequestOption{option.WithBaseURL(s.URL()), option.WithAPIToken(token), option.WithMaxRetries(0), option.WithHTTPClient(s.Client())}
}

// The SDK's auto-pager asks for pages until one is empty: the fake must
// honour page and per_page for it to see every item exactly once and stop.
func TestSDKAutoPagerStops(t *testing.T) {
	s := cloudflarefake.New(&cloudflarefake.Options{MaxPerPage: 2})
	defer s.Close()
	for i := range 5 {
		s.AddRecord("z", cloudflarefake.Record{Name: fmt.Sprintf("h%d.example.com", i), Type: "A", Content: "192.0.2.1"})
	}
	svc := dns.NewRecordService(sdkOpts(s, s.Token())...)
	p := dns.RecordListParams{}
	p.ZoneID.Value, p.ZoneID.Present = "z", true
	iter := svc.ListAutoPaging(context.Background(), p)
	var names []string
	for iter.Next() {
		names = append(names, iter.Current().Name)
	}
	require.NoError(t, iter.Err())
	assert.Equal(t, []string{"h0.example.com", "h1.example.com", "h2.example.com", "h3.example.com", "h4.example.com"}, names)
	assert.Equal(t, 4, s.CountRequests(http.MethodGet, "/dns_records"), "pages 1-3 and the empty page 4")
}

func TestEnvelopeAuthAndFaults(t *testing.T) {
	s := cloudflarefake.New(nil)
	defer s.Close()
	get := func(token string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"accounts/a/cfd_tunnel?page=1&per_page=10", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := s.Client().Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var body map[string]any
		b, _ := io.ReadAll(res.Body)
		require.NoError(t, json.Unmarshal(b, &body), string(b))
		return res, body
	}
	res, body := get(s.Token())
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, true, body["success"])
	assert.Equal(t, []any{}, body["errors"])
	assert.Equal(t, []any{}, body["messages"])
	assert.Equal(t, []any{}, body["result"])
	assert.Equal(t, map[string]any{"page": 1.0, "per_page": 10.0, "count": 0.0, "total_count": 0.0, "total_pages": 0.0}, body["result_info"])

	res, body = get("nope")
	assert.Equal(t, 403, res.StatusCode)
	assert.Equal(t, false, body["success"])
	assert.Equal(t, 10000.0, body["errors"].([]any)[0].(map[string]any)["code"])

	s.Inject(cloudflarefake.Fault{Path: "/cfd_tunnel", Status: 429, RetryAfter: 1500 * time.Millisecond, Times: 2})
	for range 2 {
		res, _ = get(s.Token())
		assert.Equal(t, 429, res.StatusCode)
		assert.Equal(t, "2", res.Header.Get("Retry-After"))
	}
	res, _ = get(s.Token())
	assert.Equal(t, 200, res.StatusCode, "the fault is used up")
}

func TestTunnelsAndRecordsFollowTheAPIRules(t *testing.T) {
	s := cloudflarefake.New(nil)
	defer s.Close()
	ctx := context.Background()
	tunnels := zero_trust.NewTunnelCloudflaredService(sdkOpts(s, s.Token())...)
	np := zero_trust.TunnelCloudflaredNewParams{}
	np.AccountID.Value, np.AccountID.Present = "a", true
	np.Name.Value, np.Name.Present = "t1", true
	tun, err := tunnels.New(ctx, np)
	require.NoError(t, err)
	_, err = tunnels.New(ctx, np)
	var apiErr *zero_trust.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 409, apiErr.StatusCode)

	tp := zero_trust.TunnelCloudflaredTokenGetParams{}
	tp.AccountID.Value, tp.AccountID.Present = "a", true
	tok, err := tunnels.Token.Get(ctx, tun.ID, tp)
	require.NoError(t, err)
	assert.Equal(t, s.TunnelToken("a", tun.ID), *tok)

	// A configuration without a final catch-all is refused, as cloudflared
	// would refuse it.
	in := zero_trust.TunnelCloudflaredConfigurationUpdateParamsConfigIngress{}
	in.Hostname.Value, in.Hostname.Present = "shop.example.com", true
	in.Service.Value, in.Service.Present = "http://localhost:80", true
	cfg := zero_trust.TunnelCloudflaredConfigurationUpdateParamsConfig{}
	cfg.Ingress.Value, cfg.Ingress.Present = []zero_trust.TunnelCloudflaredConfigurationUpdateParamsConfigIngress{in}, true
	cp := zero_trust.TunnelCloudflaredConfigurationUpdateParams{}
	cp.AccountID.Value, cp.AccountID.Present = "a", true
	cp.Config.Value, cp.Config.Present = cfg, true
	_, err = tunnels.Configurations.Update(ctx, tun.ID, cp)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 400, apiErr.StatusCode)

	records := dns.NewRecordService(sdkOpts(s, s.Token())...)
	mk := func(typ, content string) error {
		p := dns.RecordNewParams{}
		p.ZoneID.Value, p.ZoneID.Present = "z", true
		b := dns.RecordNewParamsBody{}
		b.Name.Value, b.Name.Present = "shop.example.com", true
		b.Type.Value, b.Type.Present = dns.RecordNewParamsBodyType(typ), true
		b.Content.Value, b.Content.Present = content, true
		b.TTL.Value, b.TTL.Present = dns.TTL1, true
		p.Body = b
		_, err := records.New(ctx, p)
		return err
	}
	require.NoError(t, mk("A", "192.0.2.1"))
	require.NoError(t, mk("A", "192.0.2.2"), "round-robin A records are allowed")
	for typ, code := range map[string]string{"A": "81057", "CNAME": "81053"} {
		content := "192.0.2.1"
		if typ == "CNAME" {
			content = "x.cfargotunnel.com"
		}
		err := mk(typ, content)
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 400, apiErr.StatusCode)
		assert.True(t, strings.Contains(err.Error(), code), err.Error())
	}
}
