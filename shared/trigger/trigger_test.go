package trigger

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/export"
)

var now = time.Date(2026, 11, 24, 3, 0, 30, 0, time.UTC)

// Every sample event decodes, as the kind of trigger its name says.
func TestDecodeSampleEvents(t *testing.T) {
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("sample events: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := Decode(raw, now)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		name := filepath.Base(f)
		switch {
		case strings.HasPrefix(name, "schedule-"):
			if tr.Schedule == nil || tr.Schedule.Action != strings.TrimSuffix(strings.TrimPrefix(name, "schedule-"), ".json") || tr.Schedule.ScheduledTime.IsZero() {
				t.Errorf("%s: %+v", name, tr.Schedule)
			}
		case strings.HasPrefix(name, "export-"):
			d, err := CacheportDetail(tr.Event)
			if err != nil || d.Bucket == "" || d.Stage == "" || !strings.HasSuffix(d.RecordKey, "/export.json") {
				t.Errorf("%s: %+v %v", name, d, err)
			}
		case strings.HasPrefix(name, "s3-"):
			d, err := S3Detail(tr.Event)
			if err != nil || d.Object.Size == 0 || d.Object.ETag == "" {
				t.Errorf("%s: %+v %v", name, d, err)
			}
		case strings.HasPrefix(name, "elasticache-"):
			d, err := ElastiCacheDetail(tr.Event)
			if err != nil || d.Name() != "cacheport-carts-20261124-0300-a1" {
				t.Errorf("%s: %+v %v", name, d, err)
			}
		default:
			t.Errorf("%s: no test knows this sample", name)
		}
		if tr.Event != nil && (tr.Event.Version != "0" || tr.Event.ID == "" || tr.Event.AccountID == "" || tr.Event.Region == "" || tr.Event.Time.IsZero()) {
			t.Errorf("%s: envelope is not AWS-shaped: %+v", name, tr.Event)
		}
	}
}

func TestDecodeRejectsMalformedInput(t *testing.T) {
	for name, raw := range map[string]string{
		"not json":        `{"action":`,
		"array":           `[1,2]`,
		"unknown action":  `{"action":"explode"}`,
		"bad time":        `{"action":"window","scheduled_time":"yesterday"}`,
		"neither":         `{"hello":"world"}`,
		"no source":       `{"detail-type":"Export Requested","detail":{}}`,
		"detail a string": `{"detail-type":"Export Requested","source":"cacheport","detail":"x"}`,
		"huge":            `{"action":"window","pad":"` + strings.Repeat("x", 2<<20) + `"}`,
	} {
		_, err := Decode([]byte(raw), now)
		var bad *BadInputError
		if !errors.As(err, &bad) {
			t.Errorf("%s: err = %v, want *BadInputError", name, err)
		}
	}
}

func TestDecodeScheduleWithoutTimeUsesNow(t *testing.T) {
	tr, err := Decode([]byte(`{"action":"advance"}`), now)
	if err != nil || !tr.Schedule.ScheduledTime.Equal(now) {
		t.Fatalf("%+v %v", tr.Schedule, err)
	}
}

func TestDetailsCheckTheirSource(t *testing.T) {
	tr, err := Decode([]byte(`{"version":"0","detail-type":"Export Failed","source":"cacheport","detail":{"export_id":"x"}}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CacheportDetail(tr.Event); err == nil {
		t.Error("a detail without record_key was accepted")
	}
	if _, err := S3Detail(tr.Event); err == nil {
		t.Error("a cacheport event decoded as S3")
	}
	if _, err := ElastiCacheDetail(tr.Event); err == nil {
		t.Error("a cacheport event decoded as ElastiCache")
	}
	if got := (ElastiCacheEvent{SourceArn: "arn:aws:elasticache:us-east-1:1:serverlesscachesnapshot:snap-1"}).Name(); got != "snap-1" {
		t.Errorf("Name from ARN = %q", got)
	}
}

func TestReceiveReportsAndChecksSubscriptions(t *testing.T) {
	raw, err := os.ReadFile("../../events/s3-object-created.json")
	if err != nil {
		t.Fatal(err)
	}
	acc := Accepts{Actions: []string{ActionReconcile}, Events: []string{"aws.s3/Object Created"}}
	_, r, err := Receive(raw, now, acc)
	if err != nil || !r.Supported || r.Key != "cacheport/sessions/sessions-20261124-0300/a1/sessions-20261124-0300-0002.rdb" || r.Bucket == "" {
		t.Fatalf("%+v %v", r, err)
	}
	raw, _ = os.ReadFile("../../events/export-failed.json")
	var bad *BadInputError
	if _, r, err := Receive(raw, now, acc); !errors.As(err, &bad) || r.Supported || r.ExportID != "orders-20261124-0300" {
		t.Fatalf("an unsubscribed event: %+v %v", r, err)
	}
	if _, r, err := Receive([]byte(`{"action":"reconcile"}`), now, acc); err != nil || r.Scheduled != "2026-11-24T03:00:30Z" {
		t.Fatalf("schedule: %+v %v", r, err)
	}
}

func TestBoundaryMapsOutcomesForLambda(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	var bad *BadInputError
	var retry *RetryableError
	if err := Boundary(log, "f", fmt.Errorf("record x: %w", export.ErrNotOurs), false, ""); !errors.As(err, &bad) {
		t.Errorf("not ours: %v", err)
	}
	if err := Boundary(log, "f", &BadInputError{Reason: "x"}, true, ""); !errors.As(err, &bad) {
		t.Errorf("bad input kept: %v", err)
	}
	if err := Boundary(log, "f", errors.New("throttled"), false, ""); !errors.As(err, &retry) {
		t.Errorf("other error: %v", err)
	}
	if err := Boundary(log, "f", nil, true, "why"); !errors.As(err, &retry) || retry.Reason != "why" {
		t.Errorf("retry: %v", err)
	}
	if err := Boundary(log, "f", nil, false, "why"); err != nil {
		t.Errorf("success: %v", err)
	}
}
