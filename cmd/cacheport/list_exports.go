package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/cacheport/cacheport/shared/export"
)

const listExportsHelp = `usage: cacheport list-exports [--cache ID] [--json] [global flags]

Lists the exports of the deployment (or of one cache), newest first: export id, cache, stage,
attempt, when it was created and last moved, size and error. With --json, stdout is one JSON
list of objects with export_id, cache, kind, engine, stage, attempt, max_attempts, window,
created_at, updated_at, bytes, location and error.

Exit status: 0, or 2 when AWS cannot be read.

examples:
  cacheport list-exports --bucket my-exports
  cacheport list-exports --bucket my-exports --cache orders --json

flags:
`

// exportSummary is one line of list-exports --json.
type exportSummary struct {
	ExportID    string        `json:"export_id"`
	Cache       string        `json:"cache"`
	Kind        export.Kind   `json:"kind"`
	Engine      string        `json:"engine"`
	Stage       export.Stage  `json:"stage"`
	Attempt     int           `json:"attempt"`
	MaxAttempts int           `json:"max_attempts"`
	Window      string        `json:"window"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
	Bytes       int64         `json:"bytes"`
	Location    string        `json:"location"`
	Error       *export.Error `json:"error"`
}

// runListExports prints the exports as a table or one JSON list.
func runListExports(ctx context.Context, e *env, args []string) int {
	fs := e.flagSet("list-exports", "")
	fs.Usage = func() { fmt.Fprint(e.stderr, listExportsHelp); fs.PrintDefaults() }
	var cache string
	fs.StringVar(&cache, "cache", "", "only this cache's exports (its id)")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	x, err := openExports(ctx, e, "")
	if err != nil {
		return failExport(ctx, e, "list-exports", err)
	}
	exs, err := x.all(ctx, cache)
	if err != nil {
		return failExport(ctx, e, "list-exports", err)
	}
	rows := make([]exportSummary, 0, len(exs))
	for _, ex := range exs {
		t := taskOf(ex)
		rows = append(rows, exportSummary{ExportID: ex.ExportID, Cache: ex.Cache.ID, Kind: ex.Cache.Kind, Engine: ex.Cache.Engine,
			Stage: ex.Stage, Attempt: ex.Attempt, MaxAttempts: ex.MaxAttempts, Window: ex.Window, CreatedAt: t.CreatedTime, UpdatedAt: t.UpdatedTime,
			Bytes: t.TotalBytes, Location: t.Location, Error: ex.Error})
	}
	if e.global.json {
		if err := writeJSON(e.stdout, rows); err != nil {
			return fail(ctx, e, "list-exports", err)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EXPORT\tCACHE\tSTAGE\tATTEMPT\tCREATED\tUPDATED\tSIZE\tERROR")
	for _, r := range rows {
		size, errCode := "-", "-"
		if r.Bytes > 0 {
			size = bytesHuman(r.Bytes)
		}
		if r.Error != nil {
			errCode = r.Error.Code
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", r.ExportID, r.Cache, r.Stage, r.Attempt, r.MaxAttempts,
			r.CreatedAt.Format("2006-01-02 15:04Z"), r.UpdatedAt.Format("2006-01-02 15:04Z"), size, errCode)
	}
	tw.Flush()
	if len(rows) == 0 {
		fmt.Fprintf(e.stderr, "no exports in s3://%s/%s/\n", x.cfg.Bucket, x.cfg.Prefix)
	}
	return exitOK
}
