package rdb

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// writerCase is a file made by the test writer and what Verify must say about it.
type writerCase struct {
	name     string
	file     []byte
	valid    bool
	keys     int64
	types    map[Type]int64 // encodings that must appear, with their key counts
	warn     string         // a substring one warning must contain
	errIs    error          // for invalid files: the error must wrap this, when set
	errHas   string         // for invalid files: a substring of the error
	checksum string
}

func writerCases() []writerCase {
	lp := func(items ...any) []byte { return listpack(items...) }
	long := strings.Repeat("z", 300)
	node := streamNode([]string{"kind", "n"}, [][]string{
		{"kind", "a", "n", "1"}, {"kind", "b", "n", "2"}, {"other", "x"},
	}, 1)
	return []writerCase{
		{
			name: "redis 7.2: listpack set, stream listpacks 3",
			file: func() []byte {
				w := newWriter("REDIS0011").db(0)
				w.key(20, "tags").blob(lp("a", "b", 7, long))
				w.key(21, "events")
				w.stream(21, node, 2)
				w.key(21, "empty-stream").len(0)                                 // no nodes
				w.len(0).len(0).len(0).len(0).len(0).len(0).len(0).len(0).len(0) // metadata, no groups
				return w.end(true)
			}(),
			valid: true, keys: 3, checksum: ChecksumOK,
			types: map[Type]int64{TypeSetListpack: 1, TypeStreamListpacks3: 2},
		},
		{
			name: "redis 7.4: hash field TTLs (types 24, 25) and their pre-GA forms (22, 23)",
			file: func() []byte {
				w := newWriter("REDIS0012").db(0)
				w.key(25, "hfe:lp").u64(4200000000000).blob(lp("a", "1", 4200000000000, "b", "2", 0))
				w.key(24, "hfe:ht").u64(4200000000000).len(2).len(1).str("g1").str("v1").len(0).str("g2").lzf([]byte(long))
				w.key(23, "pre:lp").blob(lp("a", "1", 4200000000000))
				w.key(22, "pre:ht").len(1).len(4200000000000).str("f").str("v")
				w.byte(opSlotInfo).len(5).len(4).len(0)
				return w.end(true)
			}(),
			valid: true, keys: 4, checksum: ChecksumOK,
			types: map[Type]int64{TypeHashListpackEx: 1, TypeHashMetadata: 1, TypeHashListpackExPreGA: 1, TypeHashMetadataPreGA: 1},
		},
		{
			name: "valkey 9: VALKEY080 with HASH_2 (type 22) and SLOT_IMPORT",
			file: func() []byte {
				w := newWriter("VALKEY080")
				w.byte(opSlotImport).str(strings.Repeat("j", 40)).len(1).len(0).len(100)
				w.db(0)
				w.key(22, "h2").len(2).str("f1").str("v1").u64(^uint64(0)).str("f2").str("v2").u64(4200000000000)
				w.key(20, "s").blob(lp("x"))
				return w.end(true)
			}(),
			valid: true, keys: 2, checksum: ChecksumOK,
			types: map[Type]int64{TypeHash2: 1, TypeSetListpack: 1},
		},
		{
			name: "old encodings: zipmap, ziplists, intsets, quicklist of ziplists, linked list, zset with string scores",
			file: func() []byte {
				w := newWriter("REDIS0009").db(0)
				w.key(9, "zm").blob(zipmap("f", "v", "g", long))
				w.key(10, "zl").lzf(ziplist("a", 5, -100, 1<<40, long, strings.Repeat("y", 20000)))
				w.key(11, "is16").blob(intset(2, -5, 3, 300))
				w.key(11, "is64").blob(intset(8, -1<<40, 1<<40))
				w.key(12, "zz").blob(ziplist("m", "1.5", "n", 2))
				w.key(13, "hz").blob(ziplist("f", "v"))
				w.key(14, "ql").len(2).blob(ziplist("a", "b")).blob(ziplist(1))
				w.key(1, "ll").len(2).str("a").byte(0xc0).byte(7)
				w.key(3, "zs").len(3).str("a").byte(3).raw([]byte("1.5")).str("b").byte(254).str("c").byte(253)
				w.key(5, "z2").len(1).str("a").u64(0x3ff8000000000000)
				w.key(2, "st").len(1).str("m")
				w.key(4, "ht").len(1).str("f").str("v")
				w.key(0, "big").lzf(bytes.Repeat([]byte("q"), 5000))
				return w.end(true)
			}(),
			valid: true, keys: 13, checksum: ChecksumOK,
			types: map[Type]int64{TypeHashZipmap: 1, TypeListZiplist: 1, TypeSetIntset: 2, TypeZSetZiplist: 1,
				TypeHashZiplist: 1, TypeListQuicklist: 1, TypeList: 1, TypeZSet: 1, TypeZSet2: 1},
		},
		{
			name: "module value (type 7) and module aux, stream listpacks 1 and 2",
			file: func() []byte {
				w := newWriter("REDIS0010")
				w.byte(opModuleAux).len(12345).len(moduleOpUint).len(2).len(moduleOpString).str("x").len(moduleOpEOF)
				w.db(0)
				w.key(7, "mod").len(12345).len(moduleOpSint).len(3).len(moduleOpFloat).raw(make([]byte, 4)).
					len(moduleOpDouble).u64(0).len(moduleOpString).str("payload").len(moduleOpEOF)
				w.key(15, "s1").stream(15, node, 2)
				w.key(19, "s2").stream(19, node, 2)
				w.byte(opFunction2).str("#!lua name=x\nredis.register_function('f', function() return 1 end)")
				return w.end(true)
			}(),
			valid: true, keys: 3, checksum: ChecksumOK,
			types: map[Type]int64{TypeModule2: 1, TypeStreamListpacks: 1, TypeStreamListpacks2: 1},
		},
		{
			name:  "checksum disabled",
			file:  newWriter("REDIS0010").db(0).key(0, "k").str("v").end(false),
			valid: true, keys: 1, checksum: ChecksumDisabled,
		},
		{
			name: "empty collections are warnings",
			file: func() []byte {
				w := newWriter("REDIS0011").db(0)
				w.key(2, "emptyset").len(0)
				w.key(16, "emptyhash").blob(lp())
				return w.end(true)
			}(),
			valid: true, keys: 2, warn: `empty set key "emptyset"`, checksum: ChecksumOK,
		},
		{
			name:  "bytes after the trailer are a warning",
			file:  append(newWriter("REDIS0010").end(true), "tail"...),
			valid: true, warn: "4 bytes after the end", checksum: ChecksumOK,
		},
		// Invalid files.
		{name: "type 20 before version 11", file: newWriter("REDIS0010").db(0).key(20, "s").blob(lp("a")).end(true),
			errHas: "cannot appear in RDB version 10"},
		{name: "valkey type 22 in a redis file means pre-GA hash metadata, not HASH_2",
			file:   newWriter("REDIS0012").db(0).key(22, "h").len(1).str("f").str("v").u64(0).end(true),
			errHas: "offset"},
		{name: "redis opcode 243 is not SLOT_IMPORT", file: newWriter("REDIS0012").byte(243).str("x").len(0).end(true),
			errHas: "unknown type or opcode 243"},
		{name: "unknown version", file: newWriter("REDIS0013").end(true), errHas: "unsupported redis RDB version 13"},
		{name: "valkey 79", file: newWriter("VALKEY079").end(true), errHas: "unsupported valkey RDB version 79"},
		{name: "unknown type", file: newWriter("REDIS0011").db(0).key(30, "k").end(true), errHas: "unknown type or opcode 30"},
		{name: "valkey UPDATE opcode", file: newWriter("VALKEY081").byte(opUpdate).end(true), errIs: ErrUnsupported},
		{name: "valkey path hash", file: newWriter("VALKEY081").db(0).key(23, "p").end(true), errIs: ErrUnsupported},
		{name: "listpack count lies", file: func() []byte {
			b := lp("a", "b")
			b[4] = 3
			return newWriter("REDIS0011").db(0).key(20, "s").blob(b).end(true)
		}(), errHas: "listpack says 3 entries but has 2"},
		{name: "listpack backlen wrong", file: func() []byte {
			b := lp("a", "b")
			b[8] = 9
			return newWriter("REDIS0011").db(0).key(20, "s").blob(b).end(true)
		}(), errHas: "back-length"},
		{name: "hash listpack with an odd count", file: newWriter("REDIS0010").db(0).key(16, "h").blob(lp("a", "b", "c")).end(true),
			errHas: "not a multiple of 2"},
		{name: "hash listpack-ex not in triples", file: newWriter("REDIS0012").db(0).key(25, "h").u64(0).blob(lp("a", "b")).end(true),
			errHas: "not a multiple of 3"},
		{name: "intset out of order", file: newWriter("REDIS0009").db(0).key(11, "i").blob(intset(2, 5, 3)).end(true),
			errHas: "ascending"},
		{name: "ziplist tail wrong", file: func() []byte {
			b := ziplist("a", "b")
			b[4]++
			return newWriter("REDIS0009").db(0).key(10, "l").blob(b).end(true)
		}(), errHas: "tail offset"},
		{name: "zipmap count lies", file: func() []byte {
			b := zipmap("f", "v")
			b[0] = 2
			return newWriter("REDIS0009").db(0).key(9, "z").blob(b).end(true)
		}(), errHas: "zipmap says 2"},
		{name: "stream lp-count wrong", file: func() []byte {
			bad := listpack(1, 0, 1, "f", 0, streamItemSameField, 0, 0, "v", 7) // lp-count should be 4
			return newWriter("REDIS0011").db(0).key(21, "s").stream(21, bad, 1).end(true)
		}(), errHas: "lp-count"},
		{name: "stream master count wrong", file: func() []byte {
			bad := listpack(5, 0, 1, "f", 0, streamItemSameField, 0, 0, "v", 4)
			return newWriter("REDIS0011").db(0).key(21, "s").stream(21, bad, 1).end(true)
		}(), errHas: "says 5 entries"},
		{name: "lzf back reference before the start", file: newWriter("REDIS0010").db(0).key(0, "k").
			byte(0xc3).len(3).len(5).raw([]byte{0x60, 0x05, 0x00}).end(true), errHas: "back reference before"},
		{name: "lzf output shorter than declared", file: newWriter("REDIS0010").db(0).key(0, "k").
			byte(0xc3).len(2).len(5).raw([]byte{0x00, 'a'}).end(true), errHas: "declared 5"},
		{name: "quicklist 2 unknown container", file: newWriter("REDIS0010").db(0).key(18, "l").len(1).len(3).blob(lp("a")).end(true),
			errHas: "unknown container 3"},
		{name: "module unknown sub-opcode", file: newWriter("REDIS0010").db(0).key(7, "m").len(1).len(9).end(true),
			errHas: "unknown module sub-opcode 9"},
		{name: "pre-release module type 6", file: newWriter("REDIS0010").db(0).key(6, "m").end(true), errIs: ErrUnsupported},
		{name: "checksum mismatch", file: func() []byte {
			b := newWriter("REDIS0010").db(0).key(0, "k").str("v").end(true)
			b[len(b)-1] ^= 0x40
			return b
		}(), errIs: ErrChecksum, checksum: ChecksumMismatch},
		{name: "key larger than the limit", file: newWriter("REDIS0010").db(0).byte(0).len(1 << 40).end(true), errIs: ErrLimit},
		{name: "string length 2^62", file: newWriter("REDIS0010").db(0).key(0, "k").len(1 << 62).end(true), errIs: io.ErrUnexpectedEOF},
		{name: "list count 2^40", file: newWriter("REDIS0010").db(0).key(1, "k").len(1 << 40).str("a").b, errIs: io.ErrUnexpectedEOF},
		{name: "list count 2^40 then EOF opcode", file: newWriter("REDIS0010").db(0).key(1, "k").len(1 << 40).str("a").end(true),
			errHas: "unknown string encoding"},
		{name: "lzf bomb", file: newWriter("REDIS0010").db(0).key(0, "k").byte(0xc3).len(2).len(1 << 40).raw([]byte{0, 'a'}).end(true),
			errHas: "cannot expand"},
		{name: "blob length 2^62", file: newWriter("REDIS0010").db(0).key(16, "h").len(1 << 62).end(true), errIs: ErrLimit},
		{name: "stream PEL count 2^40", file: newWriter("REDIS0011").db(0).key(21, "s").len(0).len(0).len(0).len(0).len(0).len(0).
			len(0).len(0).len(1).str("g").len(0).len(0).len(0).len(1 << 40).b, errIs: io.ErrUnexpectedEOF},
		{name: "bad magic", file: []byte("RODIS0010\xff"), errHas: "bad magic"},
		{name: "long keys are cut in errors", file: newWriter("REDIS0010").db(0).key(1, strings.Repeat("k", 5000)).len(1).byte(0xc9).end(true),
			errHas: "... (5000 bytes)"},
		{name: "empty file", file: nil, errHas: "shorter than its 9-byte header"},
	}
}

// TestWriterFiles checks the verdicts on files the test writer makes: the encodings 7.0 cannot
// write, and hand-made damage that each check must catch.
func TestWriterFiles(t *testing.T) {
	for _, c := range writerCases() {
		t.Run(c.name, func(t *testing.T) {
			valid := c.errHas == "" && c.errIs == nil
			r := NewReader(bytes.NewReader(c.file), func(o *Options) { o.MaxBlob = 1 << 20 })
			defer r.Close()
			got := map[Type]int64{}
			var keys int64
			var err error
			for {
				var e *Entry
				if e, err = r.Next(); err != nil {
					break
				}
				keys++
				got[e.Type]++
			}
			if valid {
				if err != io.EOF {
					t.Fatalf("Next: %v, want io.EOF", err)
				}
				if keys != c.keys {
					t.Errorf("keys = %d, want %d", keys, c.keys)
				}
				for ty, n := range c.types {
					if got[ty] != n {
						t.Errorf("%s keys = %d, want %d (got %v)", ty, got[ty], n, got)
					}
				}
				if c.warn != "" && !strings.Contains(strings.Join(r.Warnings(), "\n"), c.warn) {
					t.Errorf("warnings %q lack %q", r.Warnings(), c.warn)
				}
			} else {
				var fe *Error
				if !errors.As(err, &fe) {
					t.Fatalf("Next: %v, want an *Error", err)
				}
				if c.errIs != nil && !errors.Is(err, c.errIs) {
					t.Errorf("error %v does not wrap %v", err, c.errIs)
				}
				if c.errHas != "" && !strings.Contains(err.Error(), c.errHas) {
					t.Errorf("error %q lacks %q", err, c.errHas)
				}
				if fe.Offset < 0 || fe.Offset > int64(len(c.file)) {
					t.Errorf("offset %d outside the file of %d bytes", fe.Offset, len(c.file))
				}
			}
			if c.checksum != "" && r.Checksum() != c.checksum {
				t.Errorf("checksum = %q, want %q", r.Checksum(), c.checksum)
			}
		})
	}
}

// TestLZFEncodeRoundTrip keeps the test writer honest: what it compresses expands back.
func TestLZFEncodeRoundTrip(t *testing.T) {
	for _, in := range [][]byte{
		[]byte("a"), []byte("abcd"), bytes.Repeat([]byte("x"), 1000),
		append(bytes.Repeat([]byte("a"), 266), "bcdefgh12345678901234567890123456789012345"...),
	} {
		c := lzfEncode(in)
		out := make([]byte, len(in))
		if err := lzfDecompress(out, c); err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip of %d bytes: %v", len(in), err)
		}
		if err := lzfCheck(c, uint64(len(in))); err != nil {
			t.Fatalf("lzfCheck of %d bytes: %v", len(in), err)
		}
	}
}
