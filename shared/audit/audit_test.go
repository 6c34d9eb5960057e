package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/targets"
	"github.com/cacheport/cacheport/shared/telemetry"
)

var now = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)

func cluster(id, engine, status string) ectypes.CacheCluster {
	return ectypes.CacheCluster{
		CacheClusterId: aws.String(id), ARN: aws.String("arn:aws:elasticache:us-east-1:123456789012:cluster:" + id),
		Engine: aws.String(engine), EngineVersion: aws.String("7.1.0"), CacheClusterStatus: aws.String(status),
		CacheNodeType: aws.String("cache.m7g.large"), NumCacheNodes: aws.Int32(1),
	}
}

// record stores an export record of cache in stage, created at created and last moved at moved.
func record(t *testing.T, st *export.Store, cache, id string, stage export.Stage, created, moved time.Time, errCode string, sizes ...int64) {
	t.Helper()
	l, err := export.NewLayout("cacheport", cache, id)
	if err != nil {
		t.Fatal(err)
	}
	rec := &export.Record{Format: export.Format, ExportID: id, Cache: export.Cache{ID: cache, Kind: export.KindCacheCluster, Engine: "redis"},
		Bucket: "exports", Prefix: "cacheport", Attempt: 1, MaxAttempts: 3, Stage: stage, CreatedAt: created, UpdatedAt: moved,
		History: []export.HistoryEntry{{Stage: export.StageRequested, At: created}, {Stage: stage, At: moved}}}
	for i, s := range sizes {
		rec.Objects = append(rec.Objects, export.Object{Key: l.ShardKey(1, i+1), Size: s})
	}
	if errCode != "" {
		rec.Error = &export.Error{Code: errCode, Message: errCode}
	}
	if _, err := st.Create(context.Background(), l.RecordKey(), rec); err != nil {
		t.Fatal(err)
	}
}

func TestRun(t *testing.T) {
	ec := &fakes.ElastiCache{CacheClusters: []ectypes.CacheCluster{
		cluster("fresh", "redis", "available"),
		cluster("old", "redis", "available"),
		cluster("new", "valkey", "available"),
		cluster("broken", "redis", "available"),
		cluster("gaveup", "redis", "available"),
		cluster("memc", "memcached", "available"),
		cluster("busy", "redis", "modifying"),
		cluster("retrying", "redis", "available"),
	}}
	s3 := fakes.NewS3()
	st := export.NewStore(s3, "exports")
	h := time.Hour
	// fresh: verified 2h ago, an older verified one too.
	record(t, st, "fresh", "fresh-20261124-0300", export.StageVerified, now.Add(-4*h), now.Add(-2*h), "", 100, 23)
	record(t, st, "fresh", "fresh-20261123-0300", export.StageVerified, now.Add(-28*h), now.Add(-27*h), "", 50)
	// old: verified 30h ago, today's export under way.
	record(t, st, "old", "old-20261123-0100", export.StageVerified, now.Add(-31*h), now.Add(-30*h), "", 7)
	record(t, st, "old", "old-20261124-0300", export.StageExporting, now.Add(-1*h), now.Add(-1*h), "")
	// new: nothing yet but an export snapshotting.
	record(t, st, "new", "new-20261124-0300", export.StageSnapshotting, now.Add(-1*h), now.Add(-1*h), "")
	// broken: verified 40h ago, newest failed.
	record(t, st, "broken", "broken-20261123-0300", export.StageVerified, now.Add(-41*h), now.Add(-40*h), "", 1)
	record(t, st, "broken", "broken-20261124-0300", export.StageFailed, now.Add(-3*h), now.Add(-2*h), "no-grant")
	// gaveup: never verified, abandoned.
	record(t, st, "gaveup", "gaveup-20261124-0300", export.StageAbandoned, now.Add(-3*h), now.Add(-2*h), "bucket-missing")
	// retrying: verified within the RPO, the newest attempt cleaned: still compliant.
	record(t, st, "retrying", "retrying-20261123-0300", export.StageVerified, now.Add(-25*h), now.Add(-24*h), "", 9)
	record(t, st, "retrying", "retrying-20261124-0300", export.StageCleaned, now.Add(-3*h), now.Add(-2*h), "snapshot-failed")
	// busy: never exported, and modifying now.
	// a record of a cache outside the scope is ignored.
	record(t, st, "gone", "gone-20261124-0300", export.StageVerified, now.Add(-3*h), now.Add(-2*h), "", 1)

	// old has an automatic backup newer than its export, and an older manual one; fresh has one
	// too, which a compliant cache does not report.
	snap := func(name, cluster, source string, at time.Time) ectypes.Snapshot {
		return ectypes.Snapshot{SnapshotName: aws.String(name), CacheClusterId: aws.String(cluster), SnapshotSource: aws.String(source),
			SnapshotStatus: aws.String("available"), NodeSnapshots: []ectypes.NodeSnapshot{{SnapshotCreateTime: aws.Time(at)}}}
	}
	ec.Snapshots = []ectypes.Snapshot{
		snap("automatic.old-2026-11-24-04-00", "old", "automated", now.Add(-3*h)),
		snap("manual-old", "old", "manual", now.Add(-10*h)),
		snap("automatic.fresh-2026-11-24-04-00", "fresh", "automated", now.Add(-3*h)),
	}
	var metrics bytes.Buffer
	a := New(Options{Bucket: "exports", Prefix: "cacheport", RPO: 26 * h, Concurrency: 3}, ec, st, nil, telemetry.NewMetrics(&metrics, "audit"))
	rep, err := a.Run(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		verdict Verdict
		age     int64 // -1: none
		export  string
		bytes   int64
		reason  string
	}{
		"broken":   {Failing, 40 * 3600, "broken-20261123-0300", 1, "newest export broken-20261124-0300 is failed (no-grant); last verified export is 40h old (RPO 26h)"},
		"busy":     {Never, -1, "", 0, "no verified export; the cache is modifying, so no export can start now"},
		"fresh":    {Compliant, 2 * 3600, "fresh-20261124-0300", 123, "verified 2h ago (RPO 26h)"},
		"gaveup":   {Failing, -1, "", 0, "newest export gaveup-20261124-0300 is abandoned (bucket-missing); never verified"},
		"memc":     {Unprotected, -1, "", 0, "memcached-not-supported"},
		"new":      {Never, -1, "", 0, "no verified export; export new-20261124-0300 is snapshotting"},
		"old":      {Stale, 30 * 3600, "old-20261123-0100", 7, "newest verified export is 30h old (RPO 26h); export old-20261124-0300 is exporting"},
		"retrying": {Compliant, 24 * 3600, "retrying-20261123-0300", 9, "verified 24h ago (RPO 26h)"},
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rep.Rows), len(want), rep.Rows)
	}
	for _, r := range rep.Rows {
		w, ok := want[r.Cache]
		if !ok {
			t.Errorf("unexpected row %+v", r)
			continue
		}
		if r.Verdict != w.verdict || !strings.HasPrefix(r.Reason, w.reason) {
			t.Errorf("%s: verdict %s (%q), want %s (%q)", r.Cache, r.Verdict, r.Reason, w.verdict, w.reason)
		}
		switch {
		case w.age < 0 && (r.AgeSeconds != nil || r.LastVerifiedExport != nil):
			t.Errorf("%s: age %v, last %+v, want none", r.Cache, *r.AgeSeconds, r.LastVerifiedExport)
		case w.age >= 0 && (r.AgeSeconds == nil || *r.AgeSeconds != w.age || r.LastVerifiedExport == nil ||
			r.LastVerifiedExport.ExportID != w.export || r.LastVerifiedExport.Bytes != w.bytes):
			t.Errorf("%s: age %v last %+v, want %d %s %d", r.Cache, r.AgeSeconds, r.LastVerifiedExport, w.age, w.export, w.bytes)
		}
	}
	if got := rep.Rows[2].LastVerifiedExport.Location; got != "s3://exports/cacheport/fresh/fresh-20261124-0300/" {
		t.Errorf("location %q", got)
	}
	for _, r := range rep.Rows {
		switch r.Cache {
		case "old":
			if r.NewestSnapshot == nil || r.NewestSnapshot.Name != "automatic.old-2026-11-24-04-00" || !r.NewestSnapshot.Automated ||
				!strings.HasSuffix(r.Reason, "; newest ElastiCache snapshot automatic.old-2026-11-24-04-00 (automatic) is 3h old") {
				t.Errorf("old: snapshot %+v, reason %q", r.NewestSnapshot, r.Reason)
			}
		case "new":
			if r.NewestSnapshot != nil || !strings.HasSuffix(r.Reason, "; ElastiCache holds no snapshot of it either") {
				t.Errorf("new: snapshot %+v, reason %q", r.NewestSnapshot, r.Reason)
			}
		case "fresh", "memc":
			if r.NewestSnapshot != nil {
				t.Errorf("%s: snapshot %+v", r.Cache, r.NewestSnapshot)
			}
		}
	}
	if rep.Compliant() || rep.Counts[Compliant] != 2 || rep.Counts[Failing] != 2 || len(rep.NonCompliant()) != 6 {
		t.Errorf("counts %v", rep.Counts)
	}
	if rep.Rows[0].Mode != ModeClusterModeDisabled || rep.Rows[4].Mode != ModeNodeBased {
		t.Errorf("modes %q %q", rep.Rows[0].Mode, rep.Rows[4].Mode)
	}

	// Metrics: one age per verified cache; no max (never-verified caches count as missing data).
	names := metricNames(t, &metrics)
	if names[MetricExportAge] != 4 || names[MetricMaxExportAge] != 0 || names[MetricNonCompliant] != 1 {
		t.Errorf("metrics %v", names)
	}

	// JSON: null for no export and no age.
	b, _ := json.Marshal(rep.Rows[1])
	if !strings.Contains(string(b), `"last_verified_export":null`) || !strings.Contains(string(b), `"age_seconds":null`) {
		t.Errorf("json %s", b)
	}
}

func metricNames(t *testing.T, buf *bytes.Buffer) map[string]int {
	t.Helper()
	names := map[string]int{}
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		for _, n := range []string{MetricExportAge, MetricMaxExportAge, MetricNonCompliant} {
			if _, ok := m[n]; ok {
				names[n]++
			}
		}
	}
	return names
}

func TestMaxAgeMetricAndFilter(t *testing.T) {
	ec := &fakes.ElastiCache{CacheClusters: []ectypes.CacheCluster{cluster("a", "redis", "available"), cluster("b", "redis", "available"), cluster("m", "memcached", "available")}}
	st := export.NewStore(fakes.NewS3(), "exports")
	record(t, st, "a", "a-20261124-0300", export.StageVerified, now.Add(-5*time.Hour), now.Add(-4*time.Hour), "", 1)
	record(t, st, "b", "b-by-hand", export.StageVerified, now.Add(-9*time.Hour), now.Add(-8*time.Hour), "", 1)
	var metrics bytes.Buffer
	a := New(Options{Prefix: "cacheport", RPO: 26 * time.Hour}, ec, st, nil, telemetry.NewMetrics(&metrics, "audit"))
	rep, err := a.Run(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	// memcached is unprotected but does not keep the max from being emitted.
	var maxAge float64
	for line := range strings.Lines(metrics.String()) {
		var m map[string]any
		json.Unmarshal([]byte(line), &m)
		if v, ok := m[MetricMaxExportAge]; ok {
			maxAge = v.(float64)
		}
	}
	if maxAge != 8*3600 {
		t.Errorf("max age %v, want %v\n%s", maxAge, 8*3600, metrics.String())
	}
	if rep.Compliant() {
		t.Error("report with an unprotected cache is compliant")
	}

	// The same filter as the deployment: only "a" and an id that matches no cache.
	a = New(Options{Prefix: "cacheport", RPO: 26 * time.Hour, Filter: targets.Filter{IDs: []string{"a", "nope"}}}, ec, st, nil, nil)
	rep, err = a.Run(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].Verdict != Compliant || rep.Rows[1].Verdict != Unprotected || !strings.HasPrefix(rep.Rows[1].Reason, targets.SkipNotFound) {
		t.Errorf("rows %+v", rep.Rows)
	}

	// No cache in scope: not compliant, and no max metric (missing data breaches).
	metrics.Reset()
	a = New(Options{Prefix: "cacheport"}, &fakes.ElastiCache{}, st, nil, telemetry.NewMetrics(&metrics, "audit"))
	rep, err = a.Run(context.Background(), now)
	if err != nil || rep.Compliant() || metricNames(t, &metrics)[MetricMaxExportAge] != 0 {
		t.Errorf("empty scope: %v %+v %s", err, rep, metrics.String())
	}
}

func TestRunErrors(t *testing.T) {
	ec := &fakes.ElastiCache{CacheClusters: []ectypes.CacheCluster{cluster("a", "redis", "available")}}
	denied := errors.New("AccessDenied")
	ec.Fail("DescribeReplicationGroups", denied)
	a := New(Options{Prefix: "cacheport"}, ec, export.NewStore(fakes.NewS3(), "exports"), nil, nil)
	if _, err := a.Run(context.Background(), now); !errors.Is(err, denied) {
		t.Errorf("err %v, want the describe error", err)
	}
	// An unreadable record: the row says so.
	s3 := fakes.NewS3()
	s3.Objects["cacheport/a/a-x/export.json"] = fakes.Object{Body: []byte("{not json"), ETag: `"1"`, Mod: now}
	a = New(Options{Prefix: "cacheport"}, ec, export.NewStore(s3, "exports"), nil, nil)
	rep, err := a.Run(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Rows[0]; r.Verdict != Never || !strings.Contains(r.Reason, "1 export record(s) could not be read") {
		t.Errorf("row %+v", r)
	}
	// Snapshots that cannot be listed leave the verdict alone and say nothing about them.
	ec.Fail("DescribeSnapshots", errors.New("AccessDenied"))
	rep, err = a.Run(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Rows[0]; r.Verdict != Never || strings.Contains(r.Reason, "snapshot") {
		t.Errorf("row %+v", r)
	}
}

type recorder struct {
	details []export.Detail
	fail    map[string]error
}

func (r *recorder) Publish(_ context.Context, dt string, d export.Detail) error {
	if dt != export.DetailAudit {
		return errors.New("wrong detail-type " + dt)
	}
	if err := r.fail[d.Cache]; err != nil {
		return err
	}
	r.details = append(r.details, d)
	return nil
}

func TestPublish(t *testing.T) {
	age := int64(108000)
	rep := &Report{Bucket: "exports", Prefix: "cacheport", Rows: []Row{
		{Cache: "ok", Verdict: Compliant, Reason: "verified"},
		{Cache: "old", Kind: export.KindReplicationGroup, Engine: "redis", Verdict: Stale, Reason: "newest verified export is 30h old (RPO 26h)",
			AgeSeconds: &age, LastVerifiedExport: &LastExport{ExportID: "old-20261123-0100"}},
		{Cache: "gaveup", Verdict: Failing, Reason: "abandoned", Latest: &Attempt{ExportID: "gaveup-20261124-0300", Stage: export.StageAbandoned, Attempt: 3}},
		{Cache: "memc", Verdict: Unprotected, Reason: "memcached-not-supported"},
	}}
	rec := &recorder{fail: map[string]error{"memc": errors.New("bus down")}}
	n, err := Publish(context.Background(), rec, rep)
	if n != 2 || err == nil || !strings.Contains(err.Error(), "memc") {
		t.Fatalf("n %d err %v", n, err)
	}
	d := rec.details[0]
	if d.Cache != "old" || d.ExportID != "old-20261123-0100" || d.Stage != export.StageVerified || d.RecordKey != "cacheport/old/old-20261123-0100/export.json" ||
		d.Reason != "stale: newest verified export is 30h old (RPO 26h); age_seconds=108000" || d.Bucket != "exports" {
		t.Errorf("detail %+v", d)
	}
	if d := rec.details[1]; d.ExportID != "gaveup-20261124-0300" || d.Attempt != 3 || d.Stage != export.StageAbandoned || !strings.HasPrefix(d.Reason, "failing: ") {
		t.Errorf("detail %+v", d)
	}
}
