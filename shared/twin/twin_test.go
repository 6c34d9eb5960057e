package twin

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/twin/ecsrv"
)

var t0 = time.Date(2026, 11, 24, 2, 59, 0, 0, time.UTC)

// syncBuffer collects the functions' logs for a failing test to print.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startTwin(t *testing.T, o Options) (*Twin, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	o.Template = "../../template.yaml"
	o.Start = t0
	o.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.Params == nil {
		o.Params = map[string]string{"MaxAttempts": "2"}
	}
	tw, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tw.Close() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("function logs:\n%s", logs.String())
		}
	})
	return tw, logs
}

// records returns every export record in the bucket, by cache.
func records(t *testing.T, tw *Twin) map[string]*export.Export {
	t.Helper()
	c := tw.Clients(OperatorKey)
	m := export.NewMachine(export.NewStore(c.S3, tw.Bucket), nil)
	refs, err := m.Store().List(context.Background(), "cacheport/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*export.Export{}
	for _, r := range refs {
		e, err := m.Load(context.Background(), r.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[e.Cache.ID] = e
	}
	return out
}

func TestScheduledCycleEndsVerifiedOrCleaned(t *testing.T) {
	caches := append(ecsrv.DefaultCaches(), ecsrv.Cache{ID: "payments", Kind: ecsrv.KindReplicationGroup, Engine: "valkey", Replicas: 1})
	tw, _ := startTwin(t, Options{Caches: caches, Faults: []string{"snapshot-fails=payments"}, Data: ecsrv.DataGenerated})
	ctx := context.Background()
	if err := tw.Advance(ctx, 4*time.Hour, time.Minute); err != nil {
		t.Fatal(err)
	}
	recs := records(t, tw)
	for _, c := range []string{"orders", "sessions", "solo", "carts"} {
		e := recs[c]
		if e == nil || e.Stage != export.StageVerified {
			t.Errorf("%s: %+v", c, e)
		}
	}
	if e := recs["payments"]; e == nil || e.Stage != export.StageAbandoned || e.Attempt != 2 {
		t.Errorf("payments: %+v", e)
	}
	for _, c := range []string{"tiered", "memo"} {
		if recs[c] != nil {
			t.Errorf("%s was exported: %+v", c, recs[c])
		}
	}
	// Nothing of the failed export is left: no object version under its folder, no snapshot.
	vs, err := tw.S3.Versions(tw.Bucket, "cacheport/payments/")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if !strings.HasSuffix(v.Key, "/export.json") {
			t.Errorf("left behind: %+v", v)
		}
	}
	if _, ok := tw.EC.Snapshot("cacheport-payments-20261124-0300-a1"); ok {
		t.Error("the failed attempt's snapshot is still there")
	}
	if len(tw.Router.Alerts()) == 0 {
		t.Error("Export Abandoned raised no alert")
	}
	// The manifest of a verified export names every shard.
	out, err := tw.Clients(OperatorKey).S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(tw.Bucket), Key: aws.String("cacheport/sessions/sessions-20261124-0300/manifest.json")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
}
