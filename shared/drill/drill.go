// Package drill is the restore drill: it loads an RDB file into a throwaway redis-server or
// valkey-server on loopback and checks that the server holds the keys the file holds that had
// not expired at load time. No AWS API tells a snapshot's key count, so this is how an export is
// compared with a cache.
package drill

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cacheport/cacheport/shared/rdb"
)

// Server is a redis-server or valkey-server program found on PATH.
type Server struct {
	Path    string
	Name    string // "redis" or "valkey"
	Version string // e.g. "7.0.15"
	MaxRDB  int    // the newest RDB version it loads
}

var versionRe = regexp.MustCompile(`v=(\d+\.\d+\.\d+)`)

// Find lists the servers on PATH with the RDB versions they load.
func Find() []Server {
	var out []Server
	for _, name := range []string{"redis", "valkey"} {
		path, err := exec.LookPath(name + "-server")
		if err != nil {
			continue
		}
		b, err := exec.Command(path, "--version").Output()
		if err != nil {
			continue
		}
		m := versionRe.FindStringSubmatch(string(b))
		if m == nil {
			continue
		}
		out = append(out, Server{Path: path, Name: name, Version: m[1], MaxRDB: MaxRDB(name, m[1])})
	}
	return out
}

// MaxRDB returns the newest RDB version a server release loads (RDB-FACTS.md), 0 when unknown.
func MaxRDB(name, version string) int {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return 0
	}
	major, _ := strconv.Atoi(parts[0])
	minor, _ := strconv.Atoi(parts[1])
	v := major*100 + minor
	switch name {
	case "redis":
		switch {
		case v >= 704:
			return 12
		case v >= 702:
			return 11
		case v >= 700:
			return 10
		case v >= 600:
			return 9
		case v >= 500:
			return 9
		}
	case "valkey":
		switch {
		case v >= 902:
			return 81
		case v >= 900:
			return 80
		case v >= 702:
			return 11
		}
	}
	return 0
}

// needs says which releases load a file of this dialect and version.
func needs(dialect string, version int) string {
	switch {
	case dialect == "valkey" && version >= 81:
		return "valkey-server 9.2 or later"
	case dialect == "valkey":
		return "valkey-server 9.0 or later"
	case version >= 12:
		return "redis-server 7.4 or later"
	case version == 11:
		return "redis-server 7.2 or later, or valkey-server 7.2 or later"
	case version == 10:
		return "redis-server 7.0 or later, or valkey-server 7.2 or later"
	}
	return "redis-server 6.2 or later, or valkey-server 7.2 or later"
}

// ErrNoServer is wrapped by Choose's error when no server on PATH can load the file.
var ErrNoServer = errors.New("no compatible server")

// Choose picks the first server that loads a file of this dialect and RDB version.
func Choose(servers []Server, dialect string, version int) (Server, error) {
	for _, s := range servers {
		if version > s.MaxRDB {
			continue
		}
		if dialect == "valkey" && s.Name != "valkey" {
			continue
		}
		if dialect != "valkey" && s.Name == "valkey" && version > 11 {
			continue // versions 12-79 are foreign to Valkey
		}
		return s, nil
	}
	return Server{}, fmt.Errorf("%w: a %s RDB version %d file needs %s on PATH", ErrNoServer, dialect, version, needs(dialect, version))
}

// Expectation is what the file says a server should hold once loaded at a given time.
type Expectation struct {
	Total   int64 // key entries in the file
	Expired int64 // of them, expired before the load started
	Soon    int64 // of them, expiring while the load runs (within the window)
}

// Expect reads the file and counts its keys, those expired at t and those expiring within window
// after t.
func Expect(r io.Reader, t time.Time, window time.Duration) (Expectation, error) {
	var x Expectation
	p := rdb.NewReader(r)
	defer p.Close()
	at, until := t.UnixMilli(), t.Add(window).UnixMilli()
	for {
		e, err := p.Next()
		if err == io.EOF {
			return x, nil
		}
		if err != nil {
			return x, err
		}
		x.Total++
		switch {
		case !e.HasExpiry:
		case e.Expiry <= at:
			x.Expired++
		case e.Expiry <= until:
			x.Soon++
		}
	}
}

// Result is the drill's verdict.
type Result struct {
	Server   string           `json:"server"`
	Expected Expectation      `json:"expected"`
	Loaded   int64            `json:"loaded"`
	KeysByDB map[string]int64 `json:"loaded_by_db"`
	OK       bool             `json:"ok"`
	Message  string           `json:"message"`
	Seconds  float64          `json:"seconds"`
}

// Run loads file into a throwaway srv on loopback (in a temporary directory, stopped by PID when
// done) and compares what it holds with the file. The error is for a drill that could not run
// (the server would not start or load); a mismatch is a Result with OK false.
func Run(ctx context.Context, file string, srv Server) (Result, error) {
	res := Result{Server: srv.Name + "-server " + srv.Version}
	t0 := time.Now()
	f, err := os.Open(file)
	if err != nil {
		return res, err
	}
	x, err := Expect(f, t0, 10*time.Minute)
	f.Close()
	if err != nil {
		return res, fmt.Errorf("read %s: %w", file, err)
	}
	res.Expected = x
	dir, err := os.MkdirTemp("", "cacheport-drill-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	if err := copyFile(file, filepath.Join(dir, "dump.rdb")); err != nil {
		return res, err
	}
	port, err := freePort()
	if err != nil {
		return res, err
	}
	cmd := exec.CommandContext(ctx, srv.Path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--protected-mode", "yes")
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return res, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start %s: %w", srv.Path, err)
	}
	defer func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	keyspace, err := waitLoaded(ctx, addr, 10*time.Minute)
	if err != nil {
		log, _ := os.ReadFile(logf.Name())
		return res, fmt.Errorf("%s did not load the file: %w\n%s", res.Server, err, tail(log, 2000))
	}
	res.KeysByDB = keyspace
	for _, n := range keyspace {
		res.Loaded += n
	}
	res.Seconds = time.Since(t0).Seconds()
	hi, lo := x.Total-x.Expired, x.Total-x.Expired-x.Soon
	res.OK = res.Loaded >= lo && res.Loaded <= hi
	if res.OK {
		res.Message = fmt.Sprintf("%s holds %d keys: the file's %d, less %d already expired", res.Server, res.Loaded, x.Total, x.Total-res.Loaded)
	} else {
		res.Message = fmt.Sprintf("%s holds %d keys; the file has %d, %d of them expired before the load and %d expiring during it, so %d to %d were expected",
			res.Server, res.Loaded, x.Total, x.Expired, x.Soon, lo, hi)
	}
	return res, nil
}

var dbRe = regexp.MustCompile(`(?m)^db(\d+):keys=(\d+)`)

// waitLoaded waits until the server answers PING (not LOADING) and returns INFO keyspace.
func waitLoaded(ctx context.Context, addr string, limit time.Duration) (map[string]int64, error) {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := command(addr, "PING"); err != nil {
			last = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		info, err := command(addr, "INFO", "keyspace")
		if err != nil {
			return nil, err
		}
		out := map[string]int64{}
		for _, m := range dbRe.FindAllStringSubmatch(info, -1) {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			out[m[1]] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("not ready within %s: %v", limit, last)
}

// command sends one command and returns a simple, integer or bulk reply.
func command(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		return "", err
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "-"):
		return "", errors.New(line[1:])
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 || n > 1<<20 {
			return "", fmt.Errorf("unexpected reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return strings.TrimLeft(line, "+:"), nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
