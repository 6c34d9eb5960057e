package rdb

import (
	"hash/crc64"
	"math/rand"
	"testing"
)

// TestCRC64 checks the check value of RDB-FACTS.md, and that the carry-less path (when the
// CPU has it) and the table agree with hash/crc64 (as Redis uses it: ^Update(^crc, ...)) at
// every length around the strides, from any starting value, in split updates too.
func TestCRC64(t *testing.T) {
	for name, f := range map[string]func(uint64, []byte) uint64{"update": crc64Update, "table": crc64Table} {
		if got := f(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
			t.Fatalf("%s: check value = %x, want e9c6d914c4b8d9ca", name, got)
		}
	}
	tab := crc64.MakeTable(jonesPoly)
	rnd := rand.New(rand.NewSource(1))
	data := make([]byte, 1200)
	rnd.Read(data)
	for n := range len(data) {
		init := rnd.Uint64()
		want := ^crc64.Update(^init, tab, data[:n])
		if got := crc64Update(init, data[:n]); got != want {
			t.Fatalf("len %d: %x, want %x", n, got, want)
		}
		if got := crc64Table(init, data[:n]); got != want {
			t.Fatalf("table, len %d: %x, want %x", n, got, want)
		}
		if got := crc64Update(crc64Update(init, data[:n/3]), data[n/3:n]); got != want {
			t.Fatalf("split len %d: %x, want %x", n, got, want)
		}
	}
}
