package environment_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func win(day, start string, d time.Duration, tz string) environment.Window {
	return environment.Window{Day: day, Start: start, Duration: environment.Duration(d), TimeZone: tz}
}

func TestWindowNext(t *testing.T) {
	for _, tc := range []struct {
		name       string
		w          environment.Window
		after      string
		start, end string
	}{
		{"before, same week", win("Sunday", "02:00", 4*time.Hour, ""), "2026-11-25T10:00:00Z", "2026-11-29T02:00:00Z", "2026-11-29T06:00:00Z"},
		{"exactly at start", win("Sunday", "02:00", 4*time.Hour, "UTC"), "2026-11-29T02:00:00Z", "2026-11-29T02:00:00Z", "2026-11-29T06:00:00Z"},
		{"inside", win("Sunday", "02:00", 4*time.Hour, "UTC"), "2026-11-29T05:59:59Z", "2026-11-29T02:00:00Z", "2026-11-29T06:00:00Z"},
		{"exactly at end", win("Sunday", "02:00", 4*time.Hour, "UTC"), "2026-11-29T06:00:00Z", "2026-12-06T02:00:00Z", "2026-12-06T06:00:00Z"},
		{"lower case day", win("sunday", "02:00", 4*time.Hour, "UTC"), "2026-11-29T07:00:00Z", "2026-12-06T02:00:00Z", "2026-12-06T06:00:00Z"},
		{"over midnight, in progress the next day", win("Saturday", "23:00", 2*time.Hour, "UTC"), "2026-11-29T00:30:00Z", "2026-11-28T23:00:00Z", "2026-11-29T01:00:00Z"},
		{"time zone", win("Wednesday", "22:30", 90*time.Minute, "Europe/Berlin"), "2026-11-25T00:00:00Z", "2026-11-25T21:30:00Z", "2026-11-25T23:00:00Z"},
		{"after given in another zone", win("Sunday", "02:00", time.Hour, "America/New_York"), "2026-11-29T06:30:00Z", "2026-11-29T07:00:00Z", "2026-11-29T08:00:00Z"},
		// Europe/Berlin: clocks jump from 02:00 CET to 03:00 CEST on
		// 2026-03-29 and fall back from 03:00 CEST to 02:00 CET on
		// 2026-10-25.
		{"spring: start in the gap moves forward by the gap", win("Sunday", "02:30", time.Hour, "Europe/Berlin"), "2026-03-28T12:00:00Z", "2026-03-29T01:30:00Z", "2026-03-29T02:30:00Z"},
		{"spring: window across the jump lasts its duration", win("Sunday", "01:00", 4*time.Hour, "Europe/Berlin"), "2026-03-28T12:00:00Z", "2026-03-29T00:00:00Z", "2026-03-29T04:00:00Z"},
		{"spring: week after is CEST", win("Sunday", "02:30", time.Hour, "Europe/Berlin"), "2026-03-29T03:00:00Z", "2026-04-05T00:30:00Z", "2026-04-05T01:30:00Z"},
		{"autumn: ambiguous start is the first occurrence", win("Sunday", "02:30", time.Hour, "Europe/Berlin"), "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"},
		{"autumn: window across the fall-back lasts its duration", win("Sunday", "01:00", 4*time.Hour, "Europe/Berlin"), "2026-10-24T12:00:00Z", "2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z"},
		{"autumn: week after is CET", win("Sunday", "02:30", time.Hour, "Europe/Berlin"), "2026-10-25T02:00:00Z", "2026-11-01T01:30:00Z", "2026-11-01T02:30:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, end, err := tc.w.Next(utc(tc.after))
			require.NoError(t, err)
			assert.True(t, utc(tc.start).Equal(start), "start %s, want %s", start, tc.start)
			assert.True(t, utc(tc.end).Equal(end), "end %s, want %s", end, tc.end)
			if tc.w.TimeZone != "" {
				assert.Equal(t, tc.w.TimeZone, start.Location().String())
			}
		})
	}
}

func TestWindowContains(t *testing.T) {
	w := win("Sunday", "02:00", 4*time.Hour, "Europe/Berlin")
	for _, tc := range []struct {
		at   string
		want bool
	}{
		{"2026-11-29T00:59:59Z", false},
		{"2026-11-29T01:00:00Z", true},
		{"2026-11-29T04:59:59Z", true},
		{"2026-11-29T05:00:00Z", false},
		{"2026-11-30T02:00:00Z", false},
		{"2026-07-05T00:00:00Z", true}, // 02:00 CEST
		{"2026-07-05T04:00:00Z", false},
	} {
		got, err := w.Contains(utc(tc.at))
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, tc.at)
	}
}

// TestWindowProperties checks Next over a year of random instants in a
// zone with DST: the window returned ends after the instant, starts on the
// right local weekday, and the following one starts a week of calendar
// days later.
func TestWindowProperties(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	w := win("Sunday", "02:30", 3*time.Hour, "Europe/Berlin")
	rng := rand.New(rand.NewPCG(1, 2))
	base := utc("2026-01-01T00:00:00Z")
	for range 2000 {
		after := base.Add(time.Duration(rng.Int64N(int64(366 * 24 * time.Hour))))
		start, end, err := w.Next(after)
		require.NoError(t, err)
		assert.True(t, end.After(after))
		assert.Equal(t, 3*time.Hour, end.Sub(start))
		assert.Equal(t, time.Sunday, start.In(loc).Weekday())
		assert.LessOrEqual(t, start.Sub(after), 7*24*time.Hour)
		in, err := w.Contains(after)
		require.NoError(t, err)
		assert.Equal(t, !after.Before(start), in)
		ns, _, err := w.Next(end)
		require.NoError(t, err)
		sy, sm, sd := start.In(loc).Date()
		ny, nm, nd := ns.In(loc).Date()
		assert.Equal(t, time.Date(sy, sm, sd+7, 0, 0, 0, 0, time.UTC), time.Date(ny, nm, nd, 0, 0, 0, 0, time.UTC))
	}
}

func TestWindowErrors(t *testing.T) {
	for _, tc := range []struct {
		w     environment.Window
		field string
	}{
		{environment.Window{}, "maintenance.day"},
		{win("Funday", "02:00", time.Hour, ""), "maintenance.day"},
		{win("Sunday", "2:00", time.Hour, ""), "maintenance.start"},
		{win("Sunday", "02:60", time.Hour, ""), "maintenance.start"},
		{win("Sunday", "02:00", 0, ""), "maintenance.duration"},
		{win("Sunday", "02:00", 13*time.Hour, ""), "maintenance.duration"},
		{win("Sunday", "02:00", time.Hour, "Nowhere/Land"), "maintenance.timeZone"},
		{win("Sunday", "02:00", time.Hour, "../../etc/passwd"), "maintenance.timeZone"},
	} {
		_, _, err := tc.w.Next(utc("2026-11-25T00:00:00Z"))
		ve := validationError(t, err)
		assert.True(t, ve.Has(tc.field), "%v", err)
		_, err = tc.w.Contains(utc("2026-11-25T00:00:00Z"))
		assert.ErrorIs(t, err, providers.ErrInvalidArgument)
		assert.Error(t, tc.w.Validate())
	}
	w := win("Sunday", "02:00", time.Hour, "")
	_, _, err := w.Next(time.Time{})
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = w.Contains(time.Time{})
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.NoError(t, w.Validate())
	assert.Equal(t, "Sunday 02:00 UTC for 1h0m0s", w.String())
}
