package failover

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/orocloud/orocloud-go/providers"
)

// Operation names what a pending marker is about.
type Operation string

// Operations.
const (
	OpFailover   Operation = "failover"
	OpSwitchover Operation = "switchover"
)

// Step is the destructive step a pending operation is about to take (or has
// taken, since a crash can happen right after it). Every step is idempotent:
// resuming re-runs it after observing the node.
type Step string

// Steps of a failover or switchover, in order.
const (
	StepFence   Step = "fence"
	StepPromote Step = "promote"
	StepRoute   Step = "route"
)

// Pending is the marker written before a destructive step.
type Pending struct {
	Op      Operation `json:"op"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Step    Step      `json:"step"`
	Started time.Time `json:"started"`
}

// Status is the persisted state of a cluster.
type Status struct {
	// Epoch increases at each change of primary.
	Epoch int64 `json:"epoch"`
	// Primary is the name of the current primary.
	Primary string `json:"primary"`
	// Fenced names the nodes that must never be handed out as primary until
	// they rejoin as standbys.
	Fenced []string `json:"fenced,omitempty"`
	// SyncDegraded is set (SyncAvailable mode) while the primary commits
	// without a synchronous standby.
	SyncDegraded bool `json:"syncDegraded,omitempty"`
	// Pending is set while an operation is in progress.
	Pending *Pending `json:"pending,omitempty"`
	// Updated is when the status was written (Options.Clock time).
	Updated time.Time `json:"updated"`
}

func (s Status) clone() Status {
	s.Fenced = slices.Clone(s.Fenced)
	if s.Pending != nil {
		p := *s.Pending
		s.Pending = &p
	}
	return s
}

// IsFenced reports whether name is fenced.
func (s Status) IsFenced(name string) bool { return slices.Contains(s.Fenced, name) }

// StatusStore persists the Status. Save must be durable when it returns
// (the Controller saves before every destructive step).
type StatusStore interface {
	// Load returns the saved status; ok is false when none was ever saved.
	Load(ctx context.Context) (st Status, ok bool, err error)
	// Save replaces the saved status atomically.
	Save(ctx context.Context, st Status) error
}

// MemoryStore is a StatusStore in memory, for tests and for a controller
// that needs no persistence. The zero value is ready to use.
type MemoryStore struct {
	mu  sync.Mutex
	st  Status
	has bool
}

// Load implements StatusStore.
func (m *MemoryStore) Load(ctx context.Context) (Status, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.clone(), m.has, nil
}

// Save implements StatusStore.
func (m *MemoryStore) Save(ctx context.Context, st Status) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st, m.has = st.clone(), true
	return nil
}

// FileStore is a StatusStore in a JSON file: Save writes a temporary file
// in the same directory, fsyncs it, renames it over the file and fsyncs the
// directory, so a crash leaves either the old or the new status.
type FileStore struct {
	path string
	mu   sync.Mutex
}

// NewFileStore returns a store in the file at path (its directory must
// exist).
func NewFileStore(path string) (*FileStore, error) {
	if path == "" {
		return nil, providers.Errorf(providers.InvalidArgument, "failover: FileStore path must not be empty")
	}
	return &FileStore{path: path}, nil
}

// Load implements StatusStore.
func (f *FileStore) Load(ctx context.Context) (Status, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return Status{}, false, nil
	}
	if err != nil {
		return Status{}, false, providers.Wrap(err, providers.Unavailable, "failover.FileStore.Load", f.path)
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return Status{}, false, providers.Wrap(err, providers.Internal, "failover.FileStore.Load", f.path)
	}
	return st, true, nil
}

// Save implements StatusStore.
func (f *FileStore) Save(ctx context.Context, st Status) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return providers.Wrap(err, providers.Internal, "failover.FileStore.Save", f.path)
	}
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(f.path)+".tmp-*")
	if err != nil {
		return providers.Wrap(err, providers.Unavailable, "failover.FileStore.Save", f.path)
	}
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return providers.Wrap(err, providers.Unavailable, "failover.FileStore.Save", f.path)
	}
	if _, err := tmp.Write(b); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		os.Remove(tmp.Name())
		return providers.Wrap(err, providers.Unavailable, "failover.FileStore.Save", f.path)
	}
	d, err := os.Open(dir)
	if err != nil {
		return providers.Wrap(err, providers.Unavailable, "failover.FileStore.Save", f.path)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return providers.Wrap(err, providers.Unavailable, "failover.FileStore.Save", f.path)
	}
	return nil
}
