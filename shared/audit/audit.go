// Package audit is the test plan of the control "cache data is exported to S3": for every cache
// in scope (targets.Discover with the deployment's filter), its newest verified export, that
// export's age against the recovery point objective, and a verdict. The CLI's `cacheport audit`
// and the audit function run the same Run; the function also publishes one Audit Finding per
// non-compliant cache (Publish) and emits the ages as metrics for the stale-export alarm.
//
// The audit only reads: ElastiCache Describe* and ListTagsForResource (through Discover), the
// snapshots of a cache that is not compliant (DescribeSnapshots, DescribeServerlessCacheSnapshots:
// whether ElastiCache holds a backup that was not exported says where to look), and the export
// records (through export.Store). It never writes a record.
package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"

	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/targets"
	"github.com/cacheport/cacheport/shared/telemetry"
)

// Verdict is the audit's judgement of one cache.
type Verdict string

// The verdicts.
const (
	// Compliant: the newest verified export is no older than the RPO.
	Compliant Verdict = "compliant"
	// Stale: the newest verified export is older than the RPO, and the newest attempt did not
	// fail (it is under way, or was cancelled).
	Stale Verdict = "stale"
	// Never: the cache has no verified export at all, and no failed attempt.
	Never Verdict = "never"
	// Failing: no verified export within the RPO and the newest export attempt failed
	// (failed, cleaned awaiting its retry, or abandoned).
	Failing Verdict = "failing"
	// Unprotected: cacheport cannot export the cache (Memcached before its exporter lands, data
	// tiering, a node type without backups) or a configured cache id matches no cache.
	Unprotected Verdict = "unprotected"
)

// Modes of a cache, as the audit reports them.
const (
	ModeServerless          = "serverless"
	ModeClusterModeEnabled  = "cluster-mode-enabled"
	ModeClusterModeDisabled = "cluster-mode-disabled"
	ModeNodeBased           = "node-based" // Memcached
)

// Metric names the audit emits (namespace telemetry.Namespace).
const (
	// MetricExportAge is one cache's newest verified export age in seconds (dimension Cache);
	// a cache with no verified export emits none.
	MetricExportAge = "VerifiedExportAge"
	// MetricMaxExportAge is the oldest of the newest verified exports of the caches cacheport can
	// export (no Cache dimension): what the stale-export alarm watches. It is not emitted when any
	// such cache has never been verified, or when no cache is in scope: the alarm treats the
	// missing data as breaching.
	MetricMaxExportAge = "MaxVerifiedExportAge"
	// MetricNonCompliant counts the caches whose verdict is not compliant.
	MetricNonCompliant = "NonCompliantCaches"
)

// Options are the audit's settings.
type Options struct {
	Bucket string
	Prefix string
	Filter targets.Filter
	// RPO is the age beyond which a cache's newest verified export is stale.
	RPO time.Duration
	// Concurrency bounds the caches whose records are read at once (at least 1).
	Concurrency int
}

// OptionsFrom maps the validated settings onto the audit's options: the same target filter as
// start-export, so that the audit judges exactly the caches the deployment exports.
func OptionsFrom(c config.Config) Options {
	return Options{
		Bucket:      c.Bucket,
		Prefix:      c.Prefix,
		Filter:      targets.Filter{IDs: c.TargetIDs, TagKey: c.TagKey, TagValue: c.TagValue, Engines: c.Engines},
		RPO:         c.RPO,
		Concurrency: c.Concurrency,
	}
}

// LastExport is a cache's newest verified export.
type LastExport struct {
	ExportID   string    `json:"export_id"`
	VerifiedAt time.Time `json:"verified_at"`
	// Location is s3://BUCKET/P/CACHE/EXPORT_ID/, the folder holding the record, the manifest
	// and the data.
	Location string `json:"location"`
	// Bytes is the size of the export's objects.
	Bytes int64 `json:"bytes"`
}

// ElastiCacheAPI is the part of the ElastiCache client the audit calls. *elasticache.Client
// satisfies it.
type ElastiCacheAPI interface {
	targets.API
	targets.SnapshotAPI
}

var _ ElastiCacheAPI = (*elasticache.Client)(nil)

// Snapshot is the newest available snapshot ElastiCache holds of a cache, automatic or manual.
type Snapshot struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Automated bool      `json:"automated"`
}

// Attempt is a cache's newest export (by creation), whatever its stage.
type Attempt struct {
	ExportID  string       `json:"export_id"`
	Stage     export.Stage `json:"stage"`
	Attempt   int          `json:"attempt"`
	Error     string       `json:"error,omitempty"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// Row is the audit of one cache.
type Row struct {
	Cache  string      `json:"cache"`
	Kind   export.Kind `json:"kind,omitempty"`
	Engine string      `json:"engine"`
	Mode   string      `json:"mode"`
	// LastVerifiedExport is nil (JSON null) when the cache has none.
	LastVerifiedExport *LastExport `json:"last_verified_export"`
	// AgeSeconds is the newest verified export's age; nil (JSON null) when there is none.
	AgeSeconds *int64  `json:"age_seconds"`
	Verdict    Verdict `json:"verdict"`
	Reason     string  `json:"reason"`
	// Latest is the newest export of the cache when it is not LastVerifiedExport (one under
	// way, failed or cancelled); nil otherwise.
	Latest *Attempt `json:"latest_export,omitempty"`
	// NewestSnapshot is, for a cache that is not compliant, the newest available snapshot
	// ElastiCache holds of it (nil when there is none, or it could not be read).
	NewestSnapshot *Snapshot `json:"newest_snapshot,omitempty"`
}

// Compliant reports whether the row's verdict is compliant.
func (r Row) Compliant() bool { return r.Verdict == Compliant }

// Report is one audit.
type Report struct {
	CheckedAt  time.Time       `json:"checked_at"`
	RPOSeconds int64           `json:"rpo_seconds"`
	Bucket     string          `json:"bucket"`
	Prefix     string          `json:"prefix"`
	Rows       []Row           `json:"caches"`
	Counts     map[Verdict]int `json:"counts"`
}

// Compliant reports whether every cache in the report is compliant (and there is at least one:
// an audit that finds nothing to judge proves nothing).
func (r *Report) Compliant() bool {
	return len(r.Rows) > 0 && r.Counts[Compliant] == len(r.Rows)
}

// NonCompliant returns the rows whose verdict is not compliant, in the report's order.
func (r *Report) NonCompliant() []Row {
	var out []Row
	for _, row := range r.Rows {
		if !row.Compliant() {
			out = append(out, row)
		}
	}
	return out
}

// Auditor runs the audit. Build it with New; it is safe for concurrent use when its clients are.
type Auditor struct {
	opts    Options
	ec      ElastiCacheAPI
	store   *export.Store
	log     *slog.Logger
	metrics *telemetry.Metrics
}

// New returns an Auditor reading caches through ec and records through store. log and metrics
// may be nil (discarded).
func New(opts Options, ec ElastiCacheAPI, store *export.Store, log *slog.Logger, metrics *telemetry.Metrics) *Auditor {
	if opts.Prefix == "" {
		opts.Prefix = export.DefaultPrefix
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.RPO <= 0 {
		opts.RPO = config.DefaultRPO
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Auditor{opts: opts, ec: ec, store: store, log: log, metrics: metrics}
}

// Run audits every cache in scope at time now and emits the age metrics. Its error is non-nil
// only when the caches or the records cannot be listed; a record that cannot be read makes its
// cache's row say so (verdict by what could be read) rather than failing the audit.
func (a *Auditor) Run(ctx context.Context, now time.Time) (*Report, error) {
	now = now.UTC()
	ts, err := targets.Discover(ctx, a.ec, a.opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("discover caches: %w", err)
	}
	refs, err := a.store.List(ctx, a.opts.Prefix+"/")
	if err != nil {
		return nil, fmt.Errorf("list export records in s3://%s/%s/: %w", a.store.Bucket(), a.opts.Prefix, err)
	}
	byCache := map[string][]string{}
	for _, r := range refs {
		l, rest, ok := export.ParseRecordKey(a.opts.Prefix, r.Key)
		if ok && rest == export.RecordName {
			byCache[l.CacheID] = append(byCache[l.CacheID], r.Key)
		}
	}
	rep := &Report{CheckedAt: now, RPOSeconds: int64(a.opts.RPO / time.Second), Bucket: a.store.Bucket(), Prefix: a.opts.Prefix,
		Rows: make([]Row, len(ts)), Counts: map[Verdict]int{}}
	sem := make(chan struct{}, a.opts.Concurrency)
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rep.Rows[i] = a.judge(ctx, t, byCache[strings.ToLower(t.Cache.ID)], now)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, r := range rep.Rows {
		rep.Counts[r.Verdict]++
	}
	a.emit(rep)
	return rep, nil
}

// judge reads a cache's records and gives its verdict.
func (a *Auditor) judge(ctx context.Context, t targets.Target, keys []string, now time.Time) Row {
	row := Row{Cache: t.Cache.ID, Kind: t.Cache.Kind, Engine: t.Cache.Engine, Mode: mode(t.Cache)}
	if t.Skip != "" && t.Skip != targets.SkipNotAvailable {
		row.Verdict, row.Reason = Unprotected, t.Skip
		if t.SkipMessage != "" {
			row.Reason += ": " + t.SkipMessage
		}
		return row
	}
	var (
		verified, latest *export.Export
		verifiedAt       time.Time
		unread           []string
	)
	for _, k := range keys {
		e, err := a.loadRecord(ctx, k)
		if err != nil {
			a.log.Warn("audit cannot read an export record", "cache", t.Cache.ID, "key", k, "error", err)
			unread = append(unread, k)
			continue
		}
		if latest == nil || newer(e, latest) {
			latest = e
		}
		if e.Stage == export.StageVerified {
			if at := verifiedTime(e); verified == nil || at.After(verifiedAt) {
				verified, verifiedAt = e, at
			}
		}
	}
	if verified != nil {
		age := int64(now.Sub(verifiedAt) / time.Second)
		row.AgeSeconds = &age
		row.LastVerifiedExport = &LastExport{
			ExportID:   verified.ExportID,
			VerifiedAt: verifiedAt,
			Location:   "s3://" + cmp.Or(verified.Bucket, a.store.Bucket()) + "/" + verified.Layout().Dir(),
			Bytes:      size(verified),
		}
	}
	if latest != nil && latest != verified {
		row.Latest = &Attempt{ExportID: latest.ExportID, Stage: latest.Stage, Attempt: latest.Attempt, UpdatedAt: latest.UpdatedAt}
		if latest.Error != nil {
			row.Latest.Error = latest.Error.Code
		}
	}
	rpo := a.opts.RPO
	switch {
	case verified != nil && now.Sub(verifiedAt) <= rpo:
		row.Verdict = Compliant
		row.Reason = fmt.Sprintf("verified %s ago (RPO %s)", human(now.Sub(verifiedAt)), human(rpo))
	case row.Latest != nil && failed(latest.Stage):
		row.Verdict = Failing
		row.Reason = fmt.Sprintf("newest export %s is %s", latest.ExportID, latest.Stage)
		if latest.Error != nil {
			row.Reason += " (" + latest.Error.Code + ")"
		}
		if verified != nil {
			row.Reason += fmt.Sprintf("; last verified export is %s old (RPO %s)", human(now.Sub(verifiedAt)), human(rpo))
		} else {
			row.Reason += "; never verified"
		}
	case verified != nil:
		row.Verdict = Stale
		row.Reason = fmt.Sprintf("newest verified export is %s old (RPO %s)", human(now.Sub(verifiedAt)), human(rpo))
	default:
		row.Verdict = Never
		row.Reason = "no verified export"
	}
	if row.Verdict != Compliant && row.Latest != nil && (row.Latest.Stage.Active() || row.Latest.Stage == export.StageRequested) {
		row.Reason += fmt.Sprintf("; export %s is %s", row.Latest.ExportID, row.Latest.Stage)
	}
	if t.Skip == targets.SkipNotAvailable && row.Verdict != Compliant {
		row.Reason += "; the cache is " + cmp.Or(t.Status, "not available") + ", so no export can start now"
	}
	if len(unread) > 0 {
		row.Reason += fmt.Sprintf("; %d export record(s) could not be read", len(unread))
	}
	if row.Verdict != Compliant {
		a.snapshotContext(ctx, t, &row, now)
	}
	return row
}

// snapshotContext adds the newest snapshot ElastiCache holds of a cache that is not compliant:
// a backup that exists but was not exported points at the export, none at the cache's backups.
func (a *Auditor) snapshotContext(ctx context.Context, t targets.Target, row *Row, now time.Time) {
	s, err := a.newestSnapshot(ctx, t)
	switch {
	case err != nil:
		a.log.Warn("audit cannot list the cache's snapshots", "cache", t.Cache.ID, "error", err)
	case s == nil:
		row.Reason += "; ElastiCache holds no snapshot of it either"
	default:
		row.NewestSnapshot = s
		kind := "manual"
		if s.Automated {
			kind = "automatic"
		}
		row.Reason += fmt.Sprintf("; newest ElastiCache snapshot %s (%s) is %s old", s.Name, kind, human(now.Sub(s.CreatedAt)))
	}
}

// newestSnapshot returns the newest available snapshot of t, or nil.
func (a *Auditor) newestSnapshot(ctx context.Context, t targets.Target) (*Snapshot, error) {
	var best *Snapshot
	consider := func(name string, at time.Time, automated bool) {
		if !at.IsZero() && (best == nil || at.After(best.CreatedAt)) {
			best = &Snapshot{Name: name, CreatedAt: at.UTC(), Automated: automated}
		}
	}
	switch t.Cache.Kind {
	case export.KindServerless:
		p := elasticache.NewDescribeServerlessCacheSnapshotsPaginator(a.ec, &elasticache.DescribeServerlessCacheSnapshotsInput{ServerlessCacheName: aws.String(t.Cache.ID)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, s := range out.ServerlessCacheSnapshots {
				if aws.ToString(s.Status) == targets.StatusAvailable {
					consider(aws.ToString(s.ServerlessCacheSnapshotName), aws.ToTime(s.CreateTime), aws.ToString(s.SnapshotType) == "automated")
				}
			}
		}
	case export.KindReplicationGroup, export.KindCacheCluster:
		in := &elasticache.DescribeSnapshotsInput{CacheClusterId: aws.String(t.Cache.ID)}
		if t.Cache.Kind == export.KindReplicationGroup {
			in = &elasticache.DescribeSnapshotsInput{ReplicationGroupId: aws.String(t.Cache.ID)}
		}
		p := elasticache.NewDescribeSnapshotsPaginator(a.ec, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, s := range out.Snapshots {
				if aws.ToString(s.SnapshotStatus) != targets.StatusAvailable {
					continue
				}
				// A snapshot's time is when its first node snapshot began (as ChooseSource reads it).
				var at time.Time
				for _, n := range s.NodeSnapshots {
					if c := aws.ToTime(n.SnapshotCreateTime); !c.IsZero() && (at.IsZero() || c.Before(at)) {
						at = c
					}
				}
				consider(aws.ToString(s.SnapshotName), at, aws.ToString(s.SnapshotSource) == "automated")
			}
		}
	}
	return best, nil
}

func (a *Auditor) loadRecord(ctx context.Context, key string) (*export.Export, error) {
	rec, etag, err := a.store.Load(ctx, key)
	if err != nil {
		return nil, err
	}
	return &export.Export{Key: key, ETag: etag, Record: *rec}, nil
}

// emit writes the age metrics (see the Metric* constants).
func (a *Auditor) emit(rep *Report) {
	if a.metrics == nil {
		return
	}
	var (
		maxAge  int64
		missing bool
		judged  int
	)
	for _, r := range rep.Rows {
		if r.Verdict == Unprotected {
			continue
		}
		judged++
		if r.AgeSeconds == nil {
			missing = true
			continue
		}
		a.metrics.Emit(MetricExportAge, float64(*r.AgeSeconds), telemetry.Seconds, map[string]string{"Cache": r.Cache})
		maxAge = max(maxAge, *r.AgeSeconds)
	}
	if judged > 0 && !missing {
		a.metrics.Emit(MetricMaxExportAge, float64(maxAge), telemetry.Seconds, nil)
	}
	a.metrics.Count(MetricNonCompliant, len(rep.NonCompliant()), nil)
}

// Publisher is what Publish needs of *export.Publisher.
type Publisher interface {
	Publish(ctx context.Context, detailType string, d export.Detail) error
}

var _ Publisher = (*export.Publisher)(nil)

// Publish puts one Audit Finding per non-compliant cache of rep on the bus. The event's reason
// starts with the verdict and carries the age ("stale: newest verified export is 30h0m old
// (RPO 26h0m); age_seconds=108000"); export_id and record_key name the newest verified export,
// else the newest attempt, else are empty. It publishes every finding it can and returns the
// errors joined.
func Publish(ctx context.Context, pub Publisher, rep *Report) (int, error) {
	var errs []error
	n := 0
	for _, r := range rep.NonCompliant() {
		d := export.Detail{Cache: r.Cache, Kind: r.Kind, Engine: r.Engine, Bucket: rep.Bucket, Prefix: rep.Prefix,
			Reason: FindingReason(r)}
		switch {
		case r.LastVerifiedExport != nil:
			d.ExportID, d.Stage = r.LastVerifiedExport.ExportID, export.StageVerified
		case r.Latest != nil:
			d.ExportID, d.Stage, d.Attempt = r.Latest.ExportID, r.Latest.Stage, r.Latest.Attempt
		}
		if d.ExportID != "" {
			if l, err := export.NewLayout(rep.Prefix, r.Cache, d.ExportID); err == nil {
				d.RecordKey = l.RecordKey()
			}
		}
		if err := pub.Publish(ctx, export.DetailAudit, d); err != nil {
			errs = append(errs, fmt.Errorf("audit finding for %s: %w", r.Cache, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// FindingReason is the reason an Audit Finding carries for r: the verdict, the row's reason
// and the age in seconds when there is one.
func FindingReason(r Row) string {
	s := string(r.Verdict) + ": " + r.Reason
	if r.AgeSeconds != nil {
		s += fmt.Sprintf("; age_seconds=%d", *r.AgeSeconds)
	}
	return s
}

func mode(c export.Cache) string {
	switch {
	case c.Kind == "":
		return ""
	case c.Kind == export.KindServerless:
		return ModeServerless
	case c.Kind == export.KindMemcached || c.Engine == targets.EngineMemcached:
		return ModeNodeBased
	case c.ClusterMode:
		return ModeClusterModeEnabled
	}
	return ModeClusterModeDisabled
}

// failed reports whether the newest attempt in stage s failed: moved to failed, cleaned up after
// a failure (a retry may follow), or abandoned.
func failed(s export.Stage) bool {
	return s == export.StageFailed || s == export.StageCleaned || s == export.StageAbandoned
}

// newer reports whether a was created after b (ties: the later update, then the export id).
func newer(a, b *export.Export) bool {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c > 0
	}
	if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
		return c > 0
	}
	return a.ExportID > b.ExportID
}

// verifiedTime is when e entered verified: its history says; the record's last update stands in
// for a record without that entry.
func verifiedTime(e *export.Export) time.Time {
	for _, h := range slices.Backward(e.History) {
		if h.Stage == export.StageVerified {
			return h.At.UTC()
		}
	}
	return e.UpdatedAt.UTC()
}

func size(e *export.Export) int64 {
	var n int64
	for _, o := range e.Objects {
		n += o.Size
	}
	return n
}

// human formats a duration to the minute in hours and minutes: 30h5m, 26h, 45m (seconds below
// a minute).
func human(d time.Duration) string {
	if d < time.Minute {
		return d.Truncate(time.Second).String()
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}
