package backup_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // golden files must not depend on the host's zoneinfo

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/backup"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	require.NoError(t, err)
	return l
}

func TestScheduleNext(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	kolkata := mustLoc(t, "Asia/Kolkata")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct {
		name  string
		s     backup.Schedule
		after string
		want  string
	}{
		{"hourly utc", backup.Schedule{Tier: backup.Hourly}, "2026-03-01T10:20:00Z", "2026-03-01T11:00:00Z"},
		{"hourly on the hour is strictly after", backup.Schedule{Tier: backup.Hourly}, "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"},
		{"hourly minute 15", backup.Schedule{Tier: backup.Hourly, Minute: 15}, "2026-03-01T10:14:59Z", "2026-03-01T10:15:00Z"},
		{"hourly half-hour zone", backup.Schedule{Tier: backup.Hourly, Location: kolkata}, "2026-03-01T10:10:00Z", "2026-03-01T10:30:00Z"},
		// Berlin springs forward 2026-03-29 02:00 -> 03:00 (01:00Z).
		{"hourly across spring forward", backup.Schedule{Tier: backup.Hourly, Location: berlin}, "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z"},
		// Berlin falls back 2026-10-25 03:00 -> 02:00 (01:00Z): 02:00 local happens twice.
		{"hourly first 02:00 of fall back", backup.Schedule{Tier: backup.Hourly, Location: berlin}, "2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z"},
		{"hourly second 02:00 of fall back", backup.Schedule{Tier: backup.Hourly, Location: berlin}, "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z"},
		{"weekly: Sunday's last hour", backup.Schedule{Tier: backup.Weekly}, "2026-11-26T00:00:00Z", "2026-11-29T23:00:00Z"},
		{"weekly in Berlin", backup.Schedule{Tier: backup.Weekly, Location: berlin}, "2026-11-26T00:00:00Z", "2026-11-29T22:00:00Z"},
		{"monthly: last Sunday", backup.Schedule{Tier: backup.Monthly}, "2026-11-30T00:00:00Z", "2026-12-27T23:00:00Z"},
		{"monthly same day earlier", backup.Schedule{Tier: backup.Monthly, Minute: 5}, "2026-11-29T10:00:00Z", "2026-11-29T23:05:00Z"},
		{"invalid minute", backup.Schedule{Tier: backup.Hourly, Minute: 60}, "2026-11-29T10:00:00Z", "0001-01-01T00:00:00Z"},
		{"unknown tier", backup.Schedule{Tier: "daily"}, "2026-11-29T10:00:00Z", "0001-01-01T00:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.Next(utc(tc.after))
			assert.True(t, got.Equal(utc(tc.want)), "got %s want %s", got.UTC(), tc.want)
		})
	}
}

func TestHourlyScheduleCoversEveryClockHourAcrossDST(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	s := backup.Schedule{Tier: backup.Hourly, Location: berlin}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for at := start; at.Before(start.AddDate(1, 0, 0)); n++ {
		next := s.Next(at)
		require.Equal(t, time.Hour, next.Sub(at), "at %s", at)
		at = next
	}
	assert.Equal(t, 365*24, n)
}

func TestDefaultPolicy(t *testing.T) {
	p := backup.DefaultPolicy()
	require.NoError(t, p.Validate())
	assert.Equal(t, time.Hour, p.RPO(backup.Hourly))
	assert.Equal(t, 7*24*time.Hour, p.RPO(backup.Weekly))
	assert.Nil(t, p.Location)
	at := time.Date(2026, 11, 26, 0, 30, 0, 0, time.UTC)
	assert.Equal(t, time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC), p.Next(at))
	bad := backup.Policy{Tiers: []backup.TierPolicy{{Tier: "daily", Schedule: backup.Schedule{Minute: 70}}, {Tier: "daily"}}}
	err := bad.Validate()
	require.Error(t, err)
	for _, want := range []string{"Tiers[0].Tier", "Tiers[1].Tier: \"daily\" appears twice", "Minute", "Keep"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Error(t, backup.Policy{}.Validate())
}

func pts(times ...time.Time) []backup.RecoveryPoint {
	out := make([]backup.RecoveryPoint, len(times))
	for i, t := range times {
		out[i] = backup.RecoveryPoint{ID: fmt.Sprintf("%s-%08x", t.UTC().Format("20060102T150405Z"), i), Time: t}
	}
	return out
}

func TestClassify(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	p := backup.DefaultPolicy().In(berlin)
	// 2026-10-25 is the last Sunday of October and Berlin's fall-back day.
	ps := pts(
		time.Date(2026, 10, 25, 0, 10, 0, 0, time.UTC),  // 02:10 CEST
		time.Date(2026, 10, 25, 0, 40, 0, 0, time.UTC),  // 02:40 CEST: newest of its hour
		time.Date(2026, 10, 25, 1, 10, 0, 0, time.UTC),  // 02:10 CET: the repeated hour, its own hour
		time.Date(2026, 10, 25, 22, 50, 0, 0, time.UTC), // 23:50 CET: newest of the Sunday -> weekly, monthly
		time.Date(2026, 10, 25, 23, 10, 0, 0, time.UTC), // Monday 00:10 CET
	)
	got := p.Classify(ps)
	assert.Equal(t, [][]backup.Tier{
		nil, {backup.Hourly}, {backup.Hourly},
		{backup.Hourly, backup.Weekly, backup.Monthly}, {backup.Hourly},
	}, got)
	// In UTC the same instants fall on other days: 23:10Z Sunday is newest.
	got = backup.DefaultPolicy().Classify(ps)
	assert.Equal(t, []backup.Tier{backup.Hourly, backup.Weekly, backup.Monthly}, got[4])
}

func checkInvariants(t *testing.T, p backup.Policy, in []backup.RecoveryPoint, now time.Time) {
	t.Helper()
	keep, expire := p.Retain(in, now)
	require.Equal(t, len(in), len(keep)+len(expire), "keep ∪ expire = input")
	ids := map[string]int{}
	for _, x := range in {
		ids[x.ID]++
	}
	for _, x := range append(slices.Clone(keep), expire...) {
		ids[x.ID]--
		require.GreaterOrEqual(t, ids[x.ID], 0, "point %s returned twice", x.ID)
	}
	for _, k := range keep {
		require.NotEmpty(t, k.Reasons, "kept point %s has a reason", k.ID)
	}
	for _, e := range expire {
		require.Empty(t, e.Reasons)
	}
	if len(in) > 0 {
		newest := slices.MaxFunc(in, func(a, b backup.RecoveryPoint) int {
			if c := a.Time.Compare(b.Time); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		require.Equal(t, newest.ID, keep[0].ID, "newest kept first")
		require.Equal(t, backup.ReasonNewest, keep[0].Reasons[0])
	}
	require.True(t, slices.IsSortedFunc(keep, func(a, b backup.RecoveryPoint) int { return b.Time.Compare(a.Time) }))
	keep2, expire2 := p.Retain(keep, now)
	require.Empty(t, expire2, "idempotent")
	require.Equal(t, keep, keep2)
}

func TestRetainInvariants(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		p := backup.DefaultPolicy()
		if i%2 == 1 {
			p = p.In(berlin)
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		n := rng.IntN(400)
		times := make([]time.Time, n)
		for j := range times {
			times[j] = now.Add(-time.Duration(rng.Int64N(int64(400 * 24 * time.Hour))))
			if rng.IntN(20) == 0 && j > 0 {
				times[j] = times[j-1] // duplicates of a timestamp
			}
		}
		checkInvariants(t, p, pts(times...), now)
	}
	checkInvariants(t, backup.DefaultPolicy(), nil, time.Now())
	keep, expire := backup.DefaultPolicy().Retain(nil, time.Now())
	assert.Empty(t, keep)
	assert.Empty(t, expire)
}

func TestRetainDefaultCounts(t *testing.T) {
	// A year of hourly points in UTC: 7*24 hourly, 4 weekly (one overlaps
	// with the hourly window), 12 monthly.
	now := time.Date(2026, 11, 26, 0, 30, 0, 0, time.UTC)
	var times []time.Time
	for at := now.Add(-365 * 24 * time.Hour).Truncate(time.Hour); !at.After(now); at = at.Add(time.Hour) {
		times = append(times, at)
	}
	keep, _ := backup.DefaultPolicy().Retain(pts(times...), now)
	count := map[backup.Reason]int{}
	for _, k := range keep {
		for _, r := range k.Reasons {
			count[r]++
		}
	}
	assert.Equal(t, 7*24, count[backup.ReasonHourly])
	assert.Equal(t, 4, count[backup.ReasonWeekly])
	assert.Equal(t, 12, count[backup.ReasonMonthly])
	assert.Equal(t, 1, count[backup.ReasonNewest])
}

// TestRetainGolden applies the default policy in Europe/Berlin (and UTC) to a
// year of hourly points with gaps, extra points and both DST changes, at
// several "now" instants, and compares the decisions with testdata/retain.
func TestRetainGolden(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	start := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	var times []time.Time
	for i, at := 0, start; at.Before(start.AddDate(1, 0, 0)); i, at = i+1, at.Add(time.Hour) {
		switch {
		case i%97 == 13: // a missed backup
			continue
		case i%53 == 7: // a manual backup in the same hour
			times = append(times, at.Add(17*time.Minute))
		}
		times = append(times, at.Add(time.Duration(i%3)*time.Minute))
	}
	// Extra points around Berlin's DST changes of 2026.
	times = append(times,
		time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 1, 0, 0, time.UTC),
		time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC))
	in := pts(times...)
	for _, tc := range []struct {
		name string
		p    backup.Policy
		now  time.Time
	}{
		{"berlin-after-fall-back", backup.DefaultPolicy().In(berlin), time.Date(2026, 10, 27, 12, 0, 0, 0, time.UTC)},
		{"berlin-after-spring-forward", backup.DefaultPolicy().In(berlin), time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)},
		{"utc-end-of-year", backup.DefaultPolicy(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var visible []backup.RecoveryPoint
			for _, x := range in {
				if !x.Time.After(tc.now) {
					visible = append(visible, x)
				}
			}
			checkInvariants(t, tc.p, visible, tc.now)
			keep, expire := tc.p.Retain(visible, tc.now)
			var b strings.Builder
			loc := tc.p.Location
			if loc == nil {
				loc = time.UTC
			}
			fmt.Fprintf(&b, "# now %s (%s); %d points: keep %d, expire %d\n", tc.now.In(loc).Format(time.RFC3339), loc, len(visible), len(keep), len(expire))
			for _, k := range keep {
				rs := make([]string, len(k.Reasons))
				for i, r := range k.Reasons {
					rs[i] = string(r)
				}
				fmt.Fprintf(&b, "keep %s %s %s\n", k.ID, k.Time.In(loc).Format("Mon 2006-01-02 15:04 MST"), strings.Join(rs, ","))
			}
			golden := filepath.Join("testdata", "retain", tc.name+".golden")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -run TestRetainGolden -update to create it")
			assert.Equal(t, string(want), b.String())
		})
	}
}
