// Package retry runs an operation again on transient errors, with capped
// exponential backoff and full jitter, honouring a service's Retry-After, on
// an injectable clock.
//
// Policy is the SDK's one retry configuration: every Options.Retry (the
// reconciler and orocloud.Options, the GCP and OCI providers, the edges,
// the failover fencer) takes a Policy. Retries happen once in a stack: a
// driver that retries by itself says so (providers.SelfRetrying) and its
// callers then make a single attempt.
package retry

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
)

// Policy configures retries. The zero value is usable: see the defaults.
type Policy struct {
	// MaxAttempts is the number of calls in all (default 5); 1 disables
	// retries.
	MaxAttempts int
	// Initial is the first backoff (default 100 ms); each retry doubles it up
	// to Max (default 5 s).
	Initial time.Duration
	Max     time.Duration
	// Clock defaults to the system clock.
	Clock clock.Clock
	// Retryable decides which errors are retried (default
	// providers.IsTransient).
	Retryable func(error) bool
	// OnRetry, when set, is called before each wait.
	OnRetry func(attempt int, err error, wait time.Duration)
	// Jitter returns a random float64 in [0,1); default math/rand/v2.
	Jitter func() float64
}

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.Initial <= 0 {
		p.Initial = 100 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 5 * time.Second
	}
	p.Clock = clock.Or(p.Clock)
	if p.Retryable == nil {
		p.Retryable = providers.IsTransient
	}
	if p.Jitter == nil {
		p.Jitter = rand.Float64
	}
	return p
}

// Backoff returns the wait before retry number attempt (1-based), before
// jitter: Initial * 2^(attempt-1), capped at Max.
func (p Policy) Backoff(attempt int) time.Duration {
	p = p.withDefaults()
	d := p.Initial
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Do calls fn until it succeeds, returns a non-retryable error, the attempts
// are used up, or ctx is done. It returns fn's last error (or ctx's error when
// ctx ended the wait, wrapped with the last error's message).
func Do(ctx context.Context, p Policy, fn func(ctx context.Context) error) error {
	p = p.withDefaults()
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(ctx); err == nil {
			return nil
		}
		if attempt >= p.MaxAttempts || !p.Retryable(err) || ctx.Err() != nil {
			return err
		}
		// Full jitter over [b/2, b): never zero, spreads herds.
		b := p.Backoff(attempt)
		wait := b/2 + time.Duration(p.Jitter()*float64(b/2))
		if ra, ok := providers.RetryAfter(err); ok && ra > wait {
			wait = min(ra, max(p.Max, ra))
		}
		if p.OnRetry != nil {
			p.OnRetry(attempt, err, wait)
		}
		select {
		case <-ctx.Done():
			return providers.Wrap(ctx.Err(), providers.Canceled, "retry", err.Error())
		case <-p.Clock.After(wait):
		}
	}
}

// Value is Do for a function returning a value.
func Value[T any](ctx context.Context, p Policy, fn func(ctx context.Context) (T, error)) (T, error) {
	var out T
	err := Do(ctx, p, func(ctx context.Context) error {
		v, err := fn(ctx)
		if err == nil {
			out = v
		}
		return err
	})
	return out, err
}
