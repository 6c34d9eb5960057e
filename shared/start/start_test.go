package start

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
)

var tick = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC) // a Tuesday

type rig struct {
	ec    *fakes.ElastiCache
	s3    *fakes.S3
	bus   *fakes.Bus
	m     *export.Machine
	st    *Starter
	clock time.Time
}

func newRig(t *testing.T, opts Options) *rig {
	t.Helper()
	r := &rig{ec: &fakes.ElastiCache{}, s3: fakes.NewS3(), bus: &fakes.Bus{}, clock: tick.Add(20 * time.Second)}
	r.ec.Now = func() time.Time { return r.clock }
	r.m = export.NewMachine(export.NewStore(r.s3, "exports"), export.NewPublisher(r.bus, "cacheport"), export.WithClock(func() time.Time { return r.clock }))
	if opts.Bucket == "" {
		opts.Bucket = "exports"
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 3
	}
	opts.Concurrency = 3
	r.st = New(opts, r.ec, r.m, nil, nil)
	return r
}

func rg(id string, shards int, replica bool, extra ...func(*ectypes.ReplicationGroup)) ectypes.ReplicationGroup {
	g := ectypes.ReplicationGroup{ReplicationGroupId: aws.String(id), Status: aws.String("available"), Engine: aws.String("valkey"),
		ARN: aws.String("arn:aws:elasticache:us-east-1:111122223333:replicationgroup:" + id)}
	for i := 1; i <= shards; i++ {
		ng := ectypes.NodeGroup{NodeGroupId: aws.String("000" + string(rune('0'+i)))}
		ng.NodeGroupMembers = append(ng.NodeGroupMembers, ectypes.NodeGroupMember{CacheClusterId: aws.String(id + "-001"), CurrentRole: aws.String("primary")})
		if replica {
			ng.NodeGroupMembers = append(ng.NodeGroupMembers, ectypes.NodeGroupMember{CacheClusterId: aws.String(id + "-002"), CurrentRole: aws.String("replica")})
		}
		g.NodeGroups = append(g.NodeGroups, ng)
	}
	if shards > 1 {
		g.ClusterEnabled = aws.Bool(true)
	}
	for _, f := range extra {
		f(&g)
	}
	return g
}

func (r *rig) fleet() {
	r.ec.ReplicationGroups = []ectypes.ReplicationGroup{
		rg("orders", 1, true),
		rg("sessions", 3, true),
		rg("tiered", 1, false, func(g *ectypes.ReplicationGroup) { g.DataTiering = ectypes.DataTieringStatusEnabled }),
	}
	r.ec.CacheClusters = []ectypes.CacheCluster{
		{CacheClusterId: aws.String("orders-001"), ReplicationGroupId: aws.String("orders"), Engine: aws.String("valkey"), CacheClusterStatus: aws.String("available")},
		{CacheClusterId: aws.String("orders-002"), ReplicationGroupId: aws.String("orders"), Engine: aws.String("valkey"), CacheClusterStatus: aws.String("available")},
		{CacheClusterId: aws.String("legacy"), Engine: aws.String("redis"), CacheClusterStatus: aws.String("available"), NumCacheNodes: aws.Int32(1)},
		{CacheClusterId: aws.String("memo"), Engine: aws.String("memcached"), CacheClusterStatus: aws.String("available"), NumCacheNodes: aws.Int32(2)},
	}
	r.ec.ServerlessCaches = []ectypes.ServerlessCache{
		{ServerlessCacheName: aws.String("carts"), Engine: aws.String("valkey"), Status: aws.String("available")},
	}
}

func outcomes(s *Summary) map[string]Outcome {
	out := map[string]Outcome{}
	for _, r := range s.Results {
		out[r.Cache] = r.Outcome
	}
	return out
}

func (r *rig) load(t *testing.T, cache string) *export.Export {
	t.Helper()
	l, err := export.NewLayout("cacheport", cache, cache+"-20261124-0300")
	if err != nil {
		t.Fatal(err)
	}
	e, err := r.m.Load(context.Background(), l.RecordKey())
	if err != nil {
		t.Fatalf("load %s: %v", cache, err)
	}
	return e
}

func (r *rig) started(t *testing.T) map[string]export.Detail {
	t.Helper()
	out := map[string]export.Detail{}
	for _, in := range r.bus.Events {
		for _, e := range in.Entries {
			if aws.ToString(e.DetailType) != export.DetailStarted {
				continue
			}
			var d export.Detail
			if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
				t.Fatal(err)
			}
			out[d.Cache] = d
		}
	}
	return out
}

func TestWindowThenAdvanceStartsEveryExportableCache(t *testing.T) {
	r := newRig(t, Options{})
	r.fleet()
	ctx := context.Background()
	sum, err := r.st.Window(ctx, tick)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Outcome{"orders": OutcomeSnapshot, "sessions": OutcomeSnapshot, "legacy": OutcomeSnapshot, "carts": OutcomeSnapshot,
		"tiered": OutcomeSkipped, "memo": OutcomeSkipped}
	if got := outcomes(sum); !equalMap(got, want) {
		t.Fatalf("window outcomes %v, want %v", got, want)
	}
	if sum.Window != "20261124-0300" {
		t.Errorf("window %q", sum.Window)
	}
	// Snapshots: named per CONTRACTS.md, tagged, from the replica where there is one.
	byName := map[string]ectypes.Snapshot{}
	for _, s := range r.ec.Snapshots {
		byName[aws.ToString(s.SnapshotName)] = s
	}
	if s := byName["cacheport-orders-20261124-0300-a1"]; aws.ToString(s.CacheClusterId) != "orders-002" {
		t.Errorf("orders snapshot taken from %q, want the replica orders-002", aws.ToString(s.CacheClusterId))
	}
	if s := byName["cacheport-sessions-20261124-0300-a1"]; aws.ToString(s.ReplicationGroupId) != "sessions" {
		t.Errorf("cluster-mode-enabled group not snapshotted as a whole: %+v", s)
	}
	if s := byName["cacheport-legacy-20261124-0300-a1"]; aws.ToString(s.CacheClusterId) != "legacy" {
		t.Errorf("standalone cluster snapshot: %+v", s)
	}
	for _, name := range []string{"cacheport-orders-20261124-0300-a1", "cacheport-carts-20261124-0300-a1"} {
		id := strings.TrimSuffix(strings.TrimPrefix(name, "cacheport-"), "-a1")
		if !export.OwnsSnapshot(name, r.ec.Tags[name], id) {
			t.Errorf("snapshot %s lacks cacheport's ownership tags: %v", name, r.ec.Tags[name])
		}
	}
	if e := r.load(t, "orders"); e.Stage != export.StageSnapshotting || !e.Source.MadeByCacheport || e.Source.Snapshot != "cacheport-orders-20261124-0300-a1" {
		t.Fatalf("orders record %+v", e.Record)
	}

	// Nothing is available yet: the advance sweep waits.
	r.clock = r.clock.Add(time.Minute)
	sum, err = r.st.Advance(ctx, r.clock)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ec.Copies) != 0 || sum.Counts[string(OutcomeWaiting)] != 4 {
		t.Fatalf("advance before snapshots were ready: copies %d, counts %v", len(r.ec.Copies), sum.Counts)
	}

	for _, n := range []string{"orders", "sessions", "legacy", "carts"} {
		r.ec.Finish("cacheport-"+n+"-20261124-0300-a1", "available")
	}
	r.clock = r.clock.Add(5 * time.Minute)
	if sum, err = r.st.Advance(ctx, r.clock); err != nil {
		t.Fatal(err)
	}
	if sum.Counts[string(OutcomeStarted)] != 4 {
		t.Fatalf("advance outcomes %v", sum.Counts)
	}
	copies := map[string]string{}
	for _, c := range r.ec.Copies {
		if aws.ToString(c.TargetBucket) != "exports" {
			t.Errorf("copy to bucket %q", aws.ToString(c.TargetBucket))
		}
		copies[aws.ToString(c.SourceSnapshotName)] = aws.ToString(c.TargetSnapshotName)
	}
	if got := copies["cacheport-orders-20261124-0300-a1"]; got != "cacheport/orders/orders-20261124-0300/a1/orders-20261124-0300" {
		t.Errorf("orders target name %q", got)
	}
	if len(r.ec.ServerlessExports) != 1 || aws.ToString(r.ec.ServerlessExports[0].ServerlessCacheSnapshotName) != "cacheport-carts-20261124-0300-a1" {
		t.Errorf("serverless exports %+v", r.ec.ServerlessExports)
	}
	st := r.started(t)
	if d := st["sessions"]; d.Expect == nil || d.Expect.Shards != 3 || len(d.Expect.Keys) != 3 ||
		d.Expect.Keys[2] != "cacheport/sessions/sessions-20261124-0300/a1/sessions-20261124-0300-0003.rdb" || d.Stage != export.StageExporting {
		t.Errorf("sessions Export Started %+v", d)
	}
	if d := st["carts"]; d.Expect == nil || d.Expect.KeyPrefix != "cacheport-carts-20261124-0300-a1" || d.Kind != export.KindServerless {
		t.Errorf("carts Export Started %+v", d)
	}
	if e := r.load(t, "sessions"); e.Stage != export.StageExporting || e.Target != "cacheport/sessions/sessions-20261124-0300/a1/sessions-20261124-0300" || e.Cache.Shards != 3 {
		t.Errorf("sessions record %+v", e.Record)
	}
}

func TestWindowIsIdempotent(t *testing.T) {
	r := newRig(t, Options{})
	r.fleet()
	ctx := context.Background()
	if _, err := r.st.Window(ctx, tick); err != nil {
		t.Fatal(err)
	}
	snaps, puts := len(r.ec.Snapshots), r.s3.Puts
	// Same window, a retried or duplicated tick a little later.
	sum, err := r.st.Window(ctx, tick.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ec.Snapshots) != snaps {
		t.Fatalf("second tick made %d more snapshots", len(r.ec.Snapshots)-snaps)
	}
	if r.s3.Puts != puts {
		t.Fatalf("second tick wrote %d records", r.s3.Puts-puts)
	}
	for _, res := range sum.Results {
		if res.Outcome != OutcomeWaiting && res.Outcome != OutcomeSkipped {
			t.Errorf("second tick: %s %s", res.Cache, res.Outcome)
		}
	}
	// A snapshot still being made holds the next window back (a backup is running) ...
	held, err := r.st.Window(ctx, tick.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if held.Counts[string(OutcomeWaiting)] != 3 {
		t.Fatalf("next window while snapshots are creating: %v", held.Counts)
	}
	// ... and once they are done, the next window is a new export of each cache.
	for _, n := range []string{"orders", "sessions", "legacy", "carts"} {
		r.ec.Finish("cacheport-"+n+"-20261124-0300-a1", "available")
	}
	next, err := r.st.Window(ctx, tick.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if next.Counts[string(OutcomeSkipped)] != 2 || next.Counts[string(OutcomeSnapshot)]+next.Counts[string(OutcomeWaiting)] != 4 {
		t.Fatalf("next window %v", next.Counts)
	}
	for _, c := range []string{"orders", "sessions", "legacy", "carts"} {
		l, _ := export.NewLayout("cacheport", c, c+"-20261125-0300")
		e, err := r.m.Load(ctx, l.RecordKey())
		if err != nil || e.Stage != export.StageSnapshotting {
			t.Errorf("%s next window: %v %+v", c, err, e)
		}
	}
}

func TestConcurrentTicksBeginEachExportOnce(t *testing.T) {
	r := newRig(t, Options{})
	r.fleet()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.st.Window(context.Background(), tick); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	names := map[string]int{}
	for _, s := range r.ec.Snapshots {
		names[aws.ToString(s.SnapshotName)]++
	}
	names["carts"] = len(r.ec.ServerlessSnapshots)
	for n, c := range names {
		if c != 1 {
			t.Errorf("%s: %d snapshots, want 1", n, c)
		}
	}
	for _, c := range []string{"orders", "sessions", "legacy", "carts"} {
		if e := r.load(t, c); e.Stage != export.StageSnapshotting || e.Attempt != 1 {
			t.Errorf("%s: %s attempt %d", c, e.Stage, e.Attempt)
		}
	}
}

func TestFreshAutomaticBackupIsExportedAsIs(t *testing.T) {
	r := newRig(t, Options{MaxBackupAge: 24 * time.Hour})
	r.ec.ReplicationGroups = []ectypes.ReplicationGroup{rg("orders", 1, true)}
	r.ec.Snapshots = []ectypes.Snapshot{{SnapshotName: aws.String("automatic.orders-2026-11-24-01-00"), SnapshotSource: aws.String("automated"),
		SnapshotStatus: aws.String("available"), ReplicationGroupId: aws.String("orders"), NumNodeGroups: aws.Int32(1),
		NodeSnapshots: []ectypes.NodeSnapshot{{SnapshotCreateTime: aws.Time(tick.Add(-2 * time.Hour))}}}}
	sum, err := r.st.Window(context.Background(), tick)
	if err != nil {
		t.Fatal(err)
	}
	if outcomes(sum)["orders"] != OutcomeStarted {
		t.Fatalf("outcomes %v", sum.Results)
	}
	if r.ec.CallCount("CreateSnapshot") != 0 || len(r.ec.Copies) != 1 || aws.ToString(r.ec.Copies[0].SourceSnapshotName) != "automatic.orders-2026-11-24-01-00" {
		t.Fatalf("creates %d copies %+v", r.ec.CallCount("CreateSnapshot"), r.ec.Copies)
	}
	e := r.load(t, "orders")
	if !e.Source.Automated || e.Source.MadeByCacheport || e.Stage != export.StageExporting {
		t.Fatalf("record %+v", e.Record)
	}
}

func TestSnapshotFailsOrVanishes(t *testing.T) {
	r := newRig(t, Options{SnapshotGrace: 2 * time.Minute})
	r.ec.ReplicationGroups = []ectypes.ReplicationGroup{rg("orders", 1, false), rg("sessions", 1, false)}
	ctx := context.Background()
	if _, err := r.st.Window(ctx, tick); err != nil {
		t.Fatal(err)
	}
	r.ec.Finish("cacheport-orders-20261124-0300-a1", "failed")
	// sessions' snapshot disappears (deleted by someone else).
	kept := r.ec.Snapshots[:0]
	for _, sn := range r.ec.Snapshots {
		if aws.ToString(sn.SnapshotName) != "cacheport-sessions-20261124-0300-a1" {
			kept = append(kept, sn)
		}
	}
	r.ec.Snapshots = kept
	r.clock = r.clock.Add(time.Minute)
	if _, err := r.st.Advance(ctx, r.clock); err != nil {
		t.Fatal(err)
	}
	if e := r.load(t, "orders"); e.Stage != export.StageFailed || e.Error.Code != "snapshot-failed" {
		t.Fatalf("orders %+v", e.Record)
	}
	if e := r.load(t, "sessions"); e.Stage != export.StageSnapshotting {
		t.Fatalf("sessions failed inside the grace period: %+v", e.Record)
	}
	r.clock = r.clock.Add(3 * time.Minute)
	if _, err := r.st.Advance(ctx, r.clock); err != nil {
		t.Fatal(err)
	}
	if e := r.load(t, "sessions"); e.Stage != export.StageFailed || e.Error.Code != "snapshot-missing" {
		t.Fatalf("sessions %+v", e.Record)
	}
	failed := 0
	for _, ty := range r.bus.Types() {
		if ty == export.DetailFailed {
			failed++
		}
	}
	if failed != 2 {
		t.Fatalf("%d Export Failed events, want 2 (%v)", failed, r.bus.Types())
	}
}

func TestThrottlingAndPartialFailure(t *testing.T) {
	r := newRig(t, Options{})
	r.ec.ReplicationGroups = []ectypes.ReplicationGroup{rg("a", 1, false), rg("b", 1, false), rg("c", 1, false)}
	ctx := context.Background()

	r.ec.Fail("DescribeReplicationGroups", fakes.Throttle())
	if _, err := r.st.Window(ctx, tick); err == nil {
		t.Fatal("a throttled discovery was not reported")
	}
	// CreateSnapshot: throttled once (the SDK's retryer gave up), and refused for good once.
	r.ec.Fail("CreateSnapshot", fakes.Throttle(), &ectypes.InvalidParameterValueException{Message: aws.String("bad")})
	sum, err := r.st.Window(ctx, tick)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, res := range sum.Results {
		got = append(got, string(res.Outcome))
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "failed,snapshotting,waiting" {
		t.Fatalf("outcomes %v", sum.Results)
	}
	if sum.Retry() {
		t.Fatal("the invocation asks for a retry although the advance sweep picks up every record")
	}
	// The throttled one is started by the next advance tick.
	if _, err := r.st.Advance(ctx, r.clock); err != nil {
		t.Fatal(err)
	}
	states := map[export.Stage]int{}
	for _, c := range []string{"a", "b", "c"} {
		states[r.load(t, c).Stage]++
	}
	if states[export.StageSnapshotting] != 2 || states[export.StageFailed] != 1 {
		t.Fatalf("stages after advance: %v", states)
	}
}

func TestCopyRefusalsMapToClearReasons(t *testing.T) {
	r := newRig(t, Options{})
	r.ec.ReplicationGroups = []ectypes.ReplicationGroup{rg("orders", 1, false)}
	ctx := context.Background()
	if _, err := r.st.Window(ctx, tick); err != nil {
		t.Fatal(err)
	}
	r.ec.Finish("cacheport-orders-20261124-0300-a1", "available")
	r.ec.Fail("CopySnapshot", &ectypes.InvalidParameterValueException{Message: aws.String("ElastiCache has not been granted READ permissions 540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353 on the S3 Bucket.")})
	if _, err := r.st.Advance(ctx, r.clock); err != nil {
		t.Fatal(err)
	}
	e := r.load(t, "orders")
	if e.Stage != export.StageFailed || e.Error.Code != "no-grant" || !strings.Contains(e.Error.Message, "doctor --fix") {
		t.Fatalf("record %+v", e.Record.Error)
	}
}

func TestFanOutThenRequested(t *testing.T) {
	r := newRig(t, Options{FanoutThreshold: 1})
	r.ec.ReplicationGroups = []ectypes.ReplicationGroup{rg("a", 1, false), rg("b", 1, false)}
	ctx := context.Background()
	sum, err := r.st.Window(ctx, tick)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Counts[string(OutcomeFannedOut)] != 2 || r.ec.CallCount("CreateSnapshot") != 0 {
		t.Fatalf("fan-out: %v, creates %d", sum.Counts, r.ec.CallCount("CreateSnapshot"))
	}
	var reqs []export.Detail
	for _, in := range r.bus.Events {
		for _, e := range in.Entries {
			if aws.ToString(e.DetailType) == export.DetailRequested {
				var d export.Detail
				_ = json.Unmarshal([]byte(aws.ToString(e.Detail)), &d)
				reqs = append(reqs, d)
			}
		}
	}
	if len(reqs) != 2 {
		t.Fatalf("%d Export Requested, want 2", len(reqs))
	}
	for _, d := range reqs {
		s, err := r.st.Requested(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if outcomes(s)[d.Cache] != OutcomeSnapshot {
			t.Fatalf("requested %s: %v", d.Cache, s.Results)
		}
		// A duplicate delivery changes nothing.
		if _, err := r.st.Requested(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if r.ec.CallCount("CreateSnapshot") != 2 {
		t.Fatalf("CreateSnapshot called %d times, want 2", r.ec.CallCount("CreateSnapshot"))
	}
}

func TestRequestedRejectsForeignRecords(t *testing.T) {
	r := newRig(t, Options{})
	ctx := context.Background()
	for _, d := range []export.Detail{
		{RecordKey: "elsewhere/orders/x/export.json"},
		{RecordKey: "cacheport/orders/orders-20261124-0300/manifest.json"},
		{RecordKey: "cacheport/orders/orders-20261124-0300/export.json", Bucket: "someone-elses"},
		{RecordKey: "cacheport/orders/orders-20261124-0300/export.json", ExportID: "other"},
		{RecordKey: "cacheport/orders/orders-20261124-0300/export.json"}, // no such record
	} {
		if _, err := r.st.Requested(ctx, d); !errors.Is(err, ErrNotOurs) {
			t.Errorf("Requested(%+v) = %v, want ErrNotOurs", d, err)
		}
	}
	if len(r.ec.Calls) != 0 {
		t.Fatalf("ElastiCache was called: %v", r.ec.Calls)
	}
}

func TestRequestedHonoursBackOff(t *testing.T) {
	r := newRig(t, Options{})
	r.ec.ReplicationGroups = []ectypes.ReplicationGroup{rg("orders", 1, false)}
	ctx := context.Background()
	e, err := r.m.Begin(ctx, export.NewExport{ExportID: "orders-20261124-0300", Cache: export.Cache{ID: "orders", Kind: export.KindReplicationGroup}, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.m.Fail(ctx, e, export.Error{Code: "snapshot-failed"})
	_ = r.m.Cleaned(ctx, e, nil)
	if _, err := r.m.NextAttempt(ctx, e, r.clock.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	d := export.DetailOf(&e.Record, e.Key)
	s, err := r.st.Requested(ctx, d)
	if err != nil || outcomes(s)["orders"] != OutcomeWaiting {
		t.Fatalf("during back-off: %v %v", s.Results, err)
	}
	r.clock = r.clock.Add(11 * time.Minute)
	if s, err = r.st.Requested(ctx, d); err != nil || outcomes(s)["orders"] != OutcomeSnapshot {
		t.Fatalf("after back-off: %v %v", s.Results, err)
	}
	if got := r.load(t, "orders"); got.Attempt != 2 || got.Source.Snapshot != "cacheport-orders-20261124-0300-a2" {
		t.Fatalf("attempt 2 record %+v", got.Record)
	}
}

func TestServerlessSnapshotCreatedMovesItsExport(t *testing.T) {
	r := newRig(t, Options{})
	r.ec.ServerlessCaches = []ectypes.ServerlessCache{{ServerlessCacheName: aws.String("carts"), Engine: aws.String("redis"), Status: aws.String("available")}}
	ctx := context.Background()
	if _, err := r.st.Window(ctx, tick); err != nil {
		t.Fatal(err)
	}
	r.ec.Finish("cacheport-carts-20261124-0300-a1", "available")
	s, err := r.st.SnapshotCreated(ctx, "cacheport-carts-20261124-0300-a1", r.clock)
	if err != nil || outcomes(s)["carts"] != OutcomeStarted {
		t.Fatalf("snapshot created: %v %v", s.Results, err)
	}
	if s, err := r.st.SnapshotCreated(ctx, "nightly-by-hand", r.clock); err != nil || len(s.Results) != 0 {
		t.Fatalf("a foreign snapshot was acted on: %v %v", s.Results, err)
	}
}

func TestDiscoveryErrorIsWrapped(t *testing.T) {
	r := newRig(t, Options{})
	r.ec.Fail("DescribeCacheClusters", errors.New("boom"))
	_, err := r.st.Window(context.Background(), tick)
	if err == nil || !strings.Contains(err.Error(), "find targets") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
}

func equalMap(a, b map[string]Outcome) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestOptionsFromConfig(t *testing.T) {
	c, err := config.Load(func(k string) string {
		return map[string]string{"CACHEPORT_BUCKET": "exports", "CACHEPORT_TARGET_TAG": "backup=yes", "CACHEPORT_STALE_AFTER": "6h", "CACHEPORT_ENGINES": "valkey"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	o := OptionsFrom(c)
	if o.Bucket != "exports" || o.Prefix != "cacheport" || o.Filter.TagKey != "backup" || o.Filter.TagValue != "yes" || o.Filter.Engines[0] != "valkey" ||
		o.MaxAttempts != 3 || o.SweepWindow != 7*time.Hour || o.SnapshotQuota != 20 {
		t.Fatalf("options %+v", o)
	}
}
