package rdb

import (
	"encoding/binary"
	"fmt"
)

// rdbWriter is a small RDB writer for tests: it produces the encodings Debian's Redis 7.0
// cannot write (listpack sets, stream listpacks 3, hash field TTLs, Valkey 9's HASH_2) and
// hand-made damage, with a correct CRC-64 trailer.
type rdbWriter struct {
	b []byte
}

func newWriter(magic string) *rdbWriter {
	w := &rdbWriter{b: []byte(magic)}
	w.aux("redis-ver", "test")
	return w
}

func (w *rdbWriter) byte(c byte) *rdbWriter  { w.b = append(w.b, c); return w }
func (w *rdbWriter) raw(p []byte) *rdbWriter { w.b = append(w.b, p...); return w }

func (w *rdbWriter) u64(v uint64) *rdbWriter {
	w.b = binary.LittleEndian.AppendUint64(w.b, v)
	return w
}

// len writes an RDB length in its shortest form.
func (w *rdbWriter) len(n uint64) *rdbWriter {
	switch {
	case n < 1<<6:
		return w.byte(byte(n))
	case n < 1<<14:
		return w.byte(0x40 | byte(n>>8)).byte(byte(n))
	case n <= 0xffffffff:
		w.byte(0x80)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(n))
		return w
	}
	w.byte(0x81)
	w.b = binary.BigEndian.AppendUint64(w.b, n)
	return w
}

func (w *rdbWriter) str(s string) *rdbWriter  { return w.len(uint64(len(s))).raw([]byte(s)) }
func (w *rdbWriter) blob(p []byte) *rdbWriter { return w.len(uint64(len(p))).raw(p) }

// lzf writes p as an LZF string (see lzfEncode).
func (w *rdbWriter) lzf(p []byte) *rdbWriter {
	c := lzfEncode(p)
	return w.byte(0xc3).len(uint64(len(c))).len(uint64(len(p))).raw(c)
}

func (w *rdbWriter) aux(k, v string) *rdbWriter { return w.byte(opAux).str(k).str(v) }
func (w *rdbWriter) db(n uint64) *rdbWriter     { return w.byte(opSelectDB).len(n) }
func (w *rdbWriter) key(t byte, k string) *rdbWriter {
	return w.byte(t).str(k)
}

// end writes the EOF opcode and the trailer: the CRC-64, or zeros when crc is false.
func (w *rdbWriter) end(crc bool) []byte {
	w.byte(opEOF)
	if crc {
		return w.u64(crc64Update(0, w.b)).b
	}
	return w.u64(0).b
}

// lzfEncode compresses p with runs of one repeated byte turned into back references (so the
// tests cover overlapping references) and everything else as literals.
func lzfEncode(p []byte) []byte {
	var out []byte
	lit := func(q []byte) {
		for len(q) > 0 {
			n := min(len(q), 32)
			out = append(out, byte(n-1))
			out = append(out, q[:n]...)
			q = q[n:]
		}
	}
	i, start := 0, 0
	for i < len(p) {
		j := i + 1
		for j < len(p) && p[j] == p[i] {
			j++
		}
		if j-i >= 4 { // p[i] as a literal, then references to the byte before
			lit(p[start : i+1])
			rest := j - i - 1
			for rest >= 3 {
				n := min(rest, 264)
				if rest-n > 0 && rest-n < 3 { // leave at least 3 for the next reference
					n -= 3
				}
				l := n - 2
				if l >= 7 {
					out = append(out, 7<<5, byte(l-7), 0)
				} else {
					out = append(out, byte(l<<5), 0)
				}
				rest -= n
			}
			lit(p[j-rest : j])
			start, i = j, j
			continue
		}
		i = j
	}
	lit(p[start:])
	return out
}

// listpack builds a listpack of strings and int64s.
func listpack(items ...any) []byte {
	var body []byte
	for _, it := range items {
		var e []byte
		switch v := it.(type) {
		case int:
			e = lpInt(int64(v))
		case int64:
			e = lpInt(v)
		case string:
			switch n := len(v); {
			case n < 64:
				e = append([]byte{0x80 | byte(n)}, v...)
			case n < 4096:
				e = append([]byte{0xe0 | byte(n>>8), byte(n)}, v...)
			default:
				e = binary.LittleEndian.AppendUint32([]byte{0xf0}, uint32(n))
				e = append(e, v...)
			}
		default:
			panic(fmt.Sprintf("listpack: %T", it))
		}
		l := len(e)
		bl := backlenSize(l)
		for k := range bl {
			c := byte(l >> (7 * (bl - 1 - k)) & 0x7f)
			if k > 0 {
				c |= 0x80
			}
			e = append(e, c)
		}
		body = append(body, e...)
	}
	n := len(items)
	if n > 0xffff {
		n = 0xffff
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(6+len(body)+1))
	out = binary.LittleEndian.AppendUint16(out, uint16(n))
	out = append(out, body...)
	return append(out, 0xff)
}

func lpInt(v int64) []byte {
	switch {
	case v >= 0 && v <= 127:
		return []byte{byte(v)}
	case v >= -4096 && v <= 4095:
		u := uint16(v) & 0x1fff
		return []byte{0xc0 | byte(u>>8), byte(u)}
	case v >= -1<<15 && v < 1<<15:
		return binary.LittleEndian.AppendUint16([]byte{0xf1}, uint16(v))
	case v >= -1<<23 && v < 1<<23:
		return []byte{0xf2, byte(v), byte(v >> 8), byte(v >> 16)}
	case v >= -1<<31 && v < 1<<31:
		return binary.LittleEndian.AppendUint32([]byte{0xf3}, uint32(v))
	}
	return binary.LittleEndian.AppendUint64([]byte{0xf4}, uint64(v))
}

// ziplist builds a ziplist of strings and int64s.
func ziplist(items ...any) []byte {
	var body []byte
	prev, last := 0, 10
	for _, it := range items {
		var e []byte
		if prev < 254 {
			e = []byte{byte(prev)}
		} else {
			e = binary.LittleEndian.AppendUint32([]byte{254}, uint32(prev))
		}
		switch v := it.(type) {
		case int:
			switch {
			case v >= 0 && v <= 12:
				e = append(e, 0xf1+byte(v))
			case v >= -128 && v <= 127:
				e = append(e, 0xfe, byte(v))
			default:
				e = binary.LittleEndian.AppendUint64(append(e, 0xe0), uint64(v))
			}
		case string:
			switch n := len(v); {
			case n < 64:
				e = append(e, byte(n))
			case n < 16384:
				e = append(e, 0x40|byte(n>>8), byte(n))
			default:
				e = binary.BigEndian.AppendUint32(append(e, 0x80), uint32(n))
			}
			e = append(e, v...)
		}
		last = 10 + len(body)
		body = append(body, e...)
		prev = len(e)
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(10+len(body)+1))
	out = binary.LittleEndian.AppendUint32(out, uint32(last))
	out = binary.LittleEndian.AppendUint16(out, uint16(len(items)))
	out = append(out, body...)
	return append(out, 0xff)
}

// intset builds an intset of ascending values with the given member size.
func intset(size int, vals ...int64) []byte {
	out := binary.LittleEndian.AppendUint32(nil, uint32(size))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(vals)))
	for _, v := range vals {
		switch size {
		case 2:
			out = binary.LittleEndian.AppendUint16(out, uint16(v))
		case 4:
			out = binary.LittleEndian.AppendUint32(out, uint32(v))
		default:
			out = binary.LittleEndian.AppendUint64(out, uint64(v))
		}
	}
	return out
}

// zipmap builds a zipmap of field-value pairs.
func zipmap(pairs ...string) []byte {
	out := []byte{byte(len(pairs) / 2)}
	for i, s := range pairs {
		if len(s) < 254 {
			out = append(out, byte(len(s)))
		} else {
			out = binary.LittleEndian.AppendUint32(append(out, 254), uint32(len(s)))
		}
		if i%2 == 1 {
			out = append(out, 0) // free bytes
		}
		out = append(out, s...)
	}
	return append(out, 0xff)
}

// streamNode builds one stream listpack node: entries of the given field-value pairs, each
// with the master entry's fields (SAMEFIELDS) when they match.
func streamNode(fields []string, entries [][]string, deleted int) []byte {
	items := []any{len(entries) - deleted, deleted, len(fields)}
	for _, f := range fields {
		items = append(items, f)
	}
	items = append(items, 0)
	for i, e := range entries {
		flags := 0
		if i < deleted {
			flags |= streamItemDeleted
		}
		same := len(e) == 2*len(fields)
		for k := 0; same && k < len(fields); k++ {
			same = e[2*k] == fields[k]
		}
		if same {
			flags |= streamItemSameField
		}
		items = append(items, flags, i, 0)
		if same {
			for k := 1; k < len(e); k += 2 {
				items = append(items, e[k])
			}
			items = append(items, len(fields)+3)
		} else {
			items = append(items, len(e)/2)
			for _, s := range e {
				items = append(items, s)
			}
			items = append(items, len(e)+4)
		}
	}
	return listpack(items...)
}

// stream writes a stream value of the given type (15, 19 or 21) with one node, one consumer
// group and one pending entry.
func (w *rdbWriter) stream(t byte, node []byte, entries int) *rdbWriter {
	id := make([]byte, 16)
	w.len(1).blob(id).blob(node)
	w.len(uint64(entries)).len(1700000000000).len(uint64(entries)) // length, last id
	if t != 15 {
		w.len(1700000000000).len(0).len(0).len(0).len(uint64(entries)) // first id, max deleted, added
	}
	w.len(1).str("group").len(1700000000000).len(0) // one group, last delivered id
	if t != 15 {
		w.len(1) // entries read
	}
	w.len(1).raw(id).u64(1700000000000).len(1) // global PEL: one entry
	w.len(1).str("consumer").u64(1700000000000)
	if t == 21 {
		w.u64(1700000000000)
	}
	return w.len(1).raw(id)
}
