//go:build amd64 && !purego

package rdb

import "encoding/binary"

// clmulFold folds n bytes at p (n a multiple of 16, at least 64), with crc XORed into the
// first 8, into one 128-bit block congruent to them modulo P, using PCLMULQDQ.
//
//go:noescape
func clmulFold(p *byte, n int, crc uint64, k *[4][2]uint64, out *[2]uint64)

// hasCLMUL reports whether the CPU has PCLMULQDQ (CPUID leaf 1, ECX bit 1).
func hasCLMUL() bool

var useCLMUL = hasCLMUL()

// crc64Update extends crc (initial value 0, no final XOR, as Redis computes it) with p:
// carry-less multiplication folds all but the last bytes, the table finishes the job.
func crc64Update(crc uint64, p []byte) uint64 {
	if !useCLMUL || len(p) < 128 {
		return crc64Table(crc, p)
	}
	n := len(p) &^ 15
	var out [2]uint64
	clmulFold(&p[0], n, crc, &foldKeys, &out)
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], out[0])
	binary.LittleEndian.PutUint64(b[8:], out[1])
	return crc64Table(crc64Table(0, b[:]), p[n:])
}
