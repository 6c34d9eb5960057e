package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/doctor"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/start"
	"github.com/cacheport/cacheport/shared/verify"
)

// s3Client is every S3 call the AWS verbs make: records (export), verification (verify), the
// bucket checks and fixes (doctor), and the versioned listing and deletes of the clean-up.
type s3Client interface {
	doctor.S3API
	verify.S3API
	ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, opts ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// ecClient is every ElastiCache call the AWS verbs make: start-export's, and the clean-up's
// snapshot deletes.
type ecClient interface {
	start.ElastiCacheAPI
	DeleteSnapshot(ctx context.Context, in *elasticache.DeleteSnapshotInput, opts ...func(*elasticache.Options)) (*elasticache.DeleteSnapshotOutput, error)
	DeleteServerlessCacheSnapshot(ctx context.Context, in *elasticache.DeleteServerlessCacheSnapshotInput, opts ...func(*elasticache.Options)) (*elasticache.DeleteServerlessCacheSnapshotOutput, error)
}

// eventsClient is every EventBridge call the AWS verbs make.
type eventsClient interface {
	export.EventsAPI
	doctor.EventsAPI
}

var (
	_ s3Client     = (*s3.Client)(nil)
	_ ecClient     = (*elasticache.Client)(nil)
	_ eventsClient = (*eventbridge.Client)(nil)
)

// clients are the AWS clients of the verbs that talk to AWS (or the twin).
type clients struct {
	region string
	s3     s3Client
	ec     ecClient
	events eventsClient
	sts    doctor.IdentityAPI
}

// loadClients builds the clients from the global flags; tests replace it with fakes.
var loadClients = func(ctx context.Context, e *env) (*clients, error) {
	c, err := awsconf.Load(ctx, awsconf.Settings{Region: e.global.region, Profile: e.global.profile, Endpoint: e.global.endpoint, Getenv: e.getenv})
	if err != nil {
		return nil, err
	}
	if c.Config.Region == "" {
		return nil, errors.New("no AWS region: pass --region or set AWS_REGION (the caches' region)")
	}
	return &clients{region: c.Config.Region, s3: c.S3, ec: c.ElastiCache, events: c.EventBridge, sts: sts.NewFromConfig(c.Config)}, nil
}

// clock is the CLI's time; tests fix it.
var clock = time.Now

// settings reads cacheport's settings as the functions do (CACHEPORT_* variables, see
// docs/architecture.md), with --bucket and --prefix taking precedence over CACHEPORT_BUCKET and
// CACHEPORT_PREFIX. A bucket given only as a verb's own flag (e.g. --s3-bucket-name) is passed
// as bucket.
func settings(e *env, bucket string) (config.Config, error) {
	if bucket == "" {
		bucket = e.global.bucket
	}
	getenv := func(k string) string {
		switch {
		case k == "CACHEPORT_BUCKET" && bucket != "":
			return bucket
		case k == "CACHEPORT_PREFIX" && e.global.prefix != "":
			return e.global.prefix
		}
		return e.getenv(k)
	}
	c, err := config.Load(getenv)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) && ce.Var == "CACHEPORT_BUCKET" && getenv("CACHEPORT_BUCKET") == "" {
			return c, errors.New("no export bucket: pass --bucket or set CACHEPORT_BUCKET")
		}
		return c, err
	}
	return c, nil
}

// logger is the log of the shared packages a verb runs, on stderr: plain text, warnings and up
// (the verbs print their own progress).
func logger(e *env) *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// writeJSON prints v as the command's one JSON document.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// fail reports err for verb on stderr and returns the exit code for it: interrupted, or 2 (an
// AWS, configuration or I/O error), with a hint for the common AWS causes.
func fail(ctx context.Context, e *env, verb string, err error) int {
	if ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "cacheport %s: interrupted\n", verb)
		return exitInterrupted
	}
	fmt.Fprintf(e.stderr, "cacheport %s: %v\n", verb, err)
	switch awserr.Code(err) {
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
		// S3 answers these when the bucket lives in another region than the one asked.
		fmt.Fprintf(e.stderr, "  the bucket is in another region than --region: cacheport doctor says which; ElastiCache exports only to a bucket in the caches' region\n")
		return exitUsage
	}
	switch awserr.Classify(err) {
	case awserr.Permission:
		fmt.Fprintf(e.stderr, "  the caller may not make this call: check its IAM policy (cacheport doctor checks the bucket)\n")
	case awserr.NotFound:
		fmt.Fprintf(e.stderr, "  something named does not exist: check --bucket, --region and the cache id (cacheport doctor checks the bucket)\n")
	case awserr.Throttled:
		fmt.Fprintf(e.stderr, "  AWS throttled the calls: try again in a minute\n")
	}
	return exitUsage
}

// parseFlags parses a verb's flags, which take no positional arguments. ok is false when the
// verb must stop, with code: 0 for --help, 2 for a usage error.
func parseFlags(e *env, fs *flag.FlagSet, args []string) (code int, ok bool) {
	rest, err := parseArgs(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	case err != nil:
		return exitUsage, false
	case len(rest) > 0:
		fmt.Fprintf(e.stderr, "cacheport %s: unexpected argument %q (see --help)\n", fs.Name(), rest[0])
		return exitUsage, false
	}
	return exitOK, true
}
