package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/twin"
	"github.com/cacheport/cacheport/shared/twin/core"
	"github.com/cacheport/cacheport/shared/twin/ecsrv"
)

const demoSynopsis = `cacheport demo [--out DIR] [--fault KIND[=CACHE_ID]]... [--template FILE]

Runs the whole export -> verify -> cleanup cycle against the local AWS twin, with no AWS account:
the twin serves ElastiCache, EventBridge and S3 on loopback, holds caches with real data (a real
redis-server per shard when one is on PATH), and runs cacheport's functions in process on the
events and schedules template.yaml gives them. The window schedule fires, the clock runs fast,
every stage is printed as it happens, and the exported files are copied to --out.

By default one cache ("payments") has its snapshots fail, so the demo also shows a failed export
cleaned up, retried and abandoned (with the alert). It exits non-zero when anything did not end
as expected: every exportable cache verified or (when a fault hits it) failed and cleaned, and no
object or snapshot of a failed attempt left behind.

Faults (repeatable, KIND or KIND=CACHE_ID):
%s
Examples:
  cacheport demo
  cacheport demo --fault corrupt-object=orders --out /tmp/exports`

func faultHelp() string {
	var b strings.Builder
	kinds := make([]string, 0, len(core.Kinds))
	for k := range core.Kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %-20s %s\n", k, core.Kinds[k])
	}
	return b.String()
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// demoCaches is the sandbox's set plus a cache whose snapshots fail.
func demoCaches() []ecsrv.Cache {
	return append(ecsrv.DefaultCaches(), ecsrv.Cache{ID: "payments", Kind: ecsrv.KindReplicationGroup, Engine: "valkey", Replicas: 1})
}

func runDemo(ctx context.Context, e *env, args []string) int {
	fs := e.flagSet("demo", fmt.Sprintf(demoSynopsis, faultHelp()))
	out := fs.String("out", "demo-output", "folder the exported files are copied to")
	tmpl := fs.String("template", "template.yaml", "the SAM template whose rules, schedules and settings the twin runs")
	limit := fs.Duration("for", 8*time.Hour, "how much twin time the demo may take")
	var faults multiFlag
	fs.Var(&faults, "fault", "inject a fault: KIND[=CACHE_ID] (repeatable; see above)")
	if _, err := parseArgs(fs, args); err != nil {
		return exitUsage
	}
	if len(faults) == 0 {
		faults = multiFlag{"snapshot-fails=payments"}
	}
	started := time.Now()
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(2*time.Hour + 58*time.Minute)
	tw, err := twin.Start(ctx, twin.Options{
		Template: *tmpl, Start: start, Speed: 1, Faults: faults, Caches: demoCaches(),
		Params: map[string]string{"MaxAttempts": "2"}, Log: slog.New(slog.DiscardHandler), Version: version,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "cacheport demo: %v\n", err)
		return exitUsage
	}
	defer tw.Close()
	fmt.Fprintf(e.stdout, "demo: twin on %s, bucket %s, functions %s\n", tw.URL, tw.Bucket, strings.Join(tw.Functions(), ", "))
	fmt.Fprintf(e.stdout, "demo: faults %s\n", strings.Join(faults, ", "))

	w := newStageWatcher(tw, e.stdout)
	deadline := tw.Clock.Now().Add(*limit)
	for tw.Clock.Now().Before(deadline) {
		if ctx.Err() != nil {
			return exitInterrupted
		}
		if err := tw.Advance(ctx, time.Minute, time.Minute); err != nil {
			fmt.Fprintf(e.stderr, "cacheport demo: %v\n", err)
			return exitUsage
		}
		if w.poll(ctx) && w.settled() {
			break
		}
	}
	rep, err := summarise(ctx, tw, w.last, *out)
	if err != nil {
		fmt.Fprintf(e.stderr, "cacheport demo: %v\n", err)
		return exitUsage
	}
	rep.print(e.stdout)
	for _, a := range tw.Router.Alerts() {
		var ev struct {
			DetailType string          `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
		}
		_ = json.Unmarshal(a.Message, &ev)
		fmt.Fprintf(e.stdout, "alert to %s: %s %s\n", a.Topic, ev.DetailType, ev.Detail)
	}
	fmt.Fprintf(e.stdout, "demo: exported files in %s (%.1fs)\n", *out, time.Since(started).Seconds())
	fmt.Fprintf(e.stdout, "demo: %d exports verified, %d failed and cleaned, %d objects left behind\n", rep.verified, rep.failedCleaned, rep.leftBehind)
	if problems := rep.problems(faults); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(e.stderr, "demo: not as expected: %s\n", p)
		}
		return exitFinding
	}
	return exitOK
}

// stageWatcher prints each export's stage changes as the twin moves them.
type stageWatcher struct {
	tw   *twin.Twin
	w    io.Writer
	m    *export.Machine
	last map[string]*export.Export // by record key
}

func newStageWatcher(tw *twin.Twin, w io.Writer) *stageWatcher {
	c := tw.Clients(twin.OperatorKey)
	return &stageWatcher{tw: tw, w: w, m: export.NewMachine(export.NewStore(c.S3, tw.Bucket), nil), last: map[string]*export.Export{}}
}

// poll reads every record and prints what changed; it reports whether it could read them.
func (s *stageWatcher) poll(ctx context.Context) bool {
	refs, err := s.m.Store().List(ctx, export.DefaultPrefix+"/")
	if err != nil {
		return false
	}
	for _, r := range refs {
		e, err := s.m.Load(ctx, r.Key)
		if err != nil {
			continue
		}
		prev := s.last[r.Key]
		seen := 0
		if prev != nil {
			seen = len(prev.History)
		}
		attempt := 0
		for i, h := range e.History {
			if h.Stage == export.StageRequested {
				attempt++
			}
			if i < seen {
				continue
			}
			why := ""
			if h.Reason != "" {
				why = " (" + h.Reason + ")"
			}
			fmt.Fprintf(s.w, "%s  %-10s %-28s a%d %s%s\n", h.At.Format("15:04"), e.Cache.ID, e.ExportID, attempt, h.Stage, why)
		}
		s.last[r.Key] = e
	}
	return true
}

// settled reports whether every export has reached a final stage.
func (s *stageWatcher) settled() bool {
	if len(s.last) == 0 {
		return false
	}
	for _, e := range s.last {
		if !e.Stage.Terminal() {
			return false
		}
	}
	return !s.tw.EC.Pending()
}

type demoRow struct {
	cache, engine, source, stage string
	objects                      int
	bytes                        int64
	took                         time.Duration
}

type demoReport struct {
	rows                                []demoRow
	verified, failedCleaned, leftBehind int
	notFinal                            []string
	leftovers                           []string
}

// summarise builds the table, counts what is left of failed attempts, and copies every verified
// export (objects and manifest) to out.
func summarise(ctx context.Context, tw *twin.Twin, recs map[string]*export.Export, out string) (*demoReport, error) {
	rep := &demoReport{}
	keys := make([]string, 0, len(recs))
	for k := range recs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := recs[k]
		row := demoRow{cache: e.Cache.ID, engine: e.Cache.Engine, stage: string(e.Stage), objects: len(e.Objects)}
		switch {
		case e.Source.Automated:
			row.source = "automatic backup"
		case e.Source.Snapshot != "":
			row.source = e.Source.Snapshot
		}
		for _, o := range e.Objects {
			row.bytes += o.Size
		}
		row.took = e.UpdatedAt.Sub(e.CreatedAt)
		rep.rows = append(rep.rows, row)
		switch e.Stage {
		case export.StageVerified:
			rep.verified++
			if err := copyExport(ctx, tw, e, out); err != nil {
				return nil, err
			}
		case export.StageAbandoned, export.StageCancelled:
			rep.failedCleaned++
		default:
			rep.notFinal = append(rep.notFinal, e.ExportID+" is "+string(e.Stage))
		}
		left, err := leftBehind(tw, e)
		if err != nil {
			return nil, err
		}
		rep.leftovers = append(rep.leftovers, left...)
	}
	rep.leftBehind = len(rep.leftovers)
	return rep, nil
}

// leftBehind lists what remains of an export's dead attempts: object versions under their
// folders and cacheport snapshots that still exist.
func leftBehind(tw *twin.Twin, e *export.Export) ([]string, error) {
	var left []string
	l := e.Layout()
	for a := 1; a <= e.Attempt; a++ {
		if e.Stage == export.StageVerified && a == e.Attempt {
			continue
		}
		if tw.S3 != nil {
			prefix := l.AttemptDir(a)
			if e.Cache.Kind == export.KindServerless {
				prefix = l.SnapshotName(a)
			}
			vs, err := tw.S3.Versions(tw.Bucket, prefix)
			if err != nil {
				return nil, err
			}
			for _, v := range vs {
				left = append(left, "s3://"+tw.Bucket+"/"+v.Key)
			}
		}
		if _, ok := tw.EC.Snapshot(l.SnapshotName(a)); ok {
			left = append(left, "snapshot "+l.SnapshotName(a))
		}
	}
	return left, nil
}

func copyExport(ctx context.Context, tw *twin.Twin, e *export.Export, out string) error {
	keys := []string{e.Layout().ManifestKey()}
	for _, o := range e.Objects {
		keys = append(keys, o.Key)
	}
	c := tw.Clients(twin.OperatorKey)
	for _, k := range keys {
		dst := filepath.Join(out, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := download(ctx, c.S3, tw.Bucket, k, dst); err != nil {
			return fmt.Errorf("copy s3://%s/%s: %w", tw.Bucket, k, err)
		}
	}
	return nil
}

func (r *demoReport) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CACHE\tENGINE\tSOURCE\tOBJECTS\tBYTES\tSTAGE\tTIME")
	for _, row := range r.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", row.cache, row.engine, row.source, row.objects, row.bytes, row.stage, row.took.Round(time.Second))
	}
	tw.Flush()
	for _, l := range r.leftovers {
		fmt.Fprintf(w, "left behind: %s\n", l)
	}
}

// problems lists what did not end as the demo expects.
func (r *demoReport) problems(faults []string) []string {
	p := append([]string(nil), r.notFinal...)
	if r.verified == 0 {
		p = append(p, "no export was verified")
	}
	if r.leftBehind > 0 {
		p = append(p, fmt.Sprintf("%d object(s) or snapshot(s) of failed attempts left behind", r.leftBehind))
	}
	failing := 0
	for _, f := range faults {
		k, _, _ := strings.Cut(f, "=")
		switch k {
		case "snapshot-fails", "export-fails-midway", "corrupt-object", "missing-object", "export-stuck", "no-grant", "bucket-region":
			failing++
		}
	}
	if failing > 0 && r.failedCleaned == 0 {
		p = append(p, "a fault was injected but no export failed and was cleaned")
	}
	if failing == 0 && r.failedCleaned > 0 {
		p = append(p, "an export failed without a fault")
	}
	return p
}

func download(ctx context.Context, c *s3.Client, bucket, key, dst string) error {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, out.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
