package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/cacheport/cacheport/shared/export"
)

const cancelExportTaskHelp = `usage: cacheport cancel-export-task --export-task-id ID [--json] [global flags]

Cancels an export that is not verified yet and removes what it wrote: the record moves to
cancelled (Export Cancelled is published, so the deployed functions stop acting on it), then the
clean-up deletes every object version of every attempt and the snapshots cacheport made for it
(proved cacheport's by name and tags), and records what it removed.

AWS cannot stop a copy to S3 already under way: objects that land later are deleted by the
deployed cleanup-export when their S3 event arrives, and a snapshot still being made is left for
its stale sweep. Cancelling a cancelled export runs the clean-up again.

Exit status: 0 when cancelled (and cleaned as far as AWS allows now), 1 when the export is
verified, abandoned, or the clean-up failed, 2 when it does not exist or AWS cannot be used.

examples:
  cacheport cancel-export-task --bucket my-exports --export-task-id orders-manual-1

flags:
`

// runCancelExportTask cancels an export and cleans up what it wrote.
func runCancelExportTask(ctx context.Context, e *env, args []string) int {
	fs := e.flagSet("cancel-export-task", "")
	fs.Usage = func() { fmt.Fprint(e.stderr, cancelExportTaskHelp); fs.PrintDefaults() }
	var id string
	fs.StringVar(&id, "export-task-id", "", "the export id to cancel (required)")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	if id == "" {
		fmt.Fprintln(e.stderr, "cacheport cancel-export-task: --export-task-id is required")
		return exitUsage
	}
	x, err := openExports(ctx, e, "")
	if err != nil {
		return failExport(ctx, e, "cancel-export-task", err)
	}
	ex, err := x.find(ctx, id)
	if err != nil {
		return failExport(ctx, e, "cancel-export-task", err)
	}
	for try := 0; ex.Stage != export.StageCancelled; try++ {
		if ex.Stage.Terminal() {
			fmt.Fprintf(e.stderr, "cacheport cancel-export-task: export %s is %s: only an export not yet verified can be cancelled\n", id, ex.Stage)
			return exitFinding
		}
		err := x.m.Cancel(ctx, ex, "cancelled by request (cacheport cancel-export-task)")
		var pe *export.PublishError
		switch {
		case err == nil:
			fmt.Fprintf(e.stderr, "export %s cancelled (was attempt %d)\n", id, ex.Attempt)
		case errors.As(err, &pe):
			fmt.Fprintf(e.stderr, "export %s cancelled; Export Cancelled not published (%v): the deployed functions learn it from the record\n", id, pe.Err)
		case errors.Is(err, export.ErrConflict) && try < 3:
			// Another writer moved it first: decide again on the fresh record.
			if ex, err = x.m.Load(ctx, ex.Key); err != nil {
				return fail(ctx, e, "cancel-export-task", err)
			}
			continue
		default:
			return fail(ctx, e, "cancel-export-task", err)
		}
	}
	sum, err := x.cleaner(e).Cancelled(ctx, export.DetailOf(&ex.Record, ex.Key))
	if err != nil {
		return fail(ctx, e, "cancel-export-task", err)
	}
	printCleanup(e.stderr, sum)
	if fresh, err := x.m.Load(ctx, ex.Key); err == nil {
		ex = fresh
	}
	if e.global.json {
		if err := writeJSON(e.stdout, map[string]exportTask{"ExportTask": taskOf(ex)}); err != nil {
			return fail(ctx, e, "cancel-export-task", err)
		}
	} else {
		printTask(e.stdout, taskOf(ex))
	}
	for _, r := range sum.Results {
		if r.Err != "" {
			return exitFinding
		}
	}
	return exitOK
}
