package mcdump

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 7, 0, 0, 123456789, time.UTC)

type item struct {
	rec   Record
	value []byte
}

func sample() []item {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	return []item{
		{Record{Key: "plain", Flags: 5, Expiry: t0.Unix() + 100, CAS: 1}, []byte("hello")},
		{Record{Key: "empty", Flags: 0}, nil},
		{Record{Key: "binary\x01key with space", Flags: 0xffffffff, CAS: 1<<64 - 1}, all},
		{Record{Key: strings.Repeat("k", MaxKey), Expiry: t0.Unix() + 40*24*3600}, bytes.Repeat([]byte("big"), 400_000)},
	}
}

// dump writes items and returns the object bytes; vanished is recorded in the trailer.
func dump(t testing.TB, items []item, vanished int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Node: "node-0001", Created: t0})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := w.Add(it.rec, it.value); err != nil {
			t.Fatal(err)
		}
	}
	w.AddVanished(vanished)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func regzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// fixCRC rewrites the trailer's CRC of a decompressed dump so that edits before it survive the
// checksum and reach the checks behind it.
func fixCRC(raw []byte) []byte {
	out := append([]byte(nil), raw...)
	n := len(out) - 8
	binary.BigEndian.PutUint64(out[n:], crc64.Checksum(out[:n], crcTable))
	return out
}

func TestRoundTrip(t *testing.T) {
	items := sample()
	obj := dump(t, items, 3)
	r := NewReader(bytes.NewReader(obj))
	defer r.Close()
	h, err := r.Header()
	if err != nil {
		t.Fatal(err)
	}
	if h.Format != Format || h.Node != "node-0001" || !h.Created.Equal(t0) {
		t.Fatalf("header %+v", h)
	}
	for i, want := range items {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		w := want.rec
		w.Size = int64(len(want.value))
		if *rec != w || !bytes.Equal(got, want.value) {
			t.Fatalf("record %d: got %+v (%d bytes), want %+v (%d bytes)", i, *rec, len(got), w, len(want.value))
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	if tr := r.Trailer(); tr.Records != 4 || tr.Expires != 2 || tr.Vanished != 3 {
		t.Fatalf("trailer %+v", tr)
	}

	rep, err := Verify(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(obj)
	if !rep.Valid || rep.Checksum != ChecksumOK || rep.Keys != 4 || rep.Expires != 2 || rep.Vanished != 3 ||
		rep.Bytes != int64(len(obj)) || rep.SHA256 != hex.EncodeToString(sum[:]) || len(rep.Warnings) != 1 {
		t.Fatalf("report %+v", rep)
	}
}

func TestSkipValues(t *testing.T) {
	obj := dump(t, sample(), 0)
	r := NewReader(bytes.NewReader(obj))
	var keys []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, rec.Key)
		if rec.Key == "binary\x01key with space" {
			var b [3]byte // read part of a value, leave the rest to Next
			if _, err := io.ReadFull(r, b[:]); err != nil || b != [3]byte{0, 1, 2} {
				t.Fatalf("partial read %v %v", b, err)
			}
		}
	}
	if len(keys) != 4 {
		t.Fatalf("keys %q", keys)
	}
}

func TestWriterMisuse(t *testing.T) {
	var buf bytes.Buffer
	if _, err := NewWriter(&buf, Header{Node: "n"}); err == nil {
		t.Error("zero Created accepted")
	}
	if _, err := NewWriter(&buf, Header{Node: strings.Repeat("n", 256), Created: t0}); err == nil {
		t.Error("long node accepted")
	}
	w, err := NewWriter(&buf, Header{Node: "n", Created: t0}, func(o *WriterOptions) { o.MaxValue = 10 })
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []Record{{Key: ""}, {Key: strings.Repeat("k", MaxKey+1)}, {Key: "k", Size: 11}, {Key: "k", Expiry: -1}} {
		if err := w.WriteRecord(rec); err == nil {
			t.Errorf("%+v accepted", rec)
		}
	}
	if err := w.WriteRecord(Record{Key: "k", Size: 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("12345")); err == nil {
		t.Error("overlong value accepted")
	}
	if err := w.WriteRecord(Record{Key: "j"}); err == nil {
		t.Error("next record before the value was complete")
	}
	if err := w.Close(); err == nil {
		t.Error("close with a short value succeeded")
	}
	if err := w.Add(Record{Key: "x"}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
	// What was written has no trailer.
	if rep, _ := Verify(bytes.NewReader(buf.Bytes())); rep.Valid {
		t.Error("a dump closed short verified")
	}
}

func TestAbortIsIncomplete(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Node: "n", Created: t0})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := w.Add(Record{Key: fmt.Sprint("k", i)}, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || !rep.Incomplete || rep.Keys != 10 || rep.Checksum != "" || !strings.Contains(rep.Error, "incomplete") {
		t.Fatalf("report %+v", rep)
	}
}

func TestDamage(t *testing.T) {
	good := dump(t, sample()[:3], 0)
	raw := gunzip(t, good)
	recStart := len(Magic) + 1 + len(Format) + 1 + len("node-0001") + 8
	flip := func(at int, mask byte, fix bool) []byte {
		b := append([]byte(nil), raw...)
		b[at] ^= mask
		if fix {
			b = fixCRC(b)
		}
		return regzip(b)
	}
	setU32 := func(at int, v uint32) []byte {
		b := append([]byte(nil), raw...)
		binary.BigEndian.PutUint32(b[at:], v)
		return regzip(fixCRC(b))
	}
	cases := []struct {
		name string
		obj  []byte
		want string
		is   error
	}{
		{"empty", nil, "gzip header", io.ErrUnexpectedEOF},
		{"not gzip", []byte("REDIS0011...."), "not a cacheport", ErrNotDump},
		{"bad magic", regzip([]byte("CPMCDUMX\x15cacheport-memcached/1")), "magic", ErrNotDump},
		{"other version", regzip(append([]byte(Magic+"\x15"), "cacheport-memcached/9"...)), "unsupported format", nil},
		{"value bit flip", flip(len(raw)-60, 0x10, false), "crc-64 mismatch", ErrChecksum},
		{"key bit flip", flip(recStart+1+recordHead, 0x01, false), "crc-64 mismatch", ErrChecksum},
		{"trailer count", flip(len(raw)-40+7, 0x01, true), "trailer counts", nil},
		{"unknown tag", flip(recStart, 0xff, true), "unknown record tag", nil},
		{"zero key length", flip(recStart+1, raw[recStart+1], true), "empty key", nil},
		{"key length 251", flip(recStart+1, raw[recStart+1]^251, true), "exceeds 250", nil},
		{"value length bomb", setU32(recStart+1+1+4+8+8, 1<<31), "exceeds the limit", nil},
		{"value past the end", setU32(recStart+1+1+4+8+8, 1<<20), "", io.ErrUnexpectedEOF},
		{"after trailer", regzip(append(append([]byte(nil), raw...), 0)), "data after the trailer", nil},
		{"after gzip member", append(append([]byte(nil), good...), good...), "bytes after the end", nil},
		{"gzip crc", func() []byte { b := append([]byte(nil), good...); b[len(b)-6] ^= 1; return b }(), "checksum", gzip.ErrChecksum},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Verify(bytes.NewReader(c.obj))
			if err != nil {
				t.Fatalf("io error %v", err)
			}
			if rep.Valid || rep.Error == "" || rep.Offset == nil || !strings.Contains(rep.Error, c.want) {
				t.Fatalf("report %+v, want error containing %q", rep, c.want)
			}
			if rep.Bytes != int64(len(c.obj)) {
				t.Errorf("bytes %d, object %d", rep.Bytes, len(c.obj))
			}
			if c.is != nil {
				r := NewReader(bytes.NewReader(c.obj))
				var err error
				for err == nil {
					_, err = r.Next()
				}
				if !errors.Is(err, c.is) {
					t.Errorf("error %v is not %v", err, c.is)
				}
			}
		})
	}
}

func TestTruncatedEverywhere(t *testing.T) {
	obj := dump(t, sample()[:3], 0)
	for n := 0; n < len(obj); n++ {
		rep, err := Verify(bytes.NewReader(obj[:n]))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Valid {
			t.Fatalf("truncated at %d of %d verified", n, len(obj))
		}
	}
}

func TestValueBombAllocates(t *testing.T) {
	raw := gunzip(t, dump(t, sample()[:1], 0))
	at := len(Magic) + 1 + len(Format) + 1 + len("node-0001") + 8 + 1 + 1 + 4 + 8 + 8
	binary.BigEndian.PutUint32(raw[at:], 1<<31-1)
	obj := regzip(raw[:at+4+10])
	allocs := testing.AllocsPerRun(5, func() {
		r := NewReader(bytes.NewReader(obj), func(o *Options) { o.MaxValue = 1 << 31 })
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	})
	// Buffers and gzip state only: a handful of allocations, none sized by the bomb.
	if allocs > 40 {
		t.Fatalf("%v allocations", allocs)
	}
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestReadErrorIsNotDamage(t *testing.T) {
	obj := dump(t, sample(), 0)
	boom := errors.New("connection reset")
	_, err := Verify(&failingReader{r: bytes.NewReader(obj[:len(obj)/2]), err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}

func TestTTL(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		exp     int64
		ttl     int64
		expired bool
	}{
		{0, 0, false},
		{now.Unix() - 1, 0, true},
		{now.Unix(), 0, true},
		{now.Unix() + 10, 10, false},
		{now.Unix() + memcachedRelativeMax, memcachedRelativeMax, false},
		{now.Unix() + memcachedRelativeMax + 1, now.Unix() + memcachedRelativeMax + 1, false},
	} {
		r := Record{Expiry: c.exp}
		if ttl, exp := r.TTL(now); ttl != c.ttl || exp != c.expired {
			t.Errorf("expiry %d: got %d %v, want %d %v", c.exp, ttl, exp, c.ttl, c.expired)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add(dump(f, sample()[:3], 2))
	f.Add(regzip(append([]byte(Magic+"\x15"+Format+"\x01n"), make([]byte, 8)...)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, obj []byte) {
		rep, err := Verify(bytes.NewReader(obj), func(o *Options) { o.MaxValue = 1 << 20 })
		if err != nil {
			t.Fatal(err)
		}
		if rep.Bytes != int64(len(obj)) {
			t.Fatalf("bytes %d of %d", rep.Bytes, len(obj))
		}
		if rep.Valid != (rep.Error == "") {
			t.Fatalf("valid %v with error %q", rep.Valid, rep.Error)
		}
		// Raw decompressed input reaches the parser too.
		r := NewReader(bytes.NewReader(regzip(obj)))
		for i := 0; i < 1e6; i++ {
			if _, err := r.Next(); err != nil {
				var fe *Error
				if !errors.As(err, &fe) && err != io.EOF {
					t.Fatalf("error of type %T: %v", err, err)
				}
				return
			}
			_, _ = io.Copy(io.Discard, r)
		}
	})
}
