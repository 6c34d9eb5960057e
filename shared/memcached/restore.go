package memcached

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/cacheport/cacheport/shared/mcdump"
)

// RestoreStats counts what a restore did.
type RestoreStats struct {
	Restored   int64 // keys stored
	Expired    int64 // keys skipped because their life ended before the restore reached them
	Failed     int64 // keys the node refused (e.g. SERVER_ERROR object too large for cache)
	FirstError string
	ValueBytes int64
	Duration   time.Duration
}

// Restore writes every record of r into node with pipelined meta sets, keeping client flags
// and the life each key had left (its absolute expiry, turned into a TTL at the moment it is
// written). Keys already expired are skipped and counted; keys the node refuses are counted in
// Failed with the first refusal kept. The error is non-nil when the dump is damaged (an
// *mcdump.Error: keys before the damage have been written) or the node fails (an *Error).
// Verify a dump first to restore all or nothing.
func Restore(ctx context.Context, node Node, r *mcdump.Reader, opts Options) (RestoreStats, error) {
	o := opts.withDefaults()
	t0 := time.Now()
	st, err := restore(ctx, node, r, o)
	st.Duration = time.Since(t0)
	if err != nil && ctx.Err() != nil {
		return st, ctx.Err()
	}
	return st, err
}

// dumpError marks a failure of the dump being read (not of the node).
type dumpError struct{ err error }

func (e *dumpError) Error() string { return e.err.Error() }

func restore(ctx context.Context, node Node, r *mcdump.Reader, o Options) (RestoreStats, error) {
	var st RestoreStats
	fail := func(err error) error {
		var de *dumpError
		if errors.As(err, &de) {
			return de.err
		}
		return &Error{Node: node.name(), Addr: node.Addr, Op: "restore", Err: err}
	}
	c, err := dial(ctx, node, o.Config)
	if err != nil {
		return st, &Error{Node: node.name(), Addr: node.Addr, Op: "connect", Err: err}
	}
	defer c.close()
	defer c.watch(ctx)()
	p := newPacer(o.KeysPerSecond, o.BytesPerSecond)
	pending := make([]string, 0, o.Batch)
	var pendingBytes, pendingReq int64
	var num [24]byte
	buf := make([]byte, 64<<10)
	// drain reads the replies of the pending sets and paces the next batch.
	drain := func() error {
		if err := replies(c, pending, &st); err != nil {
			return fail(err)
		}
		st.ValueBytes += pendingBytes
		err := p.add(ctx, int64(len(pending)), pendingBytes)
		pending, pendingBytes, pendingReq = pending[:0], 0, 0
		return err
	}
	for {
		rec, err := r.Next()
		if err != nil && err != io.EOF {
			// Collect the replies of what was sent, then report the damage.
			if rerr := replies(c, pending, &st); rerr != nil {
				return st, fail(rerr)
			}
			return st, err
		}
		if err == nil {
			ttl, expired := rec.TTL(o.Now())
			if expired {
				st.Expired++
				continue
			}
			req := rec.Size + int64(len(rec.Key))*4/3 + 48
			if c.maxFlush > 0 && len(pending) > 0 && pendingReq+req > int64(c.maxFlush) {
				// Over TLS a large request goes alone (see tlsFlushBytes).
				if derr := drain(); derr != nil {
					return st, derr
				}
			}
			if len(pending) == 0 {
				c.deadline()
			}
			_, _ = c.bw.WriteString("ms ")
			b64 := writeKey(c, rec.Key)
			_, _ = c.bw.Write(strconv.AppendInt(append(num[:0], ' '), rec.Size, 10))
			if b64 {
				_, _ = c.bw.WriteString(" b")
			}
			_, _ = c.bw.Write(strconv.AppendUint(append(num[:0], " F"...), uint64(rec.Flags), 10))
			if ttl != 0 {
				_, _ = c.bw.Write(strconv.AppendInt(append(num[:0], " T"...), ttl, 10))
			}
			_, _ = c.bw.WriteString("\r\n")
			if err := sendValue(c, r, buf); err != nil {
				return st, fail(err)
			}
			pending = append(pending, rec.Key)
			pendingBytes += rec.Size
			pendingReq += req
		}
		full := len(pending) == o.Batch || (c.maxFlush > 0 && pendingReq >= int64(c.maxFlush))
		if full || (err == io.EOF && len(pending) > 0) {
			if derr := drain(); derr != nil {
				return st, derr
			}
		}
		if err == io.EOF {
			return st, nil
		}
	}
}

// replies flushes the pipelined sets and reads one reply per key.
func replies(c *conn, keys []string, st *RestoreStats) error {
	if len(keys) == 0 {
		return nil
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	for _, k := range keys {
		line, err := c.line()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		switch {
		case string(line) == "HD":
			st.Restored++
		case len(line) > 12 && string(line[:12]) == "SERVER_ERROR", string(line) == "NS":
			// The node swallowed the value and refused this key only.
			st.Failed++
			if st.FirstError == "" {
				st.FirstError = fmt.Sprintf("key %q: %s", k, line)
			}
		default:
			return fmt.Errorf("key %q: %w", k, serverErr(line))
		}
	}
	return nil
}

// sendValue copies the current record's value from r to the connection, then CRLF. A failure
// of r is a *dumpError.
func sendValue(c *conn, r *mcdump.Reader, buf []byte) error {
	for {
		n, rerr := r.Read(buf)
		if _, err := c.bw.Write(buf[:n]); err != nil {
			return err
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return &dumpError{rerr}
		}
	}
	_, err := c.bw.WriteString("\r\n")
	return err
}
