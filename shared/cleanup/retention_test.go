package cleanup

import (
	"context"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/export"
)

const day = 24 * time.Hour

// verifiedAgo makes an export of cache verified `ago` before the rig's present, with a shard
// and a manifest, its objects rewritten once (two versions), and cacheport's snapshot left.
func (r *rig) verifiedAgo(cache string, ago time.Duration) *export.Export {
	r.t.Helper()
	present := r.now()
	r.mu.Lock()
	r.clock = present.Add(-ago)
	r.mu.Unlock()
	e := r.begin(cache, export.KindReplicationGroup, r.now().Truncate(time.Hour), 3)
	r.verified(e, 1)
	r.put(e.Layout().ShardKey(1, 1), "rewritten")
	r.mu.Lock()
	r.clock = present
	r.mu.Unlock()
	return r.load(e)
}

// Retention keeps the newest RetainLast verified exports whatever their age and expires older
// verified exports beyond them (every version, manifest, record last). Failed, abandoned or
// in-flight exports never count and never expire.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		retainLast int
		ages       []time.Duration // verified exports, newest first
		keep       []bool
	}{
		{"all older than max age: the last N stay", 2, []time.Duration{37 * day, 38 * day, 39 * day, 40 * day}, []bool{true, true, false, false}},
		{"young ones stay beyond N", 1, []time.Duration{1 * day, 10 * day, 29 * day, 31 * day, 60 * day}, []bool{true, true, true, false, false}},
		{"one export, ancient: it stays", 1, []time.Duration{400 * day}, []bool{true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, Options{RetainLast: tc.retainLast, RetainMaxAge: 30 * day})
			var exports []*export.Export
			for i := len(tc.ages) - 1; i >= 0; i-- {
				exports = append([]*export.Export{r.verifiedAgo("orders", tc.ages[i])}, exports...)
			}
			// A run of failures since: none of it counts.
			bad := r.begin("orders", export.KindReplicationGroup, r.now().Add(-time.Hour).Truncate(time.Hour), 1)
			r.exporting(bad)
			r.fail(bad, "export-incomplete")
			one(t)(r.c.Failed(ctx, r.detail(bad)))
			live := r.begin("orders", export.KindReplicationGroup, r.now().Truncate(time.Hour), 3)
			r.exporting(live)
			r.put(live.Layout().ShardKey(1, 1), "landing")
			other := r.verifiedAgo("sessions", 90*day)
			before := r.state()

			sum, err := r.c.Verified(ctx, r.detail(exports[0]))
			if err != nil {
				t.Fatal(err)
			}
			expired := 0
			for i, e := range exports {
				dir := e.Layout().Dir()
				n := r.s3.VersionCount(dir)
				if tc.keep[i] {
					if n != before[e.Layout().ShardKey(1, 1)]+before[e.Layout().ManifestKey()]+before[e.Key]+countNotes(r, e) {
						t.Errorf("export %d (%s old) was touched: %d versions under %s", i, tc.ages[i], n, dir)
					}
					continue
				}
				expired++
				if n != 0 {
					t.Errorf("export %d (%s old) expired with %d versions left", i, tc.ages[i], n)
				}
			}
			if sum.Counts["expired"] != expired {
				t.Errorf("summary %s", mustJSON(sum))
			}
			if got := r.load(bad); got.Stage != export.StageAbandoned {
				t.Errorf("the abandoned export: %s", got.Stage)
			}
			if r.s3.VersionCount(live.Layout().Dir()) != before[live.Key]+1 || r.s3.VersionCount(other.Layout().Dir()) != before[other.Key]+2+1 {
				t.Errorf("another export was touched")
			}
			// The same run once more finds nothing to do.
			sum, _ = r.c.Verified(ctx, r.detail(exports[0]))
			if sum.Counts["expired"] != 0 {
				t.Errorf("second run: %s", mustJSON(sum))
			}
		})
	}
}

// countNotes is how many more record versions a kept export gained (a note of its snapshot's
// removal rewrites the record).
func countNotes(r *rig, e *export.Export) int {
	if len(r.load(e).Removed) > len(e.Removed) {
		return 1
	}
	return 0
}

// After Export Verified, cacheport's snapshots go beyond the newest KeepSnapshots verified
// exports, their ownership proved, and the record says so.
func TestVerifiedDropsSnapshots(t *testing.T) {
	ctx := context.Background()
	for _, keep := range []int{0, 1} {
		r := newRig(t, Options{KeepSnapshots: keep})
		old := r.verifiedAgo("orders", 2*day)
		cur := r.verifiedAgo("orders", time.Hour)
		sum, err := r.c.Verified(ctx, r.detail(cur))
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range []*export.Export{cur, old} {
			name := export.SnapshotName(e.ExportID, 1)
			want := i >= keep // deleted
			if r.hasSnapshot(name) == want || contains(removedNames(r.load(e)), "snapshot "+name) != want {
				t.Errorf("keep %d: %s deleted %v, want %v; %s", keep, name, !r.hasSnapshot(name), want, mustJSON(sum))
			}
			if r.s3.VersionCount(e.Layout().AttemptDir(1)) != 2 {
				t.Errorf("keep %d: the verified export's objects were touched", keep)
			}
		}
		if keep == 0 && (sum.Counts["removed"] != 2 || r.ec.CallCount("DeleteSnapshot") != 2) {
			t.Errorf("summary %s", mustJSON(sum))
		}
		// Once recorded as removed, a snapshot is not looked for again.
		calls := r.ec.CallCount("DescribeSnapshots")
		r.c.Verified(ctx, r.detail(cur))
		if got := r.ec.CallCount("DescribeSnapshots") - calls; got != 0 {
			t.Errorf("keep %d: second run described %d snapshots", keep, got)
		}
	}
}

// A dry run reports what it would delete and deletes and writes nothing.
func TestDryRun(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Options{DryRun: true, RetainLast: 1, RetainMaxAge: 30 * day})
	old := r.verifiedAgo("orders", 60*day)
	cur := r.verifiedAgo("orders", day)
	e := r.begin("orders", export.KindReplicationGroup, r.now().Truncate(time.Hour), 3)
	r.snapshot(e, "available")
	r.exporting(e)
	r.put(e.Layout().ShardKey(1, 1), "partial")
	r.put(e.Layout().ShardKey(1, 1), "partial again")
	r.fail(e, "export-incomplete")
	present := r.now()
	r.clock = present.Add(-10 * time.Hour)
	stuck := r.begin("sessions", export.KindReplicationGroup, r.now().Truncate(time.Hour), 3)
	r.exporting(stuck)
	r.clock = present
	before, puts, events := r.state(), r.s3.Puts, len(r.bus.Types())
	snaps := len(r.ec.Snapshots)

	res := one(t)(r.c.Failed(ctx, r.detail(e)))
	if res.Outcome != OutcomeCleaned || len(res.Deleted) != 3 { // two versions and the snapshot
		t.Errorf("failed: %s", mustJSON(res))
	}
	sum, err := r.c.Verified(ctx, r.detail(cur))
	if err != nil || sum.Counts["expired"] != 1 || !sum.DryRun {
		t.Errorf("verified: %v %s", err, mustJSON(sum))
	}
	if mustJSON(r.state()) != mustJSON(before) || r.s3.Puts != puts {
		t.Fatal("a dry run changed the bucket")
	}
	r.put(old.Layout().ShardKey(2, 1), "a late object of no attempt")
	before, puts = r.state(), r.s3.Puts
	if res := one(t)(r.c.ObjectCreated(ctx, bucket, old.Layout().ShardKey(2, 1))); res.Outcome != OutcomeKept {
		t.Errorf("object ahead of the record: %s", mustJSON(res))
	}
	sum, err = r.c.Stale(ctx, r.now())
	if err != nil || sum.Counts["cleaned"] != 2 {
		t.Errorf("stale: %v %s", err, mustJSON(sum))
	}
	if mustJSON(r.state()) != mustJSON(before) || r.s3.Puts != puts || len(r.bus.Types()) != events || len(r.ec.Snapshots) != snaps || r.s3.Deletes != 0 {
		t.Fatalf("a dry run changed something: puts %d→%d, events %d→%d, deletes %d", puts, r.s3.Puts, events, len(r.bus.Types()), r.s3.Deletes)
	}
	if got := r.load(stuck); got.Stage != export.StageExporting {
		t.Fatalf("the stuck export moved in a dry run: %s", got.Stage)
	}
}
