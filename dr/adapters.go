package dr

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orocloud/orocloud-go/backup"
	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

// EngineBackups adapts a *backup.Engine to Backups.
type EngineBackups struct {
	e *backup.Engine
}

var _ Backups = (*EngineBackups)(nil)

// NewEngineBackups returns the adapter over e.
func NewEngineBackups(e *backup.Engine) (*EngineBackups, error) {
	if e == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "dr.NewEngineBackups: engine is nil")
	}
	return &EngineBackups{e: e}, nil
}

func fromRecoveryPoint(p backup.RecoveryPoint) Point {
	return Point{ID: p.ID, Time: p.Time, CodeRef: p.CodeRef, Size: p.Size}
}

// LatestBefore implements Backups.
func (b *EngineBackups) LatestBefore(ctx context.Context, t time.Time) (Point, error) {
	p, err := b.e.LatestBefore(ctx, t)
	if err != nil {
		return Point{}, err
	}
	return fromRecoveryPoint(p), nil
}

// Verify implements Backups.
func (b *EngineBackups) Verify(ctx context.Context, id string) error {
	_, err := b.e.Verify(ctx, id)
	return err
}

// Restore implements Backups. A point holds a code archive only when the
// backup was given a code directory (otherwise just the code reference),
// and may hold no media: Restore skips the part of the target the point
// does not have instead of failing. With Replace, a code directory left by
// an interrupted restore is emptied first (the engine only extracts code
// into an empty directory).
func (b *EngineBackups) Restore(ctx context.Context, id string, t RestoreTarget) (*Restored, error) {
	if t.Replace && t.Code != "" {
		if err := os.RemoveAll(t.Code); err != nil {
			return nil, providers.Wrap(err, providers.Internal, "dr.EngineBackups.Restore", id)
		}
	}
	bt := backup.Target{Database: t.Database.Reveal(), Media: t.Media, Code: t.Code, Replace: t.Replace}
	for {
		res, err := b.e.Restore(ctx, id, bt)
		var missing *backup.MissingPartError
		if errors.As(err, &missing) {
			switch {
			case missing.Part == "code" && bt.Code != "":
				bt.Code = ""
				continue
			case missing.Part == "media" && bt.Media != "":
				bt.Media = ""
				continue
			}
		}
		if err != nil {
			return nil, err
		}
		return &Restored{Point: fromRecoveryPoint(res.Point), Bytes: res.Bytes, Tables: res.Tables, Duration: res.Duration}, nil
	}
}

// ServerTargets restores each environment copy into its own database on one
// PostgreSQL server, and its media and code under a local directory: the
// database "<env>_<region>" (with '-' as '_') and the directories
// <root>/<env>-<region>/{media,code}. It suits drills against a DR database
// server, the memory provider and tests. Release drops the database (WITH
// (FORCE)) and removes the directories.
type ServerTargets struct {
	admin providers.Secret
	root  string
}

var _ Targets = (*ServerTargets)(nil)

// NewServerTargets returns targets on the server that adminDSN (a libpq
// keyword/value string or a postgres:// URL of a role allowed to create
// databases) reaches, with files under root.
func NewServerTargets(adminDSN providers.Secret, root string) (*ServerTargets, error) {
	var problems []string
	if _, err := pgx.ParseConfig(adminDSN.Reveal()); err != nil || adminDSN == "" {
		problems = append(problems, "adminDSN: not a valid PostgreSQL connection string")
	}
	if root == "" {
		problems = append(problems, "root: required")
	}
	if len(problems) > 0 {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: "dr.NewServerTargets", Msg: strings.Join(problems, "; ")}
	}
	return &ServerTargets{admin: adminDSN, root: root}, nil
}

// DatabaseName returns the database of env's copy in its region.
func (s *ServerTargets) DatabaseName(env *environment.Environment) string {
	return strings.ReplaceAll(env.Name+"_"+env.Region, "-", "_")
}

// Dir returns the directory of env's media and code.
func (s *ServerTargets) Dir(env *environment.Environment) string {
	return filepath.Join(s.root, env.Name+"-"+env.Region)
}

// DSN returns the connection string of database db on the server.
func (s *ServerTargets) DSN(db string) providers.Secret {
	return providers.Secret(withDatabase(s.admin.Reveal(), db))
}

func withDatabase(dsn, db string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			u.Path = "/" + db
			return u.String()
		}
	}
	// In keyword/value strings the last occurrence of a keyword wins.
	return dsn + " dbname=" + db
}

func (s *ServerTargets) adminExec(ctx context.Context, sql string) error {
	c, err := pgx.Connect(ctx, s.admin.Reveal())
	if err != nil {
		return providers.Errorf(providers.Unavailable, "cannot connect to the target database server")
	}
	defer c.Close(context.WithoutCancel(ctx))
	_, err = c.Exec(ctx, sql)
	return err
}

// Target implements Targets: it creates the database when missing.
func (s *ServerTargets) Target(ctx context.Context, env *environment.Environment, _ *environment.Inventory) (RestoreTarget, error) {
	if env == nil {
		return RestoreTarget{}, providers.Errorf(providers.InvalidArgument, "dr.ServerTargets.Target: nil environment")
	}
	db := s.DatabaseName(env)
	c, err := pgx.Connect(ctx, s.admin.Reveal())
	if err != nil {
		return RestoreTarget{}, providers.Errorf(providers.Unavailable, "cannot connect to the target database server")
	}
	defer c.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return RestoreTarget{}, fmt.Errorf("look up database %s: %w", db, err)
	}
	if !exists {
		if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
			return RestoreTarget{}, fmt.Errorf("create database %s: %w", db, err)
		}
	}
	if err := os.MkdirAll(s.Dir(env), 0o700); err != nil {
		return RestoreTarget{}, providers.Wrap(err, providers.Internal, "dr.ServerTargets.Target", env.Name)
	}
	return RestoreTarget{Database: s.DSN(db), Media: filepath.Join(s.Dir(env), "media"), Code: filepath.Join(s.Dir(env), "code")}, nil
}

// Release implements Targets.
func (s *ServerTargets) Release(ctx context.Context, env *environment.Environment) error {
	if env == nil {
		return providers.Errorf(providers.InvalidArgument, "dr.ServerTargets.Release: nil environment")
	}
	if err := s.adminExec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{s.DatabaseName(env)}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", s.DatabaseName(env), err)
	}
	if err := os.RemoveAll(s.Dir(env)); err != nil {
		return providers.Wrap(err, providers.Internal, "dr.ServerTargets.Release", env.Name)
	}
	return nil
}
