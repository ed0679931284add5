package memory_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
)

// BenchmarkPutGetObject streams a 64 MiB object in and out.
func BenchmarkPutGetObject(b *testing.B) {
	const size = 64 << 20
	ctx := b.Context()
	p := memory.New(nil)
	if err := p.CreateBucket(ctx, providers.BucketSpec{Name: "bench", Region: "europe-west3"}); err != nil {
		b.Fatal(err)
	}
	block := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8([32]byte{}).Read(block)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.PutObject(ctx, "bench", "blob", io.LimitReader(&repeatReader{buf: block}, size), nil); err != nil {
			b.Fatal(err)
		}
		rc, _, err := p.GetObject(ctx, "bench", "blob")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		_ = rc.Close()
	}
}

// repeatReader repeats buf forever, so the benchmark measures the provider
// rather than a random generator.
type repeatReader struct {
	buf []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.buf[r.off:])
	r.off = (r.off + n) % len(r.buf)
	return n, nil
}

// BenchmarkCreateInstanceParallel creates distinct instances from every
// goroutine: the cost of the single store lock under contention.
func BenchmarkCreateInstanceParallel(b *testing.B) {
	ctx := b.Context()
	p := memory.New(nil)
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := p.CreateInstance(ctx, providers.InstanceSpec{Name: fmt.Sprintf("web-%d", i), Region: "europe-west3", Zone: "europe-west3-a"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
