package crypto_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/internal/crypto"
)

func encrypt(t *testing.T, key []byte, name string, plain []byte, chunk int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := crypto.NewWriter(&buf, key, name, chunk)
	require.NoError(t, err)
	_, err = w.Write(plain)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	key, err := crypto.NewDataKey()
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		size  int
		chunk int
	}{
		{"empty", 0, 16}, {"one byte", 1, 16}, {"exact chunk", 16, 16}, {"two chunks", 32, 16},
		{"odd", 1000, 7}, {"default chunk", 3<<20 + 5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := make([]byte, tc.size)
			_, _ = rand.Read(plain)
			ct := encrypt(t, key, "db/part", plain, tc.chunk)
			var out bytes.Buffer
			_, err := io.Copy(&out, crypto.NewReader(bytes.NewReader(ct), key, "db/part"))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(plain, out.Bytes()))
			// Read through a small buffer too (not WriteTo).
			got, err := io.ReadAll(io.LimitReader(crypto.NewReader(bytes.NewReader(ct), key, "db/part"), 1<<30))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(plain, got))
		})
	}
}

func TestReadFrom(t *testing.T) {
	key, _ := crypto.NewDataKey()
	plain := bytes.Repeat([]byte("abcdefgh"), 10000)
	var buf bytes.Buffer
	w, err := crypto.NewWriter(&buf, key, "x", 1000)
	require.NoError(t, err)
	n, err := io.Copy(w, bytes.NewReader(plain))
	require.NoError(t, err)
	require.EqualValues(t, len(plain), n)
	require.NoError(t, w.Close())
	assert.EqualValues(t, len(plain), w.Written())
	got, err := io.ReadAll(crypto.NewReader(&buf, key, "x"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(plain, got))
}

func TestEveryFlippedBitIsDetected(t *testing.T) {
	key, _ := crypto.NewDataKey()
	plain := []byte("the quick brown fox jumps over the lazy dog, twice over")
	ct := encrypt(t, key, "media", plain, 10)
	for i := range ct {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(ct)
			bad[i] ^= bit
			_, err := io.ReadAll(crypto.NewReader(bytes.NewReader(bad), key, "media"))
			var ie *crypto.IntegrityError
			require.Truef(t, errors.As(err, &ie), "byte %d bit %x: got %v", i, bit, err)
			assert.Equal(t, "media", ie.Stream)
		}
	}
}

func TestTamperingIsDetected(t *testing.T) {
	key, _ := crypto.NewDataKey()
	other, _ := crypto.NewDataKey()
	plain := bytes.Repeat([]byte{1, 2, 3}, 100)
	ct := encrypt(t, key, "a", plain, 32)
	frame := 4 + 32 + 16
	hdr := 8 + 16
	for _, tc := range []struct {
		name string
		data []byte
		key  []byte
		as   string
	}{
		{"truncated at chunk boundary", ct[:hdr+2*frame], key, "a"},
		{"truncated in header", ct[:5], key, "a"},
		{"empty", nil, key, "a"},
		{"wrong key", ct, other, "a"},
		{"other stream name", ct, key, "b"},
		{"chunks swapped", append(append(append(bytes.Clone(ct[:hdr]), ct[hdr+frame:hdr+2*frame]...), ct[hdr:hdr+frame]...), ct[hdr+2*frame:]...), key, "a"},
		{"trailing garbage", append(bytes.Clone(ct), 0), key, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := io.ReadAll(crypto.NewReader(bytes.NewReader(tc.data), tc.key, tc.as))
			var ie *crypto.IntegrityError
			require.ErrorAs(t, err, &ie)
		})
	}
}

func TestWrap(t *testing.T) {
	kek, _ := crypto.NewDataKey()
	other, _ := crypto.NewDataKey()
	dek, _ := crypto.NewDataKey()
	w, err := crypto.Wrap(kek, dek, []byte("point-1"))
	require.NoError(t, err)
	got, err := crypto.Unwrap(kek, w, []byte("point-1"))
	require.NoError(t, err)
	assert.Equal(t, dek, got)
	_, err = crypto.Unwrap(other, w, []byte("point-1"))
	assert.ErrorIs(t, err, crypto.ErrUnwrap)
	_, err = crypto.Unwrap(kek, w, []byte("point-2"))
	assert.ErrorIs(t, err, crypto.ErrUnwrap)
	_, err = crypto.Unwrap(kek, w[:10], nil)
	assert.ErrorIs(t, err, crypto.ErrUnwrap)
	_, err = crypto.Wrap(kek[:5], dek, nil)
	assert.Error(t, err)
	assert.NotEqual(t, crypto.Fingerprint(kek), crypto.Fingerprint(other))
	assert.NotEqual(t, crypto.MAC(dek, "m", []byte("x")), crypto.MAC(dek, "m", []byte("y")))
}

func TestBadArguments(t *testing.T) {
	_, err := crypto.NewWriter(io.Discard, make([]byte, 5), "x", 0)
	assert.Error(t, err)
	_, err = crypto.NewWriter(io.Discard, make([]byte, 32), "x", crypto.MaxChunkSize+1)
	assert.Error(t, err)
}

func BenchmarkWriter(b *testing.B) {
	key, _ := crypto.NewDataKey()
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	w, _ := crypto.NewWriter(io.Discard, key, "x", 0)
	for b.Loop() {
		_, _ = w.Write(buf)
	}
}
