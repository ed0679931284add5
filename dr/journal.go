package dr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/orocloud/orocloud-go/providers"
)

// Journal persists runs. The runner writes a run's state before and after
// every step, so a run killed at any point resumes from the journal. A
// journal holds at most one active run (RunStatus.Active) per environment.
// Implementations are safe for concurrent use.
type Journal interface {
	// Create stores a new run. When the environment already has an active
	// run it returns an error for which errors.Is(err, ErrActiveRun) holds
	// and Code is FailedPrecondition, naming that run.
	Create(ctx context.Context, st *RunState) error
	// Save replaces the stored state of the run, except its Control. When
	// the run is no longer active, the environment's slot is released.
	Save(ctx context.Context, st *RunState) error
	// Load returns the run with its Control. An unknown run returns
	// NotFound.
	Load(ctx context.Context, id string) (*RunState, error)
	// SetControl records an operator's request (pause, cancel) for the run.
	SetControl(ctx context.Context, id string, c Control) error
	// Active returns the active run of the environment, or NotFound.
	Active(ctx context.Context, env string) (*RunState, error)
	// Claim makes owner the run's driver until now+ttl, when the run has no
	// driver, its driver's lease has expired, or owner already holds it (a
	// renewal). Otherwise it returns an error for which errors.Is(err,
	// ErrRunBusy) holds and Code is FailedPrecondition. The lease is kept
	// apart from the state, like Control.
	Claim(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) error
	// Release ends owner's lease on the run (a no-op when owner does not
	// hold it).
	Release(ctx context.Context, id, owner string) error
}

// ErrRunBusy is the cause of the error Journal.Claim returns when another
// runner drives the run.
var ErrRunBusy = errors.New("dr: another runner is driving this run")

func busyError(op, id, holder string, until time.Time) error {
	return &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: id,
		Msg: fmt.Sprintf("run %s is driven by %s (lease until %s): wait for it, or for its lease to expire if it died", id, holder, until.UTC().Format(time.RFC3339)),
		Err: ErrRunBusy}
}

// lease is a run's driver and how long it holds the run.
type lease struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

// ErrActiveRun is the cause of the error Journal.Create returns when the
// environment already has an active run.
var ErrActiveRun = errors.New("dr: the environment already has an active DR run")

func activeRunError(op, env, id string) error {
	return &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: env,
		Msg: fmt.Sprintf("environment %s already has an active DR run %s: resume it, or cancel it first", env, id), Err: ErrActiveRun}
}

// FileJournal is the default Journal: one append-only log per run in a
// directory, each state a JSON line appended and fsynced (a torn last line
// is ignored on reading, so a crash loses at most the write in progress),
// the operator's control and the run's lease in small files replaced
// atomically, and a lock file per environment, created exclusively (a hard
// link of a complete temporary file) and naming the run that holds the
// environment's one active slot. Creating a run checks and takes the slot
// under an advisory flock of the directory, so it is safe for concurrent
// use by goroutines and by processes sharing the directory on a local file
// system. A lock left by a process that died after its run ended is taken
// over.
type FileJournal struct {
	dir string
	mu  sync.Mutex
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)

// NewFileJournal returns a journal in dir, creating it if needed.
func NewFileJournal(dir string) (*FileJournal, error) {
	if dir == "" {
		return nil, providers.Errorf(providers.InvalidArgument, "dr.NewFileJournal: dir is empty")
	}
	for _, d := range []string{filepath.Join(dir, "runs"), filepath.Join(dir, "active")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, providers.Wrap(err, providers.Internal, "dr.NewFileJournal", dir)
		}
	}
	return &FileJournal{dir: dir}, nil
}

// Dir returns the journal's directory.
func (j *FileJournal) Dir() string { return j.dir }

func (j *FileJournal) runPath(id string) string { return filepath.Join(j.dir, "runs", id+".jsonl") }
func (j *FileJournal) ctlPath(id string) string {
	return filepath.Join(j.dir, "runs", id+".control.json")
}
func (j *FileJournal) leasePath(id string) string {
	return filepath.Join(j.dir, "runs", id+".lease.json")
}
func (j *FileJournal) lockPath(env string) string { return filepath.Join(j.dir, "active", env+".lock") }

// checkCall checks id and that ctx is still live.
func checkCall(ctx context.Context, op, what, id string) error {
	if err := checkID(op, what, id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return providers.Wrap(err, providers.Canceled, op, id)
	}
	return nil
}

func checkID(op, what, id string) error {
	if !idRE.MatchString(id) {
		return providers.Errorf(providers.InvalidArgument, "%s: %s %q: use lower case letters, digits, '.', '_' and '-'", op, what, id)
	}
	return nil
}

// Create implements Journal.
func (j *FileJournal) Create(ctx context.Context, st *RunState) error {
	const op = "dr.FileJournal.Create"
	if st == nil {
		return providers.Errorf(providers.InvalidArgument, "%s: nil state", op)
	}
	if err := errors.Join(checkID(op, "run id", st.ID), checkID(op, "environment", st.Environment)); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return providers.Wrap(err, providers.Canceled, op, st.ID)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	unlock, err := lockDir(filepath.Join(j.dir, "active"))
	if err != nil {
		return providers.Wrap(err, providers.Internal, op, st.ID)
	}
	defer unlock()
	if _, err := os.Stat(j.runPath(st.ID)); err == nil {
		return providers.Errorf(providers.AlreadyExists, "%s: run %s exists", op, st.ID)
	}
	lock := j.lockPath(st.Environment)
	if holder, err := os.ReadFile(lock); err == nil {
		// The lock holds the slot unless its run is over (a process that
		// died between saving a final state and removing the lock).
		h := strings.TrimSpace(string(holder))
		if cur, lerr := j.loadLocked(h); lerr == nil && cur.Status.Active() {
			return activeRunError(op, st.Environment, h)
		}
		if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return providers.Wrap(err, providers.Internal, op, st.ID)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return providers.Wrap(err, providers.Internal, op, st.ID)
	}
	// The run first, then the lock naming it: a lock never names a run
	// that does not exist.
	if err := appendState(j.runPath(st.ID), st, true); err != nil {
		return providers.Wrap(err, providers.Internal, op, st.ID)
	}
	if err := createExclusive(lock, st.ID); err != nil {
		_ = os.Remove(j.runPath(st.ID))
		if errors.Is(err, fs.ErrExist) {
			holder, _ := os.ReadFile(lock)
			return activeRunError(op, st.Environment, strings.TrimSpace(string(holder)))
		}
		return providers.Wrap(err, providers.Internal, op, st.ID)
	}
	return nil
}

// createExclusive creates path holding content, failing with fs.ErrExist
// when it exists: the content is written to a temporary file that is then
// hard-linked to path, so nobody ever reads a lock without its content.
func createExclusive(path, content string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".lock.*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, werr := f.WriteString(content)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// Save implements Journal.
func (j *FileJournal) Save(ctx context.Context, st *RunState) error {
	const op = "dr.FileJournal.Save"
	if st == nil {
		return providers.Errorf(providers.InvalidArgument, "%s: nil state", op)
	}
	if err := checkCall(ctx, op, "run id", st.ID); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	unlock, err := lockDir(filepath.Join(j.dir, "active"))
	if err != nil {
		return providers.Wrap(err, providers.Internal, op, st.ID)
	}
	defer unlock()
	if _, err := os.Stat(j.runPath(st.ID)); err != nil {
		return providers.Wrap(err, providers.NotFound, op, st.ID)
	}
	if st.Driver != "" {
		// Fencing: a runner whose lease went to another writes nothing.
		if b, err := os.ReadFile(j.leasePath(st.ID)); err == nil {
			var cur lease
			if json.Unmarshal(b, &cur) == nil && cur.Owner != "" && cur.Owner != st.Driver {
				return busyError(op, st.ID, cur.Owner, cur.Until)
			}
		}
	}
	c := st.Clone()
	c.Control = Control{}
	if err := appendState(j.runPath(st.ID), c, false); err != nil {
		return providers.Wrap(err, providers.Internal, op, st.ID)
	}
	if !st.Status.Active() {
		lock := j.lockPath(st.Environment)
		if holder, err := os.ReadFile(lock); err == nil && strings.TrimSpace(string(holder)) == st.ID {
			if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return providers.Wrap(err, providers.Internal, op, st.ID)
			}
			_ = syncDir(filepath.Dir(lock))
		}
	}
	return nil
}

// Load implements Journal.
func (j *FileJournal) Load(ctx context.Context, id string) (*RunState, error) {
	const op = "dr.FileJournal.Load"
	if err := checkCall(ctx, op, "run id", id); err != nil {
		return nil, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.loadLocked(id)
}

func (j *FileJournal) loadLocked(id string) (*RunState, error) {
	const op = "dr.FileJournal.Load"
	b, err := os.ReadFile(j.runPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: id, Msg: "no such run", Err: err}
	}
	if err != nil {
		return nil, providers.Wrap(err, providers.Internal, op, id)
	}
	var st RunState
	if err := json.Unmarshal(lastRecord(b), &st); err != nil {
		return nil, providers.Wrap(err, providers.Internal, op, id)
	}
	if b, err := os.ReadFile(j.ctlPath(id)); err == nil {
		if err := json.Unmarshal(b, &st.Control); err != nil {
			return nil, providers.Wrap(err, providers.Internal, op, id)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, providers.Wrap(err, providers.Internal, op, id)
	}
	return &st, nil
}

// SetControl implements Journal.
func (j *FileJournal) SetControl(ctx context.Context, id string, c Control) error {
	const op = "dr.FileJournal.SetControl"
	if err := checkCall(ctx, op, "run id", id); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := os.Stat(j.runPath(id)); err != nil {
		return &providers.Error{Code: providers.NotFound, Op: op, Resource: id, Msg: "no such run", Err: err}
	}
	if err := writeJSON(j.ctlPath(id), c); err != nil {
		return providers.Wrap(err, providers.Internal, op, id)
	}
	return nil
}

// Active implements Journal.
func (j *FileJournal) Active(ctx context.Context, env string) (*RunState, error) {
	const op = "dr.FileJournal.Active"
	if err := checkCall(ctx, op, "environment", env); err != nil {
		return nil, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	holder, err := os.ReadFile(j.lockPath(env))
	if err == nil {
		if st, lerr := j.loadLocked(strings.TrimSpace(string(holder))); lerr == nil && st.Status.Active() {
			return st, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, providers.Wrap(err, providers.Internal, op, env)
	}
	return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: env, Msg: "no active DR run"}
}

// Claim implements Journal.
func (j *FileJournal) Claim(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) error {
	const op = "dr.FileJournal.Claim"
	if err := checkID(op, "run id", id); err != nil {
		return err
	}
	if owner == "" || ttl <= 0 {
		return providers.Errorf(providers.InvalidArgument, "%s: an owner and a positive ttl are required", op)
	}
	if err := ctx.Err(); err != nil {
		return providers.Wrap(err, providers.Canceled, op, id)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	unlock, err := lockDir(filepath.Join(j.dir, "active"))
	if err != nil {
		return providers.Wrap(err, providers.Internal, op, id)
	}
	defer unlock()
	if _, err := os.Stat(j.runPath(id)); err != nil {
		return &providers.Error{Code: providers.NotFound, Op: op, Resource: id, Msg: "no such run", Err: err}
	}
	var cur lease
	if b, err := os.ReadFile(j.leasePath(id)); err == nil {
		if err := json.Unmarshal(b, &cur); err != nil {
			return providers.Wrap(err, providers.Internal, op, id)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return providers.Wrap(err, providers.Internal, op, id)
	}
	if cur.Owner != "" && cur.Owner != owner && now.Before(cur.Until) {
		return busyError(op, id, cur.Owner, cur.Until)
	}
	if err := writeJSON(j.leasePath(id), lease{Owner: owner, Until: now.Add(ttl)}); err != nil {
		return providers.Wrap(err, providers.Internal, op, id)
	}
	return nil
}

// Release implements Journal.
func (j *FileJournal) Release(ctx context.Context, id, owner string) error {
	const op = "dr.FileJournal.Release"
	if err := checkID(op, "run id", id); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	unlock, err := lockDir(filepath.Join(j.dir, "active"))
	if err != nil {
		return providers.Wrap(err, providers.Internal, op, id)
	}
	defer unlock()
	b, err := os.ReadFile(j.leasePath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return providers.Wrap(err, providers.Internal, op, id)
	}
	var cur lease
	if json.Unmarshal(b, &cur) == nil && cur.Owner != owner {
		return nil
	}
	if err := os.Remove(j.leasePath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return providers.Wrap(err, providers.Internal, op, id)
	}
	return nil
}

// appendState appends st to the run's log as one JSON line and syncs it:
// one fsync per write (no rename, no directory sync but at creation). A
// write torn by a crash leaves an incomplete last line, which lastRecord
// ignores, so the state read back is the last one fully written.
func appendState(path string, st *RunState, create bool) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	flags := os.O_RDWR | os.O_APPEND
	if create {
		flags |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return err
	}
	// After a torn write, end the fragment's line first so the new record
	// stands on a line of its own.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			b = append([]byte{'\n'}, b...)
		}
	}
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil && create {
		werr = syncDir(filepath.Dir(path))
	}
	return werr
}

// lastRecord returns the last complete line of a run's log.
func lastRecord(b []byte) []byte {
	end := bytes.LastIndexByte(b, '\n')
	if end < 0 {
		return nil
	}
	b = b[:end]
	return b[bytes.LastIndexByte(b, '\n')+1:]
}

// writeJSON writes v to path atomically: a temporary file in the same
// directory, fsync, rename over path, fsync of the directory.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return werr
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
