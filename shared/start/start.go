// Package start is start-export's domain: the window tick that begins one export per cache per
// window, Export Requested (fan-out and retries), and the advance sweep that moves exports on
// while their snapshots are made, since node-based clusters send no events. It never sleeps
// waiting: an export that must wait stays in its stage and a later tick moves it.
package start

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticache"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/targets"
	"github.com/cacheport/cacheport/shared/telemetry"
)

// ElastiCacheAPI is the part of the ElastiCache client start-export calls.
type ElastiCacheAPI interface {
	targets.API
	targets.SnapshotAPI
	CreateSnapshot(ctx context.Context, in *elasticache.CreateSnapshotInput, opts ...func(*elasticache.Options)) (*elasticache.CreateSnapshotOutput, error)
	CreateServerlessCacheSnapshot(ctx context.Context, in *elasticache.CreateServerlessCacheSnapshotInput, opts ...func(*elasticache.Options)) (*elasticache.CreateServerlessCacheSnapshotOutput, error)
	CopySnapshot(ctx context.Context, in *elasticache.CopySnapshotInput, opts ...func(*elasticache.Options)) (*elasticache.CopySnapshotOutput, error)
	ExportServerlessCacheSnapshot(ctx context.Context, in *elasticache.ExportServerlessCacheSnapshotInput, opts ...func(*elasticache.Options)) (*elasticache.ExportServerlessCacheSnapshotOutput, error)
}

var _ ElastiCacheAPI = (*elasticache.Client)(nil)

// Options are start-export's settings (from config.Config).
type Options struct {
	Bucket          string
	Prefix          string
	Filter          targets.Filter
	MaxBackupAge    time.Duration
	MaxAttempts     int
	SnapshotQuota   int
	FanoutThreshold int // 0: never fan out
	Concurrency     int
	// SweepWindow bounds the advance sweep to records changed this recently (older active
	// exports are stuck: cleanup's stale sweep owns them).
	SweepWindow time.Duration
	// SnapshotGrace is how long a snapshot that Describe cannot find yet is given before the
	// export fails (describe calls are eventually consistent).
	SnapshotGrace time.Duration
}

// Starter runs start-export's steps. Build it with New; it is safe for concurrent use.
type Starter struct {
	opts    Options
	ec      ElastiCacheAPI
	m       *export.Machine
	log     *slog.Logger
	metrics *telemetry.Metrics
}

// New returns a Starter. log and metrics may be nil (discarded).
func New(opts Options, ec ElastiCacheAPI, m *export.Machine, log *slog.Logger, metrics *telemetry.Metrics) *Starter {
	if opts.Prefix == "" {
		opts.Prefix = export.DefaultPrefix
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.MaxAttempts < 1 {
		opts.MaxAttempts = 1
	}
	if opts.SweepWindow <= 0 {
		opts.SweepWindow = 7 * time.Hour
	}
	if opts.SnapshotGrace <= 0 {
		opts.SnapshotGrace = 5 * time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Starter{opts: opts, ec: ec, m: m, log: log, metrics: metrics}
}

// ErrNotOurs is wrapped by Requested's error when the event names a record outside this
// deployment's bucket and prefix, or one that does not exist: acting on it again cannot help.
var ErrNotOurs = export.ErrNotOurs

// Outcome says what one step did to one export.
type Outcome string

// The outcomes a Result can report.
const (
	OutcomeSkipped   Outcome = "skipped"    // the cache cannot be exported (reason says why)
	OutcomeExists    Outcome = "exists"     // this window's export was begun already
	OutcomeFannedOut Outcome = "fanned-out" // Export Requested published for it
	OutcomeSnapshot  Outcome = "snapshotting"
	OutcomeStarted   Outcome = "started"   // the export to S3 was started
	OutcomeWaiting   Outcome = "waiting"   // nothing to do yet (reason says for what)
	OutcomeFailed    Outcome = "failed"    // moved to failed (reason is the code)
	OutcomeLostRace  Outcome = "lost-race" // another invocation moved it first
	OutcomeNothing   Outcome = "nothing"   // its stage is not start-export's business
	OutcomeError     Outcome = "error"     // could not act; Err says why
)

// Result is what happened to one cache or export.
type Result struct {
	Cache    string  `json:"cache"`
	ExportID string  `json:"export_id,omitempty"`
	Outcome  Outcome `json:"outcome"`
	Stage    string  `json:"stage,omitempty"`
	Reason   string  `json:"reason,omitempty"`
	Err      string  `json:"error,omitempty"`
	// Retry is true when running the invocation again would help (nothing else will pick it up).
	Retry bool `json:"-"`
}

// Summary is a per-target report of one invocation.
type Summary struct {
	Action  string         `json:"action"`
	Window  string         `json:"window,omitempty"`
	Results []Result       `json:"results"`
	Counts  map[string]int `json:"counts"`
}

// Retry reports whether any result would be helped by running the invocation again.
func (s *Summary) Retry() bool {
	for _, r := range s.Results {
		if r.Retry {
			return true
		}
	}
	return false
}

func (s *Summary) add(r Result) {
	s.Results = append(s.Results, r)
	if s.Counts == nil {
		s.Counts = map[string]int{}
	}
	s.Counts[string(r.Outcome)]++
}

// Window is the scheduled tick: it finds the targets and begins one export per exportable cache
// for the window of at (the schedule's own time, not when the tick ran). A cache whose export for
// the window exists already is moved on if it is waiting, and otherwise left alone. Above the
// fan-out threshold each new export is handed to its own invocation through Export Requested.
// The error is non-nil only when discovery failed; per-target failures are in the summary.
func (s *Starter) Window(ctx context.Context, at time.Time) (*Summary, error) {
	sum := &Summary{Action: "window", Window: export.Window(at)}
	found, err := targets.Discover(ctx, s.ec, s.opts.Filter)
	if err != nil {
		return sum, fmt.Errorf("find targets: %w", err)
	}
	var todo []targets.Target
	for _, t := range found {
		if t.Skip != "" {
			s.log.Warn("cache cannot be exported", "cache", t.Cache.ID, "engine", t.Cache.Engine, "reason", t.Skip, "detail", t.SkipMessage)
			s.metrics.Count("TargetsSkipped", 1, map[string]string{"Reason": t.Skip})
			sum.add(Result{Cache: t.Cache.ID, Outcome: OutcomeSkipped, Reason: t.Skip})
			continue
		}
		todo = append(todo, t)
	}
	fanout := s.opts.FanoutThreshold > 0 && len(todo) > s.opts.FanoutThreshold
	lookup := staticLookup(found)
	s.each(ctx, len(todo), sum, func(ctx context.Context, i int) Result {
		return s.begin(ctx, todo[i], at, fanout, lookup)
	})
	s.log.Info("window tick done", "window", sum.Window, "targets", len(found), "fanout", fanout, "counts", sum.Counts)
	return sum, nil
}

func (s *Starter) begin(ctx context.Context, t targets.Target, at time.Time, fanout bool, lookup lookupFunc) Result {
	id, err := export.ScheduledID(t.Cache.ID, at)
	if err != nil {
		return Result{Cache: t.Cache.ID, Outcome: OutcomeError, Err: err.Error()}
	}
	e, err := s.m.Begin(ctx, export.NewExport{Prefix: s.opts.Prefix, ExportID: id, Window: export.Window(at), Cache: t.Cache, MaxAttempts: s.opts.MaxAttempts})
	switch {
	case errors.Is(err, export.ErrExists):
		l, lerr := export.NewLayout(s.opts.Prefix, t.Cache.ID, id)
		if lerr != nil {
			return Result{Cache: t.Cache.ID, ExportID: id, Outcome: OutcomeError, Err: lerr.Error()}
		}
		if e, err = s.m.Load(ctx, l.RecordKey()); err != nil {
			return s.errResult(t.Cache.ID, id, err)
		}
		if e.Stage != export.StageRequested && e.Stage != export.StageSnapshotting {
			return Result{Cache: t.Cache.ID, ExportID: id, Outcome: OutcomeExists, Stage: string(e.Stage)}
		}
	case err != nil:
		return s.errResult(t.Cache.ID, id, err)
	case fanout || e.Cache.Kind == export.KindMemcached:
		// A Memcached cluster has no snapshot: memcached-export, in the cache's VPC, dumps it
		// on Export Requested (the template routes kind memcached there).
		r := Result{Cache: t.Cache.ID, ExportID: id, Outcome: OutcomeFannedOut, Stage: string(e.Stage)}
		if err := s.m.Publish(ctx, e, export.DetailRequested); err != nil {
			// The record exists in requested: the advance sweep starts it without the event.
			s.log.Warn("export requested but not published", "export_id", id, "error", err)
			r.Err = err.Error()
		}
		return r
	}
	return s.step(ctx, e, lookup)
}

// Requested acts on an Export Requested event: it moves the export at d.RecordKey on from its
// current stage and attempt. The key must be a record under the configured bucket and prefix.
func (s *Starter) Requested(ctx context.Context, d export.Detail) (*Summary, error) {
	sum := &Summary{Action: "requested"}
	key, err := s.recordKey(d)
	if err != nil {
		return sum, err
	}
	e, err := s.m.Load(ctx, key)
	if err != nil {
		if errors.Is(err, export.ErrNotFound) {
			return sum, fmt.Errorf("export requested for %s, which has no record (%w): %w", key, ErrNotOurs, err)
		}
		r := s.errResult(d.Cache, d.ExportID, err)
		sum.add(r)
		return sum, nil
	}
	if e.Cache.Kind == export.KindMemcached {
		// memcached-export's event (the template routes kind memcached there); acting on it
		// here would only publish it again.
		sum.add(Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeNothing, Stage: string(e.Stage), Reason: "memcached-export"})
		return sum, nil
	}
	sum.add(s.step(ctx, e, s.oneLookup()))
	return sum, nil
}

// SnapshotCreated acts on a serverless "Snapshot Created" event: when the snapshot is one of
// cacheport's, the export waiting for it is moved on now rather than at the next advance tick.
// Other snapshots are ignored.
func (s *Starter) SnapshotCreated(ctx context.Context, snapshot string, at time.Time) (*Summary, error) {
	sum := &Summary{Action: "snapshot-created"}
	id, _, ok := export.ParseSnapshotName(snapshot)
	if !ok {
		s.log.Info("snapshot is not cacheport's; ignored", "snapshot", snapshot)
		return sum, nil
	}
	// A scheduled export id is CACHE-YYYYMMDD-HHMM, which names its record; any other id
	// (exports started by hand) is found by the sweep.
	if cache, ok := export.CacheOfScheduledID(id); ok {
		if l, err := export.NewLayout(s.opts.Prefix, cache, id); err == nil {
			if e, err := s.m.Load(ctx, l.RecordKey()); err == nil {
				sum.add(s.step(ctx, e, s.oneLookup()))
				return sum, nil
			}
		}
	}
	return s.Advance(ctx, at)
}

// Advance is the advance sweep: every export changed within the sweep window that waits in
// requested or snapshotting (or whose start must be retried) is moved on.
func (s *Starter) Advance(ctx context.Context, now time.Time) (*Summary, error) {
	sum := &Summary{Action: "advance"}
	refs, err := s.m.Store().List(ctx, s.opts.Prefix+"/")
	if err != nil {
		return sum, err
	}
	cutoff := now.Add(-s.opts.SweepWindow)
	var recent []export.RecordRef
	for _, r := range refs {
		if !r.LastModified.Before(cutoff) {
			recent = append(recent, r)
		}
	}
	lookup := s.discoverLookup()
	s.each(ctx, len(recent), sum, func(ctx context.Context, i int) Result {
		e, err := s.m.Load(ctx, recent[i].Key)
		if err != nil {
			return s.errResult("", "", err)
		}
		if e.Stage != export.StageRequested && e.Stage != export.StageSnapshotting {
			return Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeNothing, Stage: string(e.Stage)}
		}
		return s.step(ctx, e, lookup)
	})
	s.log.Info("advance sweep done", "records", len(refs), "recent", len(recent), "counts", sum.Counts)
	return sum, nil
}

// each runs fn for 0..n-1 with bounded concurrency and adds the results in order.
func (s *Starter) each(ctx context.Context, n int, sum *Summary, fn func(context.Context, int) Result) {
	results := make([]Result, n)
	sem := make(chan struct{}, s.opts.Concurrency)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = fn(ctx, i)
		}()
	}
	wg.Wait()
	for _, r := range results {
		sum.add(r)
	}
}

func (s *Starter) errResult(cache, id string, err error) Result {
	c := awserr.Classify(err)
	s.log.Error("export step failed", "cache", cache, "export_id", id, "class", c.String(), "error", err)
	s.metrics.Count("StepErrors", 1, map[string]string{"Class": c.String()})
	return Result{Cache: cache, ExportID: id, Outcome: OutcomeError, Err: err.Error(), Reason: c.String(), Retry: c.Retryable() || c == awserr.Unknown}
}

// recordKey checks that an event's record key is a record of this deployment (bucket, prefix).
func (s *Starter) recordKey(d export.Detail) (string, error) {
	if d.Bucket != "" && d.Bucket != s.opts.Bucket {
		return "", fmt.Errorf("event names bucket %q, this deployment exports to %q: %w", d.Bucket, s.opts.Bucket, ErrNotOurs)
	}
	l, rest, ok := export.ParseRecordKey(s.opts.Prefix, d.RecordKey)
	if !ok || rest != export.RecordName || (d.ExportID != "" && l.ExportID != d.ExportID) {
		return "", fmt.Errorf("event's record_key %q is not an export record under %s/: %w", d.RecordKey, s.opts.Prefix, ErrNotOurs)
	}
	return d.RecordKey, nil
}
