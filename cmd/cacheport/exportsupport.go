package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cacheport/cacheport/shared/cleanup"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
)

// The export verbs (export-cache-to-s3, describe-export-tasks, cancel-export-task,
// list-exports) share what is below: the state machine over the operator's clients, finding an
// export by id, the clean-up, and the task view printed by describe-export-tasks and
// export-cache-to-s3.

// exportEnv is what the export verbs work with.
type exportEnv struct {
	cfg config.Config
	c   *clients
	m   *export.Machine
}

// openExports reads the settings (bucket from the verb's own flag when given) and builds the
// state machine over the operator's clients.
func openExports(ctx context.Context, e *env, bucket string) (*exportEnv, error) {
	cfg, err := settings(e, bucket)
	if err != nil {
		return nil, &usageError{err}
	}
	c, err := loadClients(ctx, e)
	if err != nil {
		return nil, err
	}
	m := export.NewMachine(export.NewStore(c.s3, cfg.Bucket), export.NewPublisher(c.events, cfg.BusName), export.WithClock(clock))
	return &exportEnv{cfg: cfg, c: c, m: m}, nil
}

// usageError marks an error as the operator's (flags, settings): exit 2 without AWS hints.
type usageError struct{ err error }

func (u *usageError) Error() string { return u.err.Error() }
func (u *usageError) Unwrap() error { return u.err }

// failExport reports err like fail, but a usage error without the AWS hints.
func failExport(ctx context.Context, e *env, verb string, err error) int {
	var u *usageError
	if errors.As(err, &u) {
		fmt.Fprintf(e.stderr, "cacheport %s: %v\n", verb, err)
		return exitUsage
	}
	return fail(ctx, e, verb, err)
}

// errNoExport is returned by find for an export id no record has.
var errNoExport = errors.New("no such export")

// find returns the export whose id is id, among every record under the prefix (an export id is
// unique in a deployment; a scheduled one also names its cache, one given by hand does not).
func (x *exportEnv) find(ctx context.Context, id string) (*export.Export, error) {
	if err := export.ValidateExportID(id); err != nil {
		return nil, &usageError{fmt.Errorf("--export-task-id: %w", err)}
	}
	refs, err := x.m.Store().List(ctx, x.cfg.Prefix+"/")
	if err != nil {
		return nil, fmt.Errorf("list exports in s3://%s/%s/: %w", x.cfg.Bucket, x.cfg.Prefix, err)
	}
	for _, r := range refs {
		if l, rest, ok := export.ParseRecordKey(x.cfg.Prefix, r.Key); ok && rest == export.RecordName && l.ExportID == id {
			return x.m.Load(ctx, r.Key)
		}
	}
	return nil, &usageError{fmt.Errorf("%w %q in s3://%s/%s/ (cacheport list-exports lists them)", errNoExport, id, x.cfg.Bucket, x.cfg.Prefix)}
}

// all loads every export under the prefix, or under the cache's folder when cache is set, newest
// first.
func (x *exportEnv) all(ctx context.Context, cache string) ([]*export.Export, error) {
	prefix := x.cfg.Prefix + "/"
	if cache != "" {
		l, err := export.NewLayout(x.cfg.Prefix, cache, "x")
		if err != nil {
			return nil, &usageError{fmt.Errorf("--cache %q: %w", cache, err)}
		}
		prefix = l.CacheDir()
	}
	refs, err := x.m.Store().List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list exports in s3://%s/%s: %w", x.cfg.Bucket, prefix, err)
	}
	var out []*export.Export
	for _, r := range refs {
		if _, rest, ok := export.ParseRecordKey(x.cfg.Prefix, r.Key); !ok || rest != export.RecordName {
			continue
		}
		ex, err := x.m.Load(ctx, r.Key)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", r.Key, err)
		}
		out = append(out, ex)
	}
	slices.SortFunc(out, func(a, b *export.Export) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ExportID, b.ExportID)
	})
	return out, nil
}

// cleaner is what the export verbs need of the clean-up (shared/cleanup): remove what a failed
// attempt or a cancelled export wrote, and record it.
type cleaner interface {
	Failed(ctx context.Context, d export.Detail) (*cleanup.Summary, error)
	Cancelled(ctx context.Context, d export.Detail) (*cleanup.Summary, error)
}

var _ cleaner = (*cleanup.Cleaner)(nil)

// cleaner builds the clean-up (shared/cleanup) over the operator's clients.
func (x *exportEnv) cleaner(e *env) cleaner {
	return cleanup.New(cleanup.OptionsFrom(x.cfg), x.c.s3, x.c.ec, x.m, logger(e), nil)
}

// printCleanup writes what a clean-up did, one line per result, to w.
func printCleanup(w io.Writer, sum *cleanup.Summary) {
	for _, r := range sum.Results {
		fmt.Fprintf(w, "clean-up: %s", r.Outcome)
		if r.Stage != "" {
			fmt.Fprintf(w, ", now %s", r.Stage)
		}
		if r.Reason != "" {
			fmt.Fprintf(w, " (%s)", r.Reason)
		}
		if r.Err != "" {
			fmt.Fprintf(w, ": %s", r.Err)
		}
		fmt.Fprintln(w)
		for _, d := range r.Deleted {
			fmt.Fprintf(w, "  removed %s\n", d)
		}
		for _, d := range r.Refused {
			fmt.Fprintf(w, "  left (not cacheport's) %s\n", d)
		}
	}
}

// exportTask is an export as describe-export-tasks shows it: the record in the shape of AWS's
// describe-* output (PascalCase names, times in RFC 3339).
type exportTask struct {
	ExportTaskId   string
	CacheId        string
	CacheKind      export.Kind
	Engine         string
	EngineVersion  string `json:",omitempty"`
	Status         export.Stage
	StatusReason   string `json:",omitempty"`
	S3Bucket       string
	S3KeyPrefix    string
	Location       string
	Window         string
	Attempt        int
	MaxAttempts    int
	SourceSnapshot string `json:",omitempty"`
	Automated      bool
	TargetName     string `json:",omitempty"`
	Objects        []taskObject
	TotalBytes     int64
	Error          *taskError `json:",omitempty"`
	Removed        []taskRemoval
	History        []taskEvent
	CreatedTime    time.Time
	UpdatedTime    time.Time
}

type taskObject struct {
	Key  string
	Size int64
}

type taskError struct {
	Code, Message string
	Object        string `json:",omitempty"`
}

type taskRemoval struct {
	What, Name string
	Time       time.Time
}

type taskEvent struct {
	Status export.Stage
	Time   time.Time
	Reason string `json:",omitempty"`
}

// taskOf is the task view of ex.
func taskOf(ex *export.Export) exportTask {
	t := exportTask{
		ExportTaskId: ex.ExportID, CacheId: ex.Cache.ID, CacheKind: ex.Cache.Kind, Engine: ex.Cache.Engine, EngineVersion: ex.Cache.EngineVersion,
		Status: ex.Stage, S3Bucket: ex.Bucket, S3KeyPrefix: ex.Prefix, Location: "s3://" + ex.Bucket + "/" + ex.Layout().Dir(),
		Window: ex.Window, Attempt: ex.Attempt, MaxAttempts: ex.MaxAttempts, SourceSnapshot: ex.Source.Snapshot, Automated: ex.Source.Automated,
		TargetName: ex.Target, Objects: []taskObject{}, Removed: []taskRemoval{}, History: []taskEvent{},
		CreatedTime: ex.CreatedAt.UTC(), UpdatedTime: ex.UpdatedAt.UTC(),
	}
	for _, o := range ex.Objects {
		t.Objects = append(t.Objects, taskObject{Key: o.Key, Size: o.Size})
		t.TotalBytes += o.Size
	}
	if ex.Error != nil {
		t.Error = &taskError{Code: ex.Error.Code, Message: ex.Error.Message, Object: ex.Error.Object}
		t.StatusReason = ex.Error.Code
	}
	for _, r := range ex.Removed {
		t.Removed = append(t.Removed, taskRemoval{What: r.What, Name: r.Name, Time: r.At.UTC()})
	}
	for _, h := range ex.History {
		t.History = append(t.History, taskEvent{Status: h.Stage, Time: h.At.UTC(), Reason: h.Reason})
	}
	return t
}

// printTask writes one export for people.
func printTask(w io.Writer, t exportTask) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("Export", t.ExportTaskId)
	row("Cache", fmt.Sprintf("%s (%s, %s %s)", t.CacheId, t.CacheKind, t.Engine, t.EngineVersion))
	status := string(t.Status)
	if t.StatusReason != "" {
		status += " (" + t.StatusReason + ")"
	}
	row("Status", status)
	row("Attempt", fmt.Sprintf("%d of %d", t.Attempt, t.MaxAttempts))
	row("Location", t.Location)
	if t.SourceSnapshot != "" {
		src := t.SourceSnapshot
		if t.Automated {
			src += " (automatic backup)"
		}
		row("Snapshot", src)
	}
	row("Objects", fmt.Sprintf("%d, %s", len(t.Objects), bytesHuman(t.TotalBytes)))
	row("Created", t.CreatedTime.Format(time.RFC3339))
	row("Updated", t.UpdatedTime.Format(time.RFC3339))
	tw.Flush()
	if t.Error != nil {
		fmt.Fprintf(w, "Error: %s: %s\n", t.Error.Code, t.Error.Message)
	}
	for _, o := range t.Objects {
		fmt.Fprintf(w, "  object  %s  %s\n", o.Key, bytesHuman(o.Size))
	}
	for _, r := range t.Removed {
		fmt.Fprintf(w, "  removed %s %s at %s\n", r.What, r.Name, r.Time.Format(time.RFC3339))
	}
	for _, h := range t.History {
		line := fmt.Sprintf("  %s  %s", h.Time.Format(time.RFC3339), h.Status)
		if h.Reason != "" {
			line += "  " + h.Reason
		}
		fmt.Fprintln(w, line)
	}
}
