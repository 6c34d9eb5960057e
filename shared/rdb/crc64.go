package rdb

import (
	"encoding/binary"
	"math/bits"
)

// jonesPoly is the reflected CRC-64/Jones polynomial Redis uses for the RDB trailer.
const jonesPoly = 0x95AC9329AC4BC9B5

// crcTables are slicing-by-16 tables for CRC-64/Jones (32 KiB). hash/crc64 would rebuild
// slicing-by-8 tables on every large Update for a polynomial other than ISO and ECMA, and
// slicing by 16 is about a third faster than by 8 here.
var crcTables = func() (t [16][256]uint64) {
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
		for k := 1; k < 16; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}()

// crc64Table extends crc (initial value 0, no final XOR, as Redis computes it) with p, by table.
func crc64Table(crc uint64, p []byte) uint64 {
	t := &crcTables
	for len(p) >= 16 {
		a := crc ^ binary.LittleEndian.Uint64(p)
		b := binary.LittleEndian.Uint64(p[8:])
		crc = t[15][a&0xff] ^ t[14][a>>8&0xff] ^ t[13][a>>16&0xff] ^ t[12][a>>24&0xff] ^
			t[11][a>>32&0xff] ^ t[10][a>>40&0xff] ^ t[9][a>>48&0xff] ^ t[8][a>>56] ^
			t[7][b&0xff] ^ t[6][b>>8&0xff] ^ t[5][b>>16&0xff] ^ t[4][b>>24&0xff] ^
			t[3][b>>32&0xff] ^ t[2][b>>40&0xff] ^ t[1][b>>48&0xff] ^ t[0][b>>56]
		p = p[16:]
	}
	for _, c := range p {
		crc = t[0][byte(crc)^c] ^ crc>>8
	}
	return crc
}

// xpowMod returns x^n mod P for the Jones polynomial P, bit-reflected (bit 63 is x^0), the
// form the carry-less folding constants take.
func xpowMod(n int) uint64 {
	normal := bits.Reverse64(jonesPoly)
	r := uint64(1)
	for range n {
		top := r >> 63
		r <<= 1
		if top == 1 {
			r ^= normal
		}
	}
	return bits.Reverse64(r)
}

// foldKeys are the constants that fold a 128-bit block forward by 512, 384, 256 and 128 bits:
// {x^(d+63) mod P, x^(d-1) mod P}, reflected (the reflected carry-less product carries one
// factor of x itself).
var foldKeys = func() (k [4][2]uint64) {
	for i, d := range []int{512, 384, 256, 128} {
		k[i] = [2]uint64{xpowMod(d + 63), xpowMod(d - 1)}
	}
	return k
}()
