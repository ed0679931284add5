package providers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/providers"
)

type rawAPIError struct{ status int }

func (e *rawAPIError) Error() string { return fmt.Sprintf("raw api error %d", e.status) }

func TestCodeAndSentinels(t *testing.T) {
	raw := &rawAPIError{status: 404}
	tests := []struct {
		name      string
		err       error
		code      providers.ErrorCode
		sentinel  error
		transient bool
	}{
		{"nil", nil, providers.OK, nil, false},
		{"plain", errors.New("x"), providers.Unknown, nil, false},
		{"not found", &providers.Error{Code: providers.NotFound, Err: raw}, providers.NotFound, providers.ErrNotFound, false},
		{"wrapped twice", fmt.Errorf("ctx: %w", &providers.Error{Code: providers.Unavailable}), providers.Unavailable, providers.ErrUnavailable, true},
		{"errorf", providers.Errorf(providers.ResourceExhausted, "quota %d", 3), providers.ResourceExhausted, providers.ErrResourceExhausted, true},
		{"deadline", providers.Errorf(providers.DeadlineExceeded, "slow"), providers.DeadlineExceeded, providers.ErrDeadlineExceeded, true},
		{"context canceled", context.Canceled, providers.Canceled, nil, false},
		{"context deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), providers.DeadlineExceeded, nil, true},
		{"wrap canceled", providers.Wrap(context.Canceled, providers.Unavailable, "op", "r"), providers.Canceled, providers.ErrCanceled, false},
		{"sentinel itself", providers.ErrAlreadyExists, providers.AlreadyExists, providers.ErrAlreadyExists, false},
		{"permission", &providers.Error{Code: providers.PermissionDenied}, providers.PermissionDenied, providers.ErrPermissionDenied, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.code, providers.Code(tt.err))
			assert.Equal(t, tt.transient, providers.IsTransient(tt.err))
			if tt.sentinel != nil {
				assert.ErrorIs(t, tt.err, tt.sentinel)
				assert.NotErrorIs(t, tt.err, providers.ErrInternal)
			}
		})
	}
}

func TestRawCauseReachable(t *testing.T) {
	raw := &rawAPIError{status: 409}
	err := fmt.Errorf("apply: %w", providers.Wrap(raw, providers.AlreadyExists, "gcp.CreateInstance", "web-1"))
	var got *rawAPIError
	require.ErrorAs(t, err, &got)
	assert.Equal(t, 409, got.status)
	assert.Contains(t, err.Error(), "gcp.CreateInstance web-1: AlreadyExists: raw api error 409")
	assert.Nil(t, providers.Wrap(nil, providers.Internal, "op", "r"))
}

func TestErrorfWithCause(t *testing.T) {
	err := providers.Errorf(providers.Internal, "read %s: %w", "part", io.ErrUnexpectedEOF)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, 1, strings.Count(err.Error(), "unexpected EOF"), err.Error())
}

func TestRetryAfter(t *testing.T) {
	_, ok := providers.RetryAfter(errors.New("x"))
	assert.False(t, ok)
	inner := &providers.Error{Code: providers.ResourceExhausted, RetryAfter: 3 * time.Second}
	d, ok := providers.RetryAfter(fmt.Errorf("w: %w", &providers.Error{Code: providers.ResourceExhausted, Err: inner}))
	assert.True(t, ok)
	assert.Equal(t, 3*time.Second, d)
}

func TestCodeString(t *testing.T) {
	assert.Equal(t, "NotFound", providers.NotFound.String())
	assert.Equal(t, "ErrorCode(99)", providers.ErrorCode(99).String())
}

func TestSecretRedacted(t *testing.T) {
	s := providers.Secret("tok-123456")
	for _, out := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s), fmt.Sprint(struct{ T providers.Secret }{s})} {
		assert.NotContains(t, out, "tok-123456")
	}
	b, err := s.MarshalText()
	require.NoError(t, err)
	assert.NotContains(t, string(b), "tok")
	assert.Equal(t, "tok-123456", s.Reveal())
	assert.Equal(t, "", providers.Secret("").String())
}

func TestCDNPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		p    providers.CDNPolicy
		want []string
	}{
		{"zero ok", providers.CDNPolicy{}, nil},
		{"static ok", providers.CDNPolicy{CacheMode: providers.CacheAllStatic, DefaultTTL: time.Hour, MaxTTL: 2 * time.Hour}, nil},
		{"origin with ttl", providers.CDNPolicy{CacheMode: providers.UseOriginHeaders, DefaultTTL: time.Hour}, []string{"USE_ORIGIN_HEADERS"}},
		{"unknown mode", providers.CDNPolicy{CacheMode: "SOMETIMES"}, []string{"cacheMode"}},
		{"negative", providers.CDNPolicy{DefaultTTL: -time.Second}, []string{"defaultTtl: must not be negative"}},
		{"default above max", providers.CDNPolicy{DefaultTTL: 2 * time.Hour, MaxTTL: time.Hour}, []string{"defaultTtl: must not exceed maxTtl"}},
		{"client above max", providers.CDNPolicy{ClientTTL: 2 * time.Hour, MaxTTL: time.Hour}, []string{"clientTtl"}},
		{"over a year", providers.CDNPolicy{MaxTTL: 400 * 24 * time.Hour}, []string{"one year"}},
		{"force with max", providers.CDNPolicy{CacheMode: providers.ForceCacheAll, MaxTTL: time.Hour}, []string{"FORCE_CACHE_ALL"}},
		{"all at once", providers.CDNPolicy{CacheMode: "X", DefaultTTL: -1 * time.Second, ClientTTL: -time.Second}, []string{"cacheMode", "defaultTtl", "clientTtl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, providers.ErrInvalidArgument)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	d := providers.CDNPolicy{}.WithDefaults()
	assert.Equal(t, providers.CacheAllStatic, d.CacheMode)
	assert.NoError(t, d.Validate())
	assert.Equal(t, providers.CDNPolicy{CacheMode: providers.UseOriginHeaders}, providers.CDNPolicy{CacheMode: providers.UseOriginHeaders}.WithDefaults())
}

func TestLabelsAndNames(t *testing.T) {
	l := providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: "acme", "x": "1"}
	assert.True(t, l.OwnedBy("acme"))
	assert.False(t, l.OwnedBy("other"))
	assert.True(t, l.Matches(providers.Labels{"x": "1"}))
	assert.False(t, l.Matches(providers.Labels{"x": "2"}))
	assert.True(t, l.Matches(nil))
	for name, ok := range map[string]bool{"acme-web-1": true, "a": true, "1abc": false, "Acme": false, "acme-": false, strings.Repeat("a", 63): true, strings.Repeat("a", 64): false, "": false} {
		assert.Equal(t, ok, providers.ValidName(name), name)
	}
	r := providers.FirewallRule{SourceRanges: []string{"10.0.0.0/8", " 0.0.0.0/0"}}
	assert.True(t, r.OpenToInternet())
	assert.False(t, providers.FirewallRule{SourceRanges: []string{"10.0.0.0/8"}}.OpenToInternet())
}

type noLB struct{ providers.Provider }

func (noLB) Kind() providers.Kind { return providers.KindOCI }

func TestLoadBalancersOf(t *testing.T) {
	_, err := providers.LoadBalancersOf(nil)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = providers.LoadBalancersOf(noLB{})
	assert.ErrorIs(t, err, providers.ErrUnimplemented)
	assert.Contains(t, err.Error(), "GCP only")
}
