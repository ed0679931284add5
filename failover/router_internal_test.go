package failover

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/providers"
)

func TestRouterNeverHandsOutFencedOrTwo(t *testing.T) {
	r := NewRouter()
	ch, unsubscribe := r.Subscribe()
	defer unsubscribe()
	a := Node{Name: "a", DSN: "host=127.0.0.1 port=5001 user=postgres"}
	b := Node{Name: "b", DSN: "host=127.0.0.1 port=5002 user=postgres"}

	require.NoError(t, r.set(&a, 1))
	ep := <-ch
	assert.Equal(t, "a", ep.Node.Name)
	assert.Equal(t, int64(1), ep.Epoch)

	// Fencing the current primary withdraws it at once.
	r.fence("a")
	ep = <-ch
	assert.Empty(t, ep.Node.Name)
	_, err := r.Primary()
	require.ErrorIs(t, err, providers.ErrUnavailable)
	// And it can never be routed again until unfenced.
	require.ErrorIs(t, r.set(&a, 2), providers.ErrFailedPrecondition)

	// A waiter wakes up as soon as a primary is set.
	got := make(chan Endpoint, 1)
	go func() {
		ep, _ := r.WaitPrimary(context.Background())
		got <- ep
	}()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, r.set(&b, 2))
	select {
	case ep := <-got:
		assert.Equal(t, "b", ep.Node.Name)
	case <-time.After(2 * time.Second):
		t.Fatal("WaitPrimary did not wake up")
	}
	ep = <-ch
	assert.Equal(t, "b", ep.Node.Name)

	cfg, err := r.ConnConfig(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uint16(5002), cfg.Port)
	assert.NotNil(t, cfg.ValidateConnect, "read-write check enforced")

	// A slow subscriber only keeps the latest endpoint.
	r.unfence("a")
	require.NoError(t, r.set(&a, 3))
	require.NoError(t, r.set(&b, 4))
	ep = <-ch
	assert.Equal(t, int64(4), ep.Epoch)
	select {
	case extra := <-ch:
		t.Fatalf("stale endpoint delivered: %+v", extra)
	default:
	}
}
