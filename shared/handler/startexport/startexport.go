// Package startexport is start-export's Lambda handler: it decodes the trigger, calls the start
// package and maps the result to what Lambda sees. functions/start-export only wires it.
package startexport

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/start"
	"github.com/cacheport/cacheport/shared/telemetry"
	"github.com/cacheport/cacheport/shared/trigger"
)

// Starter is what the handler needs of *start.Starter.
type Starter interface {
	Window(ctx context.Context, at time.Time) (*start.Summary, error)
	Advance(ctx context.Context, now time.Time) (*start.Summary, error)
	Requested(ctx context.Context, d export.Detail) (*start.Summary, error)
	SnapshotCreated(ctx context.Context, snapshot string, at time.Time) (*start.Summary, error)
}

var _ Starter = (*start.Starter)(nil)

// Handler handles start-export's invocations. Build it with New.
type Handler struct {
	st  Starter
	log *slog.Logger
	now func() time.Time
}

// New returns the handler.
func New(st Starter, log *slog.Logger, now func() time.Time) *Handler {
	return &Handler{st: st, log: log, now: now}
}

// Handle runs one invocation: the window or advance schedule, Export Requested, or a serverless
// Snapshot Created event. It returns the per-target summary. Its error is a
// *trigger.BadInputError for a payload it cannot act on, and a *trigger.RetryableError only when
// running the invocation again would help; per-target failures are in the summary and the logs.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (*start.Summary, error) {
	tr, err := trigger.Decode(raw, h.now())
	if err != nil {
		h.log.Error("start-export cannot act on its input", "error", err)
		return nil, err
	}
	h.log.Info("start-export received", "trigger", tr.String())
	var sum *start.Summary
	switch {
	case tr.Schedule != nil && tr.Schedule.Action == trigger.ActionWindow:
		sum, err = h.st.Window(ctx, tr.Schedule.ScheduledTime)
	case tr.Schedule != nil && tr.Schedule.Action == trigger.ActionAdvance:
		sum, err = h.st.Advance(ctx, h.now())
	case tr.Schedule != nil:
		return nil, &trigger.BadInputError{Reason: fmt.Sprintf("start-export does not run the %q schedule", tr.Schedule.Action)}
	case tr.Event.Source == trigger.SourceCacheport && tr.Event.DetailType == export.DetailRequested:
		d, derr := trigger.CacheportDetail(tr.Event)
		if derr != nil {
			return nil, derr
		}
		sum, err = h.st.Requested(ctx, d)
	case tr.Event.Source == trigger.SourceElastiCache && tr.Event.DetailType == trigger.DetailSnapshotCreated:
		d, derr := trigger.ElastiCacheDetail(tr.Event)
		if derr != nil {
			return nil, derr
		}
		sum, err = h.st.SnapshotCreated(ctx, d.Name(), h.now())
	default:
		return nil, &trigger.BadInputError{Reason: fmt.Sprintf("start-export does not handle %s", tr)}
	}
	if sum != nil {
		h.log.Info("start-export done", "action", sum.Action, "window", sum.Window, "counts", sum.Counts, "results", sum.Results)
	}
	return sum, trigger.Boundary(h.log, "start-export", err, err == nil && sum.Retry(),
		"some targets failed before anything was recorded; a retry starts them")
}

// Wire builds the handler from validated settings and clients the way the deployed function
// does; the local twin runs the same wiring in process. now is the clock (time.Now in Lambda).
func Wire(cfg config.Config, c *awsconf.Clients, log *slog.Logger, metrics *telemetry.Metrics, now func() time.Time) *Handler {
	m := export.NewMachine(export.NewStore(c.S3, cfg.Bucket), export.NewPublisher(c.EventBridge, cfg.BusName), export.WithClock(now))
	return New(start.New(start.OptionsFrom(cfg), c.ElastiCache, m, log, metrics), log, now)
}
