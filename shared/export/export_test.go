package export_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/internal/fakes"
	. "github.com/cacheport/cacheport/shared/export"
)

var t0 = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

func TestScheduledID(t *testing.T) {
	id, err := ScheduledID("Orders", t0.Add(42*time.Second))
	if err != nil || id != "orders-20261124-0300" {
		t.Fatalf("ScheduledID = %q, %v; want orders-20261124-0300", id, err)
	}
	if _, err := ScheduledID("bad_name", t0); err == nil {
		t.Fatal("ScheduledID accepted an underscore")
	}
}

func TestValidateExportID(t *testing.T) {
	for _, c := range []struct {
		id string
		ok bool
	}{
		{"orders-20261124-0300", true},
		{"a", true},
		{"", false},
		{"Orders", false},
		{"-orders", false},
		{"orders-", false},
		{"orders/1", false},
		{"orders.1", false},
		{strings.Repeat("a", 200), true},
		{strings.Repeat("a", 201), false},
	} {
		if err := ValidateExportID(c.id); (err == nil) != c.ok {
			t.Errorf("ValidateExportID(%q) = %v, want ok=%v", c.id, err, c.ok)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, c := range []struct {
		p  string
		ok bool
	}{
		{"cacheport", true}, {"team/cacheport", true}, {"a.b-c", true},
		{"", false}, {"/x", false}, {"x/", false}, {"x//y", false}, {"x/../y", false}, {"Upper", false},
	} {
		if err := ValidatePrefix(c.p); (err == nil) != c.ok {
			t.Errorf("ValidatePrefix(%q) = %v, want ok=%v", c.p, err, c.ok)
		}
	}
}

func TestLayout(t *testing.T) {
	l, err := NewLayout("", "Orders", "orders-20261124-0300")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"record":   "cacheport/orders/orders-20261124-0300/export.json",
		"manifest": "cacheport/orders/orders-20261124-0300/manifest.json",
		"attempt":  "cacheport/orders/orders-20261124-0300/a2/",
		"target":   "cacheport/orders/orders-20261124-0300/a2/orders-20261124-0300",
		"shard":    "cacheport/orders/orders-20261124-0300/a2/orders-20261124-0300-0003.rdb",
		"snapshot": "cacheport-orders-20261124-0300-a2",
	}
	got := map[string]string{
		"record": l.RecordKey(), "manifest": l.ManifestKey(), "attempt": l.AttemptDir(2),
		"target": l.TargetName(2), "shard": l.ShardKey(2, 3), "snapshot": l.SnapshotName(2),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	for _, k := range got {
		if strings.Trim(k, "abcdefghijklmnopqrstuvwxyz0123456789./-") != "" {
			t.Errorf("key %q uses characters outside [a-z0-9./-]", k)
		}
	}
	pl, rest, ok := ParseRecordKey("cacheport", l.ShardKey(2, 3))
	if !ok || pl != l || AttemptOf(rest) != 2 {
		t.Errorf("ParseRecordKey = %+v, %q, %v; attempt %d", pl, rest, ok, AttemptOf(rest))
	}
	for _, k := range []string{"other/orders/x/export.json", "cacheport/orders", "cacheport/orders/Bad_ID/x"} {
		if _, _, ok := ParseRecordKey("cacheport", k); ok {
			t.Errorf("ParseRecordKey(%q) accepted a key outside the layout", k)
		}
	}
	for rest, n := range map[string]int{"a1/x.rdb": 1, "a12/x": 12, "a0/x": 0, "a01/x": 0, "b1/x": 0, "a1": 0, "export.json": 0} {
		if AttemptOf(rest) != n {
			t.Errorf("AttemptOf(%q) = %d, want %d", rest, AttemptOf(rest), n)
		}
	}
}

func TestOwnsSnapshot(t *testing.T) {
	id := "orders-20261124-0300"
	tags := OwnershipTags(id)
	for _, c := range []struct {
		name string
		tags map[string]string
		want bool
	}{
		{"cacheport-orders-20261124-0300-a1", tags, true},
		{"cacheport-orders-20261124-0300-a12", tags, true},
		{"cacheport-orders-20261124-0300-a1", map[string]string{TagManaged: "true"}, false},
		{"cacheport-orders-20261124-0300-a1", map[string]string{TagManaged: "true", TagExportID: "other"}, false},
		{"cacheport-orders-20261124-0300-a1", nil, false},
		{"automatic.orders-2026-11-24-03-00", tags, false},
		{"cacheport-orders-20261124-0300-a0", tags, false},
		{"cacheport-orders-20261124-0300-a1x", tags, false},
		{"cacheport-orders-20261124-0300-backup", tags, false},
	} {
		if got := OwnsSnapshot(c.name, c.tags, id); got != c.want {
			t.Errorf("OwnsSnapshot(%q, %v) = %v, want %v", c.name, c.tags, got, c.want)
		}
	}
}

func TestAllowed(t *testing.T) {
	yes := [][2]Stage{
		{StageRequested, StageSnapshotting}, {StageRequested, StageExporting}, {StageSnapshotting, StageExporting},
		{StageExporting, StageVerifying}, {StageVerifying, StageVerified}, {StageSnapshotting, StageFailed},
		{StageExporting, StageFailed}, {StageVerifying, StageFailed}, {StageFailed, StageCleaned},
		{StageCleaned, StageRequested}, {StageCleaned, StageAbandoned}, {StageRequested, StageCancelled},
		{StageVerifying, StageCancelled},
	}
	no := [][2]Stage{
		{StageVerified, StageCancelled}, {StageVerified, StageFailed}, {StageRequested, StageVerified},
		{StageFailed, StageRequested}, {StageAbandoned, StageRequested}, {StageCancelled, StageRequested},
		{StageExporting, StageSnapshotting}, {StageCleaned, StageVerified},
	}
	for _, p := range yes {
		if !Allowed(p[0], p[1]) {
			t.Errorf("Allowed(%s, %s) = false", p[0], p[1])
		}
	}
	for _, p := range no {
		if Allowed(p[0], p[1]) {
			t.Errorf("Allowed(%s, %s) = true", p[0], p[1])
		}
	}
	for _, s := range []Stage{StageVerified, StageAbandoned, StageCancelled} {
		if !s.Terminal() || s.Active() {
			t.Errorf("%s: Terminal=%v Active=%v", s, s.Terminal(), s.Active())
		}
	}
	if Stage("exported").Valid() {
		t.Error("an unknown stage is valid")
	}
}

func newTestMachine(t *testing.T) (*Machine, *fakes.S3, *fakes.Bus) {
	t.Helper()
	s3f, bus := fakes.NewS3(), &fakes.Bus{}
	now := t0
	m := NewMachine(NewStore(s3f, "exports"), NewPublisher(bus, "cacheport"), WithClock(func() time.Time { return now }))
	return m, s3f, bus
}

func begin(t *testing.T, m *Machine) *Export {
	t.Helper()
	e, err := m.Begin(context.Background(), NewExport{
		ExportID: "orders-20261124-0300", Window: "20261124-0300", MaxAttempts: 2,
		Cache: Cache{ID: "orders", Kind: KindReplicationGroup, Engine: "valkey", Shards: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestBeginIsOncePerExport(t *testing.T) {
	m, s3f, _ := newTestMachine(t)
	e := begin(t, m)
	if e.Key != "cacheport/orders/orders-20261124-0300/export.json" || e.Stage != StageRequested || e.Attempt != 1 {
		t.Fatalf("record = %+v", e)
	}
	_, err := m.Begin(context.Background(), NewExport{ExportID: e.ExportID, Cache: e.Cache, MaxAttempts: 2})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second Begin = %v, want ErrExists", err)
	}
	var rec map[string]any
	if err := json.Unmarshal(s3f.Objects[e.Key].Body, &rec); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"format", "export_id", "cache", "bucket", "prefix", "window", "attempt", "max_attempts", "stage", "source", "objects", "removed", "history", "created_at", "updated_at"} {
		if _, ok := rec[f]; !ok {
			t.Errorf("record lacks field %q", f)
		}
	}
	if rec["format"] != Format || rec["bucket"] != "exports" {
		t.Errorf("format %v bucket %v", rec["format"], rec["bucket"])
	}
}

func TestMoveWritesConditionallyAndPublishes(t *testing.T) {
	m, _, bus := newTestMachine(t)
	ctx := context.Background()
	e := begin(t, m)
	l := e.Layout()
	if err := m.Snapshotting(ctx, e, Source{Snapshot: l.SnapshotName(1), MadeByCacheport: true}, "no fresh backup"); err != nil {
		t.Fatal(err)
	}
	if err := m.Exporting(ctx, e, e.Source, l.TargetName(1), Expect{Target: l.TargetName(1), Shards: 1, KeyPrefix: l.AttemptDir(1)}, "snapshot available"); err != nil {
		t.Fatal(err)
	}
	if err := m.Move(ctx, e, StageVerified, "", nil); err == nil {
		t.Fatal("exporting -> verified was allowed")
	}
	got, err := m.Load(ctx, e.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stage != StageExporting || got.Target != l.TargetName(1) || got.Source.Snapshot != l.SnapshotName(1) || len(got.History) != 3 {
		t.Fatalf("loaded %+v", got.Record)
	}
	if got.ETag != e.ETag {
		t.Errorf("etag %s, want %s", got.ETag, e.ETag)
	}
	types := bus.Types()
	if len(types) != 1 || types[0] != DetailStarted {
		t.Fatalf("published %v, want [Export Started]", types)
	}
	var d Detail
	_ = json.Unmarshal([]byte(aws.ToString(bus.Events[0].Entries[0].Detail)), &d)
	if d.Expect == nil || d.Expect.Shards != 1 || d.RecordKey != e.Key || d.Stage != StageExporting || aws.ToString(bus.Events[0].Entries[0].EventBusName) != "cacheport" {
		t.Fatalf("detail %+v", d)
	}
}

func TestStaleWriteLosesAndOverwritesNothing(t *testing.T) {
	m, _, _ := newTestMachine(t)
	ctx := context.Background()
	e := begin(t, m)
	stale := *e
	if err := m.Move(ctx, e, StageCancelled, "by request", nil); err != nil {
		t.Fatal(err)
	}
	err := m.Snapshotting(ctx, &stale, Source{Snapshot: "x"}, "")
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("stale write = %v, want ErrConflict", err)
	}
	got, _ := m.Load(ctx, e.Key)
	if got.Stage != StageCancelled {
		t.Fatalf("stage %s after a lost race, want cancelled", got.Stage)
	}
}

// Two invocations load the same export and race to move it: exactly one wins.
func TestConcurrentTransitionsExactlyOneWins(t *testing.T) {
	for round := 0; round < 20; round++ {
		m, s3f, bus := newTestMachine(t)
		ctx := context.Background()
		e := begin(t, m)
		a, b := *e, *e
		var ready sync.WaitGroup
		ready.Add(2)
		gate := make(chan struct{})
		s3f.BeforePut = func() { ready.Done(); <-gate }
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, ex := range []*Export{&a, &b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = m.Fail(ctx, ex, Error{Code: "snapshot-failed", Message: "racer"})
			}()
		}
		ready.Wait()
		close(gate)
		wg.Wait()
		s3f.BeforePut = nil
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, ErrConflict):
				t.Fatalf("loser error %v, want ErrConflict", err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d winners (%v), want exactly 1", round, wins, errs)
		}
		if n := len(bus.Types()); n != 1 {
			t.Fatalf("round %d: %d events published, want 1", round, n)
		}
		got, _ := m.Load(ctx, e.Key)
		if got.Stage != StageFailed || len(got.History) != 2 {
			t.Fatalf("record after race: %+v", got.Record)
		}
	}
}

func TestNextAttemptRetriesThenAbandons(t *testing.T) {
	m, _, bus := newTestMachine(t)
	ctx := context.Background()
	e := begin(t, m)
	fail := func() {
		t.Helper()
		if err := m.Fail(ctx, e, Error{Code: "export-failed", Message: "x", Object: "k"}); err != nil {
			t.Fatal(err)
		}
		if err := m.Cleaned(ctx, e, []Removal{{What: "object", Name: "k", At: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	fail()
	again, err := m.NextAttempt(ctx, e, t0.Add(time.Minute))
	if err != nil || !again || e.Stage != StageRequested || e.Attempt != 2 || !e.NotBefore.Equal(t0.Add(time.Minute)) {
		t.Fatalf("NextAttempt = %v, %v; record %+v", again, err, e.Record)
	}
	if len(e.Removed) != 1 || e.Error == nil {
		t.Errorf("history of attempt 1 lost: removed %v error %v", e.Removed, e.Error)
	}
	fail()
	again, err = m.NextAttempt(ctx, e, t0)
	if err != nil || again || e.Stage != StageAbandoned {
		t.Fatalf("NextAttempt at budget = %v, %v; stage %s", again, err, e.Stage)
	}
	want := []string{DetailFailed, DetailCleaned, DetailRequested, DetailFailed, DetailCleaned, DetailAbandoned}
	if got := bus.Types(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v", got, want)
	}
	if err := m.Save(ctx, e, func(r *Record) { r.Target = "x" }); err == nil {
		t.Fatal("Save rewrote an abandoned record")
	}
}

func TestPublishFailureKeepsTheMove(t *testing.T) {
	m, _, bus := newTestMachine(t)
	ctx := context.Background()
	e := begin(t, m)
	bus.Fail = errors.New("throttled")
	err := m.Fail(ctx, e, Error{Code: "snapshot-failed"})
	var pe *PublishError
	if !errors.As(err, &pe) || pe.DetailType != DetailFailed {
		t.Fatalf("err = %v, want a PublishError for Export Failed", err)
	}
	got, _ := m.Load(ctx, e.Key)
	if got.Stage != StageFailed {
		t.Fatalf("stage %s, want failed", got.Stage)
	}
}

func TestLoadRejectsDamage(t *testing.T) {
	m, s3f, _ := newTestMachine(t)
	ctx := context.Background()
	if _, err := m.Load(ctx, "cacheport/x/y/export.json"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing record: %v", err)
	}
	for name, body := range map[string]string{
		"not json":      "{",
		"other format":  `{"format":"other/1","stage":"requested"}`,
		"unknown stage": `{"format":"cacheport.export/1","stage":"exported"}`,
	} {
		_, _ = s3f.PutObject(ctx, &s3.PutObjectInput{Key: aws.String("k/export.json"), Body: strings.NewReader(body)})
		if _, err := m.Load(ctx, "k/export.json"); err == nil {
			t.Errorf("%s: Load accepted %q", name, body)
		}
	}
}

func TestListFollowsPages(t *testing.T) {
	m, s3f, _ := newTestMachine(t)
	ctx := context.Background()
	for _, c := range []string{"a", "b", "c"} {
		if _, err := m.Begin(ctx, NewExport{ExportID: c + "-20261124-0300", Cache: Cache{ID: c}, MaxAttempts: 1}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = s3f.PutObject(ctx, &s3.PutObjectInput{Key: aws.String("cacheport/a/a-20261124-0300/a1/a-20261124-0300-0001.rdb"), Body: strings.NewReader("x")})
	refs, err := m.Store().List(ctx, "cacheport/")
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 3 {
		t.Fatalf("List found %d records (%v), want 3", len(refs), refs)
	}
}

func TestNoteRemovedOnAFinalRecord(t *testing.T) {
	m, _, bus := newTestMachine(t)
	ctx := context.Background()
	e := begin(t, m)
	if err := m.Cancel(ctx, e, "by request"); err != nil {
		t.Fatal(err)
	}
	stale := *e
	if err := m.NoteRemoved(ctx, e, []Removal{{What: "object", Name: "k", At: t0}}); err != nil {
		t.Fatal(err)
	}
	if err := m.NoteRemoved(ctx, &stale, []Removal{{What: "object", Name: "k2", At: t0}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale NoteRemoved = %v, want ErrConflict", err)
	}
	got, _ := m.Load(ctx, e.Key)
	if got.Stage != StageCancelled || len(got.Removed) != 1 || got.Removed[0].Name != "k" {
		t.Fatalf("record %+v", got.Record)
	}
	if n := len(bus.Types()); n != 1 {
		t.Fatalf("NoteRemoved published: %v", bus.Types())
	}
}

func TestParseSnapshotNameAndScheduledID(t *testing.T) {
	for name, want := range map[string]struct {
		id string
		n  int
	}{
		"cacheport-orders-20261124-0300-a1": {"orders-20261124-0300", 1},
		"cacheport-my-export-a12":           {"my-export", 12},
		"cacheport-orders-a01":              {},
		"cacheport--a1":                     {},
		"cacheport-orders-a0":               {},
		"automatic.orders-2026":             {},
		"cacheport-Orders-a1":               {},
	} {
		id, n, ok := ParseSnapshotName(name)
		if ok != (want.id != "") || id != want.id || n != want.n {
			t.Errorf("ParseSnapshotName(%q) = %q, %d, %v; want %q, %d", name, id, n, ok, want.id, want.n)
		}
	}
	if c, ok := CacheOfScheduledID("orders-eu-20261124-0300"); !ok || c != "orders-eu" {
		t.Errorf("CacheOfScheduledID = %q, %v", c, ok)
	}
	for _, id := range []string{"my-export", "-20261124-0300", "x20261124-0300", "orders-20261399-0300"} {
		if _, ok := CacheOfScheduledID(id); ok {
			t.Errorf("CacheOfScheduledID(%q) parsed", id)
		}
	}
}
