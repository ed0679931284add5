package dr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// The prechecks, by name.
const (
	CheckSpec        = "spec"
	CheckRegions     = "regions"
	CheckTargetZones = "target-zones"
	CheckBackup      = "backup"
	CheckDNS         = "dns"
	CheckAddress     = "address"
	CheckTargetEmpty = "target-empty"
)

// CheckResult is the outcome of one precheck.
type CheckResult struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// String prints "ok name: detail" or "FAIL name: detail".
func (c CheckResult) String() string {
	s := "ok  "
	if !c.OK {
		s = "FAIL"
	}
	return s + " " + c.Name + ": " + c.Detail
}

// PrecheckError lists every precheck that failed. Runner.Start returns it
// (reachable with errors.As) inside an error for which providers.Code is
// FailedPrecondition.
type PrecheckError struct {
	Failures []CheckResult
}

// Error lists every failure.
func (e *PrecheckError) Error() string {
	parts := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		parts[i] = f.Name + ": " + f.Detail
	}
	return fmt.Sprintf("%d precheck(s) failed: %s", len(e.Failures), strings.Join(parts, "; "))
}

// Has reports whether the check named name failed.
func (e *PrecheckError) Has(name string) bool {
	for _, f := range e.Failures {
		if f.Name == name {
			return true
		}
	}
	return false
}

// Precheck runs the prechecks of req without creating a run and returns
// every result; the error is nil when all passed, and otherwise lists every
// failure (errors.As gives the *PrecheckError). Start runs the same checks
// as its first step.
func (r *Runner) Precheck(ctx context.Context, req Request) ([]CheckResult, error) {
	if ctx == nil || req.Environment == nil || !req.Mode.valid() {
		return nil, providers.Errorf(providers.InvalidArgument, "dr.Runner.Precheck: need a context, an environment and a mode (failover, drill, failback)")
	}
	env := req.Environment.Clone()
	st := &RunState{Environment: env.Name, Mode: req.Mode, Spec: env, DisasterAt: req.DisasterAt}
	if st.DisasterAt.IsZero() || req.Mode == ModeFailback {
		st.DisasterAt = r.clk.Now()
	}
	dr, _ := DRRegion(env)
	st.FromRegion, st.ToRegion, st.Target = env.Region, dr, env.Name
	switch req.Mode {
	case ModeDrill:
		st.Target = DrillName(env.Name)
	case ModeFailback:
		st.FromRegion, st.ToRegion = dr, env.Region
	}
	checks, _, _ := r.prechecks(ctx, st)
	var failed []CheckResult
	for _, c := range checks {
		if !c.OK {
			failed = append(failed, c)
		}
	}
	if len(failed) > 0 {
		return checks, &providers.Error{Code: providers.FailedPrecondition, Op: "dr.precheck", Resource: env.Name,
			Err: &PrecheckError{Failures: failed}}
	}
	return checks, nil
}

// prechecks runs every check concurrently and returns the results in a
// stable order, the point to restore and the address DNS will point to.
func (r *Runner) prechecks(ctx context.Context, st *RunState) ([]CheckResult, *Point, *providers.Address) {
	env := st.Spec
	var (
		mu      sync.Mutex
		results = map[string]CheckResult{}
		point   *Point
		addr    *providers.Address
		wg      sync.WaitGroup
	)
	set := func(name string, ok bool, format string, args ...any) {
		mu.Lock()
		results[name] = CheckResult{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)}
		mu.Unlock()
	}
	order := []string{CheckSpec, CheckRegions, CheckTargetZones, CheckBackup, CheckDNS, CheckAddress, CheckTargetEmpty}

	if err := env.Validate(); err != nil {
		set(CheckSpec, false, "%v", err)
	} else {
		set(CheckSpec, true, "environment %s is valid", env.Name)
	}
	_, regErr := DRRegion(env)
	if regErr != nil {
		set(CheckRegions, false, "%s", errMsg(regErr))
	} else {
		set(CheckRegions, true, "%s from %s to %s (%s)", st.Mode, st.FromRegion, st.ToRegion, env.Provider)
	}
	pol := retry.Policy{Clock: r.clk, MaxAttempts: 3}
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	target := TargetEnvironment(st)
	if regErr != nil {
		for _, n := range []string{CheckTargetZones, CheckAddress, CheckTargetEmpty} {
			set(n, false, "not checked: the region pair is invalid")
		}
	} else {
		run(func() {
			zones, err := retry.Value(ctx, pol, func(ctx context.Context) ([]providers.Zone, error) {
				return r.prov.ListZones(ctx, st.ToRegion)
			})
			if err != nil {
				set(CheckTargetZones, false, "cannot list the zones of %s: %v", st.ToRegion, err)
				return
			}
			up := 0
			for _, z := range zones {
				if z.Up {
					up++
				}
			}
			if len(target.Zones) == 0 {
				zones = upZones(zones)
			}
			if err := target.ValidateZones(zones); err != nil {
				set(CheckTargetZones, false, "%s cannot hold %s with its redundancy rules: %v", st.ToRegion, env.Name, err)
				return
			}
			set(CheckTargetZones, true, "%s has %d zone(s) up for %s", st.ToRegion, up, target.Name)
		})
		run(func() {
			name, region := environment.DRAddressName(env.Name), st.ToRegion
			if st.Mode == ModeFailback || env.CDN.Kind == environment.CDNGoogle {
				// Back to the primary address; with Google CDN the global
				// load balancer keeps the primary (global) address.
				name, region = environment.PrimaryAddressName(env.Name), env.Region
				if env.CDN.Kind == environment.CDNGoogle {
					region = ""
				}
			}
			a, err := retry.Value(ctx, pol, func(ctx context.Context) (*providers.Address, error) {
				return r.prov.GetAddress(ctx, region, name)
			})
			if err != nil {
				hint := ""
				if providers.Code(err) == providers.NotFound {
					hint = " (reserve it with dr.Onboard)"
				}
				set(CheckAddress, false, "address %s in %s: %v%s", name, orGlobal(region), err, hint)
				return
			}
			mu.Lock()
			addr = a
			mu.Unlock()
			set(CheckAddress, true, "address %s (%s) reserved in %s", a.Name, a.IP, orGlobal(region))
		})
		run(func() {
			if st.Mode == ModeFailback {
				set(CheckTargetEmpty, true, "failback reuses what is left of %s in %s", env.Name, st.ToRegion)
				return
			}
			ins, err := retry.Value(ctx, pol, func(ctx context.Context) ([]providers.Instance, error) {
				return r.prov.ListInstances(ctx, st.ToRegion, ownerSelector(st.Target))
			})
			if err != nil {
				set(CheckTargetEmpty, false, "cannot list instances of %s in %s: %v", st.Target, st.ToRegion, err)
				return
			}
			if len(ins) > 0 {
				names := make([]string, 0, len(ins))
				for _, in := range ins {
					names = append(names, in.Name)
				}
				set(CheckTargetEmpty, false, "%d instance(s) of %s already run in %s: %s", len(ins), st.Target, st.ToRegion, strings.Join(names, ", "))
				return
			}
			set(CheckTargetEmpty, true, "nothing of %s runs in %s", st.Target, st.ToRegion)
		})
	}
	run(func() {
		p, err := r.o.Backups.LatestBefore(ctx, st.DisasterAt)
		if err != nil {
			if providers.Code(err) == providers.NotFound {
				set(CheckBackup, false, "no backup before %s: there is nothing to restore", st.DisasterAt.UTC().Format(time.RFC3339))
			} else {
				set(CheckBackup, false, "cannot list backups: %v", err)
			}
			return
		}
		age := st.DisasterAt.Sub(p.Time)
		if age > r.o.MaxBackupAge {
			set(CheckBackup, false, "latest backup %s is %s older than the disaster, more than the RPO objective %s",
				p.ID, age.Round(time.Minute), r.o.MaxBackupAge)
			return
		}
		if err := r.o.Backups.Verify(ctx, p.ID); err != nil {
			set(CheckBackup, false, "latest backup %s does not verify: %v", p.ID, err)
			return
		}
		mu.Lock()
		point = &p
		mu.Unlock()
		set(CheckBackup, true, "backup %s taken %s before the disaster verifies", p.ID, age.Round(time.Second))
	})
	run(func() {
		switch {
		case st.Mode == ModeDrill:
			set(CheckDNS, true, "drill: DNS is left untouched")
		case env.CustomerManagedDomain:
			set(CheckDNS, true, "customer-managed domain: the domain owner sets the record (a manual step in the report)")
		case r.o.DNS == nil:
			set(CheckDNS, false, "the domain is ours but no DNS is configured (Options.DNS)")
		case len(env.CDN.Hostnames) == 0:
			set(CheckDNS, false, "the environment has no host names (cdn.hostnames)")
		default:
			zone := r.dnsZone(env)
			for _, h := range env.CDN.Hostnames {
				_, err := r.o.DNS.LookupRecord(ctx, zone, h, cdn.RecordA)
				if err != nil && providers.Code(err) != providers.NotFound {
					set(CheckDNS, false, "DNS credentials or zone do not work: look up %s: %v", h, err)
					return
				}
			}
			set(CheckDNS, true, "DNS zone %s answers for %s", zone, strings.Join(env.CDN.Hostnames, ", "))
		}
	})
	wg.Wait()
	out := make([]CheckResult, 0, len(order))
	for _, n := range order {
		if c, ok := results[n]; ok {
			out = append(out, c)
		}
	}
	return out, point, addr
}

func upZones(zs []providers.Zone) []providers.Zone {
	var out []providers.Zone
	for _, z := range zs {
		if z.Up {
			out = append(out, z)
		}
	}
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}

func orGlobal(region string) string {
	if region == "" {
		return "global"
	}
	return region
}

// errMsg returns the message of a providers.Error without its operation
// prefix, or err's text.
func errMsg(err error) string {
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Msg != "" {
		return pe.Msg
	}
	return err.Error()
}
