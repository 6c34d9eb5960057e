package rdb

import (
	"bytes"
	"crypto/sha256"
	"encoding"
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
// SHA-256 runs ahead of the parser, so for a checkpoint it keeps its state at the start of each
// recent chunk (see snapshot).
type input struct {
	r     io.Reader
	bufs  [numBufs][]byte
	cur   int
	buf   []byte // bufs[cur][:valid]
	pos   int
	base  int64 // file offset of buf[0]
	fills int   // refills so far (each hands one message to each hashing lane)
	eof   bool
	rerr  error // a read error other than io.EOF; sticky
	h     *hasher
	// crcFrom is where in buf the bytes not yet handed over for CRC begin; crcCut stops CRC.
	crcFrom int
	crcCut  bool
}

func (in *input) init(r io.Reader) {
	in.r = r
	in.h, _ = newHasher(0, nil, 0)
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
	in.h.sha.wait(in.fills - numBufs + 2)
	in.h.crc.wait(in.fills - numBufs + 2)
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
	in.h.sha.ch <- chunk{b: nb[rem:got], acked: true}
	seg := chunk{acked: true}
	if !in.crcCut {
		seg.b = in.buf[in.crcFrom:in.pos]
	}
	in.h.crc.ch <- seg
	in.fills++
	in.cur, in.buf, in.pos, in.crcFrom = next, nb[:got], 0, 0
}

// snapshot returns the hashing states for a checkpoint at offset(): the CRC-64 of the consumed
// bytes (exact, since CRC follows the parser), and the SHA-256 state at shaAt, the start of the
// chunk that holds offset() (SHA-256 has hashed ahead of it): a resumed reader starts reading at
// shaAt and hashes from there, parsing from offset(). It waits until both lanes are idle.
func (in *input) snapshot() (crc uint64, sha []byte, shaAt int64, err error) {
	in.h.sha.ch <- chunk{synced: true}
	seg := chunk{synced: true}
	if !in.crcCut {
		seg.b = in.buf[in.crcFrom:in.pos]
		in.crcFrom = in.pos
	}
	in.h.crc.ch <- seg
	<-in.h.sha.synced
	<-in.h.crc.synced
	// The lanes are idle until the next message: their states can be read here.
	off := in.offset()
	h := in.h
	if h.total == off {
		sha, err = h.digest.(encoding.BinaryMarshaler).MarshalBinary()
		return h.sum, sha, off, err
	}
	best := -1
	for i, m := range h.marks {
		if len(m.state) > 0 && m.off <= off && (best < 0 || m.off > h.marks[best].off) {
			best = i
		}
	}
	if best < 0 {
		return 0, nil, 0, errors.New("no hash state kept before the offset")
	}
	return h.sum, bytes.Clone(h.marks[best].state), h.marks[best].off, nil
}

// skipUnhashed advances n bytes without handing them over for CRC: a resumed reader's bytes
// between the SHA-256 state it starts from and the checkpoint, which CRC already covers.
func (in *input) skipUnhashed(n int64) error {
	in.crcCut = true
	err := in.skip(uint64(n))
	in.crcCut, in.crcFrom = false, in.pos
	return err
}

// cutCRC hands the consumed bytes not yet covered to the hasher and stops CRC there.
func (in *input) cutCRC() {
	if in.crcCut {
		return
	}
	in.h.crc.ch <- chunk{b: in.buf[in.crcFrom:in.pos]}
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
		in.h.sha.close()
		in.h.crc.close()
	}
	return in.h
}

// chunk is one message to a hashing lane; acked messages (one per refill) are acknowledged,
// so that the parser knows when a buffer is free again; synced ones are answered on synced,
// for a snapshot.
type chunk struct {
	b      []byte
	acked  bool
	synced bool
}

// lane is one hashing goroutine and its channels.
type lane struct {
	ch       chan chunk
	done     chan struct{}
	finished chan struct{}
	synced   chan struct{}
	acked    int
}

func newLane(h func([]byte)) *lane {
	l := &lane{
		ch:       make(chan chunk, numBufs+1),
		done:     make(chan struct{}, numBufs+1),
		finished: make(chan struct{}),
		synced:   make(chan struct{}),
	}
	go func() {
		defer close(l.finished)
		for c := range l.ch {
			h(c.b)
			if c.acked {
				l.done <- struct{}{}
			}
			if c.synced {
				l.synced <- struct{}{}
			}
		}
	}()
	return l
}

// wait blocks until the lane has finished n acked messages.
func (l *lane) wait(n int) {
	for l.acked < n {
		<-l.done
		l.acked++
	}
}

func (l *lane) close() {
	close(l.ch)
	<-l.finished
}

// hasher computes SHA-256 of every byte read and CRC-64 of the bytes handed to it for CRC,
// each on its own goroutine: with the parser, they keep two cores busy.
type hasher struct {
	sha, crc *lane
	closed   bool

	digest hash.Hash
	sum    uint64 // CRC-64 so far; read only after close or a snapshot
	total  int64
	// marks are the SHA-256 states at the start of the last numMarks chunks, for snapshot: a
	// checkpoint lies within the last refill's buffer, whose bytes came from at most
	// maxContig/minRead+1 chunks.
	marks [numMarks]mark
	nmark int
}

// numMarks is how many chunk-start SHA-256 states a hasher keeps.
const numMarks = 2*maxContig/minRead + 2

// mark is the SHA-256 state (marshalled) after the first off bytes.
type mark struct {
	off   int64
	state []byte
}

// newHasher starts the lanes from a state: the CRC-64 of the first crcAt bytes, and the
// marshalled SHA-256 of the first shaAt bytes (nil for a new file).
func newHasher(crc uint64, sha []byte, shaAt int64) (*hasher, error) {
	h := &hasher{digest: sha256.New(), sum: crc, total: shaAt}
	if sha != nil {
		if err := h.digest.(encoding.BinaryUnmarshaler).UnmarshalBinary(sha); err != nil {
			return nil, err
		}
	}
	app := h.digest.(encoding.BinaryAppender)
	// One allocation for every mark (a marshalled SHA-256 state is 108 bytes).
	states := make([]byte, numMarks*128)
	for i := range h.marks {
		h.marks[i].state = states[i*128 : i*128 : (i+1)*128]
	}
	h.sha = newLane(func(b []byte) {
		if len(b) == 0 {
			return
		}
		m := &h.marks[h.nmark%numMarks]
		h.nmark++
		m.off = h.total
		m.state, _ = app.AppendBinary(m.state[:0])
		h.total += int64(len(b))
		h.digest.Write(b)
	})
	h.crc = newLane(func(b []byte) { h.sum = crc64Update(h.sum, b) })
	return h, nil
}
