// Package audit is the audit function's Lambda handler: on its schedule it runs the control's
// test plan (shared/audit), whose age metrics feed the stale-export alarm, and publishes one
// Audit Finding per non-compliant cache (routed to the alert topic by the template's AlertRule).
// functions/audit only wires it.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/cacheport/cacheport/shared/audit"
	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/telemetry"
	"github.com/cacheport/cacheport/shared/trigger"
)

// Action is the "action" of the audit schedule's Input:
// {"action":"audit","scheduled_time":"<aws.scheduler.scheduled-time>"}. shared/trigger knows
// start-, verify- and cleanup-export's actions only, so this handler reads its one input itself.
const Action = "audit"

// Auditor is what the handler needs of *audit.Auditor.
type Auditor interface {
	Run(ctx context.Context, now time.Time) (*audit.Report, error)
}

var _ Auditor = (*audit.Auditor)(nil)

// Result is what one invocation found: the counts by verdict, the non-compliant caches and the
// findings published.
type Result struct {
	CheckedAt    time.Time             `json:"checked_at"`
	Scheduled    string                `json:"scheduled_time,omitempty"`
	Counts       map[audit.Verdict]int `json:"counts"`
	NonCompliant []audit.Row           `json:"non_compliant"`
	Published    int                   `json:"findings_published"`
}

// AuditFailedError reports an audit that could not be made (caches or records could not be
// listed): no verdict was reached, so the stale-export alarm sees no age either.
type AuditFailedError struct {
	Reason string
}

func (e *AuditFailedError) Error() string { return "audit failed: " + e.Reason }

// Handler handles the audit function's invocations. Build it with New.
type Handler struct {
	a   Auditor
	pub audit.Publisher
	log *slog.Logger
	now func() time.Time
}

// New returns the handler: a runs the audit, pub publishes the findings.
func New(a Auditor, pub audit.Publisher, log *slog.Logger, now func() time.Time) *Handler {
	return &Handler{a: a, pub: pub, log: log, now: now}
}

// Wire builds the handler from validated settings and clients the way the deployed function
// does; the local twin can run the same wiring in process. metrics receives the age metrics the
// stale-export alarm watches; now is the clock (time.Now in Lambda).
func Wire(cfg config.Config, c *awsconf.Clients, log *slog.Logger, metrics *telemetry.Metrics, now func() time.Time) *Handler {
	a := audit.New(audit.OptionsFrom(cfg), c.ElastiCache, export.NewStore(c.S3, cfg.Bucket), log, metrics)
	return New(a, export.NewPublisher(c.EventBridge, cfg.BusName), log, now)
}

// input is the schedule's Input. An empty payload ({} or null, a manual invoke) is accepted.
type input struct {
	Action        string `json:"action"`
	ScheduledTime string `json:"scheduled_time"`
}

// Handle runs one audit. Its error is a *trigger.BadInputError for a payload that is not the
// audit schedule's, a *trigger.RetryableError when AWS throttled or failed transiently or a
// finding could not be published, and an *AuditFailedError when the audit could not be made
// for another reason (permissions, a missing bucket).
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (*Result, error) {
	var in input
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, &trigger.BadInputError{Reason: "audit input is not a JSON object: " + err.Error()}
		}
	}
	if in.Action != "" && in.Action != Action {
		return nil, &trigger.BadInputError{Reason: fmt.Sprintf("action %q is not %q", in.Action, Action)}
	}
	rep, err := h.a.Run(ctx, h.now())
	if err != nil {
		h.log.Error("audit failed", "error", err)
		switch awserr.Classify(err) {
		case awserr.Throttled, awserr.Transient:
			return nil, &trigger.RetryableError{Reason: err.Error()}
		}
		return nil, &AuditFailedError{Reason: err.Error()}
	}
	res := &Result{CheckedAt: rep.CheckedAt, Scheduled: in.ScheduledTime, Counts: rep.Counts, NonCompliant: rep.NonCompliant()}
	for _, r := range rep.Rows {
		level := slog.LevelInfo
		if !r.Compliant() {
			level = slog.LevelWarn
		}
		h.log.Log(ctx, level, "audit", "cache", r.Cache, "verdict", r.Verdict, "age_seconds", r.AgeSeconds, "reason", r.Reason)
	}
	n, err := audit.Publish(ctx, h.pub, rep)
	res.Published = n
	h.log.Info("audit done", "counts", rep.Counts, "findings_published", n)
	if err != nil {
		h.log.Error("audit findings not all published", "error", err)
		return res, &trigger.RetryableError{Reason: err.Error()}
	}
	return res, nil
}
