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
