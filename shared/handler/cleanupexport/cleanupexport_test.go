package cleanupexport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/shared/cleanup"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/trigger"
)

// The bucket of the sample events.
const bucket = "cacheport-exports-111122223333-us-east-1"

var (
	window = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	now    = window.Add(10 * time.Minute)
)

type env struct {
	t    *testing.T
	ec   *fakes.ElastiCache
	s3   *fakes.S3
	bus  *fakes.Bus
	m    *export.Machine
	h    *Handler
	logs *bytes.Buffer
}

func newEnv(t *testing.T, c Cleaner) *env {
	e := &env{t: t, ec: &fakes.ElastiCache{}, s3: fakes.NewS3(), bus: &fakes.Bus{}, logs: &bytes.Buffer{}}
	e.s3.Versioned = true
	clock := func() time.Time { return now }
	e.m = export.NewMachine(export.NewStore(e.s3, bucket), export.NewPublisher(e.bus, "cacheport"), export.WithClock(clock))
	if c == nil {
		c = cleanup.New(cleanup.Options{Bucket: bucket}, e.s3, e.ec, e.m, nil, nil)
	}
	e.h = New(c, slog.New(slog.NewJSONHandler(e.logs, nil)), clock)
	return e
}

// export begins cache's export of the sample window and moves it to exporting from a tagged
// snapshot cacheport made.
func (e *env) export(cache string, kind export.Kind) *export.Export {
	ctx := context.Background()
	x, err := e.m.Begin(ctx, export.NewExport{Prefix: "cacheport", ExportID: cache + "-20261124-0300", Window: "20261124-0300",
		Cache: export.Cache{ID: cache, Kind: kind, Engine: "valkey"}, MaxAttempts: 3})
	if err != nil {
		e.t.Fatal(err)
	}
	name := x.Layout().SnapshotName(1)
	tags := []ectypes.Tag{{Key: aws.String(export.TagManaged), Value: aws.String("true")}, {Key: aws.String(export.TagExportID), Value: aws.String(x.ExportID)}}
	if kind == export.KindServerless {
		_, err = e.ec.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{ServerlessCacheName: aws.String(cache), ServerlessCacheSnapshotName: aws.String(name), Tags: tags})
	} else {
		_, err = e.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{ReplicationGroupId: aws.String(cache), SnapshotName: aws.String(name), Tags: tags})
	}
	if err != nil {
		e.t.Fatal(err)
	}
	e.ec.Finish(name, "available")
	src := export.Source{Snapshot: name, MadeByCacheport: true}
	if err := e.m.Exporting(ctx, x, src, x.Layout().TargetName(1), export.Expect{}, "test"); err != nil {
		e.t.Fatal(err)
	}
	return x
}

func (e *env) put(key string) {
	if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) handle(file string) (*cleanup.Summary, error) {
	raw, err := os.ReadFile("../../../events/" + file)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.h.Handle(context.Background(), raw)
}

// Every sample cleanup-export subscribes to is routed to its step and acted on.
func TestSubscribedSamples(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		file    string
		setup   func(e *env)
		action  string
		outcome cleanup.Outcome
	}{
		{"export-failed.json", func(e *env) {
			x := e.export("orders", export.KindReplicationGroup)
			e.put(x.Layout().ShardKey(1, 1))
			if err := e.m.Fail(ctx, x, export.Error{Code: "snapshot-failed"}); err != nil {
				t.Fatal(err)
			}
		}, "failed", cleanup.OutcomeCleaned},
		{"export-cancelled.json", func(e *env) {
			x := e.export("orders", export.KindReplicationGroup)
			e.put(x.Layout().ShardKey(1, 1))
			if err := e.m.Cancel(ctx, x, "by request"); err != nil {
				t.Fatal(err)
			}
		}, "cancelled", cleanup.OutcomeRemoved},
		{"export-verified.json", func(e *env) {
			x := e.export("orders", export.KindReplicationGroup)
			for _, st := range []export.Stage{export.StageVerifying, export.StageVerified} {
				if err := e.m.Move(ctx, x, st, "test", nil); err != nil {
					t.Fatal(err)
				}
			}
		}, "verified", cleanup.OutcomeRemoved}, // cacheport's snapshot of the verified export
		{"s3-object-created.json", func(e *env) {
			x := e.export("sessions", export.KindReplicationGroup)
			if err := e.m.Fail(ctx, x, export.Error{Code: "export-incomplete"}); err != nil {
				t.Fatal(err)
			}
			e.put("cacheport/sessions/sessions-20261124-0300/a1/sessions-20261124-0300-0002.rdb")
		}, "object-created", cleanup.OutcomeRemoved},
		{"elasticache-snapshot-creation-failed.json", func(e *env) { e.export("carts", export.KindServerless) }, "snapshot-failure", cleanup.OutcomeCleaned},
		{"elasticache-snapshot-export-failed.json", func(e *env) { e.export("carts", export.KindServerless) }, "snapshot-failure", cleanup.OutcomeCleaned},
		{"elasticache-snapshot-copy-failed.json", func(e *env) { e.export("carts", export.KindServerless) }, "snapshot-failure", cleanup.OutcomeCleaned},
		{"schedule-stale.json", func(e *env) {
			x := e.export("orders", export.KindReplicationGroup)
			if err := e.m.Fail(ctx, x, export.Error{Code: "export-refused"}); err != nil {
				t.Fatal(err)
			}
		}, "stale", cleanup.OutcomeCleaned},
	} {
		t.Run(tc.file, func(t *testing.T) {
			e := newEnv(t, nil)
			tc.setup(e)
			sum, err := e.handle(tc.file)
			if err != nil {
				t.Fatalf("%v\n%s", err, e.logs)
			}
			if sum.Action != tc.action || sum.Counts[string(tc.outcome)] != 1 {
				t.Fatalf("summary %+v", sum)
			}
			for _, want := range []string{"cleanup-export received", "cleanup-export done"} {
				if !strings.Contains(e.logs.String(), want) {
					t.Errorf("logs lack %q", want)
				}
			}
		})
	}
}

func TestOtherSamplesAreRefused(t *testing.T) {
	for _, f := range []string{"schedule-window.json", "schedule-reconcile.json", "export-started.json", "export-requested.json", "elasticache-snapshot-created.json"} {
		e := newEnv(t, nil)
		_, err := e.handle(f)
		var bad *trigger.BadInputError
		if !errors.As(err, &bad) || !strings.Contains(e.logs.String(), "cannot act") {
			t.Errorf("%s: err %v, logs %s", f, err, e.logs)
		}
	}
}

// Events about another bucket or prefix are bad input: nothing is deleted, and a retry cannot help.
func TestForeignEventsAreBadInput(t *testing.T) {
	for name, raw := range map[string]string{
		"foreign bucket": `{"version":"0","id":"1","detail-type":"Object Created","source":"aws.s3","account":"1","time":"2026-11-24T03:07:12Z","region":"us-east-1","resources":[],
			"detail":{"bucket":{"name":"someone-else"},"object":{"key":"cacheport/orders/orders-20261124-0300/a1/orders-20261124-0300-0001.rdb","size":1,"etag":"x"}}}`,
		"another prefix": `{"version":"0","id":"1","detail-type":"Object Created","source":"aws.s3","account":"1","time":"2026-11-24T03:07:12Z","region":"us-east-1","resources":[],
			"detail":{"bucket":{"name":"` + bucket + `"},"object":{"key":"backups/orders/a1/x.rdb","size":1,"etag":"x"}}}`,
		"record elsewhere": `{"version":"0","id":"1","detail-type":"Export Failed","source":"cacheport","account":"1","time":"2026-11-24T03:07:12Z","region":"us-east-1","resources":[],
			"detail":{"export_id":"orders-20261124-0300","bucket":"` + bucket + `","record_key":"other/orders/orders-20261124-0300/export.json"}}`,
	} {
		e := newEnv(t, nil)
		e.put("backups/orders/a1/x.rdb")
		_, err := e.h.Handle(context.Background(), []byte(raw))
		var bad *trigger.BadInputError
		if !errors.As(err, &bad) || e.s3.Deletes != 0 {
			t.Errorf("%s: err %v, %d deletes", name, err, e.s3.Deletes)
		}
	}
}

type failing struct {
	Cleaner
	sum *cleanup.Summary
	err error
}

func (f failing) Stale(context.Context, time.Time) (*cleanup.Summary, error) { return f.sum, f.err }

func TestRetryableOnlyWhenARetryHelps(t *testing.T) {
	retry := &cleanup.Summary{Action: "stale", Results: []cleanup.Result{{Outcome: cleanup.OutcomeError, Retry: true}}}
	later := &cleanup.Summary{Action: "stale", Results: []cleanup.Result{{Outcome: cleanup.OutcomeRetryLater}}}
	for name, tc := range map[string]struct {
		f         failing
		retryable bool
	}{
		"list failed":        {failing{sum: &cleanup.Summary{Action: "stale"}, err: errors.New("throttled")}, true},
		"a step would retry": {failing{sum: retry}, true},
		"snapshot busy":      {failing{sum: later}, false},
	} {
		e := newEnv(t, tc.f)
		_, err := e.handle("schedule-stale.json")
		var re *trigger.RetryableError
		if errors.As(err, &re) != tc.retryable {
			t.Errorf("%s: err %v", name, err)
		}
	}
}
