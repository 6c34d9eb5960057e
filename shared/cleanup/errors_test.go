package cleanup

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
)

// AWS failures part way: what was deleted is recorded, the export stays failed for the sweep,
// and the result says whether running the invocation again would help.
func TestAWSErrorsPartWay(t *testing.T) {
	ctx := context.Background()
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}
	for _, tc := range []struct {
		name  string
		setup func(r *rig, e *export.Export)
		retry bool
		noted int
	}{
		{"delete throttled on the second object", func(r *rig, e *export.Export) {
			second := e.Layout().ShardKey(1, 2)
			r.s3.DeleteFail = func(k string) error {
				if k == second {
					return &smithy.GenericAPIError{Code: "SlowDown", Message: "slow down"}
				}
				return nil
			}
		}, true, 1},
		{"tags throttled", func(r *rig, e *export.Export) { r.ec.Fail("ListTagsForResource", fakes.Throttle()) }, true, 2},
		{"describe denied", func(r *rig, e *export.Export) { r.ec.Fail("DescribeSnapshots", denied) }, false, 2},
		{"delete snapshot denied", func(r *rig, e *export.Export) { r.ec.Fail("DeleteSnapshot", denied) }, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, Options{})
			e := r.begin("orders", export.KindReplicationGroup, t0, 3)
			r.snapshot(e, "available")
			r.exporting(e)
			r.put(e.Layout().ShardKey(1, 1), "1")
			r.put(e.Layout().ShardKey(1, 2), "2")
			r.fail(e, "export-incomplete")
			tc.setup(r, e)
			sum, err := r.c.Failed(ctx, r.detail(e))
			res := oneOf(t, sum, err)
			if res.Outcome != OutcomeError || res.Retry != tc.retry || sum.Retry() != tc.retry {
				t.Fatalf("%s", mustJSON(res))
			}
			got := r.load(e)
			if got.Stage != export.StageFailed || len(got.Removed) != tc.noted {
				t.Fatalf("stage %s, removed %v", got.Stage, removedNames(got))
			}
			if !strings.Contains(r.metrics.String(), "CleanupErrors") {
				t.Error("no CleanupErrors metric")
			}
			// Once AWS answers again, the sweep finishes.
			r.s3.DeleteFail = nil
			if _, err := r.c.Stale(ctx, r.now()); err != nil {
				t.Fatal(err)
			}
			if got := r.load(e); got.Stage != export.StageRequested || r.s3.VersionCount(e.Layout().AttemptDir(1)) != 0 || r.hasSnapshot(e.Layout().SnapshotName(1)) {
				t.Fatalf("after the sweep: %s", mustJSON(got.Record))
			}
		})
	}
}

// The stale sweep racing the export's own progress: when the record moved on since it was read
// (verified meanwhile), failing it loses quietly and nothing is deleted.
func TestStuckExportVerifiedMeanwhile(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Options{StaleAfter: time.Hour})
	e := r.begin("orders", export.KindReplicationGroup, t0, 3)
	r.snapshot(e, "available")
	r.exporting(e)
	r.put(e.Layout().ShardKey(1, 1), "data")
	stale := r.load(e)
	for _, st := range []export.Stage{export.StageVerifying, export.StageVerified} {
		if err := r.m.Move(ctx, e, st, "t", nil); err != nil {
			t.Fatal(err)
		}
	}
	r.advance(2 * time.Hour)
	res := r.c.failAndClean(ctx, stale, export.Error{Code: "export-stuck"})
	if res.Outcome != OutcomeLostRace || r.s3.Deletes != 0 || r.load(e).Stage != export.StageVerified {
		t.Fatalf("%s", mustJSON(res))
	}
}

func TestOptionsFrom(t *testing.T) {
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"CACHEPORT_BUCKET": "exports", "CACHEPORT_RETAIN_LAST": "3", "CACHEPORT_KEEP_SNAPSHOTS": "2", "CACHEPORT_STALE_AFTER": "2h"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	o := OptionsFrom(cfg)
	if o.Bucket != "exports" || o.Prefix != "cacheport" || o.RetainLast != 3 || o.KeepSnapshots != 2 || o.StaleAfter != 2*time.Hour || o.RetainMaxAge != config.DefaultRetainMaxAge || o.DryRun {
		t.Fatalf("%+v", o)
	}
}
