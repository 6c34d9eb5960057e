package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// DefaultMaxBlob is the default cap on anything the reader must hold whole (see Options).
const DefaultMaxBlob = 16 << 20

// defaultMaxWarnings is how many warnings a Reader keeps before it only counts them.
const defaultMaxWarnings = 100

// Options tunes a Reader. Options never change what counts as valid, except MaxBlob: a key or
// encoded blob larger than it is reported as an error wrapping ErrLimit.
type Options struct {
	// MaxBlob caps the bytes of a key, of an encoded blob (ziplist, listpack, intset, zipmap,
	// stream node), and of the compressed and expanded forms of an LZF-compressed one; memory
	// stays bounded by about twice this plus 4 MiB of read buffers. Plain string values are
	// never held, whatever their size. Default DefaultMaxBlob.
	MaxBlob int
	// MaxWarnings caps the warnings kept (more are counted); default 100.
	MaxWarnings int
}

// Errors a Reader's errors may wrap (test them with errors.Is).
var (
	// ErrChecksum means the CRC-64 trailer does not match the file.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrLimit means the file asks the reader to hold more than Options.MaxBlob bytes at once.
	ErrLimit = errors.New("exceeds the reader's size limit")
	// ErrUnsupported means a construct that is valid but that the reader cannot walk (a
	// pre-release module or function format, a Valkey 9.2 path hash or UPDATE opcode).
	ErrUnsupported = errors.New("not supported")
)

// Error is a problem found in an RDB file: the byte offset where it was found and, when it is
// inside a key's value, the database and key. A truncated file gives an Error wrapping
// io.ErrUnexpectedEOF. Errors from the underlying io.Reader are not *Error.
type Error struct {
	Offset int64
	DB     int
	Key    string // empty when the problem is not inside a key; long keys are cut
	InKey  bool   // whether DB and Key are known
	Err    error
}

// Error formats the problem as "rdb: offset N[, db D key "K"]: problem".
func (e *Error) Error() string {
	if e.InKey {
		return fmt.Sprintf("rdb: offset %d, db %d key %q: %v", e.Offset, e.DB, e.Key, e.Err)
	}
	return fmt.Sprintf("rdb: offset %d: %v", e.Offset, e.Err)
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// Header is what the first nine bytes of a file say.
type Header struct {
	Dialect Dialect
	Version int
}

// Checksum states of a file's CRC-64 trailer.
const (
	ChecksumOK       = "ok"
	ChecksumMismatch = "mismatch"
	ChecksumDisabled = "disabled" // a zero trailer: written with rdbchecksum no
	ChecksumNone     = "none"     // versions before 5 have no trailer
)

// Entry is one key of the file. Key is valid until the next call to Next; the value has
// already been walked and validated, but is not kept.
type Entry struct {
	DB        int
	Key       []byte
	Type      Type
	TypeByte  byte  // the type byte as written; its meaning depends on the dialect
	Expiry    int64 // Unix time in milliseconds, when HasExpiry
	HasExpiry bool
	Len       int64 // elements: list items, set members, hash fields, stream entries; 1 for a string
	Offset    int64 // offset of the type byte
}

// Reader reads the keys of an RDB file in order, like archive/tar.Reader. Each call to Next
// walks and validates one value; CRC-64 and SHA-256 of the bytes are computed on another
// goroutine as the file streams in. Errors are sticky. A Reader is not safe for concurrent
// use; call Close if you stop before Next returns io.EOF or an error.
type Reader struct {
	in   input
	opts Options

	hdr     Header
	started bool
	resumed bool  // made by NewReaderAt: the header is known, skip bytes are to be hashed
	skip    int64 // bytes a resumed Reader hashes but does not parse
	err     error
	ended   bool

	db        int
	entry     Entry
	key       []byte
	inKey     bool
	scratch   []byte
	out       []byte
	warnings  []string
	nwarn     int
	functions int

	checksum string
	sha      [32]byte
	size     int64
}

// NewReader returns a Reader over r. The optional functions adjust the default Options.
func NewReader(r io.Reader, optFns ...func(*Options)) *Reader {
	p := &Reader{opts: readerOptions(optFns)}
	p.in.init(r)
	return p
}

func readerOptions(optFns []func(*Options)) Options {
	o := Options{MaxBlob: DefaultMaxBlob, MaxWarnings: defaultMaxWarnings}
	for _, f := range optFns {
		f(&o)
	}
	if o.MaxBlob <= 0 {
		o.MaxBlob = DefaultMaxBlob
	}
	return o
}

// Header returns the dialect and version; it is zero until the first call to Next.
func (p *Reader) Header() Header { return p.hdr }

// Warnings returns what the file holds that a server never writes but would load (such as
// empty collections), up to Options.MaxWarnings, then a line counting the rest.
func (p *Reader) Warnings() []string {
	w := append([]string(nil), p.warnings...)
	if p.nwarn > len(p.warnings) {
		w = append(w, fmt.Sprintf("%d more warnings", p.nwarn-len(p.warnings)))
	}
	return w
}

// Functions returns how many function libraries the file held.
func (p *Reader) Functions() int { return p.functions }

// Checksum returns the state of the CRC-64 trailer (ChecksumOK, ...) once Next has returned
// io.EOF or ErrChecksum; it is empty before.
func (p *Reader) Checksum() string { return p.checksum }

// Sum returns the SHA-256 and size of every byte read, once the file has been read to its end
// (Next returned io.EOF, or Close after an error drained it).
func (p *Reader) Sum() (sha [32]byte, size int64) { return p.sha, p.size }

// Close stops the hashing goroutine. After an *Error it first reads the rest of the input so
// that Sum covers the whole file; it returns a read error met while doing so.
func (p *Reader) Close() error {
	var err error
	if !p.ended {
		var fe *Error
		if errors.As(p.err, &fe) {
			err = p.in.drain()
		}
		p.finish()
	}
	if p.err == nil {
		p.err = errors.New("rdb: reader closed")
	}
	return err
}

func (p *Reader) finish() {
	h := p.in.finish()
	p.ended = true
	copy(p.sha[:], h.digest.Sum(nil))
	p.size = h.total
}

func (p *Reader) warn(format string, a ...any) {
	p.nwarn++
	if len(p.warnings) < p.opts.MaxWarnings {
		p.warnings = append(p.warnings, fmt.Sprintf(format, a...))
	}
}

// errf returns a format error at off, naming the current key when inside one.
func (p *Reader) errf(off int64, format string, a ...any) error {
	return p.errAt(off, fmt.Errorf(format, a...))
}

func (p *Reader) errAt(off int64, err error) error {
	e := &Error{Offset: off, Err: err}
	if p.inKey {
		e.InKey, e.DB, e.Key = true, p.db, shortKey(p.key)
	}
	return e
}

// maxKeyInMessage caps how much of a key an error or warning quotes.
const maxKeyInMessage = 200

// shortKey returns the key for a message, cut to maxKeyInMessage bytes.
func shortKey(k []byte) string {
	if len(k) > maxKeyInMessage {
		return fmt.Sprintf("%s... (%d bytes)", k[:maxKeyInMessage], len(k))
	}
	return string(k)
}

// fail makes err sticky, turning end of input and read errors into their final form.
func (p *Reader) fail(err error) error {
	var fe *Error
	switch {
	case errors.As(err, &fe):
	case p.in.rerr != nil && errors.Is(err, p.in.rerr):
		err = fmt.Errorf("rdb: read at offset %d: %w", p.in.base+int64(len(p.in.buf)), err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = p.errAt(p.in.base+int64(len(p.in.buf)), io.ErrUnexpectedEOF)
	default:
		err = p.errAt(p.in.offset(), err)
	}
	p.err = err
	return err
}

// Next walks to the next key and returns it, or io.EOF after the EOF opcode and a trailer that
// matches. The returned Entry is reused by the next call.
func (p *Reader) Next() (*Entry, error) {
	if p.err != nil {
		return nil, p.err
	}
	p.inKey = false
	if !p.started {
		p.started = true
		var err error
		if p.resumed {
			err = p.in.skipUnhashed(p.skip)
		} else {
			err = p.readHeader()
		}
		if err != nil {
			return nil, p.fail(err)
		}
	}
	e, err := p.next()
	if err != nil {
		return nil, p.fail(err)
	}
	if e == nil {
		p.err = io.EOF
		return nil, io.EOF
	}
	return e, nil
}

func (p *Reader) readHeader() error {
	b, err := p.in.next(9)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return p.errAt(0, fmt.Errorf("not an RDB file: shorter than its 9-byte header: %w", io.ErrUnexpectedEOF))
		}
		return err
	}
	digits := func(s []byte) (int, bool) {
		v := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	var d Dialect
	var v int
	var ok bool
	switch {
	case string(b[:5]) == "REDIS":
		d = DialectRedis
		v, ok = digits(b[5:])
	case string(b[:6]) == "VALKEY":
		d = DialectValkey
		v, ok = digits(b[6:])
	}
	if d == 0 || !ok {
		return p.errf(0, "not an RDB file: bad magic %q", b)
	}
	if !supportedVersion(d, v) {
		return p.errf(5, "unsupported %s RDB version %d (header %q)", d, v, b)
	}
	p.hdr = Header{Dialect: d, Version: v}
	return nil
}

// next reads opcodes up to and including one key, or the end of the file (nil, nil).
func (p *Reader) next() (*Entry, error) {
	in := &p.in
	var expiry int64
	hasExpiry := false
	types := typeTable(p.hdr.Dialect)
	for {
		off := in.offset()
		t, err := in.readByte()
		if err != nil {
			return nil, err
		}
		if ts := types[t]; ts.t != TypeInvalid {
			if p.hdr.Version < ts.since {
				return nil, p.errf(off, "type %d (%s) cannot appear in RDB version %d", t, ts.t, p.hdr.Version)
			}
			e := &p.entry
			*e = Entry{DB: p.db, Type: ts.t, TypeByte: t, Expiry: expiry, HasExpiry: hasExpiry, Offset: off}
			if err := p.readKey(); err != nil {
				return nil, err
			}
			p.inKey = true
			e.Key = p.key
			n, err := p.walkValue(ts.t)
			if err != nil {
				return nil, err
			}
			e.Len = n
			return e, nil
		}
		since := opcodeSince(p.hdr.Dialect, t)
		if since == 0 || p.hdr.Version < since {
			return nil, p.errf(off, "unknown type or opcode %d in %s RDB version %d", t, p.hdr.Dialect, p.hdr.Version)
		}
		switch t {
		case opEOF:
			return nil, p.readTrailer()
		case opSelectDB:
			db, err := p.readPlainLen()
			if err != nil {
				return nil, err
			}
			if db > 1<<31-1 {
				return nil, p.errf(off, "database number %d out of range", db)
			}
			p.db = int(db)
		case opResizeDB:
			if err := p.skipLens(2); err != nil {
				return nil, err
			}
		case opSlotInfo:
			if err := p.skipLens(3); err != nil {
				return nil, err
			}
		case opExpireTimeMS:
			b, err := in.next(8)
			if err != nil {
				return nil, err
			}
			expiry, hasExpiry = int64(binary.LittleEndian.Uint64(b)), true
		case opExpireTime:
			b, err := in.next(4)
			if err != nil {
				return nil, err
			}
			expiry, hasExpiry = int64(int32(binary.LittleEndian.Uint32(b)))*1000, true
		case opIdle:
			if err := p.skipLens(1); err != nil {
				return nil, err
			}
		case opFreq:
			if err := in.skip(1); err != nil {
				return nil, err
			}
		case opAux:
			for range 2 {
				if _, err := p.skipString(); err != nil {
					return nil, err
				}
			}
		case opModuleAux:
			if err := p.skipLens(1); err != nil { // module id
				return nil, err
			}
			whenOp, err := p.readPlainLen()
			if err != nil {
				return nil, err
			}
			if whenOp != moduleOpUint {
				return nil, p.errf(off, "module aux data has bad when-opcode %d", whenOp)
			}
			if err := p.skipLens(1); err != nil {
				return nil, err
			}
			if err := p.walkModuleOps(); err != nil {
				return nil, err
			}
		case opFunction2:
			if _, err := p.skipString(); err != nil {
				return nil, err
			}
			p.functions++
		case opFunctionPreGA:
			return nil, p.errAt(off, fmt.Errorf("pre-release function format (opcode 246): %w", ErrUnsupported))
		case opSlotImport:
			if _, err := p.skipString(); err != nil { // job name
				return nil, err
			}
			n, err := p.readPlainLen()
			if err != nil {
				return nil, err
			}
			for range n {
				if err := p.skipLens(2); err != nil {
					return nil, err
				}
			}
		case opUpdate:
			return nil, p.errAt(off, fmt.Errorf("valkey UPDATE opcode 242: %w", ErrUnsupported))
		}
	}
}

func (p *Reader) readTrailer() error {
	in := &p.in
	in.cutCRC()
	if p.hdr.Version < 5 {
		p.checksum = ChecksumNone
		return p.readTail()
	}
	off := in.offset()
	b, err := in.next(8)
	if err != nil {
		return err
	}
	want := binary.LittleEndian.Uint64(b)
	if err := p.readTail(); err != nil {
		return err
	}
	switch {
	case want == 0:
		p.checksum = ChecksumDisabled
	case want == p.in.h.sum:
		p.checksum = ChecksumOK
	default:
		p.checksum = ChecksumMismatch
		return p.errAt(off, fmt.Errorf("%w: trailer %016x, computed %016x", ErrChecksum, want, p.in.h.sum))
	}
	return nil
}

// readTail reads whatever follows the end of the RDB data (servers ignore it; a warning says
// how much there was) and stops the hasher.
func (p *Reader) readTail() error {
	in := &p.in
	end := in.offset()
	if err := in.drain(); err != nil {
		return err
	}
	p.finish()
	if extra := p.size - end; extra > 0 {
		p.warn("%d bytes after the end of the RDB data at offset %d (servers ignore them)", extra, end)
	}
	return nil
}

// readLen reads a length. When enc is true the value is a special string encoding number.
func (p *Reader) readLen() (v uint64, enc bool, err error) {
	in := &p.in
	if in.avail() < 9 {
		return p.readLenSlow()
	}
	b := in.buf[in.pos:]
	switch b[0] >> 6 {
	case 0:
		in.pos++
		return uint64(b[0] & 0x3f), false, nil
	case 1:
		in.pos += 2
		return uint64(b[0]&0x3f)<<8 | uint64(b[1]), false, nil
	case 3:
		in.pos++
		return uint64(b[0] & 0x3f), true, nil
	}
	switch b[0] {
	case 0x80:
		in.pos += 5
		return uint64(binary.BigEndian.Uint32(b[1:])), false, nil
	case 0x81:
		in.pos += 9
		return binary.BigEndian.Uint64(b[1:]), false, nil
	}
	return 0, false, p.errf(in.offset(), "invalid length byte 0x%02x", b[0])
}

func (p *Reader) readLenSlow() (uint64, bool, error) {
	in := &p.in
	off := in.offset()
	c, err := in.readByte()
	if err != nil {
		return 0, false, err
	}
	switch c >> 6 {
	case 0:
		return uint64(c & 0x3f), false, nil
	case 1:
		d, err := in.readByte()
		return uint64(c&0x3f)<<8 | uint64(d), false, err
	case 3:
		return uint64(c & 0x3f), true, nil
	}
	switch c {
	case 0x80:
		b, err := in.next(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(b)), false, nil
	case 0x81:
		b, err := in.next(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(b), false, nil
	}
	return 0, false, p.errf(off, "invalid length byte 0x%02x", c)
}

// readPlainLen reads a length that must not be a string encoding.
func (p *Reader) readPlainLen() (uint64, error) {
	off := p.in.offset()
	n, enc, err := p.readLen()
	if err == nil && enc {
		err = p.errf(off, "string encoding where a length was expected")
	}
	return n, err
}

func (p *Reader) skipLens(n int) error {
	for range n {
		if _, err := p.readPlainLen(); err != nil {
			return err
		}
	}
	return nil
}

// skipString walks a string without keeping it and returns its length (its expanded length
// when LZF-compressed).
func (p *Reader) skipString() (uint64, error) {
	in := &p.in
	off := in.offset()
	n, enc, err := p.readLen()
	if err != nil {
		return 0, err
	}
	if !enc {
		if n <= uint64(in.avail()) {
			in.pos += int(n)
			return n, nil
		}
		return n, in.skip(n)
	}
	switch n {
	case encInt8:
		return 1, in.skip(1)
	case encInt16:
		return 2, in.skip(2)
	case encInt32:
		return 4, in.skip(4)
	case encLZF:
		return p.checkLZF(off)
	}
	return 0, p.errf(off, "unknown string encoding %d", n)
}

// String encodings (a length byte 11xxxxxx).
const (
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// lzfLens reads and sanity-checks the two lengths of an LZF string.
func (p *Reader) lzfLens(off int64) (clen, ulen uint64, err error) {
	if clen, err = p.readPlainLen(); err != nil {
		return
	}
	if ulen, err = p.readPlainLen(); err != nil {
		return
	}
	if clen == 0 || ulen == 0 {
		return 0, 0, p.errf(off, "lzf string with a zero length (compressed %d, expanded %d)", clen, ulen)
	}
	// One 3-byte back reference expands to at most 264 bytes: anything beyond is a lie.
	if ulen/88 > clen {
		return 0, 0, p.errf(off, "lzf string cannot expand %d bytes to %d", clen, ulen)
	}
	return clen, ulen, nil
}

// checkLZF validates an LZF string without expanding it.
func (p *Reader) checkLZF(off int64) (uint64, error) {
	in := &p.in
	clen, ulen, err := p.lzfLens(off)
	if err != nil {
		return 0, err
	}
	dataOff := in.offset()
	if clen <= maxContig {
		b, err := in.next(int(clen))
		if err != nil {
			return 0, err
		}
		if be := lzfCheck(b, ulen); be != nil {
			return 0, p.errf(dataOff+int64(be.pos), "%s", be.msg)
		}
		return ulen, nil
	}
	return ulen, p.checkLZFStream(clen, ulen)
}

// checkLZFStream is checkLZF for compressed strings larger than a read buffer.
func (p *Reader) checkLZFStream(clen, ulen uint64) error {
	in := &p.in
	var out uint64
	take := func() (byte, error) {
		if clen == 0 {
			return 0, p.errf(in.offset(), "lzf back reference truncated")
		}
		clen--
		return in.readByte()
	}
	for clen > 0 {
		off := in.offset()
		c, err := take()
		if err != nil {
			return err
		}
		if c < 32 {
			lit := uint64(c) + 1
			if lit > clen {
				return p.errf(off, "lzf literal run of %d bytes past the end of the compressed data", lit)
			}
			if err := in.skip(lit); err != nil {
				return err
			}
			clen -= lit
			out += lit
		} else {
			l := uint64(c >> 5)
			if l == 7 {
				x, err := take()
				if err != nil {
					return err
				}
				l += uint64(x)
			}
			lo, err := take()
			if err != nil {
				return err
			}
			if uint64(c&31)<<8|uint64(lo) >= out {
				return p.errf(off, "lzf back reference before the start of the output")
			}
			out += l + 2
		}
		if out > ulen {
			return p.errf(off, "lzf output exceeds the declared %d bytes", ulen)
		}
	}
	if out != ulen {
		return p.errf(in.offset(), "lzf output is %d bytes, declared %d", out, ulen)
	}
	return nil
}

// readBlob reads a whole string: straight from the read buffer when it fits (valid until the
// next read), else into a scratch buffer that grows only as bytes arrive. LZF strings are
// expanded into p.out. dataOff is the file offset of the blob's first byte, or -1 when the
// blob was expanded (errors inside it are then reported at off, the string's start).
func (p *Reader) readBlob() (b []byte, off, dataOff int64, err error) {
	in := &p.in
	limit := uint64(p.opts.MaxBlob)
	off = in.offset()
	n, enc, err := p.readLen()
	if err != nil {
		return nil, off, -1, err
	}
	if !enc {
		if n > limit {
			return nil, off, -1, p.errAt(off, fmt.Errorf("string of %d bytes: %w (%d)", n, ErrLimit, limit))
		}
		dataOff = in.offset()
		b, err = p.stage(int(n))
		return b, off, dataOff, err
	}
	switch n {
	case encInt8, encInt16, encInt32:
		size := 1 << n
		raw, err := in.next(size)
		if err != nil {
			return nil, off, -1, err
		}
		var v int64
		switch n {
		case encInt8:
			v = int64(int8(raw[0]))
		case encInt16:
			v = int64(int16(binary.LittleEndian.Uint16(raw)))
		default:
			v = int64(int32(binary.LittleEndian.Uint32(raw)))
		}
		p.out = strconv.AppendInt(p.out[:0], v, 10)
		return p.out, off, -1, nil
	case encLZF:
		clen, ulen, err := p.lzfLens(off)
		if err != nil {
			return nil, off, -1, err
		}
		if clen > limit || ulen > limit {
			return nil, off, -1, p.errAt(off, fmt.Errorf("lzf string of %d bytes (%d compressed): %w (%d)", ulen, clen, ErrLimit, limit))
		}
		dataOff = in.offset()
		src, err := p.stage(int(clen))
		if err != nil {
			return nil, off, -1, err
		}
		// The output is allocated only now that the compressed bytes have arrived.
		if uint64(cap(p.out)) < ulen {
			p.out = make([]byte, ulen)
		}
		p.out = p.out[:ulen]
		if be := lzfDecompress(p.out, src); be != nil {
			return nil, off, -1, p.errf(dataOff+int64(be.pos), "%s", be.msg)
		}
		return p.out, off, -1, nil
	}
	return nil, off, -1, p.errf(off, "unknown string encoding %d", n)
}

// stage returns the next n bytes contiguously.
func (p *Reader) stage(n int) ([]byte, error) {
	in := &p.in
	if n <= maxContig {
		return in.next(n)
	}
	p.scratch = p.scratch[:0]
	for len(p.scratch) < n {
		if in.avail() == 0 {
			if err := in.fill(1); err != nil {
				return nil, err
			}
		}
		k := min(in.avail(), n-len(p.scratch))
		p.scratch = append(p.scratch, in.buf[in.pos:in.pos+k]...)
		in.pos += k
	}
	return p.scratch, nil
}

// readKey reads the key of an entry into p.key.
func (p *Reader) readKey() error {
	b, _, _, err := p.readBlob()
	if err != nil {
		return err
	}
	p.key = append(p.key[:0], b...)
	return nil
}
