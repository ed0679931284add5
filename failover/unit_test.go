package failover_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/failover"
	"github.com/orocloud/orocloud-go/providers"
)

func TestHealthValidate(t *testing.T) {
	tests := []struct {
		name string
		h    failover.Health
		want []string
	}{
		{"defaults", failover.Health{}, nil},
		{"fast", failover.Health{Interval: 50 * time.Millisecond, Timeout: 200 * time.Millisecond, FailureThreshold: 2}, nil},
		{"threshold one", failover.Health{FailureThreshold: 1}, []string{"FailureThreshold 1"}},
		{"timeout dominates", failover.Health{Interval: 10 * time.Millisecond, Timeout: time.Second}, []string{"at most 20 x Health.Interval"}},
		{"stall would fail over", failover.Health{Interval: 50 * time.Millisecond, Timeout: 50 * time.Millisecond, FailureThreshold: 3}, []string{"a stall of 100ms"}},
		{"all at once", failover.Health{Interval: time.Millisecond, Timeout: 5 * time.Millisecond, FailureThreshold: 1},
			[]string{"Health.Interval 1ms", "Health.Timeout 5ms", "FailureThreshold 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.h.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, providers.ErrInvalidArgument)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestDetectionBounds(t *testing.T) {
	h := failover.Health{}
	assert.Equal(t, 1250*time.Millisecond, h.WorstCaseDetection())
	assert.Equal(t, 150*time.Millisecond, h.RefusedDetection())
	assert.Equal(t, 800*time.Millisecond, h.MinStallTolerated())
	h = failover.Health{Interval: time.Second, Timeout: 500 * time.Millisecond, FailureThreshold: 5}
	assert.Equal(t, 6*time.Second, h.WorstCaseDetection())
	assert.Equal(t, 4*time.Second, h.MinStallTolerated())
}

func TestNewReportsAllProblems(t *testing.T) {
	_, err := failover.New(
		failover.Node{Name: "a", DSN: "host=127.0.0.1 password=hunter2secret port=notaport"},
		[]failover.Node{{Name: "a", DSN: "host=x"}, {Name: "b c"}},
		&failover.Options{Sync: "sometimes", Health: failover.Health{FailureThreshold: 1}})
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	msg := err.Error()
	for _, w := range []string{"primary.DSN: not a valid", `standbys[0].Name "a": duplicate`, `standbys[1].Name "b c"`, "standbys[1].DSN: must not be empty", `Sync "sometimes"`, "FailureThreshold 1"} {
		assert.Contains(t, msg, w)
	}
	assert.NotContains(t, msg, "hunter2secret", "a DSN secret leaked into an error")

	_, err = failover.New(failover.Node{Name: "p", DSN: "host=127.0.0.1"}, nil, nil)
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "at least one standby")
}

func TestNodeStringHidesDSN(t *testing.T) {
	n := failover.Node{Name: "db1", Zone: "europe-west3-a", DSN: "host=h password=s3cr3t"}
	assert.Equal(t, "db1@europe-west3-a", n.String())
}

func TestStores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs, err := failover.NewFileStore(filepath.Join(dir, "status.json"))
	require.NoError(t, err)
	_, err = failover.NewFileStore("")
	require.ErrorIs(t, err, providers.ErrInvalidArgument)
	for name, s := range map[string]failover.StatusStore{"file": fs, "memory": &failover.MemoryStore{}} {
		t.Run(name, func(t *testing.T) {
			_, ok, err := s.Load(ctx)
			require.NoError(t, err)
			assert.False(t, ok)
			st := failover.Status{Epoch: 3, Primary: "b", Fenced: []string{"a"},
				Pending: &failover.Pending{Op: failover.OpFailover, From: "a", To: "b", Step: failover.StepPromote, Started: time.Unix(100, 0).UTC()}}
			require.NoError(t, s.Save(ctx, st))
			st.Fenced[0] = "mutated" // the store keeps its own copy
			got, ok, err := s.Load(ctx)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, int64(3), got.Epoch)
			assert.Equal(t, []string{"a"}, got.Fenced)
			require.NotNil(t, got.Pending)
			assert.Equal(t, failover.StepPromote, got.Pending.Step)
			assert.True(t, got.IsFenced("a"))
		})
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "temporary files left behind")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "status.json"), []byte("{broken"), 0o600))
	_, _, err = fs.Load(ctx)
	assert.Equal(t, providers.Internal, providers.Code(err))
}

func TestRouterBasics(t *testing.T) {
	r := failover.NewRouter()
	_, err := r.Primary()
	require.ErrorIs(t, err, providers.ErrUnavailable)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = r.WaitPrimary(ctx)
	require.ErrorIs(t, err, providers.ErrDeadlineExceeded)
	_, err = r.ConnConfig(ctx)
	require.Error(t, err)
}

func TestParseLSN(t *testing.T) {
	l, err := failover.ParseLSN("16/B374D848")
	require.NoError(t, err)
	assert.Equal(t, failover.LSN(0x16_B374D848), l)
	assert.Equal(t, "16/B374D848", l.String())
	for _, bad := range []string{"", "16", "x/1", "1/zz"} {
		_, err := failover.ParseLSN(bad)
		assert.ErrorIs(t, err, providers.ErrInvalidArgument, bad)
	}
}
