// Package mcdump writes, reads and verifies cacheport's Memcached dump format,
// "cacheport-memcached/1": one object per Memcached node (CONTRACTS.md: P/CACHE/EXPORT_ID/aN/
// node-NAME.mcd), written while the node is read and proven later by verify-export.
//
// # Layout
//
// An object is a single gzip member (RFC 1952). Its decompressed bytes are, with every integer
// big-endian:
//
//	header   magic    8 bytes   "CPMCDUMP"
//	         flen     u8        length of the format string
//	         format   flen      "cacheport-memcached/1"
//	         nlen     u8        length of the node name (0 to 255)
//	         node     nlen      the node's name (its ElastiCache node id, or host:port)
//	         created  i64       when the dump started, Unix nanoseconds
//	record   tag      u8        'R' (0x52)
//	         klen     u8        key length, 1 to 250 (memcached's limit)
//	         flags    u32       the item's client flags
//	         expiry   i64       absolute expiry, Unix seconds; 0: never expires
//	         cas      u64       the item's CAS value when it was read (informational)
//	         vlen     u32       value length, at most the reader's MaxValue
//	         key      klen      the key, raw bytes (not URL- or base64-encoded)
//	         value    vlen      the value, raw bytes
//	         ... any number of records ...
//	trailer  tag      u8        'E' (0x45)
//	         records  u64       number of records
//	         expires  u64       records with a non-zero expiry
//	         vbytes   u64       sum of vlen
//	         vanished u64       keys listed by the node but gone (expired, evicted, deleted)
//	                            before they could be read; they are not in the dump
//	         crc      u64       CRC-64/ECMA (hash/crc64.ECMA) of every decompressed byte from
//	                            the magic up to and including vanished
//
// Nothing may follow the trailer, neither in the decompressed stream nor after the gzip member.
//
// # Decisions
//
// Expiry is absolute rather than a remaining TTL, so that a dump restored hours later gives
// each key the life it had left at the time of the dump, not a fresh one; Restore turns it back
// into a remaining TTL against the clock at restore time and skips keys already expired. It is
// derived from the node's remaining TTL (meta get's t flag) plus the dumping machine's clock,
// so it carries that clock's error, to the second.
//
// The checksum is CRC-64/ECMA rather than SHA-256: it runs at several GB/s in the standard
// library, well beyond gzip's own speed, gzip adds its CRC-32 and size over the same bytes, and
// the manifest records a SHA-256 of the whole object, which is what guards against tampering.
// The CRC's job is to prove that the records the writer meant are the records read back.
//
// A dump that was cut short (the node vanished, the context was cancelled) is closed with
// Writer.Abort: its gzip stream is complete, so the records written so far can be read, but it
// has no trailer, and Reader.Next and Verify report ErrIncomplete. A dump is therefore valid
// only if the writer reached the end of the node's key listing.
//
// # Reading hostile input
//
// A Reader never allocates from a length read from the input: keys are read into a fixed
// 250-byte buffer, values are streamed to the caller (Reader.Read) or skipped, and every
// length is checked against its cap (250 for keys, Options.MaxValue for values, default
// 128 MiB) before any of its bytes are read. Errors are sticky *Error values carrying the
// offset in the decompressed stream; a stream that ends inside a structure is
// io.ErrUnexpectedEOF. Memory is a few fixed buffers plus gzip's window, whatever the input.
package mcdump
