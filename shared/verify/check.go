package verify

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/targets"
)

// Failure codes verify-export records (export.Error.Code).
const (
	CodeMissingObject    = "missing-object"
	CodeUnexpectedObject = "unexpected-object"
	CodeEmptyObject      = "empty-object"
	CodeCorruptObject    = "corrupt-object"
	CodeTruncatedObject  = "truncated-object"
	CodeChecksumMismatch = "checksum-mismatch"
	CodeReadFailed       = "read-failed"
	CodeObjectChanged    = "object-changed"
	CodeSnapshotFailed   = "snapshot-failed"
	CodeNoObjects        = "no-objects"
)

// checkpoint keys in the record.
const (
	cpMissingSince = "missing_since"
	cpMissingSeen  = "missing_seen"
	cpProofPrefix  = "proof:"
	// cpPartialPrefix names the RDB verifier's checkpoint inside an object not proven yet
	// (rdb.Checkpoint's JSON), from which the next invocation resumes.
	cpPartialPrefix = "partial:"
	cpStartedAt     = "verify_started_at"
)

// step moves one export on: from exporting to verifying once every object is there, then
// through the proof of each object to verified (or failed).
func (v *Verifier) step(ctx context.Context, e *export.Export, continuing bool) Result {
	switch e.Stage {
	case export.StageExporting:
		return v.checkComplete(ctx, e)
	case export.StageVerifying:
		if !continuing && v.m.Now().Sub(e.UpdatedAt) < v.opts.Lease {
			return Result{ExportID: e.ExportID, Cache: e.Cache.ID, Outcome: OutcomeBusy, Stage: string(e.Stage)}
		}
		return v.prove(ctx, e)
	}
	return Result{ExportID: e.ExportID, Cache: e.Cache.ID, Outcome: OutcomeNothing, Stage: string(e.Stage)}
}

// listed is one object found in the bucket.
type listed struct {
	key  string
	size int64
	etag string
}

func (v *Verifier) list(ctx context.Context, prefix string) ([]listed, error) {
	var out []listed
	p := s3.NewListObjectsV2Paginator(v.s3, &s3.ListObjectsV2Input{Bucket: aws.String(v.opts.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", v.opts.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, listed{key: aws.ToString(o.Key), size: aws.ToInt64(o.Size), etag: aws.ToString(o.ETag)})
		}
	}
	return out, nil
}

// snapshotStatus returns the source snapshot's status, lower-cased ("" when it is gone).
func (v *Verifier) snapshotStatus(ctx context.Context, e *export.Export) (string, error) {
	sn, _, err := targets.DescribeSnapshot(ctx, v.ec, e.Cache.Kind, e.Source.Snapshot)
	return sn.Status, err
}

// transitional reports whether a snapshot status means the export may still be writing. The
// status shown during an export is unconfirmed (AWS-FACTS.md), so anything that is not a known
// resting state counts as transitional.
func transitional(status string) bool {
	switch status {
	case "available", "failed", "":
		return false
	}
	return true
}

// checkComplete decides whether every object of the current attempt is there and the snapshot is
// done with it; then the export moves to verifying (recording the objects) and the proof starts.
func (v *Verifier) checkComplete(ctx context.Context, e *export.Export) Result {
	res := Result{ExportID: e.ExportID, Cache: e.Cache.ID, Stage: string(e.Stage)}
	l := e.Layout()
	serverless := e.Cache.Kind == export.KindServerless
	prefix := l.AttemptDir(e.Attempt)
	if serverless {
		prefix = e.Target
	}
	found, err := v.list(ctx, prefix)
	if err != nil {
		return v.errResult(e, err)
	}
	// A Memcached export has no snapshot: memcached-export writes one dump per node and fails
	// the export itself when a dump fails, so what is missing gets MissingGrace from the last
	// arrival, which outlasts the function's timeout.
	status := "not used (memcached dump)"
	if e.Cache.Kind != export.KindMemcached {
		status, err = v.snapshotStatus(ctx, e)
		if err != nil {
			return v.errResult(e, err)
		}
		if transitional(status) {
			res.Outcome, res.Reason = OutcomeWaiting, fmt.Sprintf("snapshot %s is %s; %d object(s) so far", e.Source.Snapshot, status, len(found))
			return res
		}
		if status == "failed" {
			return v.fail(ctx, e, export.Error{Code: CodeSnapshotFailed, Message: fmt.Sprintf("snapshot %s failed during the export", e.Source.Snapshot)})
		}
	}

	var objects []export.Object
	var missing, unexpected, empty []string
	if e.Cache.Kind == export.KindMemcached {
		objects, missing, unexpected, empty = memcachedObjects(found, prefix, max(e.Cache.Shards, 1))
	} else if serverless {
		for _, o := range found {
			objects = append(objects, export.Object{Key: o.key, Size: o.size, ETag: o.etag})
			if o.size == 0 {
				empty = append(empty, o.key)
			}
		}
		if len(objects) == 0 {
			missing = append(missing, prefix+"*")
		}
	} else {
		shards := max(e.Cache.Shards, 1)
		want := map[string]bool{}
		for i := 1; i <= shards; i++ {
			want[l.ShardKey(e.Attempt, i)] = true
		}
		got := map[string]listed{}
		for _, o := range found {
			got[o.key] = o
			if !want[o.key] {
				unexpected = append(unexpected, o.key)
			}
		}
		for i := 1; i <= shards; i++ {
			k := l.ShardKey(e.Attempt, i)
			o, ok := got[k]
			switch {
			case !ok:
				missing = append(missing, k)
			case o.size == 0:
				empty = append(empty, k)
			default:
				objects = append(objects, export.Object{Key: k, Size: o.size, ETag: o.etag})
			}
		}
	}
	sort.Strings(unexpected)
	switch {
	case len(unexpected) > 0:
		return v.fail(ctx, e, export.Error{Code: CodeUnexpectedObject, Object: unexpected[0],
			Message: fmt.Sprintf("%d object(s) under the attempt's prefix that the export did not name: %s", len(unexpected), strings.Join(unexpected, ", "))})
	case len(empty) > 0:
		return v.fail(ctx, e, export.Error{Code: CodeEmptyObject, Object: empty[0], Message: "exported object is empty: " + strings.Join(empty, ", ")})
	case len(missing) > 0:
		return v.missing(ctx, e, missing, len(found), status)
	}
	err = v.m.Move(ctx, e, export.StageVerifying, fmt.Sprintf("%d object(s) present, snapshot %s", len(objects), status), func(r *export.Record) {
		r.Objects = objects
		if r.Checkpoint == nil {
			r.Checkpoint = map[string]string{}
		}
		delete(r.Checkpoint, cpMissingSince)
		delete(r.Checkpoint, cpMissingSeen)
		r.Checkpoint[cpStartedAt] = v.m.Now().Format(time.RFC3339Nano)
	})
	if err != nil {
		return v.moveErr(e, err, OutcomeVerifying)
	}
	v.log.Info("export complete; proving its objects", "export_id", e.ExportID, "cache", e.Cache.ID, "objects", len(objects))
	return v.prove(ctx, e)
}

// memcachedObjects sorts the objects of a Memcached export's attempt: one dump per node,
// P/CACHE/EXPORT_ID/aN/node-NAME.mcd, nodes of them in all. Node names are known only to the
// Export Started event, so a missing dump is named by the pattern and the count.
func memcachedObjects(found []listed, prefix string, nodes int) (objects []export.Object, missing, unexpected, empty []string) {
	for _, o := range found {
		name := strings.TrimPrefix(o.key, prefix)
		switch {
		case !strings.HasPrefix(name, "node-") || !strings.HasSuffix(name, MemcachedSuffix) || strings.Contains(name, "/"):
			unexpected = append(unexpected, o.key)
		case o.size == 0:
			empty = append(empty, o.key)
		default:
			objects = append(objects, export.Object{Key: o.key, Size: o.size, ETag: o.etag})
		}
	}
	switch n := len(objects) + len(empty); {
	case n > nodes:
		for _, o := range objects {
			unexpected = append(unexpected, o.Key)
		}
	case n < nodes:
		missing = append(missing, fmt.Sprintf("%snode-*%s (%d of %d nodes)", prefix, MemcachedSuffix, nodes-n, nodes))
	}
	return objects, missing, unexpected, empty
}

// missing handles expected objects that are not there although the snapshot is done: they get
// MissingGrace from the last time an object arrived (listings lag writes, and what a snapshot
// shows during an export is unconfirmed), and then the export fails.
func (v *Verifier) missing(ctx context.Context, e *export.Export, missing []string, present int, status string) Result {
	now := v.m.Now()
	since, err := time.Parse(time.RFC3339Nano, e.Checkpoint[cpMissingSince])
	if err != nil || e.Checkpoint[cpMissingSeen] != strconv.Itoa(present) {
		err := v.m.Save(ctx, e, func(r *export.Record) {
			if r.Checkpoint == nil {
				r.Checkpoint = map[string]string{}
			}
			r.Checkpoint[cpMissingSince] = now.Format(time.RFC3339Nano)
			r.Checkpoint[cpMissingSeen] = strconv.Itoa(present)
		})
		if err != nil {
			return v.moveErr(e, err, OutcomeWaiting)
		}
		since = now
	}
	if now.Sub(since) < v.opts.MissingGrace {
		return Result{ExportID: e.ExportID, Cache: e.Cache.ID, Outcome: OutcomeWaiting, Stage: string(e.Stage),
			Reason: fmt.Sprintf("snapshot %s but %d object(s) missing (grace until %s)", status, len(missing), since.Add(v.opts.MissingGrace).Format(time.RFC3339))}
	}
	return v.fail(ctx, e, export.Error{Code: CodeMissingObject, Object: missing[0],
		Message: fmt.Sprintf("the snapshot is %s but %d expected object(s) never arrived: %s", status, len(missing), strings.Join(missing, ", "))})
}

// fail moves e to failed (Export Failed, which cleanup-export acts on).
func (v *Verifier) fail(ctx context.Context, e *export.Export, why export.Error) Result {
	v.metrics.Count("VerifyFailures", 1, map[string]string{"Reason": why.Code})
	v.log.Warn("export failed verification", "export_id", e.ExportID, "cache", e.Cache.ID, "reason", why.Code, "object", why.Object, "detail", why.Message)
	if err := v.m.Fail(ctx, e, why); err != nil {
		return v.moveErr(e, err, OutcomeFailed)
	}
	return Result{ExportID: e.ExportID, Cache: e.Cache.ID, Outcome: OutcomeFailed, Stage: string(e.Stage), Reason: why.Code, Object: why.Object}
}
