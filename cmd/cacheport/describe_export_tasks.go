package main

import (
	"context"
	"fmt"

	"github.com/cacheport/cacheport/shared/export"
)

const describeExportTasksHelp = `usage: cacheport describe-export-tasks [--export-task-id ID] [--json] [global flags]

Describes exports from their records (s3://BUCKET/PREFIX/CACHE/EXPORT_ID/export.json): status
(the export's stage), attempt, source snapshot, objects, error, what the clean-up removed and the
history of stages. Without --export-task-id every export of the deployment is described, newest
first. With --json, stdout is one document shaped like AWS's describe-* output:
{"ExportTasks": [...]}.

The export task id is the export id: CACHE-YYYYMMDD-HHMM for scheduled exports, the
--export-name of an export started by hand.

Exit status: 0, or 2 when the export does not exist or AWS cannot be read.

examples:
  cacheport describe-export-tasks --bucket my-exports --export-task-id orders-20261124-0300
  cacheport describe-export-tasks --bucket my-exports --json | jq '.ExportTasks[] | select(.Status == "failed")'

flags:
`

// runDescribeExportTasks prints one export, or all of them.
func runDescribeExportTasks(ctx context.Context, e *env, args []string) int {
	fs := e.flagSet("describe-export-tasks", "")
	fs.Usage = func() { fmt.Fprint(e.stderr, describeExportTasksHelp); fs.PrintDefaults() }
	var id string
	fs.StringVar(&id, "export-task-id", "", "the export id to describe (default: every export)")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	x, err := openExports(ctx, e, "")
	if err != nil {
		return failExport(ctx, e, "describe-export-tasks", err)
	}
	var exs []*export.Export
	if id != "" {
		ex, err := x.find(ctx, id)
		if err != nil {
			return failExport(ctx, e, "describe-export-tasks", err)
		}
		exs = append(exs, ex)
	} else if exs, err = x.all(ctx, ""); err != nil {
		return failExport(ctx, e, "describe-export-tasks", err)
	}
	tasks := make([]exportTask, 0, len(exs))
	for _, ex := range exs {
		tasks = append(tasks, taskOf(ex))
	}
	if e.global.json {
		if err := writeJSON(e.stdout, map[string][]exportTask{"ExportTasks": tasks}); err != nil {
			return fail(ctx, e, "describe-export-tasks", err)
		}
		return exitOK
	}
	for i, t := range tasks {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		printTask(e.stdout, t)
	}
	if len(tasks) == 0 {
		fmt.Fprintf(e.stderr, "no exports in s3://%s/%s/\n", x.cfg.Bucket, x.cfg.Prefix)
	}
	return exitOK
}
