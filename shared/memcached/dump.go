package memcached

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
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

// maxListed is how many listed keys may wait for their fetch; the crawler waits while the
// buffer is full, so memory stays bounded whatever the node holds.
const maxListed = 4096

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
// error). The io.Writer under w is the caller's to close. Dump uses two connections: one
// listing keys with the LRU crawler and one reading them.
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
	lc, err := dial(ctx, node, o.Config)
	if err != nil {
		return st, fail("connect", err)
	}
	defer lc.close()
	fc, err := dial(ctx, node, o.Config)
	if err != nil {
		return st, fail("connect", err)
	}
	defer fc.close()
	defer fc.watch(ctx)()
	defer lc.watch(ctx)()

	keys := make(chan string, maxListed)
	listErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	var mode string
	go func() { listErr <- list(ctx, lc, keys, stop, &mode, o.lruCrawl) }()

	p := newPacer(o.KeysPerSecond, o.BytesPerSecond)
	batch := make([]string, 0, o.Batch)
	for {
		batch = batch[:0]
		k, ok := <-keys
		if ok {
			batch = append(batch, k)
		fill:
			for len(batch) < o.Batch {
				select {
				case k, ok = <-keys:
					if !ok {
						break fill
					}
					batch = append(batch, k)
				default:
					break fill
				}
			}
		}
		if len(batch) > 0 {
			st.Listed += int64(len(batch))
			if o.beforeFetch != nil {
				o.beforeFetch(batch)
			}
			n, b, err := fetch(fc, w, batch, o.Now())
			st.Dumped += int64(n)
			st.Vanished += int64(len(batch) - n)
			st.ValueBytes += b
			if err != nil {
				var fe *fetchWriteError
				if errors.As(err, &fe) {
					return st, fe.err
				}
				return st, fail("fetch", err)
			}
			if err := p.add(ctx, int64(len(batch)), b); err != nil {
				return st, err
			}
		}
		if !ok {
			break
		}
	}
	err = <-listErr
	st.Crawl = mode
	if err != nil {
		return st, fail("list", err)
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

// list lists the node's keys and sends each, decoded, to keys; it closes keys at the end of
// the listing, successful or not, and sets *mode to the crawl used. It walks the hash table
// where the server can (items move between LRUs while a crawl walks them, so an LRU crawl can
// miss keys), else the LRUs. The crawler is retried while it is busy with another crawl, for
// about a minute.
func list(ctx context.Context, c *conn, keys chan<- string, stop <-chan struct{}, mode *string, lruOnly bool) error {
	defer close(keys)
	*mode = CrawlHash
	if lruOnly {
		*mode = CrawlAll
	}
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		err := metadump(c, *mode, keys, stop)
		if errors.Is(err, errNoHash) {
			*mode = CrawlAll
			err = metadump(c, *mode, keys, stop)
		}
		if !errors.Is(err, errBusy) || wait > 30*time.Second {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return nil
		}
	}
}

func metadump(c *conn, mode string, keys chan<- string, stop <-chan struct{}) error {
	c.deadline()
	if _, err := c.bw.WriteString("lru_crawler metadump " + mode + "\r\n"); err != nil {
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	first := true
	for n := 0; ; n++ {
		if n%1024 == 0 {
			c.deadline()
		}
		line, err := c.line()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("metadump: %w", err)
		}
		if string(line) == "END" {
			return nil
		}
		if !bytes.HasPrefix(line, []byte("key=")) {
			switch {
			case first && bytes.HasPrefix(line, []byte("BUSY")):
				return errBusy
			case first && mode == CrawlHash && (string(line) == "ERROR" || bytes.HasPrefix(line, []byte("CLIENT_ERROR"))):
				return errNoHash
			}
			return fmt.Errorf("metadump %s: %w", mode, serverErr(line))
		}
		first = false
		enc := line[len("key="):]
		if i := bytes.IndexByte(enc, ' '); i >= 0 {
			enc = enc[:i]
		}
		key, err := unescape(enc)
		if err != nil {
			return fmt.Errorf("metadump: %w", err)
		}
		select {
		case keys <- key:
		case <-stop:
			return nil
		}
	}
}

// unescape decodes a key as the crawler prints it: %XX escapes, nothing else (a '+' is a
// plus, not a space).
func unescape(enc []byte) (string, error) {
	if bytes.IndexByte(enc, '%') < 0 {
		if len(enc) == 0 || len(enc) > mcdump.MaxKey {
			return "", fmt.Errorf("%w: listed key of %d bytes", ErrServer, len(enc))
		}
		return string(enc), nil
	}
	out := make([]byte, 0, len(enc))
	for i := 0; i < len(enc); i++ {
		if enc[i] != '%' {
			out = append(out, enc[i])
			continue
		}
		if i+2 >= len(enc) {
			return "", fmt.Errorf("%w: bad escape in listed key %q", ErrServer, enc)
		}
		v, err := strconv.ParseUint(string(enc[i+1:i+3]), 16, 8)
		if err != nil {
			return "", fmt.Errorf("%w: bad escape in listed key %q", ErrServer, enc)
		}
		out = append(out, byte(v))
		i += 2
	}
	if len(out) == 0 || len(out) > mcdump.MaxKey {
		return "", fmt.Errorf("%w: listed key of %d bytes", ErrServer, len(out))
	}
	return string(out), nil
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
