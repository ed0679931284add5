package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/klauspost/compress/zstd"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/internal/crypto"
	"github.com/orocloud/orocloud-go/providers"
)

// Options configure an Engine. The zero value backs up nothing: set
// Database, Media, or both.
type Options struct {
	// Database is the PostgreSQL connection string (libpq keyword/value or
	// URL) of the database to back up. It is never logged or put in errors;
	// its password reaches pg_dump through the environment, not the
	// command line.
	Database string
	// Media is the media directory to back up (tar).
	Media string
	// Environment names the environment; recorded in each point.
	Environment string
	// Policy drives Prune and the Scheduler (nil = DefaultPolicy()).
	Policy *Policy
	// Parallel is the number of concurrent COPY streams and database
	// connections used by Backup and Restore, and of parts Verify reads
	// at once. 0 chooses per database: when the server is on this host
	// (a loopback address or a Unix socket), one stream per two CPUs, at
	// least one, since each stream keeps about one core busy in the
	// server and most of another in this process, and streams beyond the
	// cores only add contention; for a remote server GOMAXPROCS, at
	// least 2. Verify, and Restore's index and constraint builds (which
	// cost this process nothing), use GOMAXPROCS, at least 2.
	Parallel int
	// SegmentSize splits tables larger than it into ctid ranges of about
	// this many bytes of heap, copied in parallel (default 64 MiB). With
	// one stream (Parallel 1, or the default for a server on a 2-CPU
	// host) no table is split: a whole-table COPY uses COPY's own heap
	// scan, and ranges only pay off with parallel streams.
	SegmentSize int64
	// ChunkSize is the plaintext size of an encrypted chunk (default 1 MiB).
	ChunkSize int
	// PGBinDir is the directory of pg_dump (default: $OROCLOUD_PG_BINDIR,
	// `pg_config --bindir`, then /usr/lib/postgresql/15/bin, then $PATH).
	PGBinDir string
	// LockTTL is how old the lock of an unfinished point must be before
	// Prune treats the point as abandoned and deletes its objects (default
	// 24 h).
	LockTTL time.Duration
	// Progress, when set, receives progress of Backup, Verify and Restore.
	Progress func(Progress)
	// Logger receives operational messages (default: discard).
	Logger *slog.Logger
	// Clock is the time source (default: the system clock).
	Clock clock.Clock
	// Compression is "" (none, the default: AES-GCM is far cheaper than
	// any compressor) or "zstd" (fastest level, one encoder per stream),
	// applied to each part before encryption.
	Compression string
	// TextCopy copies every table in COPY's text format. By default a
	// table whose columns all have built-in types (numbers, text, bytea,
	// timestamps, json, arrays of those...) is copied in binary format,
	// which costs the server less CPU to write and to load (about 7 % and
	// 10 % here, see docs/benchmarks/backup.md); tables with enum,
	// composite, domain or extension types are always text, since their
	// binary form carries database-specific type OIDs. A binary point
	// restores only into a server of the same PostgreSQL major version or
	// newer (Restore checks); set TextCopy for points meant for an older
	// one.
	TextCopy bool
}

// Engine backs up an environment's database, media and code into encrypted
// recovery points in a Store, and lists, verifies, restores and prunes
// them. It is safe for concurrent use.
type Engine struct {
	store  Store
	keys   Keyring
	opts   Options
	policy Policy
	log    *slog.Logger
	clk    clock.Clock
}

// NewEngine returns an engine over store, encrypting with keys. It checks
// every option and reports all problems at once.
func NewEngine(store Store, keys Keyring, opts *Options) (*Engine, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var errs []string
	if store == nil {
		errs = append(errs, "store: must not be nil")
	}
	if keys == nil {
		errs = append(errs, "keys: must not be nil")
	}
	if o.Parallel < 0 {
		errs = append(errs, "Options.Parallel: must not be negative")
	}
	if o.SegmentSize < 0 {
		errs = append(errs, "Options.SegmentSize: must not be negative")
	}
	if o.ChunkSize < 0 || o.ChunkSize > crypto.MaxChunkSize {
		errs = append(errs, fmt.Sprintf("Options.ChunkSize: must be between 0 and %d", crypto.MaxChunkSize))
	}
	if o.Compression != "" && o.Compression != "none" && o.Compression != "zstd" {
		errs = append(errs, fmt.Sprintf("Options.Compression: %q is not \"\", \"none\" or \"zstd\"", o.Compression))
	}
	if o.LockTTL < 0 {
		errs = append(errs, "Options.LockTTL: must not be negative")
	}
	pol := DefaultPolicy()
	if o.Policy != nil {
		pol = *o.Policy
		if err := pol.Validate(); err != nil {
			errs = append(errs, "Options.Policy: "+err.Error())
		}
	}
	if len(errs) > 0 {
		return nil, invalid("backup.NewEngine", errs)
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = 64 << 20
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = crypto.DefaultChunkSize
	}
	if o.LockTTL == 0 {
		o.LockTTL = 24 * time.Hour
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{store: store, keys: keys, opts: o, policy: pol, log: log, clk: clock.Or(o.Clock)}, nil
}

// Policy returns the engine's policy.
func (e *Engine) Policy() Policy { return e.policy }

// progress aggregates byte counts of concurrent workers and calls the
// user's callback, serialised and throttled.
type progress struct {
	fn    func(Progress)
	op    string
	clk   clock.Clock
	start time.Time
	total atomic.Int64
	done  atomic.Int64
	mu    sync.Mutex
	last  int64
}

func (e *Engine) newProgress(op string, total int64) *progress {
	p := &progress{fn: e.opts.Progress, op: op, clk: e.clk, start: e.clk.Now()}
	p.total.Store(total)
	return p
}

func (p *progress) add(part string, n int64) {
	if p == nil {
		return
	}
	d := p.done.Add(n)
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// At most every MiB and every 0.5% of the total, so a callback (a
	// progress bar, say) is called a few hundred times per operation.
	if d-p.last < max(1<<20, p.total.Load()/200) {
		return
	}
	p.last = d
	p.emit(part, d)
}

func (p *progress) emit(part string, d int64) {
	el := p.clk.Now().Sub(p.start)
	var rate float64
	if el > 0 {
		rate = float64(d) / el.Seconds()
	}
	t := p.total.Load()
	if t < d {
		t = d
	}
	p.fn(Progress{Op: p.op, Part: part, Done: d, Total: t, Elapsed: el, Rate: rate})
}

func (p *progress) finish() {
	if p == nil || p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.done.Load()
	p.total.Store(d)
	p.emit("", d)
}

// countingWriter counts bytes on their way to w and reports progress.
type countingWriter struct {
	w    io.Writer
	n    int64
	prog *progress
	part string
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.prog.add(c.part, int64(n))
	return n, err
}

// partWriter is the plaintext side of a part being stored: bytes written
// are hashed, encrypted and streamed to the store.
type partWriter struct {
	name  string
	hash  hash.Hash
	enc   *crypto.Writer
	zw    *zstd.Encoder
	pw    *io.PipeWriter
	done  chan putResult
	plain countingWriter
}

type putResult struct {
	n   int64
	err error
}

func (e *Engine) createPart(ctx context.Context, id, name string, dataKey []byte, prog *progress) (*partWriter, error) {
	pr, pw := io.Pipe()
	pwr := &partWriter{name: name, hash: sha256.New(), pw: pw, done: make(chan putResult, 1)}
	go func() {
		n, err := e.store.Put(ctx, partKey(id, name), pr)
		_ = pr.CloseWithError(err)
		if err == nil {
			err = ctx.Err()
		}
		pwr.done <- putResult{n, err}
	}()
	enc, err := crypto.NewWriter(pw, dataKey, id+"/"+name, e.opts.ChunkSize)
	if err != nil {
		_ = pw.CloseWithError(err)
		<-pwr.done
		return nil, err
	}
	pwr.enc = enc
	var sink io.Writer = enc
	if e.opts.Compression == "zstd" {
		zw, err := zstd.NewWriter(enc, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
		if err != nil {
			_ = pw.CloseWithError(err)
			<-pwr.done
			return nil, err
		}
		pwr.zw, sink = zw, zw
	}
	pwr.plain = countingWriter{w: io.MultiWriter(pwr.hash, sink), prog: prog, part: name}
	return pwr, nil
}

func (p *partWriter) Write(b []byte) (int, error) { return p.plain.Write(b) }

// abort discards the part: the store never makes it visible.
func (p *partWriter) abort(err error) {
	if p.zw != nil {
		p.zw.Reset(io.Discard) // release the encoder's buffers
	}
	_ = p.pw.CloseWithError(err)
	<-p.done
}

// close finishes the part and returns its manifest entry once stored.
func (p *partWriter) close() (partInfo, error) {
	comp := ""
	if p.zw != nil {
		comp = "zstd"
		if err := p.zw.Close(); err != nil {
			p.abort(err)
			return partInfo{}, err
		}
	}
	if err := p.enc.Close(); err != nil {
		p.abort(err)
		return partInfo{}, err
	}
	_ = p.pw.Close()
	r := <-p.done
	if r.err != nil {
		return partInfo{}, r.err
	}
	return partInfo{Name: p.name, Plain: p.plain.n, Stored: r.n, SHA256: hex.EncodeToString(p.hash.Sum(nil)), Chunks: p.enc.Chunks(), Compression: comp}, nil
}

// writePart stores one part produced by fn.
func (e *Engine) writePart(ctx context.Context, id, name string, dataKey []byte, prog *progress, fn func(w io.Writer) error) (partInfo, error) {
	pw, err := e.createPart(ctx, id, name, dataKey, prog)
	if err != nil {
		return partInfo{}, err
	}
	if err := fn(pw); err != nil {
		pw.abort(err)
		return partInfo{}, err
	}
	return pw.close()
}

// Request is one backup.
type Request struct {
	// CodeRef is the application code reference, such as "git:3f2c1e9".
	CodeRef string
	// CodeDir, when set, is a source directory archived into the point
	// (in addition to CodeRef).
	CodeDir string
}

// BackupResult describes a finished backup.
type BackupResult struct {
	Point RecoveryPoint
	// Duration is the wall time of the backup.
	Duration time.Duration
	// Bytes is the plaintext size backed up; Stored the bytes written.
	Bytes, Stored int64
}

type lockInfo struct {
	ID      string    `json:"id"`
	Started time.Time `json:"started"`
}

// group runs functions concurrently and cancels the others at the first
// error.
type group struct {
	wg     sync.WaitGroup
	once   sync.Once
	err    error
	cancel context.CancelFunc
}

func newGroup(ctx context.Context) (*group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &group{cancel: cancel}, ctx
}

func (g *group) Go(fn func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := fn(); err != nil {
			g.once.Do(func() { g.err = err; g.cancel() })
		}
	}()
}

func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}

// Backup takes a recovery point: the database (schema with pg_dump, data
// with parallel COPY streams in one exported snapshot), the media directory
// and the code, each encrypted under a fresh data key. The point appears in
// List only when its manifest, written last, is stored; on any failure or
// cancellation the objects written so far are removed.
func (e *Engine) Backup(ctx context.Context, req Request) (*BackupResult, error) {
	const op = "backup.Engine.Backup"
	if ctx == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: nil context", op)
	}
	if e.opts.Database == "" && e.opts.Media == "" && req.CodeDir == "" && req.CodeRef == "" {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: nothing to back up: set Options.Database, Options.Media, Request.CodeRef or Request.CodeDir", op)
	}
	start := e.clk.Now()
	id, err := newID(start)
	if err != nil {
		return nil, providers.Wrap(err, providers.Internal, op, "")
	}
	log := e.log.With("point", id)
	lk, _ := json.Marshal(lockInfo{ID: id, Started: start})
	if _, err := e.store.Put(ctx, lockKey(id), strings.NewReader(string(lk))); err != nil {
		return nil, providers.Wrap(err, providers.Code(err), op, id)
	}
	m, err := e.backup(ctx, id, req, start, log)
	if err != nil {
		// Remove what was written, even if ctx is canceled.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		e.removePoint(cctx, id, false)
		_ = e.store.Delete(cctx, lockKey(id))
		cancel()
		log.Warn("backup failed; partial objects removed", "err", err)
		if _, ok := err.(*providers.Error); ok {
			return nil, err
		}
		return nil, providers.Wrap(err, providers.Internal, op, id)
	}
	if err := e.store.Delete(context.WithoutCancel(ctx), lockKey(id)); err != nil {
		log.Warn("could not remove backup lock", "err", err)
	}
	var stored, plain int64
	for _, p := range m.Parts {
		stored += p.Stored
		plain += p.Plain
	}
	pt := m.point(stored, e.keys.CurrentKeyID())
	log.Info("backup done", "bytes", plain, "duration", m.Duration)
	return &BackupResult{Point: pt, Duration: m.Duration, Bytes: plain, Stored: stored}, nil
}

func (e *Engine) backup(ctx context.Context, id string, req Request, start time.Time, log *slog.Logger) (*manifest, error) {
	const op = "backup.Engine.Backup"
	dataKey, err := crypto.NewDataKey()
	if err != nil {
		return nil, err
	}
	defer clear(dataKey)
	wk, err := e.keys.Wrap(ctx, dataKey, keyAAD(id))
	if err != nil {
		return nil, err
	}
	m := &manifest{Format: formatV1, ID: id, Time: start.UTC(), Environment: e.opts.Environment, CodeRef: req.CodeRef, ChunkSize: e.opts.ChunkSize}
	prog := e.newProgress("backup", 0)
	var mu sync.Mutex
	addPart := func(p partInfo) {
		mu.Lock()
		m.Parts = append(m.Parts, p)
		mu.Unlock()
	}
	g, gctx := newGroup(ctx)
	if e.opts.Database != "" {
		g.Go(func() error { return e.backupDB(gctx, id, m, dataKey, prog, addPart, &mu, log) })
	}
	if e.opts.Media != "" {
		if sz, err := dirSize(e.opts.Media); err == nil {
			prog.total.Add(sz)
		} else {
			return nil, providers.Wrap(err, providers.InvalidArgument, op, "Options.Media")
		}
		g.Go(func() error {
			p, err := e.writePart(gctx, id, partMedia, dataKey, prog, func(w io.Writer) error { return writeTar(gctx, w, e.opts.Media) })
			if err == nil {
				addPart(p)
			}
			return err
		})
	}
	if req.CodeDir != "" {
		g.Go(func() error {
			p, err := e.writePart(gctx, id, partCode, dataKey, prog, func(w io.Writer) error { return writeTar(gctx, w, req.CodeDir) })
			if err == nil {
				addPart(p)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.Finished = e.clk.Now().UTC()
	m.Duration = m.Finished.Sub(start)
	sortParts(m.Parts)
	body, err := sealManifest(ctx, e.keys, m, dataKey, wk)
	if err != nil {
		return nil, err
	}
	if _, err := e.store.Put(ctx, manifestKey(id), strings.NewReader(string(body))); err != nil {
		return nil, err
	}
	prog.finish()
	return m, nil
}

func sortParts(ps []partInfo) {
	order := func(n string) string {
		switch {
		case n == partSchema:
			return "0"
		case strings.HasPrefix(n, "db/"):
			return "1" + n
		case n == partSequences:
			return "2"
		}
		return "4" + n
	}
	slices.SortStableFunc(ps, func(a, b partInfo) int { return strings.Compare(order(a.Name), order(b.Name)) })
}

// removePoint deletes every object of point id (manifest first, so the
// point leaves List before its data goes).
func (e *Engine) removePoint(ctx context.Context, id string, withManifest bool) error {
	var first error
	if withManifest {
		if err := e.store.Delete(ctx, manifestKey(id)); err != nil && providers.Code(err) != providers.NotFound {
			return err
		}
	}
	objs, err := e.store.List(ctx, dataDir(id))
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := e.store.Delete(ctx, o.Key); err != nil && providers.Code(err) != providers.NotFound && first == nil {
			first = err
		}
	}
	return first
}

// streams is the number of concurrent database streams for dsn: the
// configured Parallel, or a choice by where the server runs.
func (e *Engine) streams(dsn string) int {
	if e.opts.Parallel > 0 {
		return e.opts.Parallel
	}
	return autoStreams(dsn, runtime.GOMAXPROCS(0))
}

// sessions is the number of concurrent tasks that cost this process
// little: parts Verify reads at once, and index and constraint builds in
// Restore (the server sorts; the client only waits), so they are not
// limited like COPY streams on a shared host.
func (e *Engine) sessions() int {
	if e.opts.Parallel > 0 {
		return e.opts.Parallel
	}
	return max(2, runtime.GOMAXPROCS(0))
}

// autoStreams chooses the number of COPY streams for a server reached
// through dsn from this host's cpus. A server on this host shares its
// cores: each stream keeps about one core busy in the server and most of
// another here, so more than one stream per two cores only adds
// contention (measured in docs/benchmarks/backup.md). A remote server
// brings its own cores.
func autoStreams(dsn string, cpus int) int {
	if serverIsLocal(dsn) {
		return max(1, cpus/2)
	}
	return max(2, cpus)
}

// serverIsLocal reports whether dsn's first host is a Unix socket or a
// loopback address.
func serverIsLocal(dsn string) bool {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return false
	}
	h := cfg.Host
	if strings.HasPrefix(h, "/") || strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
