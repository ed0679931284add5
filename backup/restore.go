package backup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orocloud/orocloud-go/providers"
)

// Target is where Restore writes a point.
type Target struct {
	// Database is the connection string of the target database ("" skips
	// the database). It must be empty (no relations, functions, extensions
	// or schemas besides public) unless Replace is set.
	Database string
	// Media is the target media directory ("" skips media). It must be
	// missing or empty unless Replace is set.
	Media string
	// Code is the directory the code archive is extracted to, when the
	// point has one ("" skips it). It must be missing or empty.
	Code string
	// Replace drops every schema of the target database and replaces the
	// media directory. Without it, a non-empty target is refused.
	Replace bool
}

// RestoreResult describes a finished restore.
type RestoreResult struct {
	Point RecoveryPoint
	// Duration is the wall time of the restore: the achieved recovery time
	// (RTO) for this size.
	Duration time.Duration
	// Bytes is the plaintext restored.
	Bytes int64
	// Tables is the number of tables loaded.
	Tables int
}

const (
	systemSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`
	countObjects  = `SELECT
 (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ` + systemSchemas + `)
 + (SELECT count(*) FROM pg_namespace n WHERE ` + systemSchemas + ` AND n.nspname <> 'public')
 + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ` + systemSchemas + `)
 + (SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql')`
	resetDatabase = `DO $reset$
DECLARE r record;
BEGIN
  FOR r IN SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' LOOP
    EXECUTE format('DROP EXTENSION IF EXISTS %I CASCADE', r.extname);
  END LOOP;
  FOR r IN SELECT n.nspname FROM pg_namespace n WHERE ` + systemSchemas + ` LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_database_owner') THEN
    CREATE SCHEMA public AUTHORIZATION pg_database_owner;
  ELSE
    CREATE SCHEMA public;
    GRANT CREATE ON SCHEMA public TO PUBLIC;
  END IF;
  GRANT USAGE ON SCHEMA public TO PUBLIC;
  COMMENT ON SCHEMA public IS 'standard public schema';
END
$reset$`
)

// Restore restores point id into target: the schema before the data
// (pre-data), the tables with parallel COPY FROM streams, sequences, then
// indexes and constraints (post-data, independent index builds in
// parallel), and the media directory (extracted beside the target and
// renamed into place at the end).
//
// Before writing anything it authenticates the manifest and unwraps the
// data key (a wrong key returns PermissionDenied and writes nothing),
// checks the schema parts, and checks that the targets are empty unless
// Replace is set (FailedPrecondition otherwise). An unknown point returns
// NotFound. A part that fails authentication midway returns an integrity
// error naming the part, and the target database is left empty.
func (e *Engine) Restore(ctx context.Context, id string, t Target) (*RestoreResult, error) {
	const op = "backup.Engine.Restore"
	if ctx == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: nil context", op)
	}
	if t.Database == "" && t.Media == "" && t.Code == "" {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: Target: set Database, Media or Code", op)
	}
	start := e.clk.Now()
	env, m, dk, err := e.openPoint(ctx, op, id)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	var total int64
	var dbParts []partInfo
	for _, p := range m.Parts {
		if strings.HasPrefix(p.Name, "db/") {
			dbParts = append(dbParts, p)
		}
		if t.Database != "" || (p.Name == partMedia && t.Media != "") || (p.Name == partCode && t.Code != "") {
			total += p.Plain
		}
	}
	prog := e.newProgress("restore", total)
	res := &RestoreResult{Point: m.point(0, env.Key.KeyID), Tables: len(m.Tables)}

	// Preconditions, before anything is written.
	type dirJob struct{ part, dir, tmp string }
	var dirs []dirJob
	for _, d := range []struct{ part, dir string }{{partMedia, t.Media}, {partCode, t.Code}} {
		if d.dir == "" {
			continue
		}
		if _, ok := m.part(d.part); !ok {
			return nil, &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: id, Msg: "the point has no " + d.part + " part", Err: &MissingPartError{Point: id, Part: d.part}}
		}
		empty, err := emptyDir(d.dir)
		if err != nil {
			return nil, providers.Wrap(err, providers.Internal, op, d.dir)
		}
		if !empty && (!t.Replace || d.part == partCode) {
			return nil, &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: d.dir,
				Msg: "target " + d.part + " directory is not empty (set Target.Replace to replace it)"}
		}
		dirs = append(dirs, dirJob{part: d.part, dir: d.dir})
	}
	var pre, post, seqs []byte
	var conn *pgx.Conn
	var plan *postDataPlan
	if t.Database != "" {
		if _, ok := m.part(partSchema); !ok {
			return nil, &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: id, Msg: "the point has no database"}
		}
		// The schema parts are small: read and check them whole before use.
		var schema []byte
		for _, s := range []struct {
			name string
			dst  *[]byte
		}{{partSchema, &schema}, {partSequences, &seqs}} {
			p, _ := m.part(s.name)
			var buf bytes.Buffer
			if err := e.readPart(ctx, op, m, dk, p, prog, &buf); err != nil {
				return nil, err
			}
			*s.dst = buf.Bytes()
		}
		pgRestore, err := e.pgBin("pg_restore")
		if err != nil {
			return nil, err
		}
		if pre, err = pgRestoreSQL(ctx, pgRestore, schema, "pre-data"); err != nil {
			return nil, providers.Wrap(err, providers.Internal, op, id)
		}
		if post, err = pgRestoreSQL(ctx, pgRestore, schema, "post-data"); err != nil {
			return nil, providers.Wrap(err, providers.Internal, op, id)
		}
		conn, err = connect(ctx, t.Database, op)
		if err != nil {
			return nil, err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var n int64
		if err := conn.QueryRow(ctx, countObjects).Scan(&n); err != nil {
			return nil, providers.Wrap(err, providers.Unavailable, op, "target database")
		}
		if err := checkBinaryTarget(ctx, conn, m); err != nil {
			return nil, err
		}
		if n > 0 && !t.Replace {
			return nil, &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: "target database",
				Msg: fmt.Sprintf("target database is not empty (%d objects); set Target.Replace to drop its schemas and replace it", n)}
		}
		if n > 0 {
			if _, err := conn.Exec(ctx, resetDatabase); err != nil {
				return nil, providers.Wrap(err, providers.Internal, op, "reset target database")
			}
		}
	}
	for i := range dirs {
		parent := filepath.Dir(filepath.Clean(dirs[i].dir))
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return nil, providers.Wrap(err, providers.Internal, op, dirs[i].dir)
		}
		tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dirs[i].dir)+".restore-")
		if err != nil {
			return nil, providers.Wrap(err, providers.Internal, op, dirs[i].dir)
		}
		dirs[i].tmp = tmp
	}
	fail := func(err error) (*RestoreResult, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for _, d := range dirs {
			_ = os.RemoveAll(d.tmp)
		}
		if conn != nil {
			if c, cerr := connect(cctx, t.Database, op); cerr == nil {
				_, _ = c.Exec(cctx, resetDatabase)
				_ = c.Close(cctx)
			}
		}
		e.log.Warn("restore failed; target reset", "point", id, "err", err)
		if _, ok := err.(*providers.Error); ok {
			return nil, err
		}
		return nil, providers.Wrap(err, codeOf(err), op, id)
	}

	g, gctx := newGroup(ctx)
	for _, d := range dirs {
		p, _ := m.part(d.part)
		g.Go(func() error {
			r, check, c, err := e.openPart(gctx, op, m, dk, p, prog)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := extractTar(gctx, r, d.tmp); err != nil {
				return err
			}
			if _, err := io.Copy(io.Discard, r); err != nil { // tar padding
				return err
			}
			return check()
		})
	}
	if t.Database != "" {
		if _, err := conn.PgConn().Exec(ctx, stripMeta(pre)).ReadAll(); err != nil {
			_ = g.Wait()
			return fail(providers.Wrap(err, providers.Internal, op, "schema pre-data"))
		}
		e.log.Debug("pre-data restored", "point", id, "elapsed", e.clk.Now().Sub(start))
		plan = planPostData(stripMeta(post), m, dbParts)
		plan.start(gctx, g, e, op, t.Database)
		sem := make(chan struct{}, e.streams(t.Database))
		var loaders sync.WaitGroup
		for _, p := range dbParts {
			loaders.Add(1)
			g.Go(func() error {
				defer loaders.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				if err := e.loadPart(gctx, op, m, dk, p, t.Database, prog, plan.loaded); err != nil {
					return err
				}
				e.log.Debug("part loaded", "point", id, "part", p.Name, "elapsed", e.clk.Now().Sub(start))
				return nil
			})
		}
		g.Go(func() error {
			loaders.Wait()
			plan.loadsDone()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fail(err)
	}
	if t.Database != "" {
		if _, err := conn.PgConn().Exec(ctx, string(seqs)).ReadAll(); err != nil {
			return fail(providers.Wrap(err, providers.Internal, op, "sequences"))
		}
		if err := e.postDataRest(ctx, op, t.Database, plan); err != nil {
			return fail(err)
		}
	}
	e.log.Debug("post-data restored", "point", id, "elapsed", e.clk.Now().Sub(start))
	for _, d := range dirs {
		if err := swapDir(d.tmp, d.dir); err != nil {
			return fail(providers.Wrap(err, providers.Internal, op, d.dir))
		}
	}
	res.Bytes = prog.done.Load()
	res.Duration = e.clk.Now().Sub(start)
	prog.finish()
	e.log.Info("restore done", "point", id, "bytes", res.Bytes, "duration", res.Duration)
	return res, nil
}

// swapDir moves tmp to dir, replacing dir if it exists.
func swapDir(tmp, dir string) error {
	old := ""
	if _, err := os.Lstat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// loadPart streams one db part into the target with COPY FROM, segment by
// segment.
func (e *Engine) loadPart(ctx context.Context, op string, m *manifest, dk []byte, p partInfo, dsn string, prog *progress, loaded func(table int)) error {
	r, check, c, err := e.openPart(ctx, op, m, dk, p, prog)
	if err != nil {
		return err
	}
	defer c.Close()
	conn, err := connect(ctx, dsn, op)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// A restore that crashes is redone from scratch, so commits need not wait for WAL flushes.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		return err
	}
	// Decryption and hashing run ahead on another goroutine while the
	// previous buffers are sent to the server.
	ar := newAsyncReader(r, 4, 256<<10)
	defer ar.Close()
	br := bufio.NewReaderSize(ar, 256<<10)
	for _, s := range p.Segments {
		var h [5]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return readErr(op, m.ID, p.Name, err)
		}
		if h[0] != 'S' || s.Table < 0 || s.Table >= len(m.Tables) {
			return integrity(op, m.ID, p.Name, "segment header does not match the manifest", nil)
		}
		_ = binary.BigEndian.Uint32(h[1:])
		t := m.Tables[s.Table]
		sql := fmt.Sprintf("COPY %s (%s) FROM STDIN%s", pgx.Identifier{t.Schema, t.Name}.Sanitize(), strings.Join(t.Columns, ", "), copyWith(t))
		fr := &frameReader{r: br}
		rr := &rememberReader{r: fr}
		gr := &guardedReader{r: rr}
		_, err := conn.PgConn().CopyFrom(ctx, gr, sql)
		// pgx may return (on a broken connection) while its reader goroutine
		// is still inside Read: wait for it before touching the stream again.
		gr.close()
		if err != nil {
			if rr.err != nil { // the server only echoes our reader's error back
				err = rr.err
			}
			return readErr(op, m.ID, p.Name, err)
		}
		if !fr.eof {
			return integrity(op, m.ID, p.Name, "segment ended early", nil)
		}
		loaded(s.Table)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return readErr(op, m.ID, p.Name, err)
	}
	return check()
}

// guardedReader serialises Reads with close: after close returns, no Read
// is running and none will touch r again.
type guardedReader struct {
	mu     sync.Mutex
	r      io.Reader
	closed bool
}

var errReaderClosed = errors.New("backup: stream closed")

func (g *guardedReader) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errReaderClosed
	}
	return g.r.Read(p)
}

func (g *guardedReader) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// rememberReader keeps the first non-EOF error of r.
type rememberReader struct {
	r   io.Reader
	err error
}

func (r *rememberReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

func readErr(op, id, part string, err error) error {
	if _, ok := err.(*providers.Error); ok {
		return err
	}
	var pe *providers.Error
	if asErr(err, &pe) {
		return pe
	}
	if err == io.ErrUnexpectedEOF || err == errFraming {
		return integrity(op, id, part, "segment framing is broken", err)
	}
	return providers.Wrap(err, codeOf(err), op, id+" "+part)
}

type dumpEntry struct {
	typ string
	sql string
}

// name is the entry's "Name: ..." header, such as "t t_pkey".
func (d dumpEntry) name() string {
	h, _, _ := strings.Cut(strings.TrimPrefix(d.sql, "--\n-- Name: "), ";")
	return h
}

var entryTypeRE = regexp.MustCompile(`; Type: ([^;]+);`)

// stripMeta removes the psql meta-commands pg_dump writes around a plain
// script (\restrict and \unrestrict, since PostgreSQL 15.14), which the
// server does not understand.
func stripMeta(script []byte) string {
	lines := strings.SplitAfter(string(script), "\n")
	var b strings.Builder
	b.Grow(len(script))
	for _, l := range lines {
		if strings.HasPrefix(l, "\\restrict ") || strings.HasPrefix(l, "\\unrestrict ") {
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

// splitDump splits a plain pg_dump script at its "-- Name: ...; Type: ..."
// headers into its preamble (the SET statements every session needs) and
// its entries.
func splitDump(script string) (string, []dumpEntry) {
	const sep = "\n--\n-- Name: "
	parts := strings.Split(script, sep)
	pre := parts[0]
	var out []dumpEntry
	for _, p := range parts[1:] {
		typ := ""
		if m := entryTypeRE.FindStringSubmatch(strings.SplitN(p, "\n", 2)[0]); m != nil {
			typ = m[1]
		}
		out = append(out, dumpEntry{typ: typ, sql: "--\n-- Name: " + p})
	}
	return pre, out
}

// postDataPlan runs the post-data script the way pg_restore -j does:
// each table's indexes and non-foreign-key constraints are built, in
// parallel sessions, as soon as every segment of the table is loaded,
// while other tables still load; builds on tables without data in the
// point (partitioned parents) follow the last load; everything else
// (foreign keys, triggers, rules, index attachments, comments...) runs
// in order at the end, in postDataRest.
type postDataPlan struct {
	pre     string              // the SET preamble every session runs
	byTable map[int][]dumpEntry // builds per manifest table
	other   []dumpEntry         // builds on tables without data
	seq     string              // the rest, in order
	left    []atomic.Int64      // segments still loading per table
	queue   chan dumpEntry
}

func planPostData(script string, m *manifest, dbParts []partInfo) *postDataPlan {
	pre, entries := splitDump(script)
	p := &postDataPlan{pre: pre, byTable: map[int][]dumpEntry{}, left: make([]atomic.Int64, len(m.Tables))}
	index := make(map[[2]string]int, len(m.Tables))
	for i, t := range m.Tables {
		index[[2]string{t.Schema, t.Name}] = i
	}
	var seq strings.Builder
	seq.WriteString(pre)
	n := 0
	for _, en := range entries {
		if en.typ != "INDEX" && en.typ != "CONSTRAINT" {
			seq.WriteString(en.sql)
			continue
		}
		n++
		if ti, ok := index[buildTable(en.sql)]; ok {
			p.byTable[ti] = append(p.byTable[ti], en)
		} else {
			p.other = append(p.other, en)
		}
	}
	p.seq = seq.String()
	for _, part := range dbParts {
		for _, s := range part.Segments {
			if s.Table >= 0 && s.Table < len(p.left) {
				p.left[s.Table].Add(1)
			}
		}
	}
	p.queue = make(chan dumpEntry, n)
	return p
}

var (
	qualifiedName = `((?:"(?:[^"]|"")*"|[^\s."]+)\.(?:"(?:[^"]|"")*"|[^\s."(]+))`
	indexOnRE     = regexp.MustCompile(`(?m)^CREATE (?:UNIQUE )?INDEX (?:"(?:[^"]|"")*"|\S+) ON (?:ONLY )?` + qualifiedName + ` USING `)
	alterTableRE  = regexp.MustCompile(`(?m)^ALTER TABLE (?:ONLY )?` + qualifiedName + `\s+ADD CONSTRAINT `)
)

// buildTable returns the schema and name of the table an index or
// constraint entry of a pg_dump script builds on, or zeros.
func buildTable(sql string) [2]string {
	m := indexOnRE.FindStringSubmatch(sql)
	if m == nil {
		m = alterTableRE.FindStringSubmatch(sql)
	}
	if m == nil {
		return [2]string{}
	}
	return splitQualified(m[1])
}

// splitQualified splits schema.name as pg_dump quotes it.
func splitQualified(q string) [2]string {
	var out [2]string
	for i := range out {
		if strings.HasPrefix(q, `"`) {
			end := 1
			for end < len(q) {
				if q[end] == '"' {
					if end+1 < len(q) && q[end+1] == '"' {
						end += 2
						continue
					}
					break
				}
				end++
			}
			out[i] = strings.ReplaceAll(q[1:min(end, len(q))], `""`, `"`)
			q = q[min(end+1, len(q)):]
		} else {
			dot := strings.IndexByte(q, '.')
			if dot < 0 || i == 1 {
				out[i], q = q, ""
			} else {
				out[i], q = q[:dot], q[dot:]
			}
		}
		q = strings.TrimPrefix(q, ".")
	}
	return out
}

// start launches the build sessions in g and queues the builds of tables
// that have nothing to load.
func (p *postDataPlan) start(ctx context.Context, g *group, e *Engine, op, dsn string) {
	p.queueUnloaded()
	if cap(p.queue) == 0 {
		return
	}
	for range min(e.sessions(), cap(p.queue)) {
		g.Go(func() error {
			var c *pgx.Conn
			defer func() {
				if c != nil {
					c.Close(context.WithoutCancel(ctx))
				}
			}()
			for {
				var en dumpEntry
				var ok bool
				select {
				case <-ctx.Done():
					return ctx.Err()
				case en, ok = <-p.queue:
				}
				if !ok {
					return nil
				}
				if c == nil {
					var err error
					if c, err = connect(ctx, dsn, op); err != nil {
						return err
					}
					if _, err := c.PgConn().Exec(ctx, p.pre).ReadAll(); err != nil {
						return providers.Wrap(err, providers.Internal, op, "post-data")
					}
				}
				began := e.clk.Now()
				if _, err := c.PgConn().Exec(ctx, en.sql).ReadAll(); err != nil {
					return providers.Wrap(err, providers.Internal, op, "post-data")
				}
				e.log.Debug("built", "entry", en.name(), "took", e.clk.Now().Sub(began))
			}
		})
	}
}

// queueUnloaded queues the builds of tables with nothing to load.
func (p *postDataPlan) queueUnloaded() {
	for ti := range p.left {
		if p.left[ti].Load() == 0 {
			p.enqueue(ti)
		}
	}
}

func (p *postDataPlan) enqueue(table int) {
	for _, en := range p.byTable[table] {
		p.queue <- en
	}
}

// loaded records that one segment of table is in; the table's builds are
// queued with its last segment.
func (p *postDataPlan) loaded(table int) {
	if table >= 0 && table < len(p.left) && p.left[table].Add(-1) == 0 {
		p.enqueue(table)
	}
}

// loadsDone queues the builds on tables without data and lets the build
// sessions finish.
func (p *postDataPlan) loadsDone() {
	for _, en := range p.other {
		p.queue <- en
	}
	close(p.queue)
}

// postDataRest runs, in order, what must follow every build.
func (e *Engine) postDataRest(ctx context.Context, op, dsn string, p *postDataPlan) error {
	c, err := connect(ctx, dsn, op)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.PgConn().Exec(ctx, p.seq).ReadAll(); err != nil {
		return providers.Wrap(err, providers.Internal, op, "post-data")
	}
	return nil
}

// checkBinaryTarget refuses a target server of an older PostgreSQL major
// version than the point's when the point holds tables in COPY's binary
// format, which is only guaranteed to load into the same major version or
// newer.
func checkBinaryTarget(ctx context.Context, conn *pgx.Conn, m *manifest) error {
	if !slices.ContainsFunc(m.Tables, func(t tableInfo) bool { return t.Format == "binary" }) {
		return nil
	}
	src := majorVersion(m.PostgresVersion)
	var num int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return providers.Wrap(err, providers.Unavailable, "backup.Engine.Restore", "target database")
	}
	if dst := num / 10000; src > 0 && dst < src {
		return &providers.Error{Code: providers.FailedPrecondition, Op: "backup.Engine.Restore", Resource: "target database",
			Msg: fmt.Sprintf("point %s was taken from PostgreSQL %d with tables in binary COPY format; the target runs PostgreSQL %d, an older major version: restore into PostgreSQL %d or newer (or back up with Options.TextCopy)", m.ID, src, dst, src)}
	}
	return nil
}

// majorVersion returns the major version of a server_version string such
// as "15.18 (Debian 15.18-0+deb12u1)", or 0.
func majorVersion(v string) int {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}
