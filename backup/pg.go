package backup

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/orocloud/orocloud-go/providers"
)

// The database part of a point:
//
//   - schema/schema.dump: pg_dump --schema-only --format=custom
//     --snapshot=<exported snapshot>; Restore turns it into the pre-data and
//     post-data SQL with pg_restore --section (PostgreSQL's own section
//     logic), one pg_dump run instead of two;
//   - db/NNNN: one part per COPY worker; each is a sequence of segments,
//     a segment being one table (or a ctid range of a large table) as COPY
//     text, framed as: 'S' u32(segment index), then frames u32(len) bytes,
//     ended by u32(0). The manifest lists each part's segments in order;
//   - schema/sequences: setval() calls for every sequence, read in the
//     snapshot.
//
// All reads happen in one snapshot exported by a REPEATABLE READ READ ONLY
// transaction that also holds ACCESS SHARE locks on the tables (as pg_dump
// does), so the point is consistent as of its start.

const frameBuf = 256 << 10

// socketReadBuf is the read buffer in front of each database connection.
const socketReadBuf = 256 << 10

// frameWriter frames a segment's COPY stream.
type frameWriter struct {
	w   io.Writer
	buf []byte
	n   int64
}

func newFrameWriter(w io.Writer) *frameWriter {
	return &frameWriter{w: w, buf: make([]byte, 4, frameBuf+4)}
}

func (f *frameWriter) begin(seg int) error {
	var h [5]byte
	h[0] = 'S'
	binary.BigEndian.PutUint32(h[1:], uint32(seg))
	_, err := f.w.Write(h[:])
	return err
}

func (f *frameWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		c := copy(f.buf[len(f.buf):cap(f.buf)], p)
		f.buf = f.buf[:len(f.buf)+c]
		p = p[c:]
		if len(f.buf) == cap(f.buf) {
			if err := f.flush(); err != nil {
				return 0, err
			}
		}
	}
	f.n += int64(n)
	return n, nil
}

func (f *frameWriter) flush() error {
	if len(f.buf) == 4 {
		return nil
	}
	binary.BigEndian.PutUint32(f.buf[:4], uint32(len(f.buf)-4))
	_, err := f.w.Write(f.buf)
	f.buf = f.buf[:4]
	return err
}

// end flushes and writes the end-of-segment frame; it returns the segment's
// byte count.
func (f *frameWriter) end() (int64, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	var z [4]byte
	_, err := f.w.Write(z[:])
	n := f.n
	f.n = 0
	return n, err
}

// frameReader reads one segment's frames as a stream ending at its end frame.
type frameReader struct {
	r      *bufio.Reader
	remain int
	eof    bool
}

var errFraming = errors.New("segment framing is broken")

func (f *frameReader) Read(p []byte) (int, error) {
	if f.eof {
		return 0, io.EOF
	}
	for f.remain == 0 {
		var l [4]byte
		if _, err := io.ReadFull(f.r, l[:]); err != nil {
			return 0, noEOF(err)
		}
		f.remain = int(binary.BigEndian.Uint32(l[:]))
		if f.remain == 0 {
			f.eof = true
			return 0, io.EOF
		}
		if f.remain > frameBuf {
			return 0, errFraming
		}
	}
	if len(p) > f.remain {
		p = p[:f.remain]
	}
	n, err := f.r.Read(p)
	f.remain -= n
	return n, noEOF(err)
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// connParams extracts what pg_dump needs from a DSN without putting the
// password on a command line.
func connParams(dsn string) (cfg *pgconn.Config, env []string, err error) {
	cfg, err = pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, nil, errors.New("invalid database connection string (not shown: it may hold a password)")
	}
	env = append(os.Environ(),
		"PGHOST="+cfg.Host, "PGPORT="+strconv.Itoa(int(cfg.Port)), "PGUSER="+cfg.User, "PGDATABASE="+cfg.Database,
		"PGAPPNAME=orocloud-backup")
	if cfg.Password != "" {
		env = append(env, "PGPASSWORD="+cfg.Password)
	}
	if m := sslMode(dsn); m != "" {
		env = append(env, "PGSSLMODE="+m)
	}
	return cfg, env, nil
}

var sslModeRE = regexp.MustCompile(`(?:^|\s)sslmode\s*=\s*'?([a-z-]+)`)

func sslMode(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			return u.Query().Get("sslmode")
		}
		return ""
	}
	if m := sslModeRE.FindStringSubmatch(dsn); m != nil {
		return m[1]
	}
	return ""
}

func (e *Engine) pgBin(name string) (string, error) {
	dirs := []string{e.opts.PGBinDir, os.Getenv("OROCLOUD_PG_BINDIR")}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	dirs = append(dirs, "/usr/lib/postgresql/15/bin")
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", &providers.Error{Code: providers.FailedPrecondition, Op: "backup", Resource: name,
		Msg: name + " not found: install the PostgreSQL client binaries (Debian/Ubuntu: apt-get install postgresql-client-15) or set Options.PGBinDir"}
}

// connect opens a connection; its errors never carry the DSN.
func connect(ctx context.Context, dsn, op string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "invalid database connection string (not shown: it may hold a password)"}
	}
	cfg.RuntimeParams["application_name"] = "orocloud-backup"
	// pgconn reads the socket 8 KiB at a time (one read syscall, and often
	// an EAGAIN plus an epoll wait, per 8 KiB of COPY data); a larger
	// buffer in front takes whatever the socket holds in one read.
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(r, socketReadBuf), w)
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, providers.Wrap(redactErr(err, cfg.Password), providers.Unavailable, op, "database "+cfg.Database)
	}
	return c, nil
}

// redactErr guards against a password ever reaching an error message.
type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

func redactErr(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redacted{msg: strings.ReplaceAll(err.Error(), secret, "[REDACTED]"), err: err}
}

type job struct {
	seg  int
	sql  string
	size int64
}

func (e *Engine) backupDB(ctx context.Context, id string, m *manifest, dataKey []byte, prog *progress, addPart func(partInfo), mu *sync.Mutex, log *slog.Logger) error {
	const op = "backup.Engine.Backup"
	cfg, env, err := connParams(e.opts.Database)
	if err != nil {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: err.Error()}
	}
	pgDump, err := e.pgBin("pg_dump")
	if err != nil {
		return err
	}
	coord, err := connect(ctx, e.opts.Database, op)
	if err != nil {
		return err
	}
	defer coord.Close(context.WithoutCancel(ctx))
	if _, err := coord.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return providers.Wrap(err, providers.Unavailable, op, "begin snapshot")
	}
	var snap, version string
	if err := coord.QueryRow(ctx, "SELECT pg_export_snapshot(), current_setting('server_version')").Scan(&snap, &version); err != nil {
		return providers.Wrap(err, providers.Unavailable, op, "export snapshot")
	}
	rows, err := coord.Query(ctx, `
SELECT n.nspname, c.relname, pg_relation_size(c.oid) / current_setting('block_size')::int8,
       array(SELECT quote_ident(a.attname) FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
             ORDER BY a.attnum),
       NOT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                     AND (ty.oid >= 16384 OR ty.typsend = 0 OR ty.typreceive = 0))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 3 DESC, 1, 2`)
	if err != nil {
		return providers.Wrap(err, providers.Unavailable, op, "list tables")
	}
	var tables []tableInfo
	for rows.Next() {
		var t tableInfo
		var binary bool
		if err := rows.Scan(&t.Schema, &t.Name, &t.Pages, &t.Columns, &binary); err != nil {
			rows.Close()
			return providers.Wrap(err, providers.Internal, op, "list tables")
		}
		if binary && !e.opts.TextCopy {
			t.Format = "binary"
		}
		log.Debug("copy format", "table", t.Schema+"."+t.Name, "format", cmp.Or(t.Format, "text"))
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return providers.Wrap(err, providers.Unavailable, op, "list tables")
	}
	if len(tables) > 0 {
		names := make([]string, len(tables))
		for i, t := range tables {
			names[i] = pgx.Identifier{t.Schema, t.Name}.Sanitize()
		}
		if _, err := coord.Exec(ctx, "LOCK TABLE "+strings.Join(names, ", ")+" IN ACCESS SHARE MODE"); err != nil {
			return providers.Wrap(err, providers.Unavailable, op, "lock tables")
		}
	}
	var largeObjects int64
	if err := coord.QueryRow(ctx, "SELECT count(*) FROM pg_largeobject_metadata").Scan(&largeObjects); err != nil {
		return providers.Wrap(err, providers.Unavailable, op, "count large objects")
	}
	if largeObjects > 0 {
		return &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: "database " + cfg.Database,
			Msg: fmt.Sprintf("the database has %d large objects, which this engine does not back up; refusing rather than losing them", largeObjects)}
	}
	mu.Lock()
	m.PostgresVersion, m.Database, m.Tables = version, cfg.Database, tables
	mu.Unlock()

	// Segments, largest first; tables above SegmentSize split by ctid.
	streams := e.streams(e.opts.Database)
	segPages := max(1, e.opts.SegmentSize/8192)
	if streams <= 1 {
		segPages = math.MaxInt64 // one stream: whole-table COPY is cheaper
	}
	var jobs []job
	var total int64
	for ti, t := range tables {
		cols := strings.Join(t.Columns, ", ")
		name := pgx.Identifier{t.Schema, t.Name}.Sanitize()
		total += t.Pages * 8192
		if len(t.Columns) == 0 {
			continue // a table without columns has nothing to copy
		}
		if t.Pages <= segPages {
			jobs = append(jobs, job{sql: fmt.Sprintf("COPY %s (%s) TO STDOUT%s", name, cols, copyWith(t)), size: t.Pages, seg: ti})
			continue
		}
		for from := int64(0); from < t.Pages; from += segPages {
			where := fmt.Sprintf("ctid >= '(%d,0)'::tid", from)
			if from+segPages < t.Pages {
				where += fmt.Sprintf(" AND ctid < '(%d,0)'::tid", from+segPages)
			}
			jobs = append(jobs, job{sql: fmt.Sprintf("COPY (SELECT %s FROM ONLY %s WHERE %s) TO STDOUT%s", cols, name, where, copyWith(t)), size: min(segPages, t.Pages-from), seg: ti})
		}
	}
	prog.total.Add(total)
	log.Debug("snapshot exported", "tables", len(tables), "segments", len(jobs), "streams", streams, "elapsed", e.clk.Now().Sub(prog.start))
	segs := make([]segment, len(jobs))
	next := map[int]int64{}
	for i, j := range jobs {
		segs[i] = segment{Table: j.seg, Whole: tables[j.seg].Pages <= segPages}
		if segs[i].Whole {
			continue
		}
		segs[i].From = next[j.seg]
		next[j.seg] += j.size
		if next[j.seg] < tables[j.seg].Pages {
			segs[i].To = next[j.seg]
		}
	}
	// Largest segments first, so the workers finish together.
	queueOrder := make([]int, len(jobs))
	for i := range queueOrder {
		queueOrder[i] = i
	}
	slices.SortStableFunc(queueOrder, func(a, b int) int { return cmp.Compare(jobs[b].size, jobs[a].size) })

	g, gctx := newGroup(ctx)
	// Schema sections, in the same snapshot.
	g.Go(func() error {
		p, err := e.writePart(gctx, id, partSchema, dataKey, prog, func(w io.Writer) error {
			return runPgDump(gctx, pgDump, env, w, "--schema-only", "--format=custom", "--snapshot="+snap, "--no-password")
		})
		if err == nil {
			addPart(p)
			log.Debug("schema dumped", "bytes", p.Plain, "elapsed", e.clk.Now().Sub(prog.start))
		}
		return err
	})
	// Sequences.
	g.Go(func() error {
		p, err := e.writePart(gctx, id, partSequences, dataKey, prog, func(w io.Writer) error {
			return dumpSequences(gctx, coord, w)
		})
		if err == nil {
			addPart(p)
		}
		return err
	})
	// COPY workers pull jobs from a shared queue, largest first.
	queue := make(chan int, len(jobs))
	for _, i := range queueOrder {
		queue <- i
	}
	close(queue)
	workers := min(streams, max(1, len(jobs)))
	for w := range workers {
		g.Go(func() error {
			err := e.copyWorker(gctx, id, dbPart(w+1), dataKey, snap, jobs, segs, queue, prog, addPart)
			log.Debug("copy worker done", "part", dbPart(w+1), "elapsed", e.clk.Now().Sub(prog.start), "err", err)
			return err
		})
	}
	err = g.Wait()
	if err == nil {
		_, err = coord.Exec(ctx, "COMMIT")
	}
	if err != nil {
		return providers.Wrap(redactErr(err, cfg.Password), codeOf(err), op, "database "+cfg.Database)
	}
	log.Debug("database backed up", "tables", len(tables), "segments", len(jobs))
	return nil
}

// copyWith returns the COPY options of a table: binary when every column
// type is built in (OID below FirstNormalObjectId, 16384: no
// database-specific OIDs in the data) and has binary send and receive
// functions, text otherwise.
func copyWith(t tableInfo) string {
	if t.Format == "binary" {
		return " WITH (FORMAT binary)"
	}
	return ""
}

func codeOf(err error) providers.ErrorCode {
	if c := providers.Code(err); c != providers.Unknown {
		return c
	}
	return providers.Internal
}

func (e *Engine) copyWorker(ctx context.Context, id, part string, dataKey []byte, snap string, jobs []job, segs []segment, queue <-chan int, prog *progress, addPart func(partInfo)) error {
	const op = "backup.Engine.Backup"
	conn, err := connect(ctx, e.opts.Database, op)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+snap+"'"); err != nil {
		return err
	}
	pw, err := e.createPart(ctx, id, part, dataKey, prog)
	if err != nil {
		return err
	}
	// The COPY stream is read here while the previous buffers are hashed,
	// encrypted and stored by the async writer's goroutine.
	aw := newAsyncWriter(pw, 4, frameBuf)
	abort := func(err error) error {
		_ = pw.pw.CloseWithError(err) // a write blocked on a stalled store returns now
		aw.Abort()
		pw.abort(err)
		return err
	}
	fw := newFrameWriter(aw)
	var mine []segment
	for i := range queue {
		if err := fw.begin(i); err != nil {
			return abort(err)
		}
		if _, err := conn.PgConn().CopyTo(ctx, fw, jobs[i].sql); err != nil {
			return abort(err)
		}
		n, err := fw.end()
		if err != nil {
			return abort(err)
		}
		s := segs[i]
		s.Bytes = n
		mine = append(mine, s)
		if err := ctx.Err(); err != nil {
			return abort(err)
		}
	}
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		return abort(err)
	}
	if err := aw.Close(); err != nil {
		pw.abort(err)
		return err
	}
	p, err := pw.close()
	if err != nil {
		return err
	}
	p.Segments = mine
	addPart(p)
	return nil
}

// pgRestoreSQL converts a custom-format schema archive into the SQL of one
// section with pg_restore (no database connection).
func pgRestoreSQL(ctx context.Context, bin string, archive []byte, section string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, "--section="+section, "--file=-")
	cmd.Stdin = bytes.NewReader(archive)
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &limitedBuffer{b: &stderr, max: 8 << 10}
	if err := cmd.Run(); err != nil {
		return nil, &providers.Error{Code: providers.Internal, Op: "pg_restore", Msg: strings.TrimSpace(stderr.String()), Err: err}
	}
	return out.Bytes(), nil
}

func runPgDump(ctx context.Context, bin string, env []string, w io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{b: &stderr, max: 8 << 10}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &providers.Error{Code: providers.Internal, Op: "pg_dump", Msg: strings.TrimSpace(stderr.String()), Err: err}
	}
	return nil
}

type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func dumpSequences(ctx context.Context, conn *pgx.Conn, w io.Writer) error {
	rows, err := conn.Query(ctx, `
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1`)
	if err != nil {
		return err
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, s := range seqs {
		var last int64
		var called bool
		if err := conn.QueryRow(ctx, "SELECT last_value, is_called FROM "+s).Scan(&last, &called); err != nil {
			return err
		}
		fmt.Fprintf(bw, "SELECT pg_catalog.setval(%s, %d, %t);\n", quoteLiteral(s), last, called)
	}
	return bw.Flush()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
