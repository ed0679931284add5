package dr_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/dr"
)

// A crash in the middle of a journal write leaves a torn last line: the
// state read back is the last one fully written.
func TestFileJournalIgnoresTornWrite(t *testing.T) {
	dir := t.TempDir()
	j, err := dr.NewFileJournal(dir)
	require.NoError(t, err)
	ctx := context.Background()
	st := &dr.RunState{ID: "torn", Environment: "shop", Status: dr.RunRunning,
		Steps: []dr.StepState{{ID: dr.StepPrecheck, Status: dr.StepPending}}}
	require.NoError(t, j.Create(ctx, st))
	st.Steps[0].Status = dr.StepDone
	require.NoError(t, j.Save(ctx, st))

	f, err := os.OpenFile(filepath.Join(dir, "runs", "torn.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"id":"torn","environment":"shop","status":"succ`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	got, err := j.Load(ctx, "torn")
	require.NoError(t, err)
	assert.Equal(t, dr.RunRunning, got.Status)
	assert.Equal(t, dr.StepDone, got.Steps[0].Status)
	act, err := j.Active(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, "torn", act.ID)

	// The next write stands on its own line.
	got.Status = dr.RunSucceeded
	require.NoError(t, j.Save(ctx, got))
	again, err := j.Load(ctx, "torn")
	require.NoError(t, err)
	assert.Equal(t, dr.RunSucceeded, again.Status)
}
