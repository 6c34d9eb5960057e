package ecsrv

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"

	"github.com/cacheport/cacheport/shared/twin/core"
)

// testClock is a clock that moves only when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeBucket is a small in-memory core.Bucket.
type fakeBucket struct {
	mu      sync.Mutex
	buckets map[string]*fakeB
}

type fakeB struct {
	region  string
	granted bool
	objects map[string][]byte
}

func newFakeBucket() *fakeBucket { return &fakeBucket{buckets: map[string]*fakeB{}} }

func (f *fakeBucket) add(name, region string, granted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buckets[name] = &fakeB{region: region, granted: granted, objects: map[string][]byte{}}
}

func (f *fakeBucket) BucketRegion(_ context.Context, bucket string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return "", false, nil
	}
	return b.region, true, nil
}

func (f *fakeBucket) ElastiCacheGranted(_ context.Context, bucket string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	return ok && b.granted, nil
}

func (f *fakeBucket) ObjectExists(_ context.Context, bucket, key string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return false, nil
	}
	_, exists := b.objects[key]
	return exists, nil
}

func (f *fakeBucket) PutObject(_ context.Context, bucket, key string, body io.Reader, size int64) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if int64(len(data)) != size {
		return io.ErrUnexpectedEOF
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return io.ErrClosedPipe
	}
	b.objects[key] = data
	return nil
}

func (f *fakeBucket) put(bucket, key string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buckets[bucket].objects[key] = data
}

func (f *fakeBucket) keys(bucket string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.buckets[bucket].objects {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (f *fakeBucket) get(bucket, key string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.buckets[bucket].objects[key])
}

// eventLog is a core.EventSink that keeps what it is given.
type eventLog struct {
	mu     sync.Mutex
	events []core.Event
}

func (l *eventLog) Put(_ context.Context, ev core.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
	return nil
}

func (l *eventLog) all() []core.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]core.Event(nil), l.events...)
}

// rig is a server with a clock, bucket, events, faults and an SDK client pointed at it.
type rig struct {
	t      *testing.T
	srv    *Server
	clock  *testClock
	bucket *fakeBucket
	events *eventLog
	faults *core.Faults
	calls  *core.CallLog
	url    string
	ec     *elasticache.Client
}

const (
	testBucket = "exports"
	testRegion = "us-east-1"
)

func newRig(t *testing.T, mods ...func(*Options)) *rig {
	t.Helper()
	r := &rig{t: t, clock: newTestClock(), bucket: newFakeBucket(), events: &eventLog{}, faults: &core.Faults{}, calls: &core.CallLog{}}
	r.bucket.add(testBucket, testRegion, true)
	o := Options{Region: testRegion, Account: "111122223333", Clock: r.clock, CallLog: r.calls, Faults: r.faults,
		Events: r.events, Bucket: r.bucket, Data: DataGenerated, GenKeys: 50}
	for _, m := range mods {
		m(&o)
	}
	r.srv = New(o)
	t.Cleanup(func() { _ = r.srv.Close() })
	hs := httptest.NewServer(r.srv)
	t.Cleanup(hs.Close)
	r.url = hs.URL
	r.ec = r.client("TESTKEY")
	return r
}

// client returns an SDK client signing with access key akid; retries back off for at most 5 ms.
func (r *rig) client(akid string, optFns ...func(*elasticache.Options)) *elasticache.Client {
	cfg := aws.Config{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(akid, "secret", ""),
		BaseEndpoint: aws.String(r.url),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 5 * time.Millisecond })
		},
	}
	return elasticache.NewFromConfig(cfg, optFns...)
}

func (r *rig) add(caches ...Cache) {
	r.t.Helper()
	for _, c := range caches {
		if err := r.srv.AddCache(c); err != nil {
			r.t.Fatal(err)
		}
	}
}

// settle advances the clock by d in steps of a minute, ticking after each.
func (r *rig) settle(d time.Duration) {
	r.t.Helper()
	for step := time.Duration(0); step < d; step += time.Minute {
		r.clock.Advance(time.Minute)
		if err := r.srv.Tick(context.Background()); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *rig) status(name string) string {
	r.t.Helper()
	info, ok := r.srv.Snapshot(name)
	if !ok {
		return ""
	}
	return info.Status
}

// standardCaches is the sandbox's set the tests use.
func standardCaches() []Cache { return DefaultCaches() }

func hasString(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
