package s3read

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// fakeS3 serves one object from memory the way S3 does: ranged GETs, If-Match on the ETag.
type fakeS3 struct {
	mu          sync.Mutex
	data        []byte
	etag        string
	ignoreRange bool
	delay       time.Duration
	changeAfter int // change the object after this many GETs (0: never)

	gets, inFlight, maxInFlight atomic.Int32
}

func (f *fakeS3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &s3.HeadObjectOutput{ContentLength: aws.Int64(int64(len(f.data))), ETag: aws.String(f.etag)}, nil
}

func (f *fakeS3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxInFlight.Load()
		if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if g := f.gets.Add(1); f.changeAfter > 0 && int(g) > f.changeAfter {
		f.etag = `"changed"`
	}
	if aws.ToString(in.IfMatch) != f.etag {
		return nil, &smithy.GenericAPIError{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold"}
	}
	var from, to int
	if _, err := fmt.Sscanf(aws.ToString(in.Range), "bytes=%d-%d", &from, &to); err != nil {
		return nil, err
	}
	body := f.data[from : to+1]
	if f.ignoreRange {
		body = f.data
	}
	return &s3.GetObjectOutput{
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: aws.Int64(int64(len(body))),
		ETag:          aws.String(f.etag),
	}, nil
}

func object(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>8)
	}
	return b
}

// TestReadInOrder reads objects of many sizes with many budgets: the bytes arrive whole and
// in order, and no more than Parts GETs are ever in flight.
func TestReadInOrder(t *testing.T) {
	for _, size := range []int{0, 1, 999, 1000, 1001, 12345} {
		for _, o := range []Options{{PartSize: 1000, Parts: 1}, {PartSize: 1000, Parts: 3}, {PartSize: 7, Parts: 5}, {PartSize: 1 << 20, Parts: 2}} {
			t.Run(fmt.Sprintf("size=%d/part=%d/parts=%d", size, o.PartSize, o.Parts), func(t *testing.T) {
				f := &fakeS3{data: object(size), etag: `"v1"`, delay: 100 * time.Microsecond}
				r, err := Open(context.Background(), f, "b", "k", func(opt *Options) { *opt = o })
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, f.data) {
					t.Fatalf("read %d bytes, not the object's %d", len(got), size)
				}
				if m := f.maxInFlight.Load(); int(m) > o.Parts {
					t.Errorf("%d GETs in flight, budget %d", m, o.Parts)
				}
				wantGets := (int64(size) + o.PartSize - 1) / o.PartSize
				if int64(f.gets.Load()) != wantGets {
					t.Errorf("%d GETs, want %d", f.gets.Load(), wantGets)
				}
			})
		}
	}
}

// TestOffset reads from a start offset: exactly the object's bytes from there, in ranged GETs
// conditioned on the ETag; an offset past the end is refused at Open.
func TestOffset(t *testing.T) {
	for _, off := range []int64{0, 1, 999, 1000, 4321, 12344, 12345} {
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			f := &fakeS3{data: object(12345), etag: `"v1"`}
			r, err := Open(context.Background(), f, "b", "k", func(o *Options) { o.PartSize, o.Parts, o.Offset = 1000, 3, off })
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, f.data[off:]) {
				t.Fatalf("read %d bytes, want the %d from offset %d", len(got), len(f.data)-int(off), off)
			}
			if want := (12345 - off + 999) / 1000; int64(f.gets.Load()) != want {
				t.Errorf("%d GETs, want %d", f.gets.Load(), want)
			}
		})
	}
	t.Run("changed since", func(t *testing.T) {
		f := &fakeS3{data: object(5000), etag: `"v1"`, changeAfter: 1}
		r, err := Open(context.Background(), f, "b", "k", func(o *Options) { o.PartSize, o.Parts, o.Offset = 1000, 1, 2500 })
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := io.Copy(io.Discard, r); !errors.Is(err, ErrChanged) {
			t.Fatalf("read from 2500 of an object that changed: %v, want ErrChanged", err)
		}
	})
	for _, off := range []int64{-1, 12346} {
		f := &fakeS3{data: object(12345), etag: `"v1"`}
		if r, err := Open(context.Background(), f, "b", "k", func(o *Options) { o.Offset = off }); err == nil {
			r.Close()
			t.Errorf("Open at offset %d of 12345 bytes succeeded", off)
		}
	}
}

// TestParallel checks that parts are really fetched concurrently.
func TestParallel(t *testing.T) {
	f := &fakeS3{data: object(8000), etag: `"v1"`, delay: 20 * time.Millisecond}
	r, err := Open(context.Background(), f, "b", "k", func(o *Options) { o.PartSize, o.Parts = 1000, 4 })
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	if m := f.maxInFlight.Load(); m < 2 {
		t.Errorf("at most %d GET in flight, want parallel GETs", m)
	}
}

// TestErrors covers a changed object, a server ignoring Range, and cancellation.
func TestErrors(t *testing.T) {
	cases := []struct {
		name  string
		f     *fakeS3
		is    error
		has   string
		parts int
	}{
		{name: "object changed during the read", f: &fakeS3{data: object(5000), etag: `"v1"`, changeAfter: 2}, is: ErrChanged},
		{name: "range ignored", f: &fakeS3{data: object(5000), etag: `"v1"`, ignoreRange: true}, has: "got 5000 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Open(context.Background(), c.f, "b", "k", func(o *Options) { o.PartSize, o.Parts = 1000, 1 })
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			_, err = io.Copy(io.Discard, r)
			if err == nil {
				t.Fatal("read succeeded")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v does not wrap %v", err, c.is)
			}
			if c.has != "" && !strings.Contains(err.Error(), c.has) {
				t.Errorf("error %q lacks %q", err, c.has)
			}
			// Errors are sticky.
			if _, again := r.Read(make([]byte, 1)); again == nil || again.Error() != err.Error() {
				t.Errorf("second Read = %v, want the same error", again)
			}
		})
	}
	t.Run("context cancelled", func(t *testing.T) {
		f := &fakeS3{data: object(50000), etag: `"v1"`, delay: 5 * time.Millisecond}
		ctx, cancel := context.WithCancel(context.Background())
		r, err := Open(ctx, f, "b", "k", func(o *Options) { o.PartSize, o.Parts = 1000, 2 })
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		buf := make([]byte, 1500)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
		cancel()
		_, err = io.Copy(io.Discard, r)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("after cancel: %v, want context.Canceled", err)
		}
		if g := f.gets.Load(); g >= 50 {
			t.Errorf("%d GETs: cancellation did not stop the fetches", g)
		}
	})
	t.Run("close stops the fetches", func(t *testing.T) {
		f := &fakeS3{data: object(50000), etag: `"v1"`, delay: 5 * time.Millisecond}
		r, err := Open(context.Background(), f, "b", "k", func(o *Options) { o.PartSize, o.Parts = 1000, 2 })
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		if _, err := r.Read(make([]byte, 10)); err == nil {
			t.Fatal("Read after Close succeeded")
		}
	})
}

// BenchmarkRead is the reader's own cost: parts fetched from an in-memory fake and delivered
// in order through 1 MiB reads.
func BenchmarkRead(b *testing.B) {
	f := &fakeS3{data: object(64 << 20), etag: `"v1"`}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(f.data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(context.Background(), f, "b", "k", func(o *Options) { o.PartSize, o.Parts = 8<<20, 4 })
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}
