package mcdump

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

// Report is the verdict on one dump: what verify-export records in the manifest (keys,
// expires, sha256, checksum, warnings) and a little more. Bytes and SHA256 cover the object
// exactly as stored (compressed).
type Report struct {
	Valid      bool      `json:"valid"`
	Format     string    `json:"format"`
	Node       string    `json:"node"`
	Created    time.Time `json:"created"`
	Checksum   string    `json:"checksum,omitempty"` // ChecksumOK, ChecksumMismatch, or empty when the trailer was not reached
	SHA256     string    `json:"sha256"`
	Bytes      int64     `json:"bytes"`
	Keys       int64     `json:"keys"`
	Expires    int64     `json:"expires"`
	ValueBytes int64     `json:"value_bytes"`
	Vanished   int64     `json:"vanished"`
	Warnings   []string  `json:"warnings"`
	Error      string    `json:"error,omitempty"`
	Offset     *int64    `json:"offset,omitempty"`
	// Incomplete is true when the dump lacks its trailer: the dump was cut short.
	Incomplete bool `json:"incomplete,omitempty"`
}

// Verify reads a whole dump from r in one pass, in bounded memory, and reports whether it is
// valid, with its counts, checksum state and the SHA-256 of every byte of r. A damaged,
// truncated or incomplete dump is a Report with Valid false, Error and Offset, and a nil error;
// the error is non-nil only when reading r itself fails, and the Report then holds what was
// learnt before.
func Verify(r io.Reader, optFns ...func(*Options)) (Report, error) {
	rep := Report{Warnings: []string{}}
	p := NewReader(r, optFns...)
	defer p.Close()
	var expiredAtDump int64
	var err error
	for {
		var rec *Record
		rec, err = p.Next()
		if err != nil {
			break
		}
		if rec.Expiry != 0 && p.hdr.Created.Unix() > rec.Expiry {
			expiredAtDump++
		}
	}
	h := p.hdr
	rep.Format, rep.Node, rep.Created = h.Format, h.Node, h.Created
	t := p.Trailer()
	rep.Keys, rep.Expires, rep.ValueBytes, rep.Vanished = t.Records, t.Expires, t.ValueBytes, t.Vanished
	switch {
	case err == io.EOF:
		rep.Valid, rep.Checksum = true, ChecksumOK
	case errors.Is(err, ErrChecksum):
		rep.Checksum = ChecksumMismatch
	}
	if !rep.Valid {
		rep.Error = err.Error()
		var fe *Error
		if errors.As(err, &fe) {
			off := fe.Offset
			rep.Offset = &off
		}
		rep.Incomplete = errors.Is(err, ErrIncomplete)
		// Drain the rest so Bytes and SHA256 describe the whole object.
		_, _ = io.Copy(io.Discard, p.raw)
	}
	if p.src.err != nil {
		return rep, fmt.Errorf("mcdump: read: %w", p.src.err)
	}
	rep.Bytes, rep.SHA256 = p.src.n, hex.EncodeToString(p.src.h.Sum(nil))
	if rep.Vanished > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d keys listed by the node were gone (expired, evicted or deleted) before they could be read", rep.Vanished))
	}
	if expiredAtDump > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d keys had already expired when the dump was made", expiredAtDump))
	}
	return rep, nil
}
