package twin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/twin/ecsrv"
)

// Every fault kind, injected into the scheduled cycle: the cache it hits ends as it should, the
// others are unharmed, and nothing of a failed attempt is left behind.
func TestEveryFaultKind(t *testing.T) {
	for _, c := range []struct {
		fault string
		run   time.Duration
		// want is the final stage of each cache the fault is expected to change; every other
		// exportable cache must end verified.
		want    map[string]export.Stage
		reasons []string // acceptable failure codes of the changed caches
		// keepsSnapshot: the fault leaves a snapshot AWS will not let anyone delete.
		keepsSnapshot bool
	}{
		{fault: "snapshot-fails=orders", want: map[string]export.Stage{"orders": export.StageAbandoned}, reasons: []string{"snapshot-failed"}},
		{fault: "export-fails-midway=sessions", want: map[string]export.Stage{"sessions": export.StageAbandoned}, reasons: []string{"missing-object", "truncated-object"}},
		{fault: "corrupt-object=solo", want: map[string]export.Stage{"solo": export.StageAbandoned}, reasons: []string{"checksum-mismatch", "corrupt-object"}},
		{fault: "corrupt-object=orders", want: map[string]export.Stage{"orders": export.StageAbandoned}, reasons: []string{"checksum-mismatch", "corrupt-object"}},
		{fault: "corrupt-object=carts", want: map[string]export.Stage{"carts": export.StageAbandoned}, reasons: []string{"checksum-mismatch", "corrupt-object"}},
		{fault: "export-fails-midway=orders", want: map[string]export.Stage{"orders": export.StageAbandoned}, reasons: []string{"missing-object", "truncated-object"}},
		{fault: "export-fails-midway=carts", want: map[string]export.Stage{"carts": export.StageAbandoned}, reasons: []string{"export-failed", "missing-object", "truncated-object"}}, // serverless: AWS says so with Snapshot Export Failed
		{fault: "missing-object=carts", want: map[string]export.Stage{"carts": export.StageAbandoned}, reasons: []string{"missing-object", "no-objects"}},
		{fault: "missing-object=sessions", want: map[string]export.Stage{"sessions": export.StageAbandoned}, reasons: []string{"missing-object"}},
		{fault: "late-object=orders", run: 6 * time.Hour, want: map[string]export.Stage{"orders": export.StageAbandoned}, reasons: []string{"missing-object"}},
		{fault: "export-stuck=solo", run: 9 * time.Hour, want: map[string]export.Stage{"solo": export.StageFailed}, reasons: []string{"export-stuck"}, keepsSnapshot: true},
		{fault: "no-grant", want: map[string]export.Stage{"orders": export.StageAbandoned, "sessions": export.StageAbandoned, "solo": export.StageAbandoned, "carts": export.StageAbandoned}, reasons: []string{"no-grant"}},
		{fault: "bucket-region=eu-west-1", want: map[string]export.Stage{"orders": export.StageAbandoned, "sessions": export.StageAbandoned, "solo": export.StageAbandoned, "carts": export.StageAbandoned}, reasons: []string{"bucket-wrong-region"}},
		{fault: "deny=elasticache:CopySnapshot", want: map[string]export.Stage{"orders": export.StageAbandoned, "sessions": export.StageAbandoned, "solo": export.StageAbandoned}, reasons: []string{"access-denied", "export-refused"}},
		{fault: "throttle"},
		{fault: "duplicate-events"},
		{fault: "delay-events"},
		{fault: "lose-events"},
	} {
		t.Run(c.fault, func(t *testing.T) {
			tw, _ := startTwin(t, Options{Faults: []string{c.fault}, Data: ecsrv.DataGenerated})
			run := c.run
			if run == 0 {
				run = 4 * time.Hour
			}
			if err := tw.Advance(context.Background(), run, time.Minute); err != nil {
				t.Fatal(err)
			}
			recs := records(t, tw)
			for _, cache := range []string{"orders", "sessions", "solo", "carts"} {
				e := recs[cache]
				want, changed := c.want[cache]
				if !changed {
					want = export.StageVerified
				}
				if e == nil {
					t.Errorf("%s: no export", cache)
					continue
				}
				if e.Stage != want {
					t.Errorf("%s: %s (%+v), want %s", cache, e.Stage, e.Error, want)
					continue
				}
				if changed {
					ok := false
					for _, r := range c.reasons {
						ok = ok || (e.Error != nil && e.Error.Code == r)
					}
					if !ok {
						t.Errorf("%s: reason %+v, want one of %v", cache, e.Error, c.reasons)
					}
				}
				left, err := leftovers(tw, e)
				if err != nil {
					t.Fatal(err)
				}
				if c.keepsSnapshot {
					left = dropSnapshots(left)
				}
				if len(left) > 0 {
					t.Errorf("%s: left behind %v", cache, left)
				}
			}
		})
	}
}

// leftovers lists what remains of an export's dead attempts.
func leftovers(tw *Twin, e *export.Export) ([]string, error) {
	var left []string
	l := e.Layout()
	for a := 1; a <= e.Attempt; a++ {
		if e.Stage == export.StageVerified && a == e.Attempt {
			continue
		}
		prefix := l.AttemptDir(a)
		if e.Cache.Kind == export.KindServerless {
			prefix = l.SnapshotName(a)
		}
		vs, err := tw.S3.Versions(tw.Bucket, prefix)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			left = append(left, v.Key)
		}
		if _, ok := tw.EC.Snapshot(l.SnapshotName(a)); ok {
			left = append(left, "snapshot "+l.SnapshotName(a))
		}
	}
	return left, nil
}

func dropSnapshots(left []string) []string {
	var out []string
	for _, l := range left {
		if !strings.HasPrefix(l, "snapshot ") {
			out = append(out, l)
		}
	}
	return out
}
