package providers_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/orocloud/orocloud-go/providers"
)

func TestCodeForHTTPStatus(t *testing.T) {
	for status, want := range map[int]providers.ErrorCode{
		200: providers.Unknown, 400: providers.InvalidArgument, 401: providers.PermissionDenied, 403: providers.PermissionDenied,
		404: providers.NotFound, 408: providers.DeadlineExceeded, 409: providers.AlreadyExists, 412: providers.FailedPrecondition,
		422: providers.InvalidArgument, 429: providers.ResourceExhausted, 500: providers.Unavailable, 501: providers.Unimplemented,
		502: providers.Unavailable, 503: providers.Unavailable, 504: providers.Unavailable, 600: providers.Unknown,
	} {
		assert.Equal(t, want, providers.CodeForHTTPStatus(status), status)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":     0,
		"3":    3 * time.Second,
		" 1.5": 1500 * time.Millisecond,
		"-2":   0,
		"abc":  0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	}
	for in, want := range tests {
		assert.Equal(t, want, providers.ParseRetryAfter(in, now), in)
	}
}
