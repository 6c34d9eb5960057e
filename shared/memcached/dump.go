package memcached

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/cacheport/cacheport/shared/mcdump"
)

// Options tune Dump and Restore. The zero value is valid: defaults apply.
type Options struct {
	Config
	// Batch is how many meta commands are sent before their replies are read (default
	// DefaultBatch).
	Batch int
	// KeysPerSecond and BytesPerSecond cap the rate (value bytes); 0 means no cap.
	KeysPerSecond  float64
	BytesPerSecond float64
	// SpoolDir is where Dump keeps the key listing while it reads the keys (default
	// os.TempDir()). It needs about the keys' total length plus one byte per key.
	SpoolDir string
	// Now is the clock that turns remaining TTLs into absolute expiries and back (default
	// time.Now).
	Now func() time.Time

	// beforeFetch, for tests, is called with each batch of listed keys before it is read.
	beforeFetch func(keys []string)
	// lruCrawl, for tests, skips the hash crawl as if the server did not know it.
	lruCrawl bool
}

// DefaultBatch is the default number of pipelined meta commands.
const DefaultBatch = 100

func (o Options) withDefaults() Options {
	o.Config = o.Config.withDefaults()
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// DumpStats counts what a dump did.
type DumpStats struct {
	Listed     int64 // keys the crawler listed
	Dumped     int64 // keys written to the dump
	Vanished   int64 // keys listed but gone when read
	ValueBytes int64
	Duration   time.Duration
	Crawl      string // CrawlHash or CrawlAll
}

// Dump reads every key of node into w and ends the dump: on success it closes w, writing the
// trailer (with the vanished count); on any failure it aborts w, leaving a dump without a
// trailer that readers report as incomplete, and returns an *Error naming the node (or ctx's
// error). The io.Writer under w is the caller's to close.
//
// Dump uses one connection. It first lists the keys with the crawler into a spool file in
// Options.SpoolDir, as fast as the crawler sends them, then reads them. The crawler must never
// wait on a reader that is itself waiting on the node: a hash crawl that waits for its client
// holds a hash bucket lock, and a meta get for a key in that bucket then blocks until it moves
// (seen with memcached 1.6.18: a paced reader deadlocked against its own listing).
func Dump(ctx context.Context, node Node, w *mcdump.Writer, opts Options) (DumpStats, error) {
	st, err := dump(ctx, node, w, opts.withDefaults())
	if err != nil {
		_ = w.Abort()
		return st, err
	}
	w.AddVanished(st.Vanished)
	if err := w.Close(); err != nil {
		return st, err
	}
	return st, nil
}

func dump(ctx context.Context, node Node, w *mcdump.Writer, o Options) (st DumpStats, err error) {
	t0 := time.Now()
	defer func() { st.Duration = time.Since(t0) }()
	fail := func(op string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Node: node.name(), Addr: node.Addr, Op: op, Err: err}
	}
	c, err := dial(ctx, node, o.Config)
	if err != nil {
		return st, fail("connect", err)
	}
	defer c.close()
	defer c.watch(ctx)()

	f, err := os.CreateTemp(o.SpoolDir, "cacheport-memcached-keys-*")
	if err != nil {
		return st, fmt.Errorf("memcached: key spool: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	sp := bufio.NewWriterSize(f, 256<<10)
	st.Crawl, st.Listed, err = list(ctx, c, sp, o.lruCrawl)
	if err != nil {
		return st, fail("list", err)
	}
	if err := sp.Flush(); err != nil {
		return st, fmt.Errorf("memcached: key spool: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return st, fmt.Errorf("memcached: key spool: %w", err)
	}
	keys := bufio.NewReaderSize(f, 256<<10)

	p := newPacer(o.KeysPerSecond, o.BytesPerSecond)
	batch := make([]string, 0, o.Batch)
	var kb [mcdump.MaxKey]byte
	for read := int64(0); read < st.Listed; {
		batch = batch[:0]
		for len(batch) < o.Batch && read < st.Listed {
			n, err := keys.ReadByte()
			if err == nil {
				_, err = io.ReadFull(keys, kb[:n])
			}
			if err != nil {
				return st, fmt.Errorf("memcached: key spool: %w", err)
			}
			batch = append(batch, string(kb[:n]))
			read++
		}
		if o.beforeFetch != nil {
			o.beforeFetch(batch)
		}
		n, b, err := fetch(c, w, batch, o.Now())
		st.Dumped += int64(n)
		st.ValueBytes += b
		if err != nil {
			var fe *fetchWriteError
			if errors.As(err, &fe) {
				return st, fe.err
			}
			return st, fail("fetch", err)
		}
		st.Vanished += int64(len(batch) - n)
		if err := p.add(ctx, int64(len(batch)), b); err != nil {
			return st, err
		}
	}
	return st, nil
}

// errBusy is the crawler's reply while another crawl runs.
var errBusy = errors.New("lru crawler busy")

// errNoHash is a refusal of `lru_crawler metadump hash` by a server that does not know it.
var errNoHash = errors.New("metadump hash not supported")

// Crawl modes of DumpStats.Crawl.
const (
	CrawlHash = "hash" // lru_crawler metadump hash: the hash table, each key once
	CrawlAll  = "all"  // lru_crawler metadump all: the LRUs, for servers without hash
)

// list writes the node's keys to spool, each as a length byte and the decoded key, and
// returns the crawl used and the number of keys. It walks the hash table where the server can
// (items move between LRUs while a crawl walks them, so an LRU crawl can miss keys), else the
// LRUs. The crawler is retried while it is busy with another crawl, for about a minute.
func list(ctx context.Context, c *conn, spool *bufio.Writer, lruOnly bool) (string, int64, error) {
	mode := CrawlHash
	if lruOnly {
		mode = CrawlAll
	}
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		n, err := metadump(c, mode, spool)
		if errors.Is(err, errNoHash) {
			mode = CrawlAll
			n, err = metadump(c, mode, spool)
		}
		if !errors.Is(err, errBusy) || wait > 30*time.Second {
			return mode, n, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return mode, 0, ctx.Err()
		}
	}
}

func metadump(c *conn, mode string, spool *bufio.Writer) (int64, error) {
	c.deadline()
	if _, err := c.bw.WriteString("lru_crawler metadump " + mode + "\r\n"); err != nil {
		return 0, err
	}
	if err := c.bw.Flush(); err != nil {
		return 0, err
	}
	var n int64
	key := make([]byte, 0, mcdump.MaxKey)
	for {
		if n%1024 == 0 {
			c.deadline()
		}
		line, err := c.line()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("metadump: %w", err)
		}
		if string(line) == "END" {
			return n, nil
		}
		if !bytes.HasPrefix(line, []byte("key=")) {
			switch {
			case n == 0 && bytes.HasPrefix(line, []byte("BUSY")):
				return 0, errBusy
			case n == 0 && mode == CrawlHash && (string(line) == "ERROR" || bytes.HasPrefix(line, []byte("CLIENT_ERROR")) ||
				bytes.HasPrefix(line, []byte("BADCLASS"))):
				// A server without the hash crawl reads "hash" as a class list: 1.6.18
				// answers an unknown argument with "BADCLASS invalid class id".
				return 0, errNoHash
			}
			return n, fmt.Errorf("metadump %s: %w", mode, serverErr(line))
		}
		enc := line[len("key="):]
		if i := bytes.IndexByte(enc, ' '); i >= 0 {
			enc = enc[:i]
		}
		key, err = unescape(key[:0], enc)
		if err != nil {
			return n, fmt.Errorf("metadump: %w", err)
		}
		_ = spool.WriteByte(byte(len(key)))
		if _, err := spool.Write(key); err != nil {
			return n, fmt.Errorf("key spool: %w", err)
		}
		n++
	}
}

// unescape appends to dst a key as the crawler prints it, decoded: %XX escapes, nothing else
// (a '+' is a plus, not a space).
func unescape(dst, enc []byte) ([]byte, error) {
	start := len(dst)
	for i := 0; i < len(enc); i++ {
		if enc[i] != '%' {
			dst = append(dst, enc[i])
			continue
		}
		if i+2 >= len(enc) {
			return dst, fmt.Errorf("%w: bad escape in listed key %q", ErrServer, enc)
		}
		v, err := strconv.ParseUint(string(enc[i+1:i+3]), 16, 8)
		if err != nil {
			return dst, fmt.Errorf("%w: bad escape in listed key %q", ErrServer, enc)
		}
		dst = append(dst, byte(v))
		i += 2
	}
	if n := len(dst) - start; n == 0 || n > mcdump.MaxKey {
		return dst, fmt.Errorf("%w: listed key of %d bytes", ErrServer, n)
	}
	return dst, nil
}

// fetchWriteError marks a failure of the dump's writer (not of the node) inside fetch.
type fetchWriteError struct{ err error }

func (e *fetchWriteError) Error() string { return e.err.Error() }

// writeKey writes key as a meta command token, base64-encoded when it has to be.
func writeKey(c *conn, key string) (b64 bool) {
	if needsBase64(key) {
		enc := base64.StdEncoding
		buf := c.bw.AvailableBuffer()
		buf = enc.AppendEncode(buf, []byte(key))
		_, _ = c.bw.Write(buf)
		return true
	}
	_, _ = c.bw.WriteString(key)
	return false
}

// fetch reads a batch of keys with pipelined meta gets and writes the hits to w; it returns
// how many were written and their value bytes. A miss (EN) is a key that vanished. Over TLS the
// batch goes out in pieces of at most tlsFlushBytes.
func fetch(c *conn, w *mcdump.Writer, batch []string, now time.Time) (int, int64, error) {
	var n int
	var total int64
	for len(batch) > 0 {
		k := len(batch)
		if c.maxFlush > 0 {
			size := 0
			for k = 0; k < len(batch) && (k == 0 || size+len(batch[k])*4/3+24 <= c.maxFlush); k++ {
				size += len(batch[k])*4/3 + 24 // a base64 key and the flags, at most
			}
		}
		m, b, err := fetchSome(c, w, batch[:k], now)
		n, total = n+m, total+b
		if err != nil {
			return n, total, err
		}
		batch = batch[k:]
	}
	return n, total, nil
}

func fetchSome(c *conn, w *mcdump.Writer, batch []string, now time.Time) (int, int64, error) {
	c.deadline()
	for _, k := range batch {
		_, _ = c.bw.WriteString("mg ")
		if writeKey(c, k) {
			_, _ = c.bw.WriteString(" b v f t c u\r\n")
		} else {
			_, _ = c.bw.WriteString(" v f t c u\r\n")
		}
	}
	if err := c.bw.Flush(); err != nil {
		return 0, 0, err
	}
	var n int
	var total int64
	for _, k := range batch {
		line, err := c.line()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, total, err
		}
		if string(line) == "EN" {
			continue
		}
		rec, err := parseVA(line, k, now)
		if err != nil {
			return n, total, err
		}
		if err := w.WriteRecord(rec); err != nil {
			return n, total, &fetchWriteError{err}
		}
		if err := copyValue(w, c, rec.Size); err != nil {
			return n, total, err
		}
		n++
		total += rec.Size
	}
	return n, total, nil
}

// parseVA reads "VA <size> f<flags> t<ttl> c<cas>".
func parseVA(line []byte, key string, now time.Time) (mcdump.Record, error) {
	rec := mcdump.Record{Key: key}
	if !bytes.HasPrefix(line, []byte("VA ")) {
		return rec, serverErr(line)
	}
	fields := bytes.Fields(line[3:])
	if len(fields) == 0 {
		return rec, serverErr(line)
	}
	size, err := strconv.ParseInt(string(fields[0]), 10, 64)
	if err != nil || size < 0 {
		return rec, serverErr(line)
	}
	rec.Size = size
	for _, f := range fields[1:] {
		if len(f) < 2 {
			continue
		}
		v := string(f[1:])
		switch f[0] {
		case 'f':
			x, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return rec, serverErr(line)
			}
			rec.Flags = uint32(x)
		case 't':
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return rec, serverErr(line)
			}
			if x >= 0 { // -1: never expires
				rec.Expiry = now.Unix() + x
			}
		case 'c':
			x, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return rec, serverErr(line)
			}
			rec.CAS = x
		}
	}
	return rec, nil
}

// copyValue streams size value bytes and the closing CRLF from the connection into w, through
// the connection's read buffer, without copies or allocations.
func copyValue(w *mcdump.Writer, c *conn, size int64) error {
	for size > 0 {
		n := c.br.Size()
		if int64(n) > size {
			n = int(size)
		}
		chunk, err := c.br.Peek(n)
		if len(chunk) > 0 {
			if _, werr := w.Write(chunk); werr != nil {
				return &fetchWriteError{werr}
			}
			_, _ = c.br.Discard(len(chunk))
			size -= int64(len(chunk))
		}
		if err != nil && size > 0 {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	end, err := c.br.Peek(2)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if end[0] != '\r' || end[1] != '\n' {
		return fmt.Errorf("%w: value not followed by CRLF", ErrServer)
	}
	_, _ = c.br.Discard(2)
	return nil
}
