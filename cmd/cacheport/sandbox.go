package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/cacheport/cacheport/shared/twin"
	"github.com/cacheport/cacheport/shared/twin/ecsrv"
)

const sandboxSynopsis = `cacheport sandbox [--listen 127.0.0.1:PORT] [--speed N] [--fault KIND[=CACHE_ID]]... [--template FILE]

Serves the local AWS twin until interrupted: ElastiCache, EventBridge and S3 on one loopback
port, caches with real data (two replication groups, one with cluster mode enabled, a standalone
cluster, a serverless cache, a Memcached cluster and a data-tiering group), an export bucket set up
as template.yaml sets it up, and cacheport's functions running in process on the events and
schedules the template gives them. The clock starts just before the window schedule and runs
--speed times faster than real time.

It prints the endpoint, the environment to export, and example commands. Point the AWS CLI,
boto3 or cacheport at it with --endpoint-url or AWS_ENDPOINT_URL.

Faults (repeatable, KIND or KIND=CACHE_ID):
%s
Examples:
  cacheport sandbox --listen 127.0.0.1:4566
  cacheport sandbox --speed 120 --fault export-stuck=orders`

func runSandbox(ctx context.Context, e *env, args []string) int {
	fs := e.flagSet("sandbox", fmt.Sprintf(sandboxSynopsis, faultHelp()))
	listen := fs.String("listen", "127.0.0.1:4566", "address to serve on (loopback)")
	speed := fs.Float64("speed", 60, "how many times faster than real time the twin's clock runs")
	tmpl := fs.String("template", "template.yaml", "the SAM template whose rules, schedules and settings the twin runs")
	var faults multiFlag
	fs.Var(&faults, "fault", "inject a fault: KIND[=CACHE_ID] (repeatable; see above)")
	if _, err := parseArgs(fs, args); err != nil {
		return exitUsage
	}
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(2*time.Hour + 59*time.Minute)
	tw, err := twin.Start(ctx, twin.Options{
		Template: *tmpl, Listen: *listen, Start: start, Speed: *speed, Faults: faults, Caches: ecsrv.DefaultCaches(),
		Log: slog.New(slog.NewJSONHandler(e.stderr, nil)), Version: version,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "cacheport sandbox: %v\n", err)
		return exitUsage
	}
	defer tw.Close()
	env := tw.Env()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(e.stdout, "cacheport sandbox: the twin serves ElastiCache, EventBridge and S3 on %s\n", tw.URL)
	fmt.Fprintf(e.stdout, "export bucket: %s; functions in process: %s\n\n", tw.Bucket, strings.Join(tw.Functions(), ", "))
	fmt.Fprintln(e.stdout, "# point clients at it:")
	for _, k := range keys {
		fmt.Fprintf(e.stdout, "export %s=%s\n", k, env[k])
	}
	fmt.Fprintf(e.stdout, `
# then, for example:
aws elasticache describe-replication-groups
aws elasticache describe-snapshots
aws s3 ls s3://%[1]s --recursive
cacheport list-exports --bucket %[1]s
cacheport audit --bucket %[1]s

The window schedule fires at 03:00 on the twin's clock (now %s, %gx real time). Ctrl-C stops it.
`, tw.Bucket, tw.Clock.Now().Format("15:04"), *speed)

	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(e.stderr, "cacheport sandbox: stopped")
			return exitOK
		case <-tick.C:
			if err := tw.Step(ctx); err != nil && ctx.Err() == nil {
				fmt.Fprintf(e.stderr, "cacheport sandbox: %v\n", err)
			}
		}
	}
}
