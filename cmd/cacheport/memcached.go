package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cacheport/cacheport/shared/mcdump"
	"github.com/cacheport/cacheport/shared/mcexport"
	"github.com/cacheport/cacheport/shared/memcached"
	"github.com/cacheport/cacheport/shared/s3read"
)

// runMemcached runs `cacheport memcached dump` (every server into its own cacheport-memcached/1
// object under an S3 prefix, as memcached-export does) and `cacheport memcached restore` (one
// dump, verified first, loaded into a server with its flags and remaining TTLs).
func runMemcached(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "dump":
			return runMemcachedDump(ctx, e, args[1:])
		case "restore":
			return runMemcachedRestore(ctx, e, args[1:])
		}
	}
	fmt.Fprintln(e.stderr, "usage: cacheport memcached dump --servers HOST:PORT[,HOST:PORT...] --to s3://BUCKET/PREFIX [--tls] [--ca FILE]")
	fmt.Fprintln(e.stderr, "       cacheport memcached restore --to HOST:PORT [--tls] [--ca FILE] s3://BUCKET/KEY|FILE")
	return exitUsage
}

// memcachedConn are the connection flags dump and restore share.
type memcachedConn struct {
	tls bool
	ca  string
}

func (m *memcachedConn) config() (memcached.Config, error) {
	if !m.tls && m.ca == "" {
		return memcached.Config{}, nil
	}
	cfg, err := memcached.NewTLSConfig(m.ca, false)
	if err != nil {
		return memcached.Config{}, err
	}
	return memcached.Config{TLS: cfg}, nil
}

// uploadS3 is the S3 client dump needs: the multipart upload's calls.
type uploadS3 = mcexport.S3API

// nodeKeyName turns host:port into the NAME of node-NAME.mcd ([a-z0-9.-], CONTRACTS.md).
func nodeKeyName(addr string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(addr) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// dumpResult is one server's line of output.
type dumpResult struct {
	Server     string `json:"server"`
	Object     string `json:"object"`
	Keys       int64  `json:"keys"`
	Vanished   int64  `json:"vanished"`
	ValueBytes int64  `json:"value_bytes"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

func runMemcachedDump(ctx context.Context, e *env, args []string) int {
	fs := e.flagSet("memcached dump", "cacheport memcached dump --servers HOST:PORT[,HOST:PORT...] --to s3://BUCKET/PREFIX [--tls] [--ca FILE]")
	var servers, to, spool string
	var conn memcachedConn
	var partMiB int
	fs.StringVar(&servers, "servers", "", "comma-separated memcached servers, HOST:PORT")
	fs.StringVar(&to, "to", "", "s3://BUCKET/PREFIX: each server's dump is PREFIX/node-HOST-PORT.mcd")
	fs.BoolVar(&conn.tls, "tls", false, "connect with TLS (ElastiCache in-transit encryption)")
	fs.StringVar(&conn.ca, "ca", "", "PEM CA bundle trusted besides the system's (implies --tls)")
	fs.StringVar(&spool, "spool", os.TempDir(), "directory for each server's key listing while it is dumped")
	fs.IntVar(&partMiB, "part-size", 8, "multipart upload part size, MiB (at least 5)")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	bucket, prefix, ok := strings.Cut(strings.TrimPrefix(to, "s3://"), "/")
	if servers == "" || !strings.HasPrefix(to, "s3://") || !ok || bucket == "" {
		fmt.Fprintln(e.stderr, "cacheport memcached dump: --servers and --to s3://BUCKET/PREFIX are required")
		return exitUsage
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	cfg, err := conn.config()
	if err != nil {
		return fail(ctx, e, "memcached dump", err)
	}
	api, err := e.newS3(ctx, e)
	if err != nil {
		return fail(ctx, e, "memcached dump", err)
	}
	up, ok := api.(uploadS3)
	if !ok {
		return fail(ctx, e, "memcached dump", errors.New("the S3 client cannot upload"))
	}
	code := exitOK
	for _, addr := range strings.Split(servers, ",") {
		addr = strings.TrimSpace(addr)
		key := prefix + "node-" + nodeKeyName(addr) + mcdumpSuffix
		res := dumpResult{Server: addr, Object: "s3://" + bucket + "/" + key}
		st, err := mcexport.DumpToS3(ctx, up, bucket, key, memcached.Node{Addr: addr}, memcached.Options{Config: cfg, SpoolDir: spool}, int64(partMiB)<<20, 1)
		res.Keys, res.Vanished, res.ValueBytes, res.DurationMS = st.Dumped, st.Vanished, st.ValueBytes, st.Duration.Milliseconds()
		if err != nil {
			if ctx.Err() != nil {
				return fail(ctx, e, "memcached dump", err)
			}
			res.Error, code = err.Error(), exitUsage
		}
		if e.global.json {
			// One object per line, one line per server (CONTRACTS.md: verbs of many sources).
			if err := json.NewEncoder(e.stdout).Encode(res); err != nil {
				return fail(ctx, e, "memcached dump", err)
			}
			continue
		}
		if res.Error != "" {
			fmt.Fprintf(e.stderr, "cacheport memcached dump: %s: %s\n", addr, res.Error)
			continue
		}
		fmt.Fprintf(e.stdout, "%s -> %s: %d keys (%d vanished), %d value bytes, %dms\n", addr, res.Object, res.Keys, res.Vanished, res.ValueBytes, res.DurationMS)
	}
	return code
}

// mcdumpSuffix ends every dump's key (CONTRACTS.md: node-NAME.mcd).
const mcdumpSuffix = ".mcd"

// restoreResult is restore's report.
type restoreResult struct {
	Source     string `json:"source"`
	Server     string `json:"server"`
	Valid      bool   `json:"valid"`
	Keys       int64  `json:"keys"`
	Restored   int64  `json:"restored"`
	Expired    int64  `json:"expired"`
	Failed     int64  `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
	Error      string `json:"error,omitempty"`
}

func runMemcachedRestore(ctx context.Context, e *env, args []string) int {
	fs := e.flagSet("memcached restore", "cacheport memcached restore --to HOST:PORT [--tls] [--ca FILE] s3://BUCKET/KEY|FILE")
	var to string
	var conn memcachedConn
	fs.StringVar(&to, "to", "", "the memcached server to load, HOST:PORT")
	fs.BoolVar(&conn.tls, "tls", false, "connect with TLS")
	fs.StringVar(&conn.ca, "ca", "", "PEM CA bundle trusted besides the system's (implies --tls)")
	rest, err := parseArgs(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		return exitUsage
	case to == "" || len(rest) != 1:
		fmt.Fprintln(e.stderr, "cacheport memcached restore: --to HOST:PORT and one source (s3://BUCKET/KEY or a file) are required")
		return exitUsage
	}
	src := rest[0]
	cfg, err := conn.config()
	if err != nil {
		return fail(ctx, e, "memcached restore", err)
	}
	res := restoreResult{Source: src, Server: to}
	// Verify first, in a pass of its own: a damaged dump is never partly restored.
	err = withDump(ctx, e, src, func(r io.Reader) error {
		rep, err := mcdump.Verify(r)
		res.Valid, res.Keys, res.Error = rep.Valid, rep.Keys, rep.Error
		return err
	})
	if err != nil {
		return fail(ctx, e, "memcached restore", err)
	}
	if !res.Valid {
		return printRestore(e, res, exitFinding)
	}
	err = withDump(ctx, e, src, func(r io.Reader) error {
		d := mcdump.NewReader(r)
		defer d.Close()
		st, err := memcached.Restore(ctx, memcached.Node{Addr: to}, d, memcached.Options{Config: cfg})
		res.Restored, res.Expired, res.Failed, res.FirstError = st.Restored, st.Expired, st.Failed, st.FirstError
		return err
	})
	if err != nil {
		return fail(ctx, e, "memcached restore", err)
	}
	code := exitOK
	if res.Failed > 0 {
		code = exitFinding
	}
	return printRestore(e, res, code)
}

func printRestore(e *env, res restoreResult, code int) int {
	if e.global.json {
		if err := writeJSON(e.stdout, res); err != nil {
			return exitUsage
		}
		return code
	}
	if !res.Valid {
		fmt.Fprintf(e.stdout, "%s: not restored: the dump is not valid: %s\n", res.Source, res.Error)
		return code
	}
	fmt.Fprintf(e.stdout, "%s -> %s: %d of %d keys restored, %d expired, %d refused", res.Source, res.Server, res.Restored, res.Keys, res.Expired, res.Failed)
	if res.FirstError != "" {
		fmt.Fprintf(e.stdout, " (first: %s)", res.FirstError)
	}
	fmt.Fprintln(e.stdout)
	return code
}

// withDump opens src (s3://BUCKET/KEY or a file) for one read by fn.
func withDump(ctx context.Context, e *env, src string, fn func(io.Reader) error) error {
	if strings.HasPrefix(src, "s3://") {
		bucket, key, ok := strings.Cut(strings.TrimPrefix(src, "s3://"), "/")
		if !ok || bucket == "" || key == "" {
			return fmt.Errorf("%s: want s3://bucket/key", src)
		}
		api, err := e.newS3(ctx, e)
		if err != nil {
			return err
		}
		r, err := s3read.Open(ctx, api, bucket, key)
		if err != nil {
			return err
		}
		defer r.Close()
		return fn(r)
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return fn(f)
}
