package providers

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var nameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

// ValidName reports whether name is a valid resource name on every supported
// cloud: 1 to 63 characters, lower case letters, digits and '-', starting
// with a letter and not ending with '-' (the GCP rule, which OCI accepts).
func ValidName(name string) bool { return nameRE.MatchString(name) }

// Validate checks the policy against the rules of Google Cloud CDN and
// returns every violation at once, with code InvalidArgument: an unknown
// cache mode; any TTL with USE_ORIGIN_HEADERS; negative TTLs; a default TTL
// above the max TTL; a client TTL above the max TTL; TTLs above one year.
func (p CDNPolicy) Validate() error {
	const year = 365 * 24 * 3600
	var errs []string
	mode := p.CacheMode
	if mode == "" {
		mode = CacheAllStatic
	}
	switch mode {
	case CacheAllStatic, UseOriginHeaders, ForceCacheAll:
	default:
		errs = append(errs, fmt.Sprintf("cacheMode: %q is not one of CACHE_ALL_STATIC, USE_ORIGIN_HEADERS, FORCE_CACHE_ALL", p.CacheMode))
	}
	for _, t := range []struct {
		name string
		d    int64
	}{{"defaultTtl", int64(p.DefaultTTL.Seconds())}, {"maxTtl", int64(p.MaxTTL.Seconds())}, {"clientTtl", int64(p.ClientTTL.Seconds())}, {"serveWhileStale", int64(p.ServeWhileStale.Seconds())}} {
		if t.d < 0 {
			errs = append(errs, t.name+": must not be negative")
		}
		if t.d > year {
			errs = append(errs, t.name+": must be at most one year (31536000 s)")
		}
	}
	if mode == UseOriginHeaders && (p.DefaultTTL != 0 || p.MaxTTL != 0 || p.ClientTTL != 0) {
		errs = append(errs, "defaultTtl/maxTtl/clientTtl: must be unset with cache mode USE_ORIGIN_HEADERS (the origin's headers decide)")
	}
	if p.MaxTTL > 0 && p.DefaultTTL > p.MaxTTL {
		errs = append(errs, "defaultTtl: must not exceed maxTtl")
	}
	if p.MaxTTL > 0 && p.ClientTTL > p.MaxTTL {
		errs = append(errs, "clientTtl: must not exceed maxTtl")
	}
	if mode == ForceCacheAll && p.MaxTTL != 0 {
		errs = append(errs, "maxTtl: must be unset with cache mode FORCE_CACHE_ALL")
	}
	if len(errs) == 0 {
		return nil
	}
	return &Error{Code: InvalidArgument, Op: "cdn policy", Msg: strings.Join(errs, "; "), Err: errors.New("invalid CDN policy")}
}

// WithDefaults returns p with the cache mode and TTLs the API would use when
// unset.
func (p CDNPolicy) WithDefaults() CDNPolicy {
	if p.CacheMode == "" {
		p.CacheMode = CacheAllStatic
	}
	if p.CacheMode == UseOriginHeaders {
		return p
	}
	if p.DefaultTTL == 0 {
		p.DefaultTTL = DefaultCDNDefaultTTL
	}
	if p.MaxTTL == 0 && p.CacheMode != ForceCacheAll {
		p.MaxTTL = DefaultCDNMaxTTL
	}
	if p.ClientTTL == 0 {
		p.ClientTTL = DefaultCDNClientTTL
	}
	return p
}
