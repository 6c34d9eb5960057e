// Package cleanupexport is cleanup-export's Lambda handler. Until cleanup lands (its own issue) it decodes and
// checks each trigger the template subscribes it to and logs what it received; it deletes
// nothing.
package cleanupexport

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/cacheport/cacheport/shared/export"
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

// Handler handles cleanup-export's invocations. Build it with New.
type Handler struct {
	log *slog.Logger
	now func() time.Time
}

// New returns the handler.
func New(log *slog.Logger, now func() time.Time) *Handler { return &Handler{log: log, now: now} }

// Handle decodes one invocation and logs what it is about. Its error is a *trigger.BadInputError
// for a payload it cannot decode or does not subscribe to.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (trigger.Received, error) {
	_, r, err := trigger.Receive(raw, h.now(), Accepts)
	if err != nil {
		h.log.Error("cleanup-export cannot act on its input", "error", err, "trigger", r.Trigger)
		return r, err
	}
	h.log.Info("cleanup-export received", "trigger", r.Trigger, "export_id", r.ExportID, "stage", r.Stage,
		"record_key", r.RecordKey, "bucket", r.Bucket, "key", r.Key, "resource", r.Resource, "scheduled_time", r.Scheduled)
	return r, nil
}
