package environment

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Duration is a time.Duration that reads and writes as a Go duration string
// ("90m", "1h30m") in YAML and JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns the Go duration string.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a Go duration such as \"2h\" or \"90m\"", string(b))
	}
	*d = Duration(v)
	return nil
}

// UnmarshalJSON accepts a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		if math.Abs(n) > math.MaxInt64/float64(time.Second) {
			return fmt.Errorf("invalid duration %s: out of range", string(b))
		}
		*d = Duration(time.Duration(n * float64(time.Second)))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("invalid duration %s: use a string such as \"2h\"", string(b))
	}
	return d.UnmarshalText([]byte(s))
}

// UnmarshalYAML accepts a duration string or a number of seconds, as
// UnmarshalJSON does.
func (d *Duration) UnmarshalYAML(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) > math.MaxInt64/float64(time.Second) {
			return fmt.Errorf("invalid duration %s: out of range", s)
		}
		*d = Duration(time.Duration(n * float64(time.Second)))
		return nil
	}
	var str string
	if err := yaml.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("invalid duration %s: use a string such as \"2h\"", s)
	}
	return d.UnmarshalText([]byte(str))
}

// Window is a weekly maintenance window: every Day at Start (local time in
// TimeZone) for Duration.
type Window struct {
	// Day is the weekday in English ("Sunday").
	Day string `json:"day"`
	// Start is "HH:MM", 24-hour clock.
	Start string `json:"start"`
	// Duration is between 30 minutes and 12 hours.
	Duration Duration `json:"duration"`
	// TimeZone is an IANA name ("Europe/Berlin"); empty means UTC.
	TimeZone string `json:"timeZone,omitempty"`
}

// Node is one planned node of an environment: which tier and role it has,
// and where Placement put it.
type Node struct {
	// Name is "<env>-<tier>-<index>" (the PostgreSQL primary and secondary
	// are "<env>-postgresql-1" and "-2").
	Name string
	Tier Tier
	Role string
	// Index is the node's 1-based index within its tier.
	Index       int
	Zone        string
	FaultDomain string
	Machine     Machine
}
