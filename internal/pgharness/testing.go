package pgharness

import (
	"context"
	"testing"
	"time"
)

// New starts a primary for a test: it calls Require (skip, or fail when
// CI=true, without binaries), starts the server and registers t.Cleanup so
// every process is killed and every directory removed even when the test
// fails. It fails the test when the server cannot start.
func New(t testing.TB, opts *Options) *Server {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("pgharness: start primary: %v", err)
	}
	t.Cleanup(s.Cleanup)
	return s
}

// NewStandby starts a streaming standby of primary named name for a test,
// cleaned up with the test.
func NewStandby(t testing.TB, primary *Server, name string, opts *StandbyOptions) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := primary.StartStandby(ctx, name, opts)
	if err != nil {
		t.Fatalf("pgharness: start standby %s: %v", name, err)
	}
	t.Cleanup(s.Cleanup)
	return s
}
