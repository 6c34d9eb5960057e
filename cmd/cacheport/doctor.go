package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/cacheport/cacheport/shared/doctor"
)

const doctorHelp = `usage: cacheport doctor [--bucket B] [--fix] [--json] [global flags]

Checks cacheport's prerequisites before anything fails, one finding each with its fix:
  caller-identity            who the credentials are (sts GetCallerIdentity)
  bucket-exists              the export bucket exists and the caller can see it
  bucket-region              it is in the caches' region (--region)
  object-ownership           Object Ownership allows ACLs (not "bucket owner enforced")
  elasticache-access         ElastiCache's ACL grant (READ, WRITE, READ_ACP), or in opt-in
                             regions the bucket policy for its service principals
  public-access-block        all four public access block settings on
  default-encryption         SSE-S3 (SSE-KMS is a warning: seeding from it is undocumented)
  versioning                 on (deleted exports can be recovered)
  eventbridge-notifications  S3 sends the bucket's events to EventBridge
  rules-default-bus          a rule on the default bus routes the bucket's S3 events
  rules-cacheport-bus        rules on the cacheport bus route every cacheport event, and none
                             waits there for AWS's own events (they reach only the default bus)

--fix applies the safe fixes and says what it changed: ElastiCache's ACL grant (the owner and
every other grant are kept), Object Ownership from BucketOwnerEnforced to BucketOwnerPreferred
when the bucket ACL grants only its owner and public ACLs are blocked and ignored, and EventBridge
notifications on (the bucket's other notifications are kept). The IAM actions of each step are
not simulated (cacheport has no IAM client); the schedules are not listed (no Scheduler client).

Exit status: 0 when no finding is an error (after --fix), 1 when one is, 2 on a usage or
configuration error.

examples:
  cacheport doctor --region eu-west-1 --bucket my-exports
  cacheport doctor --region eu-west-1 --bucket my-exports --fix
  cacheport doctor --bucket my-exports --json | jq '.findings[] | select(.severity != "ok")'

flags:
`

// runDoctor checks the prerequisites and prints the findings.
func runDoctor(ctx context.Context, e *env, args []string) int {
	fs := e.flagSet("doctor", "")
	fs.Usage = func() { fmt.Fprint(e.stderr, doctorHelp); fs.PrintDefaults() }
	var fix bool
	fs.BoolVar(&fix, "fix", false, "apply the safe fixes (ElastiCache's grant, Object Ownership, EventBridge notifications)")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	cfg, err := settings(e, "")
	if err != nil {
		fmt.Fprintf(e.stderr, "cacheport doctor: %v\n", err)
		return exitUsage
	}
	c, err := loadClients(ctx, e)
	if err != nil {
		return fail(ctx, e, "doctor", err)
	}
	fmt.Fprintf(e.stderr, "checking s3://%s in %s (bus %s)%s\n", cfg.Bucket, c.region, cfg.BusName, map[bool]string{true: ", fixing what is safe to fix"}[fix])
	d := doctor.New(doctor.Options{Bucket: cfg.Bucket, Prefix: cfg.Prefix, Region: c.region, BusName: cfg.BusName, Fix: fix}, c.s3, c.events, c.sts)
	rep, err := d.Run(ctx)
	if err != nil {
		return fail(ctx, e, "doctor", err)
	}
	if e.global.json {
		if err := writeJSON(e.stdout, rep); err != nil {
			return fail(ctx, e, "doctor", err)
		}
	} else {
		printDoctor(e.stdout, rep)
	}
	if !rep.OK() {
		return exitFinding
	}
	return exitOK
}

// printDoctor writes one line per finding, its fix and what --fix changed indented below it.
func printDoctor(w io.Writer, rep *doctor.Report) {
	counts := map[doctor.Severity]int{}
	for _, f := range rep.Findings {
		counts[f.Severity]++
		fmt.Fprintf(w, "%-5s  %-26s %s\n", strings.ToUpper(string(f.Severity)), f.ID, f.Message)
		if f.Fixed != "" {
			fmt.Fprintf(w, "       %-26s changed: %s\n", "", f.Fixed)
		}
		if f.Fix != "" {
			fmt.Fprintf(w, "       %-26s fix: %s\n", "", f.Fix)
		}
	}
	fmt.Fprintf(w, "\n%d ok, %d warning(s), %d error(s), %d not checked; %d change(s) made\n",
		counts[doctor.SeverityOK], counts[doctor.SeverityWarn], counts[doctor.SeverityError], counts[doctor.SeveritySkip], len(rep.Changed()))
}
