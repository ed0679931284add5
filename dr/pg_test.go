package dr_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/backup"
	"github.com/orocloud/orocloud-go/dr"
	"github.com/orocloud/orocloud-go/internal/pgharness"
	"github.com/orocloud/orocloud-go/providers"
)

var (
	srvOnce   sync.Once
	srvShared *pgharness.Server
	srvErr    error
	dbSeq     atomic.Int64
)

// sharedServer starts one PostgreSQL server for the package's data-path
// tests (each uses its own databases); TestMain stops it.
func sharedServer(t *testing.T) *pgharness.Server {
	t.Helper()
	pgharness.Require(t)
	srvOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		srvShared, srvErr = pgharness.Start(ctx, nil)
	})
	require.NoError(t, srvErr)
	return srvShared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if srvShared != nil {
		srvShared.Cleanup()
	}
	os.Exit(code)
}

func freshDB(t *testing.T, srv *pgharness.Server) string {
	t.Helper()
	name := fmt.Sprintf("j_%d", dbSeq.Add(1))
	require.NoError(t, srv.CreateDatabase(context.Background(), name))
	return name
}

func pgJournal(t *testing.T, srv *pgharness.Server, db string) *dr.PGJournal {
	t.Helper()
	ctx := context.Background()
	c, err := srv.Connect(ctx, db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	j, err := dr.NewPGJournal(ctx, c, nil)
	require.NoError(t, err)
	return j
}

func TestPGJournalOneActiveRunPerEnvironment(t *testing.T) {
	srv := sharedServer(t)
	db := freshDB(t, srv)
	ctx := context.Background()
	j := pgJournal(t, srv, db)
	a := &dr.RunState{ID: "shop-a", Environment: "shop", Mode: dr.ModeFailover, Status: dr.RunRunning,
		Steps: []dr.StepState{{ID: dr.StepPrecheck, Status: dr.StepPending}}}
	require.NoError(t, j.Create(ctx, a))
	err := j.Create(ctx, &dr.RunState{ID: "shop-b", Environment: "shop", Status: dr.RunRunning})
	require.Error(t, err)
	assert.True(t, errors.Is(err, dr.ErrActiveRun), "%v", err)
	assert.Equal(t, providers.FailedPrecondition, providers.Code(err))
	assert.Contains(t, err.Error(), "shop-a")
	err = j.Create(ctx, &dr.RunState{ID: "shop-a", Environment: "other", Status: dr.RunRunning})
	assert.Equal(t, providers.AlreadyExists, providers.Code(err), "%v", err)

	// Control is kept apart from the state.
	require.NoError(t, j.SetControl(ctx, "shop-a", dr.Control{Pause: true, By: "sre"}))
	a.Steps[0].Status = dr.StepDone
	require.NoError(t, j.Save(ctx, a))
	got, err := j.Load(ctx, "shop-a")
	require.NoError(t, err)
	assert.True(t, got.Control.Pause)
	assert.Equal(t, dr.StepDone, got.Steps[0].Status)
	act, err := j.Active(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, "shop-a", act.ID)

	// A finished run frees the slot.
	a.Status = dr.RunSucceeded
	require.NoError(t, j.Save(ctx, a))
	_, err = j.Active(ctx, "shop")
	assert.True(t, errors.Is(err, providers.ErrNotFound))
	require.NoError(t, j.Create(ctx, &dr.RunState{ID: "shop-b", Environment: "shop", Status: dr.RunRunning}))
	_, err = j.Load(ctx, "nope")
	assert.True(t, errors.Is(err, providers.ErrNotFound))

	// Two controllers race for the same environment: the database lets
	// exactly one win.
	journals := []*dr.PGJournal{pgJournal(t, srv, db), pgJournal(t, srv, db), pgJournal(t, srv, db), pgJournal(t, srv, db)}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i, jj := range journals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := jj.Create(ctx, &dr.RunState{ID: fmt.Sprintf("race-%d", i), Environment: "race", Status: dr.RunRunning})
			if err == nil {
				wins.Add(1)
			} else {
				assert.True(t, errors.Is(err, dr.ErrActiveRun), "%v", err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
}

func TestFileJournalOneActiveRunAcrossInstances(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var journals []*dr.FileJournal
	for range 4 {
		j, err := dr.NewFileJournal(dir)
		require.NoError(t, err)
		journals = append(journals, j)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i, j := range journals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := j.Create(ctx, &dr.RunState{ID: fmt.Sprintf("race-%d", i), Environment: "race", Status: dr.RunRunning}); err == nil {
				wins.Add(1)
			} else {
				assert.True(t, errors.Is(err, dr.ErrActiveRun), "%v", err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
}

func TestSecondRunRefusedPGJournal(t *testing.T) {
	srv := sharedServer(t)
	f := newFixture(t)
	db := freshDB(t, srv)
	release := make(chan struct{})
	waiting := make(chan struct{}, 1)
	r := f.runner(func(o *dr.Options) {
		o.Journal = pgJournal(t, srv, db)
		o.Approver = dr.ApproverFunc(func(ctx context.Context, _ dr.ApprovalRequest) (dr.Approval, error) {
			waiting <- struct{}{}
			<-release
			return dr.Approval{Approved: true, By: contactEmail}, nil
		})
	})
	done := make(chan error, 1)
	go func() {
		_, err := r.Start(context.Background(), f.request(dr.ModeFailover))
		done <- err
	}()
	<-waiting
	// Another controller with its own connection to the same database.
	second := f.runner(func(o *dr.Options) { o.Journal = pgJournal(t, srv, db) })
	_, err := second.Start(context.Background(), f.request(dr.ModeDrill))
	require.Error(t, err)
	assert.True(t, errors.Is(err, dr.ErrActiveRun), "%v", err)
	close(release)
	require.NoError(t, <-done)
	_, err = second.Precheck(context.Background(), f.request(dr.ModeDrill))
	require.NoError(t, err)
}

const shopSchema = `
CREATE TABLE customer (id bigint PRIMARY KEY, email text NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customer(id), total numeric(12,2), note text);
INSERT INTO customer SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 500) g;
INSERT INTO orders SELECT g, 1 + g % 500, g * 1.5, repeat('x', 100) FROM generate_series(1, 5000) g;
`

func TestDrillFailoverAndFailbackOnRealPostgreSQL(t *testing.T) {
	srv := sharedServer(t)
	ctx := context.Background()
	src := fmt.Sprintf("shop_%d", dbSeq.Add(1))
	require.NoError(t, srv.CreateDatabase(ctx, src))
	c, err := srv.Connect(ctx, src)
	require.NoError(t, err)
	_, err = c.PgConn().Exec(ctx, shopSchema).ReadAll()
	require.NoError(t, err)
	require.NoError(t, c.Close(ctx))
	media := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(media, "product"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(media, "product", "a.jpg"), []byte("jpeg"), 0o644))

	store, err := backup.NewDirStore(t.TempDir())
	require.NoError(t, err)
	kek, err := backup.GenerateKEK("k1")
	require.NoError(t, err)
	keys, err := backup.NewLocalKeyring(kek)
	require.NoError(t, err)
	eng, err := backup.NewEngine(store, keys, &backup.Options{Database: srv.DSN(src), Media: media, Environment: "shop"})
	require.NoError(t, err)
	res, err := eng.Backup(ctx, backup.Request{CodeRef: "git:3f2c1e9"})
	require.NoError(t, err)

	f := newFixture(t)
	bk, err := dr.NewEngineBackups(eng)
	require.NoError(t, err)
	targets, err := dr.NewServerTargets(providers.Secret(srv.DSN("postgres")), t.TempDir())
	require.NoError(t, err)
	f.opts.Backups = bk
	f.opts.Targets = targets
	f.opts.HealthChecks = nil // the defaults: writes, restored data, web nodes
	f.opts.Journal = pgJournal(t, srv, freshDB(t, srv))
	failoverCopy := dr.TargetEnvironment(&dr.RunState{Spec: f.env, Mode: dr.ModeFailover, ToRegion: drRegion})
	t.Cleanup(func() { _ = targets.Release(context.Background(), failoverCopy) })

	// A drill first: a restored copy, healthy, then gone.
	req := f.request(dr.ModeDrill)
	req.DisasterAt = time.Now()
	rep, err := f.runner().Start(ctx, req)
	require.NoError(t, err, "%v", rep)
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	assert.Equal(t, res.Point.ID, rep.Point.ID)
	assert.Equal(t, "git:3f2c1e9", rep.Point.CodeRef)
	require.NotNil(t, rep.Restored)
	assert.Equal(t, 2, rep.Restored.Tables)
	assert.Contains(t, fmt.Sprint(rep.Timeline), "database holds the restored data: ok")
	assert.False(t, dbExists(t, srv, "shop_drill_europe_west4"), "the drill's database is dropped")

	// Then the failover: the data is in the DR database.
	req = f.request(dr.ModeFailover)
	req.DisasterAt = time.Now()
	rep, err = f.runner().Start(ctx, req)
	require.NoError(t, err, "%v", rep)
	assert.Equal(t, dr.RunSucceeded, rep.Status)
	assert.True(t, rep.RPOMet)
	assert.True(t, rep.RTOMet)
	dc, err := pgx.Connect(ctx, targets.DSN("shop_europe_west4").Reveal())
	require.NoError(t, err)
	defer dc.Close(ctx)
	var n int
	require.NoError(t, dc.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&n))
	assert.Equal(t, 5000, n)
	got, err := os.ReadFile(filepath.Join(targets.Dir(failoverCopy), "media", "product", "a.jpg"))
	require.NoError(t, err)
	assert.Equal(t, "jpeg", string(got))

	// Orders taken in the DR region while the primary was down, then a
	// backup of the DR copy like any environment's.
	_, err = dc.Exec(ctx, "INSERT INTO orders SELECT g, 1, 9.99, 'taken in DR' FROM generate_series(5001, 5100) g")
	require.NoError(t, err)
	require.NoError(t, dc.Close(ctx))
	drEng, err := backup.NewEngine(store, keys, &backup.Options{Database: targets.DSN("shop_europe_west4").Reveal(),
		Media: filepath.Join(targets.Dir(failoverCopy), "media"), Environment: "shop"})
	require.NoError(t, err)
	drRes, err := drEng.Backup(ctx, backup.Request{CodeRef: "git:3f2c1e9"})
	require.NoError(t, err)

	// Failback: the DR copy's latest point lands in the primary region, the
	// DR copy's data is released.
	t.Cleanup(func() { _ = targets.Release(context.Background(), f.env) })
	rep, err = f.runner().Start(ctx, dr.Request{Environment: f.env, Mode: dr.ModeFailback, Reason: "europe-west3 healthy again"})
	require.NoError(t, err, "%v", rep)
	assert.Equal(t, dr.RunSucceeded, rep.Status, "%v", rep)
	assert.Equal(t, drRes.Point.ID, rep.Point.ID, "failback restores the DR copy's latest point")
	pc, err := pgx.Connect(ctx, targets.DSN(targets.DatabaseName(f.env)).Reveal())
	require.NoError(t, err)
	defer pc.Close(ctx)
	var total, fromDR int
	require.NoError(t, pc.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE note = 'taken in DR') FROM orders").Scan(&total, &fromDR))
	assert.Equal(t, 5100, total)
	assert.Equal(t, 100, fromDR, "no order taken during the disaster is lost")
	got, err = os.ReadFile(filepath.Join(targets.Dir(f.env), "media", "product", "a.jpg"))
	require.NoError(t, err)
	assert.Equal(t, "jpeg", string(got))
	assert.False(t, dbExists(t, srv, "shop_europe_west4"), "the DR copy's database is released")
}

func dbExists(t *testing.T, srv *pgharness.Server, name string) bool {
	t.Helper()
	c, err := srv.Connect(context.Background(), "postgres")
	require.NoError(t, err)
	defer c.Close(context.Background())
	var ok bool
	require.NoError(t, c.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok))
	return ok
}
