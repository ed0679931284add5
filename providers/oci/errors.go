package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/orocloud/orocloud-go/providers"
)

type httpResponse = http.Response

// codeForStatus maps an OCI HTTP status and service error code to a
// providers.ErrorCode.
func codeForStatus(status int, svcCode string) providers.ErrorCode {
	switch {
	case status == http.StatusBadRequest && (strings.Contains(svcCode, "LimitExceeded") || strings.Contains(svcCode, "QuotaExceeded")):
		return providers.ResourceExhausted
	case status == http.StatusConflict && !strings.Contains(svcCode, "AlreadyExists"):
		return providers.FailedPrecondition
	}
	return providers.CodeForHTTPStatus(status)
}

// mapError turns an SDK or transport error into a *providers.Error that
// keeps the raw error (a common.ServiceError, a *url.Error) reachable with
// errors.As, and carries the service's Retry-After.
func mapError(op, resource string, raw *http.Response, err error, now func() time.Time) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return providers.Wrap(err, providers.Canceled, op, resource)
	}
	if se, ok := common.IsServiceError(err); ok {
		e := &providers.Error{
			Code:     codeForStatus(se.GetHTTPStatusCode(), se.GetCode()),
			Op:       op,
			Resource: resource,
			Msg:      fmt.Sprintf("HTTP %d %s (opc-request-id %s)", se.GetHTTPStatusCode(), se.GetCode(), se.GetOpcRequestID()),
			Err:      err,
		}
		if raw != nil {
			e.RetryAfter = providers.ParseRetryAfter(raw.Header.Get("Retry-After"), now())
		}
		return e
	}
	if isNetworkError(err) {
		return &providers.Error{Code: providers.Unavailable, Op: op, Resource: resource, Msg: "network error", Err: err}
	}
	return &providers.Error{Code: providers.Unknown, Op: op, Resource: resource, Err: err}
}

func isNetworkError(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// escapeObjectName is the Object Storage client's request interceptor. The
// SDK puts object names into the URL path unescaped, so a key with '/'
// (every backup key) would become extra path segments. It rewrites
// /n/{ns}/b/{bucket}/o/{object} and /u/{object} with the object name
// percent-encoded as one segment. It runs before signing, so the signature
// covers the escaped path.
func escapeObjectName(req *http.Request) error {
	if req == nil || req.URL == nil {
		return nil
	}
	parts := strings.SplitN(req.URL.Path, "/", 7)
	// ["", "n", ns, "b", bucket, "o"|"u", object]
	if len(parts) != 7 || parts[1] != "n" || parts[3] != "b" || (parts[5] != "o" && parts[5] != "u") || parts[6] == "" {
		return nil
	}
	prefix := strings.Join(parts[:6], "/")
	req.URL.RawPath = (&url.URL{Path: prefix}).EscapedPath() + "/" + url.PathEscape(parts[6])
	return nil
}
