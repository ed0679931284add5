package backup

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Tier is a class of recovery point with its own schedule and retention.
type Tier string

// The tiers of the reference policy.
const (
	// Hourly: the newest point of its clock hour.
	Hourly Tier = "hourly"
	// Weekly: the newest point taken on a Sunday.
	Weekly Tier = "weekly"
	// Monthly: the weekly point of the month's last Sunday.
	Monthly Tier = "monthly"
)

// Schedule says when backups of a tier are due, in the policy's location.
// Every tier is fed by the same backups (the hourly ones): the weekly point
// is the last hourly point of a Sunday, the monthly point the weekly point of
// the last Sunday of a month, so their schedules are the times at which
// those points are taken.
type Schedule struct {
	// Tier selects the cadence: every hour, every Sunday at the last hour of
	// the day, or the last Sunday of each month at the last hour of the day.
	Tier Tier
	// Minute is the minute past the hour at which a backup starts (0-59).
	Minute int
	// Location is the time zone of the clock hours, Sundays and months (nil
	// = UTC).
	Location *time.Location
}

// Next returns the first backup time of the schedule strictly after after.
// It returns the zero time for an invalid schedule.
func (s Schedule) Next(after time.Time) time.Time {
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	if s.Minute < 0 || s.Minute > 59 {
		return time.Time{}
	}
	switch s.Tier {
	case Hourly:
		l := after.In(loc)
		c := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), s.Minute, 0, 0, loc)
		// Step in absolute hours so that DST transitions neither skip nor
		// repeat a backup (each clock hour, including a repeated one, gets one).
		for !c.After(after) {
			c = c.Add(time.Hour)
		}
		for c.Sub(after) > time.Hour { // time.Date normalised into a later hour
			c = c.Add(-time.Hour)
		}
		return c
	case Weekly, Monthly:
		l := after.In(loc)
		d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
		for i := 0; i < 400; i++ {
			day := d.AddDate(0, 0, i)
			if day.Weekday() != time.Sunday || (s.Tier == Monthly && !lastSundayOfMonth(day)) {
				continue
			}
			c := lastSlotOfDay(day, s.Minute, loc)
			if c.After(after) {
				return c
			}
		}
	}
	return time.Time{}
}

// lastSlotOfDay is the last hourly backup time (at minute) on day's date.
func lastSlotOfDay(day time.Time, minute int, loc *time.Location) time.Time {
	c := time.Date(day.Year(), day.Month(), day.Day(), 23, minute, 0, 0, loc)
	for c.Day() != day.Day() { // 23:mm does not exist (rare zones): step back
		c = c.Add(-time.Hour)
	}
	return c
}

func lastSundayOfMonth(t time.Time) bool {
	return t.Weekday() == time.Sunday && t.AddDate(0, 0, 7).Month() != t.Month()
}

// TierPolicy is the schedule, retention and recovery point objective of one
// tier.
type TierPolicy struct {
	Tier     Tier
	Schedule Schedule
	// Keep is how long points of the tier are kept, as a fixed duration;
	// KeepMonths, when set, is used instead, as calendar months.
	Keep       time.Duration
	KeepMonths int
	// RPO is the most data the tier can lose: the longest gap between two
	// of its points.
	RPO time.Duration
}

// Policy is a backup schedule and retention policy. The zero value is not
// useful; start from DefaultPolicy.
type Policy struct {
	// Location is the time zone of clock hours, Sundays and months (nil =
	// UTC).
	Location *time.Location
	// Tiers are the tiers, in the order Hourly, Weekly, Monthly. A tier
	// missing from the list keeps nothing.
	Tiers []TierPolicy
}

// DefaultPolicy returns the reference policy in UTC: hourly backups kept 7
// days (RPO 1 hour), weekly backups (Sunday) kept 4 weeks, monthly backups
// (last Sunday of the month) kept 12 months.
func DefaultPolicy() Policy {
	return Policy{Tiers: []TierPolicy{
		{Tier: Hourly, Schedule: Schedule{Tier: Hourly}, Keep: 7 * 24 * time.Hour, RPO: time.Hour},
		{Tier: Weekly, Schedule: Schedule{Tier: Weekly}, Keep: 28 * 24 * time.Hour, RPO: 7 * 24 * time.Hour},
		{Tier: Monthly, Schedule: Schedule{Tier: Monthly}, KeepMonths: 12, RPO: 5 * 7 * 24 * time.Hour},
	}}
}

// In returns a copy of p whose clock hours, Sundays and months are in loc.
func (p Policy) In(loc *time.Location) Policy {
	q := p
	q.Location = loc
	q.Tiers = slices.Clone(p.Tiers)
	for i := range q.Tiers {
		q.Tiers[i].Schedule.Location = loc
	}
	return q
}

func (p Policy) loc() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// Validate reports every problem of the policy at once.
func (p Policy) Validate() error {
	var errs []string
	seen := map[Tier]bool{}
	if len(p.Tiers) == 0 {
		errs = append(errs, "Tiers: at least one tier is required")
	}
	for i, t := range p.Tiers {
		f := fmt.Sprintf("Tiers[%d]", i)
		switch t.Tier {
		case Hourly, Weekly, Monthly:
		default:
			errs = append(errs, fmt.Sprintf("%s.Tier: %q is not hourly, weekly or monthly", f, t.Tier))
		}
		if seen[t.Tier] {
			errs = append(errs, fmt.Sprintf("%s.Tier: %q appears twice", f, t.Tier))
		}
		seen[t.Tier] = true
		if t.Keep < 0 || t.KeepMonths < 0 {
			errs = append(errs, f+": Keep and KeepMonths must not be negative")
		}
		if t.Keep == 0 && t.KeepMonths == 0 {
			errs = append(errs, f+": one of Keep or KeepMonths must be set")
		}
		if t.Schedule.Minute < 0 || t.Schedule.Minute > 59 {
			errs = append(errs, fmt.Sprintf("%s.Schedule.Minute: %d is not between 0 and 59", f, t.Schedule.Minute))
		}
		if t.Schedule.Tier != "" && t.Schedule.Tier != t.Tier {
			errs = append(errs, fmt.Sprintf("%s.Schedule.Tier: %q differs from the tier %q", f, t.Schedule.Tier, t.Tier))
		}
	}
	if len(errs) > 0 {
		return invalid("backup.Policy", errs)
	}
	return nil
}

// Next returns the first time after after at which any tier is due: the
// time the scheduler takes the next backup.
func (p Policy) Next(after time.Time) time.Time {
	var next time.Time
	for _, t := range p.Tiers {
		s := t.Schedule
		if s.Tier == "" {
			s.Tier = t.Tier
		}
		if s.Location == nil {
			s.Location = p.Location
		}
		n := s.Next(after)
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next
}

// RPO returns the recovery point objective of tier, or 0 when the policy
// has no such tier.
func (p Policy) RPO(tier Tier) time.Duration {
	for _, t := range p.Tiers {
		if t.Tier == tier {
			return t.RPO
		}
	}
	return 0
}

// Reason says why Retain keeps a point.
type Reason string

// The reasons of Retain.
const (
	ReasonNewest  Reason = "newest point"
	ReasonHourly  Reason = "hourly"
	ReasonWeekly  Reason = "weekly"
	ReasonMonthly Reason = "monthly"
)

// classified is a point's position in points, its time, and its tiers as
// a bit set (1 hourly, 2 weekly, 4 monthly).
type classified struct {
	idx  int
	ns   int64
	tier uint8
}

const (
	bitHourly  = 1
	bitWeekly  = 2
	bitMonthly = 4
)

var tierOrder = [...]Tier{Hourly, Weekly, Monthly}

// Classify returns, for each point (by index in points), the tiers it belongs
// to, judged from the timestamps of all points: hourly if it is the newest
// point of its clock hour (a clock hour repeated by a DST change counts
// twice), weekly if it is the newest point taken on a Sunday, monthly if it
// is the weekly point of the last Sunday of its month.
func (p Policy) Classify(points []RecoveryPoint) [][]Tier {
	cs := p.classify(points)
	out := make([][]Tier, len(points))
	for _, c := range cs {
		for i, t := range tierOrder {
			if c.tier&(1<<i) != 0 {
				out[c.idx] = append(out[c.idx], t)
			}
		}
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// classify returns the points sorted newest first with their tiers. Sorted
// by time, the points of one clock hour (or one day) are adjacent, so the
// newest of each is the first whose hour (day) differs from the previous
// point's: one pass, no maps. Local hours and days come from the zone
// offset in effect at each point, so a repeated DST hour is its own hour.
func (p Policy) classify(points []RecoveryPoint) []classified {
	loc := p.loc()
	cs := make([]classified, len(points))
	for i := range points {
		cs[i] = classified{idx: i, ns: points[i].Time.UnixNano()}
	}
	slices.SortFunc(cs, func(a, b classified) int {
		if a.ns != b.ns {
			return cmp.Compare(b.ns, a.ns)
		}
		return cmp.Compare(points[b.idx].ID, points[a.idx].ID)
	})
	prevHour, prevOff, prevDay := int64(math.MinInt64), 0, int64(math.MinInt64)
	// The zone offset changes a few times a year: cache the current zone
	// period instead of looking the offset up for every point.
	var zStart, zEnd time.Time
	off, zValid := 0, false
	for i := range cs {
		t := points[cs[i].idx].Time
		if !zValid || t.Before(zStart) || (!zEnd.IsZero() && !t.Before(zEnd)) {
			lt := t.In(loc)
			_, off = lt.Zone()
			zStart, zEnd = lt.ZoneBounds()
			zValid = !zStart.IsZero() || !zEnd.IsZero()
		}
		local := t.Unix() + int64(off)
		hour, day := floorDiv(local, 3600), floorDiv(local, 86400)
		if hour != prevHour || off != prevOff {
			cs[i].tier |= bitHourly
		}
		if day != prevDay && ((day+4)%7+7)%7 == 0 { // 1970-01-01 was a Thursday
			cs[i].tier |= bitWeekly
			sunday := time.Unix(day*86400, 0).UTC()
			if lastSundayOfMonth(sunday) {
				cs[i].tier |= bitMonthly
			}
		}
		prevHour, prevOff, prevDay = hour, off, day
	}
	return cs
}

// Retain applies the policy to points at time now and returns the points to
// keep and those to expire, each newest first. Every kept point carries the
// reasons it is kept (RecoveryPoint.Reasons) and every returned point its
// tiers (RecoveryPoint.Tiers). Keep: hourly points newer than now minus the
// hourly Keep, weekly points newer than now minus the weekly Keep, monthly
// points newer than now minus KeepMonths calendar months (in the policy's
// location), and always the newest point. Retain is a pure function: it
// reads no clock, and applying it again to keep keeps all of keep. It runs
// in O(n log n) with a constant number of allocations.
func (p Policy) Retain(points []RecoveryPoint, now time.Time) (keep, expire []RecoveryPoint) {
	if len(points) == 0 {
		return nil, nil
	}
	cs := p.classify(points)
	var cutoff [3]int64
	var has [3]bool
	for _, t := range p.Tiers {
		i := slices.Index(tierOrder[:], t.Tier)
		if i < 0 {
			continue
		}
		has[i] = true
		if t.KeepMonths > 0 {
			cutoff[i] = now.In(p.loc()).AddDate(0, -t.KeepMonths, 0).UnixNano()
		} else {
			cutoff[i] = now.Add(-t.Keep).UnixNano()
		}
	}
	reasons := [3]Reason{ReasonHourly, ReasonWeekly, ReasonMonthly}
	// One backing array each for all tiers and reasons (at most 3 and 4 per point).
	nt, nr := 0, 0
	for n, c := range cs {
		for i := range 3 {
			if c.tier&(1<<i) != 0 {
				nt++
				if has[i] && c.ns > cutoff[i] {
					nr++
				}
			}
		}
		if n == 0 {
			nr++
		}
	}
	tierBuf := make([]Tier, 0, nt)
	reasonBuf := make([]Reason, 0, nr)
	nkeep := 0
	for n, c := range cs {
		kept := n == 0
		for i := range 3 {
			kept = kept || (c.tier&(1<<i) != 0 && has[i] && c.ns > cutoff[i])
		}
		if kept {
			nkeep++
		}
	}
	keep = make([]RecoveryPoint, 0, nkeep)
	expire = make([]RecoveryPoint, 0, len(cs)-nkeep)
	for n, c := range cs {
		pt := points[c.idx]
		t0, r0 := len(tierBuf), len(reasonBuf)
		if n == 0 {
			reasonBuf = append(reasonBuf, ReasonNewest)
		}
		for i, t := range tierOrder {
			if c.tier&(1<<i) == 0 {
				continue
			}
			tierBuf = append(tierBuf, t)
			if has[i] && c.ns > cutoff[i] {
				reasonBuf = append(reasonBuf, reasons[i])
			}
		}
		pt.Tiers, pt.Reasons = nil, nil
		if len(tierBuf) > t0 {
			pt.Tiers = tierBuf[t0:len(tierBuf):len(tierBuf)]
		}
		if len(reasonBuf) > r0 {
			pt.Reasons = reasonBuf[r0:len(reasonBuf):len(reasonBuf)]
			keep = append(keep, pt)
		} else {
			expire = append(expire, pt)
		}
	}
	return keep, expire
}
