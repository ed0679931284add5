package backup

import (
	"context"
	"log/slog"
	"time"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
)

// SchedulerOptions configure a Scheduler.
type SchedulerOptions struct {
	// Request returns the request of the backup due at the given time
	// (nil = an empty Request). Use it to record the deployed commit.
	Request func(at time.Time) Request
	// OnBackup and OnPrune, when set, receive each outcome.
	OnBackup func(*BackupResult, error)
	OnPrune  func(*PruneResult, error)
	// Clock overrides the engine's clock; Logger the engine's logger.
	Clock  clock.Clock
	Logger *slog.Logger
}

// Scheduler takes a backup at each time the engine's policy is due (see
// Policy.Next) and prunes after each, for long-running controllers. A
// failed backup or prune is reported and logged, and the scheduler goes on
// with the next due time; a backup that overruns the next due time skips
// it rather than piling up.
type Scheduler struct {
	eng  *Engine
	opts SchedulerOptions
	clk  clock.Clock
	log  *slog.Logger
}

// NewScheduler returns a scheduler for eng.
func NewScheduler(eng *Engine, opts *SchedulerOptions) (*Scheduler, error) {
	if eng == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "backup.NewScheduler: engine must not be nil")
	}
	var o SchedulerOptions
	if opts != nil {
		o = *opts
	}
	clk := o.Clock
	if clk == nil {
		clk = eng.clk
	}
	log := o.Logger
	if log == nil {
		log = eng.log
	}
	return &Scheduler{eng: eng, opts: o, clk: clk, log: log}, nil
}

// Next returns the next due time after the clock's current time.
func (s *Scheduler) Next() time.Time { return s.eng.policy.Next(s.clk.Now()) }

// Run runs until ctx is done and returns ctx's error.
func (s *Scheduler) Run(ctx context.Context) error {
	if ctx == nil {
		return providers.Errorf(providers.InvalidArgument, "backup.Scheduler.Run: nil context")
	}
	for {
		now := s.clk.Now()
		next := s.eng.policy.Next(now)
		if next.IsZero() {
			return providers.Errorf(providers.FailedPrecondition, "backup.Scheduler: the policy has no schedule")
		}
		s.log.Debug("next backup", "at", next)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.clk.After(next.Sub(now)):
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		req := Request{}
		if s.opts.Request != nil {
			req = s.opts.Request(next)
		}
		res, err := s.eng.Backup(ctx, req)
		if err != nil {
			s.log.Error("scheduled backup failed", "due", next, "err", err)
		} else {
			s.log.Info("scheduled backup done", "point", res.Point.ID, "duration", res.Duration)
		}
		if s.opts.OnBackup != nil {
			s.opts.OnBackup(res, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		pr, err := s.eng.Prune(ctx, nil)
		if err != nil {
			s.log.Error("prune after backup failed", "err", err)
		}
		if s.opts.OnPrune != nil {
			s.opts.OnPrune(pr, err)
		}
	}
}
