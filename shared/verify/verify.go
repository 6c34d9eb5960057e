// Package verify is verify-export's domain: it decides when an export's objects are all there,
// proves each one (streamed from S3 through the RDB verifier: structure, CRC-64, key counts,
// SHA-256), writes manifest.json, and moves the export to verified or failed. It reads; it never
// creates, copies or deletes. Triggers are S3 Object Created, Export Started, Export Verifying
// and the reconcile sweep: events are best effort, so any of them, late, lost or duplicated,
// leads to the same end.
package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/telemetry"
)

// S3API is the part of the S3 client verify-export calls: list an attempt's objects, read them,
// write the manifest (records go through the export package).
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// SnapshotAPI is the part of the ElastiCache client verify-export calls.
type SnapshotAPI interface {
	DescribeSnapshots(ctx context.Context, in *elasticache.DescribeSnapshotsInput, opts ...func(*elasticache.Options)) (*elasticache.DescribeSnapshotsOutput, error)
	DescribeServerlessCacheSnapshots(ctx context.Context, in *elasticache.DescribeServerlessCacheSnapshotsInput, opts ...func(*elasticache.Options)) (*elasticache.DescribeServerlessCacheSnapshotsOutput, error)
}

var (
	_ S3API       = (*s3.Client)(nil)
	_ SnapshotAPI = (*elasticache.Client)(nil)
)

// Options are verify-export's settings.
type Options struct {
	Bucket string
	Prefix string
	// MissingGrace is how long an expected object may stay missing once the snapshot has left its
	// transitional state before the export fails (S3 listings can lag a write).
	MissingGrace time.Duration
	// Lease is how long an export in verifying belongs to the invocation that last saved it;
	// other triggers leave it alone meanwhile (Export Verifying continues it at once).
	Lease time.Duration
	// Headroom is kept free of the invocation's deadline to checkpoint and hand over.
	Headroom time.Duration
	// SweepWindow bounds the reconcile sweep to records changed this recently.
	SweepWindow time.Duration
	// PartSize and Parts set the read buffer budget (s3read.Options).
	PartSize int64
	Parts    int
	// Version is cacheport's version, written into manifests.
	Version string
}

func (o *Options) defaults() {
	if o.Prefix == "" {
		o.Prefix = export.DefaultPrefix
	}
	if o.MissingGrace <= 0 {
		o.MissingGrace = 30 * time.Minute
	}
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.Headroom <= 0 {
		o.Headroom = 30 * time.Second
	}
	if o.SweepWindow <= 0 {
		o.SweepWindow = 8 * time.Hour
	}
	if o.Version == "" {
		o.Version = "dev"
	}
}

// Verifier runs verify-export's steps. Build it with New; it is safe for concurrent use.
type Verifier struct {
	opts    Options
	s3      S3API
	ec      SnapshotAPI
	m       *export.Machine
	log     *slog.Logger
	metrics *telemetry.Metrics
	// checkKeys overrides how many keys go between deadline checks (tests); 0 means checkKeys.
	checkKeys int
}

// New returns a Verifier. log and metrics may be nil.
func New(opts Options, s3c S3API, ec SnapshotAPI, m *export.Machine, log *slog.Logger, metrics *telemetry.Metrics) *Verifier {
	opts.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Verifier{opts: opts, s3: s3c, ec: ec, m: m, log: log, metrics: metrics}
}

// Outcome says what one call did to one export.
type Outcome string

// Outcomes.
const (
	OutcomeWaiting   Outcome = "waiting"   // objects or the snapshot are not done yet
	OutcomeVerifying Outcome = "verifying" // all objects are there; proof started or continues
	OutcomeHandedOn  Outcome = "handed-on" // checkpointed, Export Verifying published
	OutcomeVerified  Outcome = "verified"
	OutcomeFailed    Outcome = "failed"
	OutcomeBusy      Outcome = "busy"    // another invocation holds the verification
	OutcomeNothing   Outcome = "nothing" // not verify-export's business (its stage, a foreign key)
	OutcomeLostRace  Outcome = "lost-race"
	OutcomeError     Outcome = "error"
)

// Result is what happened to one export.
type Result struct {
	ExportID string  `json:"export_id,omitempty"`
	Cache    string  `json:"cache,omitempty"`
	Outcome  Outcome `json:"outcome"`
	Stage    string  `json:"stage,omitempty"`
	Reason   string  `json:"reason,omitempty"`
	Object   string  `json:"object,omitempty"`
	Err      string  `json:"error,omitempty"`
	Retry    bool    `json:"-"`
}

// Summary reports one invocation.
type Summary struct {
	Action  string         `json:"action"`
	Results []Result       `json:"results"`
	Counts  map[string]int `json:"counts"`
}

func (s *Summary) add(r Result) {
	s.Results = append(s.Results, r)
	if s.Counts == nil {
		s.Counts = map[string]int{}
	}
	s.Counts[string(r.Outcome)]++
}

// Retry reports whether running the invocation again would help.
func (s *Summary) Retry() bool {
	for _, r := range s.Results {
		if r.Retry {
			return true
		}
	}
	return false
}

// ErrNotOurs is wrapped by errors about events naming records outside this deployment.
var ErrNotOurs = export.ErrNotOurs

// Started acts on Export Started (and Export Verifying, with continuing set): the export at
// d.RecordKey is checked for completion or its proof is continued.
func (v *Verifier) Started(ctx context.Context, key string, continuing bool) (*Summary, error) {
	sum := &Summary{Action: "started"}
	if continuing {
		sum.Action = "continue"
	}
	if _, rest, ok := export.ParseRecordKey(v.opts.Prefix, key); !ok || rest != export.RecordName {
		return sum, fmt.Errorf("record_key %q is not an export record under %s/: %w", key, v.opts.Prefix, ErrNotOurs)
	}
	e, err := v.m.Load(ctx, key)
	if err != nil {
		if errors.Is(err, export.ErrNotFound) {
			return sum, fmt.Errorf("%w: %w", ErrNotOurs, err)
		}
		sum.add(v.errResult(nil, err))
		return sum, nil
	}
	sum.add(v.step(ctx, e, continuing))
	return sum, nil
}

// ObjectCreated acts on S3's Object Created for key in bucket: when it belongs to an export
// being exported or verified, that export is checked. Other keys are ignored.
func (v *Verifier) ObjectCreated(ctx context.Context, bucket, key string) (*Summary, error) {
	sum := &Summary{Action: "object-created"}
	if bucket != v.opts.Bucket {
		return sum, fmt.Errorf("object in bucket %q, this deployment exports to %q: %w", bucket, v.opts.Bucket, ErrNotOurs)
	}
	recordKey, ok := v.recordOfObject(key)
	if !ok {
		v.log.Info("object is not part of an export; ignored", "key", key)
		sum.add(Result{Outcome: OutcomeNothing, Object: key})
		return sum, nil
	}
	e, err := v.m.Load(ctx, recordKey)
	if err != nil {
		if errors.Is(err, export.ErrNotFound) {
			sum.add(Result{Outcome: OutcomeNothing, Object: key, Reason: "no record"})
			return sum, nil
		}
		sum.add(v.errResult(nil, err))
		return sum, nil
	}
	sum.add(v.step(ctx, e, false))
	return sum, nil
}

// Reconcile is the sweep: every export changed within the sweep window that is exporting, or
// verifying with its lease expired, is checked. Lost events cannot leave an export unfinished.
func (v *Verifier) Reconcile(ctx context.Context, now time.Time) (*Summary, error) {
	sum := &Summary{Action: "reconcile"}
	refs, err := v.m.Store().List(ctx, v.opts.Prefix+"/")
	if err != nil {
		return sum, err
	}
	cutoff := now.Add(-v.opts.SweepWindow)
	for _, r := range refs {
		if r.LastModified.Before(cutoff) {
			continue
		}
		e, err := v.m.Load(ctx, r.Key)
		if err != nil {
			sum.add(v.errResult(nil, err))
			continue
		}
		if e.Stage != export.StageExporting && e.Stage != export.StageVerifying {
			continue
		}
		sum.add(v.step(ctx, e, false))
	}
	v.log.Info("reconcile sweep done", "records", len(refs), "counts", sum.Counts)
	return sum, nil
}

// recordOfObject maps an object key to its export's record key: P/CACHE/ID/aN/... directly; a
// serverless key (cacheport-ID-aN...) through its scheduled id (CACHE-YYYYMMDD-HHMM).
func (v *Verifier) recordOfObject(key string) (string, bool) {
	if l, rest, ok := export.ParseRecordKey(v.opts.Prefix, key); ok {
		if export.AttemptOf(rest) == 0 {
			return "", false
		}
		return l.RecordKey(), true
	}
	id, _, ok := export.ParseSnapshotName(firstSegment(key))
	if !ok {
		return "", false
	}
	cache, ok := export.CacheOfScheduledID(id)
	if !ok {
		return "", false // an export started by hand: the reconcile sweep finds it
	}
	l, err := export.NewLayout(v.opts.Prefix, cache, id)
	if err != nil {
		return "", false
	}
	return l.RecordKey(), true
}

// firstSegment returns the part of a serverless key that names the snapshot: up to the first
// '/', without a trailing -NNNN.rdb.
func firstSegment(key string) string {
	seg, _, _ := strings.Cut(key, "/")
	if i := strings.LastIndex(seg, "-"); i > 0 && strings.HasSuffix(seg, ".rdb") {
		seg = seg[:i]
	}
	return seg
}

func (v *Verifier) errResult(e *export.Export, err error) Result {
	c := awserr.Classify(err)
	r := Result{Outcome: OutcomeError, Err: err.Error(), Reason: c.String(), Retry: c.Retryable() || c == awserr.Unknown}
	if e != nil {
		r.ExportID, r.Cache, r.Stage = e.ExportID, e.Cache.ID, string(e.Stage)
	}
	v.log.Error("verify step failed", "export_id", r.ExportID, "class", c.String(), "error", err)
	return r
}

// moveErr turns a transition's error into a result (a lost race is no error).
func (v *Verifier) moveErr(e *export.Export, err error, ok Outcome) Result {
	var pe *export.PublishError
	switch {
	case errors.Is(err, export.ErrConflict):
		return Result{ExportID: e.ExportID, Cache: e.Cache.ID, Outcome: OutcomeLostRace}
	case errors.As(err, &pe):
		v.log.Warn("moved, event not published", "export_id", e.ExportID, "stage", e.Stage, "error", err)
		return Result{ExportID: e.ExportID, Cache: e.Cache.ID, Outcome: ok, Stage: string(e.Stage), Err: err.Error()}
	}
	return v.errResult(e, err)
}

// OptionsFrom maps the validated settings onto verify-export's options.
func OptionsFrom(c config.Config, version string) Options {
	return Options{Bucket: c.Bucket, Prefix: c.Prefix, SweepWindow: c.StaleAfter + c.StaleAfter/3, Version: version}
}
