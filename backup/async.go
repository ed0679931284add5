package backup

import (
	"io"
	"sync"
)

// asyncWriter decouples a producer from a slow writer: Write copies into
// one of a few fixed buffers and a goroutine writes full buffers to w, so
// a COPY stream keeps reading its socket while the previous buffer is
// hashed, encrypted and stored on the other core (what a shell pipeline
// such as pg_dump | openssl gets from two processes). Memory is bounded by
// n buffers of size bytes. Not safe for concurrent Writes.
type asyncWriter struct {
	w      io.Writer
	free   chan []byte
	full   chan []byte
	cur    []byte
	done   chan struct{}
	failed chan struct{}
	once   sync.Once
	err    error // set once, before failed is closed
	closed bool
}

func newAsyncWriter(w io.Writer, n, size int) *asyncWriter {
	a := &asyncWriter{w: w, free: make(chan []byte, n), full: make(chan []byte, n),
		done: make(chan struct{}), failed: make(chan struct{})}
	for range n - 1 {
		a.free <- make([]byte, 0, size)
	}
	a.cur = make([]byte, 0, size)
	go a.run()
	return a
}

func (a *asyncWriter) run() {
	defer close(a.done)
	for b := range a.full {
		select {
		case <-a.failed: // drain without writing
		default:
			if _, err := a.w.Write(b); err != nil {
				a.fail(err)
			}
		}
		a.free <- b[:0]
	}
}

func (a *asyncWriter) fail(err error) {
	a.once.Do(func() {
		a.err = err
		close(a.failed)
	})
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(a.cur) == cap(a.cur) {
			if err := a.send(); err != nil {
				return 0, err
			}
		}
		c := copy(a.cur[len(a.cur):cap(a.cur)], p)
		a.cur = a.cur[:len(a.cur)+c]
		p = p[c:]
	}
	return n, nil
}

// send hands the current buffer to the writer goroutine and takes a free
// one, waiting while all are in flight.
func (a *asyncWriter) send() error {
	select {
	case <-a.failed:
		return a.err
	default:
	}
	a.full <- a.cur
	a.cur = <-a.free
	return nil
}

// Close writes what is buffered, waits for the writer goroutine and
// returns the first write error.
func (a *asyncWriter) Close() error {
	if a.closed {
		return nil
	}
	var err error
	if len(a.cur) > 0 {
		err = a.send()
	}
	a.closed = true
	close(a.full)
	<-a.done
	select {
	case <-a.failed:
		return a.err
	default:
	}
	return err
}

// Abort stops the writer goroutine, dropping what is buffered.
func (a *asyncWriter) Abort() {
	if a.closed {
		return
	}
	a.fail(io.ErrClosedPipe)
	a.closed = true
	close(a.full)
	<-a.done
}

// asyncReader reads ahead of its consumer: a goroutine fills a few fixed
// buffers from r (decrypting and hashing a part) while the consumer sends
// the previous ones to the database. Close stops the goroutine.
type asyncReader struct {
	full chan chunkRead
	free chan []byte
	stop chan struct{}
	done chan struct{}
	cur  []byte
	buf  []byte // the buffer cur points into, returned to free when used up
	err  error
	once sync.Once
}

type chunkRead struct {
	b   []byte
	err error
}

func newAsyncReader(r io.Reader, n, size int) *asyncReader {
	a := &asyncReader{full: make(chan chunkRead, n), free: make(chan []byte, n), stop: make(chan struct{}), done: make(chan struct{})}
	for range n {
		a.free <- make([]byte, size)
	}
	go a.run(r)
	return a
}

func (a *asyncReader) run(r io.Reader) {
	defer close(a.done)
	for {
		var b []byte
		select {
		case b = <-a.free:
		case <-a.stop:
			return
		}
		n, err := io.ReadFull(r, b)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case a.full <- chunkRead{b[:n], err}:
		case <-a.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (a *asyncReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		if a.buf != nil {
			a.free <- a.buf[:cap(a.buf)]
			a.buf = nil
		}
		c := <-a.full
		a.buf, a.cur, a.err = c.b, c.b, c.err
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// Close stops the read-ahead goroutine and waits for it.
func (a *asyncReader) Close() error {
	a.once.Do(func() { close(a.stop) })
	<-a.done
	return nil
}
