package cleanup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cacheport/cacheport/shared/export"
)

// ObjectCreated acts on S3's Object Created for a key under the prefix or the cacheport- stem.
// The key is deleted (every version) only when it lies in the keys of an attempt the record
// says is dead: an earlier attempt than the record's, or the record's attempt once it is failed,
// cleaned, abandoned or cancelled. An object of a live attempt or of a verified export, a record,
// a manifest, or anything outside an export's attempt folders is kept. The error wraps
// ErrNotOurs for another bucket or a key outside the prefix and the stem.
func (c *Cleaner) ObjectCreated(ctx context.Context, bucket, key string) (*Summary, error) {
	sum := c.summary("object-created")
	if bucket != c.opts.Bucket {
		c.refused(Result{}, "bucket "+bucket+" is not the export bucket")
		return sum, fmt.Errorf("object in bucket %q, this deployment exports to %q: %w", bucket, c.opts.Bucket, ErrNotOurs)
	}
	var (
		e   *export.Export
		n   int
		err error
	)
	switch {
	case strings.HasPrefix(key, c.opts.Prefix+"/"):
		l, rest, ok := export.ParseRecordKey(c.opts.Prefix, key)
		if !ok {
			sum.add(c.refused(Result{}, key+" is not in an export's folder"))
			return sum, nil
		}
		if n = export.AttemptOf(rest); n == 0 {
			// The record, the manifest: every record write lands here. Nothing to do.
			sum.add(Result{Cache: l.CacheID, ExportID: l.ExportID, Outcome: OutcomeKept, Reason: key + " is not an attempt's object"})
			return sum, nil
		}
		e, err = c.m.Load(ctx, l.RecordKey())
		if errors.Is(err, export.ErrNotFound) {
			sum.add(c.refused(Result{Cache: l.CacheID, ExportID: l.ExportID}, key+": the export has no record"))
			return sum, nil
		}
	case strings.HasPrefix(key, export.SnapshotStem):
		// Export ids may contain "-aN": a key that reads as the stem of two exports with
		// records is ambiguous, and deletes nothing.
		var owners []string
		for _, ref := range parseStem(key, false) {
			found, ok, ferr := c.findExport(ctx, ref.id, "")
			if ferr != nil {
				err = ferr
				break
			}
			if ok {
				e, n, owners = found, ref.attempt, append(owners, ref.id)
			}
		}
		if err == nil && e == nil {
			sum.add(c.refused(Result{}, key+" names no export"))
			return sum, nil
		}
		if err == nil && len(owners) > 1 {
			sum.add(c.refused(Result{}, key+" reads as a key of exports "+strings.Join(owners, " and ")))
			return sum, nil
		}
		if err == nil && e.Cache.Kind != export.KindServerless {
			sum.add(c.refused(result(e), key+": the export is not serverless"))
			return sum, nil
		}
	default:
		return sum, fmt.Errorf("key %q is outside %s/ and %s: %w", key, c.opts.Prefix, export.SnapshotStem, ErrNotOurs)
	}
	if err != nil {
		sum.add(c.errResult(Result{}, err))
		return sum, nil
	}
	r := result(e)
	if live := liveReason(e, n); live != "" {
		r.Outcome, r.Reason = OutcomeKept, live
		sum.add(r)
		return sum, nil
	}
	p := &pass{}
	if err := c.removeKeys(ctx, p, key, func(k string) bool { return k == key && c.attemptScope(e, n)(k) }); err != nil {
		sum.add(c.errResult(r, err))
		return sum, nil
	}
	p.fill(&r)
	c.countPass(p)
	if err := c.noteRemoved(ctx, e, p.removals); err != nil {
		sum.add(c.errResult(r, err))
		return sum, nil
	}
	r.Outcome, r.Reason = OutcomeRemoved, fmt.Sprintf("late object of dead attempt %d", n)
	if len(p.deleted) == 0 {
		r.Outcome, r.Reason = OutcomeNothing, "already gone"
	}
	c.log.Info("late object", "export_id", e.ExportID, "cache", e.Cache.ID, "stage", e.Stage, "key", key, "attempt", n, "outcome", r.Outcome)
	sum.add(r)
	return sum, nil
}

// liveReason says why attempt n of e is not dead ("" when it is).
func liveReason(e *export.Export, n int) string {
	switch {
	case n > e.Attempt:
		return fmt.Sprintf("attempt %d is ahead of the record's attempt %d", n, e.Attempt)
	case n < e.Attempt:
		return ""
	}
	switch e.Stage {
	case export.StageFailed, export.StageCleaned, export.StageAbandoned, export.StageCancelled:
		return ""
	case export.StageVerified:
		return "the export is verified"
	}
	return "attempt " + fmt.Sprint(n) + " is live (" + string(e.Stage) + ")"
}

// attemptStart is when e's current attempt started: its last move to requested (or its
// creation), or its back-off's end when that is later.
func attemptStart(e *export.Export) time.Time {
	start := e.CreatedAt
	for i := len(e.History) - 1; i >= 0; i-- {
		if e.History[i].Stage == export.StageRequested {
			start = e.History[i].At
			break
		}
	}
	if e.NotBefore.After(start) {
		start = e.NotBefore
	}
	return start
}

// Stale is the stale-export sweep, the safety net for lost events and snapshots that could not
// be deleted yet. Over every record under the prefix: an active export not verified within
// StaleAfter of its attempt's start is failed (export-stuck) and cleaned; a failed export is
// cleaned; a cleaned export that never got its next attempt gets it; an export whose record
// changed within the late window has its dead attempts listed again, so late objects and
// snapshots left in a transitional state go; and each cache with verified exports gets its
// housekeeping (snapshots, retention). The error is non-nil only when the records cannot be
// listed; per-export failures are in the summary.
func (c *Cleaner) Stale(ctx context.Context, now time.Time) (*Summary, error) {
	sum := c.summary("stale")
	refs, err := c.m.Store().List(ctx, c.opts.Prefix+"/")
	if err != nil {
		return sum, err
	}
	loaded := make([]*export.Export, len(refs))
	c.each(ctx, len(refs), sum, func(ctx context.Context, i int) []Result {
		e, err := c.m.Load(ctx, refs[i].Key)
		if err != nil {
			if errors.Is(err, export.ErrNotFound) {
				return nil // expired meanwhile
			}
			return []Result{c.errResult(Result{}, err)}
		}
		loaded[i] = e
		// The record's own clock, not the object's LastModified: the Machine's clock is the one
		// every stage time is read on.
		recent := now.Sub(e.UpdatedAt) <= c.opts.LateWindow
		return c.sweepOne(ctx, e, now, recent)
	})
	caches := map[string][]*export.Export{}
	var order []string
	for _, e := range loaded {
		if e == nil || e.Stage != export.StageVerified {
			continue
		}
		dir := e.Layout().CacheDir()
		if caches[dir] == nil {
			order = append(order, dir)
		}
		caches[dir] = append(caches[dir], e)
	}
	c.each(ctx, len(order), sum, func(ctx context.Context, i int) []Result {
		return c.housekeep(ctx, caches[order[i]], now, "")
	})
	c.log.Info("stale sweep done", "records", len(refs), "caches", len(order), "counts", sum.Counts)
	return sum, nil
}

// sweepOne is the stale sweep's step on one export.
func (c *Cleaner) sweepOne(ctx context.Context, e *export.Export, now time.Time, recent bool) []Result {
	var out []Result
	switch {
	case e.Stage.Active():
		if start := attemptStart(e); now.Sub(start) > c.opts.StaleAfter {
			why := export.Error{Code: "export-stuck", Message: fmt.Sprintf("not verified %s after attempt %d started at %s", c.opts.StaleAfter, e.Attempt, start.Format(time.RFC3339))}
			out = append(out, c.failAndClean(ctx, e, why))
		}
	case e.Stage == export.StageFailed, e.Stage == export.StageCleaned:
		out = append(out, c.cleanFailed(ctx, e))
	}
	if !recent {
		return out
	}
	last := e.Attempt - 1
	if liveReason(e, e.Attempt) == "" && e.Stage != export.StageFailed {
		last = e.Attempt
	}
	if last >= 1 {
		if r := c.removeDead(ctx, e, 1, last); r.Outcome != OutcomeNothing {
			out = append(out, r)
		}
	}
	return out
}
