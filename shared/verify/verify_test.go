package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/export"
)

// rdbFiles are real RDB files made once by Debian's redis-server: "db0" uses database 0 only,
// "multi" databases 0 and 3.
var (
	rdbOnce  sync.Once
	rdbFiles map[string][]byte
)

func realRDB(t *testing.T) map[string][]byte {
	t.Helper()
	testenv.Tool(t, "redis-server", "apt-get install redis-server")
	rdbOnce.Do(func() {
		r := testenv.StartRedis(t)
		r.MustDo(t, "DEBUG", "POPULATE", "500", "key", "64")
		r.MustDo(t, "RPUSH", "list", "a", "b", "c")
		r.MustDo(t, "HSET", "hash", "f1", "v1", "f2", "v2")
		r.MustDo(t, "SET", "ttl", "x", "EX", "3600")
		db0, err := os.ReadFile(r.Save(t))
		if err != nil {
			t.Fatal(err)
		}
		r.MustDo(t, "SELECT", "3") // each Do is its own connection: use MOVE instead
		r.MustDo(t, "MOVE", "list", "3")
		multi, err := os.ReadFile(r.Save(t))
		if err != nil {
			t.Fatal(err)
		}
		rdbFiles = map[string][]byte{"db0": db0, "multi": multi}
	})
	if rdbFiles == nil {
		t.Fatal("no RDB files")
	}
	return rdbFiles
}

// rangeS3 adds HeadObject and ranged GETs to the shared fake, and can fail reads.
type rangeS3 struct {
	*fakes.S3
	mu       sync.Mutex
	failGets int      // the next n GetObject calls of .rdb objects fail
	ranges   []string // the Range of every ranged GET of an .rdb object
}

func (f *rangeS3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	out, err := f.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: in.Bucket, Key: in.Key})
	if err != nil {
		return nil, err
	}
	out.Body.Close()
	return &s3.HeadObjectOutput{ContentLength: out.ContentLength, ETag: out.ETag}, nil
}

func (f *rangeS3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	if f.failGets > 0 && strings.HasSuffix(aws.ToString(in.Key), ".rdb") {
		f.failGets--
		f.mu.Unlock()
		return nil, errors.New("connection reset by peer")
	}
	if in.Range != nil && strings.HasSuffix(aws.ToString(in.Key), ".rdb") {
		f.ranges = append(f.ranges, aws.ToString(in.Range))
	}
	f.mu.Unlock()
	out, err := f.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: in.Bucket, Key: in.Key})
	if err != nil || in.Range == nil {
		return out, err
	}
	body, _ := io.ReadAll(out.Body)
	if in.IfMatch != nil && aws.ToString(in.IfMatch) != aws.ToString(out.ETag) {
		return nil, fmt.Errorf("precondition failed")
	}
	var a, b int64
	if _, err := fmt.Sscanf(aws.ToString(in.Range), "bytes=%d-%d", &a, &b); err != nil {
		return nil, err
	}
	b = min(b, int64(len(body))-1)
	part := body[a : b+1]
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(part)), ETag: out.ETag, ContentLength: aws.Int64(int64(len(part)))}, nil
}

type rig struct {
	s3    *rangeS3
	ec    *fakes.ElastiCache
	bus   *fakes.Bus
	m     *export.Machine
	v     *Verifier
	clock time.Time
}

func newRig(t *testing.T) *rig {
	r := &rig{s3: &rangeS3{S3: fakes.NewS3()}, ec: &fakes.ElastiCache{}, bus: &fakes.Bus{}, clock: time.Date(2026, 11, 24, 3, 20, 0, 0, time.UTC)}
	r.m = export.NewMachine(export.NewStore(r.s3, "exports"), export.NewPublisher(r.bus, "cacheport"), export.WithClock(func() time.Time { return r.clock }))
	r.v = New(Options{Bucket: "exports", Version: "test", PartSize: 4096, Parts: 3}, r.s3, r.ec, r.m, nil, nil)
	return r
}

// exporting makes an export of cache with n shards that has reached exporting, its snapshot in
// status.
func (r *rig) exporting(t *testing.T, cache string, kind export.Kind, shards int, status string) *export.Export {
	t.Helper()
	ctx := context.Background()
	e, err := r.m.Begin(ctx, export.NewExport{ExportID: cache + "-20261124-0300", Window: "20261124-0300", MaxAttempts: 3,
		Cache: export.Cache{ID: cache, Kind: kind, Engine: "redis", Shards: shards}})
	if err != nil {
		t.Fatal(err)
	}
	snap := e.Layout().SnapshotName(1)
	target := e.Layout().TargetName(1)
	if kind == export.KindServerless {
		target = snap
		r.ec.ServerlessSnapshots = append(r.ec.ServerlessSnapshots, ectypes.ServerlessCacheSnapshot{ServerlessCacheSnapshotName: aws.String(snap), Status: aws.String(status)})
	} else {
		r.ec.Snapshots = append(r.ec.Snapshots, ectypes.Snapshot{SnapshotName: aws.String(snap), SnapshotStatus: aws.String(status)})
	}
	if err := r.m.Exporting(ctx, e, export.Source{Snapshot: snap, MadeByCacheport: true}, target, export.Expect{}, "test"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (r *rig) put(t *testing.T, key string, body []byte) {
	t.Helper()
	if _, err := r.s3.PutObject(context.Background(), &s3.PutObjectInput{Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) record(t *testing.T, e *export.Export) *export.Export {
	t.Helper()
	got, err := r.m.Load(context.Background(), e.Key)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (r *rig) count(detailType string) int {
	n := 0
	for _, ty := range r.bus.Types() {
		if ty == detailType {
			n++
		}
	}
	return n
}

func TestThreeShardsVerifiedWithManifest(t *testing.T) {
	files := realRDB(t)
	r := newRig(t)
	ctx := context.Background()
	e := r.exporting(t, "sessions", export.KindReplicationGroup, 3, "exporting")
	l := e.Layout()
	bodies := [][]byte{files["db0"], files["multi"], files["db0"]}
	r.put(t, l.ShardKey(1, 1), bodies[0])
	r.put(t, l.ShardKey(1, 2), bodies[1])
	if s, err := r.v.ObjectCreated(ctx, "exports", l.ShardKey(1, 2)); err != nil || s.Results[0].Outcome != OutcomeWaiting {
		t.Fatalf("two of three shards, snapshot exporting: %+v %v", s, err)
	}
	r.put(t, l.ShardKey(1, 3), bodies[2])
	if s, _ := r.v.ObjectCreated(ctx, "exports", l.ShardKey(1, 3)); s.Results[0].Outcome != OutcomeWaiting {
		t.Fatalf("all shards but the snapshot still exporting: %+v", s.Results)
	}
	r.ec.Finish(l.SnapshotName(1), "available")
	s, err := r.v.ObjectCreated(ctx, "exports", l.ShardKey(1, 3))
	if err != nil || s.Results[0].Outcome != OutcomeVerified {
		t.Fatalf("complete export: %+v %v", s, err)
	}
	got := r.record(t, e)
	if got.Stage != export.StageVerified || len(got.Objects) != 3 {
		t.Fatalf("record %+v", got.Record)
	}
	raw := r.s3.Objects[l.ManifestKey()].Body
	var man Manifest
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	if man.Format != ManifestFormat || man.ExportID != e.ExportID || len(man.Objects) != 3 || man.Source.Shards != 3 || man.CacheportVersion != "test" {
		t.Fatalf("manifest %s", raw)
	}
	for i, o := range man.Objects {
		sum := sha256.Sum256(bodies[i])
		if o.SHA256 != hex.EncodeToString(sum[:]) || o.Size != int64(len(bodies[i])) || o.Checksum != "ok" || o.Format != FormatRDB || o.Keys != 503 {
			t.Errorf("object %d: %+v", i, o)
		}
	}
	if man.Restore.ClusterModeEnabledOK || len(man.Restore.Notes) == 0 {
		t.Errorf("shard 2 uses database 3, yet restore says %+v", man.Restore)
	}
	if man.Objects[1].KeysByDB["3"] != 1 {
		t.Errorf("keys_by_db %v", man.Objects[1].KeysByDB)
	}
	if r.count(export.DetailVerified) != 1 {
		t.Fatalf("events %v", r.bus.Types())
	}
	// Late duplicates change nothing.
	if s, _ := r.v.ObjectCreated(ctx, "exports", l.ShardKey(1, 1)); s.Results[0].Outcome != OutcomeNothing || r.count(export.DetailVerified) != 1 {
		t.Fatalf("duplicate after verified: %+v", s.Results)
	}
}

func TestMissingShardFailsAfterGrace(t *testing.T) {
	files := realRDB(t)
	r := newRig(t)
	ctx := context.Background()
	e := r.exporting(t, "orders", export.KindReplicationGroup, 2, "available")
	r.put(t, e.Layout().ShardKey(1, 1), files["db0"])
	if s, _ := r.v.Reconcile(ctx, r.clock); s.Results[0].Outcome != OutcomeWaiting {
		t.Fatalf("inside the grace: %+v", s.Results)
	}
	r.clock = r.clock.Add(31 * time.Minute)
	s, _ := r.v.Reconcile(ctx, r.clock)
	if s.Results[0].Outcome != OutcomeFailed {
		t.Fatalf("after the grace: %+v", s.Results)
	}
	got := r.record(t, e)
	if got.Stage != export.StageFailed || got.Error.Code != CodeMissingObject || got.Error.Object != e.Layout().ShardKey(1, 2) {
		t.Fatalf("record error %+v", got.Error)
	}
	if r.count(export.DetailFailed) != 1 {
		t.Fatalf("events %v", r.bus.Types())
	}
}

func TestDamagedObjectsFailWithTheirReason(t *testing.T) {
	files := realRDB(t)
	good := files["db0"]
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x5a
	for _, c := range []struct {
		name  string
		body  []byte
		codes []string
	}{
		{"flipped", flipped, []string{CodeChecksumMismatch, CodeCorruptObject}},
		{"truncated", good[:len(good)-100], []string{CodeTruncatedObject}},
		{"empty", nil, []string{CodeEmptyObject}},
		{"not rdb", []byte("hello, this is not a backup"), []string{CodeCorruptObject}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			e := r.exporting(t, "orders", export.KindReplicationGroup, 1, "available")
			r.put(t, e.Layout().ShardKey(1, 1), c.body)
			s, err := r.v.Started(context.Background(), e.Key, false)
			if err != nil || s.Results[0].Outcome != OutcomeFailed {
				t.Fatalf("%+v %v", s, err)
			}
			got := r.record(t, e)
			ok := false
			for _, code := range c.codes {
				ok = ok || got.Error.Code == code
			}
			if !ok || got.Error.Object != e.Layout().ShardKey(1, 1) {
				t.Fatalf("error %+v, want one of %v", got.Error, c.codes)
			}
			if _, exists := r.s3.Objects[e.Layout().ManifestKey()]; exists {
				t.Fatal("a manifest was written for a damaged export")
			}
		})
	}
}

func TestUnexpectedObjectFails(t *testing.T) {
	files := realRDB(t)
	r := newRig(t)
	e := r.exporting(t, "orders", export.KindReplicationGroup, 1, "available")
	r.put(t, e.Layout().ShardKey(1, 1), files["db0"])
	r.put(t, e.Layout().AttemptDir(1)+"stray.rdb", files["db0"])
	s, _ := r.v.Started(context.Background(), e.Key, false)
	if s.Results[0].Outcome != OutcomeFailed || r.record(t, e).Error.Code != CodeUnexpectedObject {
		t.Fatalf("%+v", s.Results)
	}
}

func TestReadErrorRetriedOnceThenReported(t *testing.T) {
	files := realRDB(t)
	r := newRig(t)
	e := r.exporting(t, "orders", export.KindReplicationGroup, 1, "available")
	r.put(t, e.Layout().ShardKey(1, 1), files["db0"])
	r.s3.failGets = 1
	if s, _ := r.v.Started(context.Background(), e.Key, false); s.Results[0].Outcome != OutcomeVerified {
		t.Fatalf("one flaky read: %+v", s.Results)
	}
	r2 := newRig(t)
	e2 := r2.exporting(t, "orders", export.KindReplicationGroup, 1, "available")
	r2.put(t, e2.Layout().ShardKey(1, 1), files["db0"])
	r2.s3.failGets = 1000
	if s, _ := r2.v.Started(context.Background(), e2.Key, false); s.Results[0].Outcome != OutcomeFailed || r2.record(t, e2).Error.Code != CodeReadFailed {
		t.Fatalf("reads that keep failing: %+v %+v", s.Results, r2.record(t, e2).Error)
	}
}

func TestVerificationResumesFromCheckpoint(t *testing.T) {
	files := realRDB(t)
	r := newRig(t)
	e := r.exporting(t, "sessions", export.KindReplicationGroup, 2, "available")
	r.put(t, e.Layout().ShardKey(1, 1), files["db0"])
	r.put(t, e.Layout().ShardKey(1, 2), files["db0"])
	// An invocation with too little time left hands over after its first object.
	r.v.opts.Headroom = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s, err := r.v.Started(ctx, e.Key, false)
	if err != nil || s.Results[0].Outcome != OutcomeHandedOn {
		t.Fatalf("first invocation: %+v %v", s, err)
	}
	got := r.record(t, e)
	if got.Stage != export.StageVerifying || got.Checkpoint[cpProofPrefix+e.Layout().ShardKey(1, 1)] == "" || r.count(export.DetailVerifying) != 1 {
		t.Fatalf("checkpoint %+v events %v", got.Checkpoint, r.bus.Types())
	}
	// A reconcile tick inside the lease leaves it alone; Export Verifying continues it.
	if s, _ := r.v.Reconcile(context.Background(), r.clock); s.Results[0].Outcome != OutcomeBusy {
		t.Fatalf("reconcile inside the lease: %+v", s.Results)
	}
	r.v.opts.Headroom = time.Second
	s, err = r.v.Started(context.Background(), e.Key, true)
	if err != nil || s.Results[0].Outcome != OutcomeVerified {
		t.Fatalf("continuation: %+v %v", s, err)
	}
	if got := r.record(t, e); len(got.Checkpoint) != 1 { // only verify_started_at stays
		t.Errorf("checkpoint after verified: %v", got.Checkpoint)
	}
}

// stepped is a rig whose invocations each prove 200 keys of an object, then checkpoint and hand
// over: the deadline check comes every 200 keys, and the deadline is always near.
func stepped(t *testing.T) (*rig, context.Context) {
	r := newRig(t)
	r.v.checkKeys = 200
	r.v.opts.Headroom = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	t.Cleanup(cancel)
	return r, ctx
}

// invoke runs one invocation on e (the first as Export Started, the next as Export Verifying).
func (r *rig) invoke(t *testing.T, ctx context.Context, e *export.Export, n int) Result {
	t.Helper()
	s, err := r.v.Started(ctx, e.Key, n > 1)
	if err != nil || len(s.Results) != 1 {
		t.Fatalf("invocation %d: %+v %v", n, s, err)
	}
	return s.Results[0]
}

// TestObjectVerifiedInSteps proves one object across three invocations, each resuming with a
// ranged read from the checkpoint the previous one saved in the record; the manifest's proof is
// the one a single invocation writes.
func TestObjectVerifiedInSteps(t *testing.T) {
	testenv.Tool(t, "redis-server", "apt-get install redis-server")
	srv := testenv.StartRedis(t, "--rdbcompression", "no")
	srv.MustDo(t, "DEBUG", "POPULATE", "30000", "key", "100")
	srv.MustDo(t, "SET", "ttl", "x", "EX", "3600")
	body, err := os.ReadFile(srv.Save(t))
	if err != nil {
		t.Fatal(err)
	}
	one := newRig(t)
	one.v.opts.PartSize = 1 << 20
	e1 := one.exporting(t, "sessions", export.KindReplicationGroup, 1, "available")
	one.put(t, e1.Layout().ShardKey(1, 1), body)
	if res := one.invoke(t, context.Background(), e1, 1); res.Outcome != OutcomeVerified {
		t.Fatalf("one invocation: %+v", res)
	}
	var want Manifest
	if err := json.Unmarshal(one.s3.Objects[e1.Layout().ManifestKey()].Body, &want); err != nil {
		t.Fatal(err)
	}

	r, ctx := stepped(t)
	r.v.checkKeys, r.v.opts.PartSize = 12000, 1<<20
	e := r.exporting(t, "sessions", export.KindReplicationGroup, 1, "available")
	key := e.Layout().ShardKey(1, 1)
	r.put(t, key, body)
	var readFrom []int64
	for n := 1; n <= 2; n++ {
		if res := r.invoke(t, ctx, e, n); res.Outcome != OutcomeHandedOn || res.Object != key {
			t.Fatalf("invocation %d: %+v", n, res)
		}
		got := r.record(t, e)
		var cp struct {
			Offset   int64 `json:"offset"`
			ReadFrom int64 `json:"read_from"`
			Counts   struct {
				Keys int64 `json:"keys"`
			} `json:"counts"`
		}
		if err := json.Unmarshal([]byte(got.Checkpoint[cpPartialPrefix+key]), &cp); err != nil {
			t.Fatalf("invocation %d: checkpoint %q: %v", n, got.Checkpoint[cpPartialPrefix+key], err)
		}
		if cp.Counts.Keys != int64(12000*n) || cp.ReadFrom <= 0 || cp.ReadFrom > cp.Offset || cp.Offset >= int64(len(body)) || got.Stage != export.StageVerifying {
			t.Fatalf("invocation %d: stage %s, checkpoint at %d (read from %d) after %d keys", n, got.Stage, cp.Offset, cp.ReadFrom, cp.Counts.Keys)
		}
		if r.count(export.DetailVerifying) != n {
			t.Fatalf("invocation %d: events %v", n, r.bus.Types())
		}
		readFrom = append(readFrom, cp.ReadFrom)
	}
	r.s3.ranges = nil
	if res := r.invoke(t, ctx, e, 3); res.Outcome != OutcomeVerified {
		t.Fatalf("invocation 3: %+v", res)
	}
	// The third invocation read from the second's checkpoint on, not from the start (its
	// ranged GETs run in parallel, so in any order).
	first := int64(-1)
	for _, rg := range r.s3.ranges {
		var a, b int64
		if _, err := fmt.Sscanf(rg, "bytes=%d-%d", &a, &b); err != nil {
			t.Fatal(err)
		}
		if first < 0 || a < first {
			first = a
		}
	}
	if first != readFrom[1] {
		t.Errorf("third invocation's ranges %v, want the first from %d", r.s3.ranges, readFrom[1])
	}
	var got Manifest
	if err := json.Unmarshal(r.s3.Objects[e.Layout().ManifestKey()].Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Objects) != 1 || len(want.Objects) != 1 {
		t.Fatalf("manifests with %d and %d objects", len(got.Objects), len(want.Objects))
	}
	g, w := got.Objects[0], want.Objects[0]
	sum := sha256.Sum256(body)
	if g.SHA256 != hex.EncodeToString(sum[:]) || g.Keys != w.Keys || g.Keys != 30001 || g.Checksum != "ok" || g.Size != int64(len(body)) {
		t.Errorf("stepped proof sha %s keys %d checksum %s size %d; one invocation %s %d %s %d", g.SHA256, g.Keys, g.Checksum, g.Size, w.SHA256, w.Keys, w.Checksum, w.Size)
	}
	gj, _ := json.Marshal(g)
	wj, _ := json.Marshal(w)
	if string(gj) != string(wj) {
		t.Errorf("stepped proof %s\none invocation %s", gj, wj)
	}
	if rec := r.record(t, e); len(rec.Checkpoint) != 1 {
		t.Errorf("checkpoint after verified: %v", rec.Checkpoint)
	}
}

// TestSteppedVerificationFailures: damage past the first checkpoint still fails the export, and
// an object that changed between two steps fails it as changed.
func TestSteppedVerificationFailures(t *testing.T) {
	files := realRDB(t)
	body := files["db0"]
	for _, c := range []struct {
		name   string
		offset int // from the end
		codes  []string
	}{
		{"CRC-64 trailer", 1, []string{CodeChecksumMismatch}},
		{"last values", 200, []string{CodeCorruptObject, CodeChecksumMismatch}},
	} {
		t.Run("damage beyond the checkpoint in the "+c.name, func(t *testing.T) {
			r, ctx := stepped(t)
			e := r.exporting(t, "sessions", export.KindReplicationGroup, 1, "available")
			bad := bytes.Clone(body)
			bad[len(bad)-c.offset] ^= 0x01
			r.put(t, e.Layout().ShardKey(1, 1), bad)
			var res Result
			for n := 1; n <= 5; n++ {
				if res = r.invoke(t, ctx, e, n); res.Outcome != OutcomeHandedOn {
					if n < 3 {
						t.Fatalf("invocation %d ended %+v before reaching the damage", n, res)
					}
					break
				}
			}
			got := r.record(t, e)
			if res.Outcome != OutcomeFailed || got.Stage != export.StageFailed || !slices.Contains(c.codes, got.Error.Code) {
				t.Fatalf("result %+v, record %s %+v", res, got.Stage, got.Error)
			}
		})
	}
	t.Run("object changed between steps", func(t *testing.T) {
		r, ctx := stepped(t)
		e := r.exporting(t, "sessions", export.KindReplicationGroup, 1, "available")
		key := e.Layout().ShardKey(1, 1)
		r.put(t, key, body)
		if res := r.invoke(t, ctx, e, 1); res.Outcome != OutcomeHandedOn {
			t.Fatalf("invocation 1: %+v", res)
		}
		r.put(t, key, append(bytes.Clone(body[:len(body)-1]), body[len(body)-1]^0xff))
		res := r.invoke(t, ctx, e, 2)
		if got := r.record(t, e); res.Outcome != OutcomeFailed || got.Error.Code != CodeObjectChanged || got.Error.Object != key {
			t.Fatalf("result %+v, record %s %+v", res, got.Stage, got.Error)
		}
	})
}

func TestConcurrentEventsVerifyOnce(t *testing.T) {
	files := realRDB(t)
	r := newRig(t)
	e := r.exporting(t, "sessions", export.KindReplicationGroup, 2, "available")
	r.put(t, e.Layout().ShardKey(1, 1), files["db0"])
	r.put(t, e.Layout().ShardKey(1, 2), files["db0"])
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.v.ObjectCreated(context.Background(), "exports", e.Layout().ShardKey(1, 1+i%2)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, err := r.v.Reconcile(context.Background(), r.clock.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := r.record(t, e); got.Stage != export.StageVerified || r.count(export.DetailVerified) != 1 {
		t.Fatalf("stage %s, events %v", got.Stage, r.bus.Types())
	}
}

func TestServerlessExportByObservedKeys(t *testing.T) {
	files := realRDB(t)
	r := newRig(t)
	ctx := context.Background()
	e := r.exporting(t, "carts", export.KindServerless, 0, "exporting")
	snap := e.Source.Snapshot
	r.put(t, snap+"-0001.rdb", files["db0"])
	r.put(t, snap+"-0002.rdb", files["db0"])
	if s, _ := r.v.ObjectCreated(ctx, "exports", snap+"-0002.rdb"); s.Results[0].Outcome != OutcomeWaiting {
		t.Fatalf("snapshot still exporting: %+v", s.Results)
	}
	r.ec.Finish(snap, "available")
	s, err := r.v.ObjectCreated(ctx, "exports", snap+"-0001.rdb")
	if err != nil || s.Results[0].Outcome != OutcomeVerified {
		t.Fatalf("%+v %v", s, err)
	}
	got := r.record(t, e)
	if len(got.Objects) != 2 || got.Objects[0].Key != snap+"-0001.rdb" {
		t.Fatalf("objects %+v", got.Objects)
	}
}

func TestForeignInputIsRefusedOrIgnored(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.v.ObjectCreated(ctx, "someone-elses", "cacheport/x/x-20261124-0300/a1/x.rdb"); !errors.Is(err, ErrNotOurs) {
		t.Errorf("foreign bucket: %v", err)
	}
	for _, key := range []string{"other/prefix/file.rdb", "cacheport/x/x-20261124-0300/export.json", "cacheport-nope", "cacheport/x/x-20261124-0300/a1/x.rdb"} {
		s, err := r.v.ObjectCreated(ctx, "exports", key)
		if err != nil || s.Results[0].Outcome != OutcomeNothing {
			t.Errorf("%s: %+v %v", key, s, err)
		}
	}
	for _, key := range []string{"cacheport/x/x-20261124-0300/manifest.json", "elsewhere/x/y/export.json", "cacheport/x/x-20261124-0300/export.json"} {
		if _, err := r.v.Started(ctx, key, false); !errors.Is(err, ErrNotOurs) {
			t.Errorf("Started(%s): %v", key, err)
		}
	}
	if len(r.s3.Objects) != 0 || len(r.bus.Types()) != 0 {
		t.Fatalf("foreign input wrote %d objects and %v", len(r.s3.Objects), r.bus.Types())
	}
}

func TestFirstSegment(t *testing.T) {
	for k, want := range map[string]string{
		"cacheport-carts-20261124-0300-a1-0001.rdb":     "cacheport-carts-20261124-0300-a1",
		"cacheport-carts-20261124-0300-a1/anything.rdb": "cacheport-carts-20261124-0300-a1",
		"cacheport-carts-20261124-0300-a1/x/y-0001.rdb": "cacheport-carts-20261124-0300-a1",
		"cacheport-carts-20261124-0300-a1":              "cacheport-carts-20261124-0300-a1",
		strings.Repeat("x", 3) + "-0001.rdb":            "xxx",
	} {
		if got := firstSegment(k); got != want {
			t.Errorf("firstSegment(%q) = %q, want %q", k, got, want)
		}
	}
}
