package rdb

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
)

const (
	// bufSize is the size of each read buffer. Anything the parser needs contiguous and no
	// larger than maxContig is served straight from these buffers.
	bufSize   = 1 << 20
	maxContig = bufSize / 2
	numBufs   = 4
	// minRead is how much fresh data a refill waits for before handing a buffer to the parser,
	// so that a reader returning tiny pieces does not cost a buffer switch per piece.
	minRead = 64 << 10
)

// input is the parser's view of the file: a window into one of numBufs fixed buffers that it
// refills itself (no per-byte interface calls), feeding a hasher goroutine on the other core:
// SHA-256 of every fresh chunk, and CRC-64 of the bytes the parser has consumed, up to the cut
// it sets after the EOF opcode (a file may carry bytes after its trailer, which servers ignore).
type input struct {
	r     io.Reader
	bufs  [numBufs][]byte
	cur   int
	buf   []byte // bufs[cur][:valid]
	pos   int
	base  int64 // file offset of buf[0]
	fills int   // chunks handed to the hasher
	acked int   // chunks the hasher has finished
	eof   bool
	rerr  error // a read error other than io.EOF; sticky
	h     *hasher
	// crcFrom is where in buf the bytes not yet handed over for CRC begin; crcCut stops CRC.
	crcFrom int
	crcCut  bool
}

func (in *input) init(r io.Reader) {
	in.r = r
	in.h = newHasher()
	go in.h.run()
}

// offset returns the file offset of the next unread byte.
func (in *input) offset() int64 { return in.base + int64(in.pos) }

// avail returns how many bytes are buffered past pos.
func (in *input) avail() int { return len(in.buf) - in.pos }

// fill makes at least n (<= maxContig) bytes available contiguously at buf[pos:]. At end of
// input it returns io.ErrUnexpectedEOF, or the underlying read error.
func (in *input) fill(n int) error {
	for len(in.buf)-in.pos < n {
		if in.rerr != nil {
			return in.rerr
		}
		if in.eof {
			return io.ErrUnexpectedEOF
		}
		in.refill(n)
	}
	return nil
}

// refill moves the unread bytes to the next buffer and reads fresh data after them.
func (in *input) refill(need int) {
	next := (in.cur + 1) % numBufs
	// The next buffer was last filled numBufs refills ago, and its consumed bytes were handed
	// over for CRC by the refill after that: wait until the hasher is done with both.
	for in.acked < in.fills-numBufs+2 {
		<-in.h.done
		in.acked++
	}
	nb := in.bufs[next]
	if nb == nil {
		nb = make([]byte, bufSize)
		in.bufs[next] = nb
	}
	rem := copy(nb, in.buf[in.pos:])
	in.base += int64(in.pos)
	want := max(need-rem, minRead)
	got := rem
	for got-rem < want && got < len(nb) {
		m, err := in.r.Read(nb[got:])
		got += m
		if err == io.EOF {
			in.eof = true
			break
		}
		if err != nil {
			in.rerr = err
			break
		}
	}
	// Every refill hands one message (possibly empty) to the hasher, so that fills and
	// buffer rotation stay in step.
	m := chunk{sha: nb[rem:got], acked: true}
	if !in.crcCut {
		m.crc = in.buf[in.crcFrom:in.pos]
	}
	in.h.ch <- m
	in.fills++
	in.cur, in.buf, in.pos, in.crcFrom = next, nb[:got], 0, 0
}

// cutCRC hands the consumed bytes not yet covered to the hasher and stops CRC there.
func (in *input) cutCRC() {
	if in.crcCut {
		return
	}
	in.h.ch <- chunk{crc: in.buf[in.crcFrom:in.pos]}
	in.crcFrom = in.pos
	in.crcCut = true
}

// skip advances n bytes, which need not be buffered or contiguous.
func (in *input) skip(n uint64) error {
	for n > 0 {
		a := in.avail()
		if a == 0 {
			if err := in.fill(1); err != nil {
				return err
			}
			continue
		}
		k := uint64(a)
		if n < k {
			k = n
		}
		in.pos += int(k)
		n -= k
	}
	return nil
}

func (in *input) readByte() (byte, error) {
	if in.pos >= len(in.buf) {
		if err := in.fill(1); err != nil {
			return 0, err
		}
	}
	b := in.buf[in.pos]
	in.pos++
	return b, nil
}

// next returns the next n (<= maxContig) bytes; the slice is valid until the next fill.
func (in *input) next(n int) ([]byte, error) {
	if err := in.fill(n); err != nil {
		return nil, err
	}
	b := in.buf[in.pos : in.pos+n]
	in.pos += n
	return b, nil
}

// atEnd reports whether the input is exhausted, reading ahead if needed.
func (in *input) atEnd() (bool, error) {
	err := in.fill(1)
	if err == nil {
		return false, nil
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return true, nil
	}
	return false, err
}

// drain reads the rest of the input (so that its hashes cover the whole file) and reports a
// read error, if any.
func (in *input) drain() error {
	for in.rerr == nil && !in.eof {
		in.pos = len(in.buf)
		in.refill(1)
	}
	in.pos = len(in.buf)
	return in.rerr
}

// finish stops the hasher after it has hashed everything read so far and returns its sums.
// It is safe to call more than once.
func (in *input) finish() *hasher {
	if in.h == nil {
		return nil
	}
	if !in.h.closed {
		in.h.closed = true
		close(in.h.ch)
		<-in.h.finished
	}
	return in.h
}

// chunk is one message to the hasher: fresh bytes for SHA-256, consumed bytes for CRC-64.
// acked messages (one per refill) are acknowledged on done.
type chunk struct {
	sha, crc []byte
	acked    bool
}

// hasher computes SHA-256 of every byte read and CRC-64 of the bytes handed to it for CRC.
type hasher struct {
	ch       chan chunk
	done     chan struct{}
	finished chan struct{}
	closed   bool

	sha   hash.Hash
	crc   uint64
	total int64
}

func newHasher() *hasher {
	return &hasher{
		ch:       make(chan chunk, numBufs+1),
		done:     make(chan struct{}, numBufs+1),
		finished: make(chan struct{}),
		sha:      sha256.New(),
	}
}

func (h *hasher) run() {
	defer close(h.finished)
	for c := range h.ch {
		h.total += int64(len(c.sha))
		h.sha.Write(c.sha)
		h.crc = crc64Update(h.crc, c.crc)
		if c.acked {
			h.done <- struct{}{}
		}
	}
}
