package rdb

import (
	"errors"
	"fmt"
	"io"
)

// Checkpoint is where a Reader stood between two keys, in a form that survives a process: the
// offset of the next opcode, what the header said, the current database, what was found so far,
// the CRC-64 of the bytes before Offset and the SHA-256 state of the bytes before ReadFrom. Its
// JSON is small (a few hundred bytes, plus the warnings kept). NewReaderAt and VerifyFrom
// continue from it, in another process if need be, and end with the same verdict, sums and
// counts as one pass.
type Checkpoint struct {
	// Offset is the file offset of the next opcode, where parsing resumes.
	Offset int64 `json:"offset"`
	// ReadFrom is where the resumed reader must start reading: SHA-256 runs ahead of the parser,
	// a chunk at a time, so its state is kept at the start of the chunk holding Offset, less
	// than two read buffers (2 MiB) before it. The bytes in between are hashed again, not parsed.
	ReadFrom int64  `json:"read_from"`
	Dialect  string `json:"dialect"`
	Version  int    `json:"rdb_version"`
	// DB is the database selected so far.
	DB        int `json:"db"`
	Functions int `json:"functions"`
	// Warnings are those kept so far (up to Options.MaxWarnings); NWarnings counts all of them.
	Warnings  []string `json:"warnings,omitempty"`
	NWarnings int      `json:"n_warnings,omitempty"`
	// CRC is the CRC-64 of the bytes before Offset; SHA256 is the marshalled state of the
	// SHA-256 of the bytes before ReadFrom (crypto/sha256's encoding.BinaryMarshaler form).
	CRC    uint64 `json:"crc64"`
	SHA256 []byte `json:"sha256_state"`
	// Counts are the keys counted so far; VerifyFrom fills them, Reader.Checkpoint leaves them
	// zero (a Reader does not count).
	Counts Counts `json:"counts"`
}

// Counts are the key counts of a Report, carried by a Checkpoint.
type Counts struct {
	Keys     int64            `json:"keys"`
	KeysByDB map[string]int64 `json:"keys_by_db,omitempty"`
	Expires  int64            `json:"expires"`
	Types    map[string]int64 `json:"types,omitempty"`
}

// ErrCheckpoint means a Checkpoint cannot be taken now (before the first key, after the end or
// an error) or cannot be resumed from (it is not one a Reader made).
var ErrCheckpoint = errors.New("rdb: bad checkpoint")

// Checkpoint returns where the Reader stands: between the key Next last returned and the next
// opcode. It is valid only between calls to Next, after at least one of them returned a key and
// before any returned an error or io.EOF (then it returns an error wrapping ErrCheckpoint): a
// Reader never stops inside a value, so neither can a checkpoint. The Reader goes on as if
// Checkpoint had not been called.
func (p *Reader) Checkpoint() (Checkpoint, error) {
	if !p.started || p.err != nil || p.ended {
		return Checkpoint{}, fmt.Errorf("%w: only between keys, before the end", ErrCheckpoint)
	}
	crc, sha, shaAt, err := p.in.snapshot()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("rdb: checkpoint at offset %d: %w", p.in.offset(), err)
	}
	return Checkpoint{
		Offset: p.in.offset(), ReadFrom: shaAt, Dialect: p.hdr.Dialect.String(), Version: p.hdr.Version,
		DB: p.db, Functions: p.functions,
		Warnings: append([]string(nil), p.warnings...), NWarnings: p.nwarn,
		CRC: crc, SHA256: sha,
	}, nil
}

// NewReaderAt returns a Reader that continues from cp, reading r from cp.ReadFrom on (r's first
// byte is the file's byte cp.ReadFrom): its first Next hashes the bytes up to cp.Offset and
// parses on from there. Offsets in its entries and errors are the file's; its Sum and Checksum
// cover the whole file. It returns an error wrapping ErrCheckpoint when cp cannot be one a
// Reader made; reading begins with the first Next.
func NewReaderAt(r io.Reader, cp Checkpoint, optFns ...func(*Options)) (*Reader, error) {
	var d Dialect
	for _, c := range []Dialect{DialectRedis, DialectValkey} {
		if c.String() == cp.Dialect {
			d = c
		}
	}
	switch {
	case d == 0 || !supportedVersion(d, cp.Version):
		return nil, fmt.Errorf("%w: %s RDB version %d", ErrCheckpoint, cp.Dialect, cp.Version)
	case cp.Offset < 9:
		return nil, fmt.Errorf("%w: offset %d is inside the header", ErrCheckpoint, cp.Offset)
	case cp.ReadFrom < 0 || cp.ReadFrom > cp.Offset || cp.SHA256 == nil:
		return nil, fmt.Errorf("%w: sha-256 state at %d for offset %d", ErrCheckpoint, cp.ReadFrom, cp.Offset)
	case cp.DB < 0 || cp.Functions < 0 || cp.NWarnings < len(cp.Warnings):
		return nil, fmt.Errorf("%w: db %d, %d functions, %d of %d warnings", ErrCheckpoint, cp.DB, cp.Functions, len(cp.Warnings), cp.NWarnings)
	}
	h, err := newHasher(cp.CRC, cp.SHA256, cp.ReadFrom)
	if err != nil {
		return nil, fmt.Errorf("%w: sha-256 state: %w", ErrCheckpoint, err)
	}
	p := &Reader{opts: readerOptions(optFns)}
	p.in.r, p.in.h, p.in.base = r, h, cp.ReadFrom
	p.resumed, p.skip = true, cp.Offset-cp.ReadFrom
	p.hdr = Header{Dialect: d, Version: cp.Version}
	p.db, p.functions, p.nwarn = cp.DB, cp.Functions, cp.NWarnings
	p.warnings = append([]string(nil), cp.Warnings[:min(len(cp.Warnings), max(p.opts.MaxWarnings, 0))]...)
	return p, nil
}
