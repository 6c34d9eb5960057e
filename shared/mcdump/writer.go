package mcdump

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
)

// WriterOptions tune a Writer.
type WriterOptions struct {
	// Level is the gzip compression level; default gzip.BestSpeed, since a dump runs on
	// small Lambda CPUs and is read rarely.
	Level int
	// MaxValue is the largest value the Writer accepts (default DefaultMaxValue), so that it
	// never writes what a Reader with default options would refuse.
	MaxValue int64
}

// ErrClosed is returned by a Writer used after Close or Abort.
var ErrClosed = errors.New("mcdump: writer closed")

// Writer streams a dump to an io.Writer in bounded memory: a 64 KiB buffer and gzip's state.
// Records are added with WriteRecord followed by Write calls for exactly Size value bytes, or
// with Add. Close writes the trailer; Abort ends the stream without one, marking it
// incomplete. Errors are sticky. A Writer is not safe for concurrent use.
type Writer struct {
	gz     *gzip.Writer
	bw     *bufio.Writer
	crc    uint64
	opts   WriterOptions
	remain int64 // value bytes still owed by the current record
	key    string
	t      Trailer
	err    error
	done   bool
	scr    [1 + recordHead + MaxKey]byte
}

// NewWriter writes h's header to w and returns a Writer for the records. h.Format is ignored
// (the Writer always writes Format); h.Node must be at most 255 bytes and h.Created set.
func NewWriter(w io.Writer, h Header, optFns ...func(*WriterOptions)) (*Writer, error) {
	o := WriterOptions{Level: gzip.BestSpeed, MaxValue: DefaultMaxValue}
	for _, f := range optFns {
		f(&o)
	}
	if o.MaxValue <= 0 || o.MaxValue > maxValueField {
		return nil, fmt.Errorf("mcdump: MaxValue %d out of range 1..%d", o.MaxValue, int64(maxValueField))
	}
	if len(h.Node) > 255 {
		return nil, fmt.Errorf("mcdump: node name is %d bytes, at most 255", len(h.Node))
	}
	if h.Created.IsZero() {
		return nil, errors.New("mcdump: header needs a creation time")
	}
	gz, err := gzip.NewWriterLevel(w, o.Level)
	if err != nil {
		return nil, fmt.Errorf("mcdump: %w", err)
	}
	gz.ModTime = h.Created
	wr := &Writer{gz: gz, bw: bufio.NewWriterSize(gz, 64<<10), opts: o}
	hdr := make([]byte, 0, 8+2+len(Format)+len(h.Node)+8)
	hdr = append(hdr, Magic...)
	hdr = append(hdr, byte(len(Format)))
	hdr = append(hdr, Format...)
	hdr = append(hdr, byte(len(h.Node)))
	hdr = append(hdr, h.Node...)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(h.Created.UnixNano()))
	wr.put(hdr)
	return wr, wr.err
}

func (w *Writer) put(p []byte) {
	if w.err != nil {
		return
	}
	w.crc = crc64.Update(w.crc, crcTable, p)
	if _, err := w.bw.Write(p); err != nil {
		w.err = fmt.Errorf("mcdump: write: %w", err)
	}
}

// WriteRecord starts a record; its value follows in Write calls totalling rec.Size bytes.
// A key must be 1 to MaxKey bytes; a value at most WriterOptions.MaxValue.
func (w *Writer) WriteRecord(rec Record) error {
	if err := w.check(); err != nil {
		return err
	}
	if w.remain != 0 {
		return fmt.Errorf("mcdump: key %q: %d value bytes missing before the next record", w.key, w.remain)
	}
	if len(rec.Key) == 0 || len(rec.Key) > MaxKey {
		return fmt.Errorf("mcdump: key %q is %d bytes, want 1 to %d", rec.Key, len(rec.Key), MaxKey)
	}
	if rec.Size < 0 || rec.Size > w.opts.MaxValue {
		return fmt.Errorf("mcdump: key %q: value of %d bytes, want 0 to %d", rec.Key, rec.Size, w.opts.MaxValue)
	}
	if rec.Expiry < 0 {
		return fmt.Errorf("mcdump: key %q: negative expiry %d", rec.Key, rec.Expiry)
	}
	b := w.scr[:0]
	b = append(b, tagRecord, byte(len(rec.Key)))
	b = binary.BigEndian.AppendUint32(b, rec.Flags)
	b = binary.BigEndian.AppendUint64(b, uint64(rec.Expiry))
	b = binary.BigEndian.AppendUint64(b, rec.CAS)
	b = binary.BigEndian.AppendUint32(b, uint32(rec.Size))
	b = append(b, rec.Key...)
	w.put(b)
	w.remain, w.key = rec.Size, rec.Key
	w.t.Records++
	w.t.ValueBytes += rec.Size
	if rec.Expiry != 0 {
		w.t.Expires++
	}
	return w.err
}

// Write writes value bytes of the current record; writing more than its Size is an error.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	if int64(len(p)) > w.remain {
		return 0, fmt.Errorf("mcdump: key %q: %d value bytes written, only %d owed", w.key, len(p), w.remain)
	}
	w.put(p)
	if w.err != nil {
		return 0, w.err
	}
	w.remain -= int64(len(p))
	return len(p), nil
}

// Add writes a whole record: rec with Size set to len(value), then value.
func (w *Writer) Add(rec Record, value []byte) error {
	rec.Size = int64(len(value))
	if err := w.WriteRecord(rec); err != nil {
		return err
	}
	_, err := w.Write(value)
	return err
}

// AddVanished counts n keys that the node listed but that were gone when they were read.
func (w *Writer) AddVanished(n int64) { w.t.Vanished += n }

// Counts returns the trailer as it would be written now (CRC excepted).
func (w *Writer) Counts() Trailer { t := w.t; t.CRC = 0; return t }

func (w *Writer) check() error {
	if w.done {
		return ErrClosed
	}
	return w.err
}

// Close writes the trailer and ends the gzip stream. It does not close the underlying writer.
// A record whose value is short is an error, and the dump is then left without a trailer.
func (w *Writer) Close() error {
	if err := w.check(); err != nil {
		if err != ErrClosed {
			w.finish()
		}
		return err
	}
	if w.remain != 0 {
		err := fmt.Errorf("mcdump: key %q: %d value bytes missing at close", w.key, w.remain)
		w.finish()
		return err
	}
	b := w.scr[:0]
	b = append(b, tagTrailer)
	b = binary.BigEndian.AppendUint64(b, uint64(w.t.Records))
	b = binary.BigEndian.AppendUint64(b, uint64(w.t.Expires))
	b = binary.BigEndian.AppendUint64(b, uint64(w.t.ValueBytes))
	b = binary.BigEndian.AppendUint64(b, uint64(w.t.Vanished))
	w.put(b)
	w.t.CRC = w.crc
	w.put(binary.BigEndian.AppendUint64(nil, w.crc))
	return w.finish()
}

// Abort ends the gzip stream without a trailer, so that readers see ErrIncomplete after the
// records written so far. It returns an error only if flushing fails.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	return w.finish()
}

func (w *Writer) finish() error {
	w.done = true
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = fmt.Errorf("mcdump: write: %w", err)
		}
	}
	if err := w.gz.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("mcdump: write: %w", err)
	}
	return w.err
}
