package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestDoRetriesTransientOnly(t *testing.T) {
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
		wantCode  providers.ErrorCode
	}{
		{"success first", []error{nil}, 1, providers.OK},
		{"transient then success", []error{providers.Errorf(providers.Unavailable, "503"), providers.Errorf(providers.ResourceExhausted, "429"), nil}, 3, providers.OK},
		{"permanent stops", []error{providers.Errorf(providers.InvalidArgument, "bad"), nil}, 1, providers.InvalidArgument},
		{"attempts exhausted", []error{providers.Errorf(providers.Unavailable, "1"), providers.Errorf(providers.Unavailable, "2"), providers.Errorf(providers.Unavailable, "3")}, 3, providers.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewAutoFake(t0)
			calls := 0
			err := retry.Do(context.Background(), retry.Policy{MaxAttempts: 3, Clock: clk}, func(context.Context) error {
				e := tt.errs[calls]
				calls++
				return e
			})
			assert.Equal(t, tt.wantCalls, calls)
			assert.Equal(t, tt.wantCode, providers.Code(err))
		})
	}
}

func TestBackoffGrowsAndHonoursRetryAfter(t *testing.T) {
	p := retry.Policy{Initial: 100 * time.Millisecond, Max: time.Second}
	assert.Equal(t, 100*time.Millisecond, p.Backoff(1))
	assert.Equal(t, 200*time.Millisecond, p.Backoff(2))
	assert.Equal(t, time.Second, p.Backoff(10))

	clk := clock.NewAutoFake(t0)
	var waits []time.Duration
	calls := 0
	err := retry.Do(context.Background(), retry.Policy{MaxAttempts: 3, Clock: clk, Initial: 10 * time.Millisecond, Jitter: func() float64 { return 0 },
		OnRetry: func(_ int, _ error, w time.Duration) { waits = append(waits, w) }}, func(context.Context) error {
		calls++
		if calls == 1 {
			return &providers.Error{Code: providers.ResourceExhausted, RetryAfter: 7 * time.Second}
		}
		if calls == 2 {
			return providers.Errorf(providers.Unavailable, "x")
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{7 * time.Second, 10 * time.Millisecond}, waits)
	assert.Equal(t, t0.Add(7*time.Second+10*time.Millisecond), clk.Now())
}

func TestDoStopsOnContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clk := clock.NewFake(t0) // never advanced: the wait only ends through ctx
	done := make(chan error, 1)
	go func() {
		done <- retry.Do(ctx, retry.Policy{MaxAttempts: 10, Clock: clk}, func(context.Context) error {
			return providers.Errorf(providers.Unavailable, "down")
		})
	}()
	for clk.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	assert.Equal(t, providers.Canceled, providers.Code(err))
	assert.False(t, providers.IsTransient(err))
}

func TestValue(t *testing.T) {
	n := 0
	v, err := retry.Value(context.Background(), retry.Policy{Clock: clock.NewAutoFake(t0)}, func(context.Context) (int, error) {
		n++
		if n < 2 {
			return 0, providers.Errorf(providers.Unavailable, "x")
		}
		return 42, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 42, v)
	_, err = retry.Value(context.Background(), retry.Policy{}, func(context.Context) (int, error) { return 0, errors.New("boom") })
	assert.EqualError(t, err, "boom")
}
