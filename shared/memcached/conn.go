package memcached

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Node is one memcached server.
type Node struct {
	Name string // recorded in the dump's header: the ElastiCache node id, or Addr when empty
	Addr string // host:port
}

func (n Node) name() string {
	if n.Name != "" {
		return n.Name
	}
	return n.Addr
}

// Auth is a user and password for memcached's ASCII authentication (the -Y auth file).
type Auth struct {
	Username string
	Password string
}

// Config says how to connect to a node. The zero value is plain TCP without authentication
// and the default timeouts.
type Config struct {
	// TLS, when set, wraps every connection in TLS. Its ServerName defaults to the node's
	// host.
	TLS *tls.Config
	// Auth, when set, authenticates every connection (memcached's ASCII authentication).
	Auth *Auth
	// DialTimeout bounds connecting, TLS handshake and authentication (default 10s).
	DialTimeout time.Duration
	// IOTimeout bounds each round trip: a batch of requests and their replies (default 60s).
	IOTimeout time.Duration
}

// Default timeouts of Config.
const (
	DefaultDialTimeout = 10 * time.Second
	DefaultIOTimeout   = 60 * time.Second
)

func (c Config) withDefaults() Config {
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.IOTimeout <= 0 {
		c.IOTimeout = DefaultIOTimeout
	}
	return c
}

// NewTLSConfig returns a TLS configuration that trusts the PEM certificates in caFile in
// addition to the system's (caFile empty: the system's only). insecureSkipVerify turns off
// certificate verification, for tests only.
func NewTLSConfig(caFile string, insecureSkipVerify bool) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecureSkipVerify} //nolint:gosec // opt-in, for tests
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("memcached: read CA bundle: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("memcached: no PEM certificate in %s", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// Error is a failure talking to a node. Op says what was being done ("connect", "list",
// "fetch", "restore").
type Error struct {
	Node string
	Addr string
	Op   string
	Err  error
}

// Error formats the failure as "memcached NODE (ADDR): OP: problem".
func (e *Error) Error() string {
	return fmt.Sprintf("memcached %s (%s): %s: %v", e.Node, e.Addr, e.Op, e.Err)
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// ErrServer is wrapped by errors that the server reported (ERROR, CLIENT_ERROR, SERVER_ERROR
// and unexpected replies).
var ErrServer = errors.New("server error")

// tlsFlushBytes caps the request bytes pipelined at once over TLS. memcached 1.6.18 stalls
// when a pipelined burst of small commands exceeds its 16 KiB read buffer under TLS: the tail
// stays decrypted-but-unread inside OpenSSL while the server waits for the socket (observed
// with Debian's 1.6.18: 50 sets of 500 bytes hang, 10 of 1000 do not; plain TCP is fine).
const tlsFlushBytes = 8 << 10

// conn is one text-protocol connection.
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	cfg      Config
	maxFlush int // request bytes pipelined before replies are read; 0: no cap
}

func dial(ctx context.Context, n Node, cfg Config) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", n.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.TLS != nil {
		tc := cfg.TLS.Clone()
		if tc.ServerName == "" {
			if host, _, err := net.SplitHostPort(n.Addr); err == nil {
				tc.ServerName = host
			}
		}
		tn := tls.Client(nc, tc)
		if err := tn.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		nc = tn
	}
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, 256<<10), bw: bufio.NewWriterSize(nc, 64<<10), cfg: cfg}
	if cfg.TLS != nil {
		c.maxFlush = tlsFlushBytes
	}
	if cfg.Auth != nil {
		dl, _ := ctx.Deadline()
		_ = nc.SetDeadline(dl)
		if err := c.auth(*cfg.Auth); err != nil {
			nc.Close()
			return nil, err
		}
		_ = nc.SetDeadline(time.Time{})
	}
	return c, nil
}

// auth sends memcached's ASCII authentication: a set whose data is "user password".
func (c *conn) auth(a Auth) error {
	data := a.Username + " " + a.Password
	fmt.Fprintf(c.bw, "set auth 0 0 %d\r\n%s\r\n", len(data), data)
	if err := c.bw.Flush(); err != nil {
		return err
	}
	line, err := c.line()
	if err != nil {
		return err
	}
	if string(line) != "STORED" {
		return fmt.Errorf("authentication: %w: %s", ErrServer, line)
	}
	return nil
}

// watch makes ctx's cancellation interrupt blocked reads and writes; call the returned stop
// when done.
func (c *conn) watch(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
}

// deadline gives the next round trip IOTimeout.
func (c *conn) deadline() { _ = c.nc.SetDeadline(time.Now().Add(c.cfg.IOTimeout)) }

// line reads one reply line without its line ending. The slice is valid until the next read.
func (c *conn) line() ([]byte, error) {
	b, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("%w: reply line longer than %d bytes", ErrServer, c.br.Size())
	}
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(b[:len(b)-1], []byte{'\r'})
	return b, nil
}

func (c *conn) close() error { return c.nc.Close() }

// needsBase64 reports whether a key cannot travel as a text-protocol token.
func needsBase64(key string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] == 0x7f {
			return true
		}
	}
	return false
}

// serverErr turns an unexpected reply line into an error.
func serverErr(line []byte) error {
	return fmt.Errorf("%w: %s", ErrServer, strconv.Quote(string(line)))
}
