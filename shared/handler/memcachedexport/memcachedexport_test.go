package memcachedexport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/mcexport"
	"github.com/cacheport/cacheport/shared/trigger"
)

var now = time.Date(2026, 11, 24, 3, 1, 0, 0, time.UTC)

type fakeExporter struct {
	got []export.Detail
	res *mcexport.Result
	err error
}

func (f *fakeExporter) Requested(_ context.Context, d export.Detail) (*mcexport.Result, error) {
	f.got = append(f.got, d)
	if f.res == nil {
		f.res = &mcexport.Result{Outcome: mcexport.OutcomeDumped}
	}
	return f.res, f.err
}

func run(t *testing.T, f *fakeExporter, file string) error {
	t.Helper()
	raw, err := os.ReadFile("../../../events/" + file)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(f, slog.New(slog.DiscardHandler), func() time.Time { return now }).Handle(context.Background(), raw)
	return err
}

func TestExportRequestedReachesTheExporter(t *testing.T) {
	f := &fakeExporter{}
	if err := run(t, f, "export-requested-memcached.json"); err != nil {
		t.Fatal(err)
	}
	if len(f.got) != 1 || f.got[0].RecordKey != "cacheport/memo/memo-20261124-0300/export.json" || f.got[0].Kind != export.KindMemcached {
		t.Errorf("exporter got %+v", f.got)
	}
}

func TestErrorsMapToLambdaErrorTypes(t *testing.T) {
	var bad *trigger.BadInputError
	var retry *trigger.RetryableError
	for _, tt := range []struct {
		name string
		file string
		f    *fakeExporter
		want any
	}{
		{"other trigger", "export-started.json", &fakeExporter{}, &bad},
		{"schedule", "schedule-advance.json", &fakeExporter{}, &bad},
		{"not ours", "export-requested-memcached.json", &fakeExporter{err: fmt.Errorf("x: %w", mcexport.ErrNotOurs)}, &bad},
		{"throttled", "export-requested-memcached.json", &fakeExporter{res: &mcexport.Result{Outcome: mcexport.OutcomeError, Retry: true, Err: "throttled"}}, &retry},
		{"dump failed is no error", "export-requested-memcached.json", &fakeExporter{res: &mcexport.Result{Outcome: mcexport.OutcomeFailed}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t, tt.f, tt.file)
			switch {
			case tt.want == nil && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != nil && !errors.As(err, tt.want):
				t.Errorf("error %T %v, want %T", err, err, tt.want)
			}
		})
	}
}
