// Command cacheport is the operator CLI: one verb per file, each listed once in commands.
//
// Exit codes (CONTRACTS.md): 0 success, 1 a finding (such as an invalid file), 2 usage,
// configuration or I/O error, 130 interrupted. With --json, stdout holds only JSON; progress
// and logs go to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

// Exit codes.
const (
	exitOK          = 0
	exitFinding     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// command is one verb of the CLI.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

// commands is the verb table: a new verb is one file with its run function and one line here.
var commands = []command{
	{"audit", "judge every cache against the RPO: its newest verified export, age, verdict", runAudit},
	{"export-cache-to-s3", "export one cache now (--wait: until verified, or failed and cleaned up)", runExportCacheToS3},
	{"describe-export-tasks", "describe exports from their records (AWS describe-* shape with --json)", runDescribeExportTasks},
	{"cancel-export-task", "cancel an export that is not verified and remove what it wrote", runCancelExportTask},
	{"list-exports", "list the exports, newest first (--cache ID for one cache)", runListExports},
	{"memcached", "dump memcached servers to S3 (dump) or load a dump into a server (restore)", runMemcached},
	{"doctor", "check the bucket, ElastiCache's access, events and rules; --fix the safe ones", runDoctor},
	{"demo", "run the export -> verify -> cleanup cycle against the local AWS twin", runDemo},
	{"sandbox", "serve the local AWS twin with cacheport's functions running, until interrupted", runSandbox},
	{"verify", "check RDB files (paths, -, s3://bucket/key): structure, checksum, counts", runVerify},
	{"version", "print cacheport's version", runVersion},
}

// env is what a verb may touch: its streams, the environment and the global flags.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	global         globalFlags
	// newS3 builds the S3 client; tests replace it with a fake.
	newS3 func(ctx context.Context, e *env) (s3API, error)
}

// globalFlags are accepted before the verb and after it.
type globalFlags struct {
	region, profile, endpoint string
	bucket, prefix            string
	json                      bool
}

func (g *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.region, "region", g.region, "AWS region")
	fs.StringVar(&g.profile, "profile", g.profile, "AWS shared config profile")
	fs.StringVar(&g.endpoint, "endpoint-url", g.endpoint, "S3-compatible endpoint (default $AWS_ENDPOINT_URL); path-style addressing")
	fs.StringVar(&g.bucket, "bucket", g.bucket, "export bucket")
	fs.StringVar(&g.prefix, "prefix", g.prefix, "export key prefix")
	fs.BoolVar(&g.json, "json", g.json, "print JSON on stdout")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, newS3: newS3Client}
	code := run(ctx, e, os.Args[1:])
	if ctx.Err() != nil && code != exitOK {
		code = exitInterrupted
	}
	stop()
	os.Exit(code)
}

// run parses the global flags and dispatches to a verb; it returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	if e.newS3 == nil {
		e.newS3 = newS3Client
	}
	fs := flag.NewFlagSet("cacheport", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	e.global.register(fs)
	fs.Usage = func() { usage(e.stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 {
		usage(e.stderr, fs)
		return exitUsage
	}
	name := fs.Arg(0)
	if name == "help" {
		usage(e.stdout, fs)
		return exitOK
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, e, fs.Args()[1:])
		}
	}
	fmt.Fprintf(e.stderr, "cacheport: unknown verb %q (cacheport help lists them)\n", name)
	return exitUsage
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: cacheport [global flags] VERB [flags] [args]")
	fmt.Fprintln(w, "\nverbs:")
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w, "\nglobal flags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// flagSet returns a verb's flag set with the global flags registered too.
func (e *env) flagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	e.global.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags wherever they appear among the positional arguments (a lone "-" is
// a positional; "--" ends the flags).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at "--" (consumed) or at the first positional.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
