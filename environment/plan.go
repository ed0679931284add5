package environment

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// ResourceKind names a kind of provider resource in a plan.
type ResourceKind string

// Resource kinds an environment is made of.
const (
	KindInstance     ResourceKind = "instance"
	KindAddress      ResourceKind = "address"
	KindFirewallRule ResourceKind = "firewall"
	KindLoadBalancer ResourceKind = "loadbalancer"
)

// Action is what a plan does to a resource.
type Action string

// Plan actions.
const (
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
)

func (a Action) symbol() string {
	switch a {
	case ActionCreate:
		return "+"
	case ActionUpdate:
		return "~"
	case ActionDelete:
		return "-"
	}
	return "?"
}

// valid reports whether a is one of the plan actions.
func (a Action) valid() bool { return a == ActionCreate || a == ActionUpdate || a == ActionDelete }

// Change is one step of a plan. Exactly one of the resource fields is set,
// according to Kind.
type Change struct {
	Action Action
	Kind   ResourceKind
	// Name, Region and Zone identify the resource (Region "" is global).
	Name   string
	Region string
	Zone   string
	// Reason says why the change is needed ("missing", "labels differ:
	// ...", "not in the desired state").
	Reason string

	Instance     *providers.InstanceSpec
	Update       *providers.InstanceUpdate
	Address      *providers.AddressSpec
	FirewallRule *providers.FirewallRule
	LoadBalancer *providers.LoadBalancerSpec
}

// Key identifies the change's resource: "kind/region/name".
func (c Change) Key() string { return string(c.Kind) + "/" + c.Region + "/" + c.Name }

// String renders the change on one line, with no secret values.
func (c Change) String() string {
	where := c.Region
	if c.Zone != "" {
		where = c.Zone
	}
	if where == "" {
		where = "global"
	}
	return fmt.Sprintf("%s %-12s %-28s (%s): %s", c.Action.symbol(), c.Kind, c.Name, where, c.Reason)
}

// Plan is the difference between an environment's desired state and what the
// provider holds, as a list of typed changes. It is empty when nothing needs
// to change. A plan is printable (String) and never contains secret values
// in its printed form.
type Plan struct {
	// Environment is a copy of the desired state the plan was made for.
	Environment *Environment
	// Provider is the kind of provider observed.
	Provider providers.Kind
	// Zones are the zones used for placement, in order.
	Zones []providers.Zone
	// Nodes is the desired placement of every node.
	Nodes []Node
	// Changes to make, in a stable order (creates, updates, deletes; then by
	// kind and name).
	Changes []Change
	// Warnings note drift the plan will not fix on its own (a machine type
	// that differs, which needs a resize by hand).
	Warnings []string
	// Observed is what the provider held when the plan was made.
	Observed *Inventory

	secrets map[Tier]map[string]providers.Secret
}

// Empty reports whether the plan has no change.
func (p *Plan) Empty() bool { return p == nil || len(p.Changes) == 0 }

// Count returns how many changes of each action the plan holds.
func (p *Plan) Count() (create, update, del int) {
	if p == nil {
		return 0, 0, 0
	}
	for _, c := range p.Changes {
		switch c.Action {
		case ActionCreate:
			create++
		case ActionUpdate:
			update++
		case ActionDelete:
			del++
		}
	}
	return
}

// String renders the plan as a diff, one line per change, followed by a
// summary and any warnings. Secret values never appear.
func (p *Plan) String() string {
	if p == nil {
		return "<nil plan>"
	}
	var b strings.Builder
	name := ""
	if p.Environment != nil {
		name = p.Environment.Name
	}
	fmt.Fprintf(&b, "Plan for environment %q on %s:\n", name, p.Provider)
	if p.Empty() {
		b.WriteString("  no changes: the environment matches its desired state\n")
	}
	for _, c := range p.Changes {
		b.WriteString("  " + c.String() + "\n")
	}
	cr, up, del := p.Count()
	fmt.Fprintf(&b, "%d to create, %d to update, %d to delete.\n", cr, up, del)
	for _, w := range p.Warnings {
		b.WriteString("warning: " + w + "\n")
	}
	return b.String()
}

// Inventory is what a provider holds for an environment: the resources
// labelled as the environment's.
type Inventory struct {
	Instances     []providers.Instance
	Addresses     []providers.Address
	FirewallRules []providers.FirewallRule
	LoadBalancer  *providers.LoadBalancer
}

// ByZone groups the inventory's instances by zone, zones sorted.
func (inv *Inventory) ByZone() map[string][]providers.Instance {
	out := map[string][]providers.Instance{}
	if inv == nil {
		return out
	}
	for _, in := range inv.Instances {
		out[in.Zone] = append(out[in.Zone], in)
	}
	return out
}

// Nodes returns the inventory's instances as Nodes (tier, role and index
// read from their labels and names). With serving set, instances that are
// not running are left out, which is the input AnalyzeZoneLoss expects.
func (inv *Inventory) Nodes(serving bool) []Node {
	if inv == nil {
		return nil
	}
	var out []Node
	for _, in := range inv.Instances {
		if serving && in.Status != providers.StatusRunning {
			continue
		}
		n := Node{Name: in.Name, Tier: Tier(in.Labels[providers.LabelTier]), Role: in.Labels[providers.LabelRole],
			Zone: in.Zone, FaultDomain: in.FaultDomain,
			Machine: Machine{Type: in.MachineType, OCPUs: in.OCPUs, MemoryGB: in.MemoryGB, Image: in.Image, DiskGB: in.DiskGB}}
		if i := strings.LastIndexByte(in.Name, '-'); i >= 0 {
			n.Index, _ = strconv.Atoi(in.Name[i+1:])
		}
		out = append(out, n)
	}
	return out
}

// Event is a progress event of Apply or Destroy.
type Event struct {
	// Phase is "start", "retry", "done" or "failed".
	Phase   string
	Change  Change
	Attempt int
	Err     error
	// Done and Total count finished changes.
	Done, Total int
	Elapsed     float64 // seconds since the start of the run
}

// ReconcilerOptions configure a Reconciler. The zero value is usable.
type ReconcilerOptions struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Clock drives backoff waits; nil is the system clock.
	Clock clock.Clock
	// Parallelism bounds concurrent provider calls in Apply and Destroy
	// (default 10).
	Parallelism int
	// Retry tunes retries of transient errors: MaxAttempts per change
	// (default 6), Initial and Max backoff (defaults 200 ms and 10 s). Its
	// Clock defaults to the reconciler's. Drivers that retry by themselves
	// (providers.SelfRetrying) are called once per change instead.
	Retry retry.Policy
	// OnEvent receives progress events; it must not block for long. It is
	// called from several goroutines, never concurrently.
	OnEvent func(Event)
}

// PlanOptions carry per-plan inputs that are not part of the spec.
type PlanOptions struct {
	// Metadata adds startup metadata to every node of a tier.
	Metadata map[Tier]map[string]string
	// Secrets adds secret startup metadata (a tunnel token) to every node of
	// a tier. Values never appear in the plan's printed form, in events or
	// in logs; a change of value shows as an update naming the key only.
	Secrets map[Tier]map[string]providers.Secret
	// Prune deletes resources labelled as the environment's that the desired
	// state no longer has (a tier scaled down). Default true; set
	// KeepExtra to keep them.
	KeepExtra bool
	// PrimaryAddress names the regional address the environment is reached
	// on, instead of PrimaryAddressName(env). Disaster recovery sets it to
	// DRAddressName(env) so the recovered environment uses the DR address
	// reserved at onboarding (the one customers whitelisted) rather than a
	// new one. Ignored with Google CDN, whose load balancer needs the global
	// primary address.
	PrimaryAddress string
}

// Reconciler plans and applies environments on one provider. It is safe for
// concurrent use.
type Reconciler struct {
	prov providers.Provider
	opts ReconcilerOptions
	log  *slog.Logger
	clk  clock.Clock
	evMu sync.Mutex
}

// NewReconciler returns a Reconciler for prov. A nil provider is an error.
func NewReconciler(prov providers.Provider, opts *ReconcilerOptions) (*Reconciler, error) {
	if prov == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "environment.NewReconciler: provider is nil")
	}
	var o ReconcilerOptions
	if opts != nil {
		o = *opts
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 10
	}
	if o.Retry.MaxAttempts <= 0 {
		o.Retry.MaxAttempts = 6
	}
	if o.Retry.Initial <= 0 {
		o.Retry.Initial = 200 * time.Millisecond
	}
	if o.Retry.Max <= 0 {
		o.Retry.Max = 10 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := clock.Or(o.Clock)
	if o.Retry.Clock == nil {
		o.Retry.Clock = clk
	}
	return &Reconciler{prov: prov, opts: o, log: log, clk: clk}, nil
}

// Provider returns the reconciler's provider.
func (r *Reconciler) Provider() providers.Provider { return r.prov }

// ownerSelector selects the resources of env created by the SDK.
func ownerSelector(env string) providers.Labels {
	return providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: env}
}

// Observe lists what the provider holds for env: instances, addresses
// (regional and, on providers that have them, global) and firewall rules
// labelled as env's, and its load balancer when the provider has one.
func (r *Reconciler) Observe(ctx context.Context, env *Environment) (*Inventory, error) {
	if env == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "environment: nil environment")
	}
	return r.observe(ctx, env.Name, env.Region, env.CDN.Kind == CDNGoogle)
}

func (r *Reconciler) observe(ctx context.Context, name, region string, global bool) (*Inventory, error) {
	sel := ownerSelector(name)
	inv := &Inventory{}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.retry(ctx, f); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	run(func() (err error) { inv.Instances, err = r.prov.ListInstances(ctx, region, sel); return })
	run(func() (err error) { inv.FirewallRules, err = r.prov.ListFirewallRules(ctx, region, sel); return })
	var regional, globalAddrs []providers.Address
	run(func() (err error) { regional, err = r.prov.ListAddresses(ctx, region, sel); return })
	if global {
		run(func() error {
			var err error
			globalAddrs, err = r.prov.ListAddresses(ctx, "", sel)
			if providers.Code(err) == providers.InvalidArgument || providers.Code(err) == providers.Unimplemented {
				return nil
			}
			return err
		})
		if lb, ok := r.prov.(providers.LoadBalancers); ok {
			run(func() error {
				got, err := lb.GetLoadBalancer(ctx, lbName(name))
				switch providers.Code(err) {
				case providers.OK:
					inv.LoadBalancer = got
					return nil
				case providers.NotFound, providers.Unimplemented:
					return nil
				}
				return err
			})
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, fmt.Errorf("environment: observe %s: %w", name, joinErrs(errs))
	}
	inv.Addresses = append(regional, globalAddrs...)
	slices.SortFunc(inv.Instances, func(a, b providers.Instance) int { return cmp.Compare(a.Name, b.Name) })
	return inv, nil
}

// Plan observes the provider and returns the changes that make it match env.
// env is validated first (all violations at once), then checked against the
// region's real zones; nothing is changed.
func (r *Reconciler) Plan(ctx context.Context, env *Environment, opts *PlanOptions) (*Plan, error) {
	if env == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "environment: nil environment")
	}
	if err := env.Validate(); err != nil {
		return nil, err
	}
	if k := r.prov.Kind(); k != providers.KindMemory && k != env.Provider {
		return nil, providers.Errorf(providers.InvalidArgument,
			"environment %q: provider: the environment is for %q but the provider is %q", env.Name, env.Provider, k)
	}
	var po PlanOptions
	if opts != nil {
		po = *opts
	}
	zones, err := retryValue(r, ctx, func() ([]providers.Zone, error) { return r.prov.ListZones(ctx, env.Region) })
	if err != nil {
		return nil, fmt.Errorf("environment %q: list zones of %s: %w", env.Name, env.Region, err)
	}
	zones = selectZones(zones, env.Zones)
	if err := env.ValidateZones(zones); err != nil {
		var down []string
		for _, z := range zones[:min(len(zones), 3)] {
			if !z.Up {
				down = append(down, z.Name)
			}
		}
		if len(down) > 0 {
			return nil, fmt.Errorf("environment %q: zone %s of region %s is down or unknown, so the placement would not survive a further zone loss: %w",
				env.Name, strings.Join(down, ", "), env.Region, err)
		}
		return nil, err
	}
	nodes, err := env.Place(zones)
	if err != nil {
		return nil, err
	}
	inv, err := r.Observe(ctx, env)
	if err != nil {
		return nil, err
	}
	envCopy := env.Clone()
	p := &Plan{Environment: envCopy, Provider: r.prov.Kind(), Zones: zones, Nodes: nodes, Observed: inv, secrets: po.Secrets}
	desired := DesiredResources(envCopy, nodes, &po)
	p.diff(desired, inv, !po.KeepExtra)
	return p, nil
}

// selectZones keeps the zones named in want (in want's order; unknown names
// stay, marked down, so validation names them), or every zone of the region
// when want is empty. Zones that are down are kept: placement depends only
// on the zone list, so an outage never moves a planned node, and
// ValidateZones reports the zone that is down.
func selectZones(all []providers.Zone, want []string) []providers.Zone {
	if len(want) == 0 {
		return all
	}
	byName := map[string]providers.Zone{}
	for _, z := range all {
		byName[z.Name] = z
	}
	out := make([]providers.Zone, 0, len(want))
	for _, w := range want {
		if z, ok := byName[w]; ok {
			out = append(out, z)
		} else {
			out = append(out, providers.Zone{Name: w, Up: false})
		}
	}
	return out
}

// Desired is the full desired state of an environment as provider resources.
type Desired struct {
	Instances     []providers.InstanceSpec
	Addresses     []providers.AddressSpec
	FirewallRules []providers.FirewallRule
	// LoadBalancer is set with Google CDN.
	LoadBalancer *providers.LoadBalancerSpec
}

// Tier ports, used by the internal firewall rule.
var tierPorts = map[Tier][]int{
	TierWeb:           {80, 443},
	TierElasticsearch: {9200, 9300},
	TierPostgreSQL:    {5432},
	TierRabbitMQ:      {4369, 5672, 25672},
	TierConsumer:      {},
	TierSMTP:          {25, 587},
	TierRedis:         {6379, 26379},
	TierGridFS:        {27017},
}

// Source ranges of Google's load balancers and health checkers.
var googleLBRanges = []string{"130.211.0.0/22", "35.191.0.0/16"}

// internalRanges are the private ranges the environment's nodes talk over.
var internalRanges = []string{"10.0.0.0/8"}

// PrimaryAddressName is the name of the environment's primary address (the
// one customers whitelist).
func PrimaryAddressName(env string) string { return env + "-primary" }

// DRAddressName is the name of the environment's DR address, reserved in the
// DR region at onboarding.
func DRAddressName(env string) string { return env + "-dr" }

func lbName(env string) string { return env + "-lb" }

// NetworkTag is the network tag every node of env carries (the internal
// firewall rule targets it).
func NetworkTag(env string) string { return env + "-node" }

// TierTag is the network tag of the nodes of one tier of env (tier ingress
// rules target it).
func TierTag(env string, tier Tier) string { return env + "-" + string(tier) }

// DesiredResources returns the provider resources that make up env with the
// given placement: one instance per node, the primary address (global with
// Google CDN, regional otherwise), the firewall rules (internal traffic;
// Google's load balancer ranges to web nodes with Google CDN; public HTTP(S)
// to web nodes with another CDN; none public with Cloudflare, whose tunnel
// dials out; plus env.Ingress), and the load balancer with Google CDN.
func DesiredResources(env *Environment, nodes []Node, opts *PlanOptions) *Desired {
	var po PlanOptions
	if opts != nil {
		po = *opts
	}
	d := &Desired{}
	base := providers.Labels{}
	maps.Copy(base, env.Labels)
	maps.Copy(base, ownerSelector(env.Name))
	withLabels := func(extra map[string]string) providers.Labels {
		l := base.Clone()
		maps.Copy(l, extra)
		return l
	}
	for _, n := range nodes {
		md := map[string]string{
			"orocloud-environment": env.Name,
			"orocloud-tier":        string(n.Tier),
			"orocloud-role":        n.Role,
			"orocloud-node-index":  strconv.Itoa(n.Index),
			"startup-script":       startupScript(env, n),
		}
		maps.Copy(md, po.Metadata[n.Tier])
		var secrets map[string]providers.Secret
		if s := po.Secrets[n.Tier]; len(s) > 0 {
			secrets = maps.Clone(s)
		}
		labels := withLabels(map[string]string{providers.LabelTier: string(n.Tier), providers.LabelRole: n.Role})
		md[specHashKey] = specHash(labels, md, secrets)
		d.Instances = append(d.Instances, providers.InstanceSpec{
			Name: n.Name, Region: env.Region, Zone: n.Zone, FaultDomain: n.FaultDomain,
			MachineType: n.Machine.Type, OCPUs: n.Machine.OCPUs, MemoryGB: n.Machine.MemoryGB,
			Image: n.Machine.Image, DiskGB: n.Machine.DiskGB,
			Labels: labels, Tags: []string{NetworkTag(env.Name), TierTag(env.Name, n.Tier)},
			Metadata: md, Secrets: secrets,
		})
	}
	addrRegion, addrName := env.Region, PrimaryAddressName(env.Name)
	if env.CDN.Kind == CDNGoogle {
		addrRegion = "" // the global load balancer needs a global address
	} else if po.PrimaryAddress != "" {
		addrName = po.PrimaryAddress
	}
	d.Addresses = append(d.Addresses, providers.AddressSpec{
		Name: addrName, Region: addrRegion,
		Description: "primary address of OroCommerce environment " + env.Name,
		Labels:      withLabels(map[string]string{providers.LabelRole: "primary-address"}),
	})
	var internalPorts []int
	for _, t := range allTiers {
		internalPorts = append(internalPorts, tierPorts[t]...)
	}
	slices.Sort(internalPorts)
	internalPorts = slices.Compact(internalPorts)
	d.FirewallRules = append(d.FirewallRules, providers.FirewallRule{
		Name: env.Name + "-internal", Region: env.Region, Protocol: providers.TCP,
		Description: "traffic between the nodes of " + env.Name,
		Ports:       internalPorts, SourceRanges: internalRanges, TargetTags: []string{NetworkTag(env.Name)},
		Labels: withLabels(map[string]string{providers.LabelRole: "internal"}),
	})
	switch env.CDN.Kind {
	case CDNGoogle:
		d.FirewallRules = append(d.FirewallRules, providers.FirewallRule{
			Name: env.Name + "-lb-web", Region: env.Region, Protocol: providers.TCP,
			Description: "Google load balancer and health checks to the web nodes of " + env.Name,
			Ports:       []int{80}, SourceRanges: googleLBRanges, TargetTags: []string{TierTag(env.Name, TierWeb)},
			Labels: withLabels(map[string]string{providers.LabelRole: "lb-web"}),
		})
	case CDNOther:
		d.FirewallRules = append(d.FirewallRules, providers.FirewallRule{
			Name: env.Name + "-public-web", Region: env.Region, Protocol: providers.TCP,
			Description: "public HTTP(S) to the web nodes of " + env.Name + " behind " + env.CDN.Name,
			Ports:       []int{80, 443}, SourceRanges: []string{"0.0.0.0/0"}, TargetTags: []string{TierTag(env.Name, TierWeb)},
			Labels: withLabels(map[string]string{providers.LabelRole: "public-web"}),
		})
	}
	for _, in := range env.Ingress {
		d.FirewallRules = append(d.FirewallRules, providers.FirewallRule{
			Name: env.Name + "-" + in.Name, Region: env.Region, Protocol: providers.TCP,
			Description: "ingress rule " + in.Name + " of " + env.Name,
			Ports:       slices.Clone(in.Ports), SourceRanges: slices.Clone(in.SourceRanges),
			TargetTags: []string{TierTag(env.Name, in.Tier)},
			Labels:     withLabels(map[string]string{providers.LabelRole: "ingress"}),
		})
	}
	if env.CDN.Kind == CDNGoogle {
		var backends []providers.InstanceRef
		for _, in := range d.Instances {
			if in.Labels[providers.LabelTier] == string(TierWeb) {
				backends = append(backends, in.Ref())
			}
		}
		spec := LoadBalancerSpec(env, backends)
		d.LoadBalancer = &spec
	}
	return d
}

// LoadBalancerSpec returns the Google load balancer with Cloud CDN for env in
// front of the given web nodes, on the environment's global primary address,
// with the CDN policy from env.CDN.Google.
func LoadBalancerSpec(env *Environment, webNodes []providers.InstanceRef) providers.LoadBalancerSpec {
	var pol providers.CDNPolicy
	if g := env.CDN.Google; g != nil {
		pol = providers.CDNPolicy{CacheMode: g.CacheMode, DefaultTTL: g.DefaultTTL.D(), MaxTTL: g.MaxTTL.D(),
			ClientTTL: g.ClientTTL.D(), NegativeCaching: g.NegativeCaching}
	}
	labels := providers.Labels{}
	maps.Copy(labels, env.Labels)
	maps.Copy(labels, ownerSelector(env.Name))
	labels[providers.LabelRole] = "load-balancer"
	return providers.LoadBalancerSpec{
		Name: lbName(env.Name), Region: env.Region, Hostnames: slices.Clone(env.CDN.Hostnames),
		Backends: webNodes, AddressName: PrimaryAddressName(env.Name), Port: 80, HealthCheckPath: "/",
		CDN: pol.WithDefaults(), Labels: labels,
	}
}

const specHashKey = "orocloud-spec-hash"

// specHash fingerprints what UpdateInstance can change, so a plan sees
// drift without comparing (or printing) secret values.
func specHash(labels providers.Labels, md map[string]string, secrets map[string]providers.Secret) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(h, "l\x00%s\x00%s\x00", k, labels[k])
	}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if k == specHashKey {
			continue
		}
		fmt.Fprintf(h, "m\x00%s\x00%s\x00", k, md[k])
	}
	for _, k := range slices.Sorted(maps.Keys(secrets)) {
		fmt.Fprintf(h, "s\x00%s\x00%s\x00", k, secrets[k].Reveal())
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func startupScript(env *Environment, n Node) string {
	return fmt.Sprintf(`#!/bin/sh
# Written by orocloud-go. Records the node's identity for configuration management.
mkdir -p /etc/orocloud
cat > /etc/orocloud/node.env <<'EOT'
OROCLOUD_ENVIRONMENT=%s
OROCLOUD_TIER=%s
OROCLOUD_ROLE=%s
OROCLOUD_NODE_INDEX=%d
EOT
`, env.Name, n.Tier, n.Role, n.Index)
}

// diff fills p.Changes from desired vs observed.
func (p *Plan) diff(d *Desired, inv *Inventory, prune bool) {
	var creates, updates, deletes []Change
	// Instances.
	observed := map[string]providers.Instance{}
	for _, in := range inv.Instances {
		observed[in.Name] = in
	}
	want := map[string]bool{}
	for i := range d.Instances {
		spec := d.Instances[i]
		want[spec.Name] = true
		got, ok := observed[spec.Name]
		if !ok {
			creates = append(creates, Change{Action: ActionCreate, Kind: KindInstance, Name: spec.Name, Region: spec.Region,
				Zone: spec.Zone, Reason: "missing (" + spec.Labels[providers.LabelTier] + " " + spec.Labels[providers.LabelRole] + ")", Instance: &spec})
			continue
		}
		var why []string
		for _, k := range slices.Sorted(maps.Keys(spec.Labels)) {
			if got.Labels[k] != spec.Labels[k] {
				why = append(why, fmt.Sprintf("label %s=%q, want %q", k, got.Labels[k], spec.Labels[k]))
			}
		}
		if got.Metadata[specHashKey] != spec.Metadata[specHashKey] {
			var keys []string
			for _, k := range slices.Sorted(maps.Keys(spec.Metadata)) {
				if k != specHashKey && got.Metadata[k] != spec.Metadata[k] {
					keys = append(keys, k)
				}
			}
			for _, k := range slices.Sorted(maps.Keys(spec.Secrets)) {
				keys = append(keys, k+" (secret)")
			}
			if len(keys) == 0 {
				keys = []string{"spec hash"}
			}
			why = append(why, "metadata differs: "+strings.Join(keys, ", "))
		}
		if len(why) > 0 {
			updates = append(updates, Change{Action: ActionUpdate, Kind: KindInstance, Name: spec.Name, Region: spec.Region,
				Zone: got.Zone, Reason: strings.Join(why, "; "),
				Update: &providers.InstanceUpdate{Labels: spec.Labels.Clone(), Metadata: maps.Clone(spec.Metadata), Secrets: maps.Clone(spec.Secrets)}})
		}
		if spec.MachineType != "" && got.MachineType != "" && got.MachineType != spec.MachineType {
			p.Warnings = append(p.Warnings, fmt.Sprintf("instance %s runs machine type %s, the spec asks for %s: resize it during a maintenance window",
				spec.Name, got.MachineType, spec.MachineType))
		}
		if got.Zone != spec.Zone {
			p.Warnings = append(p.Warnings, fmt.Sprintf("instance %s is in zone %s, placement would put it in %s: existing nodes are never moved",
				spec.Name, got.Zone, spec.Zone))
		}
	}
	if prune {
		for _, in := range inv.Instances {
			if !want[in.Name] && in.Labels.OwnedBy(p.Environment.Name) {
				deletes = append(deletes, Change{Action: ActionDelete, Kind: KindInstance, Name: in.Name, Region: in.Region,
					Zone: in.Zone, Reason: "not in the desired state (tier " + in.Labels[providers.LabelTier] + " scaled down)"})
			}
		}
	}
	// Addresses.
	obsAddr := map[string]providers.Address{}
	for _, a := range inv.Addresses {
		obsAddr[a.Region+"/"+a.Name] = a
	}
	wantAddr := map[string]bool{}
	for i := range d.Addresses {
		a := d.Addresses[i]
		wantAddr[a.Region+"/"+a.Name] = true
		if _, ok := obsAddr[a.Region+"/"+a.Name]; !ok {
			creates = append(creates, Change{Action: ActionCreate, Kind: KindAddress, Name: a.Name, Region: a.Region, Reason: "missing", Address: &a})
		}
	}
	if prune {
		for _, a := range inv.Addresses {
			// The DR address lives in the DR region and is not listed here;
			// the primary address of another scope (regional vs global) goes.
			if !wantAddr[a.Region+"/"+a.Name] && a.Labels.OwnedBy(p.Environment.Name) && a.Labels[providers.LabelRole] == "primary-address" {
				deletes = append(deletes, Change{Action: ActionDelete, Kind: KindAddress, Name: a.Name, Region: a.Region, Reason: "not in the desired state (CDN changed)"})
			}
		}
	}
	// Firewall rules.
	obsFW := map[string]providers.FirewallRule{}
	for _, f := range inv.FirewallRules {
		obsFW[f.Name] = f
	}
	wantFW := map[string]bool{}
	for i := range d.FirewallRules {
		f := d.FirewallRules[i]
		wantFW[f.Name] = true
		got, ok := obsFW[f.Name]
		switch {
		case !ok:
			creates = append(creates, Change{Action: ActionCreate, Kind: KindFirewallRule, Name: f.Name, Region: f.Region, Reason: "missing", FirewallRule: &f})
		case !sameRule(got, f):
			// Rules have no update in the contract: replace.
			deletes = append(deletes, Change{Action: ActionDelete, Kind: KindFirewallRule, Name: f.Name, Region: f.Region, Reason: "rule differs (replaced)"})
			creates = append(creates, Change{Action: ActionCreate, Kind: KindFirewallRule, Name: f.Name, Region: f.Region, Reason: "rule differs (replacement)", FirewallRule: &f})
		}
	}
	if prune {
		for _, f := range inv.FirewallRules {
			if !wantFW[f.Name] && f.Labels.OwnedBy(p.Environment.Name) {
				deletes = append(deletes, Change{Action: ActionDelete, Kind: KindFirewallRule, Name: f.Name, Region: f.Region, Reason: "not in the desired state"})
			}
		}
	}
	// Load balancer.
	if d.LoadBalancer != nil {
		lb := *d.LoadBalancer
		switch got := inv.LoadBalancer; {
		case got == nil:
			creates = append(creates, Change{Action: ActionCreate, Kind: KindLoadBalancer, Name: lb.Name, Reason: "missing", LoadBalancer: &lb})
		case !sameLB(got.LoadBalancerSpec, lb):
			updates = append(updates, Change{Action: ActionUpdate, Kind: KindLoadBalancer, Name: lb.Name, Reason: "backends, hostnames or CDN policy differ", LoadBalancer: &lb})
		}
	} else if prune && inv.LoadBalancer != nil && inv.LoadBalancer.Labels.OwnedBy(p.Environment.Name) {
		deletes = append(deletes, Change{Action: ActionDelete, Kind: KindLoadBalancer, Name: inv.LoadBalancer.Name, Reason: "not in the desired state (CDN changed)"})
	}
	byKey := func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Region, b.Region), cmp.Compare(a.Name, b.Name))
	}
	slices.SortStableFunc(creates, byKey)
	slices.SortStableFunc(updates, byKey)
	slices.SortStableFunc(deletes, byKey)
	p.Changes = slices.Concat(creates, updates, deletes)
}

// sortedCopy returns a sorted copy of s, for order-insensitive comparison.
func sortedCopy[T cmp.Ordered](s []T) []T { s = slices.Clone(s); slices.Sort(s); return s }

func sameRule(a, b providers.FirewallRule) bool {
	pa, pb := a.Protocol, b.Protocol
	if pa == "" {
		pa = providers.TCP
	}
	if pb == "" {
		pb = providers.TCP
	}
	return pa == pb && slices.Equal(sortedCopy(a.Ports), sortedCopy(b.Ports)) &&
		slices.Equal(sortedCopy(a.SourceRanges), sortedCopy(b.SourceRanges)) && slices.Equal(sortedCopy(a.TargetTags), sortedCopy(b.TargetTags))
}

func sameLB(a, b providers.LoadBalancerSpec) bool {
	refs := func(s []providers.InstanceRef) []string {
		out := make([]string, len(s))
		for i, r := range s {
			out[i] = r.Zone + "/" + r.Name
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(refs(a.Backends), refs(b.Backends)) && slices.Equal(sortedCopy(a.Hostnames), sortedCopy(b.Hostnames)) &&
		a.CDN.WithDefaults() == b.CDN.WithDefaults() && a.AddressName == b.AddressName
}
