package rdb

import (
	"hash/crc64"
	"testing"
)

// TestCRC64 checks the check value of RDB-FACTS.md and agreement with hash/crc64 (as Redis
// uses it: ^Update(^crc, ...)) at every length around the 16-byte stride.
func TestCRC64(t *testing.T) {
	if got := crc64Update(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("check value = %x, want e9c6d914c4b8d9ca", got)
	}
	tab := crc64.MakeTable(jonesPoly)
	data := []byte(randomText(100))
	for n := range len(data) {
		want := ^crc64.Update(^uint64(0), tab, data[:n])
		if got := crc64Update(0, data[:n]); got != want {
			t.Fatalf("len %d: %x, want %x", n, got, want)
		}
		// Split updates must agree with one update.
		if got := crc64Update(crc64Update(0, data[:n/3]), data[n/3:n]); got != want {
			t.Fatalf("split len %d: %x, want %x", n, got, want)
		}
	}
}
