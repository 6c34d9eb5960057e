// Package verifyexport is verify-export's Lambda handler: it decodes the trigger, calls the
// verify package and maps the result to what Lambda sees. functions/verify-export only wires it.
package verifyexport

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/telemetry"
	"github.com/cacheport/cacheport/shared/trigger"
	"github.com/cacheport/cacheport/shared/verify"
)

// Accepts are the triggers template.yaml subscribes verify-export to.
var Accepts = trigger.Accepts{
	Actions: []string{trigger.ActionReconcile},
	Events: []string{
		trigger.SourceS3 + "/" + trigger.DetailObjectCreated,
		trigger.SourceCacheport + "/" + export.DetailStarted,
		trigger.SourceCacheport + "/" + export.DetailVerifying,
	},
}

// Verifier is what the handler needs of *verify.Verifier.
type Verifier interface {
	Started(ctx context.Context, recordKey string, continuing bool) (*verify.Summary, error)
	ObjectCreated(ctx context.Context, bucket, key string) (*verify.Summary, error)
	Reconcile(ctx context.Context, now time.Time) (*verify.Summary, error)
}

var _ Verifier = (*verify.Verifier)(nil)

// Handler handles verify-export's invocations. Build it with New.
type Handler struct {
	v   Verifier
	log *slog.Logger
	now func() time.Time
}

// New returns the handler.
func New(v Verifier, log *slog.Logger, now func() time.Time) *Handler {
	return &Handler{v: v, log: log, now: now}
}

// Handle runs one invocation. Its error is a *trigger.BadInputError for a payload it cannot act
// on, and a *trigger.RetryableError only when running it again would help.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (*verify.Summary, error) {
	tr, r, err := trigger.Receive(raw, h.now(), Accepts)
	if err != nil {
		h.log.Error("verify-export cannot act on its input", "error", err, "trigger", r.Trigger)
		return nil, err
	}
	h.log.Info("verify-export received", "trigger", r.Trigger, "export_id", r.ExportID, "key", r.Key)
	var sum *verify.Summary
	switch {
	case tr.Schedule != nil:
		sum, err = h.v.Reconcile(ctx, h.now())
	case tr.Event.Source == trigger.SourceS3:
		sum, err = h.v.ObjectCreated(ctx, r.Bucket, r.Key)
	default:
		sum, err = h.v.Started(ctx, r.RecordKey, tr.Event.DetailType == export.DetailVerifying)
	}
	if sum != nil {
		h.log.Info("verify-export done", "action", sum.Action, "counts", sum.Counts, "results", sum.Results)
	}
	return sum, trigger.Boundary(h.log, "verify-export", err, err == nil && sum.Retry(),
		"an export could not be checked; a retry checks it again")
}

// Wire builds the handler from validated settings and clients the way the deployed function
// does; the local twin runs the same wiring in process. now is the clock (time.Now in Lambda).
func Wire(cfg config.Config, c *awsconf.Clients, version string, log *slog.Logger, metrics *telemetry.Metrics, now func() time.Time) *Handler {
	m := export.NewMachine(export.NewStore(c.S3, cfg.Bucket), export.NewPublisher(c.EventBridge, cfg.BusName), export.WithClock(now))
	return New(verify.New(verify.OptionsFrom(cfg, version), c.S3, c.ElastiCache, m, log, metrics), log, now)
}
