package dr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orocloud/orocloud-go/providers"
)

// PGConn is the part of a pgx connection or pool the PostgreSQL journal
// uses: *pgx.Conn and *pgxpool.Pool satisfy it.
type PGConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// PGJournal is a Journal in a PostgreSQL table, for teams that run several
// DR controllers: the database enforces one active run per environment with
// a unique partial index (environment) WHERE active, so two controllers
// starting a run for the same environment at the same moment cannot both
// succeed.
type PGJournal struct {
	db    PGConn
	table string
	mu    sync.Mutex // a *pgx.Conn is not safe for concurrent use
}

// PGJournalOptions tune NewPGJournal.
type PGJournalOptions struct {
	// Table is the table name (default "orocloud_dr_runs").
	Table string
}

// NewPGJournal returns a journal over db, creating its table and index if
// needed.
func NewPGJournal(ctx context.Context, db PGConn, opts *PGJournalOptions) (*PGJournal, error) {
	const op = "dr.NewPGJournal"
	if db == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: db is nil", op)
	}
	table := "orocloud_dr_runs"
	if opts != nil && opts.Table != "" {
		table = opts.Table
	}
	if !idRE.MatchString(table) {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: table %q: use lower case letters, digits and '_'", op, table)
	}
	j := &PGJournal{db: db, table: pgx.Identifier{table}.Sanitize()}
	idx := pgx.Identifier{table + "_one_active"}.Sanitize()
	ddl := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  id          text PRIMARY KEY,
  environment text NOT NULL,
  status      text NOT NULL,
  active      boolean NOT NULL,
  state       jsonb NOT NULL,
  control     jsonb NOT NULL DEFAULT '{}',
  owner       text,
  lease_until timestamptz,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (environment) WHERE active`, j.table, idx, j.table)
	if _, err := db.Exec(ctx, ddl); err != nil {
		return nil, pgErr(op, table, err)
	}
	return j, nil
}

func pgErr(op, resource string, err error) error {
	code := providers.Unavailable
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		code = providers.Internal
	}
	if errors.Is(err, context.Canceled) {
		code = providers.Canceled
	} else if errors.Is(err, context.DeadlineExceeded) {
		code = providers.DeadlineExceeded
	}
	return providers.Wrap(err, code, op, resource)
}

func stateJSON(st *RunState) ([]byte, error) {
	c := st.Clone()
	c.Control = Control{}
	return json.Marshal(c)
}

// Create implements Journal.
func (j *PGJournal) Create(ctx context.Context, st *RunState) error {
	const op = "dr.PGJournal.Create"
	if st == nil {
		return providers.Errorf(providers.InvalidArgument, "%s: nil state", op)
	}
	if err := errors.Join(checkID(op, "run id", st.ID), checkID(op, "environment", st.Environment)); err != nil {
		return err
	}
	b, err := stateJSON(st)
	if err != nil {
		return providers.Wrap(err, providers.Internal, op, st.ID)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.db.Exec(ctx, `INSERT INTO `+j.table+` (id, environment, status, active, state) VALUES ($1, $2, $3, $4, $5)`,
		st.ID, st.Environment, string(st.Status), st.Status.Active(), b)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		if pe.ConstraintName == j.table+"_pkey" || pe.ConstraintName == trimQuotes(j.table)+"_pkey" {
			return providers.Wrap(err, providers.AlreadyExists, op, st.ID)
		}
		var holder string
		_ = j.db.QueryRow(ctx, `SELECT id FROM `+j.table+` WHERE environment = $1 AND active`, st.Environment).Scan(&holder)
		e := activeRunError(op, st.Environment, holder).(*providers.Error)
		e.Err = errors.Join(ErrActiveRun, err)
		return e
	}
	if err != nil {
		return pgErr(op, st.ID, err)
	}
	return nil
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// Save implements Journal.
func (j *PGJournal) Save(ctx context.Context, st *RunState) error {
	const op = "dr.PGJournal.Save"
	if st == nil {
		return providers.Errorf(providers.InvalidArgument, "%s: nil state", op)
	}
	b, err := stateJSON(st)
	if err != nil {
		return providers.Wrap(err, providers.Internal, op, st.ID)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	// Fencing: a runner whose lease went to another writes nothing.
	tag, err := j.db.Exec(ctx, `UPDATE `+j.table+` SET status = $2, active = $3, state = $4, updated_at = now()
WHERE id = $1 AND ($5 = '' OR owner IS NULL OR owner = $5)`,
		st.ID, string(st.Status), st.Status.Active(), b, st.Driver)
	if err != nil {
		return pgErr(op, st.ID, err)
	}
	if tag.RowsAffected() == 0 {
		var holder *string
		var until *time.Time
		err := j.db.QueryRow(ctx, `SELECT owner, lease_until FROM `+j.table+` WHERE id = $1`, st.ID).Scan(&holder, &until)
		if errors.Is(err, pgx.ErrNoRows) {
			return providers.Errorf(providers.NotFound, "%s: no such run %s", op, st.ID)
		}
		if err != nil {
			return pgErr(op, st.ID, err)
		}
		h, u := "", time.Time{}
		if holder != nil {
			h = *holder
		}
		if until != nil {
			u = *until
		}
		return busyError(op, st.ID, h, u)
	}
	return nil
}

// Load implements Journal.
func (j *PGJournal) Load(ctx context.Context, id string) (*RunState, error) {
	const op = "dr.PGJournal.Load"
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.scan(op, id, j.db.QueryRow(ctx, `SELECT state, control FROM `+j.table+` WHERE id = $1`, id))
}

func (j *PGJournal) scan(op, key string, row pgx.Row) (*RunState, error) {
	var state, control []byte
	if err := row.Scan(&state, &control); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: key, Msg: "no such run"}
		}
		return nil, pgErr(op, key, err)
	}
	var st RunState
	if err := json.Unmarshal(state, &st); err != nil {
		return nil, providers.Wrap(err, providers.Internal, op, key)
	}
	if err := json.Unmarshal(control, &st.Control); err != nil {
		return nil, providers.Wrap(err, providers.Internal, op, key)
	}
	return &st, nil
}

// SetControl implements Journal.
func (j *PGJournal) SetControl(ctx context.Context, id string, c Control) error {
	const op = "dr.PGJournal.SetControl"
	b, err := json.Marshal(c)
	if err != nil {
		return providers.Wrap(err, providers.Internal, op, id)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	tag, err := j.db.Exec(ctx, `UPDATE `+j.table+` SET control = $2, updated_at = now() WHERE id = $1`, id, b)
	if err != nil {
		return pgErr(op, id, err)
	}
	if tag.RowsAffected() == 0 {
		return providers.Errorf(providers.NotFound, "%s: no such run %s", op, id)
	}
	return nil
}

// Active implements Journal.
func (j *PGJournal) Active(ctx context.Context, env string) (*RunState, error) {
	const op = "dr.PGJournal.Active"
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.scan(op, env, j.db.QueryRow(ctx, `SELECT state, control FROM `+j.table+` WHERE environment = $1 AND active`, env))
}

// Claim implements Journal with one conditional UPDATE, so two controllers
// claiming the same run cannot both win.
func (j *PGJournal) Claim(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) error {
	const op = "dr.PGJournal.Claim"
	if owner == "" || ttl <= 0 {
		return providers.Errorf(providers.InvalidArgument, "%s: an owner and a positive ttl are required", op)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	tag, err := j.db.Exec(ctx, `UPDATE `+j.table+` SET owner = $2, lease_until = $4
WHERE id = $1 AND (owner IS NULL OR owner = $2 OR lease_until <= $3)`, id, owner, now, now.Add(ttl))
	if err != nil {
		return pgErr(op, id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var holder *string
	var until *time.Time
	err = j.db.QueryRow(ctx, `SELECT owner, lease_until FROM `+j.table+` WHERE id = $1`, id).Scan(&holder, &until)
	if errors.Is(err, pgx.ErrNoRows) {
		return &providers.Error{Code: providers.NotFound, Op: op, Resource: id, Msg: "no such run"}
	}
	if err != nil {
		return pgErr(op, id, err)
	}
	h, u := "", time.Time{}
	if holder != nil {
		h = *holder
	}
	if until != nil {
		u = *until
	}
	return busyError(op, id, h, u)
}

// Release implements Journal.
func (j *PGJournal) Release(ctx context.Context, id, owner string) error {
	const op = "dr.PGJournal.Release"
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.db.Exec(ctx, `UPDATE `+j.table+` SET owner = NULL, lease_until = NULL WHERE id = $1 AND owner = $2`, id, owner); err != nil {
		return pgErr(op, id, err)
	}
	return nil
}
