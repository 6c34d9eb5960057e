package mcexport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/mcdump"
)

// multipartS3 adds S3's multipart calls to the fake bucket: parts are kept until the upload is
// completed (one PutObject of their concatenation) or aborted.
type multipartS3 struct {
	*fakes.S3
	mu      sync.Mutex
	seq     int
	uploads map[string]map[int32][]byte
	created []string // keys of every multipart upload begun
	aborted []string
	// FailPart, when set, fails UploadPart calls for the keys it reports true for.
	FailPart func(key string) bool
}

func newMultipartS3() *multipartS3 {
	return &multipartS3{S3: fakes.NewS3(), uploads: map[string]map[int32][]byte{}}
}

func (f *multipartS3) CreateMultipartUpload(_ context.Context, in *s3.CreateMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := strconv.Itoa(f.seq)
	f.uploads[id] = map[int32][]byte{}
	f.created = append(f.created, aws.ToString(in.Key))
	return &s3.CreateMultipartUploadOutput{Bucket: in.Bucket, Key: in.Key, UploadId: aws.String(id)}, nil
}

func (f *multipartS3) UploadPart(_ context.Context, in *s3.UploadPartInput, _ ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	if f.FailPart != nil && f.FailPart(aws.ToString(in.Key)) {
		return nil, errors.New("injected part failure")
	}
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	parts, ok := f.uploads[aws.ToString(in.UploadId)]
	if !ok {
		return nil, errors.New("NoSuchUpload")
	}
	parts[aws.ToInt32(in.PartNumber)] = body
	sum := md5.Sum(body)
	return &s3.UploadPartOutput{ETag: aws.String(`"` + hex.EncodeToString(sum[:]) + `"`)}, nil
}

func (f *multipartS3) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	f.mu.Lock()
	parts, ok := f.uploads[aws.ToString(in.UploadId)]
	delete(f.uploads, aws.ToString(in.UploadId))
	f.mu.Unlock()
	if !ok {
		return nil, errors.New("NoSuchUpload")
	}
	var body bytes.Buffer
	for i, p := range in.MultipartUpload.Parts {
		if aws.ToInt32(p.PartNumber) != int32(i+1) {
			return nil, fmt.Errorf("part %d out of order", aws.ToInt32(p.PartNumber))
		}
		body.Write(parts[int32(i+1)])
	}
	out, err := f.PutObject(ctx, &s3.PutObjectInput{Bucket: in.Bucket, Key: in.Key, Body: &body})
	if err != nil {
		return nil, err
	}
	return &s3.CompleteMultipartUploadOutput{Bucket: in.Bucket, Key: in.Key, ETag: out.ETag}, nil
}

func (f *multipartS3) AbortMultipartUpload(_ context.Context, in *s3.AbortMultipartUploadInput, _ ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.uploads, aws.ToString(in.UploadId))
	f.aborted = append(f.aborted, aws.ToString(in.Key))
	return &s3.AbortMultipartUploadOutput{}, nil
}

func (f *multipartS3) open() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.uploads)
}

// startMemcached starts Debian's memcached on loopback with 2 MiB items.
func startMemcached(t *testing.T) string {
	t.Helper()
	args := []string{"-p", "{port}", "-l", "127.0.0.1", "-U", "0", "-I", "2m", "-m", "128"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached refuses to run as root without -u
	}
	return testenv.Start(t, "memcached", "apt-get install memcached", args...).Addr
}

// fill stores n keys named prefix-i with random values of size bytes (flags i, no expiry):
// random, so that the dump does not compress below S3's part size.
func fill(t *testing.T, addr, prefix string, n, size int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	rnd := rand.New(rand.NewPCG(1, uint64(size)))
	val := make([]byte, size)
	for i := 0; i < n; i++ {
		for j := range val {
			val[j] = byte(rnd.Uint32())
		}
		fmt.Fprintf(c, "set %s-%d %d 0 %d\r\n%s\r\n", prefix, i, i, size, val)
		line, err := br.ReadString('\n')
		if err != nil || line != "STORED\r\n" {
			t.Fatalf("set %s-%d: %q %v", prefix, i, line, err)
		}
	}
}

type rig struct {
	ec  *fakes.ElastiCache
	s3  *multipartS3
	bus *fakes.Bus
	m   *export.Machine
	x   *Exporter
}

func newRig(t *testing.T, addrs ...string) *rig {
	t.Helper()
	r := &rig{ec: &fakes.ElastiCache{}, s3: newMultipartS3(), bus: &fakes.Bus{}}
	r.m = export.NewMachine(export.NewStore(r.s3, "exports"), export.NewPublisher(r.bus, "cacheport"))
	r.x = New(Options{Bucket: "exports", SpoolDir: t.TempDir(), PartSize: 5 << 20}, r.ec, r.s3, r.m, nil, nil)
	c := ectypes.CacheCluster{CacheClusterId: aws.String("memo"), Engine: aws.String("memcached"), CacheClusterStatus: aws.String("available"),
		NumCacheNodes: aws.Int32(int32(len(addrs)))}
	for i, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		p, _ := strconv.Atoi(port)
		c.CacheNodes = append(c.CacheNodes, ectypes.CacheNode{CacheNodeId: aws.String(fmt.Sprintf("%04d", i+1)),
			Endpoint: &ectypes.Endpoint{Address: aws.String(host), Port: aws.Int32(int32(p))}})
	}
	r.ec.CacheClusters = []ectypes.CacheCluster{c}
	return r
}

func (r *rig) begin(t *testing.T, kind export.Kind) *export.Export {
	t.Helper()
	e, err := r.m.Begin(context.Background(), export.NewExport{Prefix: "cacheport", ExportID: "memo-20261124-0300", Window: "20261124-0300",
		Cache: export.Cache{ID: "memo", Kind: kind, Engine: "memcached", Shards: 1}, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (r *rig) events(t *testing.T, detailType string) []export.Detail {
	t.Helper()
	var out []export.Detail
	for _, in := range r.bus.Events {
		for _, e := range in.Entries {
			if aws.ToString(e.DetailType) == detailType {
				var d export.Detail
				if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
					t.Fatal(err)
				}
				out = append(out, d)
			}
		}
	}
	return out
}

func TestRequestedDumpsEveryNode(t *testing.T) {
	a, b := startMemcached(t), startMemcached(t)
	fill(t, a, "small", 500, 100)
	fill(t, b, "big", 12, 1<<20) // 12 MiB of values: a multipart upload of several parts
	r := newRig(t, a, b)
	e := r.begin(t, export.KindMemcached)
	res, err := r.x.Requested(context.Background(), export.DetailOf(&e.Record, e.Key))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeDumped || len(res.Nodes) != 2 {
		t.Fatalf("result %+v", res)
	}
	e, err = r.m.Load(context.Background(), e.Key)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cacheport/memo/memo-20261124-0300/a1/node-0001.mcd", "cacheport/memo/memo-20261124-0300/a1/node-0002.mcd"}
	if e.Stage != export.StageExporting || e.Cache.Shards != 2 || e.Target != "cacheport/memo/memo-20261124-0300/a1/" {
		t.Errorf("record: stage %s shards %d target %q", e.Stage, e.Cache.Shards, e.Target)
	}
	started := r.events(t, export.DetailStarted)
	if len(started) != 1 || started[0].Expect == nil || strings.Join(started[0].Expect.Keys, ",") != strings.Join(want, ",") || started[0].Expect.Shards != 2 {
		t.Fatalf("Export Started: %+v", started)
	}
	for i, key := range want {
		o, ok := r.s3.Objects[key]
		if !ok {
			t.Fatalf("%s not written; keys %v", key, r.s3.Keys(""))
		}
		rep, err := mcdump.Verify(bytes.NewReader(o.Body))
		if err != nil || !rep.Valid {
			t.Fatalf("%s: %+v %v", key, rep, err)
		}
		wantKeys := []int64{500, 12}[i]
		if rep.Keys != wantKeys || rep.Node != fmt.Sprintf("%04d", i+1) || res.Nodes[i].Keys != wantKeys || res.Nodes[i].Key != key {
			t.Errorf("%s: %d keys from node %q (result %+v), want %d", key, rep.Keys, rep.Node, res.Nodes[i], wantKeys)
		}
	}
	if len(r.s3.created) == 0 || r.s3.open() != 0 || len(r.s3.aborted) != 0 {
		t.Errorf("multipart uploads: created %v, open %d, aborted %v", r.s3.created, r.s3.open(), r.s3.aborted)
	}

	// Export Requested again (a duplicate, or the advance sweep's): the export moved on.
	res, err = r.x.Requested(context.Background(), export.DetailOf(&e.Record, e.Key))
	if err != nil || res.Outcome != OutcomeNothing {
		t.Errorf("second request: %+v %v", res, err)
	}
}

func TestDumpFailureFailsTheExport(t *testing.T) {
	a := startMemcached(t)
	fill(t, a, "k", 50, 10)
	dead := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t))) // nobody listens
	r := newRig(t, a, dead)
	e := r.begin(t, export.KindMemcached)
	res, err := r.x.Requested(context.Background(), export.DetailOf(&e.Record, e.Key))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeFailed || res.Reason != "dump-failed" {
		t.Fatalf("result %+v", res)
	}
	e, _ = r.m.Load(context.Background(), e.Key)
	if e.Stage != export.StageFailed || e.Error == nil || e.Error.Object != "cacheport/memo/memo-20261124-0300/a1/node-0002.mcd" {
		t.Errorf("record: stage %s error %+v", e.Stage, e.Error)
	}
	if f := r.events(t, export.DetailFailed); len(f) != 1 || f[0].Reason != "dump-failed" {
		t.Errorf("Export Failed: %+v", f)
	}
	if _, ok := r.s3.Objects["cacheport/memo/memo-20261124-0300/a1/node-0002.mcd"]; ok {
		t.Error("the dead node's dump was written")
	}
	if r.s3.open() != 0 {
		t.Errorf("%d multipart uploads left open", r.s3.open())
	}
}

// checkpointingBus saves a change to the record when Export Started is published, as
// verify-export does while the dump runs: the record's ETag moves under memcached-export.
type checkpointingBus struct {
	*fakes.Bus
	m   *export.Machine
	key string
}

func (b *checkpointingBus) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	out, err := b.Bus.PutEvents(ctx, in, opts...)
	if aws.ToString(in.Entries[0].DetailType) == export.DetailStarted {
		e, lerr := b.m.Load(ctx, b.key)
		if lerr == nil {
			_ = b.m.Save(ctx, e, func(r *export.Record) { r.Checkpoint = map[string]string{"missing_since": "x"} })
		}
	}
	return out, err
}

func TestDumpFailureFailsTheExportVerifyMoved(t *testing.T) {
	dead := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
	r := newRig(t, dead)
	bus := &checkpointingBus{Bus: r.bus}
	r.m = export.NewMachine(export.NewStore(r.s3, "exports"), export.NewPublisher(bus, "cacheport"))
	bus.m = r.m
	r.x = New(Options{Bucket: "exports", SpoolDir: t.TempDir()}, r.ec, r.s3, r.m, nil, nil)
	e := r.begin(t, export.KindMemcached)
	bus.key = e.Key
	res, err := r.x.Requested(context.Background(), export.DetailOf(&e.Record, e.Key))
	if err != nil || res.Outcome != OutcomeFailed {
		t.Fatalf("%+v %v", res, err)
	}
	if e, _ = r.m.Load(context.Background(), e.Key); e.Stage != export.StageFailed || e.Checkpoint["missing_since"] != "x" {
		t.Errorf("record: stage %s checkpoint %v", e.Stage, e.Checkpoint)
	}
}

func TestFailedUploadIsAborted(t *testing.T) {
	a := startMemcached(t)
	fill(t, a, "big", 8, 1<<20)
	r := newRig(t, a)
	r.s3.FailPart = func(string) bool { return true }
	e := r.begin(t, export.KindMemcached)
	res, err := r.x.Requested(context.Background(), export.DetailOf(&e.Record, e.Key))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeFailed {
		t.Fatalf("result %+v", res)
	}
	if r.s3.open() != 0 || len(r.s3.aborted) != 1 || len(r.s3.Keys("cacheport/memo/memo-20261124-0300/a1/")) != 0 {
		t.Errorf("open %d, aborted %v, objects %v", r.s3.open(), r.s3.aborted, r.s3.Keys("cacheport/memo/memo-20261124-0300/a1/"))
	}
}

func TestRequestedLeavesOtherExportsAlone(t *testing.T) {
	ctx := context.Background()
	t.Run("not memcached", func(t *testing.T) {
		r := newRig(t)
		e := r.begin(t, export.KindCacheCluster)
		res, err := r.x.Requested(ctx, export.DetailOf(&e.Record, e.Key))
		if err != nil || res.Outcome != OutcomeNothing || len(r.ec.Calls) != 0 {
			t.Errorf("%+v %v calls %v", res, err, r.ec.Calls)
		}
	})
	t.Run("cache gone", func(t *testing.T) {
		r := newRig(t)
		r.ec.CacheClusters = nil
		e := r.begin(t, export.KindMemcached)
		res, err := r.x.Requested(ctx, export.DetailOf(&e.Record, e.Key))
		if err != nil || res.Outcome != OutcomeFailed || res.Reason != "cache-missing" {
			t.Errorf("%+v %v", res, err)
		}
	})
	t.Run("not available", func(t *testing.T) {
		r := newRig(t, "127.0.0.1:1")
		r.ec.CacheClusters[0].CacheClusterStatus = aws.String("modifying")
		e := r.begin(t, export.KindMemcached)
		res, err := r.x.Requested(ctx, export.DetailOf(&e.Record, e.Key))
		if err != nil || res.Outcome != OutcomeWaiting {
			t.Errorf("%+v %v", res, err)
		}
	})
	t.Run("back-off", func(t *testing.T) {
		r := newRig(t, "127.0.0.1:1")
		e := r.begin(t, export.KindMemcached)
		e.NotBefore = time.Now().Add(time.Hour)
		if err := r.m.Save(ctx, e, func(rec *export.Record) { rec.NotBefore = e.NotBefore }); err != nil {
			t.Fatal(err)
		}
		res, err := r.x.Requested(ctx, export.DetailOf(&e.Record, e.Key))
		if err != nil || res.Outcome != OutcomeWaiting {
			t.Errorf("%+v %v", res, err)
		}
	})
	t.Run("foreign record", func(t *testing.T) {
		r := newRig(t)
		for _, d := range []export.Detail{
			{Bucket: "other", RecordKey: "cacheport/memo/memo-20261124-0300/export.json"},
			{Bucket: "exports", RecordKey: "elsewhere/memo/x/export.json"},
			{Bucket: "exports", RecordKey: "cacheport/memo/memo-20261124-0300/export.json"}, // no record
		} {
			if _, err := r.x.Requested(ctx, d); !errors.Is(err, ErrNotOurs) {
				t.Errorf("%+v: %v, want ErrNotOurs", d, err)
			}
		}
	})
}
