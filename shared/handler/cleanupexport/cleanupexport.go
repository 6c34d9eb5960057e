// Package cleanupexport is cleanup-export's Lambda handler: it decodes the trigger, calls the
// cleanup package and maps the result to what Lambda sees. functions/cleanup-export only wires
// it.
package cleanupexport

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/cleanup"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/telemetry"
	"github.com/cacheport/cacheport/shared/trigger"
)

// Accepts are the triggers template.yaml subscribes cleanup-export to.
var Accepts = trigger.Accepts{
	Actions: []string{trigger.ActionStale},
	Events: []string{
		trigger.SourceS3 + "/" + trigger.DetailObjectCreated,
		trigger.SourceCacheport + "/" + export.DetailFailed,
		trigger.SourceCacheport + "/" + export.DetailCancelled,
		trigger.SourceCacheport + "/" + export.DetailVerified,
		trigger.SourceElastiCache + "/" + trigger.DetailSnapshotCreationFailed,
		trigger.SourceElastiCache + "/" + trigger.DetailSnapshotExportFailed,
		trigger.SourceElastiCache + "/" + trigger.DetailSnapshotCopyFailed,
	},
}

// Cleaner is what the handler needs of *cleanup.Cleaner.
type Cleaner interface {
	Failed(ctx context.Context, d export.Detail) (*cleanup.Summary, error)
	Cancelled(ctx context.Context, d export.Detail) (*cleanup.Summary, error)
	Verified(ctx context.Context, d export.Detail) (*cleanup.Summary, error)
	ObjectCreated(ctx context.Context, bucket, key string) (*cleanup.Summary, error)
	ServerlessFailure(ctx context.Context, f cleanup.SnapshotFailure) (*cleanup.Summary, error)
	Stale(ctx context.Context, now time.Time) (*cleanup.Summary, error)
}

var _ Cleaner = (*cleanup.Cleaner)(nil)

// Handler handles cleanup-export's invocations. Build it with New.
type Handler struct {
	c   Cleaner
	log *slog.Logger
	now func() time.Time
}

// New returns the handler.
func New(c Cleaner, log *slog.Logger, now func() time.Time) *Handler {
	return &Handler{c: c, log: log, now: now}
}

// Handle runs one invocation: Export Failed, Export Cancelled, Export Verified, S3 Object
// Created, a serverless snapshot failure, or the stale schedule. It returns the per-export
// summary. Its error is a *trigger.BadInputError for a payload it cannot act on (including one
// about another bucket, prefix or record: nothing was deleted), and a *trigger.RetryableError
// only when running the invocation again would help; per-export outcomes (refused, retry-later,
// lost races) are in the summary and the logs.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (*cleanup.Summary, error) {
	tr, rec, err := trigger.Receive(raw, h.now(), Accepts)
	if err != nil {
		h.log.Error("cleanup-export cannot act on its input", "error", err, "trigger", rec.Trigger)
		return nil, err
	}
	h.log.Info("cleanup-export received", "trigger", rec.Trigger, "export_id", rec.ExportID, "stage", rec.Stage,
		"record_key", rec.RecordKey, "bucket", rec.Bucket, "key", rec.Key, "resource", rec.Resource, "scheduled_time", rec.Scheduled)
	sum, err := h.route(ctx, tr)
	if sum != nil {
		h.log.Info("cleanup-export done", "action", sum.Action, "dry_run", sum.DryRun, "counts", sum.Counts, "results", sum.Results)
	}
	return sum, trigger.Boundary(h.log, "cleanup-export", err, err == nil && sum.Retry(),
		"some exports could not be cleaned up for a reason a retry may cure")
}

func (h *Handler) route(ctx context.Context, tr trigger.Trigger) (*cleanup.Summary, error) {
	if tr.Schedule != nil {
		// Receive let through only the actions in Accepts: the stale sweep.
		return h.c.Stale(ctx, h.now())
	}
	ev := tr.Event
	switch ev.Source {
	case trigger.SourceCacheport:
		d, err := trigger.CacheportDetail(ev)
		if err != nil {
			return nil, err
		}
		switch ev.DetailType {
		case export.DetailFailed:
			return h.c.Failed(ctx, d)
		case export.DetailCancelled:
			return h.c.Cancelled(ctx, d)
		case export.DetailVerified:
			return h.c.Verified(ctx, d)
		}
	case trigger.SourceS3:
		d, err := trigger.S3Detail(ev)
		if err != nil {
			return nil, err
		}
		return h.c.ObjectCreated(ctx, d.Bucket.Name, d.Object.Key)
	case trigger.SourceElastiCache:
		d, err := trigger.ElastiCacheDetail(ev)
		if err != nil {
			return nil, err
		}
		return h.c.ServerlessFailure(ctx, cleanup.SnapshotFailure{DetailType: ev.DetailType, Snapshot: d.Name(), Cache: cacheOf(d), Message: d.Message})
	}
	return nil, &trigger.BadInputError{Reason: fmt.Sprintf("cleanup-export does not handle %s", tr)}
}

// cacheOf returns the serverless cache an ElastiCache event's metadata names, if any (its keys
// are unconfirmed: events/README.md).
func cacheOf(d trigger.ElastiCacheEvent) string {
	var md map[string]any
	if json.Unmarshal(d.EventMetadata, &md) != nil {
		return ""
	}
	for k, v := range md {
		if s, ok := v.(string); ok && strings.EqualFold(k, "ServerlessCacheName") {
			return s
		}
	}
	return ""
}

// Wire builds the handler from validated settings and clients the way the deployed function
// does; the local twin runs the same wiring in process. now is the clock (time.Now in Lambda).
func Wire(cfg config.Config, c *awsconf.Clients, log *slog.Logger, metrics *telemetry.Metrics, now func() time.Time) *Handler {
	m := export.NewMachine(export.NewStore(c.S3, cfg.Bucket), export.NewPublisher(c.EventBridge, cfg.BusName), export.WithClock(now))
	return New(cleanup.New(cleanup.OptionsFrom(cfg), c.S3, c.ElastiCache, m, log, metrics), log, now)
}
