package failover_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/failover"
)

// closedPort returns a 127.0.0.1 port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return p
}

// Passwords in node DSNs never reach logs, events or errors, even while
// the controller fails to reach anything and tries to fail over.
func TestSecretsNeverLogged(t *testing.T) {
	const secret = "Sup3rS3cretPassw0rd"
	var buf bytes.Buffer
	var mu sync.Mutex
	var events []string
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dsn := func(p int) string {
		return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password=%s dbname=postgres", p, secret)
	}
	ctl, err := failover.New(
		failover.Node{Name: "p", DSN: dsn(closedPort(t))},
		[]failover.Node{{Name: "s1", DSN: dsn(closedPort(t))}},
		&failover.Options{Logger: logger, OnEvent: func(e failover.Event) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, fmt.Sprintf("%+v", e))
		}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	require.NoError(t, ctl.Run(ctx))
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, events, "the controller should have detected and tried to elect")
	assert.NotContains(t, buf.String(), secret)
	for _, e := range events {
		assert.NotContains(t, e, secret)
	}
	_, err = ctl.Router().Primary()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
