package cleanup

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/shared/export"
)

// An object of a dead attempt that lands after cleanup ran is deleted (every version) when its
// S3 event arrives, and recorded; the live attempt's objects are not touched.
func TestLateObject(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []export.Kind{export.KindReplicationGroup, export.KindServerless} {
		t.Run(string(kind), func(t *testing.T) {
			r := newRig(t, Options{})
			e := r.begin("orders", kind, t0, 3)
			r.snapshot(e, "available")
			r.exporting(e)
			r.fail(e, "export-incomplete")
			one(t)(r.c.Failed(ctx, r.detail(e)))
			e = r.load(e)
			r.snapshot(e, "available")
			r.exporting(e) // attempt 2 is live
			late, live := e.Layout().ShardKey(1, 1), e.Layout().ShardKey(2, 1)
			if kind == export.KindServerless {
				late, live = export.SnapshotName(e.ExportID, 1)+"-0001.rdb", export.SnapshotName(e.ExportID, 2)+"-0001.rdb"
			}
			r.put(late, "late")
			r.put(late, "late again")
			r.put(live, "live")

			res := one(t)(r.c.ObjectCreated(ctx, bucket, late))
			if res.Outcome != OutcomeRemoved || r.state()[late] != 0 {
				t.Fatalf("late object: %s, %d versions left", mustJSON(res), r.state()[late])
			}
			if got := r.load(e); !contains(removedNames(got), "object "+late) || got.Stage != export.StageExporting {
				t.Fatalf("record %s", mustJSON(got.Record))
			}
			res = one(t)(r.c.ObjectCreated(ctx, bucket, live))
			if res.Outcome != OutcomeKept || r.state()[live] != 1 {
				t.Fatalf("live object: %s", mustJSON(res))
			}
			// A duplicate event for the late object finds it gone.
			if res := one(t)(r.c.ObjectCreated(ctx, bucket, late)); res.Outcome != OutcomeNothing {
				t.Fatalf("duplicate: %s", mustJSON(res))
			}
		})
	}
}

// The stale sweep lists dead attempts of recent exports, so late objects whose events were
// lost go too; old exports are not listed again.
func TestStaleSweepFindsLateObjects(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Options{LateWindow: 24 * time.Hour})
	e := r.begin("orders", export.KindReplicationGroup, t0, 3)
	r.exporting(e)
	if err := r.m.Cancel(ctx, e, "by request"); err != nil {
		t.Fatal(err)
	}
	one(t)(r.c.Cancelled(ctx, r.detail(e)))
	late := e.Layout().ShardKey(1, 2)
	r.put(late, "late")
	sum, err := r.c.Stale(ctx, r.now())
	if err != nil || sum.Counts["removed"] != 1 || r.state()[late] != 0 {
		t.Fatalf("%v %s", err, mustJSON(sum))
	}
	r.put(late, "very late")
	r.advance(25 * time.Hour)
	if sum, _ := r.c.Stale(ctx, r.now()); len(sum.Results) != 0 || r.state()[late] != 1 {
		t.Fatalf("an old export was swept: %s", mustJSON(sum))
	}
}

// Cancel removes what every attempt wrote, with versions and cacheport's snapshots; the record
// stays cancelled and lists the removals.
func TestCancelled(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Options{})
	e := r.begin("orders", export.KindReplicationGroup, t0, 3)
	r.snapshot(e, "available")
	r.exporting(e)
	r.put(e.Layout().ShardKey(1, 1), "1")
	r.fail(e, "export-incomplete")
	if err := r.m.Cleaned(ctx, e, nil); err != nil { // as if cleanup's deletes were lost
		t.Fatal(err)
	}
	if _, err := r.m.NextAttempt(ctx, e, r.now()); err != nil {
		t.Fatal(err)
	}
	r.snapshot(e, "available")
	r.exporting(e)
	r.put(e.Layout().ShardKey(2, 1), "2")
	r.put(e.Layout().ShardKey(2, 1), "2 again")
	if err := r.m.Cancel(ctx, e, "operator"); err != nil {
		t.Fatal(err)
	}
	res := one(t)(r.c.Cancelled(ctx, r.detail(e)))
	got := r.load(e)
	if res.Outcome != OutcomeRemoved || got.Stage != export.StageCancelled || r.s3.VersionCount(e.Layout().Dir()+"a") != 0 ||
		r.hasSnapshot(export.SnapshotName(e.ExportID, 1)) || r.hasSnapshot(export.SnapshotName(e.ExportID, 2)) {
		t.Fatalf("%s\n%s", mustJSON(res), mustJSON(got.Record))
	}
	if n := len(removedNames(got)); n != 4 {
		t.Errorf("removed %v", removedNames(got))
	}
	if res := one(t)(r.c.Cancelled(ctx, r.detail(e))); res.Outcome != OutcomeNothing {
		t.Errorf("duplicate: %s", mustJSON(res))
	}
}

// Hostile or mistaken events delete nothing and say why.
func TestMaliciousEventsDeleteNothing(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Options{})
	good := r.begin("orders", export.KindReplicationGroup, t0.Add(-24*time.Hour), 3)
	r.verified(good, 2)
	sgood := r.begin("carts", export.KindServerless, t0.Add(-24*time.Hour), 3)
	r.verified(sgood, 0)
	r.put(export.SnapshotName(sgood.ExportID, 1)+"-0001.rdb", "verified serverless data")
	// An export whose id makes a1's stem a prefix of a10's keys.
	long := r.begin("orders", export.KindServerless, t0, 20)
	for long.Attempt < 10 {
		r.exporting(long)
		r.fail(long, "x")
		if err := r.m.Cleaned(ctx, long, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := r.m.NextAttempt(ctx, long, r.now()); err != nil {
			t.Fatal(err)
		}
	}
	r.exporting(long)
	r.put(export.SnapshotName(long.ExportID, 10)+"-0001.rdb", "live a10")
	r.put("elsewhere/orders/x.rdb", "other prefix")
	// A manual snapshot named like cacheport's without the tags, and an automatic backup
	// bearing cacheport's name and tags.
	fake := r.begin("sessions", export.KindReplicationGroup, t0, 3)
	r.exporting(fake)
	if _, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{SnapshotName: aws.String(export.SnapshotName(fake.ExportID, 1)), ReplicationGroupId: aws.String("sessions")}); err != nil {
		t.Fatal(err)
	}
	r.ec.Finish(export.SnapshotName(fake.ExportID, 1), "available")
	r.fail(fake, "export-incomplete")
	auto := r.begin("legacy", export.KindCacheCluster, t0, 3)
	r.exporting(auto)
	autoName := export.SnapshotName(auto.ExportID, 1)
	r.ec.Snapshots = append(r.ec.Snapshots, ectypes.Snapshot{SnapshotName: aws.String(autoName), SnapshotSource: aws.String("automated"),
		SnapshotStatus: aws.String("available"), ARN: aws.String(fakes.SnapshotARN(autoName))})
	r.ec.SetTags(fakes.SnapshotARN(autoName), export.OwnershipTags(auto.ExportID))
	r.fail(auto, "export-incomplete")
	r.ec.Snapshots = append(r.ec.Snapshots, ectypes.Snapshot{SnapshotName: aws.String("automatic.orders-2026-11-24-03-00"), SnapshotSource: aws.String("automated"), SnapshotStatus: aws.String("available")})

	before, deletes := r.state(), r.s3.Deletes
	for _, tc := range []struct {
		name    string
		run     func() (*Summary, error)
		outcome Outcome
		notOurs bool
	}{
		{"object of a verified export", func() (*Summary, error) { return r.c.ObjectCreated(ctx, bucket, good.Layout().ShardKey(1, 1)) }, OutcomeKept, false},
		{"serverless object of a verified export", func() (*Summary, error) {
			return r.c.ObjectCreated(ctx, bucket, export.SnapshotName(sgood.ExportID, 1)+"-0001.rdb")
		}, OutcomeKept, false},
		{"manifest of a verified export", func() (*Summary, error) { return r.c.ObjectCreated(ctx, bucket, good.Layout().ManifestKey()) }, OutcomeKept, false},
		{"record", func() (*Summary, error) { return r.c.ObjectCreated(ctx, bucket, good.Key) }, OutcomeKept, false},
		{"a10's key read as a1's", func() (*Summary, error) {
			return r.c.ObjectCreated(ctx, bucket, export.SnapshotName(long.ExportID, 10)+"-0001.rdb")
		}, OutcomeKept, false},
		{"key outside any export folder", func() (*Summary, error) { return r.c.ObjectCreated(ctx, bucket, "cacheport/orders") }, OutcomeRefused, false},
		{"attempt of an export without record", func() (*Summary, error) {
			return r.c.ObjectCreated(ctx, bucket, "cacheport/orders/orders-20991231-0000/a1/x.rdb")
		}, OutcomeRefused, false},
		{"cacheport- key of no export", func() (*Summary, error) {
			return r.c.ObjectCreated(ctx, bucket, "cacheport-nobody-20261124-0300-a1.rdb")
		}, OutcomeRefused, false},
		{"another prefix", func() (*Summary, error) { return r.c.ObjectCreated(ctx, bucket, "elsewhere/orders/x.rdb") }, "", true},
		{"foreign bucket", func() (*Summary, error) { return r.c.ObjectCreated(ctx, "other-bucket", good.Layout().ShardKey(1, 1)) }, "", true},
		{"automatic backup named in a failure event", func() (*Summary, error) {
			return r.c.ServerlessFailure(ctx, SnapshotFailure{DetailType: "Snapshot Export Failed", Snapshot: "automatic.orders-2026-11-24-03-00"})
		}, OutcomeRefused, false},
		{"failure event for a verified export", func() (*Summary, error) {
			return r.c.ServerlessFailure(ctx, SnapshotFailure{DetailType: "Snapshot Export Failed", Snapshot: export.SnapshotName(sgood.ExportID, 1)})
		}, OutcomeKept, false},
		{"serverless failure event for a node-based export", func() (*Summary, error) {
			return r.c.ServerlessFailure(ctx, SnapshotFailure{DetailType: "Snapshot Creation Failed", Snapshot: export.SnapshotName(good.ExportID, 1)})
		}, OutcomeRefused, false},
		{"Export Failed for a verified export", func() (*Summary, error) { return r.c.Failed(ctx, r.detail(good)) }, OutcomeNothing, false},
		{"Export Cancelled for a verified export", func() (*Summary, error) { return r.c.Cancelled(ctx, r.detail(good)) }, OutcomeNothing, false},
	} {
		sum, err := tc.run()
		switch {
		case tc.notOurs && !errors.Is(err, ErrNotOurs):
			t.Errorf("%s: err %v, want ErrNotOurs", tc.name, err)
		case !tc.notOurs && (err != nil || len(sum.Results) != 1 || sum.Results[0].Outcome != tc.outcome):
			t.Errorf("%s: %v %s, want %s", tc.name, err, mustJSON(sum), tc.outcome)
		}
	}
	if after := r.state(); mustJSON(after) != mustJSON(before) || r.s3.Deletes != deletes || len(r.ec.Deleted) != 0 {
		t.Fatalf("something was deleted: %d deletes, snapshots %v", r.s3.Deletes-deletes, r.ec.Deleted)
	}
	// The failed exports are cleaned, but snapshots that are not provably cacheport's stay.
	for _, e := range []*export.Export{fake, auto} {
		res := one(t)(r.c.Failed(ctx, r.detail(e)))
		if res.Outcome != OutcomeCleaned || len(res.Refused) != 1 || !r.hasSnapshot(export.SnapshotName(e.ExportID, 1)) {
			t.Errorf("%s: %s", e.ExportID, mustJSON(res))
		}
	}
	if len(r.ec.Deleted) != 0 {
		t.Fatalf("deleted %v", r.ec.Deleted)
	}
}

func TestParseStem(t *testing.T) {
	for _, tc := range []struct {
		key   string
		exact bool
		want  string
	}{
		{"cacheport-orders-20261124-0300-a1", true, "[{orders-20261124-0300 1}]"},
		{"cacheport-orders-20261124-0300-a12-0001.rdb", false, "[{orders-20261124-0300 12}]"},
		{"cacheport-orders-20261124-0300-a1-0001.rdb", true, "[]"},
		{"cacheport-x-a1-y-a2", true, "[{x-a1-y 2}]"},
		{"cacheport-x-a1-y-a2.rdb", false, "[{x 1} {x-a1-y 2}]"},
		{"cacheport-x-a01", true, "[]"},
		{"automatic.x-a1", true, "[]"},
		{"cacheport--a1", true, "[]"},
	} {
		got := "["
		for i, r := range parseStem(tc.key, tc.exact) {
			if i > 0 {
				got += " "
			}
			got += "{" + r.id + " " + strconv.Itoa(r.attempt) + "}"
		}
		if got += "]"; got != tc.want {
			t.Errorf("parseStem(%q, %v) = %s, want %s", tc.key, tc.exact, got, tc.want)
		}
	}
	if !stemMatch("cacheport-x-a1-0001.rdb", "cacheport-x-a1") || stemMatch("cacheport-x-a10-0001.rdb", "cacheport-x-a1") || !stemMatch("cacheport-x-a1", "cacheport-x-a1") {
		t.Error("stemMatch")
	}
}

// Export ids may contain "-aN": a serverless key that reads as the stem of two exports with
// records is nobody's to delete.
func TestAmbiguousServerlessKeys(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Options{})
	x := r.begin("carts", export.KindServerless, t0, 3)
	r.snapshot(x, "available")
	r.exporting(x)
	own := export.SnapshotName(x.ExportID, 1) + "-0001.rdb"
	r.put(own, "x's partial export")
	y, err := r.m.Begin(ctx, export.NewExport{Prefix: "cacheport", ExportID: x.ExportID + "-a1-b", Window: x.Window,
		Cache: export.Cache{ID: "carts", Kind: export.KindServerless}, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	r.exporting(y)
	theirs := export.SnapshotName(y.ExportID, 1) + "-0001.rdb" // cacheport-X-a1-b-a1-0001.rdb
	r.put(theirs, "y's data")
	r.fail(x, "export-incomplete")
	res := one(t)(r.c.Failed(ctx, r.detail(x)))
	if res.Outcome != OutcomeCleaned || r.state()[own] != 0 || r.state()[theirs] != 1 || len(res.Refused) != 1 {
		t.Fatalf("%s", mustJSON(res))
	}
	if res := one(t)(r.c.ObjectCreated(ctx, bucket, theirs)); res.Outcome != OutcomeRefused || r.state()[theirs] != 1 {
		t.Fatalf("%s", mustJSON(res))
	}
}
