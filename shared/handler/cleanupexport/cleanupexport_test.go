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

	"github.com/cacheport/cacheport/shared/trigger"
)

func handle(t *testing.T, file string) (trigger.Received, string, error) {
	t.Helper()
	raw, err := os.ReadFile("../../../events/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := New(slog.New(slog.NewJSONHandler(&logs, nil)), func() time.Time { return time.Date(2026, 11, 24, 3, 10, 0, 0, time.UTC) })
	r, err := h.Handle(context.Background(), raw)
	return r, logs.String(), err
}

func TestSubscribedSamplesAreLogged(t *testing.T) {
	for _, f := range []string{"schedule-stale.json", "s3-object-created.json", "export-failed.json", "export-cancelled.json", "export-verified.json", "elasticache-snapshot-creation-failed.json", "elasticache-snapshot-export-failed.json", "elasticache-snapshot-copy-failed.json"} {
		r, logs, err := handle(t, f)
		if err != nil || !r.Supported {
			t.Errorf("%s: %+v %v", f, r, err)
			continue
		}
		for _, want := range []string{"received", r.Trigger, r.ExportID, r.Key, r.Resource} {
			if !strings.Contains(logs, want) {
				t.Errorf("%s: log lacks %q: %s", f, want, logs)
			}
		}
	}
}

func TestOtherSamplesAreRefused(t *testing.T) {
	for _, f := range []string{"schedule-window.json", "schedule-reconcile.json", "export-started.json", "export-requested.json", "elasticache-snapshot-created.json"} {
		_, logs, err := handle(t, f)
		var bad *trigger.BadInputError
		if !errors.As(err, &bad) || !strings.Contains(logs, "cannot act") {
			t.Errorf("%s: err %v, logs %s", f, err, logs)
		}
	}
}
