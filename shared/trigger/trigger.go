// Package trigger decodes what invokes cacheport's functions: an EventBridge Scheduler input
// (which carries only the target's Input), or an EventBridge event envelope (cacheport's own
// events, S3's Object Created, ElastiCache's serverless snapshot events). It also holds the
// error types handlers return at the Lambda boundary, where the Go type name becomes the
// invocation's errorType.
package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cacheport/cacheport/shared/export"
)

// Event sources.
const (
	SourceCacheport   = export.EventSource
	SourceS3          = "aws.s3"
	SourceElastiCache = "aws.elasticache"
)

// AWS detail-types cacheport subscribes to.
const (
	DetailObjectCreated          = "Object Created"
	DetailSnapshotCreated        = "Snapshot Created"
	DetailSnapshotCreationFailed = "Snapshot Creation Failed"
	DetailSnapshotExportFailed   = "Snapshot Export Failed"
	DetailSnapshotCopyFailed     = "Snapshot Copy Failed"
)

// Schedule actions (the "action" of a scheduler Input).
const (
	ActionWindow    = "window"
	ActionAdvance   = "advance"
	ActionReconcile = "reconcile"
	ActionStale     = "stale"
)

// Schedule is an EventBridge Scheduler Input: the action and the time the tick was due
// (<aws.scheduler.scheduled-time>), so that windows come from the schedule, not from when the
// invocation ran.
type Schedule struct {
	Action        string    `json:"action"`
	ScheduledTime time.Time `json:"scheduled_time"`
}

// Trigger is one decoded invocation: exactly one of Schedule and Event is set.
type Trigger struct {
	Schedule *Schedule
	Event    *events.CloudWatchEvent
}

// String describes the trigger for logs.
func (t Trigger) String() string {
	if t.Schedule != nil {
		return "schedule " + t.Schedule.Action
	}
	return t.Event.Source + " " + t.Event.DetailType
}

// BadInputError reports an invocation payload that cannot be acted on. Retrying it cannot help:
// the async invocation's failure destination keeps it for people to read.
type BadInputError struct {
	Reason string
}

func (e *BadInputError) Error() string { return "bad input: " + e.Reason }

// RetryableError reports a failure that running the invocation again may cure (throttling,
// a transient AWS fault before anything was recorded).
type RetryableError struct {
	Reason string
}

func (e *RetryableError) Error() string { return "retryable: " + e.Reason }

// Boundary maps a step's outcome to the error Lambda sees, the same way for every function: a
// *BadInputError stays one; an error about something outside this deployment
// (export.ErrNotOurs) becomes a *BadInputError; any other error a *RetryableError; no error but
// results a retry may cure (retry) a *RetryableError saying why; otherwise nil. Errors are logged
// under the function's name.
func Boundary(log *slog.Logger, function string, err error, retry bool, why string) error {
	var bad *BadInputError
	switch {
	case errors.As(err, &bad):
		log.Error(function+" cannot act on its input", "error", err)
		return err
	case errors.Is(err, export.ErrNotOurs):
		log.Error(function+" cannot act on its input", "error", err)
		return &BadInputError{Reason: err.Error()}
	case err != nil:
		log.Error(function+" failed", "error", err)
		return &RetryableError{Reason: err.Error()}
	case retry:
		return &RetryableError{Reason: why}
	}
	return nil
}

// maxPayload bounds the payloads decoded; EventBridge events are at most 256 KiB.
const maxPayload = 1 << 20

// Decode decodes an invocation payload. now fills a schedule's missing scheduled_time (a
// hand-run invocation). Errors are *BadInputError.
func Decode(raw []byte, now time.Time) (Trigger, error) {
	if len(raw) > maxPayload {
		return Trigger{}, &BadInputError{Reason: fmt.Sprintf("payload of %d bytes is larger than %d", len(raw), maxPayload)}
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return Trigger{}, &BadInputError{Reason: "payload is not a JSON object: " + err.Error()}
	}
	if _, ok := probe["detail-type"]; ok {
		var ev events.CloudWatchEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return Trigger{}, &BadInputError{Reason: "event envelope: " + err.Error()}
		}
		if ev.Source == "" || ev.DetailType == "" {
			return Trigger{}, &BadInputError{Reason: "event has no source or detail-type"}
		}
		if len(bytes.TrimSpace(ev.Detail)) == 0 || bytes.TrimSpace(ev.Detail)[0] != '{' {
			return Trigger{}, &BadInputError{Reason: fmt.Sprintf("%s %q event has no detail object", ev.Source, ev.DetailType)}
		}
		return Trigger{Event: &ev}, nil
	}
	if _, ok := probe["action"]; ok {
		var s Schedule
		if err := json.Unmarshal(raw, &s); err != nil {
			return Trigger{}, &BadInputError{Reason: "schedule input: " + err.Error()}
		}
		switch s.Action {
		case ActionWindow, ActionAdvance, ActionReconcile, ActionStale:
		default:
			return Trigger{}, &BadInputError{Reason: fmt.Sprintf("schedule action %q is not one of window, advance, reconcile, stale", s.Action)}
		}
		if s.ScheduledTime.IsZero() {
			s.ScheduledTime = now
		}
		s.ScheduledTime = s.ScheduledTime.UTC()
		return Trigger{Schedule: &s}, nil
	}
	return Trigger{}, &BadInputError{Reason: "payload is neither an EventBridge event nor a schedule input (no detail-type, no action)"}
}

// CacheportDetail decodes the detail of one of cacheport's own events and checks that it names
// an export record.
func CacheportDetail(ev *events.CloudWatchEvent) (export.Detail, error) {
	if ev.Source != SourceCacheport {
		return export.Detail{}, &BadInputError{Reason: fmt.Sprintf("event source %q is not %q", ev.Source, SourceCacheport)}
	}
	var d export.Detail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return export.Detail{}, &BadInputError{Reason: fmt.Sprintf("%s detail: %v", ev.DetailType, err)}
	}
	if d.RecordKey == "" || d.ExportID == "" {
		return export.Detail{}, &BadInputError{Reason: fmt.Sprintf("%s detail has no record_key or export_id", ev.DetailType)}
	}
	return d, nil
}

// S3Object is the detail of S3's Object Created (and Object Deleted) events through EventBridge.
type S3Object struct {
	Version string `json:"version"`
	Bucket  struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key       string `json:"key"`
		Size      int64  `json:"size"`
		ETag      string `json:"etag"`
		VersionID string `json:"version-id"`
		Sequencer string `json:"sequencer"`
	} `json:"object"`
	RequestID string `json:"request-id"`
	Requester string `json:"requester"`
	Reason    string `json:"reason"`
}

// S3Detail decodes an aws.s3 event's detail.
func S3Detail(ev *events.CloudWatchEvent) (S3Object, error) {
	var d S3Object
	if ev.Source != SourceS3 {
		return d, &BadInputError{Reason: fmt.Sprintf("event source %q is not %q", ev.Source, SourceS3)}
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return d, &BadInputError{Reason: "s3 detail: " + err.Error()}
	}
	if d.Bucket.Name == "" || d.Object.Key == "" {
		return d, &BadInputError{Reason: "s3 detail has no bucket name or object key"}
	}
	return d, nil
}

// ElastiCacheEvent is the detail of ElastiCache's service events (serverless caches only).
type ElastiCacheEvent struct {
	SourceIdentifier string          `json:"SourceIdentifier"`
	SourceType       string          `json:"SourceType"`
	SourceArn        string          `json:"SourceArn"`
	Message          string          `json:"Message"`
	EventID          string          `json:"EventID"`
	EventCategories  []string        `json:"EventCategories"`
	EventMetadata    json.RawMessage `json:"EventMetadata"`
}

// Name returns the name of the resource the event is about: SourceIdentifier, or the last
// segment of an ARN given there or in SourceArn.
func (e ElastiCacheEvent) Name() string {
	id := e.SourceIdentifier
	if id == "" {
		id = e.SourceArn
	}
	if strings.HasPrefix(id, "arn:") {
		id = id[strings.LastIndex(id, ":")+1:]
	}
	return id
}

// ElastiCacheDetail decodes an aws.elasticache event's detail.
func ElastiCacheDetail(ev *events.CloudWatchEvent) (ElastiCacheEvent, error) {
	var d ElastiCacheEvent
	if ev.Source != SourceElastiCache {
		return d, &BadInputError{Reason: fmt.Sprintf("event source %q is not %q", ev.Source, SourceElastiCache)}
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return d, &BadInputError{Reason: "elasticache detail: " + err.Error()}
	}
	if d.Name() == "" {
		return d, &BadInputError{Reason: "elasticache detail has no SourceIdentifier or SourceArn"}
	}
	return d, nil
}

// Received is what an invocation was about, for logs and for the handlers that only report it.
type Received struct {
	Trigger    string `json:"trigger"`
	ExportID   string `json:"export_id,omitempty"`
	Stage      string `json:"stage,omitempty"`
	RecordKey  string `json:"record_key,omitempty"`
	Bucket     string `json:"bucket,omitempty"`
	Key        string `json:"key,omitempty"`
	Resource   string `json:"resource,omitempty"`
	Scheduled  string `json:"scheduled_time,omitempty"`
	Supported  bool   `json:"supported"`
	Annotation string `json:"note,omitempty"`
}

// Accepts lists the triggers a function subscribes to: schedule actions and "source/detail-type"
// pairs.
type Accepts struct {
	Actions []string
	Events  []string
}

// Receive decodes raw and reports what it is about, checking that it is one of the triggers
// accepted. Errors are *BadInputError.
func Receive(raw []byte, now time.Time, accepts Accepts) (Trigger, Received, error) {
	tr, err := Decode(raw, now)
	if err != nil {
		return tr, Received{}, err
	}
	r := Received{Trigger: tr.String()}
	if tr.Schedule != nil {
		r.Scheduled = tr.Schedule.ScheduledTime.Format(time.RFC3339)
		for _, a := range accepts.Actions {
			r.Supported = r.Supported || a == tr.Schedule.Action
		}
	} else {
		for _, e := range accepts.Events {
			r.Supported = r.Supported || e == tr.Event.Source+"/"+tr.Event.DetailType
		}
		switch tr.Event.Source {
		case SourceCacheport:
			d, err := CacheportDetail(tr.Event)
			if err != nil {
				return tr, r, err
			}
			r.ExportID, r.Stage, r.RecordKey, r.Bucket = d.ExportID, string(d.Stage), d.RecordKey, d.Bucket
		case SourceS3:
			d, err := S3Detail(tr.Event)
			if err != nil {
				return tr, r, err
			}
			r.Bucket, r.Key = d.Bucket.Name, d.Object.Key
		case SourceElastiCache:
			d, err := ElastiCacheDetail(tr.Event)
			if err != nil {
				return tr, r, err
			}
			r.Resource = d.Name()
		}
	}
	if !r.Supported {
		return tr, r, &BadInputError{Reason: "this function does not subscribe to " + r.Trigger}
	}
	return tr, r, nil
}
