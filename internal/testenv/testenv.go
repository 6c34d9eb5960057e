// Package testenv starts the real servers and tools that cacheport's tests use, and decides what
// happens when one is missing: under CI=true the test fails (CI installs everything it needs);
// elsewhere it is skipped with a message saying what to install.
package testenv

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// InCI reports whether the tests run under CI (CI=true), where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing fails the test under CI and skips it elsewhere, naming what to install.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is missing and CI=true: %s (.ci/run installs it)", what, install)
	}
	t.Skipf("%s is missing: %s", what, install)
}

// Tool returns the path of a program on PATH, or fails/skips the test via Missing.
func Tool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, install)
	}
	return p
}

// Shared returns the absolute path of the shared folder (CACHEPORT_SHARED), or fails/skips.
func Shared(t testing.TB) string {
	t.Helper()
	d := os.Getenv("CACHEPORT_SHARED")
	if d == "" {
		Missing(t, "CACHEPORT_SHARED", "set it to the absolute path of ../shared (make test does)")
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		Missing(t, "CACHEPORT_SHARED="+d, "point it at the shared folder beside the checkout")
	}
	return d
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Process is a server started for one test and stopped by PID in t.Cleanup.
type Process struct {
	Addr string // host:port on loopback
	Dir  string // its working directory (a t.TempDir)
	Cmd  *exec.Cmd
}

// Start runs name with args (the literal {port} replaced by a free port) in a temporary
// directory, waits until the port accepts connections, and stops the process when the test ends.
func Start(t testing.TB, name, install string, args ...string) *Process {
	t.Helper()
	bin := Tool(t, name, install)
	dir := t.TempDir()
	port := FreePort(t)
	full := make([]string, len(args))
	for i, a := range args {
		full[i] = strings.ReplaceAll(a, "{port}", strconv.Itoa(port))
		full[i] = strings.ReplaceAll(full[i], "{dir}", dir)
	}
	cmd := exec.Command(bin, full...)
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &Process{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, Cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		_ = logf.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("%s did not listen on %s within 10s: %v\n%s", name, p.Addr, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Redis is a real redis-server on loopback, started by StartRedis.
type Redis struct {
	*Process
}

// StartRedis starts Debian's redis-server with persistence files in a temporary directory.
// extra are further command-line options such as "--rdbchecksum", "no".
func StartRedis(t testing.TB, extra ...string) *Redis {
	t.Helper()
	args := append([]string{"--port", "{port}", "--bind", "127.0.0.1", "--dir", "{dir}",
		"--save", "", "--appendonly", "no", "--enable-debug-command", "local"}, extra...)
	return &Redis{Start(t, "redis-server", "apt-get install redis-server", args...)}
}

// Do sends one command in RESP and returns the reply as text (bulk strings, integers and simple
// strings as they are; arrays joined by newlines). An error reply is returned as an error.
func (r *Redis) Do(ctx context.Context, args ...string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(c))
}

// MustDo is Do that fails the test on error.
func (r *Redis) MustDo(t testing.TB, args ...string) string {
	t.Helper()
	out, err := r.Do(context.Background(), args...)
	if err != nil {
		t.Fatalf("redis %v: %v", args, err)
	}
	return out
}

// Save runs SAVE and returns the path of the RDB file the server wrote.
func (r *Redis) Save(t testing.TB) string {
	t.Helper()
	r.MustDo(t, "SAVE")
	return filepath.Join(r.Dir, "dump.rdb")
}

func readReply(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		parts := make([]string, 0, n)
		for i := 0; i < n; i++ {
			s, err := readReply(br)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}
