package ecsrv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// MemcachedAvailable reports whether bin (default "memcached") can be found, so that Memcached
// nodes can be real processes (Options.MemcachedNodes).
func MemcachedAvailable(bin string) bool {
	if bin == "" {
		bin = "memcached"
	}
	_, err := exec.LookPath(bin)
	return err == nil
}

func (s *Server) memcachedBin() string {
	if s.o.MemcachedServer != "" {
		return s.o.MemcachedServer
	}
	return "memcached"
}

// memcachedAddrs returns the loopback addresses of c's nodes, starting and filling one memcached
// per node on first use; nil when c is not a Memcached cluster or real nodes are off. s.mu must
// not be held: starting a process takes a while.
func (s *Server) memcachedAddrs(ctx context.Context, c *cache) ([]string, error) {
	if c.spec.Kind != KindMemcached || !s.o.MemcachedNodes {
		return nil, nil
	}
	c.mcMu.Lock()
	defer c.mcMu.Unlock()
	if c.mcAddrs != nil {
		return c.mcAddrs, nil
	}
	keys := s.o.MemcachedKeys
	if keys <= 0 {
		keys = DefaultMemcachedKeys
	}
	var addrs []string
	for n := 1; n <= c.spec.Nodes; n++ {
		p, err := startMemcached(ctx, s.memcachedBin())
		if err != nil {
			return nil, fmt.Errorf("ecsrv: memcached for %s node %04d: %w", c.spec.ID, n, err)
		}
		s.mu.Lock()
		closed := s.closed
		if !closed {
			s.procs = append(s.procs, p)
		}
		s.mu.Unlock()
		if closed {
			p.stop()
			return nil, errors.New("ecsrv: server closed")
		}
		if err := fillMemcached(ctx, p.addr, fmt.Sprintf("%s:%04d:", c.spec.ID, n), keys); err != nil {
			return nil, fmt.Errorf("ecsrv: fill memcached for %s node %04d: %w", c.spec.ID, n, err)
		}
		addrs = append(addrs, p.addr)
	}
	c.mcAddrs = addrs
	return addrs, nil
}

// DefaultMemcachedKeys is how many keys a real memcached node is filled with.
const DefaultMemcachedKeys = 200

// startMemcached starts bin on a free loopback port and waits until it accepts connections
// (10 s at most). A port taken between choosing and binding is retried.
func startMemcached(ctx context.Context, bin string) (*redisProc, error) {
	return startProc(ctx, bin, "memcached", func(port int, _ string) []string {
		args := []string{"-p", strconv.Itoa(port), "-l", "127.0.0.1", "-U", "0", "-m", "64"}
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root") // memcached refuses to run as root without -u
		}
		return args
	}, func(ctx context.Context, p *redisProc) error {
		d := net.Dialer{Timeout: 200 * time.Millisecond}
		c, err := d.DialContext(ctx, "tcp", p.addr)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// fillMemcached stores n keys named prefix... with varied flags and sizes, one in ten with a TTL
// of a day (still there when the dump is read and restored).
func fillMemcached(ctx context.Context, addr, prefix string, n int) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	w := bufio.NewWriter(c)
	for i := 0; i < n; i++ {
		ttl := 0
		if i%10 == 9 {
			ttl = 24 * 3600
		}
		v := strings.Repeat(fmt.Sprintf("v%d-", i), 1+i%9)
		fmt.Fprintf(w, "set %s%d %d %d %d noreply\r\n%s\r\n", prefix, i, i%4, ttl, len(v), v)
	}
	// A final command with a reply: every set before it has been applied.
	fmt.Fprintf(w, "mn\r\n")
	if err := w.Flush(); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "MN\r\n" {
		return fmt.Errorf("memcached: unexpected reply %q", strings.TrimSpace(line))
	}
	return nil
}
