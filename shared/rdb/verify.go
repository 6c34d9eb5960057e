package rdb

import (
	"encoding/hex"
	"errors"
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
	rep := &Report{
		Warnings: []string{},
		KeysByDB: map[string]int64{},
		Types:    map[string]int64{},
	}
	p := NewReader(r, optFns...)
	defer p.Close()
	byDB := map[int]int64{}
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
	for db, n := range byDB {
		rep.KeysByDB[strconv.Itoa(db)] = n
		rep.Databases = append(rep.Databases, db)
	}
	slices.Sort(rep.Databases)
	if rep.Databases == nil {
		rep.Databases = []int{}
	}
	for t, n := range kinds {
		if n > 0 {
			rep.Types[Type(t).Kind()] += n
		}
	}
	return rep, err
}
