package ecsrv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cacheport/cacheport/shared/twin/core"
)

// Detail types of the aws.elasticache events the twin raises (serverless caches only).
const (
	DetailSnapshotCreated        = "Snapshot Created"
	DetailSnapshotCreationFailed = "Snapshot Creation Failed"
	DetailSnapshotExportFailed   = "Snapshot Export Failed"
)

// write is an object to put into a bucket, decided under the lock and done outside it.
type write struct {
	job *exportJob
	obj *pendingObject
}

// Tick applies every transition due at the clock's time: snapshots that finish creating (or
// fail), export objects that land, exports that end. Bucket writes and events happen outside
// the server's lock, so a bucket that raises events which call back into the server cannot
// deadlock. Ticks are serialized. The error joins the bucket write and event delivery errors;
// a failed write ends its export (Snapshot Export Failed for serverless caches).
func (s *Server) Tick(ctx context.Context) error {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	now := s.now()
	var events []core.Event

	s.mu.Lock()
	for _, m := range []map[string]*snapshot{s.snapshots, s.serverless} {
		for _, sn := range m {
			if sn.status != statusCreating || sn.capturing || now.Before(sn.readyAt) {
				continue
			}
			if sn.cache.backup == sn {
				sn.cache.backup = nil
			}
			if sn.fail || sn.captureErr != nil {
				sn.status = statusFailed
				s.recordEvent(sourceTypeOf(sn.cache), sn.cache.spec.ID, fmt.Sprintf("Snapshot failed for snapshot with ID '%s' of %s '%s'", sn.name, sourceTypeOf(sn.cache), sn.cache.spec.ID))
				if sn.serverless {
					events = append(events, s.event(sn, DetailSnapshotCreationFailed, "ECACHE-SNAPSHOT-SNAPSHOT-CREATION-FAILED", "failure", fmt.Sprintf("Snapshot %s creation failed.", sn.name), now))
				}
				continue
			}
			sn.status = statusAvailable
			s.recordEvent(sourceTypeOf(sn.cache), sn.cache.spec.ID, fmt.Sprintf("Snapshot succeeded for snapshot with ID '%s' of %s '%s'", sn.name, sourceTypeOf(sn.cache), sn.cache.spec.ID))
			if sn.serverless {
				events = append(events, s.event(sn, DetailSnapshotCreated, "ECACHE-SNAPSHOT-SNAPSHOT-CREATED", "creation", fmt.Sprintf("Snapshot %s created successfully.", sn.name), now))
			}
		}
	}
	var writes []write
	for _, j := range s.jobs {
		for _, o := range j.objects {
			if !o.written && !o.never && !now.Before(o.due) && !j.failed {
				o.written = true // claimed: written below
				writes = append(writes, write{j, o})
			}
		}
	}
	s.mu.Unlock()

	var errs []error
	for _, w := range writes {
		err := s.o.Bucket.PutObject(ctx, w.job.bucket, w.obj.key, bytes.NewReader(w.obj.data), int64(len(w.obj.data)))
		if err != nil {
			errs = append(errs, fmt.Errorf("export %s: put s3://%s/%s: %w", w.job.snap.name, w.job.bucket, w.obj.key, err))
			s.log.Warn("export object write failed", "snapshot", w.job.snap.name, "bucket", w.job.bucket, "key", w.obj.key, "error", err)
			s.mu.Lock()
			w.job.failed = true
			s.mu.Unlock()
		}
	}

	s.mu.Lock()
	kept := s.jobs[:0]
	for _, j := range s.jobs {
		if !j.released && !j.stuck && j.settled() {
			j.released = true
			if j.snap.status == statusExporting {
				j.snap.status = statusAvailable
			}
			if (j.midway || j.failed) && j.snap.serverless {
				events = append(events, s.event(j.snap, DetailSnapshotExportFailed, "ECACHE-SNAPSHOT-SNAPSHOT-EXPORT-FAILED", "failure",
					fmt.Sprintf("Failed to export snapshot %s to S3 bucket %s.", j.snap.name, j.bucket), now))
			}
		}
		if !j.done() {
			kept = append(kept, j)
		}
	}
	s.jobs = kept
	s.mu.Unlock()

	for _, ev := range events {
		if s.o.Events == nil {
			continue
		}
		if err := s.o.Events.Put(ctx, ev); err != nil {
			errs = append(errs, fmt.Errorf("put event %s: %w", ev.DetailType, err))
		}
	}
	return errors.Join(errs...)
}

// settled: every object that comes before the snapshot is released has been written (or never
// comes), or a write failed.
func (j *exportJob) settled() bool {
	if j.failed {
		return true
	}
	for _, o := range j.objects {
		if !o.written && !o.never && !o.late {
			return false
		}
	}
	return true
}

// done: nothing more will happen (stuck exports stay forever; late objects are awaited).
func (j *exportJob) done() bool {
	if !j.released {
		return false
	}
	if j.failed {
		return true
	}
	for _, o := range j.objects {
		if !o.written && !o.never {
			return false
		}
	}
	return true
}

// Run calls Tick every interval of wall time until ctx ends, logging Tick's errors.
func (s *Server) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Tick(ctx); err != nil {
				s.log.Warn("ecsrv tick", "error", err)
			}
		}
	}
}

// Pending reports whether any snapshot or export still has a transition to come (stuck exports
// excepted), so a test or demo can tick until the twin is quiet.
func (s *Server) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []map[string]*snapshot{s.snapshots, s.serverless} {
		for _, sn := range m {
			if sn.status == statusCreating {
				return true
			}
		}
	}
	for _, j := range s.jobs {
		if !j.stuck {
			return true
		}
	}
	return false
}

// eventDetail is the detail of an aws.elasticache serverless snapshot event
// (events/elasticache-snapshot-created.json).
type eventDetail struct {
	EventCategories  []string          `json:"EventCategories"`
	EventID          string            `json:"EventID"`
	EventMetadata    map[string]string `json:"EventMetadata"`
	Message          string            `json:"Message"`
	SourceArn        string            `json:"SourceArn"`
	SourceIdentifier string            `json:"SourceIdentifier"`
	SourceType       string            `json:"SourceType"`
}

func (s *Server) event(sn *snapshot, detailType, eventID, category, msg string, at time.Time) core.Event {
	d, _ := json.Marshal(eventDetail{
		EventCategories: []string{category}, EventID: eventID,
		EventMetadata: map[string]string{"ServerlessCacheName": sn.cache.spec.ID, "SnapshotName": sn.name},
		Message:       msg, SourceArn: sn.arn(), SourceIdentifier: sn.name, SourceType: "serverless-cache-snapshot",
	})
	return core.Event{Bus: "default", Source: "aws.elasticache", DetailType: detailType,
		Resources: []string{sn.arn()}, Detail: d, Time: at}
}

// recordEvent keeps an event for DescribeEvents; s.mu is held.
func (s *Server) recordEvent(sourceType, id, msg string) {
	s.events = append(s.events, xmlEvent{SourceIdentifier: id, SourceType: sourceType, Message: msg, Date: ts(s.now())})
}

func (s *Server) describeEvents(_ context.Context, f form) (any, *apiError) {
	size, err := f.int("MaxRecords", 100, 20, 100)
	if err != nil {
		return nil, err
	}
	id, typ := f.get("SourceIdentifier"), f.get("SourceType")
	now := s.now()
	start, end := now.Add(-time.Hour), now
	if d := f.get("Duration"); d != "" {
		n, aerr := f.int("Duration", 60, 1, 14*24*60)
		if aerr != nil {
			return nil, aerr
		}
		start = now.Add(-time.Duration(n) * time.Minute)
	}
	if v := f.get("StartTime"); v != "" {
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			return nil, errInvalidParam("StartTime %q is not an ISO-8601 time", v)
		}
		start = t
	}
	if v := f.get("EndTime"); v != "" {
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			return nil, errInvalidParam("EndTime %q is not an ISO-8601 time", v)
		}
		end = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []xmlEvent
	for _, e := range s.events {
		t, _ := time.Parse("2006-01-02T15:04:05.000Z", string(e.Date))
		if (id != "" && e.SourceIdentifier != id) || (typ != "" && e.SourceType != typ) || t.Before(start) || t.After(end) {
			continue
		}
		list = append(list, e)
	}
	p, next, aerr := page(list, f.get("Marker"), size)
	if aerr != nil {
		return nil, aerr
	}
	return eventsResult{Marker: next, Events: p}, nil
}
