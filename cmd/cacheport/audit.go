package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cacheport/cacheport/shared/audit"
	"github.com/cacheport/cacheport/shared/export"
)

const auditHelp = `usage: cacheport audit [--max-age DURATION] [--json] [global flags]

The test plan of the control "cache data is exported to S3". For every cache in scope (the
deployment's filter: CACHEPORT_TARGET_IDS, CACHEPORT_TARGET_TAG, CACHEPORT_ENGINES), its newest
verified export (when, where, how big), that export's age against the RPO, and a verdict:

  compliant    the newest verified export is no older than the RPO
  stale        it is older than the RPO
  never        the cache has no verified export
  failing      the newest export attempt failed or was abandoned, and no verified export is
               within the RPO
  unprotected  cacheport cannot export the cache (Memcached, data tiering, ...) or a configured
               cache id matches no cache

Exit status: 0 when every cache is compliant, 1 when any is not (or none is in scope), 2 on an
AWS or configuration error.

examples:
  cacheport audit --region eu-west-1 --bucket my-exports
  cacheport audit --max-age 12h --json | jq '.[] | select(.verdict != "compliant")'
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 cacheport audit --bucket exports

flags:
`

// runAudit prints the audit: a table, or with --json one JSON list of rows.
func runAudit(ctx context.Context, e *env, args []string) int {
	fs := e.flagSet("audit", "")
	fs.Usage = func() { fmt.Fprint(e.stderr, auditHelp); fs.PrintDefaults() }
	var maxAge time.Duration
	fs.DurationVar(&maxAge, "max-age", 0, "the RPO: a newest verified export older than this is stale (default $CACHEPORT_RPO or 26h)")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	if maxAge < 0 {
		fmt.Fprintln(e.stderr, "cacheport audit: --max-age must be positive")
		return exitUsage
	}
	cfg, err := settings(e, "")
	if err != nil {
		fmt.Fprintf(e.stderr, "cacheport audit: %v\n", err)
		return exitUsage
	}
	if maxAge > 0 {
		cfg.RPO = maxAge
	}
	c, err := loadClients(ctx, e)
	if err != nil {
		return fail(ctx, e, "audit", err)
	}
	fmt.Fprintf(e.stderr, "auditing the caches of %s against s3://%s/%s/ (RPO %s)\n", c.region, cfg.Bucket, cfg.Prefix, ageHuman(cfg.RPO))
	a := audit.New(audit.OptionsFrom(cfg), c.ec, export.NewStore(c.s3, cfg.Bucket), logger(e), nil)
	rep, err := a.Run(ctx, clock())
	if err != nil {
		return fail(ctx, e, "audit", err)
	}
	if e.global.json {
		rows := rep.Rows
		if rows == nil {
			rows = []audit.Row{}
		}
		if err := writeJSON(e.stdout, rows); err != nil {
			return fail(ctx, e, "audit", err)
		}
	} else {
		printAudit(e.stdout, rep)
	}
	if !rep.Compliant() {
		if len(rep.Rows) == 0 {
			fmt.Fprintln(e.stderr, "cacheport audit: no cache in scope (check --region and the CACHEPORT_TARGET_* filter): nothing is protected")
		}
		return exitFinding
	}
	return exitOK
}

// printAudit writes the audit as a table and a summary line.
func printAudit(w io.Writer, rep *audit.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CACHE\tENGINE\tMODE\tLAST VERIFIED EXPORT\tVERIFIED AT\tSIZE\tAGE\tVERDICT\tREASON")
	for _, r := range rep.Rows {
		last, at, size, age := "-", "-", "-", "-"
		if l := r.LastVerifiedExport; l != nil {
			last, at, size = l.ExportID, l.VerifiedAt.UTC().Format("2006-01-02 15:04Z"), bytesHuman(l.Bytes)
		}
		if r.AgeSeconds != nil {
			age = ageHuman(time.Duration(*r.AgeSeconds) * time.Second)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Cache, dash(r.Engine), dash(r.Mode), last, at, size, age, r.Verdict, r.Reason)
	}
	tw.Flush()
	var parts []string
	for _, v := range []audit.Verdict{audit.Compliant, audit.Stale, audit.Never, audit.Failing, audit.Unprotected} {
		if n := rep.Counts[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
		}
	}
	if len(parts) == 0 {
		parts = []string{"no cache in scope"}
	}
	fmt.Fprintf(w, "\n%d cache(s): %s (RPO %s, exports in s3://%s/%s/)\n", len(rep.Rows), strings.Join(parts, ", "),
		ageHuman(time.Duration(rep.RPOSeconds)*time.Second), rep.Bucket, rep.Prefix)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ageHuman formats an age or an RPO in hours and minutes, as the audit's reasons do: 3h20m, 52h,
// 45m.
func ageHuman(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

// bytesHuman formats a size in binary units.
func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
