package cleanup

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/telemetry"
)

const bucket = "exports"

var t0 = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

// rig is a cleanup over fakes: a versioned bucket, a bus, an ElastiCache control plane and a
// clock the test moves.
type rig struct {
	t       *testing.T
	ec      *fakes.ElastiCache
	s3      *fakes.S3
	bus     *fakes.Bus
	m       *export.Machine
	c       *Cleaner
	mu      sync.Mutex
	clock   time.Time
	metrics *bytes.Buffer
	logs    *bytes.Buffer
}

func newRig(t *testing.T, opts Options) *rig {
	t.Helper()
	r := &rig{t: t, ec: &fakes.ElastiCache{}, s3: fakes.NewS3(), bus: &fakes.Bus{}, clock: t0.Add(5 * time.Minute),
		metrics: &bytes.Buffer{}, logs: &bytes.Buffer{}}
	r.s3.Versioned = true
	r.ec.Now = r.now
	r.m = export.NewMachine(export.NewStore(r.s3, bucket), export.NewPublisher(r.bus, "cacheport"), export.WithClock(r.now))
	opts.Bucket = bucket
	if opts.Concurrency == 0 {
		opts.Concurrency = 3
	}
	r.c = New(opts, r.s3, r.ec, r.m, telemetry.NewLogger(r.logs, -4, "cleanup-export"), telemetry.NewMetrics(syncWriter{&r.mu, r.metrics}, "cleanup-export"))
	return r
}

type syncWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (r *rig) now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clock
}

func (r *rig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock = r.clock.Add(d)
}

// begin creates an export of cache in window w (requested, attempt 1).
func (r *rig) begin(cache string, kind export.Kind, w time.Time, maxAttempts int) *export.Export {
	r.t.Helper()
	id, err := export.ScheduledID(cache, w)
	if err != nil {
		r.t.Fatal(err)
	}
	e, err := r.m.Begin(context.Background(), export.NewExport{Prefix: "cacheport", ExportID: id, Window: export.Window(w),
		Cache: export.Cache{ID: cache, Kind: kind, Engine: "valkey"}, MaxAttempts: maxAttempts})
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

// snapshot makes the snapshot cacheport makes for e's attempt (tagged), in status.
func (r *rig) snapshot(e *export.Export, status string) string {
	r.t.Helper()
	name := e.Layout().SnapshotName(e.Attempt)
	var tags []ectypes.Tag
	for k, v := range export.OwnershipTags(e.ExportID) {
		tags = append(tags, ectypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	var err error
	if e.Cache.Kind == export.KindServerless {
		_, err = r.ec.CreateServerlessCacheSnapshot(context.Background(), &elasticache.CreateServerlessCacheSnapshotInput{
			ServerlessCacheName: aws.String(e.Cache.ID), ServerlessCacheSnapshotName: aws.String(name), Tags: tags})
	} else {
		_, err = r.ec.CreateSnapshot(context.Background(), &elasticache.CreateSnapshotInput{
			ReplicationGroupId: aws.String(e.Cache.ID), SnapshotName: aws.String(name), Tags: tags})
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.ec.Finish(name, status)
	return name
}

// exporting moves e to exporting from a snapshot cacheport made.
func (r *rig) exporting(e *export.Export) {
	r.t.Helper()
	ctx := context.Background()
	src := export.Source{Snapshot: e.Layout().SnapshotName(e.Attempt), MadeByCacheport: true}
	if err := r.m.Snapshotting(ctx, e, src, "test"); err != nil {
		r.t.Fatal(err)
	}
	target := e.Layout().TargetName(e.Attempt)
	if e.Cache.Kind == export.KindServerless {
		target = src.Snapshot
	}
	if err := r.m.Exporting(ctx, e, src, target, export.Expect{Target: target}, "test"); err != nil {
		r.t.Fatal(err)
	}
}

// verified takes e all the way to verified, with its objects and manifest written.
func (r *rig) verified(e *export.Export, shards int) {
	r.t.Helper()
	ctx := context.Background()
	r.snapshot(e, "available")
	r.exporting(e)
	for i := 1; i <= shards; i++ {
		r.put(e.Layout().ShardKey(e.Attempt, i), "rdb")
	}
	if err := r.m.Move(ctx, e, export.StageVerifying, "test", nil); err != nil {
		r.t.Fatal(err)
	}
	r.put(e.Layout().ManifestKey(), "{}")
	if err := r.m.Move(ctx, e, export.StageVerified, "test", nil); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) fail(e *export.Export, code string) {
	r.t.Helper()
	if err := r.m.Fail(context.Background(), e, export.Error{Code: code, Message: "test"}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) put(key, body string) {
	r.t.Helper()
	if _, err := r.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) del(key string) {
	r.t.Helper()
	if _, err := r.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) load(e *export.Export) *export.Export {
	r.t.Helper()
	x, err := r.m.Load(context.Background(), e.Key)
	if err != nil {
		r.t.Fatal(err)
	}
	return x
}

func (r *rig) detail(e *export.Export) export.Detail { return export.DetailOf(&e.Record, e.Key) }

// hasSnapshot reports whether a snapshot (either kind) named name exists.
func (r *rig) hasSnapshot(name string) bool {
	for _, s := range r.ec.Snapshots {
		if aws.ToString(s.SnapshotName) == name {
			return true
		}
	}
	for _, s := range r.ec.ServerlessSnapshots {
		if aws.ToString(s.ServerlessCacheSnapshotName) == name {
			return true
		}
	}
	return false
}

// state is everything in the bucket: every key with its version count.
func (r *rig) state() map[string]int {
	out := map[string]int{}
	in := &s3.ListObjectVersionsInput{Prefix: aws.String("")}
	for {
		page, err := r.s3.ListObjectVersions(context.Background(), in)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, v := range page.Versions {
			out[*v.Key]++
		}
		for _, m := range page.DeleteMarkers {
			out[*m.Key]++
		}
		if !aws.ToBool(page.IsTruncated) {
			return out
		}
		in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
}

func removedNames(e *export.Export) []string {
	var out []string
	for _, r := range e.Removed {
		out = append(out, r.What+" "+r.Name)
	}
	sort.Strings(out)
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// one returns the single result of a step that must not fail: one(t)(r.c.Failed(...)).
func one(t *testing.T) func(*Summary, error) Result {
	return func(sum *Summary, err error) Result {
		t.Helper()
		return oneOf(t, sum, err)
	}
}

func oneOf(t *testing.T, sum *Summary, err error) Result {
	t.Helper()
	if err != nil {
		t.Fatalf("error %v (summary %s)", err, mustJSON(sum))
	}
	if len(sum.Results) != 1 {
		t.Fatalf("want one result, got %s", mustJSON(sum))
	}
	return sum.Results[0]
}
