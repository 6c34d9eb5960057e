// Package s3read reads an S3 object as a plain io.Reader, fetching it with parallel ranged
// GetObject calls under a fixed buffer budget and delivering the bytes in order. Every range
// carries If-Match with the ETag seen at open, so an object that changes while it is read is an
// error, never a silent mix of two versions.
package s3read

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// API is the part of the S3 client the reader uses.
type API interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ API = (*s3.Client)(nil)

// Defaults of Options: 4 parts of 8 MiB in flight, a 32 MiB buffer budget.
const (
	DefaultPartSize = 8 << 20
	DefaultParts    = 4
)

// Options sets the buffer budget: at most Parts parts of PartSize bytes are fetched or held at
// once, so memory stays near PartSize × Parts whatever the object's size.
type Options struct {
	PartSize int64 // bytes per ranged GET; default DefaultPartSize
	Parts    int   // ranged GETs in flight (and buffers held); default DefaultParts
	// Offset is where in the object reading starts (to resume a read); default 0. An offset past
	// the object's end is an error.
	Offset int64
}

// ErrChanged means the object's ETag no longer matches the one seen when the reader opened it.
var ErrChanged = errors.New("s3 object changed while being read")

// Reader is an io.ReadCloser over one S3 object. Read is not safe for concurrent use; Close
// may be called from another goroutine to stop the fetches. Errors are sticky.
type Reader struct {
	api          API
	bucket, key  string
	etag         string
	size         int64
	opts         Options
	ctx          context.Context
	cancel       context.CancelFunc
	queue        chan *part
	free         chan []byte
	cur          *part
	err          error
	launcherDone chan struct{}
	closeOnce    sync.Once
}

type part struct {
	off  int64
	buf  []byte
	n    int
	read int
	err  error
	done chan struct{}
}

// Open looks the object up (HeadObject, for its size and ETag) and starts fetching it. The
// fetches stop when ctx ends or Close is called.
func Open(ctx context.Context, api API, bucket, key string, optFns ...func(*Options)) (*Reader, error) {
	opts := Options{PartSize: DefaultPartSize, Parts: DefaultParts}
	for _, f := range optFns {
		f(&opts)
	}
	if opts.PartSize <= 0 {
		opts.PartSize = DefaultPartSize
	}
	if opts.Parts <= 0 {
		opts.Parts = DefaultParts
	}
	head, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("head s3://%s/%s: %w", bucket, key, err)
	}
	if size := aws.ToInt64(head.ContentLength); opts.Offset < 0 || opts.Offset > size {
		return nil, fmt.Errorf("s3://%s/%s: start offset %d outside the object's %d bytes", bucket, key, opts.Offset, size)
	}
	r := &Reader{
		api: api, bucket: bucket, key: key,
		etag: aws.ToString(head.ETag), size: aws.ToInt64(head.ContentLength), opts: opts,
		queue:        make(chan *part, opts.Parts),
		free:         make(chan []byte, opts.Parts),
		launcherDone: make(chan struct{}),
	}
	for range opts.Parts {
		r.free <- nil // buffers are allocated on first use
	}
	r.ctx, r.cancel = context.WithCancel(ctx)
	go r.launch()
	return r, nil
}

// Size returns the object's size as HeadObject reported it.
func (r *Reader) Size() int64 { return r.size }

// ETag returns the ETag every ranged GET is conditioned on.
func (r *Reader) ETag() string { return r.etag }

// launch starts one fetch per part, in order, whenever a buffer is free.
func (r *Reader) launch() {
	defer close(r.launcherDone)
	defer close(r.queue)
	for off := r.opts.Offset; off < r.size; off += r.opts.PartSize {
		var buf []byte
		select {
		case buf = <-r.free:
		case <-r.ctx.Done():
			return
		}
		n := min(r.opts.PartSize, r.size-off)
		if int64(cap(buf)) < n {
			buf = make([]byte, r.opts.PartSize)
		}
		p := &part{off: off, buf: buf[:n], done: make(chan struct{})}
		go r.fetch(p)
		select {
		case r.queue <- p:
		case <-r.ctx.Done():
			return
		}
	}
}

// quietRanges keeps the SDK from logging, for every part, that a ranged GET has no checksum
// to validate: the caller hashes the whole object itself.
func quietRanges(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true }

func (r *Reader) fetch(p *part) {
	defer close(p.done)
	end := p.off + int64(len(p.buf)) - 1
	out, err := r.api.GetObject(r.ctx, &s3.GetObjectInput{
		Bucket:  aws.String(r.bucket),
		Key:     aws.String(r.key),
		Range:   aws.String(fmt.Sprintf("bytes=%d-%d", p.off, end)),
		IfMatch: aws.String(r.etag),
	}, quietRanges)
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed" {
			err = fmt.Errorf("%w: %w", ErrChanged, err)
		}
		p.err = fmt.Errorf("get s3://%s/%s bytes %d-%d: %w", r.bucket, r.key, p.off, end, err)
		return
	}
	defer out.Body.Close()
	// A server that ignores Range would send the whole object: take only what was asked for.
	if out.ContentLength != nil && *out.ContentLength != int64(len(p.buf)) {
		p.err = fmt.Errorf("get s3://%s/%s bytes %d-%d: got %d bytes", r.bucket, r.key, p.off, end, *out.ContentLength)
		return
	}
	if out.ETag != nil && r.etag != "" && *out.ETag != r.etag {
		p.err = fmt.Errorf("get s3://%s/%s: %w (etag %s, opened %s)", r.bucket, r.key, ErrChanged, *out.ETag, r.etag)
		return
	}
	p.n, err = io.ReadFull(out.Body, p.buf)
	if err != nil {
		p.err = fmt.Errorf("get s3://%s/%s bytes %d-%d: read %d bytes: %w", r.bucket, r.key, p.off, end, p.n, err)
	}
}

// Read delivers the object's bytes in order, from Options.Offset on.
func (r *Reader) Read(b []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if err := r.ctx.Err(); err != nil {
		r.err = err
		return 0, err
	}
	for r.cur == nil {
		select {
		case p, ok := <-r.queue:
			if !ok {
				if err := r.ctx.Err(); err != nil {
					r.err = err
				} else {
					r.err = io.EOF
				}
				return 0, r.err
			}
			select {
			case <-p.done:
			case <-r.ctx.Done():
				r.err = r.ctx.Err()
				return 0, r.err
			}
			if p.err != nil {
				r.err = p.err
				return 0, r.err
			}
			r.cur = p
		case <-r.ctx.Done():
			r.err = r.ctx.Err()
			return 0, r.err
		}
	}
	n := copy(b, r.cur.buf[r.cur.read:r.cur.n])
	r.cur.read += n
	if r.cur.read == r.cur.n {
		r.free <- r.cur.buf
		r.cur = nil
	}
	return n, nil
}

// Close stops the fetches (a later Read returns context.Canceled) and waits for the launcher
// to stop; it always returns nil.
func (r *Reader) Close() error {
	r.closeOnce.Do(func() {
		r.cancel()
		<-r.launcherDone
	})
	return nil
}
