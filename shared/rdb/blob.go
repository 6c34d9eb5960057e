package rdb

import (
	"encoding/binary"
	"fmt"
)

// blobError is a problem inside an encoded blob, at pos bytes from its start.
type blobError struct {
	pos int
	msg string
}

func (e *blobError) Error() string { return e.msg }

func blobErr(pos int, format string, a ...any) *blobError {
	return &blobError{pos: pos, msg: fmt.Sprintf(format, a...)}
}

// lzfCheck validates an LZF stream without producing its output: every literal run must be
// present, every back reference must point inside the output so far, and the output must be
// exactly ulen bytes.
func lzfCheck(b []byte, ulen uint64) *blobError {
	var out uint64
	i := 0
	for i < len(b) {
		c := b[i]
		i++
		if c < 32 {
			lit := int(c) + 1
			if lit > len(b)-i {
				return blobErr(i-1, "lzf literal run of %d bytes past the end of the compressed data", lit)
			}
			i += lit
			out += uint64(lit)
		} else {
			l := uint64(c >> 5)
			if l == 7 {
				if i >= len(b) {
					return blobErr(i-1, "lzf back reference truncated")
				}
				l += uint64(b[i])
				i++
			}
			if i >= len(b) {
				return blobErr(i-1, "lzf back reference truncated")
			}
			ref := uint64(c&31)<<8 | uint64(b[i])
			i++
			if ref >= out {
				return blobErr(i-2, "lzf back reference before the start of the output")
			}
			out += l + 2
		}
		if out > ulen {
			return blobErr(i, "lzf output exceeds the declared %d bytes", ulen)
		}
	}
	if out != ulen {
		return blobErr(len(b), "lzf output is %d bytes, declared %d", out, ulen)
	}
	return nil
}

// lzfDecompress expands src into dst, which must have exactly the declared output length.
func lzfDecompress(dst, src []byte) *blobError {
	o, i := 0, 0
	for i < len(src) {
		c := int(src[i])
		i++
		if c < 32 {
			lit := c + 1
			if lit > len(src)-i {
				return blobErr(i-1, "lzf literal run of %d bytes past the end of the compressed data", lit)
			}
			if lit > len(dst)-o {
				return blobErr(i-1, "lzf output exceeds the declared %d bytes", len(dst))
			}
			copy(dst[o:], src[i:i+lit])
			i += lit
			o += lit
			continue
		}
		l := c >> 5
		if l == 7 {
			if i >= len(src) {
				return blobErr(i-1, "lzf back reference truncated")
			}
			l += int(src[i])
			i++
		}
		if i >= len(src) {
			return blobErr(i-1, "lzf back reference truncated")
		}
		ref := o - (c&31)<<8 - int(src[i]) - 1
		i++
		if ref < 0 {
			return blobErr(i-2, "lzf back reference before the start of the output")
		}
		l += 2
		if l > len(dst)-o {
			return blobErr(i-2, "lzf output exceeds the declared %d bytes", len(dst))
		}
		// Byte by byte: a reference may overlap the bytes it produces.
		for k := range l {
			dst[o+k] = dst[ref+k]
		}
		o += l
	}
	if o != len(dst) {
		return blobErr(len(src), "lzf output is %d bytes, declared %d", o, len(dst))
	}
	return nil
}

// walkZiplist validates a ziplist (header, prevlen chain, entry encodings, tail offset,
// count and terminator) and returns its number of entries.
func walkZiplist(b []byte) (int, *blobError) {
	const hdr = 10
	if len(b) < hdr+1 {
		return 0, blobErr(0, "ziplist of %d bytes is shorter than its header", len(b))
	}
	if n := binary.LittleEndian.Uint32(b); uint64(n) != uint64(len(b)) {
		return 0, blobErr(0, "ziplist says %d bytes but has %d", n, len(b))
	}
	tail := int(binary.LittleEndian.Uint32(b[4:]))
	declared := int(binary.LittleEndian.Uint16(b[8:]))
	p, prev, last, count := hdr, 0, hdr, 0
	for {
		if p >= len(b) {
			return 0, blobErr(p, "ziplist has no end marker")
		}
		if b[p] == 0xff {
			if p != len(b)-1 {
				return 0, blobErr(p, "ziplist end marker before the end of the blob")
			}
			break
		}
		start := p
		var prevlen int
		if b[p] < 254 {
			prevlen = int(b[p])
			p++
		} else {
			if len(b)-p < 5 {
				return 0, blobErr(p, "ziplist entry header past the end")
			}
			prevlen = int(binary.LittleEndian.Uint32(b[p+1:]))
			p += 5
		}
		if prevlen != prev {
			return 0, blobErr(start, "ziplist entry says the previous entry is %d bytes, it is %d", prevlen, prev)
		}
		if p >= len(b) {
			return 0, blobErr(p, "ziplist entry header past the end")
		}
		e := b[p]
		var h, d int
		switch e >> 6 {
		case 0:
			h, d = 1, int(e&0x3f)
		case 1:
			if len(b)-p < 2 {
				return 0, blobErr(p, "ziplist entry header past the end")
			}
			h, d = 2, int(e&0x3f)<<8|int(b[p+1])
		case 2:
			if len(b)-p < 5 {
				return 0, blobErr(p, "ziplist entry header past the end")
			}
			h, d = 5, int(binary.BigEndian.Uint32(b[p+1:]))
		default:
			h = 1
			switch {
			case e == 0xc0:
				d = 2
			case e == 0xd0:
				d = 4
			case e == 0xe0:
				d = 8
			case e == 0xf0:
				d = 3
			case e == 0xfe:
				d = 1
			case e >= 0xf1 && e <= 0xfd:
				d = 0
			default:
				return 0, blobErr(p, "ziplist entry has unknown encoding 0x%02x", e)
			}
		}
		if d > len(b)-p-h {
			return 0, blobErr(p, "ziplist entry of %d bytes runs past the end", d)
		}
		p += h + d
		prev = p - start
		last = start
		count++
	}
	if tail != last {
		return 0, blobErr(4, "ziplist tail offset is %d, the last entry is at %d", tail, last)
	}
	if declared != 0xffff && declared != count {
		return 0, blobErr(8, "ziplist says %d entries but has %d", declared, count)
	}
	return count, nil
}

// backlenSize is how many bytes a listpack back-length of l takes.
func backlenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// walkListpack validates a listpack (total bytes, entry encodings, back-lengths, count and
// terminator) and returns its number of entries.
func walkListpack(b []byte) (int, *blobError) {
	const hdr = 6
	if len(b) < hdr+1 {
		return 0, blobErr(0, "listpack of %d bytes is shorter than its header", len(b))
	}
	if n := binary.LittleEndian.Uint32(b); uint64(n) != uint64(len(b)) {
		return 0, blobErr(0, "listpack says %d bytes but has %d", n, len(b))
	}
	declared := int(binary.LittleEndian.Uint16(b[4:]))
	p, count := hdr, 0
	for {
		if p >= len(b) {
			return 0, blobErr(p, "listpack has no end marker")
		}
		c := b[p]
		if c == 0xff {
			if p != len(b)-1 {
				return 0, blobErr(p, "listpack end marker before the end of the blob")
			}
			break
		}
		h, d, err := lpEntrySize(b, p)
		if err != nil {
			return 0, err
		}
		l := h + d
		bl := backlenSize(l)
		if l+bl > len(b)-1-p {
			return 0, blobErr(p, "listpack entry of %d bytes runs past the end", l+bl)
		}
		// The back-length is big-endian base-128, with the high bit on every byte but the first.
		q := p + l
		for k := range bl {
			want := byte(l >> (7 * (bl - 1 - k)) & 0x7f)
			if k > 0 {
				want |= 0x80
			}
			if b[q+k] != want {
				return 0, blobErr(q, "listpack entry back-length does not match its size %d", l)
			}
		}
		p = q + bl
		count++
	}
	if declared != 0xffff && declared != count {
		return 0, blobErr(4, "listpack says %d entries but has %d", declared, count)
	}
	return count, nil
}

// lpEntrySize returns the header and data sizes of the listpack entry at p.
func lpEntrySize(b []byte, p int) (h, d int, err *blobError) {
	c := b[p]
	switch {
	case c&0x80 == 0:
		return 1, 0, nil
	case c&0xc0 == 0x80:
		return 1, int(c & 0x3f), nil
	case c&0xe0 == 0xc0:
		h, d = 2, 0
	case c&0xf0 == 0xe0:
		if len(b)-p < 2 {
			return 0, 0, blobErr(p, "listpack entry header past the end")
		}
		return 2, int(c&0x0f)<<8 | int(b[p+1]), nil
	case c == 0xf0:
		if len(b)-p < 5 {
			return 0, 0, blobErr(p, "listpack entry header past the end")
		}
		n := binary.LittleEndian.Uint32(b[p+1:])
		if uint64(n) > uint64(len(b)) {
			return 0, 0, blobErr(p, "listpack entry of %d bytes runs past the end", n)
		}
		return 5, int(n), nil
	case c == 0xf1:
		return 1, 2, nil
	case c == 0xf2:
		return 1, 3, nil
	case c == 0xf3:
		return 1, 4, nil
	case c == 0xf4:
		return 1, 8, nil
	default:
		return 0, 0, blobErr(p, "listpack entry has unknown encoding 0x%02x", c)
	}
	return h, d, nil
}

// lpIter walks the entries of a listpack that walkListpack has validated.
type lpIter struct {
	b []byte
	p int
}

func newLpIter(b []byte) lpIter { return lpIter{b: b, p: 6} }

func (it *lpIter) done() bool { return it.b[it.p] == 0xff }

// next returns the entry at the iterator as an integer (ok) or a string, and advances.
func (it *lpIter) next() (v int64, s []byte, isInt bool) {
	b, p := it.b, it.p
	c := b[p]
	h, d, _ := lpEntrySize(b, p)
	data := b[p+h : p+h+d]
	it.p = p + h + d + backlenSize(h+d)
	switch {
	case c&0x80 == 0:
		return int64(c), nil, true
	case c&0xe0 == 0xc0:
		v := int64(c&0x1f)<<8 | int64(b[p+1])
		return v << 51 >> 51, nil, true // sign-extend 13 bits
	case c == 0xf1:
		return int64(int16(binary.LittleEndian.Uint16(data))), nil, true
	case c == 0xf2:
		v := int64(data[0]) | int64(data[1])<<8 | int64(data[2])<<16
		return v << 40 >> 40, nil, true
	case c == 0xf3:
		return int64(int32(binary.LittleEndian.Uint32(data))), nil, true
	case c == 0xf4:
		return int64(binary.LittleEndian.Uint64(data)), nil, true
	}
	return 0, data, false
}

// int reads the next entry as an integer; strings holding a decimal integer count too.
func (it *lpIter) int() (int64, bool) {
	if it.done() {
		return 0, false
	}
	v, s, isInt := it.next()
	if isInt {
		return v, true
	}
	return parseInt(s)
}

func parseInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
		if len(s) == 0 {
			return 0, false
		}
	}
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// Stream entry flags in a stream listpack.
const (
	streamItemDeleted   = 1
	streamItemSameField = 2
)

// walkStreamListpack checks the structure of one stream node: the master entry (count,
// deleted, master fields, 0), then entries whose lp-count matches their size, and that the
// valid and deleted entries add up to the master entry's counts. It returns the valid entries.
func walkStreamListpack(b []byte) (int64, *blobError) {
	it := newLpIter(b)
	if it.done() {
		return 0, blobErr(6, "empty listpack inside a stream")
	}
	count, ok1 := it.int()
	deleted, ok2 := it.int()
	fields, ok3 := it.int()
	if !ok1 || !ok2 || !ok3 || count < 0 || deleted < 0 || fields < 0 {
		return 0, blobErr(6, "stream listpack master entry is malformed")
	}
	for range fields {
		if it.done() {
			return 0, blobErr(it.p, "stream listpack master fields run past the end")
		}
		it.next()
	}
	if z, ok := it.int(); !ok || z != 0 {
		return 0, blobErr(it.p, "stream listpack master entry is not terminated by 0")
	}
	var valid, gone int64
	for !it.done() {
		start := it.p
		flags, ok1 := it.int()
		_, ok2 := it.int() // ms delta
		_, ok3 := it.int() // seq delta
		if !ok1 || !ok2 || !ok3 {
			return 0, blobErr(start, "stream entry header is malformed")
		}
		var elems, want int64
		if flags&streamItemSameField != 0 {
			elems, want = fields, fields+3
		} else {
			n, ok := it.int()
			if !ok || n < 0 {
				return 0, blobErr(start, "stream entry field count is malformed")
			}
			elems, want = 2*n, 2*n+4
		}
		for range elems {
			if it.done() {
				return 0, blobErr(it.p, "stream entry runs past the end of its listpack")
			}
			it.next()
		}
		if lpc, ok := it.int(); !ok || lpc != want {
			return 0, blobErr(start, "stream entry lp-count does not match its size")
		}
		if flags&streamItemDeleted != 0 {
			gone++
		} else {
			valid++
		}
	}
	if valid != count || gone != deleted {
		return 0, blobErr(6, "stream listpack says %d entries and %d deleted, has %d and %d", count, deleted, valid, gone)
	}
	return valid, nil
}

// walkIntset validates an intset (encoding, length, strictly ascending members) and returns
// its number of members.
func walkIntset(b []byte) (int, *blobError) {
	if len(b) < 8 {
		return 0, blobErr(0, "intset of %d bytes is shorter than its header", len(b))
	}
	enc := binary.LittleEndian.Uint32(b)
	n := binary.LittleEndian.Uint32(b[4:])
	if enc != 2 && enc != 4 && enc != 8 {
		return 0, blobErr(0, "intset has unknown encoding %d", enc)
	}
	if uint64(len(b)) != 8+uint64(enc)*uint64(n) {
		return 0, blobErr(4, "intset of %d members of %d bytes does not fit %d bytes", n, enc, len(b))
	}
	var prev int64
	for i := range int(n) {
		var v int64
		q := b[8+i*int(enc):]
		switch enc {
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(q)))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(q)))
		default:
			v = int64(binary.LittleEndian.Uint64(q))
		}
		if i > 0 && v <= prev {
			return 0, blobErr(8+i*int(enc), "intset members are not in ascending order")
		}
		prev = v
	}
	return int(n), nil
}

// walkZipmap validates a zipmap (Redis before 2.6) and returns its number of field-value pairs.
func walkZipmap(b []byte) (int, *blobError) {
	if len(b) < 2 {
		return 0, blobErr(0, "zipmap of %d bytes is too short", len(b))
	}
	declared := int(b[0])
	p, count := 1, 0
	readLen := func() (int, *blobError) {
		if p >= len(b) {
			return 0, blobErr(p, "zipmap runs past the end")
		}
		c := b[p]
		switch {
		case c < 254:
			p++
			return int(c), nil
		case c == 254:
			if len(b)-p < 5 {
				return 0, blobErr(p, "zipmap length runs past the end")
			}
			n := binary.LittleEndian.Uint32(b[p+1:])
			p += 5
			if uint64(n) > uint64(len(b)) {
				return 0, blobErr(p-5, "zipmap length %d runs past the end", n)
			}
			return int(n), nil
		}
		return 0, blobErr(p, "zipmap has a length where its end marker is")
	}
	for {
		if p >= len(b) {
			return 0, blobErr(p, "zipmap has no end marker")
		}
		if b[p] == 0xff {
			if p != len(b)-1 {
				return 0, blobErr(p, "zipmap end marker before the end of the blob")
			}
			break
		}
		kl, err := readLen()
		if err != nil {
			return 0, err
		}
		if kl > len(b)-p {
			return 0, blobErr(p, "zipmap field runs past the end")
		}
		p += kl
		vl, err := readLen()
		if err != nil {
			return 0, err
		}
		if p >= len(b) {
			return 0, blobErr(p, "zipmap runs past the end")
		}
		free := int(b[p])
		p++
		if vl+free > len(b)-p {
			return 0, blobErr(p, "zipmap value runs past the end")
		}
		p += vl + free
		count++
	}
	if declared < 254 && declared != count {
		return 0, blobErr(0, "zipmap says %d pairs but has %d", declared, count)
	}
	return count, nil
}
