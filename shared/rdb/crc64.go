package rdb

import "encoding/binary"

// jonesPoly is the reflected CRC-64/Jones polynomial Redis uses for the RDB trailer.
const jonesPoly = 0x95AC9329AC4BC9B5

// crcTables are slicing-by-8 tables for CRC-64/Jones. hash/crc64 would rebuild such tables on
// every large Update for a polynomial other than ISO and ECMA, so the package keeps its own.
var crcTables = func() (t [8][256]uint64) {
	for i := range 256 {
		c := uint64(i)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ jonesPoly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}()

// crc64Update extends crc (initial value 0, no final XOR, as Redis computes it) with p.
func crc64Update(crc uint64, p []byte) uint64 {
	t := &crcTables
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}
