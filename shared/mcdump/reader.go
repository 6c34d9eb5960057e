package mcdump

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"time"
)

// Options tune a Reader.
type Options struct {
	// MaxValue is the largest value length accepted (default DefaultMaxValue); a longer one is
	// an error before any of its bytes are read.
	MaxValue int64
}

// source counts and hashes the raw (compressed) bytes as they are read, and remembers the
// first error of the underlying reader so that Verify can tell I/O failures from damage.
type source struct {
	r   io.Reader
	n   int64
	h   hash.Hash
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	s.h.Write(p[:n])
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// Reader reads a dump as a stream of records, like archive/tar.Reader: Next returns each
// record's metadata and Read its value. After the last record Next checks the trailer (counts
// and CRC-64) and that nothing follows it, and returns io.EOF only if all is well. Any problem
// is a sticky *Error with the offset in the decompressed stream. A Reader is not safe for
// concurrent use.
type Reader struct {
	src    *source
	raw    *bufio.Reader
	gz     *gzip.Reader
	br     *bufio.Reader
	opts   Options
	off    int64
	crc    uint64
	hdr    Header
	hdrOK  bool
	t      Trailer // counts seen so far; the file's own after io.EOF
	remain int64
	key    string
	rec    Record
	err    error
	scr    [MaxKey + 64]byte
}

// NewReader returns a Reader for the dump in r. Nothing is read until Header or Next.
func NewReader(r io.Reader, optFns ...func(*Options)) *Reader {
	o := Options{MaxValue: DefaultMaxValue}
	for _, f := range optFns {
		f(&o)
	}
	if o.MaxValue <= 0 || o.MaxValue > maxValueField {
		o.MaxValue = DefaultMaxValue
	}
	src := &source{r: r, h: sha256.New()}
	return &Reader{src: src, raw: bufio.NewReaderSize(src, 64<<10), opts: o}
}

func (r *Reader) fail(err error) error {
	if r.err == nil {
		r.err = &Error{Offset: r.off, Key: r.key, Err: err}
	}
	return r.err
}

// full reads exactly len(p) decompressed bytes into p, into the CRC.
func (r *Reader) full(p []byte) error {
	n, err := io.ReadFull(r.br, p)
	r.crc = crc64.Update(r.crc, crcTable, p[:n])
	r.off += int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Header reads and returns the dump's header. Its error is the Reader's sticky error.
func (r *Reader) Header() (Header, error) {
	if r.hdrOK || r.err != nil {
		return r.hdr, r.err
	}
	gz, err := gzip.NewReader(r.raw)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return r.hdr, r.fail(fmt.Errorf("%w: gzip header: %w", ErrNotDump, err))
	}
	gz.Multistream(false)
	r.gz = gz
	r.br = bufio.NewReaderSize(gz, 64<<10)
	b := r.scr[:len(Magic)+1]
	if err := r.full(b); err != nil {
		return r.hdr, r.fail(err)
	}
	if string(b[:len(Magic)]) != Magic {
		return r.hdr, r.fail(fmt.Errorf("%w: magic %q", ErrNotDump, b[:len(Magic)]))
	}
	f := r.scr[:b[len(Magic)]]
	if err := r.full(f); err != nil {
		return r.hdr, r.fail(err)
	}
	if string(f) != Format {
		return r.hdr, r.fail(fmt.Errorf("unsupported format %q (this reader knows %q)", f, Format))
	}
	r.hdr.Format = Format
	if err := r.full(r.scr[:1]); err != nil {
		return r.hdr, r.fail(err)
	}
	node := r.scr[:r.scr[0]]
	if err := r.full(node); err != nil {
		return r.hdr, r.fail(err)
	}
	r.hdr.Node = string(node)
	if err := r.full(r.scr[:8]); err != nil {
		return r.hdr, r.fail(err)
	}
	r.hdr.Created = time.Unix(0, int64(binary.BigEndian.Uint64(r.scr[:8]))).UTC()
	r.hdrOK = true
	return r.hdr, nil
}

// Next skips what is left of the current value and returns the next record. At the end of a
// sound dump it returns io.EOF; a dump without a trailer gives an *Error wrapping
// ErrIncomplete, a checksum mismatch one wrapping ErrChecksum, a cut stream
// io.ErrUnexpectedEOF. The Record is valid until the next call.
func (r *Reader) Next() (*Record, error) {
	if _, err := r.Header(); err != nil {
		return nil, err
	}
	if r.remain > 0 {
		if err := r.skip(); err != nil {
			return nil, err
		}
	}
	r.key = ""
	tag := r.scr[:1]
	n, err := io.ReadFull(r.br, tag)
	if n == 0 && err == io.EOF {
		return nil, r.fail(ErrIncomplete)
	}
	if err != nil {
		return nil, r.fail(err)
	}
	r.crc = crc64.Update(r.crc, crcTable, tag)
	r.off++
	switch tag[0] {
	case tagRecord:
	case tagTrailer:
		return nil, r.trailer()
	default:
		r.off--
		return nil, r.fail(fmt.Errorf("unknown record tag 0x%02x", tag[0]))
	}
	h := r.scr[:recordHead]
	if err := r.full(h); err != nil {
		return nil, r.fail(err)
	}
	klen := int(h[0])
	rec := Record{
		Flags:  binary.BigEndian.Uint32(h[1:]),
		Expiry: int64(binary.BigEndian.Uint64(h[5:])),
		CAS:    binary.BigEndian.Uint64(h[13:]),
		Size:   int64(binary.BigEndian.Uint32(h[21:])),
	}
	switch {
	case klen == 0:
		return nil, r.fail(errors.New("empty key"))
	case rec.Expiry < 0:
		return nil, r.fail(fmt.Errorf("negative expiry %d", rec.Expiry))
	}
	// klen is a byte, so the 250 cap is the only check a key needs beyond its bytes arriving.
	if klen > MaxKey {
		return nil, r.fail(fmt.Errorf("key length %d exceeds %d", klen, MaxKey))
	}
	k := r.scr[:klen]
	if err := r.full(k); err != nil {
		return nil, r.fail(err)
	}
	rec.Key = string(k)
	r.key = rec.Key
	if rec.Size > r.opts.MaxValue {
		return nil, r.fail(fmt.Errorf("value length %d exceeds the limit of %d", rec.Size, r.opts.MaxValue))
	}
	r.t.Records++
	r.t.ValueBytes += rec.Size
	if rec.Expiry != 0 {
		r.t.Expires++
	}
	r.remain = rec.Size
	r.rec = rec
	return &r.rec, nil
}

// Read reads the current record's value; it returns io.EOF at the value's end.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.remain == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.br.Read(p)
	r.crc = crc64.Update(r.crc, crcTable, p[:n])
	r.off += int64(n)
	r.remain -= int64(n)
	if err == io.EOF && r.remain > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		return n, r.fail(err)
	}
	return n, nil
}

// skip reads past what is left of the current value, through bufio's buffer without copying.
func (r *Reader) skip() error {
	for r.remain > 0 {
		n := r.br.Size()
		if int64(n) > r.remain {
			n = int(r.remain)
		}
		chunk, err := r.br.Peek(n)
		r.crc = crc64.Update(r.crc, crcTable, chunk)
		r.off += int64(len(chunk))
		r.remain -= int64(len(chunk))
		_, _ = r.br.Discard(len(chunk))
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return r.fail(err)
		}
	}
	return nil
}

func (r *Reader) trailer() error {
	b := r.scr[:trailerBody]
	if err := r.full(b[:trailerBody-8]); err != nil {
		return r.fail(err)
	}
	want := r.crc
	n, err := io.ReadFull(r.br, b[trailerBody-8:])
	r.off += int64(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return r.fail(err)
	}
	got := Trailer{
		Records:    int64(binary.BigEndian.Uint64(b[0:])),
		Expires:    int64(binary.BigEndian.Uint64(b[8:])),
		ValueBytes: int64(binary.BigEndian.Uint64(b[16:])),
		Vanished:   int64(binary.BigEndian.Uint64(b[24:])),
		CRC:        binary.BigEndian.Uint64(b[32:]),
	}
	seen := r.t
	r.t = got
	if got.CRC != want {
		return r.fail(fmt.Errorf("%w: trailer says %016x, records give %016x", ErrChecksum, got.CRC, want))
	}
	if got.Records != seen.Records || got.Expires != seen.Expires || got.ValueBytes != seen.ValueBytes || got.Vanished < 0 {
		return r.fail(fmt.Errorf("trailer counts (records %d, expires %d, value bytes %d, vanished %d) differ from the dump's (%d, %d, %d)",
			got.Records, got.Expires, got.ValueBytes, got.Vanished, seen.Records, seen.Expires, seen.ValueBytes))
	}
	// The decompressed stream must end here; reading on also makes gzip check its CRC-32.
	if _, err := r.br.ReadByte(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the trailer")
		}
		return r.fail(err)
	}
	var extra int64
	for {
		n, err := r.raw.Discard(r.raw.Buffered() + 1)
		extra += int64(n)
		if err != nil {
			if err != io.EOF {
				return r.fail(err)
			}
			break
		}
	}
	if extra > 0 {
		return r.fail(fmt.Errorf("%d bytes after the end of the compressed stream", extra))
	}
	r.err = io.EOF
	return io.EOF
}

// Trailer returns the dump's trailer once Next has returned io.EOF (or a checksum or count
// mismatch); before that, the counts of the records read so far.
func (r *Reader) Trailer() Trailer { return r.t }

// Offset returns how many decompressed bytes have been consumed.
func (r *Reader) Offset() int64 { return r.off }

// Close releases the gzip reader. It does not close the underlying reader.
func (r *Reader) Close() error {
	if r.gz != nil {
		return r.gz.Close()
	}
	return nil
}
