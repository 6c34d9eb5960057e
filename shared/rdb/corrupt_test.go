package rdb

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"github.com/cacheport/cacheport/internal/testenv"
)

// damageBases returns checksummed files to damage: the valid writer-made files, and a file
// from a real redis-server when one is installed.
func damageBases(t *testing.T) map[string][]byte {
	bases := map[string][]byte{}
	for _, c := range writerCases() {
		if c.errHas == "" && c.errIs == nil && c.checksum == ChecksumOK && c.warn == "" {
			bases[c.name] = c.file
		}
	}
	if testenv.InCI() || hasRedis() {
		r := testenv.StartRedis(t)
		populate(t, r)
		data, err := os.ReadFile(r.Save(t))
		if err != nil {
			t.Fatal(err)
		}
		bases["redis-server 7.0"] = data
	}
	return bases
}

func hasRedis() bool {
	_, err := os.Stat("/usr/bin/redis-server")
	return err == nil
}

// offsets returns up to n offsets spread over [from, size).
func offsets(from, size, n int) []int {
	if size-from <= n {
		var all []int
		for i := from; i < size; i++ {
			all = append(all, i)
		}
		return all
	}
	out := make([]int, 0, n)
	for i := range n {
		out = append(out, from+int(int64(i)*int64(size-from)/int64(n)))
	}
	return out
}

// TestBitFlips flips one bit at many offsets of checksummed files: every variant must be
// reported invalid (structure or checksum), never valid, never a panic.
func TestBitFlips(t *testing.T) {
	for name, base := range damageBases(t) {
		t.Run(name, func(t *testing.T) {
			for _, off := range offsets(0, len(base), 1500) {
				b := bytes.Clone(base)
				b[off] ^= 1 << (off % 8)
				rep, err := Verify(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("flip at %d: Verify error %v", off, err)
				}
				if rep.Valid {
					t.Fatalf("flip at %d (bit %d): reported valid", off, off%8)
				}
				if rep.Offset == nil || *rep.Offset > int64(len(b)) {
					t.Fatalf("flip at %d: bad offset in %s", off, rep.Error)
				}
			}
		})
	}
}

// TestTruncation cuts files at many offsets: each cut must be an error wrapping
// io.ErrUnexpectedEOF, never success.
func TestTruncation(t *testing.T) {
	for name, base := range damageBases(t) {
		t.Run(name, func(t *testing.T) {
			for _, cut := range offsets(0, len(base), 1500) {
				r := NewReader(bytes.NewReader(base[:cut]))
				var err error
				for err == nil {
					_, err = r.Next()
				}
				r.Close()
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("cut at %d of %d: %v, want io.ErrUnexpectedEOF", cut, len(base), err)
				}
				var fe *Error
				if !errors.As(err, &fe) || fe.Offset != int64(cut) && cut >= 9 {
					t.Fatalf("cut at %d: error %v does not name the end of the data", cut, err)
				}
			}
		})
	}
}

// TestBombs checks that lengths and counts the bytes cannot pay for are rejected with bounded
// memory: the reader allocates nothing from a length before the bytes arrive.
func TestBombs(t *testing.T) {
	big := func(n uint64) []byte { return newWriter("REDIS0010").db(0).key(0, "k").len(n).b }
	cases := map[string][]byte{
		"string of 2^62 bytes":         big(1 << 62),
		"string of 2^64-1 bytes":       big(^uint64(0)),
		"key of 2^62 bytes":            newWriter("REDIS0010").db(0).byte(0).len(1 << 62).b,
		"key of 15 MiB, 10 bytes sent": append(newWriter("REDIS0010").db(0).byte(0).len(15<<20).b, "0123456789"...),
		"blob of 15 MiB, 10 bytes sent": append(newWriter("REDIS0010").db(0).key(16, "h").len(15<<20).b,
			"0123456789"...),
		"lzf blob claiming 2^40 bytes": newWriter("REDIS0010").db(0).key(16, "h").byte(0xc3).len(1 << 20).len(1 << 40).b,
		"lzf blob claiming 15 MiB":     newWriter("REDIS0010").db(0).key(16, "h").byte(0xc3).len(200 << 10).len(15 << 20).b,
		"list of 2^40 items":           newWriter("REDIS0010").db(0).key(1, "k").len(1 << 40).b,
		"hash of 2^40 fields":          newWriter("REDIS0010").db(0).key(4, "k").len(1 << 40).b,
		"quicklist of 2^40 nodes":      newWriter("REDIS0010").db(0).key(18, "k").len(1 << 40).b,
		"stream of 2^40 nodes":         newWriter("REDIS0011").db(0).key(21, "k").len(1 << 40).b,
		"aux of 2^62 bytes":            newWriter("REDIS0010").byte(opAux).len(1 << 62).b,
		"slot import of 2^40 ranges":   newWriter("VALKEY080").byte(opSlotImport).str("j").len(1 << 40).b,
	}
	for name, file := range cases {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			rep, err := Verify(bytes.NewReader(file))
			runtime.ReadMemStats(&after)
			if err != nil || rep.Valid {
				t.Fatalf("Verify = valid %v, %v; want invalid", rep.Valid, err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
				t.Errorf("allocated %d MiB for a %d-byte file", grew>>20, len(file))
			}
		})
	}
}

// TestReaderShapes reads the same files through readers that return small, odd pieces: the
// verdict, counts and sums must not depend on how the bytes arrive.
func TestReaderShapes(t *testing.T) {
	for _, c := range writerCases() {
		want, err := Verify(bytes.NewReader(c.file))
		if err != nil {
			t.Fatal(err)
		}
		for shape, wrap := range map[string]func(io.Reader) io.Reader{
			"one byte": iotest.OneByteReader, "half": iotest.HalfReader, "data+EOF": iotest.DataErrReader,
		} {
			got, err := Verify(wrap(bytes.NewReader(c.file)))
			if err != nil {
				t.Fatalf("%s, %s: %v", c.name, shape, err)
			}
			if got.Valid != want.Valid || got.Keys != want.Keys || got.SHA256 != want.SHA256 ||
				got.Checksum != want.Checksum || got.Error != want.Error {
				t.Errorf("%s, %s: got %+v, want %+v", c.name, shape, got, want)
			}
		}
	}
}

// TestReadError checks that a failing io.Reader is an I/O error, not an invalid file.
func TestReadError(t *testing.T) {
	file := newWriter("REDIS0010").db(0).key(0, "k").str("v").end(true)
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(file[:12]), iotest.ErrReader(boom))
	rep, err := Verify(r)
	if !errors.Is(err, boom) {
		t.Fatalf("Verify error = %v, want boom", err)
	}
	var fe *Error
	if errors.As(err, &fe) || rep.Valid {
		t.Fatalf("a read error was reported as a verdict: %v, %+v", err, rep)
	}
}

// TestSumCoversWholeFile checks SHA-256 and size against the bytes, valid or not.
func TestSumCoversWholeFile(t *testing.T) {
	for _, c := range writerCases() {
		rep, err := Verify(bytes.NewReader(c.file))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Bytes != int64(len(c.file)) || rep.SHA256 != sha256Hex(c.file) {
			t.Errorf("%s: bytes %d sha %s; want %d %s", c.name, rep.Bytes, rep.SHA256, len(c.file), sha256Hex(c.file))
		}
	}
}

// TestNoGoroutineLeak checks that Verify, and a Reader closed early, leave no hashing
// goroutines behind.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, c := range writerCases() {
		if _, err := Verify(bytes.NewReader(c.file)); err != nil {
			t.Fatal(err)
		}
		r := NewReader(bytes.NewReader(c.file))
		r.Next()
		r.Close()
	}
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d goroutines before, %d after", before, runtime.NumGoroutine())
}
