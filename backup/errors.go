package backup

import (
	"errors"
	"fmt"
	"strings"

	"github.com/orocloud/orocloud-go/internal/crypto"
	"github.com/orocloud/orocloud-go/providers"
)

// IntegrityError reports a recovery point whose data failed authentication
// or a checksum: a flipped bit, a truncated or swapped object, a tampered
// manifest. Part names the part ("manifest", "db/0003", "media", ...).
// Errors returned by the Engine wrap it in a *providers.Error with code
// Internal; reach it with errors.As, or test with errors.Is(err,
// ErrIntegrity).
type IntegrityError struct {
	Point  string
	Part   string
	Reason string
	Err    error
}

// ErrIntegrity matches every *IntegrityError with errors.Is.
var ErrIntegrity = errors.New("backup: integrity check failed")

// Error names the point, the part and what failed.
func (e *IntegrityError) Error() string {
	return fmt.Sprintf("recovery point %s: part %s: integrity check failed: %s", e.Point, e.Part, e.Reason)
}

// Unwrap returns the cause.
func (e *IntegrityError) Unwrap() error { return e.Err }

// Is matches ErrIntegrity.
func (e *IntegrityError) Is(target error) bool { return target == ErrIntegrity }

func integrity(op, point, part, reason string, cause error) error {
	return &providers.Error{Code: providers.Internal, Op: op, Resource: point,
		Err: &IntegrityError{Point: point, Part: part, Reason: reason, Err: cause}}
}

// asIntegrity converts a crypto integrity failure into the package's error.
func asIntegrity(op, point, part string, err error) error {
	var ce *crypto.IntegrityError
	if errors.As(err, &ce) {
		r := ce.Reason
		if ce.Chunk >= 0 {
			r = fmt.Sprintf("chunk %d: %s", ce.Chunk, ce.Reason)
		} else {
			r = "header: " + r
		}
		return integrity(op, point, part, r, nil)
	}
	return err
}

func invalid(op string, problems []string) error {
	return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: strings.Join(problems, "; ")}
}

func asErr(err error, target **providers.Error) bool { return errors.As(err, target) }

// MissingPartError is the cause (reachable with errors.As) of the
// FailedPrecondition error Restore returns when the target asks for a part
// the point does not hold: "media" (the backup had no media directory) or
// "code" (the backup kept only the code reference). Callers that restore
// whatever a point holds drop that target and call Restore again.
type MissingPartError struct {
	Point string
	Part  string
}

// Error implements error.
func (e *MissingPartError) Error() string { return "point " + e.Point + " has no " + e.Part + " part" }
