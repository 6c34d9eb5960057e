package startexport

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/start"
	"github.com/cacheport/cacheport/shared/trigger"
)

var now = time.Date(2026, 11, 24, 3, 5, 10, 0, time.UTC)

type call struct {
	what string
	at   time.Time
	arg  string
}

type fakeStarter struct {
	calls []call
	err   error
	sum   *start.Summary
}

func (f *fakeStarter) result(action string) (*start.Summary, error) {
	if f.sum != nil {
		return f.sum, f.err
	}
	return &start.Summary{Action: action}, f.err
}
func (f *fakeStarter) Window(_ context.Context, at time.Time) (*start.Summary, error) {
	f.calls = append(f.calls, call{what: "window", at: at})
	return f.result("window")
}
func (f *fakeStarter) Advance(_ context.Context, at time.Time) (*start.Summary, error) {
	f.calls = append(f.calls, call{what: "advance", at: at})
	return f.result("advance")
}
func (f *fakeStarter) Requested(_ context.Context, d export.Detail) (*start.Summary, error) {
	f.calls = append(f.calls, call{what: "requested", arg: d.RecordKey})
	return f.result("requested")
}
func (f *fakeStarter) SnapshotCreated(_ context.Context, s string, at time.Time) (*start.Summary, error) {
	f.calls = append(f.calls, call{what: "snapshot-created", arg: s, at: at})
	return f.result("snapshot-created")
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../../events/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newHandler(st Starter) *Handler {
	return New(st, slog.New(slog.DiscardHandler), func() time.Time { return now })
}

func TestSamplesReachTheRightStep(t *testing.T) {
	for _, c := range []struct {
		file string
		want call
	}{
		{"schedule-window.json", call{what: "window", at: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)}},
		{"schedule-advance.json", call{what: "advance", at: now}},
		{"export-requested.json", call{what: "requested", arg: "cacheport/orders/orders-20261124-0300/export.json"}},
		{"elasticache-snapshot-created.json", call{what: "snapshot-created", arg: "cacheport-carts-20261124-0300-a1", at: now}},
	} {
		f := &fakeStarter{}
		if _, err := newHandler(f).Handle(context.Background(), sample(t, c.file)); err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if len(f.calls) != 1 || f.calls[0].what != c.want.what || f.calls[0].arg != c.want.arg || !f.calls[0].at.Equal(c.want.at) {
			t.Errorf("%s: calls %+v, want %+v", c.file, f.calls, c.want)
		}
	}
}

func TestOtherTriggersAreBadInput(t *testing.T) {
	for _, file := range []string{"schedule-reconcile.json", "export-failed.json", "s3-object-created.json", "elasticache-snapshot-creation-failed.json"} {
		f := &fakeStarter{}
		_, err := newHandler(f).Handle(context.Background(), sample(t, file))
		var bad *trigger.BadInputError
		if !errors.As(err, &bad) || len(f.calls) != 0 {
			t.Errorf("%s: err %v, calls %v; want BadInputError and no call", file, err, f.calls)
		}
	}
}

func TestErrorsMapToNamedTypes(t *testing.T) {
	var retry *trigger.RetryableError
	f := &fakeStarter{err: errors.New("find targets: throttled")}
	if _, err := newHandler(f).Handle(context.Background(), sample(t, "schedule-window.json")); !errors.As(err, &retry) {
		t.Errorf("discovery failure: %v, want RetryableError", err)
	}
	f = &fakeStarter{sum: &start.Summary{Results: []start.Result{{Cache: "a", Outcome: start.OutcomeError, Retry: true}}}}
	if _, err := newHandler(f).Handle(context.Background(), sample(t, "schedule-window.json")); !errors.As(err, &retry) {
		t.Errorf("a retryable target: %v, want RetryableError", err)
	}
	f = &fakeStarter{sum: &start.Summary{Results: []start.Result{{Cache: "a", Outcome: start.OutcomeFailed}}}}
	if _, err := newHandler(f).Handle(context.Background(), sample(t, "schedule-window.json")); err != nil {
		t.Errorf("a target that failed for good must not fail the invocation: %v", err)
	}
	var bad *trigger.BadInputError
	f = &fakeStarter{err: errors.Join(start.ErrNotOurs)}
	if _, err := newHandler(f).Handle(context.Background(), sample(t, "export-requested.json")); !errors.As(err, &bad) {
		t.Errorf("a foreign record: %v, want BadInputError", err)
	}
}

// The window sample, through the real domain code over fakes, starts an export with the
// contract's names.
func TestWindowSampleEndToEnd(t *testing.T) {
	ec, s3f, bus := &fakes.ElastiCache{}, fakes.NewS3(), &fakes.Bus{}
	ec.ReplicationGroups = []ectypes.ReplicationGroup{{ReplicationGroupId: aws.String("orders"), Status: aws.String("available"), Engine: aws.String("redis"),
		NodeGroups: []ectypes.NodeGroup{{NodeGroupId: aws.String("0001")}}}}
	m := export.NewMachine(export.NewStore(s3f, "exports"), export.NewPublisher(bus, "cacheport"), export.WithClock(func() time.Time { return now }))
	st := start.New(start.Options{Bucket: "exports", MaxAttempts: 3}, ec, m, nil, nil)
	sum, err := newHandler(st).Handle(context.Background(), sample(t, "schedule-window.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != 1 || sum.Results[0].ExportID != "orders-20261124-0300" || sum.Results[0].Outcome != start.OutcomeSnapshot {
		t.Fatalf("summary %+v", sum)
	}
	if _, ok := s3f.Objects["cacheport/orders/orders-20261124-0300/export.json"]; !ok {
		t.Fatal("no record written")
	}
}
