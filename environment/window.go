package environment

import (
	"fmt"
	"strings"
	"time"
)

// weekdays by lower-case English name.
var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

func parseWeekday(s string) (time.Weekday, error) {
	if s == "" {
		return 0, fmt.Errorf("required")
	}
	d, ok := weekdayNames[strings.ToLower(s)]
	if !ok {
		return 0, fmt.Errorf("%q is not an English weekday", s)
	}
	return d, nil
}

// loadZone loads an IANA time zone; "" is UTC. "Local" is refused: it
// depends on the machine.
func loadZone(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf("\"Local\" depends on the machine; name an IANA time zone")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not a known IANA time zone", name)
	}
	return loc, nil
}

// parsedWindow is a checked Window.
type parsedWindow struct {
	day      time.Weekday
	hour     int
	minute   int
	duration time.Duration
	loc      *time.Location
}

// parse checks w and returns its parsed form; the error is a
// *ValidationError naming the fields (under "maintenance").
func (w Window) parse() (parsedWindow, error) {
	vs := &violations{}
	checkWindow(vs, "maintenance", w)
	if err := vs.err(""); err != nil {
		return parsedWindow{}, err
	}
	day, _ := parseWeekday(w.Day)
	loc, _ := loadZone(w.TimeZone)
	m := hhmmRE.FindStringSubmatch(w.Start)
	var p parsedWindow
	p.day, p.loc, p.duration = day, loc, w.Duration.D()
	fmt.Sscanf(m[1]+" "+m[2], "%d %d", &p.hour, &p.minute)
	return p, nil
}

// startOn returns the window's start on the local date y-m-d. A start time
// that falls into a spring-forward gap is shifted forward by the length of
// the gap (02:30 on a day the clocks jump from 02:00 to 03:00 starts at
// 03:30); a start time that occurs twice in an autumn fall-back is its first
// occurrence (daylight saving time).
func (p parsedWindow) startOn(y int, m time.Month, d int) time.Time {
	t := time.Date(y, m, d, p.hour, p.minute, 0, 0, p.loc)
	// time.Date picks the later instant of an ambiguous wall-clock time:
	// look for an earlier instant with the same wall clock.
	for _, back := range []time.Duration{2 * time.Hour, time.Hour, 30 * time.Minute} {
		e := t.Add(-back)
		ey, em, ed := e.Date()
		if ey == y && em == m && ed == d && e.Hour() == p.hour && e.Minute() == p.minute {
			return e
		}
	}
	return t
}

// next returns the window in progress at after, or the next one.
func (p parsedWindow) next(after time.Time) (start, end time.Time) {
	local := after.In(p.loc)
	y, m, d := local.Date()
	// A window lasts at most 12 hours, so one in progress started on the
	// previous local day at the earliest; the next starts within 8 days.
	for i := -1; i <= 8; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, p.loc)
		if day.Weekday() != p.day {
			continue
		}
		dy, dm, dd := day.Date()
		s := p.startOn(dy, dm, dd)
		e := s.Add(p.duration)
		if e.After(after) {
			return s, e
		}
	}
	// Unreachable for a parsed window: one of 8 consecutive days is the
	// weekday and its window ends after `after`.
	return time.Time{}, time.Time{}
}

// Next returns the window in progress at after, if any, and otherwise the
// next window to start: the first window whose end is after after. start
// and end are in the window's time zone. The duration is elapsed time, so
// a window that spans a daylight saving change lasts Duration all the same.
// A start time skipped by a spring-forward change is shifted forward by the
// gap; one that occurs twice in the autumn is its first occurrence. It
// returns a *ValidationError (code InvalidArgument) when the window is not
// well formed, or when after is the zero time.
func (w Window) Next(after time.Time) (start, end time.Time, err error) {
	p, err := w.parse()
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if after.IsZero() {
		return time.Time{}, time.Time{}, &ValidationError{Violations: []Violation{{Field: "after", Rule: "the zero time is not a point in time", Hint: "pass the current time from your clock"}}}
	}
	start, end = p.next(after)
	return start, end, nil
}

// Contains reports whether t is inside a window (start ≤ t < end). It
// returns an error when the window is not well formed or t is zero.
func (w Window) Contains(t time.Time) (bool, error) {
	start, end, err := w.Next(t)
	if err != nil {
		return false, err
	}
	return !t.Before(start) && t.Before(end), nil
}

// Validate checks the window alone: an English weekday, a start "HH:MM", a
// duration from 30m to 12h, a loadable IANA time zone. It returns nil or a
// *ValidationError.
func (w Window) Validate() error {
	_, err := w.parse()
	return err
}

// String renders the window as "Sunday 02:00 UTC for 4h0m0s".
func (w Window) String() string {
	tz := w.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	return fmt.Sprintf("%s %s %s for %s", w.Day, w.Start, tz, w.Duration)
}
