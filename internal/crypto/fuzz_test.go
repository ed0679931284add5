package crypto_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/orocloud/orocloud-go/internal/crypto"
)

// FuzzReader feeds arbitrary bytes to the stream reader: it must never
// panic, and it may only succeed on an authentic stream. The fuzzer does
// not know the key, so the only streams that can succeed are encryptions of
// the seed's plaintext (any salt); anything else would be a forgery.
func FuzzReader(f *testing.F) {
	key := bytes.Repeat([]byte{7}, crypto.KeySize)
	var valid bytes.Buffer
	w, err := crypto.NewWriter(&valid, key, "fuzz", 16)
	if err != nil {
		f.Fatal(err)
	}
	plain := []byte("some plaintext that spans chunks")
	_, _ = w.Write(plain)
	_ = w.Close()
	f.Add(valid.Bytes())
	f.Add([]byte("OROSTRM1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := io.ReadAll(crypto.NewReader(bytes.NewReader(data), key, "fuzz"))
		if err == nil && !bytes.Equal(got, plain) {
			t.Fatalf("accepted a forged stream of %d bytes", len(data))
		}
	})
}
