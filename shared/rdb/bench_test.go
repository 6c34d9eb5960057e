package rdb

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"testing"
)

// benchFile is the RDB-FACTS benchmark file when scripts/bench-rdb.sh has built it
// (BENCH_RDB overrides), else a file the test writer makes.
func benchFile(b *testing.B) []byte {
	path := os.Getenv("BENCH_RDB")
	if path == "" {
		if home, err := os.UserCacheDir(); err == nil {
			path = home + "/cacheport/bench/bench.rdb"
		}
	}
	if data, err := os.ReadFile(path); err == nil {
		return data
	}
	w := newWriter("REDIS0010").db(0)
	pad := bytes.Repeat([]byte{0}, 110)
	for i := range 200000 {
		w.key(0, "big:"+string(rune('a'+i%26))).lzf(append([]byte("value:1234"), pad...))
	}
	return w.end(true)
}

// BenchmarkVerify is the whole verifier (parse, CRC-64, SHA-256) over an in-memory file.
func BenchmarkVerify(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := Verify(bytes.NewReader(data))
		if err != nil || !rep.Valid {
			b.Fatalf("Verify: %v %s", err, rep.Error)
		}
	}
}

// BenchmarkCRC64 is CRC-64/Jones alone.
func BenchmarkCRC64(b *testing.B) {
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		crc64Update(0, data)
	}
}

// BenchmarkSHA256 is SHA-256 alone, for comparison with CRC-64.
func BenchmarkSHA256(b *testing.B) {
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		sha256.Sum256(data)
	}
}

// BenchmarkReadKeys is the Reader as a consumer that only lists keys uses it.
func BenchmarkReadKeys(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data))
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}
