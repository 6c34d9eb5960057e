package rdb

import "fmt"

// Module value sub-opcodes (type 7 values and module aux data).
const (
	moduleOpEOF    = 0
	moduleOpSint   = 1
	moduleOpUint   = 2
	moduleOpFloat  = 3
	moduleOpDouble = 4
	moduleOpString = 5
)

// Quicklist 2 node containers.
const (
	containerPlain  = 1
	containerPacked = 2
)

// walkValue walks and validates the value of type t and returns its element count.
func (p *Reader) walkValue(t Type) (int64, error) {
	in := &p.in
	switch t {
	case TypeString:
		_, err := p.skipString()
		return 1, err
	case TypeList, TypeSet:
		return p.walkStrings(t, 1, 0)
	case TypeZSet:
		return p.walkZSet()
	case TypeZSet2:
		return p.walkStrings(t, 1, 8)
	case TypeHash:
		return p.walkStrings(t, 2, 0)
	case TypeHash2:
		return p.walkStrings(t, 2, 8)
	case TypeHashMetadata, TypeHashMetadataPreGA:
		if t == TypeHashMetadata {
			if err := in.skip(8); err != nil { // minimum expiry of the fields
				return 0, err
			}
		}
		return p.walkHashMetadata()
	case TypeModule2:
		if err := p.skipLens(1); err != nil { // module id
			return 0, err
		}
		return 1, p.walkModuleOps()
	case TypeModulePreGA:
		return 0, p.errAt(in.offset(), fmt.Errorf("pre-release module value (type 6): %w", ErrUnsupported))
	case TypePathHash:
		return 0, p.errAt(in.offset(), fmt.Errorf("valkey path hash (type 23): %w", ErrUnsupported))
	case TypeHashZipmap:
		return p.walkBlob(t, walkZipmap, 1)
	case TypeListZiplist:
		return p.walkBlob(t, walkZiplist, 1)
	case TypeZSetZiplist, TypeHashZiplist:
		return p.walkBlob(t, walkZiplist, 2)
	case TypeSetIntset:
		return p.walkBlob(t, walkIntset, 1)
	case TypeHashListpack, TypeZSetListpack:
		return p.walkBlob(t, walkListpack, 2)
	case TypeSetListpack:
		return p.walkBlob(t, walkListpack, 1)
	case TypeHashListpackExPreGA:
		return p.walkBlob(t, walkListpack, 3)
	case TypeHashListpackEx:
		if err := in.skip(8); err != nil { // minimum expiry of the fields
			return 0, err
		}
		return p.walkBlob(t, walkListpack, 3)
	case TypeListQuicklist, TypeListQuicklist2:
		return p.walkQuicklist(t)
	case TypeStreamListpacks, TypeStreamListpacks2, TypeStreamListpacks3:
		return p.walkStream(t)
	}
	return 0, p.errf(p.entry.Offset, "type %s cannot be walked", t)
}

func (p *Reader) emptyKey(t Type) {
	p.warn("empty %s key %q in db %d (a server never writes one; it drops it on load)", t.Kind(), shortKey(p.key), p.db)
}

// walkStrings walks a count followed by count groups of per strings, each group followed by
// fixed bytes.
func (p *Reader) walkStrings(t Type, per int, fixed uint64) (int64, error) {
	n, err := p.readPlainLen()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		p.emptyKey(t)
	}
	// n is not trusted: each element costs at least one byte, so a lie ends at end of file.
	for range n {
		for range per {
			if _, err := p.skipString(); err != nil {
				return 0, err
			}
		}
		if fixed > 0 {
			if err := p.in.skip(fixed); err != nil {
				return 0, err
			}
		}
	}
	return int64(n), nil
}

// walkZSet walks a sorted set with scores as length-prefixed decimal strings (type 3).
func (p *Reader) walkZSet() (int64, error) {
	n, err := p.readPlainLen()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		p.emptyKey(TypeZSet)
	}
	for range n {
		if _, err := p.skipString(); err != nil {
			return 0, err
		}
		l, err := p.in.readByte()
		if err != nil {
			return 0, err
		}
		if l < 253 { // 253, 254, 255 are NaN, +inf, -inf with no digits
			if err := p.in.skip(uint64(l)); err != nil {
				return 0, err
			}
		}
	}
	return int64(n), nil
}

// walkHashMetadata walks the fields of a hash with field TTLs: per field a TTL length, the
// field and the value.
func (p *Reader) walkHashMetadata() (int64, error) {
	n, err := p.readPlainLen()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		p.emptyKey(TypeHashMetadata)
	}
	for range n {
		if err := p.skipLens(1); err != nil {
			return 0, err
		}
		for range 2 {
			if _, err := p.skipString(); err != nil {
				return 0, err
			}
		}
	}
	return int64(n), nil
}

// walkModuleOps walks module data: sub-opcodes and their operands up to the EOF sub-opcode.
func (p *Reader) walkModuleOps() error {
	for {
		off := p.in.offset()
		op, err := p.readPlainLen()
		if err != nil {
			return err
		}
		switch op {
		case moduleOpEOF:
			return nil
		case moduleOpSint, moduleOpUint:
			err = p.skipLens(1)
		case moduleOpFloat:
			err = p.in.skip(4)
		case moduleOpDouble:
			err = p.in.skip(8)
		case moduleOpString:
			_, err = p.skipString()
		default:
			return p.errf(off, "unknown module sub-opcode %d", op)
		}
		if err != nil {
			return err
		}
	}
}

// walkBlob reads one encoded blob, walks it with walk, and checks that its entries come in
// groups of per (field-value pairs, member-score pairs, field-value-TTL triples).
func (p *Reader) walkBlob(t Type, walk func([]byte) (int, *blobError), per int) (int64, error) {
	b, off, dataOff, err := p.readBlob()
	if err != nil {
		return 0, err
	}
	n, be := walk(b)
	if be != nil {
		return 0, p.blobErr(t, be, off, dataOff)
	}
	if n%per != 0 {
		return 0, p.errf(off, "%s holds %d entries, not a multiple of %d", t, n, per)
	}
	if n == 0 {
		p.emptyKey(t)
	}
	return int64(n / per), nil
}

func (p *Reader) blobErr(t Type, be *blobError, off, dataOff int64) error {
	if dataOff >= 0 {
		return p.errf(dataOff+int64(be.pos), "%s: %s", t, be.msg)
	}
	return p.errf(off, "%s (compressed, at byte %d of its expanded form): %s", t, be.pos, be.msg)
}

// walkQuicklist walks a quicklist: ziplist nodes (type 14), or PLAIN and PACKED (listpack)
// nodes (type 18).
func (p *Reader) walkQuicklist(t Type) (int64, error) {
	nodes, err := p.readPlainLen()
	if err != nil {
		return 0, err
	}
	var total int64
	for range nodes {
		container := uint64(containerPacked)
		if t == TypeListQuicklist2 {
			off := p.in.offset()
			if container, err = p.readPlainLen(); err != nil {
				return 0, err
			}
			if container != containerPlain && container != containerPacked {
				return 0, p.errf(off, "quicklist node has unknown container %d", container)
			}
		}
		if container == containerPlain {
			off := p.in.offset()
			n, err := p.skipString()
			if err != nil {
				return 0, err
			}
			if n == 0 {
				return 0, p.errf(off, "empty quicklist PLAIN node")
			}
			total++
			continue
		}
		walk := walkListpack
		if t == TypeListQuicklist {
			walk = walkZiplist
		}
		b, off, dataOff, err := p.readBlob()
		if err != nil {
			return 0, err
		}
		if len(b) == 0 {
			return 0, p.errf(off, "empty quicklist node")
		}
		n, be := walk(b)
		if be != nil {
			return 0, p.blobErr(t, be, off, dataOff)
		}
		total += int64(n) // servers skip empty nodes on load
	}
	if total == 0 {
		p.emptyKey(t)
	}
	return total, nil
}

// walkStream walks a stream: its listpack nodes, metadata, consumer groups and their PELs.
func (p *Reader) walkStream(t Type) (int64, error) {
	in := &p.in
	nodes, err := p.readPlainLen()
	if err != nil {
		return 0, err
	}
	var entries int64
	for range nodes {
		key, off, _, err := p.readBlob()
		if err != nil {
			return 0, err
		}
		if len(key) != 16 {
			return 0, p.errf(off, "stream node key is %d bytes, not 16", len(key))
		}
		b, off, dataOff, err := p.readBlob()
		if err != nil {
			return 0, err
		}
		if _, be := walkListpack(b); be != nil {
			return 0, p.blobErr(t, be, off, dataOff)
		}
		n, be := walkStreamListpack(b)
		if be != nil {
			return 0, p.blobErr(t, be, off, dataOff)
		}
		entries += n
	}
	// length, last id (ms, seq); from version 2: first id, max deleted id, entries added.
	meta := 3
	if t != TypeStreamListpacks {
		meta += 5
	}
	if err := p.skipLens(meta); err != nil {
		return 0, err
	}
	groups, err := p.readPlainLen()
	if err != nil {
		return 0, err
	}
	for range groups {
		if _, err := p.skipString(); err != nil { // group name
			return 0, err
		}
		gl := 2 // last id
		if t != TypeStreamListpacks {
			gl++ // entries read
		}
		if err := p.skipLens(gl); err != nil {
			return 0, err
		}
		pel, err := p.readPlainLen()
		if err != nil {
			return 0, err
		}
		for range pel {
			if err := in.skip(16 + 8); err != nil { // raw id, delivery time
				return 0, err
			}
			if err := p.skipLens(1); err != nil { // delivery count
				return 0, err
			}
		}
		consumers, err := p.readPlainLen()
		if err != nil {
			return 0, err
		}
		for range consumers {
			if _, err := p.skipString(); err != nil { // consumer name
				return 0, err
			}
			times := uint64(8) // seen time
			if t == TypeStreamListpacks3 {
				times += 8 // active time
			}
			if err := in.skip(times); err != nil {
				return 0, err
			}
			cpel, err := p.readPlainLen()
			if err != nil {
				return 0, err
			}
			for range cpel { // raw ids
				if err := in.skip(16); err != nil {
					return 0, err
				}
			}
		}
	}
	return entries, nil
}
