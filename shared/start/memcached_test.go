package start

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/targets"
)

// requested returns the Export Requested details published so far, in order.
func (r *rig) requested(t *testing.T) []export.Detail {
	t.Helper()
	var out []export.Detail
	for _, in := range r.bus.Events {
		for _, e := range in.Entries {
			if aws.ToString(e.DetailType) != export.DetailRequested {
				continue
			}
			var d export.Detail
			if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
	}
	return out
}

func TestWindowRequestsMemcachedDumpWhenEnginesNameMemcached(t *testing.T) {
	r := newRig(t, Options{Filter: targets.Filter{Engines: []string{"valkey", "redis", "memcached"}}})
	r.fleet()
	ctx := context.Background()
	sum, err := r.st.Window(ctx, tick)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Outcome{"orders": OutcomeSnapshot, "sessions": OutcomeSnapshot, "legacy": OutcomeSnapshot, "carts": OutcomeSnapshot,
		"tiered": OutcomeSkipped, "memo": OutcomeFannedOut}
	if got := outcomes(sum); !equalMap(got, want) {
		t.Fatalf("window outcomes %v, want %v", got, want)
	}
	e := r.load(t, "memo")
	if e.Stage != export.StageRequested || e.Cache.Kind != export.KindMemcached || e.Cache.Shards != 2 || e.Source.Snapshot != "" {
		t.Fatalf("memo record: stage %s kind %s shards %d source %+v", e.Stage, e.Cache.Kind, e.Cache.Shards, e.Source)
	}
	reqs := r.requested(t)
	if len(reqs) != 1 || reqs[0].Cache != "memo" || reqs[0].Kind != export.KindMemcached || reqs[0].RecordKey != e.Key || reqs[0].Attempt != 1 {
		t.Fatalf("Export Requested = %+v, want one for memo's record", reqs)
	}
	// No snapshot is ever made of a Memcached cluster.
	for _, sn := range r.ec.Snapshots {
		if strings.Contains(aws.ToString(sn.SnapshotName), "memo") {
			t.Errorf("snapshot %s made of a Memcached cluster", aws.ToString(sn.SnapshotName))
		}
	}

	// A second tick and an advance within the grace period leave it to memcached-export.
	if sum, err = r.st.Window(ctx, tick); err != nil {
		t.Fatal(err)
	}
	if got := outcomes(sum)["memo"]; got != OutcomeWaiting {
		t.Errorf("second tick: memo %s, want waiting", got)
	}
	r.clock = r.clock.Add(time.Minute)
	if sum, err = r.st.Advance(ctx, r.clock); err != nil {
		t.Fatal(err)
	}
	if got := outcomes(sum)["memo"]; got != OutcomeWaiting {
		t.Errorf("advance within grace: memo %s, want waiting", got)
	}
	if n := len(r.requested(t)); n != 1 {
		t.Errorf("%d Export Requested, want 1", n)
	}

	// Still in requested after the grace period: the request was lost, so it is made again.
	r.clock = r.clock.Add(10 * time.Minute)
	if sum, err = r.st.Advance(ctx, r.clock); err != nil {
		t.Fatal(err)
	}
	if got := outcomes(sum)["memo"]; got != OutcomeFannedOut {
		t.Errorf("advance after grace: memo %s, want fanned-out", got)
	}
	if n := len(r.requested(t)); n != 2 {
		t.Errorf("%d Export Requested, want 2", n)
	}
	if e := r.load(t, "memo"); e.Stage != export.StageRequested {
		t.Errorf("memo stage %s, want requested (start-export never moves it)", e.Stage)
	}

	// start-export ignores an Export Requested of kind memcached that reaches it.
	sum, err = r.st.Requested(ctx, export.DetailOf(&e.Record, e.Key))
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(sum)["memo"]; got != OutcomeNothing {
		t.Errorf("requested: memo %s, want nothing", got)
	}
	if n := len(r.requested(t)); n != 2 {
		t.Errorf("%d Export Requested after Requested, want 2", n)
	}
}

func TestServerlessMemcachedStaysSkipped(t *testing.T) {
	r := newRig(t, Options{Filter: targets.Filter{Engines: []string{"memcached"}}})
	r.fleet()
	r.ec.ServerlessCaches = append(r.ec.ServerlessCaches, ectypes.ServerlessCache{ServerlessCacheName: aws.String("smemo"), Engine: aws.String("memcached"), Status: aws.String("available")})
	sum, err := r.st.Window(context.Background(), tick)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Outcome{"memo": OutcomeFannedOut, "smemo": OutcomeSkipped}
	if got := outcomes(sum); !equalMap(got, want) {
		t.Fatalf("window outcomes %v, want %v", got, want)
	}
}
