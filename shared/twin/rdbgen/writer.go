// Package rdbgen writes RDB files: a small, correct writer for the local twin and for tests
// that need files no server is at hand to make (scale tests, machines without redis-server).
//
// Writer streams one file to an io.Writer: the header ("REDIS0011", or "REDIS0010" for Redis
// 7.0's tools), aux fields, databases (SELECTDB, RESIZEDB), keys with optional expiries
// (EXPIRETIME_MS) and the values' compact encodings as the servers write them (strings raw or
// int-encoded, lists as quicklist 2 of listpacks, sets as intsets or listpacks (version 11) or
// plain sets (version 10), hashes and sorted sets as listpacks), then EOF and the CRC-64/Jones
// trailer. Generate fills a file with N deterministic keys of several types from a seed.
package rdbgen

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
)

// Versions the writer can produce.
const (
	// Version10 is Redis 7.0's format (Debian's redis-check-rdb 7.0 reads up to it): sets are
	// intsets or plain sets, never listpacks.
	Version10 = 10
	// Version11 is Redis 7.2's and Valkey 7.2/8's format: small sets of strings are listpacks
	// (type 20).
	Version11 = 11
	// DefaultVersion is the version a zero Options asks for.
	DefaultVersion = Version11
)

// Value types and opcodes (src/rdb.h).
const (
	typeString      = 0
	typeSet         = 2
	typeSetIntset   = 11
	typeHashLP      = 16
	typeZSetLP      = 17
	typeListQuick2  = 18
	typeSetLP       = 20
	opAux           = 0xFA
	opResizeDB      = 0xFB
	opExpireTimeMS  = 0xFC
	opSelectDB      = 0xFE
	opEOF           = 0xFF
	quicklistPacked = 2
)

// listpack limits the writer keeps to, as the servers' defaults do (list-max-listpack-size -2 is
// 8 KiB per quicklist node; larger sets, hashes and sorted sets are still written as listpacks,
// which a server converts on load when they exceed its own limits).
const (
	maxNodeBytes = 8 << 10
	maxNodeElems = 128
)

var crcTable = crc64.MakeTable(0x95AC9329AC4BC9B5)

// ErrClosed is returned by a Writer's methods after Close.
var ErrClosed = errors.New("rdbgen: writer closed")

// Field is one hash field.
type Field struct{ Name, Value string }

// Member is one sorted-set member.
type Member struct {
	Name  string
	Score float64
}

// Writer writes one RDB file. Its errors are sticky: after the first failure every method
// returns it. It is not safe for concurrent use. The caller orders the file: SelectDB, then that
// database's keys, then the next SelectDB, then Close.
type Writer struct {
	w       *bufio.Writer
	version int
	crc     uint64
	n       int64
	err     error
	closed  bool
	scratch []byte
}

// NewWriter writes the header for version (Version10 or Version11; 0 means DefaultVersion) and
// returns a Writer. It fails only on a version it cannot write.
func NewWriter(w io.Writer, version int) (*Writer, error) {
	if version == 0 {
		version = DefaultVersion
	}
	if version != Version10 && version != Version11 {
		return nil, fmt.Errorf("rdbgen: RDB version %d not supported (want %d or %d)", version, Version10, Version11)
	}
	wr := &Writer{w: bufio.NewWriterSize(w, 64<<10), version: version}
	wr.write([]byte(fmt.Sprintf("REDIS%04d", version)))
	return wr, nil
}

// Version reports the RDB version the writer produces.
func (w *Writer) Version() int { return w.version }

// Written reports the bytes written so far (the whole file's size after Close).
func (w *Writer) Written() int64 { return w.n }

func (w *Writer) write(p []byte) {
	if w.err != nil {
		return
	}
	if w.closed {
		w.err = ErrClosed
		return
	}
	w.crc = ^crc64.Update(^w.crc, crcTable, p)
	n, err := w.w.Write(p)
	w.n += int64(n)
	w.err = err
}

func (w *Writer) byte1(b byte) { w.write([]byte{b}) }

// length writes an RDB length in its shortest form.
func (w *Writer) length(n uint64) {
	var b [9]byte
	switch {
	case n < 1<<6:
		b[0] = byte(n)
		w.write(b[:1])
	case n < 1<<14:
		b[0], b[1] = 0x40|byte(n>>8), byte(n)
		w.write(b[:2])
	case n <= math.MaxUint32:
		b[0] = 0x80
		binary.BigEndian.PutUint32(b[1:], uint32(n))
		w.write(b[:5])
	default:
		b[0] = 0x81
		binary.BigEndian.PutUint64(b[1:], n)
		w.write(b[:9])
	}
}

// str writes a string, int-encoded where the server would (a canonical integer that fits in 32
// bits), else raw.
func (w *Writer) str(s string) {
	if v, ok := canonicalInt(s); ok && v >= math.MinInt32 && v <= math.MaxInt32 {
		var b [5]byte
		switch {
		case v >= math.MinInt8 && v <= math.MaxInt8:
			b[0], b[1] = 0xC0, byte(int8(v))
			w.write(b[:2])
		case v >= math.MinInt16 && v <= math.MaxInt16:
			b[0] = 0xC1
			binary.LittleEndian.PutUint16(b[1:], uint16(int16(v)))
			w.write(b[:3])
		default:
			b[0] = 0xC2
			binary.LittleEndian.PutUint32(b[1:], uint32(int32(v)))
			w.write(b[:5])
		}
		return
	}
	w.rawStr([]byte(s))
}

func (w *Writer) rawStr(p []byte) {
	w.length(uint64(len(p)))
	w.write(p)
}

// canonicalInt reports whether s is an integer written the way strconv writes it (no sign on
// zero, no leading zeros or plus), as the servers require before encoding a string as one.
func canonicalInt(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strconv.FormatInt(v, 10) != s {
		return 0, false
	}
	return v, true
}

// Aux writes an aux field (redis-ver, redis-bits, ctime, ...).
func (w *Writer) Aux(key, value string) error {
	w.byte1(opAux)
	w.str(key)
	w.str(value)
	return w.err
}

// SelectDB starts database db, announcing keys keys of which expires have an expiry (RESIZEDB:
// hints for the loader's tables, not checked against what follows).
func (w *Writer) SelectDB(db, keys, expires int) error {
	if db < 0 || keys < 0 || expires < 0 {
		return w.fail(fmt.Errorf("rdbgen: negative database %d, keys %d or expires %d", db, keys, expires))
	}
	w.byte1(opSelectDB)
	w.length(uint64(db))
	w.byte1(opResizeDB)
	w.length(uint64(keys))
	w.length(uint64(expires))
	return w.err
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// key writes the expiry (when set), the type and the key name.
func (w *Writer) key(typ byte, key string, expireAt time.Time) {
	if !expireAt.IsZero() {
		var b [9]byte
		b[0] = opExpireTimeMS
		binary.LittleEndian.PutUint64(b[1:], uint64(expireAt.UnixMilli()))
		w.write(b[:])
	}
	w.byte1(typ)
	w.str(key)
}

// String writes a string key; expireAt zero means no expiry.
func (w *Writer) String(key, value string, expireAt time.Time) error {
	w.key(typeString, key, expireAt)
	w.str(value)
	return w.err
}

// List writes a list (quicklist 2: packed listpack nodes of at most 8 KiB or 128 elements).
// A list must not be empty.
func (w *Writer) List(key string, elems []string, expireAt time.Time) error {
	if len(elems) == 0 {
		return w.fail(fmt.Errorf("rdbgen: list %q is empty (servers never write empty lists)", key))
	}
	var nodes [][]string
	start, size := 0, 0
	for i, e := range elems {
		if i > start && (i-start >= maxNodeElems || size+len(e) > maxNodeBytes) {
			nodes = append(nodes, elems[start:i])
			start, size = i, 0
		}
		size += len(e) + 11
	}
	nodes = append(nodes, elems[start:])
	w.key(typeListQuick2, key, expireAt)
	w.length(uint64(len(nodes)))
	for _, n := range nodes {
		w.length(quicklistPacked)
		w.scratch = appendListpack(w.scratch[:0], n)
		w.rawStr(w.scratch)
	}
	return w.err
}

// Set writes a set: an intset when every member is an integer, else a listpack (version 11) or
// a plain set (version 10). Members must be distinct and the set not empty.
func (w *Writer) Set(key string, members []string, expireAt time.Time) error {
	if len(members) == 0 {
		return w.fail(fmt.Errorf("rdbgen: set %q is empty (servers never write empty sets)", key))
	}
	ints := make([]int64, 0, len(members))
	for _, m := range members {
		v, ok := canonicalInt(m)
		if !ok {
			ints = nil
			break
		}
		ints = append(ints, v)
	}
	switch {
	case ints != nil:
		w.key(typeSetIntset, key, expireAt)
		w.scratch = appendIntset(w.scratch[:0], ints)
		w.rawStr(w.scratch)
	case w.version >= Version11:
		w.key(typeSetLP, key, expireAt)
		w.scratch = appendListpack(w.scratch[:0], members)
		w.rawStr(w.scratch)
	default:
		w.key(typeSet, key, expireAt)
		w.length(uint64(len(members)))
		for _, m := range members {
			w.str(m)
		}
	}
	return w.err
}

// Hash writes a hash as a listpack of field, value pairs. Field names must be distinct and the
// hash not empty.
func (w *Writer) Hash(key string, fields []Field, expireAt time.Time) error {
	if len(fields) == 0 {
		return w.fail(fmt.Errorf("rdbgen: hash %q is empty (servers never write empty hashes)", key))
	}
	flat := make([]string, 0, 2*len(fields))
	for _, f := range fields {
		flat = append(flat, f.Name, f.Value)
	}
	w.key(typeHashLP, key, expireAt)
	w.scratch = appendListpack(w.scratch[:0], flat)
	w.rawStr(w.scratch)
	return w.err
}

// ZSet writes a sorted set as a listpack of member, score pairs in score order (then member
// order), as the servers keep it. Members must be distinct, scores finite, and the set not empty.
func (w *Writer) ZSet(key string, members []Member, expireAt time.Time) error {
	if len(members) == 0 {
		return w.fail(fmt.Errorf("rdbgen: sorted set %q is empty (servers never write empty sorted sets)", key))
	}
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b Member) int {
		if a.Score != b.Score {
			if a.Score < b.Score {
				return -1
			}
			return 1
		}
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	flat := make([]string, 0, 2*len(ms))
	for _, m := range ms {
		if math.IsNaN(m.Score) || math.IsInf(m.Score, 0) {
			return w.fail(fmt.Errorf("rdbgen: sorted set %q: score of %q is not finite", key, m.Name))
		}
		flat = append(flat, m.Name, formatScore(m.Score))
	}
	w.key(typeZSetLP, key, expireAt)
	w.scratch = appendListpack(w.scratch[:0], flat)
	w.rawStr(w.scratch)
	return w.err
}

// formatScore writes a score as the servers put it into a listpack: an integer when it is one,
// else the shortest decimal that reads back as the same double (%.17g in the servers).
func formatScore(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

// Close writes EOF and the CRC-64 trailer and flushes. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.fail(ErrClosed)
	}
	w.byte1(opEOF)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], w.crc)
	w.write(b[:])
	w.closed = true
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// appendIntset appends an intset blob: encoding (2, 4 or 8 bytes per value), count, then the
// sorted values, all little-endian.
func appendIntset(b []byte, vals []int64) []byte {
	vals = slices.Clone(vals)
	slices.Sort(vals)
	vals = slices.Compact(vals)
	enc := 2
	for _, v := range vals {
		switch {
		case v < math.MinInt32 || v > math.MaxInt32:
			enc = 8
		case (v < math.MinInt16 || v > math.MaxInt16) && enc < 4:
			enc = 4
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(enc))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vals)))
	for _, v := range vals {
		switch enc {
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(int16(v)))
		case 4:
			b = binary.LittleEndian.AppendUint32(b, uint32(int32(v)))
		default:
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	return b
}

// appendListpack appends a listpack holding elems: total bytes (uint32), element count
// (uint16, 65535 when larger), the entries, 0xFF. Elements that are canonical integers are
// stored as integers, as the servers do.
func appendListpack(b []byte, elems []string) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0)
	for _, e := range elems {
		entry := len(b)
		if v, ok := canonicalInt(e); ok {
			b = appendLPInt(b, v)
		} else {
			b = appendLPString(b, e)
		}
		b = appendBacklen(b, len(b)-entry)
	}
	b = append(b, 0xFF)
	binary.LittleEndian.PutUint32(b[start:], uint32(len(b)-start))
	count := len(elems)
	if count > math.MaxUint16 {
		count = math.MaxUint16
	}
	binary.LittleEndian.PutUint16(b[start+4:], uint16(count))
	return b
}

func appendLPInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= 127:
		return append(b, byte(v))
	case v >= -4096 && v <= 4095:
		u := uint64(v) & (1<<13 - 1)
		return append(b, 0xC0|byte(u>>8), byte(u))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return binary.LittleEndian.AppendUint16(append(b, 0xF1), uint16(int16(v)))
	case v >= -(1<<23) && v <= 1<<23-1:
		u := uint32(v) & (1<<24 - 1)
		return append(b, 0xF2, byte(u), byte(u>>8), byte(u>>16))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return binary.LittleEndian.AppendUint32(append(b, 0xF3), uint32(int32(v)))
	}
	return binary.LittleEndian.AppendUint64(append(b, 0xF4), uint64(v))
}

func appendLPString(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 64:
		b = append(b, 0x80|byte(n))
	case n < 4096:
		b = append(b, 0xE0|byte(n>>8), byte(n))
	default:
		b = binary.LittleEndian.AppendUint32(append(b, 0xF0), uint32(n))
	}
	return append(b, s...)
}

// appendBacklen appends an entry's back length (the size of its encoding and data), written so
// that it can be read from its last byte backwards: 7 bits a byte, high bit set on all but the
// first byte.
func appendBacklen(b []byte, l int) []byte {
	switch {
	case l <= 127:
		return append(b, byte(l))
	case l < 16383:
		return append(b, byte(l>>7), byte(l&127)|128)
	case l < 2097151:
		return append(b, byte(l>>14), byte((l>>7)&127)|128, byte(l&127)|128)
	case l < 268435455:
		return append(b, byte(l>>21), byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
	}
	return append(b, byte(l>>28), byte((l>>21)&127)|128, byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
}
