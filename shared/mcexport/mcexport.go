// Package mcexport is memcached-export's domain: on Export Requested for a node-based Memcached
// cluster it finds the cluster's nodes, moves the export to exporting with one expected object
// per node, and dumps every node (package memcached) into its own S3 object
// P/CACHE/EXPORT_ID/aN/node-NAME.mcd through a multipart upload in bounded memory. verify-export
// proves the objects as they land; a dump that fails moves the export to failed, and
// cleanup-export removes what the attempt wrote.
package mcexport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/mcdump"
	"github.com/cacheport/cacheport/shared/memcached"
	"github.com/cacheport/cacheport/shared/telemetry"
)

// ElastiCacheAPI is the part of the ElastiCache client memcached-export calls.
type ElastiCacheAPI interface {
	DescribeCacheClusters(ctx context.Context, in *elasticache.DescribeCacheClustersInput, opts ...func(*elasticache.Options)) (*elasticache.DescribeCacheClustersOutput, error)
}

// S3API is the part of the S3 client the dump's multipart upload calls (PutObject for a dump
// that fits one part; AbortMultipartUpload when a dump fails).
type S3API = manager.UploadAPIClient

var (
	_ ElastiCacheAPI = (*elasticache.Client)(nil)
	_ S3API          = (*s3.Client)(nil)
)

// Defaults of Options.
const (
	DefaultSpoolDir    = "/tmp"
	DefaultPartSize    = 8 << 20 // S3's minimum part is 5 MiB
	DefaultConcurrency = 4
	// DefaultHeadroom is the part of the invocation's time kept back to record a failure.
	DefaultHeadroom = 30 * time.Second
)

// ContentType is the content type of a dump object.
const ContentType = "application/x-cacheport-memcached"

// Options are memcached-export's settings.
type Options struct {
	Bucket string
	Prefix string
	// SpoolDir holds each node's key listing while it is dumped (default DefaultSpoolDir).
	SpoolDir string
	// PartSize is the multipart upload's part size (default DefaultPartSize, at least 5 MiB);
	// memory is about PartSize × (UploadConcurrency + 1) per node dumped at once.
	PartSize int64
	// UploadConcurrency is how many parts of one object are uploaded at once (default 1).
	UploadConcurrency int
	// Concurrency is how many nodes are dumped at once (default DefaultConcurrency).
	Concurrency int
	// Dump tunes each node's dump (batch, rate caps, timeouts). Its Config.TLS is ignored: TLS
	// is used when the cluster has in-transit encryption, configured by TLS below.
	Dump memcached.Options
	// TLS is the TLS configuration for clusters with in-transit encryption (nil: the system's
	// roots, TLS 1.2 or later). ServerName is set per node.
	TLS *tls.Config
	// Headroom is the part of ctx's deadline kept back to record a failure (default
	// DefaultHeadroom).
	Headroom time.Duration
}

// Exporter runs memcached-export's step. Build it with New; it is safe for concurrent use.
type Exporter struct {
	opts    Options
	ec      ElastiCacheAPI
	s3      S3API
	m       *export.Machine
	log     *slog.Logger
	metrics *telemetry.Metrics
}

// New returns an Exporter. log and metrics may be nil (discarded).
func New(opts Options, ec ElastiCacheAPI, s3c S3API, m *export.Machine, log *slog.Logger, metrics *telemetry.Metrics) *Exporter {
	if opts.Prefix == "" {
		opts.Prefix = export.DefaultPrefix
	}
	if opts.SpoolDir == "" {
		opts.SpoolDir = DefaultSpoolDir
	}
	if opts.PartSize < manager.MinUploadPartSize {
		opts.PartSize = DefaultPartSize
	}
	if opts.UploadConcurrency < 1 {
		opts.UploadConcurrency = 1
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Headroom <= 0 {
		opts.Headroom = DefaultHeadroom
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Exporter{opts: opts, ec: ec, s3: s3c, m: m, log: log, metrics: metrics}
}

// ErrNotOurs is wrapped by Requested's error when the event names a record outside this
// deployment's bucket and prefix, or one that does not exist: acting on it again cannot help.
var ErrNotOurs = export.ErrNotOurs

// Outcome says what Requested did.
type Outcome string

// The outcomes of a Result.
const (
	OutcomeDumped   Outcome = "dumped"    // every node was dumped to S3; verify-export proves it
	OutcomeFailed   Outcome = "failed"    // moved to failed (Reason is the code)
	OutcomeWaiting  Outcome = "waiting"   // not now (Reason says why); start-export's advance sweep asks again
	OutcomeLostRace Outcome = "lost-race" // another invocation moved the export first
	OutcomeNothing  Outcome = "nothing"   // the export is not in requested, or not Memcached
	OutcomeError    Outcome = "error"     // could not act; Err says why
)

// NodeResult is what one node's dump did.
type NodeResult struct {
	Node       string `json:"node"`
	Key        string `json:"key"`
	Keys       int64  `json:"keys"`
	Vanished   int64  `json:"vanished"`
	ValueBytes int64  `json:"value_bytes"`
	DurationMS int64  `json:"duration_ms"`
	Err        string `json:"error,omitempty"`
}

// Result is what happened to the export.
type Result struct {
	Cache    string       `json:"cache"`
	ExportID string       `json:"export_id,omitempty"`
	Outcome  Outcome      `json:"outcome"`
	Stage    string       `json:"stage,omitempty"`
	Reason   string       `json:"reason,omitempty"`
	Err      string       `json:"error,omitempty"`
	Nodes    []NodeResult `json:"nodes,omitempty"`
	// Retry is true when running the invocation again would help.
	Retry bool `json:"-"`
}

// NodeKey is the key of a node's dump in an attempt (CONTRACTS.md's S3 layout).
func NodeKey(l export.Layout, attempt int, node string) string {
	return l.AttemptDir(attempt) + "node-" + strings.ToLower(node) + ".mcd"
}

// Requested acts on Export Requested for the record at d.RecordKey: when it is a Memcached
// export in requested, it is moved to exporting and every node dumped. The error is non-nil
// only for an event this deployment cannot act on (wrapping ErrNotOurs); everything else is in
// the Result.
func (x *Exporter) Requested(ctx context.Context, d export.Detail) (*Result, error) {
	key, err := x.recordKey(d)
	if err != nil {
		return nil, err
	}
	e, err := x.m.Load(ctx, key)
	if err != nil {
		if errors.Is(err, export.ErrNotFound) {
			return nil, fmt.Errorf("export requested for %s, which has no record (%w): %w", key, ErrNotOurs, err)
		}
		return x.errResult(d.Cache, d.ExportID, err), nil
	}
	res := &Result{Cache: e.Cache.ID, ExportID: e.ExportID, Stage: string(e.Stage)}
	switch {
	case e.Cache.Kind != export.KindMemcached:
		res.Outcome, res.Reason = OutcomeNothing, "not a memcached export"
		return res, nil
	case e.Stage != export.StageRequested:
		res.Outcome = OutcomeNothing
		return res, nil
	case x.m.Now().Before(e.NotBefore):
		res.Outcome, res.Reason = OutcomeWaiting, "back-off until "+e.NotBefore.Format("15:04:05Z")
		return res, nil
	}
	nodes, tlsOn, why, err := x.describe(ctx, e.Cache.ID)
	switch {
	case err != nil:
		return x.errResult(e.Cache.ID, e.ExportID, err), nil
	case why != nil && why.Code == "not-available":
		res.Outcome, res.Reason = OutcomeWaiting, why.Message
		return res, nil
	case why != nil:
		return x.fail(ctx, e, *why, nil), nil
	}
	return x.dumpAll(ctx, e, nodes, tlsOn), nil
}

// describe finds the cluster's nodes. why is set when the cluster cannot be dumped: code
// cache-missing, or not-available while it is not available or a node has no endpoint yet.
func (x *Exporter) describe(ctx context.Context, id string) (nodes []memcached.Node, tlsOn bool, why *export.Error, err error) {
	out, err := x.ec.DescribeCacheClusters(ctx, &elasticache.DescribeCacheClustersInput{CacheClusterId: aws.String(id), ShowCacheNodeInfo: aws.Bool(true)})
	if err != nil {
		if awserr.Classify(err) == awserr.NotFound {
			return nil, false, &export.Error{Code: "cache-missing", Message: fmt.Sprintf("cache %s no longer exists", id)}, nil
		}
		return nil, false, nil, fmt.Errorf("describe cache cluster %s: %w", id, err)
	}
	for _, c := range out.CacheClusters {
		if !strings.EqualFold(aws.ToString(c.CacheClusterId), id) {
			continue
		}
		if !strings.EqualFold(aws.ToString(c.Engine), "memcached") {
			return nil, false, &export.Error{Code: "not-memcached", Message: fmt.Sprintf("cache %s runs %s, not memcached", id, aws.ToString(c.Engine))}, nil
		}
		if st := aws.ToString(c.CacheClusterStatus); st != "available" {
			return nil, false, &export.Error{Code: "not-available", Message: "cache status is " + st}, nil
		}
		for _, n := range c.CacheNodes {
			if n.Endpoint == nil || aws.ToString(n.Endpoint.Address) == "" {
				return nil, false, &export.Error{Code: "not-available", Message: "node " + aws.ToString(n.CacheNodeId) + " has no endpoint yet"}, nil
			}
			addr := aws.ToString(n.Endpoint.Address) + ":" + strconv.Itoa(int(aws.ToInt32(n.Endpoint.Port)))
			nodes = append(nodes, memcached.Node{Name: aws.ToString(n.CacheNodeId), Addr: addr})
		}
		if len(nodes) == 0 {
			return nil, false, &export.Error{Code: "not-available", Message: "the cluster reports no nodes"}, nil
		}
		return nodes, aws.ToBool(c.TransitEncryptionEnabled), nil, nil
	}
	return nil, false, &export.Error{Code: "cache-missing", Message: fmt.Sprintf("cache %s no longer exists", id)}, nil
}

// dumpAll moves e to exporting and dumps every node, failing the export when one fails.
func (x *Exporter) dumpAll(ctx context.Context, e *export.Export, nodes []memcached.Node, tlsOn bool) *Result {
	l := e.Layout()
	target := l.AttemptDir(e.Attempt)
	expect := export.Expect{Target: target, Shards: len(nodes), KeyPrefix: target}
	for _, n := range nodes {
		expect.Keys = append(expect.Keys, NodeKey(l, e.Attempt, n.Name))
	}
	e.Cache.Shards = len(nodes)
	if err := x.m.Exporting(ctx, e, export.Source{}, target, expect, "memcached dump started"); err != nil {
		var pe *export.PublishError
		switch {
		case errors.Is(err, export.ErrConflict):
			x.log.Info("another invocation moved the export first", "export_id", e.ExportID)
			return &Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeLostRace}
		case errors.As(err, &pe):
			// The move stands: verify-export's reconcile finds the export without the event.
			x.log.Warn("moved, event not published", "export_id", e.ExportID, "error", err)
		default:
			return x.errResult(e.Cache.ID, e.ExportID, err)
		}
	}
	x.metrics.Count("ExportsStarted", 1, map[string]string{"Kind": string(e.Cache.Kind)})
	x.log.Info("memcached dump started", "export_id", e.ExportID, "cache", e.Cache.ID, "nodes", len(nodes), "tls", tlsOn, "stage", e.Stage)

	// Keep back time to record a failure before Lambda's deadline.
	dctx, cancel := context.WithCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		dctx, cancel = context.WithDeadline(ctx, dl.Add(-x.opts.Headroom))
	}
	defer cancel()
	o := x.opts.Dump
	o.SpoolDir = x.opts.SpoolDir
	o.TLS = nil
	if tlsOn {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		if x.opts.TLS != nil {
			o.TLS = x.opts.TLS.Clone()
		}
	}
	results := make([]NodeResult, len(nodes))
	var (
		wg   sync.WaitGroup
		once sync.Once
		bad  *NodeResult
	)
	sem := make(chan struct{}, x.opts.Concurrency)
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-dctx.Done():
				results[i] = NodeResult{Node: n.Name, Key: expect.Keys[i], Err: dctx.Err().Error()}
				return
			}
			defer func() { <-sem }()
			results[i] = x.dumpNode(dctx, n, expect.Keys[i], o)
			if results[i].Err != "" {
				once.Do(func() { bad = &results[i]; cancel() })
			}
		}()
	}
	wg.Wait()
	if bad != nil {
		return x.fail(ctx, e, export.Error{Code: "dump-failed", Message: bad.Err, Object: bad.Key}, results)
	}
	var keys int64
	for _, r := range results {
		keys += r.Keys
	}
	x.metrics.Count("MemcachedKeysDumped", int(keys), nil)
	x.log.Info("memcached dump done", "export_id", e.ExportID, "cache", e.Cache.ID, "nodes", results)
	return &Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeDumped, Stage: string(e.Stage), Nodes: results}
}

// dumpNode streams one node's dump into key (DumpToS3) and reports it.
func (x *Exporter) dumpNode(ctx context.Context, n memcached.Node, key string, o memcached.Options) NodeResult {
	res := NodeResult{Node: n.Name, Key: key}
	st, err := DumpToS3(ctx, x.s3, x.opts.Bucket, key, n, o, x.opts.PartSize, x.opts.UploadConcurrency)
	res.Keys, res.Vanished, res.ValueBytes, res.DurationMS = st.Dumped, st.Vanished, st.ValueBytes, st.Duration.Milliseconds()
	if err != nil {
		res.Err = err.Error()
		x.log.Warn("memcached node dump failed", "node", n.Name, "addr", n.Addr, "key", key, "error", res.Err)
	}
	return res
}

// DumpToS3 dumps node n (memcached.Dump, with o) into the object bucket/key through a
// multipart upload of partSize parts (at least 5 MiB; 0: DefaultPartSize), uploadConcurrency
// at a time (0: 1), so memory stays about partSize × (uploadConcurrency + 1). A dump that fails
// fails the upload, which is then aborted: no object and no parts are left behind. The error
// names the node (a *memcached.Error) or the upload.
func DumpToS3(ctx context.Context, api S3API, bucket, key string, n memcached.Node, o memcached.Options, partSize int64, uploadConcurrency int) (memcached.DumpStats, error) {
	if partSize < manager.MinUploadPartSize {
		partSize = DefaultPartSize
	}
	pr, pw := io.Pipe()
	//lint:ignore SA1019 feature/s3/manager is the transfer manager in go.mod (transfermanager is not)
	up := manager.NewUploader(api, func(u *manager.Uploader) {
		u.PartSize = partSize
		u.Concurrency = max(uploadConcurrency, 1)
		u.LeavePartsOnError = false
	})
	upErr := make(chan error, 1)
	go func() {
		//lint:ignore SA1019 as NewUploader above
		_, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: pr, ContentType: aws.String(ContentType)})
		// A dump still writing learns that the upload is over.
		pr.CloseWithError(cmpErr(err, errUploadEnded))
		upErr <- err
	}()
	st, err := dumpTo(ctx, n, pw, o)
	if err != nil {
		pw.CloseWithError(err)
	} else {
		pw.Close()
	}
	uerr := <-upErr
	switch {
	case err != nil:
		return st, err
	case uerr != nil:
		return st, fmt.Errorf("upload s3://%s/%s: %w", bucket, key, uerr)
	}
	return st, nil
}

var errUploadEnded = errors.New("upload ended")

func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

func dumpTo(ctx context.Context, n memcached.Node, w io.Writer, o memcached.Options) (memcached.DumpStats, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	mw, err := mcdump.NewWriter(w, mcdump.Header{Node: n.Name, Created: now()})
	if err != nil {
		return memcached.DumpStats{}, err
	}
	return memcached.Dump(ctx, n, mw, o)
}

// fail moves e to failed (Export Failed, which cleanup-export acts on).
func (x *Exporter) fail(ctx context.Context, e *export.Export, why export.Error, nodes []NodeResult) *Result {
	x.metrics.Count("ExportsFailed", 1, map[string]string{"Reason": why.Code})
	x.log.Warn("export failed", "export_id", e.ExportID, "cache", e.Cache.ID, "reason", why.Code, "detail", why.Message)
	res := &Result{Cache: e.Cache.ID, ExportID: e.ExportID, Outcome: OutcomeFailed, Reason: why.Code, Nodes: nodes}
	err := x.m.Fail(ctx, e, why)
	for try := 0; try < 3 && errors.Is(err, export.ErrConflict); try++ {
		// verify-export checkpoints the record while the dump runs (objects missing so far):
		// fail the export as it is now, if it is still this attempt's and exporting.
		fresh, lerr := x.m.Load(ctx, e.Key)
		if lerr != nil || fresh.Attempt != e.Attempt || fresh.Stage != export.StageExporting {
			break
		}
		*e = *fresh
		err = x.m.Fail(ctx, e, why)
	}
	if err != nil {
		var pe *export.PublishError
		switch {
		case errors.Is(err, export.ErrConflict):
			res.Outcome = OutcomeLostRace
		case errors.As(err, &pe):
			res.Err = err.Error()
		default:
			r := x.errResult(e.Cache.ID, e.ExportID, err)
			r.Nodes = nodes
			return r
		}
	}
	res.Stage = string(e.Stage)
	return res
}

func (x *Exporter) errResult(cache, id string, err error) *Result {
	c := awserr.Classify(err)
	x.log.Error("memcached export step failed", "cache", cache, "export_id", id, "class", c.String(), "error", err)
	x.metrics.Count("StepErrors", 1, map[string]string{"Class": c.String()})
	return &Result{Cache: cache, ExportID: id, Outcome: OutcomeError, Err: err.Error(), Reason: c.String(), Retry: c.Retryable() || c == awserr.Unknown}
}

// recordKey checks that an event's record key is a record of this deployment (bucket, prefix).
func (x *Exporter) recordKey(d export.Detail) (string, error) {
	if d.Bucket != "" && d.Bucket != x.opts.Bucket {
		return "", fmt.Errorf("event names bucket %q, this deployment exports to %q: %w", d.Bucket, x.opts.Bucket, ErrNotOurs)
	}
	l, rest, ok := export.ParseRecordKey(x.opts.Prefix, d.RecordKey)
	if !ok || rest != export.RecordName || (d.ExportID != "" && l.ExportID != d.ExportID) {
		return "", fmt.Errorf("event's record_key %q is not an export record under %s/: %w", d.RecordKey, x.opts.Prefix, ErrNotOurs)
	}
	return d.RecordKey, nil
}

// OptionsFrom maps the validated settings onto memcached-export's options. The spool is
// DefaultSpoolDir (Lambda's writable /tmp, sized by the function's ephemeral storage).
func OptionsFrom(c config.Config) Options {
	return Options{Bucket: c.Bucket, Prefix: c.Prefix, SpoolDir: DefaultSpoolDir}
}
