package gcp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
)

// OperationError is the raw cause of an error from a long-running Compute
// operation that completed with its error field set. Reach it with
// errors.As.
type OperationError struct {
	// Operation is the operation as last read.
	Operation *computepb.Operation
}

// Error summarises the operation's errors.
func (e *OperationError) Error() string {
	var parts []string
	for _, x := range e.Operation.GetError().GetErrors() {
		parts = append(parts, x.GetCode()+": "+x.GetMessage())
	}
	return fmt.Sprintf("operation %s failed: %s", e.Operation.GetName(), strings.Join(parts, "; "))
}

// operationError returns nil for a successful operation, else an error with
// the code of its HTTP status or of its first error code.
func operationError(o *computepb.Operation, op, resource string) error {
	errs := o.GetError().GetErrors()
	if len(errs) == 0 && o.GetHttpErrorStatusCode() < 400 {
		return nil
	}
	code := providers.Unknown
	if s := int(o.GetHttpErrorStatusCode()); s >= 400 {
		code = codeOfStatus(s, "")
	}
	if len(errs) > 0 {
		if c := codeOfOperationError(errs[0].GetCode()); c != providers.Unknown {
			code = c
		}
	}
	return &providers.Error{Code: code, Op: op, Resource: resource, Err: &OperationError{Operation: o}}
}

func codeOfOperationError(c string) providers.ErrorCode {
	switch {
	case c == "RESOURCE_ALREADY_EXISTS" || c == "ALREADY_EXISTS":
		return providers.AlreadyExists
	case c == "RESOURCE_NOT_FOUND" || c == "NOT_FOUND":
		return providers.NotFound
	case strings.HasPrefix(c, "QUOTA_EXCEEDED") || strings.HasPrefix(c, "ZONE_RESOURCE_POOL_EXHAUSTED") || c == "RATE_LIMIT_EXCEEDED":
		return providers.ResourceExhausted
	case c == "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE" || c == "CONDITION_NOT_MET" || c == "RESOURCE_NOT_READY":
		return providers.FailedPrecondition
	case c == "PERMISSION_DENIED" || c == "FORBIDDEN":
		return providers.PermissionDenied
	case strings.HasPrefix(c, "INVALID") || c == "BAD_REQUEST" || c == "REQUIRED_FIELD_MISSING":
		return providers.InvalidArgument
	case c == "INTERNAL_ERROR" || c == "SERVICE_UNAVAILABLE":
		return providers.Unavailable
	}
	return providers.Unknown
}

// codeOfStatus maps an HTTP status (and the error's reason) to a code: the
// shared HTTP mapping, with GCP's rate-limit reasons on 403.
func codeOfStatus(status int, reason string) providers.ErrorCode {
	if status == http.StatusForbidden {
		switch reason {
		case "rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded":
			return providers.ResourceExhausted
		}
	}
	return providers.CodeForHTTPStatus(status)
}

// mapError turns a raw client error into a *providers.Error that keeps it
// as its cause. It returns nil for nil and SDK errors unchanged.
func mapError(err error, op, resource string, clk clock.Clock) error {
	if err == nil {
		return nil
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		return err
	}
	var (
		status int
		reason string
		header http.Header
	)
	var ge *googleapi.Error
	var ae *apierror.APIError
	switch {
	case errors.As(err, &ge):
		status, header = ge.Code, ge.Header
		if len(ge.Errors) > 0 {
			reason = ge.Errors[0].Reason
		}
	case errors.As(err, &ae):
		status = ae.HTTPCode()
		reason = ae.Reason()
	}
	code := providers.Unknown
	switch {
	case status != 0:
		code = codeOfStatus(status, reason)
	case errors.Is(err, storage.ErrObjectNotExist), errors.Is(err, storage.ErrBucketNotExist):
		code = providers.NotFound
	case isNetworkError(err):
		code = providers.Unavailable
	}
	out := providers.Wrap(err, code, op, resource).(*providers.Error)
	if header != nil {
		out.RetryAfter = providers.ParseRetryAfter(header.Get("Retry-After"), clk.Now())
	}
	return out
}

func isNetworkError(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

// newRequestID returns a random UUID (version 4), the form the Compute API
// takes as requestId.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
