package ecsrv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/smithy-go"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/rdb"
	"github.com/cacheport/cacheport/shared/twin/core"
)

// exportRig has an available 3-shard snapshot "snap" of "sessions" (and of the other standard
// caches' ids where asked), with faults added before the export starts.
func exportRig(t *testing.T, faults ...[2]string) *rig {
	t.Helper()
	r := newRig(t)
	r.add(standardCaches()...)
	for _, f := range faults {
		r.faults.Add(f[0], f[1])
	}
	if _, err := r.ec.CreateSnapshot(context.Background(), &elasticache.CreateSnapshotInput{ReplicationGroupId: aws.String("sessions"), SnapshotName: aws.String("snap")}); err != nil {
		t.Fatal(err)
	}
	r.settle(2 * time.Minute)
	return r
}

func (r *rig) export(target string) { r.t.Helper(); r.exportFrom("snap", target) }

func (r *rig) exportFrom(source, target string) {
	r.t.Helper()
	if _, err := r.ec.CopySnapshot(context.Background(), &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String(source), TargetSnapshotName: aws.String(target), TargetBucket: aws.String(testBucket)}); err != nil {
		r.t.Fatal(err)
	}
}

func TestFaultSnapshotFails(t *testing.T) {
	r := newRig(t)
	r.add(standardCaches()...)
	r.faults.Add("snapshot-fails", "orders")
	ctx := context.Background()
	for _, in := range []*elasticache.CreateSnapshotInput{
		{ReplicationGroupId: aws.String("orders"), SnapshotName: aws.String("bad")},
		{CacheClusterId: aws.String("solo"), SnapshotName: aws.String("good")},
	} {
		if _, err := r.ec.CreateSnapshot(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	r.settle(2 * time.Minute)
	if st := r.status("bad"); st != "failed" {
		t.Errorf("orders snapshot: %q, want failed", st)
	}
	if st := r.status("good"); st != "available" {
		t.Errorf("solo snapshot: %q, want available (the fault names orders only)", st)
	}
	_, err := r.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String("bad"), TargetSnapshotName: aws.String("x"), TargetBucket: aws.String(testBucket)})
	var st *types.InvalidSnapshotStateFault
	if !errors.As(err, &st) {
		t.Errorf("export of a failed snapshot: %v", err)
	}
	// A failed snapshot is not transitional: it can be deleted.
	if _, err := r.ec.DeleteSnapshot(ctx, &elasticache.DeleteSnapshotInput{SnapshotName: aws.String("bad")}); err != nil {
		t.Errorf("delete failed snapshot: %v", err)
	}
}

func TestFaultExportFailsMidway(t *testing.T) {
	r := exportRig(t, [2]string{"export-fails-midway", "sessions"})
	r.export("mid")
	r.settle(10 * time.Minute)
	keys := r.bucket.keys(testBucket)
	if len(keys) != 1 || keys[0] != "mid-0001.rdb" {
		t.Errorf("objects %v, want only mid-0001.rdb", keys)
	}
	if st := r.status("snap"); st != "available" {
		t.Errorf("snapshot after the failed export: %q", st)
	}
	r.settle(3 * time.Hour)
	if n := len(r.bucket.keys(testBucket)); n != 1 {
		t.Errorf("%d objects later", n)
	}

	// One shard: the partial object is a truncated file.
	r2 := newRig(t)
	r2.add(Cache{ID: "solo", Kind: KindCacheCluster})
	r2.faults.Add("export-fails-midway", "")
	ctx := context.Background()
	if _, err := r2.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{CacheClusterId: aws.String("solo"), SnapshotName: aws.String("snap")}); err != nil {
		t.Fatal(err)
	}
	r2.settle(2 * time.Minute)
	r2.export("half")
	r2.settle(5 * time.Minute)
	rep, err := rdb.Verify(bytes.NewReader(r2.bucket.get(testBucket, "half-0001.rdb")))
	if err != nil || rep.Valid {
		t.Errorf("partial object verifies: %v %+v", err, rep)
	}
}

func TestFaultExportStuck(t *testing.T) {
	r := exportRig(t, [2]string{"export-stuck", "sessions"})
	r.export("stuck")
	r.settle(6 * time.Hour)
	if keys := r.bucket.keys(testBucket); len(keys) != 0 {
		t.Errorf("objects %v", keys)
	}
	if st := r.status("snap"); st != "exporting" {
		t.Errorf("status %q, want exporting", st)
	}
	_, err := r.ec.DeleteSnapshot(context.Background(), &elasticache.DeleteSnapshotInput{SnapshotName: aws.String("snap")})
	var st *types.InvalidSnapshotStateFault
	if !errors.As(err, &st) {
		t.Errorf("delete stuck: %v", err)
	}
	if r.srv.Pending() {
		t.Error("a stuck export counts as pending")
	}
}

func TestFaultCorruptObject(t *testing.T) {
	r := exportRig(t, [2]string{"corrupt-object", "sessions"})
	r.export("bad")
	r.settle(5 * time.Minute)
	keys := r.bucket.keys(testBucket)
	if len(keys) != 3 {
		t.Fatalf("objects %v", keys)
	}
	invalid := 0
	for _, k := range keys {
		rep, err := rdb.Verify(bytes.NewReader(r.bucket.get(testBucket, k)))
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Valid {
			invalid++
			if k != "bad-0003.rdb" {
				t.Errorf("%s is the damaged one, want bad-0003.rdb", k)
			}
		}
	}
	if invalid != 1 {
		t.Errorf("%d damaged objects, want 1", invalid)
	}
	if st := r.status("snap"); st != "available" {
		t.Errorf("status %q", st)
	}
}

func TestFaultMissingObject(t *testing.T) {
	r := exportRig(t, [2]string{"missing-object", "sessions"})
	r.export("miss")
	r.settle(5 * time.Hour)
	if keys := r.bucket.keys(testBucket); fmt.Sprint(keys) != "[miss-0001.rdb miss-0002.rdb]" {
		t.Errorf("objects %v", keys)
	}
	if st := r.status("snap"); st != "available" {
		t.Errorf("status %q", st)
	}
}

func TestFaultLateObject(t *testing.T) {
	r := exportRig(t, [2]string{"late-object", "sessions"})
	r.export("late")
	r.settle(10 * time.Minute)
	if keys := r.bucket.keys(testBucket); len(keys) != 2 {
		t.Errorf("after 10 min: %v", keys)
	}
	if st := r.status("snap"); st != "available" {
		t.Errorf("status after the others landed: %q", st)
	}
	if !r.srv.Pending() {
		t.Error("late object not pending")
	}
	r.settle(2 * time.Hour)
	if keys := r.bucket.keys(testBucket); len(keys) != 3 || keys[2] != "late-0003.rdb" {
		t.Errorf("after 2 h: %v", keys)
	}
	if r.srv.Pending() {
		t.Error("still pending")
	}
	// The late object survives its snapshot being deleted.
	r2 := exportRig(t, [2]string{"late-object", ""})
	r2.export("gone")
	r2.settle(5 * time.Minute)
	if _, err := r2.ec.DeleteSnapshot(context.Background(), &elasticache.DeleteSnapshotInput{SnapshotName: aws.String("snap")}); err != nil {
		t.Fatal(err)
	}
	r2.settle(2 * time.Hour)
	if n := len(r2.bucket.keys(testBucket)); n != 3 {
		t.Errorf("%d objects after the late one was due", n)
	}
}

func TestFaultDeny(t *testing.T) {
	r := exportRig(t, [2]string{"deny", "elasticache:CopySnapshot"})
	_, err := r.ec.CopySnapshot(context.Background(), &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String("snap"), TargetSnapshotName: aws.String("x"), TargetBucket: aws.String(testBucket)})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" || awserr.Classify(err) != awserr.Permission {
		t.Fatalf("denied copy: %v", err)
	}
	if !strings.Contains(err.Error(), "elasticache:CopySnapshot") {
		t.Errorf("message does not name the action: %v", err)
	}
	if _, err := r.ec.DescribeSnapshots(context.Background(), &elasticache.DescribeSnapshotsInput{}); err != nil {
		t.Errorf("other actions are allowed: %v", err)
	}
}

func TestFaultThrottle(t *testing.T) {
	r := newRig(t)
	r.add(standardCaches()...)
	r.faults.Add("throttle", "")
	ctx := context.Background()
	// The SDK retries Throttling: every call gets through. More attempts than the default 3:
	// under the race detector, a retried request now and then loses its connection on the
	// client's side (smithy-go rewinds the shared request body while net/http's write loop of
	// the previous attempt may still probe it; the transport then closes the connection: "use of
	// closed network connection", which the SDK retries).
	ec := r.client("TESTKEY", func(o *elasticache.Options) { o.RetryMaxAttempts = 6 })
	for i := 0; i < 12; i++ {
		if _, err := ec.DescribeReplicationGroups(ctx, &elasticache.DescribeReplicationGroupsInput{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := len(r.calls.Calls()); n < 15 || n > 20 {
		t.Errorf("%d requests for 12 calls, want 15 or 16 (every 4th throttled and retried)", n)
	}
	// Without retries, the throttled call fails with Throttling, a class cacheport retries.
	noRetry := r.client("NORETRY", func(o *elasticache.Options) { o.RetryMaxAttempts = 1 })
	throttled := 0
	for i := 0; i < 8; i++ {
		_, err := noRetry.DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{})
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			if apiErr.ErrorCode() != "Throttling" || awserr.Classify(err) != awserr.Throttled {
				t.Errorf("error %v", err)
			}
			throttled++
		}
	}
	if throttled != 2 {
		t.Errorf("%d of 8 calls throttled, want 2", throttled)
	}
}

// TestServerlessLifecycle covers the serverless snapshot, its export and its events.
func TestServerlessLifecycle(t *testing.T) {
	r := newRig(t)
	r.add(Cache{ID: "carts", Kind: KindServerless, Engine: "valkey", Shards: 2}, Cache{ID: "flaky", Kind: KindServerless})
	r.faults.Add("snapshot-fails", "flaky")
	ctx := context.Background()
	name := "cacheport-carts-20261124-0300-a1"
	out, err := r.ec.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{ServerlessCacheName: aws.String("carts"), ServerlessCacheSnapshotName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ServerlessCacheSnapshot.Status) != "creating" {
		t.Errorf("status %q", aws.ToString(out.ServerlessCacheSnapshot.Status))
	}
	_, err = r.ec.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{ServerlessCacheName: aws.String("carts"), ServerlessCacheSnapshotName: aws.String(name)})
	var exists *types.ServerlessCacheSnapshotAlreadyExistsFault
	if !errors.As(err, &exists) {
		t.Errorf("same name: %v", err)
	}
	_, err = r.ec.ExportServerlessCacheSnapshot(ctx, &elasticache.ExportServerlessCacheSnapshotInput{ServerlessCacheSnapshotName: aws.String(name), S3BucketName: aws.String(testBucket)})
	var state *types.InvalidServerlessCacheSnapshotStateFault
	if !errors.As(err, &state) {
		t.Errorf("export while creating: %v", err)
	}
	if _, err := r.ec.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{ServerlessCacheName: aws.String("flaky"), ServerlessCacheSnapshotName: aws.String("flaky-1")}); err != nil {
		t.Fatal(err)
	}
	r.settle(2 * time.Minute)

	evs := r.events.all()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2: %+v", len(evs), evs)
	}
	byType := map[string]map[string]any{}
	for _, ev := range evs {
		if ev.Bus != "default" || ev.Source != "aws.elasticache" || len(ev.Resources) != 1 {
			t.Errorf("event %+v", ev)
		}
		var d map[string]any
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		byType[ev.DetailType] = d
	}
	created := byType[DetailSnapshotCreated]
	if created["SourceIdentifier"] != name || created["SourceType"] != "serverless-cache-snapshot" || created["EventID"] != "ECACHE-SNAPSHOT-SNAPSHOT-CREATED" ||
		created["SourceArn"] != "arn:aws:elasticache:us-east-1:111122223333:serverlesscachesnapshot:"+name {
		t.Errorf("Snapshot Created detail %v", created)
	}
	if md, _ := created["EventMetadata"].(map[string]any); md["ServerlessCacheName"] != "carts" || md["SnapshotName"] != name {
		t.Errorf("metadata %v", created["EventMetadata"])
	}
	if byType[DetailSnapshotCreationFailed]["SourceIdentifier"] != "flaky-1" {
		t.Errorf("Snapshot Creation Failed: %v", byType[DetailSnapshotCreationFailed])
	}

	exp, err := r.ec.ExportServerlessCacheSnapshot(ctx, &elasticache.ExportServerlessCacheSnapshotInput{ServerlessCacheSnapshotName: aws.String(name), S3BucketName: aws.String(testBucket)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(exp.ServerlessCacheSnapshot.Status) != "exporting" {
		t.Errorf("export status %q", aws.ToString(exp.ServerlessCacheSnapshot.Status))
	}
	_, err = r.ec.DeleteServerlessCacheSnapshot(ctx, &elasticache.DeleteServerlessCacheSnapshotInput{ServerlessCacheSnapshotName: aws.String(name)})
	if !errors.As(err, &state) || !strings.Contains(err.Error(), "transitional snapshots cannot be deleted") {
		t.Errorf("delete while exporting: %v", err)
	}
	r.settle(3 * time.Minute)
	if keys := r.bucket.keys(testBucket); fmt.Sprint(keys) != fmt.Sprintf("[%s-0001.rdb %s-0002.rdb]", name, name) {
		t.Errorf("objects %v", keys)
	}
	for _, k := range r.bucket.keys(testBucket) {
		rep, err := rdb.Verify(bytes.NewReader(r.bucket.get(testBucket, k)))
		if err != nil || !rep.Valid || len(rep.KeysByDB) != 1 {
			t.Errorf("%s: %v %+v", k, err, rep)
		}
	}
	if st := r.status(name); st != "available" {
		t.Errorf("after export %q", st)
	}
	// Exporting the same snapshot to the same bucket again collides with its own keys.
	_, err = r.ec.ExportServerlessCacheSnapshot(ctx, &elasticache.ExportServerlessCacheSnapshotInput{ServerlessCacheSnapshotName: aws.String(name), S3BucketName: aws.String(testBucket)})
	if code, _ := awserr.CopySnapshotAdvice(err); code != awserr.CopyTargetExists {
		t.Errorf("second export: %v", err)
	}
	if _, err := r.ec.DeleteServerlessCacheSnapshot(ctx, &elasticache.DeleteServerlessCacheSnapshotInput{ServerlessCacheSnapshotName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	_, err = r.ec.DescribeServerlessCacheSnapshots(ctx, &elasticache.DescribeServerlessCacheSnapshotsInput{ServerlessCacheSnapshotName: aws.String(name)})
	var nf *types.ServerlessCacheSnapshotNotFoundFault
	if !errors.As(err, &nf) {
		t.Errorf("describe deleted: %v", err)
	}
	if n := len(r.events.all()); n != 2 {
		t.Errorf("%d events after a good export, want 2 (there is no export-succeeded event)", n)
	}
}

func TestServerlessExportFailedEvent(t *testing.T) {
	r := newRig(t)
	r.add(Cache{ID: "carts", Kind: KindServerless, Shards: 2})
	r.faults.Add("export-fails-midway", "carts")
	ctx := context.Background()
	if _, err := r.ec.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{ServerlessCacheName: aws.String("carts"), ServerlessCacheSnapshotName: aws.String("s1")}); err != nil {
		t.Fatal(err)
	}
	r.settle(2 * time.Minute)
	if _, err := r.ec.ExportServerlessCacheSnapshot(ctx, &elasticache.ExportServerlessCacheSnapshotInput{ServerlessCacheSnapshotName: aws.String("s1"), S3BucketName: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	r.settle(5 * time.Minute)
	evs := r.events.all()
	if len(evs) != 2 || evs[1].DetailType != DetailSnapshotExportFailed {
		t.Fatalf("events %+v", evs)
	}
	var d map[string]any
	_ = json.Unmarshal(evs[1].Detail, &d)
	if d["EventID"] != "ECACHE-SNAPSHOT-SNAPSHOT-EXPORT-FAILED" || !strings.Contains(d["Message"].(string), testBucket) {
		t.Errorf("detail %v", d)
	}
	if keys := r.bucket.keys(testBucket); len(keys) != 1 {
		t.Errorf("objects %v", keys)
	}
}

// TestNoEventsForNodeBasedClusters: node-based clusters send no events to EventBridge, whatever
// happens to their snapshots (AWS-FACTS.md, "Events").
func TestNoEventsForNodeBasedClusters(t *testing.T) {
	r := newRig(t)
	r.add(standardCaches()...)
	r.faults.Add("snapshot-fails", "solo")
	r.faults.Add("export-fails-midway", "sessions")
	ctx := context.Background()
	for _, in := range []*elasticache.CreateSnapshotInput{
		{ReplicationGroupId: aws.String("orders"), SnapshotName: aws.String("o")},
		{ReplicationGroupId: aws.String("sessions"), SnapshotName: aws.String("s")},
		{CacheClusterId: aws.String("solo"), SnapshotName: aws.String("x")},
		{ReplicationGroupId: aws.String("tiered"), SnapshotName: aws.String("t")},
	} {
		if _, err := r.ec.CreateSnapshot(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	r.settle(2 * time.Minute)
	for _, src := range []string{"o", "s"} {
		if _, err := r.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String(src), TargetSnapshotName: aws.String("e-" + src), TargetBucket: aws.String(testBucket)}); err != nil {
			t.Fatal(err)
		}
	}
	r.settle(10 * time.Minute)
	if evs := r.events.all(); len(evs) != 0 {
		t.Errorf("node-based clusters raised %d events: %+v", len(evs), evs)
	}
	if st := r.status("x"); st != "failed" {
		t.Errorf("solo snapshot %q", st)
	}
	// DescribeEvents does report them, as AWS does.
	out, err := r.ec.DescribeEvents(ctx, &elasticache.DescribeEventsInput{SourceIdentifier: aws.String("solo"), Duration: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range out.Events {
		if strings.Contains(aws.ToString(e.Message), "Snapshot failed") && e.SourceType == types.SourceTypeCacheCluster {
			found = true
		}
	}
	if !found {
		t.Errorf("DescribeEvents: %+v", out.Events)
	}
}

func TestCallLog(t *testing.T) {
	r := newRig(t)
	r.add(standardCaches()...)
	ctx := context.Background()
	fn := r.client("StartExportFunction")
	if _, err := fn.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{ReplicationGroupId: aws.String("orders"), SnapshotName: aws.String("snap")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fn.DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{SnapshotName: aws.String("snap")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ec.ListTagsForResource(ctx, &elasticache.ListTagsForResourceInput{ResourceName: aws.String("arn:aws:elasticache:us-east-1:111122223333:replicationgroup:orders")}); err != nil {
		t.Fatal(err)
	}
	calls := r.calls.Calls()
	if len(calls) != 3 {
		t.Fatalf("calls %+v", calls)
	}
	want := []struct{ caller, op, res string }{
		{"StartExportFunction", "CreateSnapshot", "snap"},
		{"StartExportFunction", "DescribeSnapshots", "snap"},
		{"TESTKEY", "ListTagsForResource", "orders"},
	}
	for i, w := range want {
		c := calls[i]
		if c.Caller != w.caller || c.Service != "elasticache" || c.Operation != w.op || c.Resource != w.res {
			t.Errorf("call %d: %+v, want %+v", i, c, w)
		}
	}
	ops := r.calls.Operations()["StartExportFunction"]
	if !hasString(ops, "elasticache:CreateSnapshot") || !hasString(ops, "elasticache:DescribeSnapshots") {
		t.Errorf("operations %v", ops)
	}
}

// TestRunInBackground lets Run drive the lifecycle on a fast clock, as the sandbox does.
func TestRunInBackground(t *testing.T) {
	clock := core.NewScaledClock(time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), 6000) // a minute every 10 ms
	r := newRig(t, func(o *Options) { o.Clock = clock })
	r.add(Cache{ID: "solo", Kind: KindCacheCluster})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { r.srv.Run(ctx, 5*time.Millisecond); close(done) }()
	if _, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{CacheClusterId: aws.String("solo"), SnapshotName: aws.String("bg")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.status("bg") != "available" {
		if time.Now().After(deadline) {
			t.Fatalf("still %q", r.status("bg"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.exportFrom("bg", "bg-export")
	for len(r.bucket.keys(testBucket)) != 1 || r.srv.Pending() {
		if time.Now().After(deadline) {
			t.Fatalf("objects %v, pending %v", r.bucket.keys(testBucket), r.srv.Pending())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

// TestEventShapes compares the events' details with the sample events in events/ (the shapes
// AWS sends): the same fields, the same metadata fields, the same EventID and category.
func TestEventShapes(t *testing.T) {
	r := newRig(t)
	r.add(Cache{ID: "carts", Kind: KindServerless, Shards: 2}, Cache{ID: "flaky", Kind: KindServerless})
	r.faults.Add("snapshot-fails", "flaky")
	r.faults.Add("export-fails-midway", "carts")
	ctx := context.Background()
	for _, in := range [][2]string{{"carts", "c1"}, {"flaky", "f1"}} {
		if _, err := r.ec.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{ServerlessCacheName: aws.String(in[0]), ServerlessCacheSnapshotName: aws.String(in[1])}); err != nil {
			t.Fatal(err)
		}
	}
	r.settle(2 * time.Minute)
	if _, err := r.ec.ExportServerlessCacheSnapshot(ctx, &elasticache.ExportServerlessCacheSnapshotInput{ServerlessCacheSnapshotName: aws.String("c1"), S3BucketName: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	r.settle(5 * time.Minute)
	got := map[string]map[string]any{}
	for _, ev := range r.events.all() {
		var d map[string]any
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		got[ev.DetailType] = d
	}
	for file, detailType := range map[string]string{
		"elasticache-snapshot-created.json":         DetailSnapshotCreated,
		"elasticache-snapshot-creation-failed.json": DetailSnapshotCreationFailed,
		"elasticache-snapshot-export-failed.json":   DetailSnapshotExportFailed,
	} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", file))
		if err != nil {
			t.Fatalf("sample event: %v", err)
		}
		var sample struct {
			DetailType string         `json:"detail-type"`
			Source     string         `json:"source"`
			Detail     map[string]any `json:"detail"`
		}
		if err := json.Unmarshal(b, &sample); err != nil {
			t.Fatal(err)
		}
		d, ok := got[detailType]
		if !ok || sample.DetailType != detailType || sample.Source != "aws.elasticache" {
			t.Errorf("%s: no %q event (sample says %q)", file, detailType, sample.DetailType)
			continue
		}
		if keysOf(d) != keysOf(sample.Detail) {
			t.Errorf("%s: detail fields %s, sample has %s", file, keysOf(d), keysOf(sample.Detail))
		}
		md, _ := d["EventMetadata"].(map[string]any)
		smd, _ := sample.Detail["EventMetadata"].(map[string]any)
		if keysOf(md) != keysOf(smd) {
			t.Errorf("%s: metadata fields %s, sample has %s", file, keysOf(md), keysOf(smd))
		}
		for _, k := range []string{"EventID", "SourceType"} {
			if d[k] != sample.Detail[k] {
				t.Errorf("%s: %s = %v, sample %v", file, k, d[k], sample.Detail[k])
			}
		}
		if fmt.Sprint(d["EventCategories"]) != fmt.Sprint(sample.Detail["EventCategories"]) {
			t.Errorf("%s: categories %v, sample %v", file, d["EventCategories"], sample.Detail["EventCategories"])
		}
	}
}

func keysOf(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}
