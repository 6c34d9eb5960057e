// Package rdb reads and verifies Redis and Valkey RDB files in one streaming pass, in bounded
// memory, with no AWS dependency.
//
// A Reader is shaped like archive/tar.Reader: Next returns the keys of the file one by one
// (database, key, type, expiry), walking and validating each value without keeping it. Verify
// drives a Reader over a whole file and returns a Report whose JSON is the manifest's
// (CONTRACTS.md): validity, dialect and version, checksum state, SHA-256, key counts per
// database and type, expiries, and warnings.
//
// What is checked:
//   - the header: REDIS0001 to REDIS0012 (dialect "redis") and VALKEY080, VALKEY081 (dialect
//     "valkey"); type and opcode bytes are decoded by dialect, since 22, 23 and 243 mean
//     different things to Redis and Valkey 9, and a type newer than the file's version is an
//     error, as is any unknown version, type or opcode;
//   - every opcode (AUX, SELECTDB, RESIZEDB, EXPIRETIME, EXPIRETIME_MS, IDLE, FREQ, MODULE_AUX,
//     FUNCTION2, SLOT_INFO, Valkey's SLOT_IMPORT, EOF) and every value encoding: strings (plain,
//     integer, LZF), lists (linked, ziplist, quicklist, quicklist 2 with PLAIN and PACKED
//     nodes), sets (hashtable, intset, listpack), sorted sets (string and binary scores,
//     ziplist, listpack), hashes (hashtable, zipmap, ziplist, listpack, Redis 7.4's field-TTL
//     types 22 to 25, Valkey 9's HASH_2), streams (listpacks 1 to 3 with consumer groups and
//     PELs) and module values (type 7, walked by its sub-opcodes);
//   - encoded blobs are walked, not skipped: ziplist prevlen chains, tail offsets and counts,
//     listpack back-lengths and counts, intset order, zipmap lengths, stream entry lp-counts
//     and master-entry totals, LZF back references and output lengths;
//   - the CRC-64/Jones trailer over the bytes up to the EOF opcode: ok, mismatch or disabled
//     (a zero trailer); files before version 5 have none.
//
// Empty collections, which a server never writes but would load (dropping them), are
// warnings, so a file can be valid with warnings; so are bytes after the trailer, which
// servers ignore.
//
// Hostile input: nothing is allocated from a length before its bytes have arrived; plain
// strings of any size are skipped in place; keys and encoded blobs are held only up to
// Options.MaxBlob; LZF output lengths are checked against what their input can expand to.
// Memory stays at about 4 MiB of read buffers plus twice MaxBlob at worst.
//
// Speed: the parser refills its own buffers (no per-byte interface calls, no allocation per
// key) while SHA-256 and CRC-64 run on two other goroutines, so a two-core machine spends its
// time on the hashes the format demands.
//
// Resumable: between two keys, Reader.Checkpoint returns a small serialisable Checkpoint (offset,
// counts so far, CRC-64 and SHA-256 states), and NewReaderAt and VerifyFrom continue from it in
// another process, with the same Report as one pass.
//
// Not supported (reported as errors wrapping ErrUnsupported): pre-release module values
// (type 6) and functions (opcode 246), and Valkey 9.2's PATH_HASH (type 23) and UPDATE
// (opcode 242), whose layouts were not available when this package was written.
package rdb
