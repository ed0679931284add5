package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
)

// Region describes a region the provider serves.
type Region struct {
	// Name is the region name ("europe-west3", "eu-frankfurt-1").
	Name string
	// Zones are the region's zones (GCP zones such as "europe-west3-a", or
	// OCI availability domains).
	Zones []string
	// FaultDomains are the fault domains of every zone (OCI); empty for
	// GCP-like regions. An instance's FaultDomain must be one of them.
	FaultDomains []string
}

// DefaultRegions returns the regions of a provider built without
// Options.Regions: GCP-like "europe-west3" and "europe-west4" with zones a,
// b and c, and "us-east1" with zones b, c and d.
func DefaultRegions() []Region {
	return []Region{
		{Name: "europe-west3", Zones: []string{"europe-west3-a", "europe-west3-b", "europe-west3-c"}},
		{Name: "europe-west4", Zones: []string{"europe-west4-a", "europe-west4-b", "europe-west4-c"}},
		{Name: "us-east1", Zones: []string{"us-east1-b", "us-east1-c", "us-east1-d"}},
	}
}

// OCIRegion returns an OCI-like region: one availability domain named
// "Uocm:<NAME>-AD-1" with three fault domains FAULT-DOMAIN-1..3, the shape
// of most OCI regions.
func OCIRegion(name string) Region {
	return Region{
		Name:         name,
		Zones:        []string{"Uocm:" + strings.ToUpper(name) + "-AD-1"},
		FaultDomains: []string{"FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"},
	}
}

// Options configure a Provider. The zero value (or nil) gives the default
// regions, no latency, no faults, a discarded log and the system clock.
type Options struct {
	// Regions served; nil means DefaultRegions. Region names must be unique
	// and non-empty, and every region needs at least one zone: otherwise
	// every call of the provider returns an InvalidArgument error naming
	// the problem.
	Regions []Region
	// Logger receives one debug record per call and a record per injected
	// fault; nil discards. Secrets are never logged.
	Logger *slog.Logger
	// Clock stamps creation and update times and times ProvisioningDelay;
	// nil means the system clock.
	Clock clock.Clock
	// Latency is slept at the start of every mutating call (see
	// SetLatency); 0 means none.
	Latency time.Duration
	// LatencyClock is the clock latency is slept on; nil means the system
	// clock, so that benchmarks measure real wall time even when Clock is a
	// fake.
	LatencyClock clock.Clock
	// ProvisioningDelay is how long (on Clock) a new instance stays
	// PROVISIONING before it reports RUNNING; 0 means it is RUNNING as soon
	// as it is observed after creation.
	ProvisioningDelay time.Duration
	// NoGlobalAddresses makes ReserveAddress with Region "" return
	// InvalidArgument, like OCI, which has no global addresses.
	NoGlobalAddresses bool
}

// ErrInjected is the cause (reachable with errors.Is) of every error the
// provider returns because of an injected fault.
var ErrInjected = errors.New("memory: injected fault")

// ErrClosed is the cause of errors returned by calls made after Close.
var ErrClosed = errors.New("memory: provider is closed")

// The method names accepted by the fault and latency helpers are the names
// of the interface methods.
const (
	mListZones          = "ListZones"
	mCreateInstance     = "CreateInstance"
	mGetInstance        = "GetInstance"
	mListInstances      = "ListInstances"
	mUpdateInstance     = "UpdateInstance"
	mStopInstance       = "StopInstance"
	mStartInstance      = "StartInstance"
	mDeleteInstance     = "DeleteInstance"
	mReserveAddress     = "ReserveAddress"
	mGetAddress         = "GetAddress"
	mListAddresses      = "ListAddresses"
	mReleaseAddress     = "ReleaseAddress"
	mCreateFirewallRule = "CreateFirewallRule"
	mGetFirewallRule    = "GetFirewallRule"
	mListFirewallRules  = "ListFirewallRules"
	mDeleteFirewallRule = "DeleteFirewallRule"
	mCreateBucket       = "CreateBucket"
	mDeleteBucket       = "DeleteBucket"
	mPutObject          = "PutObject"
	mGetObject          = "GetObject"
	mStatObject         = "StatObject"
	mListObjects        = "ListObjects"
	mDeleteObject       = "DeleteObject"
	mEnsureLoadBalancer = "EnsureLoadBalancer"
	mGetLoadBalancer    = "GetLoadBalancer"
	mDeleteLoadBalancer = "DeleteLoadBalancer"
)

// methodMutates lists every API method and whether it mutates.
var methodMutates = map[string]bool{
	mListZones: false, mGetInstance: false, mListInstances: false, mGetAddress: false,
	mListAddresses: false, mGetFirewallRule: false, mListFirewallRules: false, mGetObject: false,
	mStatObject: false, mListObjects: false, mGetLoadBalancer: false,
	mCreateInstance: true, mUpdateInstance: true, mStopInstance: true, mStartInstance: true,
	mDeleteInstance: true, mReserveAddress: true, mReleaseAddress: true, mCreateFirewallRule: true,
	mDeleteFirewallRule: true, mCreateBucket: true, mDeleteBucket: true, mPutObject: true,
	mDeleteObject: true, mEnsureLoadBalancer: true, mDeleteLoadBalancer: true,
}

// Methods returns the names of the provider's API methods, sorted: the
// names accepted by FailNth, FailNext, SetLatency and SetErrorRate, and the
// keys of Calls.
func Methods() []string { return slices.Sorted(maps.Keys(methodMutates)) }

// Mutating reports whether method is a mutating API method (creates,
// updates, deletes, stop/start, reserve/release, puts, ensure).
func Mutating(method string) bool { return methodMutates[method] }

// Provider is an in-memory cloud implementing every interface of package
// providers, including the optional providers.LoadBalancers. It is safe for
// concurrent use. See the package documentation for its fault model.
type Provider struct {
	log          *slog.Logger
	clk          clock.Clock
	sleepClk     clock.Clock
	provDelay    time.Duration
	noGlobalAddr bool
	cfgErr       error

	mu          sync.Mutex
	closed      bool
	regions     map[string]*region
	regionOrder []string
	global      *ipPool // global addresses
	ephemeral   *ipPool // load balancer IPs without a reserved address
	nextID      uint64

	instances map[string]map[string]*instanceRec // region -> name
	addresses map[string]map[string]*providers.Address
	rules     map[string]map[string]*providers.FirewallRule
	buckets   map[string]*bucket
	lbs       map[string]*lbRec

	calls    map[string]int
	mutating int
	faults   faults
}

type region struct {
	name      string
	idx       int
	zones     []string
	zoneSet   map[string]bool
	fds       []string
	nextPriv  int
	addresses *ipPool
}

var _ providers.Provider = (*Provider)(nil)
var _ providers.LoadBalancers = (*Provider)(nil)

// New returns an empty in-memory provider. A nil opts means defaults.
func New(opts *Options) *Provider {
	var o Options
	if opts != nil {
		o = *opts
	}
	p := &Provider{
		log:          o.Logger,
		clk:          clock.Or(o.Clock),
		sleepClk:     clock.Or(o.LatencyClock),
		provDelay:    o.ProvisioningDelay,
		noGlobalAddr: o.NoGlobalAddresses,
		regions:      map[string]*region{},
		global:       newIPPool("192.0.2."),
		ephemeral:    newIPPool("198.18.0."),
		instances:    map[string]map[string]*instanceRec{},
		addresses:    map[string]map[string]*providers.Address{},
		rules:        map[string]map[string]*providers.FirewallRule{},
		buckets:      map[string]*bucket{},
		lbs:          map[string]*lbRec{},
		calls:        map[string]int{},
		faults:       newFaults(),
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	regs := o.Regions
	if regs == nil {
		regs = DefaultRegions()
	}
	var problems []string
	if len(regs) == 0 {
		problems = append(problems, "regions: at least one region is required")
	}
	for i, r := range regs {
		switch {
		case r.Name == "":
			problems = append(problems, fmt.Sprintf("regions[%d].name: must not be empty", i))
			continue
		case p.regions[r.Name] != nil:
			problems = append(problems, fmt.Sprintf("regions[%d].name: duplicate region %q", i, r.Name))
			continue
		case len(r.Zones) == 0:
			problems = append(problems, fmt.Sprintf("regions[%d].zones: region %q needs at least one zone", i, r.Name))
		}
		reg := &region{name: r.Name, idx: i, zoneSet: map[string]bool{}, fds: slices.Clone(r.FaultDomains)}
		for j, z := range r.Zones {
			if z == "" || reg.zoneSet[z] {
				problems = append(problems, fmt.Sprintf("regions[%d].zones[%d]: empty or duplicate zone %q", i, j, z))
				continue
			}
			reg.zoneSet[z] = true
			reg.zones = append(reg.zones, z)
		}
		slices.Sort(reg.zones)
		reg.addresses = newIPPool(regionAddressPrefix(i))
		p.regions[r.Name] = reg
		p.regionOrder = append(p.regionOrder, r.Name)
	}
	if o.Latency > 0 {
		for m, mut := range methodMutates {
			if mut {
				p.faults.latency[m] = o.Latency
			}
		}
	}
	if len(problems) > 0 {
		p.cfgErr = &providers.Error{Code: providers.InvalidArgument, Op: "memory.New", Msg: strings.Join(problems, "; ")}
	}
	return p
}

// regionAddressPrefix gives the documentation ranges of RFC 5737 to the
// first two regions and the shared address space of RFC 6598 to the others.
func regionAddressPrefix(i int) string {
	switch i {
	case 0:
		return "203.0.113."
	case 1:
		return "198.51.100."
	}
	return fmt.Sprintf("100.64.%d.", i%256)
}

// Kind returns providers.KindMemory.
func (p *Provider) Kind() providers.Kind { return providers.KindMemory }

// As sets *target to p when target is a **memory.Provider and reports
// whether it did.
func (p *Provider) As(target any) bool {
	t, ok := target.(**Provider)
	if !ok || t == nil {
		return false
	}
	*t = p
	return true
}

// Close marks the provider closed: every later API call returns an error
// with code FailedPrecondition wrapping ErrClosed. Closing again is a no-op.
// The stored state is kept, so tests can still read counters.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// Calls returns the number of calls of each API method since New or the
// last ResetCalls, failed calls included. Methods never called are absent.
func (p *Provider) Calls() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.calls)
}

// MutatingCalls returns the number of calls of mutating methods since New
// or the last ResetCalls, failed calls included. An EnsureLoadBalancer that
// finds the load balancer already matching its spec is not counted: a
// cloud driver makes no mutating request for it.
func (p *Provider) MutatingCalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mutating
}

// ResetCalls sets every call counter to zero. Injected faults are kept.
func (p *Provider) ResetCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.calls)
	p.mutating = 0
}

// begin runs the common prologue of an API call: counting, the closed and
// configuration checks, ctx, latency and injected faults. region is the
// region the call is about ("" when none, or unknown yet); regionOf, when
// set, resolves it under the lock (object calls find their bucket's).
func (p *Provider) begin(ctx context.Context, method, region, resource string, regionOf func() string) error {
	op := "memory." + method
	if ctx == nil {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: resource, Msg: "nil context"}
	}
	p.mu.Lock()
	p.calls[method]++
	if methodMutates[method] && method != mEnsureLoadBalancer {
		p.mutating++
	}
	closed := p.closed
	lat := p.faults.latency[method]
	p.mu.Unlock()
	p.log.Debug("memory call", "method", method, "resource", resource)
	if p.cfgErr != nil {
		return p.cfgErr
	}
	if closed {
		return &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: resource, Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return providers.Wrap(err, providers.Canceled, op, resource)
	}
	if lat > 0 {
		select {
		case <-ctx.Done():
			return providers.Wrap(ctx.Err(), providers.Canceled, op, resource)
		case <-p.sleepClk.After(lat):
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if regionOf != nil {
		region = regionOf()
	}
	if code, ok := p.faults.fire(method, region); ok {
		p.log.Info("memory injected fault", "method", method, "resource", resource, "code", code.String())
		return &providers.Error{Code: code, Op: op, Resource: resource, Msg: "injected fault", Err: ErrInjected}
	}
	return nil
}

// regionLocked returns the region or a NotFound/InvalidArgument error.
func (p *Provider) regionLocked(op, name string) (*region, error) {
	if name == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "region: must not be empty"}
	}
	r := p.regions[name]
	if r == nil {
		return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: name, Msg: "unknown region"}
	}
	return r, nil
}

// ListZones returns the zones of region sorted by name; zones under an
// injected outage have Up false.
func (p *Provider) ListZones(ctx context.Context, region string) ([]providers.Zone, error) {
	if err := p.begin(ctx, mListZones, region, region, nil); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, err := p.regionLocked("memory.ListZones", region)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Zone, 0, len(r.zones))
	for _, z := range r.zones {
		out = append(out, providers.Zone{Name: z, Region: r.name, FaultDomains: slices.Clone(r.fds), Up: !p.faults.zoneDown(r.name, z)})
	}
	return out, nil
}

// ipPool hands out the lowest free host address of a /24.
type ipPool struct {
	prefix string
	used   [256]bool
}

func newIPPool(prefix string) *ipPool { return &ipPool{prefix: prefix} }

func (a *ipPool) take() (string, bool) {
	for h := 1; h < 255; h++ {
		if !a.used[h] {
			a.used[h] = true
			return fmt.Sprintf("%s%d", a.prefix, h), true
		}
	}
	return "", false
}

func (a *ipPool) give(ip string) {
	rest, ok := strings.CutPrefix(ip, a.prefix)
	if !ok {
		return
	}
	var h int
	if _, err := fmt.Sscanf(rest, "%d", &h); err == nil && h > 0 && h < 255 {
		a.used[h] = false
	}
}

// newIDLocked returns a fresh resource identifier.
func (p *Provider) newIDLocked(kind string) string {
	p.nextID++
	return fmt.Sprintf("mem-%s-%06d", kind, p.nextID)
}

// newRNG returns the generator of SetErrorRate; seeded, so a run is
// reproducible.
func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// invalid builds an InvalidArgument error listing problems.
func invalid(op, resource string, problems []string) error {
	return &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: resource, Msg: strings.Join(problems, "; ")}
}

func notFound(op, resource, what string) error {
	return &providers.Error{Code: providers.NotFound, Op: op, Resource: resource, Msg: what + " not found"}
}

func alreadyExists(op, resource, msg string) error {
	return &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: resource, Msg: msg}
}

// sameOwner reports whether two label sets carry the same LabelManagedBy
// and LabelEnvironment values: the idempotency rule of the contract.
func sameOwner(existing, asked providers.Labels) bool {
	return existing[providers.LabelManagedBy] == asked[providers.LabelManagedBy] &&
		existing[providers.LabelEnvironment] == asked[providers.LabelEnvironment]
}

// checkLabels appends the label problems (keys and values valid as GCP
// labels and OCI freeform tags) to problems.
func checkLabels(problems []string, field string, l providers.Labels) []string {
	for _, k := range slices.Sorted(maps.Keys(l)) {
		if !validLabelKey(k) {
			problems = append(problems, fmt.Sprintf("%s: key %q must be 1-63 lower case letters, digits, '-' or '_', starting with a letter", field, k))
		}
		if !validLabelValue(l[k]) {
			problems = append(problems, fmt.Sprintf("%s[%s]: value %q must be at most 63 lower case letters, digits, '-' or '_'", field, k, l[k]))
		}
	}
	return problems
}

func validLabelKey(k string) bool {
	if k == "" || len(k) > 63 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	return validLabelValue(k)
}

func validLabelValue(v string) bool {
	if len(v) > 63 {
		return false
	}
	for _, c := range []byte(v) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
