package telemetry

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestEmitWritesEMF(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "start-export")
	m.now = func() time.Time { return time.UnixMilli(1764000000000) }
	m.Count("ExportsStarted", 2, map[string]string{"Engine": "valkey", "Cache": "orders"})
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q: %v", buf.String(), err)
	}
	if line["ExportsStarted"] != 2.0 || line["Function"] != "start-export" || line["Engine"] != "valkey" {
		t.Fatalf("line %v", line)
	}
	aws := line["_aws"].(map[string]any)
	cw := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	dims := cw["Dimensions"].([]any)[0].([]any)
	if cw["Namespace"] != Namespace || len(dims) != 3 || dims[0] != "Function" || dims[1] != "Cache" || dims[2] != "Engine" {
		t.Fatalf("directive %v", cw)
	}
	if aws["Timestamp"] != 1764000000000.0 {
		t.Fatalf("timestamp %v", aws["Timestamp"])
	}
	var nilM *Metrics
	nilM.Count("x", 1, nil) // must not panic
}

func TestLoggerIsJSONWithFunction(t *testing.T) {
	var buf bytes.Buffer
	NewLogger(&buf, slog.LevelInfo, "verify-export").Debug("hidden")
	NewLogger(&buf, slog.LevelInfo, "verify-export").Info("hello", "export_id", "x")
	if strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("want one line, got %q", buf.String())
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["function"] != "verify-export" || line["export_id"] != "x" {
		t.Fatalf("line %q: %v", buf.String(), err)
	}
}
