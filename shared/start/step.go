package start

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/targets"
)

// lookupFunc finds the current description of a cache (nil when it no longer exists).
type lookupFunc func(ctx context.Context, c export.Cache) (*targets.Target, error)

func staticLookup(found []targets.Target) lookupFunc {
	return func(_ context.Context, c export.Cache) (*targets.Target, error) {
		for i := range found {
			if strings.EqualFold(found[i].Cache.ID, c.ID) && (c.Kind == "" || found[i].Cache.Kind == c.Kind) {
				return &found[i], nil
			}
		}
		return nil, nil
	}
}

// discoverLookup discovers every cache once, on first use, whatever the target filter says: an
// export that exists is followed to its end even if the filter changed since it began.
func (s *Starter) discoverLookup() lookupFunc {
	var (
		once  sync.Once
		found []targets.Target
		err   error
	)
	return func(ctx context.Context, c export.Cache) (*targets.Target, error) {
		once.Do(func() {
			f := s.opts.Filter
			found, err = targets.Discover(ctx, s.ec, targets.Filter{Engines: f.Engines})
		})
		if err != nil {
			return nil, fmt.Errorf("find cache %s: %w", c.ID, err)
		}
		return staticLookup(found)(ctx, c)
	}
}

// oneLookup describes just the export's cache: an invocation that handles one export (Export
// Requested, Snapshot Created) must not list the fleet, or a fanned-out tick over N caches
// costs N full discoveries.
func (s *Starter) oneLookup() lookupFunc {
	return func(ctx context.Context, c export.Cache) (*targets.Target, error) {
		return targets.Lookup(ctx, s.ec, c)
	}
}

// step moves one export on from its stage, as far as it can go now.
func (s *Starter) step(ctx context.Context, e *export.Export, lookup lookupFunc) Result {
	res := Result{Cache: e.Cache.ID, ExportID: e.ExportID}
	now := s.m.Now()
	switch e.Stage {
	case export.StageRequested:
		if now.Before(e.NotBefore) {
			res.Outcome, res.Stage, res.Reason = OutcomeWaiting, string(e.Stage), "back-off until "+e.NotBefore.Format("15:04:05Z")
			return res
		}
		if e.Cache.Kind == export.KindMemcached {
			return s.requestDump(ctx, e)
		}
		t, err := lookup(ctx, e.Cache)
		if err != nil {
			return s.errResult(e.Cache.ID, e.ExportID, err)
		}
		if t == nil {
			return s.fail(ctx, e, export.Error{Code: "cache-missing", Message: fmt.Sprintf("cache %s no longer exists", e.Cache.ID)})
		}
		if t.Skip != "" {
			if t.Skip == "not-available" {
				res.Outcome, res.Stage, res.Reason = OutcomeWaiting, string(e.Stage), t.Skip
				return res
			}
			return s.fail(ctx, e, export.Error{Code: t.Skip, Message: t.SkipMessage})
		}
		return s.chooseAndGo(ctx, e, t)
	case export.StageSnapshotting:
		return s.checkSnapshot(ctx, e)
	}
	res.Outcome, res.Stage = OutcomeNothing, string(e.Stage)
	return res
}

// requestDump hands a Memcached export waiting in requested to memcached-export, which moves it
// to exporting as soon as it starts: one still in requested after the grace period had its
// Export Requested lost (or refused), and it is published again. Within the grace period it
// waits, so a tick racing a dump just begun does not start a second one.
func (s *Starter) requestDump(ctx context.Context, e *export.Export) Result {
	res := Result{Cache: e.Cache.ID, ExportID: e.ExportID, Stage: string(e.Stage)}
	since := e.UpdatedAt
	if e.NotBefore.After(since) {
		since = e.NotBefore
	}
	if s.m.Now().Sub(since) < s.opts.SnapshotGrace {
		res.Outcome, res.Reason = OutcomeWaiting, "memcached-export"
		return res
	}
	res.Outcome, res.Reason = OutcomeFannedOut, "requested again"
	if err := s.m.Publish(ctx, e, export.DetailRequested); err != nil {
		s.log.Warn("export requested but not published", "export_id", e.ExportID, "error", err)
		res.Err, res.Retry = err.Error(), true
	}
	return res
}

func (s *Starter) chooseAndGo(ctx context.Context, e *export.Export, t *targets.Target) Result {
	name := e.Layout().SnapshotName(e.Attempt)
	quota := s.opts.SnapshotQuota
	if t.Cache.Kind == export.KindServerless {
		quota = 0 // AWS's serverless quota (targets.DefaultServerlessQuota)
	}
	ch, err := targets.ChooseSource(ctx, s.ec, *t, s.m.Now(), targets.SourceOptions{MaxBackupAge: s.opts.MaxBackupAge, Quota: quota, NewSnapshotName: name})
	if err != nil {
		return s.errResult(e.Cache.ID, e.ExportID, fmt.Errorf("choose source: %w", err))
	}
	if ch.Wait != "" {
		s.log.Info("export waits", "export_id", e.ExportID, "cache", e.Cache.ID, "reason", ch.Wait, "detail", ch.WaitMessage)
		s.metrics.Count("ExportsWaiting", 1, map[string]string{"Reason": ch.Wait})
		return Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeWaiting, Stage: string(e.Stage), Reason: ch.Wait}
	}
	if ch.Automated {
		return s.startExport(ctx, e, export.Source{Snapshot: ch.Snapshot, Automated: true}, "fresh automatic backup")
	}
	if ch.Existing {
		// An earlier run made the snapshot and did not get to record it.
		if err := s.m.Snapshotting(ctx, e, export.Source{Snapshot: name, MadeByCacheport: true}, "snapshot found"); err != nil {
			return s.moveErr(e, err)
		}
		return s.checkSnapshot(ctx, e)
	}
	return s.createSnapshot(ctx, e, t, name)
}

// createSnapshot makes the export's snapshot, tagged as cacheport's, then records it. The name
// is fixed per attempt, so a second caller gets SnapshotAlreadyExists and simply records it too.
func (s *Starter) createSnapshot(ctx context.Context, e *export.Export, t *targets.Target, name string) Result {
	var tags []ectypes.Tag
	for k, v := range export.OwnershipTags(e.ExportID) {
		tags = append(tags, ectypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	sort.Slice(tags, func(i, j int) bool { return *tags[i].Key < *tags[j].Key })
	var err error
	if t.Cache.Kind == export.KindServerless {
		_, err = s.ec.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{
			ServerlessCacheName: aws.String(t.Cache.ID), ServerlessCacheSnapshotName: aws.String(name), Tags: tags})
	} else {
		in := &elasticache.CreateSnapshotInput{SnapshotName: aws.String(name), Tags: tags}
		if t.SnapshotFrom != "" {
			in.CacheClusterId = aws.String(t.SnapshotFrom)
		} else if t.Cache.Kind == export.KindCacheCluster {
			in.CacheClusterId = aws.String(t.Cache.ID)
		} else {
			in.ReplicationGroupId = aws.String(t.Cache.ID)
		}
		_, err = s.ec.CreateSnapshot(ctx, in)
	}
	if err != nil && awserr.Classify(err) != awserr.Conflict {
		switch c := awserr.Classify(err); {
		case c.Retryable():
			s.log.Info("snapshot not started yet", "export_id", e.ExportID, "class", c.String(), "error", err)
			return Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeWaiting, Stage: string(e.Stage), Reason: c.String()}
		case c == awserr.Quota:
			return s.fail(ctx, e, export.Error{Code: "snapshot-quota", Message: "ElastiCache refused the snapshot: " + err.Error()})
		default:
			return s.fail(ctx, e, export.Error{Code: "snapshot-refused", Message: err.Error()})
		}
	}
	s.metrics.Count("SnapshotsCreated", 1, map[string]string{"Kind": string(t.Cache.Kind)})
	src := export.Source{Snapshot: name, MadeByCacheport: true}
	if err := s.m.Snapshotting(ctx, e, src, "no fresh automatic backup"); err != nil {
		return s.moveErr(e, err)
	}
	s.log.Info("snapshot started", "export_id", e.ExportID, "cache", e.Cache.ID, "snapshot", name, "stage", e.Stage)
	return Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeSnapshot, Stage: string(e.Stage)}
}

// checkSnapshot moves an export whose snapshot is being made: on when it is available, to failed
// when it failed or vanished, nowhere while it is still being made.
func (s *Starter) checkSnapshot(ctx context.Context, e *export.Export) Result {
	st, _, err := targets.DescribeSnapshot(ctx, s.ec, e.Cache.Kind, e.Source.Snapshot)
	if err != nil {
		return s.errResult(e.Cache.ID, e.ExportID, err)
	}
	waiting := Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeWaiting, Stage: string(e.Stage), Reason: "snapshot " + st.Status}
	switch st.Status {
	case "available":
		if st.Shards > 0 {
			e.Cache.Shards = st.Shards
		}
		return s.startExport(ctx, e, e.Source, "snapshot available")
	case "creating":
		return waiting
	case "":
		if s.m.Now().Sub(e.UpdatedAt) < s.opts.SnapshotGrace {
			waiting.Reason = "snapshot not visible yet"
			return waiting
		}
		return s.fail(ctx, e, export.Error{Code: "snapshot-missing", Message: fmt.Sprintf("snapshot %s disappeared while the export waited for it", e.Source.Snapshot)})
	case "failed":
		return s.fail(ctx, e, export.Error{Code: "snapshot-failed", Message: fmt.Sprintf("snapshot %s failed", e.Source.Snapshot)})
	}
	return s.fail(ctx, e, export.Error{Code: "snapshot-failed", Message: fmt.Sprintf("snapshot %s is %s, not available", e.Source.Snapshot, st.Status)})
}

// startExport starts the copy to S3 and then records it (exporting, Export Started). Copy first:
// the target name is fixed per attempt, so a second caller is told the target exists, which
// means the copy is under way, and records it the same way.
func (s *Starter) startExport(ctx context.Context, e *export.Export, src export.Source, why string) Result {
	l := e.Layout()
	var target string
	expect := export.Expect{}
	var err error
	if e.Cache.Kind == export.KindServerless {
		target = src.Snapshot
		expect = export.Expect{Target: target, KeyPrefix: target}
		_, err = s.ec.ExportServerlessCacheSnapshot(ctx, &elasticache.ExportServerlessCacheSnapshotInput{
			ServerlessCacheSnapshotName: aws.String(src.Snapshot), S3BucketName: aws.String(s.opts.Bucket)})
	} else {
		target = l.TargetName(e.Attempt)
		shards := max(e.Cache.Shards, 1)
		expect = export.Expect{Target: target, Shards: shards, KeyPrefix: l.AttemptDir(e.Attempt)}
		for i := 1; i <= shards; i++ {
			expect.Keys = append(expect.Keys, l.ShardKey(e.Attempt, i))
		}
		_, err = s.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{
			SourceSnapshotName: aws.String(src.Snapshot), TargetSnapshotName: aws.String(target), TargetBucket: aws.String(s.opts.Bucket)})
	}
	if err != nil {
		code, advice := awserr.CopySnapshotAdvice(err)
		c := awserr.Classify(err)
		switch {
		case code == awserr.CopyTargetExists:
			s.log.Info("export already started", "export_id", e.ExportID, "target", target)
		case code != "":
			return s.fail(ctx, e, export.Error{Code: code, Message: advice + " (" + err.Error() + ")"})
		case c.Retryable():
			s.log.Info("export not started yet", "export_id", e.ExportID, "class", c.String(), "error", err)
			return Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeWaiting, Stage: string(e.Stage), Reason: c.String()}
		default:
			return s.fail(ctx, e, export.Error{Code: "export-refused", Message: err.Error()})
		}
	}
	err = s.m.Exporting(ctx, e, src, target, expect, why)
	if err != nil {
		return s.moveErr(e, err)
	}
	s.metrics.Count("ExportsStarted", 1, map[string]string{"Kind": string(e.Cache.Kind)})
	s.log.Info("export started", "export_id", e.ExportID, "cache", e.Cache.ID, "source", src.Snapshot, "automated", src.Automated, "target", target, "stage", e.Stage)
	return Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeStarted, Stage: string(e.Stage)}
}

// fail moves e to failed (Export Failed) for good.
func (s *Starter) fail(ctx context.Context, e *export.Export, why export.Error) Result {
	s.metrics.Count("ExportsFailed", 1, map[string]string{"Reason": why.Code})
	s.log.Warn("export failed", "export_id", e.ExportID, "cache", e.Cache.ID, "reason", why.Code, "detail", why.Message)
	if err := s.m.Fail(ctx, e, why); err != nil {
		return s.moveErr(e, err)
	}
	return Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeFailed, Stage: string(e.Stage), Reason: why.Code}
}

// moveErr turns a transition's error into a result: a lost race is no error, a failed publish
// leaves the move in place (the sweeps do without the event).
func (s *Starter) moveErr(e *export.Export, err error) Result {
	var pe *export.PublishError
	switch {
	case errors.Is(err, export.ErrConflict):
		s.log.Info("another invocation moved the export first", "export_id", e.ExportID)
		return Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeLostRace}
	case errors.As(err, &pe):
		s.log.Warn("moved, event not published", "export_id", e.ExportID, "stage", e.Stage, "error", err)
		return Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: outcomeOf(e.Stage), Stage: string(e.Stage), Err: err.Error()}
	}
	return s.errResult(e.Cache.ID, e.ExportID, err)
}

func outcomeOf(st export.Stage) Outcome {
	switch st {
	case export.StageExporting:
		return OutcomeStarted
	case export.StageSnapshotting:
		return OutcomeSnapshot
	case export.StageFailed:
		return OutcomeFailed
	}
	return OutcomeNothing
}
