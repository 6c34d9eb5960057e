// Package cleanup is cleanup-export's domain: it removes what a failed, stuck or cancelled
// export wrote (every object version of the dead attempt and the snapshot cacheport made for it),
// asks the state machine for the next attempt or abandons the export, deletes late objects of dead
// attempts, and after a verified export drops cacheport's snapshot and applies retention.
//
// Nothing is deleted before it is proved cacheport's: an object must lie in a dead attempt's keys
// as the export's record says, a snapshot must carry cacheport's name and tags and must not be an
// automatic backup. Only verified exports ever expire, and the newest RetainLast of each cache
// never do. Every record write goes through export.Machine, whose conditional writes decide
// races: a lost race is reported, not an error.
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/telemetry"
)

// S3API is the part of the S3 client cleanup-export calls: the record store's calls (records are
// read and written only through export.Machine) and the versioned listing and deletes.
type S3API interface {
	export.ObjectAPI
	ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, opts ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// ElastiCacheAPI is the part of the ElastiCache client cleanup-export calls.
type ElastiCacheAPI interface {
	DescribeSnapshots(ctx context.Context, in *elasticache.DescribeSnapshotsInput, opts ...func(*elasticache.Options)) (*elasticache.DescribeSnapshotsOutput, error)
	DescribeServerlessCacheSnapshots(ctx context.Context, in *elasticache.DescribeServerlessCacheSnapshotsInput, opts ...func(*elasticache.Options)) (*elasticache.DescribeServerlessCacheSnapshotsOutput, error)
	ListTagsForResource(ctx context.Context, in *elasticache.ListTagsForResourceInput, opts ...func(*elasticache.Options)) (*elasticache.ListTagsForResourceOutput, error)
	DeleteSnapshot(ctx context.Context, in *elasticache.DeleteSnapshotInput, opts ...func(*elasticache.Options)) (*elasticache.DeleteSnapshotOutput, error)
	DeleteServerlessCacheSnapshot(ctx context.Context, in *elasticache.DeleteServerlessCacheSnapshotInput, opts ...func(*elasticache.Options)) (*elasticache.DeleteServerlessCacheSnapshotOutput, error)
}

var _ ElastiCacheAPI = (*elasticache.Client)(nil)

// Defaults of the options config does not carry.
const (
	// DefaultBackoff is the delay before attempt 2; each later attempt waits twice as long.
	DefaultBackoff = 5 * time.Minute
	// DefaultMaxBackoff caps the delay before an attempt.
	DefaultMaxBackoff = 2 * time.Hour
	// DefaultLateWindow is how long after its record last changed the stale sweep still lists
	// an export's dead attempts for late objects and snapshots left in a transitional state.
	DefaultLateWindow = 48 * time.Hour
)

// Options are cleanup-export's settings (from config.Config, see OptionsFrom). New fills the
// zero ones with their defaults.
type Options struct {
	Bucket string
	Prefix string
	// StaleAfter: an active export not verified this long after its attempt started is stuck.
	StaleAfter time.Duration
	// RetainLast verified exports per cache are kept whatever their age (at least 1).
	RetainLast int
	// RetainMaxAge: verified exports beyond the last RetainLast expire once older than this.
	RetainMaxAge time.Duration
	// KeepSnapshots is how many of a cache's newest verified exports keep cacheport's snapshot.
	KeepSnapshots int
	// Backoff is the delay before attempt 2 (DefaultBackoff); it doubles for each later
	// attempt, up to MaxBackoff (DefaultMaxBackoff).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// LateWindow: the stale sweep lists the dead attempts of exports whose record changed this
	// recently (DefaultLateWindow).
	LateWindow time.Duration
	// Concurrency bounds the exports the stale sweep and retention handle at once.
	Concurrency int
	// DryRun reports what would be deleted and written, and deletes and writes nothing.
	DryRun bool
}

// OptionsFrom maps the validated settings onto cleanup-export's options.
func OptionsFrom(c config.Config) Options {
	return Options{
		Bucket: c.Bucket, Prefix: c.Prefix, StaleAfter: c.StaleAfter, RetainLast: c.RetainLast,
		RetainMaxAge: c.RetainMaxAge, KeepSnapshots: c.KeepSnapshots, Concurrency: c.Concurrency,
	}
}

// Cleaner runs cleanup-export's steps. Build it with New; it is safe for concurrent use.
type Cleaner struct {
	opts    Options
	s3      S3API
	ec      ElastiCacheAPI
	m       *export.Machine
	log     *slog.Logger
	metrics *telemetry.Metrics
}

// New returns a Cleaner. log and metrics may be nil (discarded). Zero options take their
// defaults (config's for the settings it carries).
func New(opts Options, s3api S3API, ec ElastiCacheAPI, m *export.Machine, log *slog.Logger, metrics *telemetry.Metrics) *Cleaner {
	if opts.Prefix == "" {
		opts.Prefix = export.DefaultPrefix
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = config.DefaultStaleAfter
	}
	if opts.RetainLast < 1 {
		opts.RetainLast = 1 // never 0: the last good export must survive any run of failures
	}
	if opts.RetainMaxAge <= 0 {
		opts.RetainMaxAge = config.DefaultRetainMaxAge
	}
	if opts.KeepSnapshots < 0 {
		opts.KeepSnapshots = 0
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.LateWindow <= 0 {
		opts.LateWindow = DefaultLateWindow
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cleaner{opts: opts, s3: s3api, ec: ec, m: m, log: log, metrics: metrics}
}

// ErrNotOurs is wrapped by an error when the event names a bucket, record or key outside this
// deployment (another bucket, another prefix, a record that does not exist): acting on it again
// cannot help, and nothing was deleted.
var ErrNotOurs = export.ErrNotOurs

// Outcome says what one step did to one export.
type Outcome string

// The outcomes a Result can report.
const (
	// OutcomeCleaned: the failed attempt was removed, the export moved to cleaned and on to its
	// next attempt (Stage requested).
	OutcomeCleaned Outcome = "cleaned"
	// OutcomeAbandoned: the failed attempt was removed and no attempt was left.
	OutcomeAbandoned Outcome = "abandoned"
	// OutcomeRetryLater: something cannot be removed yet (a snapshot in a transitional state);
	// what could be removed was, and the export stays where it is for the sweep.
	OutcomeRetryLater Outcome = "retry-later"
	// OutcomeRemoved: leftovers of dead attempts were removed (cancel, late objects, sweep).
	OutcomeRemoved Outcome = "removed"
	// OutcomeExpired: a verified export was removed by retention.
	OutcomeExpired Outcome = "expired"
	// OutcomeKept: what the event points at is live or verified: nothing may be deleted.
	OutcomeKept Outcome = "kept"
	// OutcomeNothing: nothing to do (already done, or not cleanup's business in this stage).
	OutcomeNothing Outcome = "nothing"
	// OutcomeRefused: the event points at something cacheport does not own; nothing deleted.
	OutcomeRefused Outcome = "refused"
	// OutcomeLostRace: another invocation moved the export first.
	OutcomeLostRace Outcome = "lost-race"
	// OutcomeError: could not act; Err says why.
	OutcomeError Outcome = "error"
)

// Result is what happened to one export (or one object or snapshot an event named).
type Result struct {
	Cache    string  `json:"cache,omitempty"`
	ExportID string  `json:"export_id,omitempty"`
	Attempt  int     `json:"attempt,omitempty"`
	Outcome  Outcome `json:"outcome"`
	Stage    string  `json:"stage,omitempty"`
	Reason   string  `json:"reason,omitempty"`
	Err      string  `json:"error,omitempty"`
	// Deleted lists the object versions ("key?versionId=ID") and snapshots ("snapshot NAME")
	// deleted, or that would be in a dry run.
	Deleted []string `json:"deleted,omitempty"`
	// Refused lists what was found but is not cacheport's to delete, with why.
	Refused []string `json:"refused,omitempty"`
	// Retry is true when running the invocation again would help (nothing else picks it up).
	Retry bool `json:"-"`
}

// Summary is a per-export report of one invocation.
type Summary struct {
	Action  string         `json:"action"`
	DryRun  bool           `json:"dry_run,omitempty"`
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

func (c *Cleaner) summary(action string) *Summary {
	return &Summary{Action: action, DryRun: c.opts.DryRun, Results: []Result{}, Counts: map[string]int{}}
}

// each runs fn for 0..n-1 with bounded concurrency and adds the results in order.
func (c *Cleaner) each(ctx context.Context, n int, sum *Summary, fn func(context.Context, int) []Result) {
	results := make([][]Result, n)
	sem := make(chan struct{}, c.opts.Concurrency)
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
	for _, rs := range results {
		for _, r := range rs {
			sum.add(r)
		}
	}
}

// result starts the result of a step on e.
func result(e *export.Export) Result {
	return Result{Cache: e.Cache.ID, ExportID: e.ExportID, Attempt: e.Attempt, Stage: string(e.Stage)}
}

func (c *Cleaner) errResult(r Result, err error) Result {
	cl := awserr.Classify(err)
	c.log.Error("cleanup step failed", "cache", r.Cache, "export_id", r.ExportID, "stage", r.Stage, "class", cl.String(), "error", err)
	c.metrics.Count("CleanupErrors", 1, map[string]string{"Class": cl.String()})
	r.Outcome, r.Err, r.Reason = OutcomeError, err.Error(), cl.String()
	r.Retry = cl.Retryable() || cl == awserr.Unknown
	return r
}

func (c *Cleaner) refused(r Result, why string) Result {
	c.log.Warn("refused: not cacheport's to delete", "cache", r.Cache, "export_id", r.ExportID, "stage", r.Stage, "reason", why)
	c.metrics.Count("CleanupRefused", 1, nil)
	r.Outcome, r.Reason = OutcomeRefused, why
	return r
}

// backoff is the delay before the attempt after attempt n: Backoff × 2^(n-1), capped.
func (c *Cleaner) backoff(n int) time.Duration {
	d := c.opts.Backoff
	for i := 1; i < n && d < c.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.opts.MaxBackoff)
}

// recordKey checks that an event's record key is a record of this deployment (bucket, prefix).
func (c *Cleaner) recordKey(d export.Detail) (string, error) {
	if d.Bucket != "" && d.Bucket != c.opts.Bucket {
		return "", fmt.Errorf("event names bucket %q, this deployment exports to %q: %w", d.Bucket, c.opts.Bucket, ErrNotOurs)
	}
	l, rest, ok := export.ParseRecordKey(c.opts.Prefix, d.RecordKey)
	if !ok || rest != export.RecordName || (d.ExportID != "" && l.ExportID != d.ExportID) {
		return "", fmt.Errorf("event's record_key %q is not an export record under %s/: %w", d.RecordKey, c.opts.Prefix, ErrNotOurs)
	}
	return d.RecordKey, nil
}

// load reads the record an event names; a missing record is ErrNotOurs.
func (c *Cleaner) load(ctx context.Context, d export.Detail) (*export.Export, error) {
	key, err := c.recordKey(d)
	if err != nil {
		return nil, err
	}
	e, err := c.m.Load(ctx, key)
	if errors.Is(err, export.ErrNotFound) {
		return nil, fmt.Errorf("event names %s, which has no record (%w): %w", key, ErrNotOurs, err)
	}
	return e, err
}
