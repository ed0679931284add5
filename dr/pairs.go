package dr

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// DRRegion returns the DR region of env: env.DR.Region when set (the
// per-environment override), else the designated pair of its region from the
// documented default table (environment.DefaultDRRegion). It returns an
// InvalidArgument error naming the problem when the primary region is not
// known for the provider, when there is no pair, when the DR region is not a
// known region, or when it equals the primary region.
func DRRegion(env *environment.Environment) (string, error) {
	if env == nil {
		return "", providers.Errorf(providers.InvalidArgument, "dr: nil environment")
	}
	var problems []string
	if !environment.KnownRegion(env.Provider, env.Region) {
		problems = append(problems, fmt.Sprintf("region: %q is not a known %s region", env.Region, env.Provider))
	}
	dr := env.DR.Region
	if dr == "" {
		d, ok := environment.DefaultDRRegion(env.Provider, env.Region)
		if !ok {
			if len(problems) == 0 {
				problems = append(problems, fmt.Sprintf("dr.region: region %q has no designated DR region; set dr.region", env.Region))
			}
			return "", &providers.Error{Code: providers.InvalidArgument, Op: "dr.DRRegion", Resource: env.Name, Msg: strings.Join(problems, "; ")}
		}
		dr = d
	}
	if dr == env.Region {
		problems = append(problems, fmt.Sprintf("dr.region: must differ from the primary region %s (a region loss would take both)", env.Region))
	} else if !environment.KnownRegion(env.Provider, dr) {
		problems = append(problems, fmt.Sprintf("dr.region: %q is not a known %s region", dr, env.Provider))
	}
	if len(problems) > 0 {
		return "", &providers.Error{Code: providers.InvalidArgument, Op: "dr.DRRegion", Resource: env.Name, Msg: strings.Join(problems, "; ")}
	}
	return dr, nil
}

// Onboarding is what a customer is given at onboarding: the environment's
// primary and DR addresses, to add to their whitelists.
type Onboarding struct {
	Environment string            `json:"environment"`
	Region      string            `json:"region"`
	DRRegion    string            `json:"drRegion"`
	Primary     providers.Address `json:"primary"`
	DR          providers.Address `json:"dr"`
}

// String prints the onboarding information.
func (o *Onboarding) String() string {
	where := func(a providers.Address) string {
		if a.Region == "" {
			return "global"
		}
		return a.Region
	}
	return fmt.Sprintf("environment %s: primary address %s (%s, %s); DR address %s (%s, %s). Add both to any whitelist.",
		o.Environment, o.Primary.IP, o.Primary.Name, where(o.Primary), o.DR.IP, o.DR.Name, where(o.DR))
}

// OnboardOptions tune Onboard.
type OnboardOptions struct {
	// Clock drives backoff between retries of transient provider errors
	// (nil = the system clock).
	Clock clock.Clock
	// MaxAttempts bounds the calls per address (default 5).
	MaxAttempts int
}

// RoleDRAddress is the LabelRole value of the DR address.
const RoleDRAddress = "dr-address"

// Onboard reserves the primary address of env (global with Google CDN,
// regional otherwise, named environment.PrimaryAddressName, exactly as the
// reconciler plans it) and its DR address in the DR region (named
// environment.DRAddressName) through the provider, and reports both. It is
// idempotent: addresses already reserved for env are returned as they are.
// Nothing else is allocated in the DR region (cold DR).
func Onboard(ctx context.Context, prov providers.Provider, env *environment.Environment, opts *OnboardOptions) (*Onboarding, error) {
	if prov == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "dr.Onboard: provider is nil")
	}
	if env == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "dr.Onboard: environment is nil")
	}
	if err := env.Validate(); err != nil {
		return nil, err
	}
	drRegion, err := DRRegion(env)
	if err != nil {
		return nil, err
	}
	var pol retry.Policy
	if opts != nil {
		pol.Clock, pol.MaxAttempts = opts.Clock, opts.MaxAttempts
	}
	primaryRegion := env.Region
	if env.CDN.Kind == environment.CDNGoogle {
		primaryRegion = ""
	}
	labels := func(role string) providers.Labels {
		l := providers.Labels{}
		maps.Copy(l, env.Labels)
		l[providers.LabelManagedBy] = providers.ManagedByValue
		l[providers.LabelEnvironment] = env.Name
		l[providers.LabelRole] = role
		return l
	}
	reserve := func(spec providers.AddressSpec) (*providers.Address, error) {
		return retry.Value(ctx, pol, func(ctx context.Context) (*providers.Address, error) {
			return prov.ReserveAddress(ctx, spec)
		})
	}
	primary, err := reserve(providers.AddressSpec{Name: environment.PrimaryAddressName(env.Name), Region: primaryRegion,
		Description: "primary address of OroCommerce environment " + env.Name, Labels: labels("primary-address")})
	if err != nil {
		return nil, fmt.Errorf("dr.Onboard %s: reserve primary address: %w", env.Name, err)
	}
	drAddr, err := reserve(drAddressSpec(env, drRegion))
	if err != nil {
		return nil, fmt.Errorf("dr.Onboard %s: reserve DR address in %s: %w", env.Name, drRegion, err)
	}
	return &Onboarding{Environment: env.Name, Region: env.Region, DRRegion: drRegion, Primary: *primary, DR: *drAddr}, nil
}

func drAddressSpec(env *environment.Environment, drRegion string) providers.AddressSpec {
	l := providers.Labels{}
	maps.Copy(l, env.Labels)
	l[providers.LabelManagedBy] = providers.ManagedByValue
	l[providers.LabelEnvironment] = env.Name
	l[providers.LabelRole] = RoleDRAddress
	return providers.AddressSpec{Name: environment.DRAddressName(env.Name), Region: drRegion,
		Description: "DR address of OroCommerce environment " + env.Name, Labels: l}
}
