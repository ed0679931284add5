package providers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrorCode classifies an error. Every error returned by a driver, and every
// error the SDK builds on top of drivers, carries exactly one ErrorCode,
// readable with Code.
type ErrorCode int

// The error codes of the SDK. They follow the gRPC/gocloud.dev vocabulary so
// that mapping from cloud APIs is mechanical.
const (
	// OK is the code of a nil error.
	OK ErrorCode = iota
	// Unknown is the code of an error that carries no code.
	Unknown
	// NotFound: the resource does not exist.
	NotFound
	// AlreadyExists: a resource of that name exists and is not ours, or
	// differs from what was asked in a way that cannot be reconciled.
	AlreadyExists
	// InvalidArgument: the request is malformed; retrying cannot help.
	InvalidArgument
	// FailedPrecondition: the system is not in a state that allows the
	// operation (a non-empty bucket, a resource in use, an etag mismatch).
	FailedPrecondition
	// PermissionDenied: the caller is not allowed to do this.
	PermissionDenied
	// ResourceExhausted: quota or rate limit; transient.
	ResourceExhausted
	// Unavailable: the service cannot be reached or answered 5xx; transient.
	Unavailable
	// DeadlineExceeded: a timeout elapsed; transient.
	DeadlineExceeded
	// Canceled: the caller's context was canceled; permanent for this call.
	Canceled
	// Unimplemented: the provider does not support the capability.
	Unimplemented
	// Internal: a bug or broken invariant (an integrity failure, say).
	Internal
)

var codeNames = [...]string{
	OK:                 "OK",
	Unknown:            "Unknown",
	NotFound:           "NotFound",
	AlreadyExists:      "AlreadyExists",
	InvalidArgument:    "InvalidArgument",
	FailedPrecondition: "FailedPrecondition",
	PermissionDenied:   "PermissionDenied",
	ResourceExhausted:  "ResourceExhausted",
	Unavailable:        "Unavailable",
	DeadlineExceeded:   "DeadlineExceeded",
	Canceled:           "Canceled",
	Unimplemented:      "Unimplemented",
	Internal:           "Internal",
}

// String returns the code's name, such as "NotFound".
func (c ErrorCode) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("ErrorCode(%d)", int(c))
}

// Transient reports whether an error of this code may succeed if retried
// unchanged: ResourceExhausted, Unavailable and DeadlineExceeded.
func (c ErrorCode) Transient() bool {
	switch c {
	case ResourceExhausted, Unavailable, DeadlineExceeded:
		return true
	}
	return false
}

// Error is the SDK's error type. Op names the operation ("gcp.CreateInstance"),
// Resource the object it was about; Err is the raw cause (a cloud SDK error,
// say), reachable through errors.As. Error never includes secrets: drivers
// must not put credentials or tokens in Msg.
type Error struct {
	Code     ErrorCode
	Op       string
	Resource string
	Msg      string
	// RetryAfter is the delay the service asked for (HTTP Retry-After), or 0.
	RetryAfter time.Duration
	Err        error

	msgIncludesCause bool // Msg already spells out Err (built by Errorf)
}

// Error implements error.
func (e *Error) Error() string {
	s := e.Op
	if e.Resource != "" {
		if s != "" {
			s += " "
		}
		s += e.Resource
	}
	if s != "" {
		s += ": "
	}
	s += e.Code.String()
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil && !e.msgIncludesCause {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the raw cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) (and the other sentinels) true for any
// *Error with that code.
func (e *Error) Is(target error) bool {
	s, ok := target.(*sentinel)
	return ok && s.code == e.Code
}

type sentinel struct{ code ErrorCode }

func (s *sentinel) Error() string { return s.code.String() }

// Sentinels for errors.Is. errors.Is(err, ErrNotFound) is true exactly when
// Code(err) == NotFound.
var (
	ErrNotFound           error = &sentinel{NotFound}
	ErrAlreadyExists      error = &sentinel{AlreadyExists}
	ErrInvalidArgument    error = &sentinel{InvalidArgument}
	ErrFailedPrecondition error = &sentinel{FailedPrecondition}
	ErrPermissionDenied   error = &sentinel{PermissionDenied}
	ErrResourceExhausted  error = &sentinel{ResourceExhausted}
	ErrUnavailable        error = &sentinel{Unavailable}
	ErrDeadlineExceeded   error = &sentinel{DeadlineExceeded}
	ErrCanceled           error = &sentinel{Canceled}
	ErrUnimplemented      error = &sentinel{Unimplemented}
	ErrInternal           error = &sentinel{Internal}
)

// Errorf returns an *Error with the code and a formatted message. A %w verb
// in format sets the error's cause.
func Errorf(code ErrorCode, format string, args ...any) error {
	w := fmt.Errorf(format, args...)
	return &Error{Code: code, Msg: w.Error(), Err: errors.Unwrap(w), msgIncludesCause: true}
}

// Wrap returns err with the given code, operation and resource. It returns
// nil for a nil err. Context errors are classified as Canceled or
// DeadlineExceeded whatever code is given.
func Wrap(err error, code ErrorCode, op, resource string) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		code = Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = DeadlineExceeded
	}
	return &Error{Code: code, Op: op, Resource: resource, Err: err}
}

// Code returns the code of err: OK for nil; the code of the first *Error in
// its chain; Canceled or DeadlineExceeded for context errors; a sentinel's
// code; Unknown otherwise.
func Code(err error) ErrorCode {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var s *sentinel
	if errors.As(err, &s) {
		return s.code
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	}
	return Unknown
}

// IsTransient reports whether err may succeed if retried: its code is
// ResourceExhausted, Unavailable or DeadlineExceeded, and it is not the
// caller's own context expiring.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	return Code(err).Transient()
}

// RetryAfter returns the delay a service asked for before a retry, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	for err != nil {
		if !errors.As(err, &e) {
			return 0, false
		}
		if e.RetryAfter > 0 {
			return e.RetryAfter, true
		}
		err = e.Err
	}
	return 0, false
}
