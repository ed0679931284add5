package providers

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CodeForHTTPStatus maps an HTTP status to an ErrorCode, the mapping every
// driver of an HTTP API starts from (and refines with the service's own
// error codes): 400 and 422 InvalidArgument; 401 and 403 PermissionDenied;
// 404 NotFound; 409 AlreadyExists; 412 FailedPrecondition; 408
// DeadlineExceeded; 429 ResourceExhausted; 501 Unimplemented; any other 5xx
// Unavailable; anything else Unknown.
func CodeForHTTPStatus(status int) ErrorCode {
	switch {
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		return InvalidArgument
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return PermissionDenied
	case status == http.StatusNotFound:
		return NotFound
	case status == http.StatusConflict:
		return AlreadyExists
	case status == http.StatusPreconditionFailed:
		return FailedPrecondition
	case status == http.StatusRequestTimeout:
		return DeadlineExceeded
	case status == http.StatusTooManyRequests:
		return ResourceExhausted
	case status == http.StatusNotImplemented:
		return Unimplemented
	case status >= 500 && status <= 599:
		return Unavailable
	}
	return Unknown
}

// ParseRetryAfter reads a Retry-After header value: a number of seconds, or
// an HTTP date taken relative to now. It returns 0 for an empty, invalid or
// past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 && s < 1e9 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
