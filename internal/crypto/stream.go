// Package crypto implements the authenticated encryption used by backups:
// a chunked AES-256-GCM stream format for parts of any size, and wrapping of
// per-backup data keys under a key-encryption key.
//
// Stream format (version 1):
//
//	header: magic "OROSTRM1" | salt (16 bytes)
//	frames: u32 big-endian (len | final<<31) | ciphertext (len bytes, tag included)
//
// Each stream has its own AES-256 key derived with HKDF-SHA256 from the data
// key, the random salt and the stream's name, so one data key can encrypt
// many streams without nonce reuse. The nonce of chunk i is i (96-bit big
// endian); the additional data of a chunk binds the stream name, the chunk
// index and the final flag, so chunks cannot be reordered, dropped, moved to
// another stream, or the stream truncated, without an authentication error.
// Memory use is one chunk per stream.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// KeySize is the size of data keys and key-encryption keys (AES-256).
const KeySize = 32

// DefaultChunkSize is the plaintext size of a chunk unless set otherwise.
const DefaultChunkSize = 1 << 20

// MaxChunkSize bounds the chunk size a reader accepts, so a corrupt length
// cannot make it allocate without bound.
const MaxChunkSize = 16 << 20

const (
	magic     = "OROSTRM1"
	saltSize  = 16
	tagSize   = 16
	finalFlag = 1 << 31
)

// IntegrityError reports data that failed authentication or a format check.
// Chunk is the zero-based chunk index, or -1 for the stream header.
type IntegrityError struct {
	Stream string
	Chunk  int64
	Reason string
}

// Error says which chunk failed and why.
func (e *IntegrityError) Error() string {
	if e.Chunk < 0 {
		return fmt.Sprintf("integrity check failed in %q header: %s", e.Stream, e.Reason)
	}
	return fmt.Sprintf("integrity check failed in %q chunk %d: %s", e.Stream, e.Chunk, e.Reason)
}

func streamAEAD(dataKey, salt []byte, name string) (cipher.AEAD, error) {
	if len(dataKey) != KeySize {
		return nil, fmt.Errorf("crypto: data key must be %d bytes, got %d", KeySize, len(dataKey))
	}
	k, err := hkdf.Key(sha256.New, dataKey, salt, "orocloud-backup stream v1 "+name, KeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func chunkAD(buf []byte, name string, idx uint64, final bool) []byte {
	buf = append(buf[:0], name...)
	buf = binary.BigEndian.AppendUint64(buf, idx)
	if final {
		return append(buf, 1)
	}
	return append(buf, 0)
}

func nonce(buf []byte, idx uint64) []byte {
	clear(buf[:4])
	binary.BigEndian.PutUint64(buf[4:12], idx)
	return buf[:12]
}

// Writer encrypts a stream. Close must be called to write the final chunk;
// a stream without it fails to decrypt (truncation is detected).
type Writer struct {
	w      io.Writer
	aead   cipher.AEAD
	name   string
	buf    []byte // plaintext being filled
	out    []byte
	ad     []byte
	nonce  [12]byte
	idx    uint64
	n      int64 // plaintext bytes written
	err    error
	closed bool
}

// NewWriter returns a Writer that encrypts into w the stream called name
// under dataKey, in chunks of chunkSize plaintext bytes (0 = DefaultChunkSize).
func NewWriter(w io.Writer, dataKey []byte, name string, chunkSize int) (*Writer, error) {
	if chunkSize == 0 {
		chunkSize = DefaultChunkSize
	}
	if chunkSize < 1 || chunkSize > MaxChunkSize {
		return nil, fmt.Errorf("crypto: chunk size must be between 1 and %d, got %d", MaxChunkSize, chunkSize)
	}
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	aead, err := streamAEAD(dataKey, salt, name)
	if err != nil {
		return nil, err
	}
	hdr := append([]byte(magic), salt...)
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	return &Writer{w: w, aead: aead, name: name, buf: make([]byte, 0, chunkSize),
		out: make([]byte, 4, 4+chunkSize+tagSize)}, nil
}

// Write encrypts p. It never retains p.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errors.New("crypto: write after close")
	}
	n := 0
	for len(p) > 0 {
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(false); err != nil {
				return n, err
			}
		}
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+c]
		p = p[c:]
		n += c
	}
	w.n += int64(n)
	return n, nil
}

// ReadFrom lets io.Copy fill chunks directly, without an extra buffer.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		if w.err != nil {
			return total, w.err
		}
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(false); err != nil {
				return total, err
			}
		}
		m, err := r.Read(w.buf[len(w.buf):cap(w.buf)])
		w.buf = w.buf[:len(w.buf)+m]
		total += int64(m)
		w.n += int64(m)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (w *Writer) flush(final bool) error {
	w.ad = chunkAD(w.ad, w.name, w.idx, final)
	out := w.aead.Seal(w.out[:4], nonce(w.nonce[:], w.idx), w.buf, w.ad)
	l := uint32(len(out) - 4)
	if final {
		l |= finalFlag
	}
	binary.BigEndian.PutUint32(out[:4], l)
	if _, err := w.w.Write(out); err != nil {
		w.err = err
		return err
	}
	w.idx++
	w.buf = w.buf[:0]
	return nil
}

// Close writes the final chunk. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return nil
	}
	w.closed = true
	return w.flush(true)
}

// Written returns the number of plaintext bytes written so far.
func (w *Writer) Written() int64 { return w.n }

// Chunks returns the number of chunks written so far.
func (w *Writer) Chunks() int64 { return int64(w.idx) }

// Reader decrypts and authenticates a stream written by Writer. Read returns
// an *IntegrityError (possibly wrapped) when a chunk fails authentication,
// the format is broken, or the stream ends before its final chunk. Plaintext
// is only returned after its chunk authenticated.
type Reader struct {
	r     io.Reader
	name  string
	aead  cipher.AEAD
	key   []byte
	in    []byte
	plain []byte
	ad    []byte
	nonce [12]byte
	idx   uint64
	done  bool
	err   error
}

// NewReader returns a Reader of the stream called name under dataKey.
func NewReader(r io.Reader, dataKey []byte, name string) *Reader {
	return &Reader{r: r, name: name, key: dataKey}
}

func (r *Reader) fail(chunk int64, reason string) error {
	r.err = &IntegrityError{Stream: r.name, Chunk: chunk, Reason: reason}
	return r.err
}

func (r *Reader) header() error {
	var hdr [len(magic) + saltSize]byte
	if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return r.fail(-1, "stream is shorter than its header")
		}
		r.err = err
		return err
	}
	if string(hdr[:len(magic)]) != magic {
		return r.fail(-1, "unknown format (bad magic)")
	}
	aead, err := streamAEAD(r.key, hdr[len(magic):], r.name)
	if err != nil {
		r.err = err
		return err
	}
	r.aead = aead
	return nil
}

func (r *Reader) next() error {
	if r.aead == nil {
		if err := r.header(); err != nil {
			return err
		}
	}
	var lb [4]byte
	if _, err := io.ReadFull(r.r, lb[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return r.fail(int64(r.idx), "stream truncated before its final chunk")
		}
		r.err = err
		return err
	}
	v := binary.BigEndian.Uint32(lb[:])
	final := v&finalFlag != 0
	l := int(v &^ finalFlag)
	if l < tagSize || l > MaxChunkSize+tagSize {
		return r.fail(int64(r.idx), fmt.Sprintf("bad chunk length %d", l))
	}
	if cap(r.in) < l {
		r.in = make([]byte, l)
	}
	r.in = r.in[:l]
	if _, err := io.ReadFull(r.r, r.in); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return r.fail(int64(r.idx), "stream truncated inside a chunk")
		}
		r.err = err
		return err
	}
	r.ad = chunkAD(r.ad, r.name, r.idx, final)
	plain, err := r.aead.Open(r.in[:0], nonce(r.nonce[:], r.idx), r.in, r.ad)
	if err != nil {
		return r.fail(int64(r.idx), "authentication failed (corrupted, reordered, or wrong key)")
	}
	r.plain = plain
	r.idx++
	if final {
		r.done = true
		// Anything after the final chunk is corruption.
		var one [1]byte
		if n, _ := io.ReadFull(r.r, one[:]); n > 0 {
			return r.fail(int64(r.idx), "data after the final chunk")
		}
	}
	return nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.plain) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

// WriteTo lets io.Copy write authenticated chunks directly.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for len(r.plain) == 0 {
			if r.err != nil {
				return total, r.err
			}
			if r.done {
				return total, nil
			}
			if err := r.next(); err != nil {
				return total, err
			}
		}
		n, err := w.Write(r.plain)
		total += int64(n)
		r.plain = r.plain[n:]
		if err != nil {
			return total, err
		}
	}
}

// Chunks returns the number of chunks authenticated so far.
func (r *Reader) Chunks() int64 { return int64(r.idx) }
