// Package memcachedexport is memcached-export's Lambda handler: it decodes Export Requested,
// calls the mcexport package and maps the result to what Lambda sees.
// functions/memcached-export only wires it.
package memcachedexport

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/mcexport"
	"github.com/cacheport/cacheport/shared/telemetry"
	"github.com/cacheport/cacheport/shared/trigger"
)

// Accepts are the triggers template.yaml subscribes memcached-export to (Export Requested with
// detail.kind memcached).
var Accepts = trigger.Accepts{Events: []string{trigger.SourceCacheport + "/" + export.DetailRequested}}

// Exporter is what the handler needs of *mcexport.Exporter.
type Exporter interface {
	Requested(ctx context.Context, d export.Detail) (*mcexport.Result, error)
}

var _ Exporter = (*mcexport.Exporter)(nil)

// Handler handles memcached-export's invocations. Build it with New.
type Handler struct {
	x   Exporter
	log *slog.Logger
	now func() time.Time
}

// New returns the handler.
func New(x Exporter, log *slog.Logger, now func() time.Time) *Handler {
	return &Handler{x: x, log: log, now: now}
}

// Handle runs one invocation. Its error is a *trigger.BadInputError for a payload it cannot act
// on, and a *trigger.RetryableError only when running it again would help; a dump that failed
// is no error (the export moved to failed, and cleanup-export takes it from there).
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (*mcexport.Result, error) {
	tr, r, err := trigger.Receive(raw, h.now(), Accepts)
	if err != nil {
		h.log.Error("memcached-export cannot act on its input", "error", err, "trigger", r.Trigger)
		return nil, err
	}
	h.log.Info("memcached-export received", "trigger", r.Trigger, "export_id", r.ExportID, "record_key", r.RecordKey)
	d, err := trigger.CacheportDetail(tr.Event)
	if err != nil {
		return nil, err
	}
	res, err := h.x.Requested(ctx, d)
	if res != nil {
		h.log.Info("memcached-export done", "export_id", res.ExportID, "cache", res.Cache, "outcome", res.Outcome, "stage", res.Stage, "reason", res.Reason, "nodes", res.Nodes)
	}
	return res, trigger.Boundary(h.log, "memcached-export", err, err == nil && res.Retry, res.Err)
}

// Wire builds the handler from validated settings and clients the way the deployed function
// does; the local twin runs the same wiring in process. now is the clock (time.Now in Lambda).
func Wire(cfg config.Config, c *awsconf.Clients, log *slog.Logger, metrics *telemetry.Metrics, now func() time.Time) *Handler {
	m := export.NewMachine(export.NewStore(c.S3, cfg.Bucket), export.NewPublisher(c.EventBridge, cfg.BusName), export.WithClock(now))
	return New(mcexport.New(mcexport.OptionsFrom(cfg), c.ElastiCache, c.S3, m, log, metrics), log, now)
}
