package cleanup

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/cacheport/cacheport/shared/export"
)

// After each kind of failure, nothing of the failed attempt is left (no object, no version, no
// delete marker, no snapshot), everything else is intact, and the export is cleaned and retried
// with back-off.
func TestFailedAttemptLeavesNothingBehind(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		kind export.Kind
		// setup brings the export to where it fails and returns the keys of the failed attempt.
		setup func(r *rig, e *export.Export) []string
		// run delivers the failure to cleanup.
		run  func(r *rig, e *export.Export) (*Summary, error)
		code string
	}{
		{
			name: "snapshot creation failed (node-based, seen by start-export)",
			kind: export.KindReplicationGroup,
			setup: func(r *rig, e *export.Export) []string {
				r.snapshot(e, "failed")
				if err := r.m.Snapshotting(ctx, e, export.Source{Snapshot: e.Layout().SnapshotName(1), MadeByCacheport: true}, "t"); err != nil {
					t.Fatal(err)
				}
				r.fail(e, "snapshot-failed")
				return nil
			},
			run:  func(r *rig, e *export.Export) (*Summary, error) { return r.c.Failed(ctx, r.detail(e)) },
			code: "snapshot-failed",
		},
		{
			name: "snapshot creation failed (serverless event)",
			kind: export.KindServerless,
			setup: func(r *rig, e *export.Export) []string {
				r.snapshot(e, "failed")
				if err := r.m.Snapshotting(ctx, e, export.Source{Snapshot: e.Layout().SnapshotName(1), MadeByCacheport: true}, "t"); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			run: func(r *rig, e *export.Export) (*Summary, error) {
				return r.c.ServerlessFailure(ctx, SnapshotFailure{DetailType: "Snapshot Creation Failed", Snapshot: e.Layout().SnapshotName(1), Cache: "carts"})
			},
			code: "snapshot-failed",
		},
		{
			name: "export failed half way (node-based, versioned bucket)",
			kind: export.KindReplicationGroup,
			setup: func(r *rig, e *export.Export) []string {
				r.snapshot(e, "available")
				r.exporting(e)
				k1, k2 := e.Layout().ShardKey(1, 1), e.Layout().ShardKey(1, 2)
				r.put(k1, "partial")
				r.put(k1, "partial, rewritten") // a second version
				r.put(k2, "half")
				r.del(k2) // a delete marker over a noncurrent version
				r.fail(e, "export-incomplete")
				return []string{k1, k2}
			},
			run:  func(r *rig, e *export.Export) (*Summary, error) { return r.c.Failed(ctx, r.detail(e)) },
			code: "export-incomplete",
		},
		{
			name: "export failed half way (serverless event)",
			kind: export.KindServerless,
			setup: func(r *rig, e *export.Export) []string {
				r.snapshot(e, "available")
				r.exporting(e)
				stem := e.Layout().SnapshotName(1)
				r.put(stem+"-0001.rdb", "partial")
				r.put(stem+"/part-2.rdb", "partial")
				r.put(stem+"/part-2.rdb", "again")
				return []string{stem + "-0001.rdb", stem + "/part-2.rdb"}
			},
			run: func(r *rig, e *export.Export) (*Summary, error) {
				return r.c.ServerlessFailure(ctx, SnapshotFailure{DetailType: "Snapshot Export Failed", Snapshot: e.Layout().SnapshotName(1), Message: "boom"})
			},
			code: "export-failed",
		},
		{
			name: "verification failed",
			kind: export.KindReplicationGroup,
			setup: func(r *rig, e *export.Export) []string {
				r.snapshot(e, "available")
				r.exporting(e)
				k := e.Layout().ShardKey(1, 1)
				r.put(k, "corrupt")
				if err := r.m.Move(ctx, e, export.StageVerifying, "t", nil); err != nil {
					t.Fatal(err)
				}
				r.fail(e, "checksum-mismatch")
				return []string{k}
			},
			run:  func(r *rig, e *export.Export) (*Summary, error) { return r.c.Failed(ctx, r.detail(e)) },
			code: "checksum-mismatch",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, Options{})
			cache := "orders"
			if tc.kind == export.KindServerless {
				cache = "carts"
			}
			// Neighbours that must survive: a verified export of the same cache, another cache,
			// and something outside the prefix.
			good := r.begin(cache, tc.kind, t0.Add(-24*time.Hour), 3)
			r.verified(good, 2)
			r.put("elsewhere/"+cache+"/a1/x.rdb", "not ours")
			e := r.begin(cache, tc.kind, t0, 3)
			keys := tc.setup(r, e)
			before := r.state()
			snap := e.Layout().SnapshotName(1)
			if !r.hasSnapshot(snap) {
				t.Fatal("setup made no snapshot")
			}

			res := one(t)(tc.run(r, e))
			if res.Outcome != OutcomeCleaned || res.Stage != "requested" || res.Attempt != 2 {
				t.Fatalf("result %s", mustJSON(res))
			}
			after := r.state()
			for _, k := range keys {
				if after[k] != 0 {
					t.Errorf("%s: %d versions left", k, after[k])
				}
			}
			for k, n := range before {
				if !contains(keys, k) && k != e.Key && after[k] != n {
					t.Errorf("%s: %d versions, was %d: cleanup touched what it must not", k, after[k], n)
				}
			}
			if r.hasSnapshot(snap) {
				t.Errorf("snapshot %s left", snap)
			}
			if !r.hasSnapshot(good.Layout().SnapshotName(1)) {
				t.Error("the verified export's snapshot was deleted by a failure's cleanup")
			}
			got := r.load(e)
			if got.Stage != export.StageRequested || got.Attempt != 2 || got.Error == nil || got.Error.Code != tc.code {
				t.Fatalf("record %s", mustJSON(got.Record))
			}
			if want := r.now().Add(DefaultBackoff); !got.NotBefore.Equal(want) {
				t.Errorf("not before %s, want %s", got.NotBefore, want)
			}
			wantRemoved := []string{"snapshot " + snap}
			for _, k := range keys {
				wantRemoved = append(wantRemoved, "object "+k)
			}
			if g := strings.Join(removedNames(got), ","); g != strings.Join(sorted(wantRemoved), ",") {
				t.Errorf("removed %s, want %v", g, sorted(wantRemoved))
			}
			types := strings.Join(r.bus.Types(), ",")
			if !strings.HasSuffix(types, "Export Failed,Export Cleaned,Export Requested") {
				t.Errorf("events %s", types)
			}
			for _, m := range []string{`"ExportsCleaned":1`, `"SnapshotsDeleted":1`} {
				if !strings.Contains(r.metrics.String(), m) {
					t.Errorf("metrics lack %s: %s", m, r.metrics.String())
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A snapshot still copying cannot be deleted: the objects go now, the export stays failed, and
// the stale sweep finishes the job once the snapshot has settled.
func TestSnapshotStillCopyingIsRetriedLater(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		status string
		queue  error // DeleteSnapshot's answer, when the describe and the delete disagree
	}{
		{"status copying", "copying", nil},
		{"status exporting", "exporting", nil},
		{"delete refused with InvalidSnapshotState", "available", &ectypes.InvalidSnapshotStateFault{Message: aws.String("busy")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, Options{})
			e := r.begin("orders", export.KindReplicationGroup, t0, 3)
			snap := r.snapshot(e, tc.status)
			r.exporting(e)
			k := e.Layout().ShardKey(1, 1)
			r.put(k, "partial")
			r.fail(e, "export-incomplete")
			if tc.queue != nil {
				r.ec.Fail("DeleteSnapshot", tc.queue)
			}
			res := one(t)(r.c.Failed(ctx, r.detail(e)))
			if res.Outcome != OutcomeRetryLater || res.Retry || !strings.Contains(res.Reason, snap) {
				t.Fatalf("result %s", mustJSON(res))
			}
			got := r.load(e)
			if got.Stage != export.StageFailed || r.state()[k] != 0 || !r.hasSnapshot(snap) {
				t.Fatalf("stage %s, %d versions of %s, snapshot there %v", got.Stage, r.state()[k], k, r.hasSnapshot(snap))
			}
			if g := strings.Join(removedNames(got), ","); g != "object "+k {
				t.Errorf("removed %s", g)
			}
			// The copy lands one more object late, then the snapshot settles.
			r.put(e.Layout().ShardKey(1, 2), "late")
			r.ec.Finish(snap, "available")
			r.advance(10 * time.Minute)
			sum, err := r.c.Stale(ctx, r.now())
			if err != nil {
				t.Fatal(err)
			}
			got = r.load(e)
			if got.Stage != export.StageRequested || got.Attempt != 2 || r.hasSnapshot(snap) || len(r.s3.Keys(e.Layout().AttemptDir(1))) != 0 || r.s3.VersionCount(e.Layout().AttemptDir(1)) != 0 {
				t.Fatalf("after the sweep: %s; summary %s", mustJSON(got.Record), mustJSON(sum))
			}
		})
	}
}

// Failed, duplicated: the second delivery finds the work done. Two at once: one moves the
// record, the other loses the race quietly; one Export Cleaned and one Export Requested in all.
func TestDuplicateAndConcurrentFailedEvents(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*rig, *export.Export) {
		r := newRig(t, Options{})
		e := r.begin("orders", export.KindReplicationGroup, t0, 3)
		r.snapshot(e, "available")
		r.exporting(e)
		for i := 1; i <= 3; i++ {
			r.put(e.Layout().ShardKey(1, i), "partial")
		}
		r.fail(e, "export-incomplete")
		return r, e
	}
	count := func(types []string, dt string) int {
		n := 0
		for _, x := range types {
			if x == dt {
				n++
			}
		}
		return n
	}
	t.Run("duplicate", func(t *testing.T) {
		r, e := setup(t)
		d := r.detail(e)
		one(t)(r.c.Failed(ctx, d))
		res := one(t)(r.c.Failed(ctx, d))
		if res.Outcome != OutcomeNothing || res.Stage != "requested" {
			t.Fatalf("second delivery: %s", mustJSON(res))
		}
		if n := count(r.bus.Types(), export.DetailRequested); n != 1 {
			t.Fatalf("%d Export Requested", n)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			r, e := setup(t)
			d := r.detail(e)
			var wg sync.WaitGroup
			results := make([]Result, 2)
			for j := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sum, err := r.c.Failed(ctx, d)
					if err != nil || len(sum.Results) != 1 {
						t.Errorf("%v %s", err, mustJSON(sum))
						return
					}
					results[j] = sum.Results[0]
				}()
			}
			wg.Wait()
			for _, res := range results {
				if res.Outcome == OutcomeError {
					t.Fatalf("a concurrent cleanup erred: %s", mustJSON(results))
				}
			}
			types := r.bus.Types()
			if count(types, export.DetailCleaned) != 1 || count(types, export.DetailRequested) != 1 {
				t.Fatalf("events %v; results %s", types, mustJSON(results))
			}
			got := r.load(e)
			if got.Stage != export.StageRequested || got.Attempt != 2 || r.s3.VersionCount(e.Layout().AttemptDir(1)) != 0 {
				t.Fatalf("record %s", mustJSON(got.Record))
			}
			if len(removedNames(got)) != 4 {
				t.Fatalf("removed %v, want 3 objects and the snapshot once each", removedNames(got))
			}
		}
	})
}

// The budget: the last attempt's failure abandons the export (Export Abandoned, the alert).
func TestAbandonedAfterTheBudget(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Options{})
	e := r.begin("orders", export.KindReplicationGroup, t0, 2)
	var waits []time.Duration
	for attempt := 1; attempt <= 2; attempt++ {
		r.snapshot(e, "available")
		r.exporting(e)
		r.put(e.Layout().ShardKey(attempt, 1), "partial")
		r.fail(e, "export-incomplete")
		res := one(t)(r.c.Failed(ctx, r.detail(e)))
		e = r.load(e)
		if attempt == 1 {
			if res.Outcome != OutcomeCleaned || e.Stage != export.StageRequested {
				t.Fatalf("attempt 1: %s", mustJSON(res))
			}
			waits = append(waits, e.NotBefore.Sub(r.now()))
			continue
		}
		if res.Outcome != OutcomeAbandoned || e.Stage != export.StageAbandoned || r.s3.VersionCount(e.Layout().Dir()+"a") != 0 {
			t.Fatalf("attempt 2: %s %s", mustJSON(res), mustJSON(e.Record))
		}
	}
	if waits[0] != 5*time.Minute {
		t.Errorf("back-off %v", waits)
	}
	types := strings.Join(r.bus.Types(), ",")
	if !strings.HasSuffix(types, "Export Cleaned,Export Abandoned") || !strings.Contains(r.metrics.String(), `"ExportsAbandoned":1`) {
		t.Fatalf("events %s; metrics %s", types, r.metrics.String())
	}
}

func TestBackoffDoubles(t *testing.T) {
	c := New(Options{}, nil, nil, nil, nil, nil)
	for n, want := range map[int]time.Duration{1: 5 * time.Minute, 2: 10 * time.Minute, 3: 20 * time.Minute, 10: DefaultMaxBackoff} {
		if got := c.backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

// An export whose objects are still landing is stuck only once StaleAfter has passed since its
// attempt started; then it fails (export-stuck) and is cleaned in the same sweep.
func TestStuckExport(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Options{StaleAfter: time.Hour})
	stuck := r.begin("orders", export.KindReplicationGroup, t0, 3)
	r.snapshot(stuck, "available")
	r.exporting(stuck)
	r.put(stuck.Layout().ShardKey(1, 1), "half")
	r.advance(40 * time.Minute)
	fresh := r.begin("sessions", export.KindReplicationGroup, t0, 3)
	r.snapshot(fresh, "available")
	r.exporting(fresh)
	r.put(fresh.Layout().ShardKey(1, 1), "landing")

	r.advance(30 * time.Minute) // stuck: 65 min old; fresh: 30 min
	sum, err := r.c.Stale(ctx, r.now())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Counts["cleaned"] != 1 || len(sum.Results) != 1 || sum.Results[0].ExportID != stuck.ExportID {
		t.Fatalf("summary %s", mustJSON(sum))
	}
	got := r.load(stuck)
	if got.Stage != export.StageRequested || got.Attempt != 2 || r.s3.VersionCount(stuck.Layout().AttemptDir(1)) != 0 || r.hasSnapshot(stuck.Layout().SnapshotName(1)) {
		t.Fatalf("stuck export: %s", mustJSON(got.Record))
	}
	if !strings.Contains(mustJSON(got.History), "export-stuck") {
		t.Errorf("history %s", mustJSON(got.History))
	}
	if f := r.load(fresh); f.Stage != export.StageExporting || r.s3.VersionCount(fresh.Layout().AttemptDir(1)) != 1 {
		t.Fatalf("the fresh export was touched: %s", mustJSON(f.Record))
	}
	// The retried attempt waits out its back-off before the stale clock starts.
	r.advance(time.Hour)
	if sum, _ := r.c.Stale(ctx, r.now()); r.load(stuck).Stage != export.StageRequested {
		t.Fatalf("a requested export in back-off was judged stuck: %s", mustJSON(sum))
	}
}

// A lost Export Failed or a cleaned export that never got its next attempt: the sweep finishes.
func TestStaleSweepFinishesLostWork(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Options{})
	failed := r.begin("orders", export.KindReplicationGroup, t0, 3)
	r.snapshot(failed, "available")
	r.exporting(failed)
	r.fail(failed, "export-refused")
	cleaned := r.begin("sessions", export.KindReplicationGroup, t0, 3)
	r.exporting(cleaned)
	r.fail(cleaned, "export-refused")
	if err := r.m.Cleaned(ctx, cleaned, nil); err != nil {
		t.Fatal(err)
	}
	sum, err := r.c.Stale(ctx, r.now())
	if err != nil || sum.Counts["cleaned"] != 2 {
		t.Fatalf("%v %s", err, mustJSON(sum))
	}
	for _, e := range []*export.Export{failed, cleaned} {
		if got := r.load(e); got.Stage != export.StageRequested || got.Attempt != 2 {
			t.Errorf("%s: %s", e.ExportID, got.Stage)
		}
	}
}

// A failed export whose budget was 1 goes straight to abandoned; a NotOurs event is an error
// that a retry cannot cure.
func TestFailedRefusesOtherDeployments(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Options{})
	e := r.begin("orders", export.KindReplicationGroup, t0, 3)
	for name, d := range map[string]export.Detail{
		"another bucket": func() export.Detail { d := r.detail(e); d.Bucket = "someone-else"; return d }(),
		"another prefix": func() export.Detail {
			d := r.detail(e)
			d.RecordKey = "other/orders/" + e.ExportID + "/export.json"
			return d
		}(),
		"not a record": func() export.Detail { d := r.detail(e); d.RecordKey = e.Layout().ManifestKey(); return d }(),
		"no record": func() export.Detail {
			d := r.detail(e)
			d.RecordKey = "cacheport/orders/x-20261124-0300/export.json"
			d.ExportID = "x-20261124-0300"
			return d
		}(),
	} {
		for _, fn := range []func(context.Context, export.Detail) (*Summary, error){r.c.Failed, r.c.Cancelled, r.c.Verified} {
			if _, err := fn(ctx, d); !errors.Is(err, ErrNotOurs) {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if r.s3.Deletes != 0 || r.ec.CallCount("DeleteSnapshot") != 0 {
		t.Fatal("something was deleted")
	}
}
