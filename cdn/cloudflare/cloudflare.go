// Package cloudflare is the Cloudflare Zero Trust edge of an environment,
// on the maintained Cloudflare Go SDK (github.com/cloudflare/cloudflare-go/v7).
//
// For an environment it ensures one named Cloudflare Tunnel ("orocloud-<env>",
// found by name, never duplicated, also when a create is retried or races),
// puts the tunnel's remote ingress configuration (each hostname to the web
// nodes' local nginx, then a catch-all 404), fetches the token cloudflared
// runs with (a providers.Secret: hand it to web nodes with cdn.TunnelSecrets),
// upserts the proxied CNAME "<host> -> <tunnel-id>.cfargotunnel.com" of each
// hostname, and sets the zone's SSL mode to strict with "always use HTTPS"
// on. The environment then has no public entry point: check it with
// cdn.CheckZeroTrust.
//
// PointHostname is the DNS switch disaster recovery uses: it always
// upserts (find by name and type, update in place, or create; a create that
// races into Cloudflare's "record already exists", codes 81053/81057,
// re-reads and updates) and reads the record back before returning.
//
// The client is built from Options only: it imports just the SDK's service
// packages it needs (zero_trust, dns, zones, option) rather than the root
// package, whose NewClient reads CLOUDFLARE_API_TOKEN, CLOUDFLARE_API_KEY,
// CLOUDFLARE_EMAIL, CLOUDFLARE_BASE_URL and CLOUDFLARE_CUSTOM_HEADERS from
// the environment and compiles every service of the API. The SDK's own
// retries (on 408/409/429/5xx) are turned off; retries happen here, once,
// on transient errors, with Options.Retry on Options.Clock, honouring
// Retry-After, and only around operations that are safe to repeat.
package cloudflare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/dns"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/shared"
	"github.com/cloudflare/cloudflare-go/v7/zero_trust"
	"github.com/cloudflare/cloudflare-go/v7/zones"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// DefaultBaseURL is the Cloudflare API v4 endpoint.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4/"

// DefaultOriginService is where cloudflared sends each hostname's
// requests on a web node: the local nginx.
const DefaultOriginService = "http://localhost:80"

// CatchAllService answers requests for hostnames the tunnel does not serve.
const CatchAllService = "http_status:404"

// Zone settings Ensure enforces.
const (
	SettingSSL            = "ssl"
	SettingAlwaysUseHTTPS = "always_use_https"
)

// Options configure an Edge. APIToken is required.
type Options struct {
	// APIToken is a Cloudflare API token with Cloudflare Tunnel edit, DNS
	// edit and Zone Settings edit permissions. It is sent only in the
	// Authorization header and never logged.
	APIToken providers.Secret
	// AccountID and ZoneID are used when an environment's
	// CDN.Cloudflare settings leave them empty, and by PointHostname for
	// records without a Zone.
	AccountID string
	ZoneID    string
	// BaseURL overrides the API endpoint (a test server's URL).
	BaseURL string
	// HTTPClient sends the requests (default: a client of its own).
	HTTPClient *http.Client
	// RequestTimeout bounds each HTTP request (default 60 s).
	RequestTimeout time.Duration
	// OriginService is the ingress service of each hostname (default
	// DefaultOriginService).
	OriginService string
	// Logger receives one line per change made (default: discard).
	Logger *slog.Logger
	// Clock times retries (default: the system clock).
	Clock clock.Clock
	// Retry is the retry policy for transient errors.
	Retry retry.Policy
	// Parallelism bounds concurrent calls within one Ensure (default 4).
	Parallelism int
}

// Edge is the Cloudflare Zero Trust edge. It implements cdn.Edge and
// cdn.DNS and is safe for concurrent use.
type Edge struct {
	opts     Options
	log      *slog.Logger
	retry    retry.Policy
	tunnels  *zero_trust.TunnelCloudflaredService
	records  *dns.RecordService
	settings *zones.SettingService
}

var (
	_ cdn.Edge = (*Edge)(nil)
	_ cdn.DNS  = (*Edge)(nil)
)

// New returns an Edge. A missing APIToken returns InvalidArgument.
func New(opts *Options) (*Edge, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.APIToken == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: "cloudflare.New",
			Msg: "Options.APIToken is required (a Cloudflare API token); environment variables are never read"}
	}
	if strings.ContainsAny(o.APIToken.Reveal(), "\r\n") {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: "cloudflare.New", Msg: "Options.APIToken must be a single line"}
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: "cloudflare.New",
			Msg: fmt.Sprintf("Options.BaseURL: %q is not an http(s) URL", o.BaseURL)}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 60 * time.Second
	}
	if o.OriginService == "" {
		o.OriginService = DefaultOriginService
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 4
	}
	o.Clock = clock.Or(o.Clock)
	// The token lives only in the SDK's request options from here on, so
	// printing an Edge (even with %#v) cannot show it.
	token := o.APIToken
	o.APIToken = ""
	e := &Edge{opts: o, log: o.Logger}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e.retry = retry.Policy{
		MaxAttempts: o.Retry.MaxAttempts, Initial: o.Retry.Initial, Max: o.Retry.Max, Clock: o.Clock,
		OnRetry: func(attempt int, err error, wait time.Duration) {
			e.log.Warn("cloudflare: retrying", "attempt", attempt, "wait", wait, "err", err)
		},
	}
	// Explicit options only: no DefaultClientOptions (which read CLOUDFLARE_*
	// variables), no SDK retries.
	ro := []option.RequestOption{
		option.WithBaseURL(o.BaseURL),
		option.WithHTTPClient(o.HTTPClient),
		option.WithAPIToken(token.Reveal()),
		option.WithMaxRetries(0),
		option.WithRequestTimeout(o.RequestTimeout),
	}
	e.tunnels = zero_trust.NewTunnelCloudflaredService(ro...)
	e.records = dns.NewRecordService(ro...)
	e.settings = zones.NewSettingService(ro...)
	return e, nil
}

// Kind returns environment.CDNCloudflare.
func (e *Edge) Kind() environment.CDNKind { return environment.CDNCloudflare }

// TunnelName is the name of env's tunnel: "orocloud-<env>".
func TunnelName(env string) string { return "orocloud-" + env }

// TunnelTarget is the CNAME target of a tunnel: "<id>.cfargotunnel.com".
func TunnelTarget(tunnelID string) string { return tunnelID + ".cfargotunnel.com" }

// Ingress returns the tunnel ingress for hostnames: each hostname to
// service, then the catch-all 404.
func Ingress(hostnames []string, service string) []cdn.IngressRule {
	out := make([]cdn.IngressRule, 0, len(hostnames)+1)
	for _, h := range hostnames {
		out = append(out, cdn.IngressRule{Hostname: strings.ToLower(strings.TrimSuffix(h, ".")), Service: service})
	}
	return append(out, cdn.IngressRule{Service: CatchAllService})
}

type target struct{ account, zone string }

// validate checks env for this edge and returns every problem at once.
func (e *Edge) validate(op string, env *environment.Environment, needHosts bool) (target, error) {
	if env == nil {
		return target{}, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "nil environment"}
	}
	var errs []string
	if !providers.ValidName(env.Name) {
		errs = append(errs, fmt.Sprintf("name: %q is not a valid environment name", env.Name))
	}
	if env.CDN.Kind != environment.CDNCloudflare {
		errs = append(errs, fmt.Sprintf("cdn.kind: is %q, want %q for the Cloudflare edge", env.CDN.Kind, environment.CDNCloudflare))
	}
	t := target{account: e.opts.AccountID, zone: e.opts.ZoneID}
	if cf := env.CDN.Cloudflare; cf != nil {
		if cf.AccountID != "" {
			t.account = cf.AccountID
		}
		if cf.ZoneID != "" {
			t.zone = cf.ZoneID
		}
	}
	switch {
	case t.account == "":
		errs = append(errs, "cdn.cloudflare.accountId: required (or Options.AccountID)")
	case !validID(t.account):
		errs = append(errs, fmt.Sprintf("cdn.cloudflare.accountId: %q is not a Cloudflare account ID (32 lower case hexadecimal characters)", t.account))
	}
	switch {
	case t.zone == "":
		errs = append(errs, "cdn.cloudflare.zoneId: required (or Options.ZoneID)")
	case !validID(t.zone):
		errs = append(errs, fmt.Sprintf("cdn.cloudflare.zoneId: %q is not a Cloudflare zone ID (32 lower case hexadecimal characters)", t.zone))
	}
	if needHosts {
		if len(env.CDN.Hostnames) == 0 {
			errs = append(errs, "cdn.hostnames: at least one hostname is required")
		}
		seen := map[string]bool{}
		for i, h := range env.CDN.Hostnames {
			k := strings.ToLower(strings.TrimSuffix(h, "."))
			switch {
			case !cdn.ValidHostname(h):
				errs = append(errs, fmt.Sprintf("cdn.hostnames[%d]: %q is not a fully qualified host name", i, h))
			case seen[k]:
				errs = append(errs, fmt.Sprintf("cdn.hostnames[%d]: %q is listed twice", i, h))
			}
			seen[k] = true
		}
	}
	if len(errs) > 0 {
		return t, &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: env.Name, Msg: strings.Join(errs, "; ")}
	}
	return t, nil
}

// Ensure creates or updates the tunnel, its ingress, the DNS records and
// the zone settings of env, and returns the edge's state with the tunnel
// token. origin is not needed by a tunnel (cloudflared on every web node
// dials out) and may be zero. Calling it again with the same env makes no
// mutating call.
func (e *Edge) Ensure(ctx context.Context, env *environment.Environment, origin cdn.Origin) (*cdn.State, error) {
	const op = "cloudflare.Ensure"
	t, err := e.validate(op, env, true)
	if err != nil {
		return nil, err
	}
	// The zone settings do not depend on the tunnel: start them at once.
	// Once the tunnel exists, its ingress, its token and the hostnames'
	// records are independent too. Concurrency is bounded by Parallelism.
	g := newGroup(ctx, e.opts.Parallelism)
	settings := map[string]string{}
	var mu sync.Mutex
	for _, s := range []struct{ id, want string }{{SettingSSL, "strict"}, {SettingAlwaysUseHTTPS, "on"}} {
		g.Go(func(ctx context.Context) error {
			err := retry.Do(ctx, e.retry, func(ctx context.Context) error { return e.ensureSetting(ctx, t.zone, s.id, s.want) })
			if err == nil {
				mu.Lock()
				settings[s.id] = s.want
				mu.Unlock()
			}
			return err
		})
	}
	name := TunnelName(env.Name)
	tun, err := retry.Value(ctx, e.retry, func(ctx context.Context) (*shared.CloudflareTunnel, error) {
		return e.findOrCreateTunnel(ctx, t.account, name)
	})
	if err != nil {
		return nil, errors.Join(append([]error{err}, g.Wait()...)...)
	}
	ingress := Ingress(env.CDN.Hostnames, e.opts.OriginService)
	g.Go(func(ctx context.Context) error {
		return retry.Do(ctx, e.retry, func(ctx context.Context) error { return e.ensureIngress(ctx, t.account, tun.ID, ingress) })
	})
	var token providers.Secret
	g.Go(func(ctx context.Context) (err error) {
		token, err = e.token(ctx, t.account, tun.ID)
		return err
	})
	records := make([]cdn.Record, len(env.CDN.Hostnames))
	for i, h := range env.CDN.Hostnames {
		g.Go(func(ctx context.Context) error {
			r, err := e.PointHostname(ctx, cdn.Record{Zone: t.zone, Name: h, Type: cdn.RecordCNAME,
				Content: TunnelTarget(tun.ID), Proxied: true})
			if err == nil {
				records[i] = *r
			}
			return err
		})
	}
	if errs := g.Wait(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	st := &cdn.State{Kind: environment.CDNCloudflare, Environment: env.Name, Hostnames: slices.Clone(env.CDN.Hostnames),
		AccountID: t.account, ZoneID: t.zone, TunnelID: tun.ID, TunnelName: tun.Name, TunnelStatus: string(tun.Status),
		TunnelToken: token, Ingress: ingress, Records: records, Settings: settings}
	e.log.InfoContext(ctx, "cloudflare: edge ensured", "env", env.Name, "tunnel", tun.Name, "tunnel_id", tun.ID,
		"hostnames", len(env.CDN.Hostnames), "web_nodes", len(origin.WebNodes))
	return st, nil
}

// Describe returns the edge of env as it is, with the tunnel token. A
// missing tunnel returns NotFound.
func (e *Edge) Describe(ctx context.Context, env *environment.Environment) (*cdn.State, error) {
	const op = "cloudflare.Describe"
	t, err := e.validate(op, env, false)
	if err != nil {
		return nil, err
	}
	name := TunnelName(env.Name)
	tun, err := retry.Value(ctx, e.retry, func(ctx context.Context) (*shared.CloudflareTunnel, error) {
		return e.findTunnel(ctx, t.account, name)
	})
	if err != nil {
		return nil, err
	}
	if tun == nil {
		return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: env.Name, Msg: fmt.Sprintf("no tunnel named %q", name)}
	}
	st := &cdn.State{Kind: environment.CDNCloudflare, Environment: env.Name, Hostnames: slices.Clone(env.CDN.Hostnames),
		AccountID: t.account, ZoneID: t.zone, TunnelID: tun.ID, TunnelName: tun.Name, TunnelStatus: string(tun.Status),
		Settings: map[string]string{}}
	if st.Ingress, err = retry.Value(ctx, e.retry, func(ctx context.Context) ([]cdn.IngressRule, error) {
		return e.getIngress(ctx, t.account, tun.ID)
	}); err != nil {
		return nil, err
	}
	if st.TunnelToken, err = e.token(ctx, t.account, tun.ID); err != nil {
		return nil, err
	}
	for _, h := range env.CDN.Hostnames {
		r, err := e.LookupRecord(ctx, t.zone, h, cdn.RecordCNAME)
		if providers.Code(err) == providers.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		st.Records = append(st.Records, *r)
	}
	for _, id := range []string{SettingSSL, SettingAlwaysUseHTTPS} {
		v, err := retry.Value(ctx, e.retry, func(ctx context.Context) (string, error) { return e.getSetting(ctx, t.zone, id) })
		if err != nil {
			return nil, err
		}
		st.Settings[id] = v
	}
	return st, nil
}

// Destroy deletes the CNAME records of env's hostnames that point to its
// tunnel, then the tunnel. Records pointing elsewhere and the zone's
// settings are left alone. Without a tunnel it returns nil. A tunnel that
// still has cloudflared connectors returns FailedPrecondition: stop
// cloudflared on the web nodes (or delete them) first.
func (e *Edge) Destroy(ctx context.Context, env *environment.Environment) error {
	const op = "cloudflare.Destroy"
	t, err := e.validate(op, env, false)
	if err != nil {
		return err
	}
	tun, err := retry.Value(ctx, e.retry, func(ctx context.Context) (*shared.CloudflareTunnel, error) {
		return e.findTunnel(ctx, t.account, TunnelName(env.Name))
	})
	if err != nil || tun == nil {
		return err
	}
	want := TunnelTarget(tun.ID)
	for _, h := range env.CDN.Hostnames {
		err := retry.Do(ctx, e.retry, func(ctx context.Context) error {
			recs, err := e.listByName(ctx, t.zone, h)
			if err != nil {
				return err
			}
			for _, r := range recs {
				if r.Type == cdn.RecordCNAME && cdn.SameHost(r.Content, want) {
					if err := e.deleteRecord(ctx, t.zone, r.ID); err != nil && providers.Code(err) != providers.NotFound {
						return err
					}
					e.log.InfoContext(ctx, "cloudflare: deleted record", "record", r.String())
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	err = retry.Do(ctx, e.retry, func(ctx context.Context) error {
		p := zero_trust.TunnelCloudflaredDeleteParams{}
		p.AccountID.Value, p.AccountID.Present = t.account, true
		_, err := e.tunnels.Delete(ctx, tun.ID, p)
		return classify(err, "cloudflare.DeleteTunnel", tun.Name)
	})
	if providers.Code(err) == providers.NotFound {
		err = nil
	}
	if err == nil {
		e.log.InfoContext(ctx, "cloudflare: deleted tunnel", "tunnel", tun.Name, "tunnel_id", tun.ID)
	}
	return err
}

// ---- tunnels ----

const pageSize = 50

// findTunnel returns the live tunnel named name (the oldest, should there
// be several), or nil.
func (e *Edge) findTunnel(ctx context.Context, account, name string) (*shared.CloudflareTunnel, error) {
	var found *shared.CloudflareTunnel
	for page := 1; ; page++ {
		p := zero_trust.TunnelCloudflaredListParams{}
		p.AccountID.Value, p.AccountID.Present = account, true
		p.Name.Value, p.Name.Present = name, true
		p.IsDeleted.Value, p.IsDeleted.Present = false, true
		p.Page.Value, p.Page.Present = float64(page), true
		p.PerPage.Value, p.PerPage.Present = pageSize, true
		res, err := e.tunnels.List(ctx, p)
		if err != nil {
			return nil, classify(err, "cloudflare.ListTunnels", name)
		}
		for i := range res.Result {
			tun := &res.Result[i]
			if tun.Name != name || !tun.DeletedAt.IsZero() {
				continue
			}
			if found == nil || tun.CreatedAt.Before(found.CreatedAt) {
				found = tun
			}
		}
		if lastPage(len(res.Result), res.ResultInfo.PerPage) {
			return found, nil
		}
	}
}

// findOrCreateTunnel is idempotent: it creates the tunnel only when none of
// that name exists, and a create refused because one does (a concurrent
// Ensure, or a retried create whose response was lost) finds it.
func (e *Edge) findOrCreateTunnel(ctx context.Context, account, name string) (*shared.CloudflareTunnel, error) {
	for range 3 {
		tun, err := e.findTunnel(ctx, account, name)
		if err != nil || tun != nil {
			return tun, err
		}
		p := zero_trust.TunnelCloudflaredNewParams{}
		p.AccountID.Value, p.AccountID.Present = account, true
		p.Name.Value, p.Name.Present = name, true
		p.ConfigSrc.Value, p.ConfigSrc.Present = zero_trust.TunnelCloudflaredNewParamsConfigSrcCloudflare, true
		tun, err = e.tunnels.New(ctx, p)
		if err = classify(err, "cloudflare.CreateTunnel", name); err == nil {
			e.log.InfoContext(ctx, "cloudflare: created tunnel", "tunnel", name, "tunnel_id", tun.ID)
			return tun, nil
		}
		if providers.Code(err) != providers.AlreadyExists {
			return nil, err
		}
	}
	return nil, &providers.Error{Code: providers.Unavailable, Op: "cloudflare.CreateTunnel", Resource: name,
		Msg: "tunnel reported as existing but not listed; try again"}
}

func (e *Edge) getIngress(ctx context.Context, account, tunnelID string) ([]cdn.IngressRule, error) {
	p := zero_trust.TunnelCloudflaredConfigurationGetParams{}
	p.AccountID.Value, p.AccountID.Present = account, true
	res, err := e.tunnels.Configurations.Get(ctx, tunnelID, p)
	if err != nil {
		return nil, classify(err, "cloudflare.GetTunnelConfiguration", tunnelID)
	}
	var out []cdn.IngressRule
	for _, in := range res.Config.Ingress {
		out = append(out, cdn.IngressRule{Hostname: in.Hostname, Service: in.Service})
	}
	return out, nil
}

func (e *Edge) ensureIngress(ctx context.Context, account, tunnelID string, want []cdn.IngressRule) error {
	have, err := e.getIngress(ctx, account, tunnelID)
	if err != nil {
		return err
	}
	if slices.Equal(have, want) {
		return nil
	}
	rules := make([]zero_trust.TunnelCloudflaredConfigurationUpdateParamsConfigIngress, len(want))
	for i, r := range want {
		rules[i].Hostname.Value, rules[i].Hostname.Present = r.Hostname, r.Hostname != ""
		rules[i].Service.Value, rules[i].Service.Present = r.Service, true
	}
	cfg := zero_trust.TunnelCloudflaredConfigurationUpdateParamsConfig{}
	cfg.Ingress.Value, cfg.Ingress.Present = rules, true
	p := zero_trust.TunnelCloudflaredConfigurationUpdateParams{}
	p.AccountID.Value, p.AccountID.Present = account, true
	p.Config.Value, p.Config.Present = cfg, true
	if _, err := e.tunnels.Configurations.Update(ctx, tunnelID, p); err != nil {
		return classify(err, "cloudflare.PutTunnelConfiguration", tunnelID)
	}
	e.log.InfoContext(ctx, "cloudflare: put tunnel ingress", "tunnel_id", tunnelID, "rules", len(want))
	return nil
}

func (e *Edge) token(ctx context.Context, account, tunnelID string) (providers.Secret, error) {
	return retry.Value(ctx, e.retry, func(ctx context.Context) (providers.Secret, error) {
		p := zero_trust.TunnelCloudflaredTokenGetParams{}
		p.AccountID.Value, p.AccountID.Present = account, true
		res, err := e.tunnels.Token.Get(ctx, tunnelID, p)
		if err != nil {
			return "", classify(err, "cloudflare.GetTunnelToken", tunnelID)
		}
		if res == nil || *res == "" {
			return "", &providers.Error{Code: providers.Internal, Op: "cloudflare.GetTunnelToken", Resource: tunnelID, Msg: "empty token"}
		}
		return providers.Secret(*res), nil
	})
}

// ---- zone settings ----

func (e *Edge) getSetting(ctx context.Context, zone, id string) (string, error) {
	p := zones.SettingGetParams{}
	p.ZoneID.Value, p.ZoneID.Present = zone, true
	res, err := e.settings.Get(ctx, id, p)
	if err != nil {
		return "", classify(err, "cloudflare.GetZoneSetting", id)
	}
	var v struct {
		Value any `json:"value"`
	}
	if err := json.Unmarshal([]byte(res.JSON.RawJSON()), &v); err != nil {
		return "", &providers.Error{Code: providers.Internal, Op: "cloudflare.GetZoneSetting", Resource: id, Msg: "unreadable setting", Err: err}
	}
	if s, ok := v.Value.(string); ok {
		return s, nil
	}
	return fmt.Sprint(v.Value), nil
}

func (e *Edge) ensureSetting(ctx context.Context, zone, id, want string) error {
	have, err := e.getSetting(ctx, zone, id)
	if err != nil {
		return err
	}
	if have == want {
		return nil
	}
	body := zones.SettingEditParamsBody{}
	body.Value.Value, body.Value.Present = want, true
	p := zones.SettingEditParams{Body: body}
	p.ZoneID.Value, p.ZoneID.Present = zone, true
	if _, err := e.settings.Edit(ctx, id, p); err != nil {
		return classify(err, "cloudflare.EditZoneSetting", id)
	}
	e.log.InfoContext(ctx, "cloudflare: zone setting changed", "zone", zone, "setting", id, "from", have, "to", want)
	return nil
}

// ---- errors ----

// Cloudflare API error codes with a meaning of their own.
const (
	codeTunnelNameTaken  = 1013  // "You already have a tunnel with this name"
	codeTunnelConnected  = 1022  // "Cannot delete tunnel because it has active connections"
	codeRecordHostTaken  = 81053 // "An A, AAAA, or CNAME record with that host already exists."
	codeRecordExists     = 81057 // "Record already exists."
	codeRecordExistsSame = 81058 // "A record with the same settings already exists."
	codeRecordNotFound   = 81044 // "Record does not exist."
)

// classify turns an SDK error into a *providers.Error with a code, keeping
// the SDK's *zero_trust.Error (apierror) reachable with errors.As.
func classify(err error, op, resource string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return providers.Wrap(err, providers.Unavailable, op, resource)
	}
	var ae *zero_trust.Error
	if !errors.As(err, &ae) {
		// Transport failures (connection refused, reset, timeouts) are
		// transient; anything else (a malformed response) is not.
		code := providers.Unavailable
		if strings.Contains(err.Error(), "parsing response json") {
			code = providers.Internal
		}
		return &providers.Error{Code: code, Op: op, Resource: resource, Err: err}
	}
	code := codeOfStatus(ae.StatusCode)
	var msgs []string
	for _, d := range ae.Errors {
		msgs = append(msgs, fmt.Sprintf("%d %s", d.Code, d.Message))
		switch d.Code {
		case codeTunnelNameTaken, codeRecordHostTaken, codeRecordExists, codeRecordExistsSame:
			code = providers.AlreadyExists
		case codeTunnelConnected:
			code = providers.FailedPrecondition
		case codeRecordNotFound:
			code = providers.NotFound
		}
	}
	pe := &providers.Error{Code: code, Op: op, Resource: resource,
		Msg: fmt.Sprintf("HTTP %d: %s", ae.StatusCode, strings.Join(msgs, "; ")), Err: err}
	if ae.Response != nil {
		pe.RetryAfter = retryAfter(ae.Response.Header)
	}
	return pe
}

func codeOfStatus(status int) providers.ErrorCode { return providers.CodeForHTTPStatus(status) }

func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		// An HTTP date: the delay is relative to the server's Date header.
		if d, err := http.ParseTime(h.Get("Date")); err == nil && t.After(d) {
			return t.Sub(d)
		}
	}
	return 0
}

// lastPage reports whether a page of n items is the last: it is empty, or
// shorter than the page size the server reports using (which may be below
// the one asked for). A server that reports no page size is read until an
// empty page, as the SDK's auto-pager does.
func lastPage(n int, perPage int64) bool {
	if n == 0 {
		return true
	}
	if perPage <= 0 {
		return false
	}
	return int64(n) < perPage
}

// group runs functions concurrently, at most n at a time, and collects
// their errors.
type group struct {
	ctx  context.Context
	sem  chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func newGroup(ctx context.Context, n int) *group {
	return &group{ctx: ctx, sem: make(chan struct{}, max(n, 1))}
}

func (g *group) Go(f func(ctx context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		var err error
		select {
		case g.sem <- struct{}{}:
			err = f(g.ctx)
			<-g.sem
		case <-g.ctx.Done():
			err = providers.Wrap(g.ctx.Err(), providers.Canceled, "cloudflare.Ensure", "")
		}
		if err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
		}
	}()
}

// Wait waits for every function and returns their errors.
func (g *group) Wait() []error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.errs
}

// validID reports whether s looks like a Cloudflare account or zone ID: 32
// lower case hexadecimal characters.
func validID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
