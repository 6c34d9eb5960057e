// Package audit is the test plan of the control "cache data is exported to S3": for every cache
// in scope (targets.Discover with the deployment's filter), its newest verified export, that
// export's age against the recovery point objective, and a verdict. The CLI's `cacheport audit`
// and the audit function run the same Run; the function also publishes one Audit Finding per
// non-compliant cache (Publish) and emits the ages as metrics for the stale-export alarm.
//
// The audit only reads: ElastiCache Describe* and ListTagsForResource (through Discover) and
// the export records (through export.Store). It never writes a record.
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
	ec      targets.API
	store   *export.Store
	log     *slog.Logger
	metrics *telemetry.Metrics
}

// New returns an Auditor reading caches through ec and records through store. log and metrics
// may be nil (discarded).
func New(opts Options, ec targets.API, store *export.Store, log *slog.Logger, metrics *telemetry.Metrics) *Auditor {
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
	return row
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
