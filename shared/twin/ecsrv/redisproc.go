package ecsrv

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
	"strconv"
	"strings"
	"time"
)

// redisProc is a server process on loopback (a redis-server shard, or a memcached node) in its
// own temporary directory, stopped by its PID.
type redisProc struct {
	cmd    *exec.Cmd
	dir    string
	addr   string
	log    *os.File
	exited chan struct{} // closed when Wait returns
}

// startRedis starts bin on a free loopback port with persistence only on SAVE, and waits until
// it answers PING (10 s at most). A port taken between choosing and binding is retried.
func startRedis(ctx context.Context, bin string) (*redisProc, error) {
	return startProc(ctx, bin, "redis", func(port int, dir string) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"}
	}, func(ctx context.Context, p *redisProc) error {
		_, err := p.do(ctx, "PING")
		return err
	})
}

// startProc starts bin with args(port, dir) on a free loopback port in a new temporary
// directory and waits until ready answers (10 s at most). A port taken between choosing and
// binding is retried.
func startProc(ctx context.Context, bin, kind string, args func(port int, dir string) []string, ready func(context.Context, *redisProc) error) (*redisProc, error) {
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := startProcOnce(ctx, bin, kind, args, ready)
		if err == nil {
			return p, nil
		}
		last = err
	}
	return nil, last
}

func startProcOnce(ctx context.Context, bin, kind string, args func(port int, dir string) []string, ready func(context.Context, *redisProc) error) (*redisProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ecsrv-"+kind+"-")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, kind+".log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Not exec.CommandContext: the process outlives the request that started it.
	cmd := exec.Command(bin, args(port, dir)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	p := &redisProc{cmd: cmd, dir: dir, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), log: logf, exited: exited}
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := ready(ctx, p); err == nil {
			return p, nil
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(logf.Name())
			logf.Close()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%s exited at start: %s", bin, strings.TrimSpace(string(out)))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not answer on %s within 10s", bin, p.addr)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// stop kills the process by its PID and removes its directory.
func (p *redisProc) stop() error {
	err := p.cmd.Process.Kill()
	if errors.Is(err, os.ErrProcessDone) {
		err = nil
	}
	// The goroutine started with the process reaps it.
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
	p.log.Close()
	os.RemoveAll(p.dir)
	return err
}

// populate fills the server with n keys of several types (strings, integers, lists, sets,
// integer sets, hashes, sorted sets, some with expiries) named prefix..., in database 0 and,
// when otherDB, a tenth of them in database 1.
func (p *redisProc) populate(ctx context.Context, prefix string, n int, otherDB bool) error {
	var cmds [][]string
	db := 0
	for i := 0; i < n; i++ {
		if otherDB && i == n-n/10 {
			cmds = append(cmds, []string{"SELECT", "1"})
			db = 1
		}
		k := fmt.Sprintf("%s%d", prefix, i)
		switch i % 7 {
		case 0:
			cmds = append(cmds, []string{"SET", k + ":str", strings.Repeat(fmt.Sprintf("v%d-", i), 1+i%9)})
		case 1:
			cmds = append(cmds, []string{"SET", k + ":int", strconv.Itoa(i * 7919)})
		case 2:
			cmds = append(cmds, []string{"RPUSH", k + ":list", "a" + strconv.Itoa(i), "b", strconv.Itoa(i), strings.Repeat("x", i%50+1)})
		case 3:
			cmds = append(cmds, []string{"SADD", k + ":set", "m1-" + strconv.Itoa(i), "m2", "m3"})
		case 4:
			cmds = append(cmds, []string{"SADD", k + ":intset", strconv.Itoa(i), strconv.Itoa(i + 1000), "-5"})
		case 5:
			cmds = append(cmds, []string{"HSET", k + ":hash", "name", "n" + strconv.Itoa(i), "count", strconv.Itoa(i), "note", strings.Repeat("h", i%30+1)})
		case 6:
			cmds = append(cmds, []string{"ZADD", k + ":zset", "1", "one", "2.5", "two-and-a-half", strconv.Itoa(i), "i" + strconv.Itoa(i)})
		}
		if i%10 == 9 {
			// Keys with expiries a day out: still there when the snapshot is taken and restored.
			cmds = append(cmds, []string{"SET", k + ":ttl", "expiring", "PX", strconv.Itoa(24 * 3600 * 1000)})
		}
	}
	if db != 0 {
		cmds = append(cmds, []string{"SELECT", "0"})
	}
	return p.pipeline(ctx, cmds)
}

// save runs SAVE and returns dump.rdb's bytes.
func (p *redisProc) save(ctx context.Context) ([]byte, error) {
	if _, err := p.do(ctx, "SAVE"); err != nil {
		return nil, fmt.Errorf("SAVE on %s: %w", p.addr, err)
	}
	return os.ReadFile(filepath.Join(p.dir, "dump.rdb"))
}

func (p *redisProc) do(ctx context.Context, args ...string) (string, error) {
	var out string
	err := p.run(ctx, [][]string{args}, func(r string) { out = r })
	return out, err
}

func (p *redisProc) pipeline(ctx context.Context, cmds [][]string) error {
	return p.run(ctx, cmds, func(string) {})
}

// run sends cmds on one connection and reads one reply per command.
func (p *redisProc) run(ctx context.Context, cmds [][]string, reply func(string)) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	dl := time.Now().Add(30 * time.Second)
	if t, ok := ctx.Deadline(); ok && t.Before(dl) {
		dl = t
	}
	_ = c.SetDeadline(dl)
	w := bufio.NewWriter(c)
	for _, args := range cmds {
		fmt.Fprintf(w, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(w, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	for range cmds {
		r, err := readReply(br)
		if err != nil {
			return err
		}
		reply(r)
	}
	return nil
}

// readReply reads one RESP reply; error replies are errors; arrays are joined by newlines.
func readReply(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("redis: empty reply")
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
		parts := make([]string, 0, min(n, 1024))
		for i := 0; i < n; i++ {
			s, err := readReply(br)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("redis: unexpected reply %q", line)
}
