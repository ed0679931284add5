package backup

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type failAfter struct {
	n   int
	err error
	buf bytes.Buffer
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.buf.Len()+len(p) > f.n {
		return 0, f.err
	}
	return f.buf.Write(p)
}

func TestAsyncWriter(t *testing.T) {
	data := make([]byte, 1<<20+123)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	t.Run("copies everything in order, whatever the write sizes", func(t *testing.T) {
		for _, step := range []int{1, 7, 4096, 65536, 1 << 21} {
			var out bytes.Buffer
			a := newAsyncWriter(&out, 3, 1000)
			for p := data; len(p) > 0; {
				n := min(step, len(p))
				k, err := a.Write(p[:n])
				require.NoError(t, err)
				require.Equal(t, n, k)
				p = p[n:]
			}
			require.NoError(t, a.Close())
			require.NoError(t, a.Close(), "Close is idempotent")
			assert.True(t, bytes.Equal(data, out.Bytes()), "step %d", step)
		}
	})
	t.Run("a write error reaches a later Write or Close", func(t *testing.T) {
		boom := errors.New("disk full")
		w := &failAfter{n: 5000, err: boom}
		a := newAsyncWriter(w, 2, 1000)
		var werr error
		for range 100 {
			if _, werr = a.Write(data[:700]); werr != nil {
				break
			}
		}
		cerr := a.Close()
		assert.True(t, errors.Is(werr, boom) || errors.Is(cerr, boom), "write %v, close %v", werr, cerr)
		assert.ErrorIs(t, cerr, boom)
	})
	t.Run("Abort drops buffered data and stops", func(t *testing.T) {
		var out bytes.Buffer
		a := newAsyncWriter(&out, 2, 1000)
		_, err := a.Write(data[:500])
		require.NoError(t, err)
		a.Abort()
		a.Abort()
		assert.Zero(t, out.Len())
		assert.NoError(t, a.Close())
	})
}

func TestAsyncReader(t *testing.T) {
	data := make([]byte, 300_001)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	t.Run("reads everything", func(t *testing.T) {
		a := newAsyncReader(iotest.HalfReader(bytes.NewReader(data)), 3, 4096)
		got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(a, 10)))
		require.NoError(t, err)
		rest, err := io.ReadAll(a)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, append(got, rest...)))
		require.NoError(t, a.Close())
	})
	t.Run("an error comes after the data read before it", func(t *testing.T) {
		boom := errors.New("integrity")
		a := newAsyncReader(io.MultiReader(bytes.NewReader(data[:5000]), iotest.ErrReader(boom)), 2, 4096)
		got, err := io.ReadAll(a)
		assert.ErrorIs(t, err, boom)
		assert.Equal(t, data[:5000], got)
		require.NoError(t, a.Close())
	})
	t.Run("Close stops a reader that is ahead", func(t *testing.T) {
		a := newAsyncReader(bytes.NewReader(data), 2, 1024)
		var b [10]byte
		_, err := a.Read(b[:])
		require.NoError(t, err)
		require.NoError(t, a.Close())
		require.NoError(t, a.Close())
	})
}
