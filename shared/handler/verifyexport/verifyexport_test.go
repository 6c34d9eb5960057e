package verifyexport

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/trigger"
	"github.com/cacheport/cacheport/shared/verify"
)

var now = time.Date(2026, 11, 24, 3, 10, 0, 0, time.UTC)

type fakeVerifier struct {
	calls []string
	err   error
	sum   *verify.Summary
}

func (f *fakeVerifier) out() (*verify.Summary, error) {
	if f.sum == nil {
		f.sum = &verify.Summary{}
	}
	return f.sum, f.err
}
func (f *fakeVerifier) Started(_ context.Context, key string, cont bool) (*verify.Summary, error) {
	f.calls = append(f.calls, map[bool]string{false: "started ", true: "continue "}[cont]+key)
	return f.out()
}
func (f *fakeVerifier) ObjectCreated(_ context.Context, b, k string) (*verify.Summary, error) {
	f.calls = append(f.calls, "object "+b+"/"+k)
	return f.out()
}
func (f *fakeVerifier) Reconcile(_ context.Context, at time.Time) (*verify.Summary, error) {
	f.calls = append(f.calls, "reconcile "+at.Format(time.RFC3339))
	return f.out()
}

func run(t *testing.T, f *fakeVerifier, file string) error {
	t.Helper()
	raw, err := os.ReadFile("../../../events/" + file)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(f, slog.New(slog.DiscardHandler), func() time.Time { return now }).Handle(context.Background(), raw)
	return err
}

func TestSamplesReachTheRightStep(t *testing.T) {
	for file, want := range map[string]string{
		"schedule-reconcile.json":        "reconcile 2026-11-24T03:10:00Z",
		"s3-object-created.json":         "object cacheport-exports-111122223333-us-east-1/cacheport/sessions/sessions-20261124-0300/a1/sessions-20261124-0300-0002.rdb",
		"export-started.json":            "started cacheport/sessions/sessions-20261124-0300/export.json",
		"export-started-serverless.json": "started cacheport/carts/carts-20261124-0300/export.json",
		"export-verifying.json":          "continue cacheport/sessions/sessions-20261124-0300/export.json",
	} {
		f := &fakeVerifier{}
		if err := run(t, f, file); err != nil || len(f.calls) != 1 || f.calls[0] != want {
			t.Errorf("%s: calls %v err %v; want %q", file, f.calls, err, want)
		}
	}
}

func TestErrorsAreNamed(t *testing.T) {
	var bad *trigger.BadInputError
	var retry *trigger.RetryableError
	for _, file := range []string{"schedule-window.json", "export-failed.json", "elasticache-snapshot-created.json"} {
		f := &fakeVerifier{}
		if err := run(t, f, file); !errors.As(err, &bad) || len(f.calls) != 0 {
			t.Errorf("%s: %v %v", file, err, f.calls)
		}
	}
	if err := run(t, &fakeVerifier{err: verify.ErrNotOurs}, "export-started.json"); !errors.As(err, &bad) {
		t.Errorf("foreign record: %v", err)
	}
	if err := run(t, &fakeVerifier{sum: &verify.Summary{Results: []verify.Result{{Retry: true}}}}, "export-started.json"); !errors.As(err, &retry) {
		t.Errorf("retryable result: %v", err)
	}
	if err := run(t, &fakeVerifier{sum: &verify.Summary{Results: []verify.Result{{Outcome: verify.OutcomeFailed}}}}, "export-started.json"); err != nil {
		t.Errorf("a failed export is a result, not an invocation error: %v", err)
	}
}
