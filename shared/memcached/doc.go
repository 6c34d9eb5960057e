// Package memcached dumps one Memcached node into a cacheport-memcached/1 dump (package mcdump)
// and restores a dump into a node, over memcached's text protocol.
//
// Dump lists the node's keys with `lru_crawler metadump hash` (falling back to `metadump all`
// on servers that refuse it) into a spool file, as fast as the crawler sends them, then reads
// them on the same connection with pipelined meta gets (`mg KEY v f t c u`: value, client
// flags, remaining TTL, CAS, and no LRU bump, so the dump neither reorders the cache's LRUs nor
// makes a crawl miss keys), streaming every value from the socket into the dump without holding
// it whole. Keys listed but gone by the time they are read (expired, evicted, deleted) are
// counted as vanished, not errors. Load is bounded by one connection per node, Options.Batch
// (meta gets in flight) and an optional key and byte rate. A node that fails mid-dump yields an
// *Error and a dump closed without its trailer, which mcdump.Verify rejects as incomplete.
//
// The listing is spooled, not read alongside the fetches, because a hash crawl that waits for
// its client holds a hash bucket lock: a meta get for a key in that bucket, sent by a reader
// that is paced or simply slower than the crawler, then hangs, and with it the listing (seen
// with memcached 1.6.18, nearly every time on a million keys).
//
// Restore writes every record back with pipelined meta sets (`ms KEY SIZE F<flags> T<ttl>`),
// turning each absolute expiry back into a remaining TTL, skipping keys whose life is over.
//
// # Consistency
//
// memcached has no snapshot: the crawler walks the node while clients keep writing, so a dump
// holds each key as it was when it was read, keys written after the crawler passed their slot
// may be missing, and keys deleted meanwhile are counted as vanished. A CAS value is recorded
// for each key but cannot be restored: memcached assigns new ones (the meta set E flag that
// would set it does not exist in 1.6.18; "CLIENT_ERROR invalid flag").
//
// The hash crawl visits each key once. The LRU crawl can miss keys that memcached's LRU
// maintainer moves between segments while the crawl runs: on 1.6.18, about 70 of 1,000,000
// freshly loaded keys were missed that way, none with the hash crawl.
//
// # Connections, TLS and authentication
//
// Config.TLS turns on TLS (ElastiCache Memcached offers in-transit encryption from engine
// 1.6.12); NewTLSConfig builds one from a CA bundle. Config.Auth sends memcached's ASCII
// authentication (the server's -Y auth file, 1.5.15+) on every connection. SASL is not
// supported: memcached's SASL exists only in the binary protocol, and a server started with
// SASL (-S) refuses the text protocol, in which lru_crawler and the meta commands exist, so
// such a node cannot be dumped by key enumeration at all.
//
// Keys that the text protocol cannot carry as they are (bytes at or below 0x20, and 0x7f,
// possible for keys written over the binary protocol) are sent base64-encoded with the meta
// commands' b flag.
package memcached
