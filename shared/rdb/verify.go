package rdb

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Report is the verdict on one RDB file. Its JSON field names are the manifest's
// (CONTRACTS.md, "Manifest"), so `cacheport verify --json` prints it as is.
type Report struct {
	Source     string           `json:"source"`
	Valid      bool             `json:"valid"`
	Warnings   []string         `json:"warnings"`
	Dialect    string           `json:"dialect,omitempty"`
	RDBVersion int              `json:"rdb_version,omitempty"`
	Checksum   string           `json:"checksum,omitempty"`
	SHA256     string           `json:"sha256,omitempty"`
	Keys       int64            `json:"keys"`
	KeysByDB   map[string]int64 `json:"keys_by_db"`
	Expires    int64            `json:"expires"`
	Databases  []int            `json:"databases"`
	Types      map[string]int64 `json:"types"`
	Functions  int              `json:"functions"`
	Bytes      int64            `json:"bytes"`
	Error      string           `json:"error,omitempty"`
	Offset     *int64           `json:"offset,omitempty"`
	// Cause is the problem that made the file invalid (an *Error; test it with errors.Is, e.g.
	// io.ErrUnexpectedEOF for a truncated file, ErrChecksum); nil for a valid file.
	Cause error `json:"-"`
}

// Verify reads a whole RDB file from r in one pass and reports whether it is valid, with its
// counts, checksum state and SHA-256. A file that is not valid is a Report with Valid false,
// Error and Offset, and a nil error; the error is non-nil only when reading r fails, and the
// Report then holds what was learnt before.
func Verify(r io.Reader, optFns ...func(*Options)) (*Report, error) {
	rep, _, err := VerifyFrom(r, nil, nil, optFns...)
	return rep, err
}

// VerifyFrom is Verify in resumable steps. With a nil cp it reads the file from its start; else r
// is the file from cp.Offset on and the verification continues from cp. After each key it calls
// stop (when not nil) with the offset reached; when stop returns true it stops there and returns
// a nil Report and the Checkpoint to continue from (its JSON survives a process). Otherwise it
// returns what Verify would have returned for the whole file (the Report of a resumed pass is
// the one-pass Report: SHA-256, bytes, checksum state, counts, warnings) and a nil Checkpoint. A
// cp that no Reader could have made is an error wrapping ErrCheckpoint.
func VerifyFrom(r io.Reader, cp *Checkpoint, stop func(offset int64) bool, optFns ...func(*Options)) (*Report, *Checkpoint, error) {
	rep := &Report{
		Warnings: []string{},
		KeysByDB: map[string]int64{},
		Types:    map[string]int64{},
	}
	byDB := map[int]int64{}
	var p *Reader
	if cp == nil {
		p = NewReader(r, optFns...)
	} else {
		if cp.Counts.Keys < 0 || cp.Counts.Expires < 0 {
			return nil, nil, fmt.Errorf("%w: negative counts", ErrCheckpoint)
		}
		var err error
		if p, err = NewReaderAt(r, *cp, optFns...); err != nil {
			return nil, nil, err
		}
		rep.Keys, rep.Expires = cp.Counts.Keys, cp.Counts.Expires
		for db, n := range cp.Counts.KeysByDB {
			d, err := strconv.Atoi(db)
			if err != nil || d < 0 {
				p.Close()
				return nil, nil, fmt.Errorf("%w: database %q", ErrCheckpoint, db)
			}
			byDB[d] = n
		}
		for k, n := range cp.Counts.Types {
			rep.Types[k] = n
		}
	}
	defer p.Close()
	var kinds [numTypes]int64
	var err error
	for {
		var e *Entry
		e, err = p.Next()
		if err != nil {
			break
		}
		rep.Keys++
		byDB[e.DB]++
		if e.HasExpiry {
			rep.Expires++
		}
		kinds[e.Type]++
		if stop != nil && stop(p.in.offset()) {
			next, err := p.Checkpoint()
			if err != nil {
				return nil, nil, err
			}
			addCounts(rep, byDB, &kinds)
			next.Counts = Counts{Keys: rep.Keys, KeysByDB: rep.KeysByDB, Expires: rep.Expires, Types: rep.Types}
			return nil, &next, nil
		}
	}
	if h := p.Header(); h.Dialect != 0 {
		rep.Dialect, rep.RDBVersion = h.Dialect.String(), h.Version
	}
	var fe *Error
	switch {
	case err == io.EOF:
		rep.Valid = true
		err = nil
	case errors.As(err, &fe):
		rep.Error, rep.Cause = fe.Error(), fe
		off := fe.Offset
		rep.Offset = &off
		err = p.Close()
	}
	if err == nil {
		sum, n := p.Sum()
		rep.SHA256, rep.Bytes = hex.EncodeToString(sum[:]), n
	}
	rep.Checksum = p.Checksum()
	rep.Warnings = append(rep.Warnings, p.Warnings()...)
	rep.Functions = p.Functions()
	addCounts(rep, byDB, &kinds)
	for db := range byDB {
		rep.Databases = append(rep.Databases, db)
	}
	slices.Sort(rep.Databases)
	if rep.Databases == nil {
		rep.Databases = []int{}
	}
	return rep, nil, err
}

// addCounts sets rep's keys per database and adds the keys counted per type to its Types.
func addCounts(rep *Report, byDB map[int]int64, kinds *[numTypes]int64) {
	for db, n := range byDB {
		rep.KeysByDB[strconv.Itoa(db)] = n
	}
	for t, n := range kinds {
		if n > 0 {
			rep.Types[Type(t).Kind()] += n
		}
	}
}
