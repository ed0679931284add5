// Package orocloud is the entry point of orocloud-go, an SDK that composes a
// highly available OroCommerce hosting platform ("OroCloud") on Google Cloud
// and Oracle Cloud: declare an environment, provision it across zones, back
// it up, fail its database over, and recover it in another region.
//
// A Platform binds a provider (providers/memory, providers/gcp or
// providers/oci) to the SDK's options (logger, clock, parallelism, retries).
// It plans, applies and destroys environments (package environment), and
// reports what survives the loss of a zone:
//
//	prov := memory.New(nil)
//	p, _ := orocloud.New(prov, nil)
//	env := environment.Standard("acme-prod", environment.GCP, "europe-west3")
//	plan, _ := p.Plan(ctx, env, nil)
//	fmt.Print(plan)
//	_, err := p.Apply(ctx, plan)
//
// Backups (package backup), database failover (package failover), the edge
// (package cdn) and disaster recovery (package dr) are separate packages;
// the Platform hands out the pieces of them that need its provider:
// BackupStore (backups in the provider's object storage), Fencer (failover
// stops an unreachable primary's instance) and DisasterRecovery.
package orocloud

import (
	"context"
	"log/slog"

	"github.com/orocloud/orocloud-go/backup"
	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/dr"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/failover"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// Options configure a Platform. A nil *Options means defaults.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Clock is the time source (backoff waits, timestamps); nil is the
	// system clock.
	Clock clock.Clock
	// Parallelism bounds concurrent provider calls in Apply and Destroy
	// (default 10).
	Parallelism int
	// Retry tunes retries of transient provider errors (429, 5xx,
	// timeouts).
	Retry retry.Policy
	// OnEvent receives progress events of Apply and Destroy.
	OnEvent func(environment.Event)
}

// Platform composes OroCommerce environments on one provider. It is safe for
// concurrent use.
type Platform struct {
	prov providers.Provider
	rec  *environment.Reconciler
	opts Options
}

// New returns a Platform on prov. A nil provider is an error.
func New(prov providers.Provider, opts *Options) (*Platform, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	rec, err := environment.NewReconciler(prov, &environment.ReconcilerOptions{
		Logger: o.Logger, Clock: o.Clock, Parallelism: o.Parallelism, Retry: o.Retry, OnEvent: o.OnEvent,
	})
	if err != nil {
		return nil, err
	}
	return &Platform{prov: prov, rec: rec, opts: o}, nil
}

// Provider returns the platform's provider.
func (p *Platform) Provider() providers.Provider { return p.prov }

// Reconciler returns the platform's reconciler, for packages (such as dr)
// that apply environments themselves.
func (p *Platform) Reconciler() *environment.Reconciler { return p.rec }

// Plan validates env (every violation at once), checks it against the
// region's zones, observes the provider and returns the typed diff. It
// changes nothing. opts may be nil.
func (p *Platform) Plan(ctx context.Context, env *environment.Environment, opts *environment.PlanOptions) (*environment.Plan, error) {
	return p.rec.Plan(ctx, env, opts)
}

// Apply makes the plan's changes: in parallel (bounded), retrying transient
// errors, idempotently. Re-planning and applying after a crash finishes the
// job without duplicates; a second Apply of a fresh plan makes no mutating
// call.
func (p *Platform) Apply(ctx context.Context, plan *environment.Plan) (*environment.Result, error) {
	return p.rec.Apply(ctx, plan)
}

// Destroy deletes every resource labelled as env's, and nothing else.
func (p *Platform) Destroy(ctx context.Context, env *environment.Environment) (*environment.Result, error) {
	return p.rec.Destroy(ctx, env)
}

// Inventory returns what the provider holds for env.
func (p *Platform) Inventory(ctx context.Context, env *environment.Environment) (*environment.Inventory, error) {
	return p.rec.Observe(ctx, env)
}

// ZoneLoss observes env's nodes and reports, for each zone, which tiers keep
// serving if that zone is lost. Nodes that are not running now (a zone
// outage) are left out, so the report reflects the environment as it is.
func (p *Platform) ZoneLoss(ctx context.Context, env *environment.Environment) (*environment.ZoneLossReport, error) {
	inv, err := p.rec.Observe(ctx, env)
	if err != nil {
		return nil, err
	}
	return environment.AnalyzeZoneLoss(env, inv.Nodes(true)), nil
}

// BackupStore returns a backup store in the provider's object storage: the
// bucket named "<env>-backups" in the environment's region, created if
// missing (labelled as the environment's), with every object under prefix
// ("" or a path ending in "/"). Pass it to backup.NewEngine.
func (p *Platform) BackupStore(ctx context.Context, env *environment.Environment, prefix string) (*backup.ObjectStore, error) {
	if env == nil || env.Name == "" || env.Region == "" {
		return nil, providers.Errorf(providers.InvalidArgument, "orocloud.BackupStore: an environment with a name and a region is required")
	}
	bucket := env.Name + "-backups"
	err := p.prov.CreateBucket(ctx, providers.BucketSpec{Name: bucket, Region: env.Region, Labels: providers.Labels{
		providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: env.Name, providers.LabelRole: "backups"}})
	if err != nil {
		return nil, err
	}
	return backup.NewObjectStore(p.prov, bucket, prefix)
}

// Fencer returns a failover.Fencer that fences an unreachable PostgreSQL
// primary by stopping its instance through the provider.
func (p *Platform) Fencer() failover.Fencer {
	return &failover.InstanceFencer{Instances: p.prov}
}

// DisasterRecovery returns a DR runner on the platform's provider (see
// package dr). The platform's logger and clock are used where opts sets
// none.
func (p *Platform) DisasterRecovery(opts *dr.Options) (*dr.Runner, error) {
	var o dr.Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = p.opts.Logger
	}
	if o.Clock == nil {
		o.Clock = p.opts.Clock
	}
	return dr.New(p.prov, &o)
}
