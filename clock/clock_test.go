package clock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/orocloud/orocloud-go/clock"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func TestFakeAdvanceFiresInOrder(t *testing.T) {
	f := clock.NewFake(t0)
	a := f.After(2 * time.Second)
	b := f.After(time.Second)
	assert.Equal(t, 2, f.Waiters())
	f.Advance(time.Second)
	select {
	case got := <-b:
		assert.Equal(t, t0.Add(time.Second), got)
	default:
		t.Fatal("1s waiter did not fire")
	}
	select {
	case <-a:
		t.Fatal("2s waiter fired early")
	default:
	}
	f.Set(t0.Add(time.Hour))
	<-a
	assert.Equal(t, 0, f.Waiters())
	assert.Equal(t, t0.Add(time.Hour), f.Now())
	<-f.After(0)
}

func TestAutoFake(t *testing.T) {
	f := clock.NewAutoFake(t0)
	got := <-f.After(time.Minute)
	assert.Equal(t, t0.Add(time.Minute), got)
	assert.Equal(t, t0.Add(time.Minute), f.Now())
}

func TestRealAndOr(t *testing.T) {
	assert.NotNil(t, clock.Or(nil))
	f := clock.NewFake(t0)
	assert.Equal(t, clock.Clock(f), clock.Or(f))
	before := time.Now()
	assert.False(t, clock.Real().Now().Before(before))
	<-clock.Real().After(time.Millisecond)
}
