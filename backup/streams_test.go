package backup

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAutoStreams(t *testing.T) {
	for _, tc := range []struct {
		dsn  string
		cpus int
		want int
	}{
		{"host=127.0.0.1 port=5432 user=postgres dbname=app", 2, 1},
		{"host=127.0.0.1 port=5432 user=postgres dbname=app", 1, 1},
		{"host=127.0.0.1 port=5432 user=postgres dbname=app", 8, 4},
		{"postgres://u:p@localhost:5432/app", 4, 2},
		{"postgres://u:p@[::1]:5432/app", 2, 1},
		{"host=/var/run/postgresql dbname=app", 6, 3},
		{"host=10.0.0.5 dbname=app", 2, 2},
		{"host=db.internal dbname=app", 1, 2},
		{"postgres://u:p@db.internal:5432/app", 16, 16},
		{"not a dsn ::::", 4, 4},
	} {
		assert.Equal(t, tc.want, autoStreams(tc.dsn, tc.cpus), "%s with %d CPUs", tc.dsn, tc.cpus)
	}
}

func TestStreamsHonoursParallel(t *testing.T) {
	e := &Engine{opts: Options{Parallel: 3}}
	assert.Equal(t, 3, e.streams("host=127.0.0.1 dbname=app"))
	assert.Equal(t, 3, e.sessions())
	e = &Engine{}
	assert.GreaterOrEqual(t, e.sessions(), 2)
	assert.GreaterOrEqual(t, e.streams("host=127.0.0.1 dbname=app"), 1)
}
