package s3srv

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cacheport/cacheport/shared/twin/core"
)

// Detail types of the events S3 sends to EventBridge.
const (
	ObjectCreated = "Object Created"
	ObjectDeleted = "Object Deleted"
)

// EventDetail is the detail of S3's Object Created and Object Deleted events on EventBridge,
// field for field as AWS sends it (events/s3-object-created.json).
type EventDetail struct {
	Version         string      `json:"version"`
	Bucket          EventBucket `json:"bucket"`
	Object          EventObject `json:"object"`
	RequestID       string      `json:"request-id"`
	Requester       string      `json:"requester"`
	SourceIPAddress string      `json:"source-ip-address"`
	Reason          string      `json:"reason"`
	DeletionType    string      `json:"deletion-type,omitempty"` // Object Deleted only
}

// EventBucket names the bucket of an event.
type EventBucket struct {
	Name string `json:"name"`
}

// EventObject is the object of an event. Size and ETag are absent from Object Deleted, and
// VersionID from events of buckets whose versioning was never enabled.
type EventObject struct {
	Key       string `json:"key"`
	Size      *int64 `json:"size,omitempty"`
	ETag      string `json:"etag,omitempty"`
	VersionID string `json:"version-id,omitempty"`
	Sequencer string `json:"sequencer"`
}

// pending is an event decided under the store's lock and raised after it is released, since
// the sink may deliver synchronously to functions that call S3 again.
type pending struct {
	detailType string
	detail     EventDetail
	ev         core.Event
}

// createdEvent builds Object Created for v, or nil when the bucket does not send events to
// EventBridge. The caller holds s.mu.
func (s *Store) createdEvent(b *bucket, key string, v *version, reason, requestID, requester, ip string) *pending {
	if !b.eventBridge || s.opts.Events == nil {
		return nil
	}
	size := int64(len(v.data))
	obj := EventObject{Key: key, Size: &size, ETag: v.etag}
	return s.event(b, ObjectCreated, obj, v.id, reason, requestID, requester, ip, "")
}

// deletedEvent builds Object Deleted for v, the version removed or the delete marker created
// (markerCreated), or nil.
func (s *Store) deletedEvent(b *bucket, key string, v *version, markerCreated bool, requestID, requester, ip string) *pending {
	if !b.eventBridge || s.opts.Events == nil {
		return nil
	}
	kind := "Permanently Deleted"
	if markerCreated {
		kind = "Delete Marker Created"
	}
	return s.event(b, ObjectDeleted, EventObject{Key: key}, v.id, "DeleteObject", requestID, requester, ip, kind)
}

func (s *Store) event(b *bucket, detailType string, obj EventObject, versionID, reason, requestID, requester, ip, deletion string) *pending {
	s.seq++
	obj.Sequencer = fmt.Sprintf("%018X", s.seq)
	if b.versioning != "" {
		obj.VersionID = versionID
	}
	if requester == "" {
		requester = s.opts.AccountID
	}
	d := EventDetail{Version: "0", Bucket: EventBucket{Name: b.name}, Object: obj, RequestID: requestID,
		Requester: requester, SourceIPAddress: ip, Reason: reason, DeletionType: deletion}
	return &pending{detailType: detailType, detail: d, ev: core.Event{
		Bus: "default", Source: "aws.s3", DetailType: detailType,
		Resources: []string{"arn:aws:s3:::" + b.name}, Time: s.now(),
	}}
}

// raise hands events to the sink, best effort as S3's own delivery is: a sink error is not the
// request's error.
func (s *Store) raise(ctx context.Context, evs ...*pending) {
	for _, p := range evs {
		if p == nil || s.opts.Events == nil {
			continue
		}
		raw, err := json.Marshal(p.detail)
		if err != nil {
			continue
		}
		p.ev.Detail = raw
		_ = s.opts.Events.Put(context.WithoutCancel(ctx), p.ev)
	}
}
