package backup

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/orocloud/orocloud-go/internal/crypto"
	"github.com/orocloud/orocloud-go/providers"
)

// ListOptions filter List.
type ListOptions struct {
	// After and Before, when set, keep points with After <= Time < Before.
	After, Before time.Time
}

// List returns the complete recovery points, newest first. It reads each
// manifest (checksummed, not authenticated: Verify and Restore
// authenticate) and fills each point's Tiers from the engine's policy.
func (e *Engine) List(ctx context.Context, opts *ListOptions) ([]RecoveryPoint, error) {
	const op = "backup.Engine.List"
	if ctx == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: nil context", op)
	}
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	objs, err := e.store.List(ctx, manifestPrefix)
	if err != nil {
		return nil, providers.Wrap(err, providers.Code(err), op, "")
	}
	var ids []string
	for _, ob := range objs {
		id := idFromKey(ob.Key, manifestPrefix)
		t, err := idTime(id)
		if err != nil {
			continue
		}
		if (!o.After.IsZero() && t.Before(o.After.Truncate(time.Second))) || (!o.Before.IsZero() && !t.Before(o.Before)) {
			continue
		}
		ids = append(ids, id)
	}
	pts := make([]RecoveryPoint, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			env, err := e.readEnvelope(ctx, op, id)
			if err != nil {
				errs[i] = err
				return
			}
			m, err := env.unauthenticated(op)
			if err != nil {
				errs[i] = err
				return
			}
			var stored int64
			for _, p := range m.Parts {
				stored += p.Stored
			}
			pts[i] = m.point(stored, env.Key.KeyID)
		}()
	}
	wg.Wait()
	out := pts[:0]
	for i, p := range pts {
		if errs[i] != nil {
			if providers.Code(errs[i]) == providers.NotFound {
				continue // pruned meanwhile
			}
			return nil, errs[i]
		}
		if (!o.After.IsZero() && p.Time.Before(o.After)) || (!o.Before.IsZero() && !p.Time.Before(o.Before)) {
			continue
		}
		out = append(out, p)
	}
	tiers := e.policy.Classify(out)
	for i := range out {
		out[i].Tiers = tiers[i]
	}
	slices.SortFunc(out, func(a, b RecoveryPoint) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// LatestBefore returns the newest point taken before t. With no such point
// it returns an error for which Code is NotFound.
func (e *Engine) LatestBefore(ctx context.Context, t time.Time) (RecoveryPoint, error) {
	if ctx == nil {
		return RecoveryPoint{}, providers.Errorf(providers.InvalidArgument, "backup.Engine.LatestBefore: nil context")
	}
	pts, err := e.List(ctx, &ListOptions{Before: t})
	if err != nil {
		return RecoveryPoint{}, err
	}
	if len(pts) == 0 {
		return RecoveryPoint{}, &providers.Error{Code: providers.NotFound, Op: "backup.Engine.LatestBefore",
			Msg: "no recovery point before " + t.UTC().Format(time.RFC3339)}
	}
	return pts[0], nil
}

// VerifyResult describes a verified point.
type VerifyResult struct {
	Point    RecoveryPoint
	Parts    int
	Bytes    int64
	Duration time.Duration
}

// Verify authenticates the manifest, then decrypts every chunk of every
// part and checks each part's size and SHA-256, without restoring anything.
// A damaged point returns an error for which Code is Internal and
// errors.Is(err, ErrIntegrity) holds; errors.As gives the *IntegrityError
// naming the part. An unknown point returns NotFound; a key the keyring
// lacks, PermissionDenied.
func (e *Engine) Verify(ctx context.Context, id string) (*VerifyResult, error) {
	const op = "backup.Engine.Verify"
	if ctx == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: nil context", op)
	}
	start := e.clk.Now()
	env, m, dk, err := e.openPoint(ctx, op, id)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	var total int64
	for _, p := range m.Parts {
		total += p.Plain
	}
	prog := e.newProgress("verify", total)
	g, gctx := newGroup(ctx)
	sem := make(chan struct{}, e.sessions())
	for _, p := range m.Parts {
		sem <- struct{}{}
		g.Go(func() error {
			defer func() { <-sem }()
			return e.readPart(gctx, op, m, dk, p, prog, io.Discard)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	prog.finish()
	var stored int64
	for _, p := range m.Parts {
		stored += p.Stored
	}
	return &VerifyResult{Point: m.point(stored, env.Key.KeyID), Parts: len(m.Parts), Bytes: total, Duration: e.clk.Now().Sub(start)}, nil
}

// openPart returns a reader of the authenticated plaintext of part p. The
// caller must call check once it has read to EOF: check compares size and
// SHA-256 with the manifest.
func (e *Engine) openPart(ctx context.Context, op string, m *manifest, dk []byte, p partInfo, prog *progress) (r io.Reader, check func() error, closer io.Closer, err error) {
	rc, err := e.store.Get(ctx, partKey(m.ID, p.Name))
	if err != nil {
		if providers.Code(err) == providers.NotFound {
			return nil, nil, nil, integrity(op, m.ID, p.Name, "object is missing", err)
		}
		return nil, nil, nil, providers.Wrap(err, providers.Code(err), op, m.ID)
	}
	closer = rc
	cr := &countingReader{r: bufio.NewReaderSize(rc, 256<<10)}
	var dec io.Reader = crypto.NewReader(cr, dk, m.ID+"/"+p.Name)
	switch p.Compression {
	case "":
	case "zstd":
		zr, err := zstd.NewReader(&errMapReader{r: dec, op: op, point: m.ID, part: p.Name},
			zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			rc.Close()
			return nil, nil, nil, providers.Wrap(err, providers.Internal, op, m.ID)
		}
		dec = zr.IOReadCloser()
		closer = multiCloser{zr.IOReadCloser(), rc}
	default:
		rc.Close()
		return nil, nil, nil, integrity(op, m.ID, p.Name, "unknown compression "+p.Compression, nil)
	}
	h := sha256.New()
	pr := &hashingReader{r: dec, h: h, prog: prog, part: p.Name}
	check = func() error {
		if pr.n != p.Plain || hex.EncodeToString(h.Sum(nil)) != p.SHA256 {
			return integrity(op, m.ID, p.Name, "size or SHA-256 differs from the manifest", nil)
		}
		if cr.n != p.Stored {
			return integrity(op, m.ID, p.Name, "stored size differs from the manifest", nil)
		}
		return nil
	}
	return &errMapReader{r: pr, op: op, point: m.ID, part: p.Name}, check, closer, nil
}

func (e *Engine) readPart(ctx context.Context, op string, m *manifest, dk []byte, p partInfo, prog *progress, w io.Writer) error {
	r, check, c, err := e.openPart(ctx, op, m, dk, p, prog)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.Copy(w, r); err != nil {
		return err
	}
	return check()
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var first error
	for _, c := range m {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type hashingReader struct {
	r    io.Reader
	h    io.Writer
	n    int64
	prog *progress
	part string
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.h.Write(p[:n])
		h.n += int64(n)
		h.prog.add(h.part, int64(n))
	}
	return n, err
}

// errMapReader turns stream integrity failures into the package's error
// (a zstd error over authenticated data is a bug or a tampered manifest,
// reported as an integrity failure too).
type errMapReader struct {
	r               io.Reader
	op, point, part string
}

func (m *errMapReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF {
		var ie *IntegrityError
		if !errors.As(err, &ie) {
			if conv := asIntegrity(m.op, m.point, m.part, err); conv != err {
				err = conv
			} else if strings.Contains(fmt.Sprintf("%T", err), "zstd") || errors.Is(err, zstd.ErrMagicMismatch) {
				err = integrity(m.op, m.point, m.part, "undecodable compressed data", err)
			}
		}
	}
	return n, err
}

// PruneOptions configure Prune.
type PruneOptions struct {
	// DryRun computes and returns the decisions without deleting anything.
	DryRun bool
}

// PruneResult lists Prune's decisions.
type PruneResult struct {
	// Kept are the points kept, with their reasons; Expired those deleted
	// (or that would be, in a dry run).
	Kept, Expired []RecoveryPoint
	// Abandoned are IDs of unfinished points (no manifest, lock missing or
	// older than LockTTL) whose objects were (or would be) deleted.
	Abandoned []string
	// InProgress are IDs of points being written, left alone.
	InProgress []string
	DryRun     bool
}

// Prune applies the engine's policy at the clock's current time: it deletes
// the expired points (manifest first, then data) and the objects of
// abandoned unfinished backups. Points being written (their lock is
// younger than LockTTL) are never touched.
func (e *Engine) Prune(ctx context.Context, opts *PruneOptions) (*PruneResult, error) {
	const op = "backup.Engine.Prune"
	if ctx == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: nil context", op)
	}
	dry := opts != nil && opts.DryRun
	// Order matters: data, then locks, then manifests (see the lock protocol
	// in layout.go: lock -> data -> manifest -> unlock).
	dataObjs, err := e.store.List(ctx, dataPrefix)
	if err != nil {
		return nil, providers.Wrap(err, providers.Code(err), op, "")
	}
	lockObjs, err := e.store.List(ctx, lockPrefix)
	if err != nil {
		return nil, providers.Wrap(err, providers.Code(err), op, "")
	}
	points, err := e.List(ctx, nil)
	if err != nil {
		return nil, err
	}
	now := e.clk.Now()
	locked := map[string]bool{}
	for _, l := range lockObjs {
		id := idFromKey(l.Key, lockPrefix)
		started, err := idTime(id)
		if rc, gerr := e.store.Get(ctx, l.Key); gerr == nil {
			var li lockInfo
			if json.NewDecoder(io.LimitReader(rc, 4096)).Decode(&li) == nil && !li.Started.IsZero() {
				started, err = li.Started, nil
			}
			rc.Close()
		}
		if err == nil && now.Sub(started) < e.opts.LockTTL {
			locked[id] = true
		}
	}
	have := map[string]bool{}
	for _, p := range points {
		have[p.ID] = true
	}
	res := &PruneResult{DryRun: dry}
	seen := map[string]bool{}
	for _, o := range dataObjs {
		id, _, _ := cutPrefix(o.Key)
		if seen[id] || have[id] {
			continue
		}
		seen[id] = true
		if locked[id] {
			res.InProgress = append(res.InProgress, id)
		} else {
			res.Abandoned = append(res.Abandoned, id)
		}
	}
	keep, expire := e.policy.Retain(points, now)
	res.Kept = keep
	for _, p := range expire {
		if locked[p.ID] {
			res.InProgress = append(res.InProgress, p.ID)
			continue
		}
		res.Expired = append(res.Expired, p)
	}
	if dry {
		return res, nil
	}
	for _, p := range res.Expired {
		if err := e.removePoint(ctx, p.ID, true); err != nil {
			return res, providers.Wrap(err, providers.Code(err), op, p.ID)
		}
		e.log.Info("pruned recovery point", "point", p.ID)
	}
	for _, id := range res.Abandoned {
		if err := e.removePoint(ctx, id, false); err != nil {
			return res, providers.Wrap(err, providers.Code(err), op, id)
		}
		if err := e.store.Delete(ctx, lockKey(id)); err != nil && providers.Code(err) != providers.NotFound {
			return res, providers.Wrap(err, providers.Code(err), op, id)
		}
		e.log.Info("removed abandoned backup objects", "point", id)
	}
	return res, nil
}

func cutPrefix(key string) (id, rest string, ok bool) {
	k := key[len(dataPrefix):]
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}

// RotateResult reports a key rotation.
type RotateResult struct {
	// Rewrapped are the points whose data key was re-wrapped; Current those
	// already under the current key.
	Rewrapped, Current []string
}

// RotateKeys re-wraps the data key of every point that is not under the
// keyring's current key: it unwraps with the old key (which the keyring
// must still hold), wraps with the current one and rewrites the manifest
// atomically. No data object is read or rewritten. Afterwards the old key
// can be removed from the keyring.
func (e *Engine) RotateKeys(ctx context.Context) (*RotateResult, error) {
	const op = "backup.Engine.RotateKeys"
	if ctx == nil {
		return nil, providers.Errorf(providers.InvalidArgument, "%s: nil context", op)
	}
	objs, err := e.store.List(ctx, manifestPrefix)
	if err != nil {
		return nil, providers.Wrap(err, providers.Code(err), op, "")
	}
	cur := e.keys.CurrentKeyID()
	res := &RotateResult{}
	for _, o := range objs {
		id := idFromKey(o.Key, manifestPrefix)
		if !validID(id) {
			continue
		}
		env, err := e.readEnvelope(ctx, op, id)
		if err != nil {
			return res, err
		}
		if env.Key.KeyID == cur {
			res.Current = append(res.Current, id)
			continue
		}
		_, dk, err := e.open(ctx, op, env)
		if err != nil {
			return res, err
		}
		wk, err := e.keys.Wrap(ctx, dk, keyAAD(id))
		clear(dk)
		if err != nil {
			return res, providers.Wrap(err, providers.Code(err), op, id)
		}
		env.Key = wk
		body, err := encodeEnvelope(env)
		if err != nil {
			return res, providers.Wrap(err, providers.Internal, op, id)
		}
		if _, err := e.store.Put(ctx, manifestKey(id), bytesReader(body)); err != nil {
			return res, providers.Wrap(err, providers.Code(err), op, id)
		}
		res.Rewrapped = append(res.Rewrapped, id)
		e.log.Info("re-wrapped data key", "point", id, "key", cur)
	}
	return res, nil
}
