package mcdump

import (
	"errors"
	"fmt"
	"hash/crc64"
	"time"
)

// Format is the format string every dump carries in its header, and the manifest's object
// format (CONTRACTS.md).
const Format = "cacheport-memcached/1"

// Magic is the first eight decompressed bytes of every dump.
const Magic = "CPMCDUMP"

// MaxKey is memcached's key length limit, and so the longest key a dump may hold.
const MaxKey = 250

// DefaultMaxValue is the largest value a Reader accepts unless Options.MaxValue says otherwise.
const DefaultMaxValue = 128 << 20

// maxValueField is what the u32 length field can carry.
const maxValueField = 1<<32 - 1

const (
	tagRecord  = 'R'
	tagTrailer = 'E'
	// recordHead is the fixed part of a record after its tag: klen, flags, expiry, cas, vlen.
	recordHead = 1 + 4 + 8 + 8 + 4
	// trailerBody is the trailer after its tag, the CRC included.
	trailerBody = 5 * 8
)

var crcTable = crc64.MakeTable(crc64.ECMA)

// Checksum states reported by Verify.
const (
	ChecksumOK       = "ok"
	ChecksumMismatch = "mismatch"
)

var (
	// ErrIncomplete means the dump ends cleanly at a record boundary but has no trailer: the
	// writer was aborted (the node went away, the context was cancelled) before the end.
	ErrIncomplete = errors.New("dump has no trailer: it was cut short and is incomplete")
	// ErrChecksum means the trailer's CRC-64 differs from the one computed over the stream.
	ErrChecksum = errors.New("crc-64 mismatch")
	// ErrNotDump means the stream does not start with a gzip member holding Magic.
	ErrNotDump = errors.New("not a cacheport memcached dump")
)

// Header is what a dump says about itself before its records.
type Header struct {
	Format  string    // always Format when read; the Writer fills it in
	Node    string    // the node's name, at most 255 bytes
	Created time.Time // when the dump started
}

// Record is one item of a dump, without its value. Size is the value's length; on a Reader the
// value is read with Reader.Read, on a Writer written with Writer.Write.
type Record struct {
	Key    string
	Flags  uint32
	Expiry int64 // absolute Unix seconds; 0: the item never expires
	CAS    uint64
	Size   int64
}

// memcachedRelativeMax is the largest TTL memcached takes as relative; larger values are read
// as absolute Unix times.
const memcachedRelativeMax = 30 * 24 * 60 * 60

// TTL returns the exptime to give memcached for the record at now: 0 when it never expires,
// the remaining seconds when they are at most 30 days, else the absolute Unix time (memcached
// reads values over 30 days as absolute). expired is true when the item's life is over.
func (r *Record) TTL(now time.Time) (ttl int64, expired bool) {
	if r.Expiry == 0 {
		return 0, false
	}
	left := r.Expiry - now.Unix()
	switch {
	case left <= 0:
		return 0, true
	case left <= memcachedRelativeMax:
		return left, false
	}
	return r.Expiry, false
}

// Trailer holds a dump's closing counts.
type Trailer struct {
	Records    int64
	Expires    int64
	ValueBytes int64
	Vanished   int64 // keys listed by the node but gone before they were read
	CRC        uint64
}

// Error is a problem found in a dump, at Offset bytes into the decompressed stream. Key is set
// when the problem lies inside a record whose key is known.
type Error struct {
	Offset int64
	Key    string
	Err    error
}

// Error formats the problem as `mcdump: offset N[, key "K"]: problem`.
func (e *Error) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("mcdump: offset %d, key %q: %v", e.Offset, e.Key, e.Err)
	}
	return fmt.Sprintf("mcdump: offset %d: %v", e.Offset, e.Err)
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }
