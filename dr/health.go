package dr

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

// DefaultHealthChecks returns the default health checks: the database
// accepts writes, it holds the restored data, and the web nodes run.
func DefaultHealthChecks() []HealthChecker {
	return []HealthChecker{DatabaseWritable{}, DataRestored{}, WebNodesRunning{}}
}

func connect(ctx context.Context, t HealthTarget) (*pgx.Conn, error) {
	if t.Database == "" {
		return nil, providers.Errorf(providers.FailedPrecondition, "no database connection string for %s", t.Environment.Name)
	}
	c, err := pgx.Connect(ctx, t.Database.Reveal())
	if err != nil {
		// pgx errors may quote the connection string: keep only the cause's
		// class, never the string.
		return nil, providers.Errorf(providers.Unavailable, "cannot connect to the restored database of %s", t.Environment.Name)
	}
	return c, nil
}

// DatabaseWritable checks that the restored database accepts writes: it is
// not in recovery, and a transaction that writes (to a temporary table, so
// no application data changes) commits.
type DatabaseWritable struct{}

// Name implements HealthChecker.
func (DatabaseWritable) Name() string { return "database accepts writes" }

// Check implements HealthChecker.
func (DatabaseWritable) Check(ctx context.Context, t HealthTarget) error {
	c, err := connect(ctx, t)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var recovery bool
	if err := c.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovery); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if recovery {
		return providers.Errorf(providers.Unavailable, "the database is in recovery (a standby): it does not accept writes")
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "CREATE TEMP TABLE orocloud_dr_write_check (at timestamptz) ON COMMIT DROP"); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO orocloud_dr_write_check VALUES (now())"); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// DataRestored checks that the database holds the restored data: at least
// as many tables as the restore loaded, and rows in them when the restore
// loaded data.
type DataRestored struct{}

// Name implements HealthChecker.
func (DataRestored) Name() string { return "database holds the restored data" }

// Check implements HealthChecker.
func (DataRestored) Check(ctx context.Context, t HealthTarget) error {
	if t.Restored == nil {
		return providers.Errorf(providers.FailedPrecondition, "no restore was recorded for %s", t.Environment.Name)
	}
	c, err := connect(ctx, t)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var tables int
	var anyRows bool
	err = c.QueryRow(ctx, `SELECT count(*),
  coalesce(bool_or(c.reltuples > 0), false)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'`).Scan(&tables, &anyRows)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if tables < t.Restored.Tables || tables == 0 {
		return providers.Errorf(providers.FailedPrecondition, "the database has %d table(s), the restore loaded %d", tables, t.Restored.Tables)
	}
	if t.Restored.Bytes > 0 && !anyRows {
		// reltuples is an estimate set by ANALYZE; count rows of one table
		// for certain.
		var name string
		if err := c.QueryRow(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
ORDER BY pg_relation_size(c.oid) DESC LIMIT 1`).Scan(&name); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		var has bool
		if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+name+")").Scan(&has); err != nil {
			return fmt.Errorf("query %s: %w", name, err)
		}
		if !has {
			return providers.Errorf(providers.FailedPrecondition, "the restored tables hold no rows though %d bytes were restored", t.Restored.Bytes)
		}
	}
	return nil
}

// WebNodesRunning checks that every web node of the environment runs in its
// region.
type WebNodesRunning struct{}

// Name implements HealthChecker.
func (WebNodesRunning) Name() string { return "web nodes running" }

// Check implements HealthChecker.
func (WebNodesRunning) Check(ctx context.Context, t HealthTarget) error {
	if t.Provider == nil || t.Environment == nil {
		return providers.Errorf(providers.InvalidArgument, "no provider or environment to check")
	}
	sel := ownerSelector(t.Environment.Name)
	sel[providers.LabelTier] = string(environment.TierWeb)
	ins, err := t.Provider.ListInstances(ctx, t.Environment.Region, sel)
	if err != nil {
		return err
	}
	running := 0
	for _, in := range ins {
		if in.Status == providers.StatusRunning {
			running++
		}
	}
	if want := t.Environment.Web.Nodes; running < want || want == 0 {
		return providers.Errorf(providers.Unavailable, "%d of %d web node(s) running in %s", running, want, t.Environment.Region)
	}
	return nil
}
