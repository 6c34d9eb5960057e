package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/rdb"
	"github.com/cacheport/cacheport/shared/s3read"
)

// s3API is what verify needs from S3.
type s3API = s3read.API

// verifyOptions are verify's own flags.
type verifyOptions struct {
	partSize int64
	parts    int
	maxBlob  int
	load     bool // the restore drill
}

// runVerify checks each SOURCE (a path, - for stdin, or s3://bucket/key) and prints one
// report per source: a JSON object per line with --json, else a human summary. Exit 0 when all
// are valid, 1 when any is not, 2 when a source cannot be read or the usage is wrong.
func runVerify(ctx context.Context, e *env, args []string) int {
	fs := e.flagSet("verify", `cacheport verify [--json] [--load] [--part-size N] [--parts N] SOURCE...

With --load (the restore drill) each valid file is also loaded into a throwaway redis-server or
valkey-server on loopback (one on PATH that reads the file's RDB version), which must then hold
the file's keys that had not expired at load time. Without a compatible server it says which
release the file needs.

Examples:
  cacheport verify dump.rdb
  cacheport verify --json s3://exports/cacheport/orders/orders-20261124-0300/a1/orders-20261124-0300-0001.rdb
  cacheport verify --load dump.rdb`)
	var o verifyOptions
	fs.Int64Var(&o.partSize, "part-size", s3read.DefaultPartSize, "bytes per ranged GET when reading from S3")
	fs.IntVar(&o.parts, "parts", s3read.DefaultParts, "ranged GETs in flight (the S3 buffer budget is part-size × parts)")
	fs.IntVar(&o.maxBlob, "max-blob", rdb.DefaultMaxBlob, "largest key or encoded value held whole, in bytes")
	fs.BoolVar(&o.load, "load", false, "the restore drill: load each valid file into a throwaway server and compare its keys")
	srcs, err := parseArgs(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(srcs) == 0 {
		fs.Usage()
		return exitUsage
	}
	if o.partSize <= 0 || o.parts <= 0 || o.maxBlob <= 0 {
		fmt.Fprintln(e.stderr, "cacheport verify: --part-size, --parts and --max-blob must be positive")
		return exitUsage
	}
	code := exitOK
	for _, src := range srcs {
		rep, file, err := verifySource(ctx, e, src, o)
		if err != nil {
			code = exitUsage
			rep.Source, rep.Error = src, err.Error()
		} else if !rep.Valid && code == exitOK {
			code = exitFinding
		}
		var dr *drillReport
		if o.load && err == nil && rep.Valid {
			dr = runDrill(ctx, file, rep)
			switch {
			case dr.Error != "":
				code = exitUsage
			case !dr.OK && code == exitOK:
				code = exitFinding
			}
		}
		if file != "" && file != src {
			os.Remove(file)
		}
		if e.global.json {
			b, _ := json.Marshal(struct {
				*rdb.Report
				Drill *drillReport `json:"drill,omitempty"`
			}{rep, dr})
			fmt.Fprintf(e.stdout, "%s\n", b)
		} else {
			printHuman(e.stdout, rep, err)
			dr.print(e.stdout)
		}
		if ctx.Err() != nil {
			return exitInterrupted
		}
	}
	return code
}

// verifySource verifies one source. The error is for sources that cannot be read (the report
// then says what was learnt); an invalid file is a report with Valid false.
// With o.load it also returns a local file holding the bytes (the source itself, or a temporary
// copy made while verifying, which the caller removes).
func verifySource(ctx context.Context, e *env, src string, o verifyOptions) (*rdb.Report, string, error) {
	r, closeFn, err := openSource(ctx, e, src, o)
	if err != nil {
		return &rdb.Report{Warnings: []string{}, KeysByDB: map[string]int64{}, Databases: []int{}, Types: map[string]int64{}}, "", err
	}
	defer closeFn()
	var total int64
	switch rd := r.(type) {
	case *os.File:
		if st, err := rd.Stat(); err == nil && st.Mode().IsRegular() {
			total = st.Size()
		}
	case *s3read.Reader:
		total = rd.Size()
	}
	r, stop := withProgress(r, e.stderr, "verify "+src, total)
	defer stop()
	file := ""
	if o.load {
		if !strings.HasPrefix(src, "s3://") && src != "-" {
			file = src
		} else {
			tmp, err := os.CreateTemp("", "cacheport-load-*.rdb")
			if err != nil {
				return &rdb.Report{Warnings: []string{}, KeysByDB: map[string]int64{}}, "", err
			}
			defer tmp.Close()
			file, r = tmp.Name(), io.TeeReader(r, tmp)
		}
	}
	rep, err := rdb.Verify(r, func(ro *rdb.Options) { ro.MaxBlob = o.maxBlob })
	rep.Source = src
	if err != nil {
		return rep, file, fmt.Errorf("read %s: %w", src, err)
	}
	return rep, file, nil
}

func openSource(ctx context.Context, e *env, src string, o verifyOptions) (io.Reader, func(), error) {
	switch {
	case src == "-":
		return e.stdin, func() {}, nil
	case strings.HasPrefix(src, "s3://"):
		bucket, key, ok := strings.Cut(strings.TrimPrefix(src, "s3://"), "/")
		if !ok || bucket == "" || key == "" {
			return nil, nil, fmt.Errorf("%s: want s3://bucket/key", src)
		}
		api, err := e.newS3(ctx, e)
		if err != nil {
			return nil, nil, err
		}
		r, err := s3read.Open(ctx, api, bucket, key, func(so *s3read.Options) {
			so.PartSize, so.Parts = o.partSize, o.parts
		})
		if err != nil {
			return nil, nil, err
		}
		return r, func() { r.Close() }, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// newS3Client builds an S3 client from the global flags and the AWS shared configuration;
// a custom endpoint (--endpoint-url or AWS_ENDPOINT_URL) uses path-style addressing.
func newS3Client(ctx context.Context, e *env) (s3API, error) {
	var opts []func(*config.LoadOptions) error
	if e.global.region != "" {
		opts = append(opts, config.WithRegion(e.global.region))
	}
	if e.global.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(e.global.profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	endpoint := e.global.endpoint
	if endpoint == "" {
		endpoint = e.getenv("AWS_ENDPOINT_URL")
	}
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if endpoint != "" {
			so.BaseEndpoint = aws.String(endpoint)
			so.UsePathStyle = true
		}
	}), nil
}

func printHuman(w io.Writer, rep *rdb.Report, ioErr error) {
	switch {
	case ioErr != nil:
		fmt.Fprintf(w, "ERROR    %s: %v\n", rep.Source, ioErr)
		return
	case rep.Valid:
		fmt.Fprintf(w, "VALID    %s\n", rep.Source)
	default:
		fmt.Fprintf(w, "INVALID  %s: %s\n", rep.Source, rep.Error)
	}
	if rep.Dialect != "" {
		fmt.Fprintf(w, "         %s RDB version %d, checksum %s, %d bytes, sha256 %s\n",
			rep.Dialect, rep.RDBVersion, orDash(rep.Checksum), rep.Bytes, orDash(rep.SHA256))
	}
	dbs := make([]string, 0, len(rep.Databases))
	for _, db := range rep.Databases {
		dbs = append(dbs, fmt.Sprintf("db%d=%d", db, rep.KeysByDB[fmt.Sprint(db)]))
	}
	kinds := make([]string, 0, len(rep.Types))
	for k, n := range rep.Types {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "         %d keys (%s), %d with expiry, types %s, %d functions\n",
		rep.Keys, strings.Join(dbs, " "), rep.Expires, strings.Join(kinds, " "), rep.Functions)
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "         warning: %s\n", warn)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
