package cleanup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cacheport/cacheport/shared/export"
)

// Failed acts on Export Failed: the export's failed attempt is removed (every object version
// and cacheport's snapshot), the record moves to cleaned (Export Cleaned) and on to the next
// attempt with back-off (Export Requested) or to abandoned (Export Abandoned). When a snapshot
// cannot be deleted yet the export stays failed (retry-later) for the stale sweep. The record
// decides, not the event: a duplicate or late event finds the work done and does nothing.
// The error wraps ErrNotOurs for an event outside this deployment; step failures are in the
// summary.
func (c *Cleaner) Failed(ctx context.Context, d export.Detail) (*Summary, error) {
	sum := c.summary("failed")
	e, err := c.load(ctx, d)
	if err != nil {
		if errors.Is(err, ErrNotOurs) {
			return sum, err
		}
		sum.add(c.errResult(Result{Cache: d.Cache, ExportID: d.ExportID, Attempt: d.Attempt}, err))
		return sum, nil
	}
	sum.add(c.cleanFailed(ctx, e))
	return sum, nil
}

// cleanFailed removes e's failed attempt and moves it on. Safe to run twice at once: deletes are
// idempotent and the Machine's conditional writes let one invocation move the record.
func (c *Cleaner) cleanFailed(ctx context.Context, e *export.Export) Result {
	switch e.Stage {
	case export.StageFailed:
	case export.StageCleaned:
		// An earlier run cleaned it and did not get to ask for the next attempt.
		return c.nextAttempt(ctx, e, result(e))
	default:
		r := result(e)
		r.Outcome, r.Reason = OutcomeNothing, "the record is "+string(e.Stage)
		return r
	}
	r := result(e)
	p, err := c.removeAttempt(ctx, e, e.Attempt)
	p.fill(&r)
	c.countPass(p)
	if err != nil {
		// Keep what was done in the record; the sweep does the rest.
		if nerr := c.noteRemoved(ctx, e, p.removals); nerr != nil {
			c.log.Warn("removals not recorded", "export_id", e.ExportID, "error", nerr)
		}
		return c.errResult(r, err)
	}
	if len(p.pending) > 0 {
		if err := c.noteRemoved(ctx, e, p.removals); err != nil {
			return c.errResult(r, err)
		}
		r.Outcome, r.Reason = OutcomeRetryLater, strings.Join(p.pending, "; ")
		c.log.Info("cleanup must wait", "export_id", e.ExportID, "cache", e.Cache.ID, "stage", e.Stage, "attempt", e.Attempt, "reason", r.Reason)
		return r
	}
	if c.opts.DryRun {
		r.Outcome, r.Stage, r.Reason = OutcomeCleaned, string(export.StageCleaned), "dry run: nothing deleted or written"
		return r
	}
	for try := 0; ; try++ {
		err = c.m.Cleaned(ctx, e, p.removals)
		if err == nil || isPublishError(err) {
			break
		}
		if !errors.Is(err, export.ErrConflict) || try == 2 {
			return c.errResult(r, err)
		}
		// Another writer changed the record: a late-object note (still failed: try again) or a
		// concurrent cleanup that cleaned it first (lost race; keep our removals in its record).
		fresh, lerr := c.m.Load(ctx, e.Key)
		if lerr != nil {
			return c.errResult(r, lerr)
		}
		*e = *fresh
		if e.Stage != export.StageFailed {
			if nerr := c.noteRemoved(ctx, e, p.removals); nerr != nil {
				c.log.Warn("removals not recorded", "export_id", e.ExportID, "error", nerr)
			}
			c.log.Info("another invocation cleaned the export first", "export_id", e.ExportID, "stage", e.Stage)
			if e.Stage == export.StageCleaned {
				// The winner may have died before the retry-or-final decision: make it; the
				// conditional write lets only one of us.
				return c.nextAttempt(ctx, e, r)
			}
			r.Outcome, r.Stage = OutcomeLostRace, string(e.Stage)
			return r
		}
	}
	if err != nil {
		c.log.Warn("cleaned, event not published", "export_id", e.ExportID, "error", err)
	}
	c.metrics.Count("ExportsCleaned", 1, nil)
	c.log.Info("export cleaned", "export_id", e.ExportID, "cache", e.Cache.ID, "stage", e.Stage, "attempt", e.Attempt,
		"objects", p.versions, "snapshots", p.snapshots)
	return c.nextAttempt(ctx, e, r)
}

// nextAttempt asks the state machine for the retry-or-final decision on a cleaned export, with
// back-off counted from when it was cleaned.
func (c *Cleaner) nextAttempt(ctx context.Context, e *export.Export, r Result) Result {
	if c.opts.DryRun {
		r.Outcome, r.Reason = OutcomeCleaned, "dry run: nothing deleted or written"
		return r
	}
	cleanedAt := e.UpdatedAt
	for i := len(e.History) - 1; i >= 0; i-- {
		if e.History[i].Stage == export.StageCleaned {
			cleanedAt = e.History[i].At
			break
		}
	}
	notBefore := cleanedAt.Add(c.backoff(e.Attempt))
	again, err := c.m.NextAttempt(ctx, e, notBefore)
	for try := 0; errors.Is(err, export.ErrConflict) && try < 3; try++ {
		// A note of removals (a concurrent cleanup, a late object) changed the record; it may
		// still be cleaned and waiting for this decision.
		fresh, lerr := c.m.Load(ctx, e.Key)
		if lerr != nil {
			return c.errResult(r, lerr)
		}
		if *e = *fresh; e.Stage != export.StageCleaned {
			break
		}
		again, err = c.m.NextAttempt(ctx, e, notBefore)
	}
	r.Stage, r.Attempt = string(e.Stage), e.Attempt
	switch {
	case errors.Is(err, export.ErrConflict):
		c.log.Info("another invocation moved the export first", "export_id", e.ExportID, "stage", e.Stage)
		r.Outcome = OutcomeLostRace
		return r
	case err != nil && !isPublishError(err):
		return c.errResult(r, err)
	case err != nil:
		// The move stands: start-export's advance sweep starts a requested export without the
		// event; an abandoned one has lost its alert, so say so loudly.
		c.log.Error("moved, event not published", "export_id", e.ExportID, "stage", e.Stage, "error", err)
		r.Err = err.Error()
	}
	if again {
		r.Outcome, r.Reason = OutcomeCleaned, "attempt "+fmt.Sprint(e.Attempt)+" not before "+notBefore.UTC().Format(time.RFC3339)
		c.log.Info("next attempt requested", "export_id", e.ExportID, "cache", e.Cache.ID, "stage", e.Stage, "attempt", e.Attempt, "not_before", notBefore)
		return r
	}
	c.metrics.Count("ExportsAbandoned", 1, nil)
	c.log.Warn("export abandoned", "export_id", e.ExportID, "cache", e.Cache.ID, "stage", e.Stage, "attempts", e.Attempt)
	r.Outcome, r.Reason = OutcomeAbandoned, export.ErrBudgetSpent.Error()
	return r
}

// Cancelled acts on Export Cancelled: what every attempt wrote is removed (objects, versions,
// cacheport's snapshots) and recorded; the record stays cancelled. A snapshot still in a
// transitional state is left for the stale sweep (retry-later).
func (c *Cleaner) Cancelled(ctx context.Context, d export.Detail) (*Summary, error) {
	sum := c.summary("cancelled")
	e, err := c.load(ctx, d)
	if err != nil {
		if errors.Is(err, ErrNotOurs) {
			return sum, err
		}
		sum.add(c.errResult(Result{Cache: d.Cache, ExportID: d.ExportID, Attempt: d.Attempt}, err))
		return sum, nil
	}
	if e.Stage != export.StageCancelled {
		r := result(e)
		r.Outcome, r.Reason = OutcomeNothing, "the record is "+string(e.Stage)+", not cancelled"
		sum.add(r)
		return sum, nil
	}
	sum.add(c.removeDead(ctx, e, 1, e.Attempt))
	return sum, nil
}

// removeDead removes attempts from..to of e, which the record says are dead, and records it.
func (c *Cleaner) removeDead(ctx context.Context, e *export.Export, from, to int) Result {
	r := result(e)
	all := &pass{}
	var err error
	for n := from; n <= to && err == nil; n++ {
		var p *pass
		p, err = c.removeAttempt(ctx, e, n)
		all.merge(p)
	}
	all.fill(&r)
	c.countPass(all)
	if nerr := c.noteRemoved(ctx, e, all.removals); nerr != nil && err == nil {
		err = nerr
	}
	switch {
	case err != nil:
		return c.errResult(r, err)
	case len(all.pending) > 0:
		r.Outcome, r.Reason = OutcomeRetryLater, strings.Join(all.pending, "; ")
	case len(all.deleted) > 0:
		r.Outcome = OutcomeRemoved
		c.log.Info("dead attempts' leftovers removed", "export_id", e.ExportID, "cache", e.Cache.ID, "stage", e.Stage,
			"objects", all.versions, "snapshots", all.snapshots)
	default:
		r.Outcome = OutcomeNothing
	}
	if c.opts.DryRun && len(all.deleted) > 0 {
		r.Reason = strings.TrimPrefix(r.Reason+"; dry run: nothing deleted or written", "; ")
	}
	return r
}

// SnapshotFailure is a serverless snapshot failure event: which one (the detail-type), the
// snapshot it names, and the cache when the event says (it helps find exports named by hand).
type SnapshotFailure struct {
	DetailType string
	Snapshot   string
	Cache      string
	Message    string
}

// failureCodes maps ElastiCache's failure detail-types to the record's error codes.
var failureCodes = map[string]string{
	"Snapshot Creation Failed": "snapshot-failed",
	"Snapshot Export Failed":   "export-failed",
	"Snapshot Copy Failed":     "copy-failed",
}

// ServerlessFailure acts on a serverless snapshot failure event for one of cacheport's
// snapshots (cacheport-EXPORT_ID-aN): the export's live attempt moves to failed and is cleaned
// up as by Failed; a dead attempt's leftovers are removed. A snapshot that is not cacheport's,
// or an export that is not serverless, is refused and nothing is deleted.
func (c *Cleaner) ServerlessFailure(ctx context.Context, f SnapshotFailure) (*Summary, error) {
	sum := c.summary("snapshot-failure")
	code, ok := failureCodes[f.DetailType]
	if !ok {
		return sum, fmt.Errorf("%q is not a snapshot failure: %w", f.DetailType, ErrNotOurs)
	}
	refs := parseStem(f.Snapshot, true)
	if len(refs) == 0 {
		sum.add(c.refused(Result{}, "snapshot "+f.Snapshot+" is not named as cacheport's"))
		return sum, nil
	}
	var e *export.Export
	var n int
	for _, ref := range refs {
		found, ok, err := c.findExport(ctx, ref.id, strings.ToLower(f.Cache))
		if err != nil {
			sum.add(c.errResult(Result{ExportID: ref.id, Attempt: ref.attempt}, err))
			return sum, nil
		}
		if ok {
			e, n = found, ref.attempt
			break
		}
	}
	if e == nil {
		sum.add(c.refused(Result{ExportID: refs[0].id}, "snapshot "+f.Snapshot+" has no export record"))
		return sum, nil
	}
	if e.Cache.Kind != export.KindServerless {
		sum.add(c.refused(result(e), "export is "+string(e.Cache.Kind)+", not serverless"))
		return sum, nil
	}
	c.log.Info("serverless snapshot failed", "export_id", e.ExportID, "cache", e.Cache.ID, "stage", e.Stage, "snapshot", f.Snapshot, "reason", code, "detail", f.Message)
	switch {
	case n > e.Attempt:
		sum.add(c.refused(result(e), fmt.Sprintf("snapshot of attempt %d, the record is at attempt %d", n, e.Attempt)))
	case n < e.Attempt || e.Stage.Terminal() && e.Stage != export.StageVerified || e.Stage == export.StageCleaned:
		sum.add(c.removeDead(ctx, e, n, n))
	case e.Stage == export.StageVerified:
		r := result(e)
		r.Outcome, r.Reason = OutcomeKept, "the export is verified"
		sum.add(r)
	case e.Stage.Active():
		if e.Source.Snapshot != "" && e.Source.Snapshot != f.Snapshot {
			sum.add(c.refused(result(e), "the export's source is "+e.Source.Snapshot+", not "+f.Snapshot))
			return sum, nil
		}
		sum.add(c.failAndClean(ctx, e, export.Error{Code: code, Message: f.DetailType + ": " + f.Message}))
	default: // failed
		sum.add(c.cleanFailed(ctx, e))
	}
	return sum, nil
}

// failAndClean moves an active export to failed and cleans it up. When another invocation moves
// it first, the record is read again and cleaned if it is failed now.
func (c *Cleaner) failAndClean(ctx context.Context, e *export.Export, why export.Error) Result {
	if c.opts.DryRun {
		r := c.cleanFailed(ctx, withStage(e, export.StageFailed))
		r.Reason = strings.TrimPrefix(r.Reason+"; would fail it first: "+why.Code, "; ")
		return r
	}
	err := c.m.Fail(ctx, e, why)
	switch {
	case errors.Is(err, export.ErrConflict):
		fresh, lerr := c.m.Load(ctx, e.Key)
		if lerr != nil {
			return c.errResult(result(e), lerr)
		}
		if fresh.Stage != export.StageFailed && fresh.Stage != export.StageCleaned {
			r := result(fresh)
			r.Outcome = OutcomeLostRace
			return r
		}
		e = fresh
	case err != nil && !isPublishError(err):
		return c.errResult(result(e), err)
	}
	c.metrics.Count("ExportsFailed", 1, map[string]string{"Reason": why.Code})
	c.log.Warn("export failed", "export_id", e.ExportID, "cache", e.Cache.ID, "stage", e.Stage, "reason", why.Code, "detail", why.Message)
	return c.cleanFailed(ctx, e)
}

// withStage returns a copy of e in stage st, for dry runs (never written).
func withStage(e *export.Export, st export.Stage) *export.Export {
	cp := *e
	cp.Stage = st
	return &cp
}

func isPublishError(err error) bool {
	var pe *export.PublishError
	return errors.As(err, &pe)
}

func (c *Cleaner) countPass(p *pass) {
	if c.opts.DryRun {
		return
	}
	if p.versions > 0 {
		c.metrics.Count("ObjectsDeleted", p.versions, nil)
	}
	if p.snapshots > 0 {
		c.metrics.Count("SnapshotsDeleted", p.snapshots, nil)
	}
	if len(p.refused) > 0 {
		c.metrics.Count("CleanupRefused", len(p.refused), nil)
		c.log.Warn("refused: not cacheport's to delete", "refused", p.refused)
	}
}
