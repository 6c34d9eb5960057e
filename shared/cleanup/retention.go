package cleanup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cacheport/cacheport/shared/export"
)

// Verified is the housekeeping after Export Verified, for the export's cache: cacheport's
// snapshot is deleted for every verified export beyond the newest KeepSnapshots (ownership
// proved), and retention applies: the newest RetainLast verified exports are kept whatever their
// age, and verified exports beyond those older than RetainMaxAge expire (their objects and
// versions, the manifest, then the record). Exports that are not verified never expire, so a run
// of failures cannot remove the last good export. The error wraps ErrNotOurs for an event outside
// this deployment, and is otherwise non-nil only when the cache's records cannot be listed.
func (c *Cleaner) Verified(ctx context.Context, d export.Detail) (*Summary, error) {
	sum := c.summary("verified")
	e, err := c.load(ctx, d)
	if err != nil {
		if errors.Is(err, ErrNotOurs) {
			return sum, err
		}
		sum.add(c.errResult(Result{Cache: d.Cache, ExportID: d.ExportID, Attempt: d.Attempt}, err))
		return sum, nil
	}
	if e.Stage != export.StageVerified {
		r := result(e)
		r.Outcome, r.Reason = OutcomeNothing, "the record is "+string(e.Stage)+", not verified"
		sum.add(r)
		return sum, nil
	}
	refs, err := c.m.Store().List(ctx, e.Layout().CacheDir())
	if err != nil {
		return sum, err
	}
	verified := make([]*export.Export, len(refs))
	c.each(ctx, len(refs), sum, func(ctx context.Context, i int) []Result {
		if refs[i].Key == e.Key {
			verified[i] = e
			return nil
		}
		x, err := c.m.Load(ctx, refs[i].Key)
		switch {
		case errors.Is(err, export.ErrNotFound):
		case err != nil:
			// A record that cannot be read cannot be judged: keep it, and keep counting it as
			// one of the newest so that nothing expires on its account.
			return []Result{c.errResult(Result{}, err)}
		case x.Stage == export.StageVerified:
			verified[i] = x
		}
		return nil
	})
	if sum.Counts[string(OutcomeError)] > 0 {
		return sum, nil // judging retention on a partial list could expire the wrong exports
	}
	var list []*export.Export
	for _, x := range verified {
		if x != nil {
			list = append(list, x)
		}
	}
	for _, r := range c.housekeep(ctx, list, c.m.Now(), e.ExportID) {
		sum.add(r)
	}
	return sum, nil
}

// verifiedAt is when e was verified (its history's verified entry; its last change without one).
func verifiedAt(e *export.Export) time.Time {
	for i := len(e.History) - 1; i >= 0; i-- {
		if e.History[i].Stage == export.StageVerified {
			return e.History[i].At
		}
	}
	return e.UpdatedAt
}

// housekeep applies the snapshot and retention rules to one cache's verified exports. It reports
// the export named by focus even when nothing happens to it, and the others only when something
// does.
func (c *Cleaner) housekeep(ctx context.Context, verified []*export.Export, now time.Time, focus string) []Result {
	sort.SliceStable(verified, func(i, j int) bool {
		ti, tj := verifiedAt(verified[i]), verifiedAt(verified[j])
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return verified[i].ExportID > verified[j].ExportID
	})
	var out []Result
	for i, e := range verified {
		var r Result
		switch {
		case i >= c.opts.RetainLast && now.Sub(verifiedAt(e)) > c.opts.RetainMaxAge:
			r = c.expire(ctx, e, i)
		case i >= c.opts.KeepSnapshots && e.Source.MadeByCacheport && !removedAlready(e, export.SnapshotName(e.ExportID, e.Attempt)):
			r = c.dropSnapshot(ctx, e)
		default:
			r = result(e)
			r.Outcome, r.Reason = OutcomeKept, fmt.Sprintf("verified export %d of the cache, newest first", i+1)
		}
		if r.Outcome != OutcomeKept && r.Outcome != OutcomeNothing || e.ExportID == focus {
			out = append(out, r)
		}
	}
	return out
}

// dropSnapshot deletes the snapshot cacheport made for a verified export's attempt: it was
// exported, and keeping it costs money every day.
func (c *Cleaner) dropSnapshot(ctx context.Context, e *export.Export) Result {
	r := result(e)
	p := &pass{}
	err := c.removeSnapshot(ctx, p, e, e.Attempt)
	p.fill(&r)
	c.countPass(p)
	if err == nil {
		err = c.noteRemoved(ctx, e, p.removals)
	}
	switch {
	case err != nil:
		return c.errResult(r, err)
	case len(p.pending) > 0:
		r.Outcome, r.Reason = OutcomeRetryLater, strings.Join(p.pending, "; ")
	case len(p.deleted) > 0:
		r.Outcome, r.Reason = OutcomeRemoved, "cacheport's snapshot of a verified export"
		c.log.Info("snapshot of a verified export deleted", "export_id", e.ExportID, "cache", e.Cache.ID, "stage", e.Stage, "snapshot", export.SnapshotName(e.ExportID, e.Attempt))
	default:
		r.Outcome, r.Reason = OutcomeNothing, "no snapshot to delete"
	}
	return r
}

// expire removes a verified export that retention no longer keeps: cacheport's snapshot if it
// is still there, every object version under the export's folder but the record, the serverless
// keys of its attempt, and last the record (every version), so that a run cut short is finished
// by the next one.
func (c *Cleaner) expire(ctx context.Context, e *export.Export, rank int) Result {
	r := result(e)
	p := &pass{}
	l := e.Layout()
	err := c.removeSnapshot(ctx, p, e, e.Attempt)
	if err == nil && len(p.pending) == 0 {
		err = c.removeKeys(ctx, p, l.Dir(), func(k string) bool { return k != l.RecordKey() })
	}
	if err == nil && len(p.pending) == 0 && e.Cache.Kind == export.KindServerless {
		err = c.removeStemKeys(ctx, p, e, e.Attempt)
	}
	if err == nil && len(p.pending) == 0 {
		err = c.removeKeys(ctx, p, l.RecordKey(), func(k string) bool { return k == l.RecordKey() })
	}
	p.fill(&r)
	c.countPass(p)
	switch {
	case err != nil:
		return c.errResult(r, err)
	case len(p.pending) > 0:
		r.Outcome, r.Reason = OutcomeRetryLater, strings.Join(p.pending, "; ")
		return r
	}
	r.Outcome = OutcomeExpired
	r.Reason = fmt.Sprintf("verified %s ago, beyond the newest %d and older than %s", c.m.Now().Sub(verifiedAt(e)).Round(time.Minute), c.opts.RetainLast, c.opts.RetainMaxAge)
	if c.opts.DryRun {
		r.Reason += "; dry run: nothing deleted"
	} else {
		c.metrics.Count("ExportsExpired", 1, nil)
	}
	c.log.Info("export expired", "export_id", e.ExportID, "cache", e.Cache.ID, "stage", e.Stage, "rank", rank+1, "objects", p.versions, "snapshots", p.snapshots)
	return r
}
