//go:build !amd64 || purego

package rdb

// crc64Update extends crc (initial value 0, no final XOR, as Redis computes it) with p.
func crc64Update(crc uint64, p []byte) uint64 { return crc64Table(crc, p) }
