package oci

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"
	"github.com/oracle/oci-go-sdk/v65/identity"
	"github.com/oracle/oci-go-sdk/v65/objectstorage"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// Shape is an OCI compute shape with, for flexible shapes, its size.
type Shape struct {
	// Name is the shape, such as "VM.Standard.E4.Flex".
	Name string
	// OCPUs and MemoryGB size a flexible shape; zero leaves them unset
	// (fixed shapes).
	OCPUs    float32
	MemoryGB float32
}

// The default shape, used when neither the InstanceSpec nor Options.Shapes
// name one: a flexible AMD shape with 2 OCPUs and 16 GB. A flexible shape
// named without a size gets this size.
const (
	DefaultShapeName     = "VM.Standard.E4.Flex"
	DefaultShapeOCPUs    = 2
	DefaultShapeMemoryGB = 16
)

func defaultShape() Shape {
	return Shape{Name: DefaultShapeName, OCPUs: DefaultShapeOCPUs, MemoryGB: DefaultShapeMemoryGB}
}

// Options configure the provider. The zero value (or nil) reads the OCI
// configuration file (~/.oci/config, profile DEFAULT) and talks to the real
// service.
type Options struct {
	// ConfigurationProvider authenticates requests and names the home region.
	// Nil means common.DefaultConfigProvider() (the OCI config file, then
	// TF_VAR_ environment variables). See ConfigFile, RawKey and
	// InstancePrincipal.
	ConfigurationProvider common.ConfigurationProvider
	// Region is the primary region ("eu-frankfurt-1"); empty takes the
	// configuration provider's region. Object Storage calls go there.
	Region string
	// Endpoint overrides the service host of every region
	// ("scheme://host:port", no path): a private endpoint, or a fake in tests.
	Endpoint string
	// RegionEndpoints overrides the host per region; it wins over Endpoint.
	// A region listed here is accepted even if the SDK does not know it.
	RegionEndpoints map[string]string
	// HTTPClient sends the requests; nil keeps the SDK's default transport.
	HTTPClient common.HTTPRequestDispatcher
	// VCNID is the virtual cloud network the network security groups (the
	// firewall rules) belong to. Required by CreateFirewallRule.
	VCNID string
	// SubnetID is the subnet instances' primary VNICs are placed in.
	// Required by CreateInstance.
	SubnetID string
	// Shapes gives the default shape per tier (the value of the
	// orocloud-tier label) for specs without MachineType; the default shape
	// applies otherwise.
	Shapes map[string]Shape
	// Images gives the default image OCID per tier for specs without Image;
	// DefaultImage applies otherwise.
	Images       map[string]string
	DefaultImage string
	// Namespace is the Object Storage namespace; empty fetches it once with
	// GetNamespace.
	Namespace string
	// PartSize is the multipart upload part size of PutObject (default
	// 16 MiB; OCI accepts 10 MiB and more for every part but the last, so
	// smaller values are for tests against a fake). At most
	// UploadConcurrency parts are buffered in memory at once.
	PartSize int
	// UploadConcurrency is the number of parts uploaded in parallel
	// (default 2).
	UploadConcurrency int
	// Logger receives debug logs of every call (never secrets); nil discards.
	Logger *slog.Logger
	// Clock drives retries and lifecycle polling; nil is the system clock.
	Clock clock.Clock
	// Retry is the policy for transient errors (429, 5xx, dropped
	// connections); zero values take retry's defaults and Clock. The SDK's
	// own retry policy and circuit breaker are switched off so retries are
	// never stacked. Set MaxAttempts to 1 to disable retries here when a
	// layer above retries.
	Retry retry.Policy
	// PollInterval is the interval of lifecycle waits (default 2 s).
	PollInterval time.Duration
}

// Provider is the OCI implementation of providers.Provider over the official
// OCI Go SDK. It is safe for concurrent use.
type Provider struct {
	compartment string
	opts        Options
	cfg         common.ConfigurationProvider
	region      string
	log         *slog.Logger
	clk         clock.Clock
	policy      retry.Policy

	mu      sync.Mutex
	clients map[string]*regionClients
	ns      string
	closed  bool
	buckets map[string]string // bucket -> region, for buckets created outside the primary region
}

var _ providers.Provider = (*Provider)(nil)

// regionClients are the SDK clients of one region.
type regionClients struct {
	region   string
	compute  core.ComputeClient
	network  core.VirtualNetworkClient
	identity identity.IdentityClient
	storage  objectstorage.ObjectStorageClient
}

// Open returns a provider for the compartment (an OCID; the tenancy OCID is
// the root compartment). It checks the options and builds the primary
// region's clients; it makes no network call.
func Open(ctx context.Context, compartmentID string, opts *Options) (*Provider, error) {
	if ctx == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "oci.Open: nil context")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	var problems []string
	if strings.TrimSpace(compartmentID) == "" {
		problems = append(problems, "compartmentID: must be a compartment OCID (ocid1.compartment... or the tenancy OCID)")
	}
	if o.Endpoint != "" {
		if err := checkEndpoint(o.Endpoint); err != nil {
			problems = append(problems, "Options.Endpoint: "+err.Error())
		}
	}
	for r, ep := range o.RegionEndpoints {
		if err := checkEndpoint(ep); err != nil {
			problems = append(problems, "Options.RegionEndpoints["+r+"]: "+err.Error())
		}
	}
	if o.PartSize < 0 {
		problems = append(problems, "Options.PartSize: must not be negative")
	}
	if o.UploadConcurrency < 0 {
		problems = append(problems, "Options.UploadConcurrency: must not be negative")
	}
	if o.PollInterval < 0 {
		problems = append(problems, "Options.PollInterval: must not be negative")
	}
	if len(problems) > 0 {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: "oci.Open", Msg: strings.Join(problems, "; ")}
	}
	if o.PartSize == 0 {
		o.PartSize = 16 << 20
	}
	if o.UploadConcurrency == 0 {
		o.UploadConcurrency = 2
	}
	if o.PollInterval == 0 {
		o.PollInterval = 2 * time.Second
	}
	cfg := o.ConfigurationProvider
	if cfg == nil {
		cfg = common.DefaultConfigProvider()
	}
	region := o.Region
	if region == "" {
		r, err := cfg.Region()
		if err != nil || r == "" {
			return nil, &providers.Error{Code: providers.InvalidArgument, Op: "oci.Open",
				Msg: "Options.Region: empty and the configuration provider names no region", Err: err}
		}
		region = r
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := clock.Or(o.Clock)
	pol := o.Retry
	if pol.Clock == nil {
		pol.Clock = clk
	}
	p := &Provider{
		compartment: compartmentID,
		opts:        o,
		cfg:         cfg,
		region:      region,
		log:         log,
		clk:         clk,
		policy:      pol,
		clients:     map[string]*regionClients{},
		ns:          o.Namespace,
		buckets:     map[string]string{},
	}
	if _, err := p.regionClients(region); err != nil {
		return nil, err
	}
	return p, nil
}

func checkEndpoint(ep string) error {
	i := strings.Index(ep, "://")
	if i <= 0 || (ep[:i] != "http" && ep[:i] != "https") {
		return errors.New("must be scheme://host:port with scheme http or https")
	}
	if rest := ep[i+3:]; rest == "" || strings.ContainsAny(rest, "/?#@") {
		return errors.New("must be scheme://host:port only (no path, query or user info): the SDK's client.Host drops anything else")
	}
	return nil
}

// String describes the provider without its credentials.
func (p *Provider) String() string {
	return "oci.Provider(compartment=" + p.compartment + ", region=" + p.region + ")"
}

// GoString is String: %#v must not print the configuration provider (it
// holds the private key).
func (p *Provider) GoString() string { return p.String() }

// Kind returns providers.KindOCI.
func (p *Provider) Kind() providers.Kind { return providers.KindOCI }

// Region returns the primary region.
func (p *Provider) Region() string { return p.region }

// Compartment returns the compartment OCID.
func (p *Provider) Compartment() string { return p.compartment }

// As sets *target to the primary region's raw SDK client when target is a
// *core.ComputeClient, *core.VirtualNetworkClient, *identity.IdentityClient
// or *objectstorage.ObjectStorageClient (and to the configuration provider
// for a *common.ConfigurationProvider), and reports whether it did.
func (p *Provider) As(target any) bool {
	c, err := p.regionClients(p.region)
	if err != nil || target == nil {
		return false
	}
	switch t := target.(type) {
	case *core.ComputeClient:
		*t = c.compute
	case *core.VirtualNetworkClient:
		*t = c.network
	case *identity.IdentityClient:
		*t = c.identity
	case *objectstorage.ObjectStorageClient:
		*t = c.storage
	case *common.ConfigurationProvider:
		*t = p.cfg
	default:
		return false
	}
	return true
}

// Close marks the provider closed; later calls return FailedPrecondition.
// The SDK clients hold no resources beyond idle HTTP connections.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

func (p *Provider) checkOpen(op string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return &providers.Error{Code: providers.FailedPrecondition, Op: op, Msg: "provider is closed"}
	}
	return nil
}

// regionClients returns the clients of region, creating them on first use.
// An empty region is InvalidArgument; a region neither known to the SDK nor
// listed in Options.RegionEndpoints is NotFound.
func (p *Provider) regionClients(region string) (*regionClients, error) {
	const op = "oci.region"
	if region == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "region: must not be empty"}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[region]; ok {
		return c, nil
	}
	host, custom := p.opts.RegionEndpoints[region]
	if !custom {
		if _, err := common.StringToRegion(region).RealmID(); err != nil {
			return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: region,
				Msg: "unknown OCI region (add it to Options.RegionEndpoints if the SDK does not know it yet)", Err: err}
		}
		host = p.opts.Endpoint
	}
	c := &regionClients{region: region}
	var err error
	wrap := func(e error) error {
		return &providers.Error{Code: providers.InvalidArgument, Op: "oci.Open", Resource: region,
			Msg: "cannot build SDK client from the configuration provider", Err: e}
	}
	if c.compute, err = core.NewComputeClientWithConfigurationProvider(p.cfg); err != nil {
		return nil, wrap(err)
	}
	if c.network, err = core.NewVirtualNetworkClientWithConfigurationProvider(p.cfg); err != nil {
		return nil, wrap(err)
	}
	if c.identity, err = identity.NewIdentityClientWithConfigurationProvider(p.cfg); err != nil {
		return nil, wrap(err)
	}
	if c.storage, err = objectstorage.NewObjectStorageClientWithConfigurationProvider(p.cfg); err != nil {
		return nil, wrap(err)
	}
	c.compute.SetRegion(region)
	c.network.SetRegion(region)
	c.identity.SetRegion(region)
	c.storage.SetRegion(region)
	// One retry layer only: ours (internal/retry). The SDK's default for
	// identity and object storage is 8 attempts plus a circuit breaker.
	noRetry := common.NoRetryPolicy()
	for _, bc := range []*common.BaseClient{&c.compute.BaseClient, &c.network.BaseClient, &c.identity.BaseClient, &c.storage.BaseClient} {
		bc.SetCustomClientConfiguration(common.CustomClientConfiguration{RetryPolicy: &noRetry})
		if host != "" {
			bc.Host = host
		}
		if p.opts.HTTPClient != nil {
			bc.HTTPClient = p.opts.HTTPClient
		}
		bc.HTTPClient = ctxDispatcher{inner: bc.HTTPClient}
	}
	c.storage.Interceptor = escapeObjectName
	p.clients[region] = c
	return c, nil
}

// call runs fn under the retry policy, maps its error and logs it. fn
// returns the raw HTTP response (for Retry-After and opc-request-id) and
// the SDK error.
func (p *Provider) call(ctx context.Context, op, resource string, fn func(ctx context.Context) (*httpResponse, error)) error {
	attempt := 0
	return retry.Do(ctx, p.policy, func(ctx context.Context) error {
		attempt++
		if err := ctx.Err(); err != nil {
			return providers.Wrap(err, providers.Canceled, op, resource)
		}
		start := p.clk.Now()
		raw, err := fn(sdkContext(ctx))
		reqID := ""
		if raw != nil && raw.Header != nil {
			reqID = raw.Header.Get("opc-request-id")
		}
		if err != nil {
			mapped := mapError(op, resource, raw, err, p.clk.Now)
			p.log.DebugContext(ctx, "oci call failed", "op", op, "resource", resource, "attempt", attempt,
				"code", providers.Code(mapped).String(), "opc-request-id", reqID, "elapsed", p.clk.Now().Sub(start))
			return mapped
		}
		p.log.DebugContext(ctx, "oci call", "op", op, "resource", resource, "attempt", attempt,
			"opc-request-id", reqID, "elapsed", p.clk.Now().Sub(start))
		return nil
	})
}

// sleep waits d on the provider's clock or until ctx is done.
func (p *Provider) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.clk.After(d):
		return nil
	}
}

// discard drains and closes an SDK response body we do not read.
func discard(rc io.ReadCloser) {
	if rc != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
		_ = rc.Close()
	}
}

// deleteCall is call for deletions: a NotFound on a retry means an earlier
// attempt was applied (a 503 or a dropped connection after the service
// deleted it), so it counts as success. A NotFound on the first attempt is
// returned.
func (p *Provider) deleteCall(ctx context.Context, op, resource string, fn func(ctx context.Context) (*httpResponse, error)) error {
	attempts := 0
	err := p.call(ctx, op, resource, func(ctx context.Context) (*httpResponse, error) {
		attempts++
		return fn(ctx)
	})
	if attempts > 1 && providers.Code(err) == providers.NotFound {
		return nil
	}
	return err
}

// The SDK's common.Retry runs each operation in a goroutine and, when the
// context ends first, returns a response variable that goroutine still
// writes (a data race in the SDK). So the SDK gets a context that never
// ends, carrying the caller's; ctxDispatcher puts the caller's context back
// on the HTTP request, so cancellation still aborts the request (and a
// streamed body) and reaches the SDK as the transport's error.
type callerCtxKey struct{}

func sdkContext(ctx context.Context) context.Context {
	return context.WithValue(context.WithoutCancel(ctx), callerCtxKey{}, ctx)
}

type ctxDispatcher struct{ inner common.HTTPRequestDispatcher }

func (d ctxDispatcher) Do(req *http.Request) (*http.Response, error) {
	if orig, ok := req.Context().Value(callerCtxKey{}).(context.Context); ok {
		req = req.WithContext(orig)
	}
	return d.inner.Do(req)
}

// RetriesTransientErrors reports whether the provider retries transient
// errors itself (Options.Retry.MaxAttempts other than 1), which tells the
// environment reconciler not to retry again (providers.SelfRetrying).
func (p *Provider) RetriesTransientErrors() bool { return p.policy.MaxAttempts != 1 }
