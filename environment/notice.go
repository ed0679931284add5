package environment

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/orocloud/orocloud-go/providers"
)

// Severity of an unplanned maintenance notice.
type Severity string

// Severities, from the least to the most urgent.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Valid reports whether s is one of the known severities.
func (s Severity) Valid() bool {
	switch s {
	case SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical:
		return true
	}
	return false
}

// MaxUrgentMaintenance bounds the expected duration of an unplanned
// maintenance notice.
const MaxUrgentMaintenance = 24 * time.Hour

// Notice announces urgent, unplanned maintenance of an environment (a
// critical security patch, say) to its technical contact.
type Notice struct {
	// Environment is the environment's name; AnnounceUrgentMaintenance
	// fills it in when empty.
	Environment string
	// Reason says why the maintenance cannot wait for the window.
	Reason string
	// Start is when the maintenance begins.
	Start time.Time
	// ExpectedDuration is how long it is expected to last (up to
	// MaxUrgentMaintenance).
	ExpectedDuration time.Duration
	// Severity is low, medium, high or critical.
	Severity Severity
	// Contact is who is told; AnnounceUrgentMaintenance sets it to the
	// environment's technical contact.
	Contact Contact
	// InWindow is set by AnnounceUrgentMaintenance: true when the
	// maintenance starts inside the regular maintenance window.
	InWindow bool
}

// String renders the notice on one line.
func (n Notice) String() string {
	return fmt.Sprintf("urgent maintenance of %s (%s) from %s for %s: %s (to %s <%s>)",
		n.Environment, n.Severity, n.Start.Format(time.RFC3339), n.ExpectedDuration, n.Reason, n.Contact.Name, n.Contact.Email)
}

// Notifier delivers notices to an environment's technical contact (by mail,
// a ticket, a chat message...). Notify returns an error when the notice could
// not be delivered; it must honour ctx.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// NotifierFunc adapts a function to the Notifier interface.
type NotifierFunc func(ctx context.Context, n Notice) error

// Notify calls f. A nil f returns an InvalidArgument error.
func (f NotifierFunc) Notify(ctx context.Context, n Notice) error {
	if f == nil {
		return providers.Errorf(providers.InvalidArgument, "environment: nil NotifierFunc")
	}
	return f(ctx, n)
}

// LogNotifier is a Notifier that writes each notice as a structured log
// record at level Warn (Error for critical notices). It never fails.
type LogNotifier struct {
	logger *slog.Logger
}

// NewLogNotifier returns a Notifier logging to logger; a nil logger discards
// the records.
func NewLogNotifier(logger *slog.Logger) *LogNotifier {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &LogNotifier{logger: logger}
}

// Notify logs the notice. A nil *LogNotifier returns an error.
func (l *LogNotifier) Notify(ctx context.Context, n Notice) error {
	if l == nil || l.logger == nil {
		return providers.Errorf(providers.InvalidArgument, "environment: nil LogNotifier; use NewLogNotifier")
	}
	level := slog.LevelWarn
	if n.Severity == SeverityCritical {
		level = slog.LevelError
	}
	l.logger.LogAttrs(ctx, level, "urgent maintenance",
		slog.String("environment", n.Environment),
		slog.String("severity", string(n.Severity)),
		slog.Time("start", n.Start),
		slog.Duration("expected_duration", n.ExpectedDuration),
		slog.Bool("in_window", n.InWindow),
		slog.String("reason", n.Reason),
		slog.String("contact", n.Contact.Name),
		slog.String("contact_email", n.Contact.Email),
	)
	return nil
}

// Validate checks the notice: a reason, a start time, an expected duration
// in (0, MaxUrgentMaintenance], a known severity, and an environment name
// when set. It returns nil or a *ValidationError.
func (n Notice) Validate() error {
	vs := &violations{}
	if n.Environment != "" && !validEnvName(n.Environment) {
		vs.add("notice.environment", fmt.Sprintf("%q is not a valid environment name", n.Environment), "")
	}
	if strings.TrimSpace(n.Reason) == "" {
		vs.add("notice.reason", "required", "say why the maintenance cannot wait for the regular window")
	}
	if n.Start.IsZero() {
		vs.add("notice.start", "required", "when the maintenance begins")
	}
	if n.ExpectedDuration <= 0 || n.ExpectedDuration > MaxUrgentMaintenance {
		vs.add("notice.expectedDuration", fmt.Sprintf("must be in (0, %s] (got %s)", MaxUrgentMaintenance, n.ExpectedDuration), "")
	}
	if !n.Severity.Valid() {
		vs.add("notice.severity", fmt.Sprintf("unknown severity %q", n.Severity), "low, medium, high or critical")
	}
	return vs.err(n.Environment)
}

// AnnounceUrgentMaintenance tells the environment's technical contact of
// urgent, unplanned maintenance through notifier. It fills in the notice's
// Environment (which, when set, must be env's name), Contact (env's
// technical contact, which must be valid) and InWindow, validates the
// notice, and delivers it. Bad input returns a *ValidationError (code
// InvalidArgument) and nothing is sent; a delivery failure is returned
// wrapped, with the notifier's code when it has one (Unavailable
// otherwise), and reachable with errors.As.
func AnnounceUrgentMaintenance(ctx context.Context, env *Environment, notifier Notifier, notice Notice) error {
	vs := &violations{}
	name := ""
	if env == nil {
		vs.add("env", "environment is nil", "")
	} else {
		name = env.Name
		if notice.Environment == "" {
			notice.Environment = env.Name
		} else if notice.Environment != env.Name {
			vs.add("notice.environment", fmt.Sprintf("%q is not the environment announced (%q)", notice.Environment, env.Name), "")
		}
		checkContact(vs, "technicalContact", env.TechnicalContact)
		notice.Contact = env.TechnicalContact
	}
	if notifier == nil {
		vs.add("notifier", "notifier is nil", "use NewLogNotifier or a NotifierFunc")
	}
	if err := notice.Validate(); err != nil {
		vs.list = append(vs.list, err.(*ValidationError).Violations...)
	}
	if err := vs.err(name); err != nil {
		return err
	}
	if env.Maintenance.Day != "" {
		if in, err := env.Maintenance.Contains(notice.Start); err == nil {
			notice.InWindow = in
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return providers.Wrap(err, providers.Canceled, "environment.AnnounceUrgentMaintenance", name)
	}
	if err := notifier.Notify(ctx, notice); err != nil {
		code := providers.Code(err)
		if code == providers.Unknown {
			code = providers.Unavailable
		}
		return providers.Wrap(err, code, "environment.AnnounceUrgentMaintenance", name)
	}
	return nil
}
