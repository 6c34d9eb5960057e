package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/start"
	"github.com/cacheport/cacheport/shared/targets"
	"github.com/cacheport/cacheport/shared/verify"
)

const exportCacheToS3Help = `usage: cacheport export-cache-to-s3 (--cache-cluster-id ID | --replication-group-id ID | --serverless-cache-name NAME)
         --export-name NAME [--s3-bucket-name B] [--s3-key-prefix P] [--wait [--timeout D]]
         [--max-backup-age D] [--max-attempts N] [--json] [global flags]

Exports one cache to S3 now, through the same state machine as the scheduled exports: the
record s3://B/P/CACHE/NAME/export.json is created (the export name is the export id, and the
"export task id" of describe-export-tasks and cancel-export-task), then start-export's step runs
here: a snapshot is taken (or a fresh automatic backup reused, see --max-backup-age) and, once it
is available, copied to S3. The deployed functions verify and clean it up like any other export.

With --wait the command drives the export to its end itself, racing safely with the deployed
functions (conditional writes decide who moves it): it waits for the snapshot, starts the copy,
proves every object (structure, checksum, counts) and writes the manifest, printing each stage
on stderr. On failure it runs the clean-up (what the attempt wrote is removed) and says why it
failed and what was removed. An export name that exists already is followed, not started again.

Exit status: 0 when started (verified, with --wait), 1 when the export failed, was cancelled or
did not finish within --timeout, 2 on a usage, configuration or AWS error (unknown cache, a cache
cacheport cannot export, an export name already used), 130 when interrupted (the export carries
on: cacheport cancel-export-task stops it).

examples:
  cacheport export-cache-to-s3 --replication-group-id orders --s3-bucket-name my-exports \
      --s3-key-prefix cacheport --export-name orders-before-upgrade --wait
  cacheport export-cache-to-s3 --serverless-cache-name sessions --export-name sessions-manual-1
  cacheport --region eu-west-1 --json export-cache-to-s3 --cache-cluster-id legacy-001 \
      --s3-bucket-name my-exports --export-name legacy-1 --wait --timeout 1h

flags:
`

// exportOptions are export-cache-to-s3's own flags.
type exportOptions struct {
	cluster, group, serverless string
	bucket, prefix, name       string
	wait                       bool
	timeout, poll              time.Duration
	maxBackupAge               time.Duration
	maxAttempts                int
}

// runExportCacheToS3 begins an export by hand and, with --wait, drives it to its end.
func runExportCacheToS3(ctx context.Context, e *env, args []string) int {
	fs := e.flagSet("export-cache-to-s3", "")
	fs.Usage = func() { fmt.Fprint(e.stderr, exportCacheToS3Help); fs.PrintDefaults() }
	var o exportOptions
	fs.StringVar(&o.cluster, "cache-cluster-id", "", "a standalone node-based cache cluster")
	fs.StringVar(&o.group, "replication-group-id", "", "a replication group (node-based Valkey or Redis OSS)")
	fs.StringVar(&o.serverless, "serverless-cache-name", "", "a serverless cache")
	fs.StringVar(&o.bucket, "s3-bucket-name", "", "export bucket (default --bucket or $CACHEPORT_BUCKET)")
	fs.StringVar(&o.prefix, "s3-key-prefix", "", "key prefix (default --prefix, $CACHEPORT_PREFIX or cacheport)")
	fs.StringVar(&o.name, "export-name", "", "the export id: lower-case [a-z0-9-], at most 200 characters (required)")
	fs.BoolVar(&o.wait, "wait", false, "drive the export to its end: verified (exit 0) or failed and cleaned up (exit 1)")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Hour, "with --wait, give up waiting after this long (the export carries on)")
	fs.DurationVar(&o.poll, "poll", 15*time.Second, "with --wait, how often to look at the export while AWS works")
	fs.DurationVar(&o.maxBackupAge, "max-backup-age", 0, "export an automatic backup younger than this as is (default 0: take a new snapshot)")
	fs.IntVar(&o.maxAttempts, "max-attempts", 1, "attempts before the export is abandoned (a failed attempt is cleaned up, then retried with back-off)")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	id, kinds, flagName, err := o.cache()
	if err == nil {
		err = o.check()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "cacheport export-cache-to-s3: %v (see --help)\n", err)
		return exitUsage
	}
	if o.prefix != "" {
		e.global.prefix = o.prefix
	}
	parent := ctx
	if o.wait && o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	x, err := openExports(ctx, e, o.bucket)
	if err != nil {
		return failExport(ctx, e, "export-cache-to-s3", err)
	}
	t, err := x.target(ctx, id, kinds, flagName)
	if err != nil {
		return failExport(ctx, e, "export-cache-to-s3", err)
	}
	x.noteRunning(ctx, e, t.Cache.ID, o.name)
	ex, code, ok := x.begin(ctx, e, t, o)
	if !ok {
		return code
	}
	sopts := start.OptionsFrom(x.cfg)
	sopts.Filter = targets.Filter{IDs: []string{t.Cache.ID}}
	sopts.MaxBackupAge = o.maxBackupAge
	d := &driver{e: e, x: x, o: o,
		st: start.New(sopts, x.c.ec, x.m, logger(e), nil),
		v:  verify.New(verify.OptionsFrom(x.cfg, version), x.c.s3, x.c.ec, x.m, logger(e), nil),
		cl: x.cleaner(e)}
	if !o.wait {
		return d.once(ctx, ex)
	}
	code = d.drive(ctx, ex)
	if parent.Err() != nil {
		fmt.Fprintf(e.stderr, "cacheport export-cache-to-s3: interrupted; export %s carries on (cacheport cancel-export-task --export-task-id %s stops it)\n", o.name, o.name)
		return exitInterrupted
	}
	return code
}

// cache returns the cache id given, the kinds of cache its flag names and the flag.
func (o *exportOptions) cache() (string, []export.Kind, string, error) {
	var (
		id, flagName string
		kinds        []export.Kind
		n            int
	)
	if o.cluster != "" {
		id, kinds, flagName, n = o.cluster, []export.Kind{export.KindCacheCluster, export.KindMemcached}, "--cache-cluster-id", n+1
	}
	if o.group != "" {
		id, kinds, flagName, n = o.group, []export.Kind{export.KindReplicationGroup}, "--replication-group-id", n+1
	}
	if o.serverless != "" {
		id, kinds, flagName, n = o.serverless, []export.Kind{export.KindServerless}, "--serverless-cache-name", n+1
	}
	if n != 1 {
		return "", nil, "", errors.New("give exactly one of --cache-cluster-id, --replication-group-id, --serverless-cache-name")
	}
	return id, kinds, flagName, nil
}

func (o *exportOptions) check() error {
	switch {
	case o.name == "":
		return errors.New("--export-name is required")
	case o.maxAttempts < 1:
		return errors.New("--max-attempts must be at least 1")
	case o.poll <= 0 || o.timeout < 0 || o.maxBackupAge < 0:
		return errors.New("--poll must be positive, --timeout and --max-backup-age not negative")
	}
	if err := export.ValidateExportID(o.name); err != nil {
		return fmt.Errorf("--export-name: %w", err)
	}
	if o.prefix != "" {
		if err := export.ValidatePrefix(o.prefix); err != nil {
			return fmt.Errorf("--s3-key-prefix: %w", err)
		}
	}
	return nil
}

// target finds the cache to export and checks that it is of the kind its flag names and that
// cacheport can export it.
func (x *exportEnv) target(ctx context.Context, id string, kinds []export.Kind, flagName string) (*targets.Target, error) {
	ts, err := targets.Discover(ctx, x.c.ec, targets.Filter{IDs: []string{id}})
	if err != nil {
		return nil, fmt.Errorf("find cache %s: %w", id, err)
	}
	var other *targets.Target
	for i, t := range ts {
		switch {
		case t.Skip == targets.SkipNotFound:
		case !contains(kinds, t.Cache.Kind):
			other = &ts[i]
		case t.Skip != "" && t.Skip != targets.SkipNotAvailable:
			return nil, &usageError{fmt.Errorf("cache %s cannot be exported: %s (%s)", t.Cache.ID, t.SkipMessage, t.Skip)}
		default:
			return &ts[i], nil
		}
	}
	if other != nil {
		return nil, &usageError{fmt.Errorf("%s is a %s, not what %s names: use %s", id, other.Cache.Kind, flagName, flagFor(other.Cache.Kind))}
	}
	hint := ""
	if flagName == "--cache-cluster-id" {
		hint = " (a cluster that belongs to a replication group is exported with --replication-group-id)"
	}
	return nil, &usageError{fmt.Errorf("unknown cache: no %s %q in %s%s", strings.TrimPrefix(flagName, "--"), id, x.c.region, hint)}
}

func contains(kinds []export.Kind, k export.Kind) bool {
	for _, c := range kinds {
		if c == k {
			return true
		}
	}
	return false
}

func flagFor(k export.Kind) string {
	switch k {
	case export.KindReplicationGroup:
		return "--replication-group-id"
	case export.KindServerless:
		return "--serverless-cache-name"
	}
	return "--cache-cluster-id"
}

// noteRunning says which other exports of the cache are under way (a scheduled one, another
// made by hand): ElastiCache backs a cache up once at a time, so this export waits for them.
func (x *exportEnv) noteRunning(ctx context.Context, e *env, cache, name string) {
	exs, err := x.all(ctx, cache)
	if err != nil {
		return // begin reports what is wrong with the bucket
	}
	for _, ex := range exs {
		if ex.ExportID != name && !ex.Stage.Terminal() && ex.Stage != export.StageFailed && ex.Stage != export.StageCleaned {
			fmt.Fprintf(e.stderr, "note: export %s of %s is already %s (attempt %d); ElastiCache backs a cache up once at a time, so this export may wait for it\n",
				ex.ExportID, ex.Cache.ID, ex.Stage, ex.Attempt)
		}
	}
}

// begin creates the export's record, or finds the one that exists: without --wait an existing
// export is an error (exit 2, with what to do); with --wait it is followed. ok is false when the
// verb must stop with code.
func (x *exportEnv) begin(ctx context.Context, e *env, t *targets.Target, o exportOptions) (*export.Export, int, bool) {
	ex, err := x.find(ctx, o.name)
	switch {
	case errors.Is(err, errNoExport):
		ex, err = x.m.Begin(ctx, export.NewExport{Prefix: x.cfg.Prefix, ExportID: o.name, Window: export.Window(clock()), Cache: t.Cache, MaxAttempts: o.maxAttempts})
		if errors.Is(err, export.ErrExists) {
			// Created between the look and the create: by another operator or a retry.
			if ex, err = x.find(ctx, o.name); err == nil {
				break
			}
		}
		if err != nil {
			return nil, failExport(ctx, e, "export-cache-to-s3", fmt.Errorf("create the export record: %w", err)), false
		}
		fmt.Fprintf(e.stderr, "export %s of %s %s begun: s3://%s/%s\n", ex.ExportID, t.Cache.Kind, t.Cache.ID, x.cfg.Bucket, ex.Key)
		return ex, 0, true
	case err != nil:
		return nil, failExport(ctx, e, "export-cache-to-s3", err), false
	}
	if !strings.EqualFold(ex.Cache.ID, t.Cache.ID) {
		fmt.Fprintf(e.stderr, "cacheport export-cache-to-s3: export name %s is already used by an export of %s (%s): choose another --export-name\n", o.name, ex.Cache.ID, ex.Stage)
		return nil, exitUsage, false
	}
	if !o.wait {
		fmt.Fprintf(e.stderr, "cacheport export-cache-to-s3: export %s of %s already exists (%s, attempt %d): follow it with --wait, see it with cacheport describe-export-tasks --export-task-id %s, or choose another --export-name\n",
			o.name, ex.Cache.ID, ex.Stage, ex.Attempt, o.name)
		return nil, exitUsage, false
	}
	fmt.Fprintf(e.stderr, "export %s of %s exists (%s, attempt %d): following it\n", ex.ExportID, ex.Cache.ID, ex.Stage, ex.Attempt)
	return ex, 0, true
}

// driver moves one export on with the same domain code the functions run.
type driver struct {
	e  *env
	x  *exportEnv
	o  exportOptions
	st *start.Starter
	v  *verify.Verifier
	cl cleaner
}

// once runs start-export's step on ex and reports where the export stands; the deployed
// functions carry it on.
func (d *driver) once(ctx context.Context, ex *export.Export) int {
	sum, err := d.st.Requested(ctx, export.DetailOf(&ex.Record, ex.Key))
	if err != nil {
		return fail(ctx, d.e, "export-cache-to-s3", err)
	}
	d.printStart(sum)
	fresh, err := d.x.m.Load(ctx, ex.Key)
	if err != nil {
		return fail(ctx, d.e, "export-cache-to-s3", err)
	}
	d.result(fresh)
	switch {
	case fresh.Stage == export.StageFailed:
		fmt.Fprintf(d.e.stderr, "export %s failed: %s; the deployed cleanup-export removes what it wrote (or run again with --wait to clean up here)\n", fresh.ExportID, reason(fresh))
		return exitFinding
	case hasError(sum):
		return exitUsage
	}
	fmt.Fprintf(d.e.stderr, "export %s is %s; the deployed functions carry it on when they export to s3://%s/%s/ (else run again with --wait); follow it with cacheport describe-export-tasks --export-task-id %s\n",
		fresh.ExportID, fresh.Stage, fresh.Bucket, fresh.Prefix, fresh.ExportID)
	return exitOK
}

// maxErrors is how many steps in a row may fail without the export moving before --wait gives
// up: a permission or configuration problem does not cure itself.
const maxErrors = 5

// drive moves ex on until it is verified (0), failed for good, cancelled or out of time (1), or
// the steps keep failing (2).
func (d *driver) drive(ctx context.Context, ex *export.Export) int {
	var (
		last        string
		errs        int
		lastSay     string
		lastCleanup string
	)
	for {
		fresh, err := d.x.m.Load(ctx, ex.Key)
		if err != nil {
			return d.stopped(ctx, ex, err)
		}
		ex = fresh
		if at := fmt.Sprintf("%s/%d", ex.Stage, ex.Attempt); at != last {
			last, errs = at, 0
			d.progress(ex)
		}
		var say string
		switch ex.Stage {
		case export.StageVerified:
			d.result(ex)
			fmt.Fprintf(d.e.stderr, "export %s verified: %d object(s), %s, manifest s3://%s/%s\n", ex.ExportID, len(ex.Objects), bytesHuman(taskOf(ex).TotalBytes), ex.Bucket, ex.Layout().ManifestKey())
			return exitOK
		case export.StageAbandoned, export.StageCancelled:
			d.result(ex)
			fmt.Fprintf(d.e.stderr, "export %s %s: %s\n", ex.ExportID, ex.Stage, reason(ex))
			for _, r := range ex.Removed {
				fmt.Fprintf(d.e.stderr, "  cleaned up: %s %s\n", r.What, r.Name)
			}
			return exitFinding
		case export.StageRequested, export.StageSnapshotting:
			sum, err := d.st.Requested(ctx, export.DetailOf(&ex.Record, ex.Key))
			say, errs = d.outcome(sum, err, errs)
		case export.StageExporting, export.StageVerifying:
			sum, err := d.v.Started(ctx, ex.Key, ex.Stage == export.StageVerifying)
			if err == nil {
				say, errs = d.outcomeVerify(sum, errs)
			} else {
				say, errs = "error: "+err.Error(), errs+1
			}
		case export.StageFailed, export.StageCleaned:
			if ex.Stage == export.StageFailed {
				fmt.Fprintf(d.e.stderr, "export %s failed: %s; cleaning up\n", ex.ExportID, reason(ex))
			}
			sum, err := d.cl.Failed(ctx, export.DetailOf(&ex.Record, ex.Key))
			if err != nil {
				say, errs = "clean-up error: "+err.Error(), errs+1
			} else {
				// A clean-up that must wait (a snapshot still in transition) says so once.
				var b strings.Builder
				printCleanup(&b, sum)
				if b.String() != lastCleanup {
					fmt.Fprint(d.e.stderr, b.String())
					lastCleanup = b.String()
				}
			}
		}
		if say != "" && say != lastSay {
			fmt.Fprintf(d.e.stderr, "%s  %-12s %s\n", clock().UTC().Format("15:04:05"), ex.Stage, say)
			lastSay = say
		}
		if errs >= maxErrors {
			fmt.Fprintf(d.e.stderr, "cacheport export-cache-to-s3: giving up after %d failed steps: %s\n", errs, say)
			d.result(ex)
			return exitUsage
		}
		moved, err := d.x.m.Load(ctx, ex.Key)
		if err != nil {
			return d.stopped(ctx, ex, err)
		}
		if moved.Stage != ex.Stage || moved.Attempt != ex.Attempt {
			continue
		}
		select {
		case <-ctx.Done():
			return d.stopped(ctx, ex, ctx.Err())
		case <-time.After(d.o.poll):
		}
	}
}

// stopped reports a --wait that ended before the export did.
func (d *driver) stopped(ctx context.Context, ex *export.Export, err error) int {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		fmt.Fprintf(d.e.stderr, "cacheport export-cache-to-s3: export %s not finished after %s: still %s (attempt %d); the deployed functions carry it on\n",
			ex.ExportID, d.o.timeout, ex.Stage, ex.Attempt)
		d.result(ex)
		return exitFinding
	}
	return fail(ctx, d.e, "export-cache-to-s3", err)
}

// outcome turns a start step's summary into a line of progress, counting errors in a row.
func (d *driver) outcome(sum *start.Summary, err error, errs int) (string, int) {
	if err != nil {
		return "error: " + err.Error(), errs + 1
	}
	for _, r := range sum.Results {
		switch r.Outcome {
		case start.OutcomeError:
			return "error: " + r.Err, errs + 1
		case start.OutcomeWaiting:
			return "waiting: " + r.Reason, 0
		case start.OutcomeSnapshot, start.OutcomeStarted, start.OutcomeFailed:
			return string(r.Outcome) + sep(r.Reason), 0
		}
	}
	return "", errs
}

func (d *driver) outcomeVerify(sum *verify.Summary, errs int) (string, int) {
	for _, r := range sum.Results {
		switch r.Outcome {
		case verify.OutcomeError:
			return "error: " + r.Err, errs + 1
		case verify.OutcomeWaiting, verify.OutcomeBusy, verify.OutcomeVerifying, verify.OutcomeHandedOn:
			return string(r.Outcome) + sep(r.Reason), 0
		}
	}
	return "", errs
}

func sep(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func hasError(sum *start.Summary) bool {
	for _, r := range sum.Results {
		if r.Outcome == start.OutcomeError {
			return true
		}
	}
	return false
}

// printStart writes what start-export's step did.
func (d *driver) printStart(sum *start.Summary) {
	for _, r := range sum.Results {
		fmt.Fprintf(d.e.stderr, "start: %s", r.Outcome)
		if r.Stage != "" {
			fmt.Fprintf(d.e.stderr, ", now %s", r.Stage)
		}
		if r.Reason != "" {
			fmt.Fprintf(d.e.stderr, " (%s)", r.Reason)
		}
		if r.Err != "" {
			fmt.Fprintf(d.e.stderr, ": %s", r.Err)
		}
		fmt.Fprintln(d.e.stderr)
	}
}

// progress writes one line when the export reaches a stage or attempt.
func (d *driver) progress(ex *export.Export) {
	line := fmt.Sprintf("%s  %-12s attempt %d of %d", clock().UTC().Format("15:04:05"), ex.Stage, ex.Attempt, ex.MaxAttempts)
	switch {
	case ex.Stage == export.StageSnapshotting && ex.Source.Snapshot != "":
		line += ", snapshot " + ex.Source.Snapshot
	case ex.Stage == export.StageExporting:
		line += fmt.Sprintf(", copying %s to s3://%s/%s", ex.Source.Snapshot, ex.Bucket, ex.Layout().AttemptDir(ex.Attempt))
	case ex.Stage == export.StageVerifying:
		line += fmt.Sprintf(", proving %d object(s)", len(ex.Objects))
	}
	fmt.Fprintln(d.e.stderr, line)
}

// result prints the export's final state on stdout: the task, or {"ExportTask": ...} with --json.
func (d *driver) result(ex *export.Export) {
	if d.e.global.json {
		_ = writeJSON(d.e.stdout, map[string]exportTask{"ExportTask": taskOf(ex)})
		return
	}
	printTask(d.e.stdout, taskOf(ex))
}

// reason says why an export ended as it did.
func reason(ex *export.Export) string {
	if ex.Error != nil {
		return ex.Error.Code + ": " + ex.Error.Message
	}
	for i := len(ex.History) - 1; i >= 0; i-- {
		if r := ex.History[i].Reason; r != "" {
			return r
		}
	}
	return string(ex.Stage)
}
