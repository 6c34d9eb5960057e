package memcached

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cacheport/cacheport/internal/testenv"
)

// startMemcached starts Debian's memcached on loopback with 2 MiB items and 256 MiB of memory.
func startMemcached(t testing.TB, extra ...string) *testenv.Process {
	t.Helper()
	args := []string{"-p", "{port}", "-l", "127.0.0.1", "-U", "0", "-I", "2m", "-m", "256"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached refuses to run as root without -u
	}
	return testenv.Start(t, "memcached", "apt-get install memcached", append(args, extra...)...)
}

// item is what a test stores and expects back.
type item struct {
	key   string
	value []byte
	flags uint32
	ttl   int64 // 0: never expires; else seconds (memcached reads > 30 days as absolute)
}

// testConn is a text-protocol connection for setting up and checking a node.
type testConn struct {
	*conn
	t testing.TB
}

func connect(t testing.TB, addr string, cfg Config) *testConn {
	t.Helper()
	c, err := dial(context.Background(), Node{Addr: addr}, cfg.withDefaults())
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	t.Cleanup(func() { c.close() })
	return &testConn{c, t}
}

func (c *testConn) key(k string) (string, string) {
	if needsBase64(k) {
		return base64.StdEncoding.EncodeToString([]byte(k)), " b"
	}
	return k, ""
}

// load stores items with quiet pipelined meta sets and checks that none was refused. Over TLS
// it sets them one by one, waiting for each reply (see tlsFlushBytes).
func (c *testConn) load(items ...item) {
	c.t.Helper()
	_ = c.nc.SetDeadline(time.Now().Add(time.Minute))
	q := " q"
	if c.maxFlush > 0 {
		q = ""
	}
	for _, it := range items {
		k, b := c.key(it.key)
		fmt.Fprintf(c.bw, "ms %s %d%s F%d T%d%s\r\n", k, len(it.value), b, it.flags, it.ttl, q)
		_, _ = c.bw.Write(it.value)
		_, _ = c.bw.WriteString("\r\n")
		if q == "" {
			if err := c.bw.Flush(); err != nil {
				c.t.Fatal(err)
			}
			if line, err := c.line(); err != nil || string(line) != "HD" {
				c.t.Fatalf("set %q: %q %v", it.key, line, err)
			}
		}
	}
	if q != "" {
		c.sync()
	}
}

// sync sends a meta no-op and expects nothing but its MN before it.
func (c *testConn) sync() {
	c.t.Helper()
	_, _ = c.bw.WriteString("mn\r\n")
	if err := c.bw.Flush(); err != nil {
		c.t.Fatal(err)
	}
	line, err := c.line()
	if err != nil || string(line) != "MN" {
		c.t.Fatalf("sync: %q %v", line, err)
	}
}

// get returns a key's value, flags and remaining TTL (-1: none); ok is false on a miss.
func (c *testConn) get(key string) (value []byte, flags uint32, ttl int64, ok bool) {
	c.t.Helper()
	k, b := c.key(key)
	_ = c.nc.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c.bw, "mg %s%s v f t\r\n", k, b)
	if err := c.bw.Flush(); err != nil {
		c.t.Fatal(err)
	}
	line, err := c.line()
	if err != nil {
		c.t.Fatal(err)
	}
	if string(line) == "EN" {
		return nil, 0, 0, false
	}
	rec, err := parseVA(line, key, time.Unix(0, 0))
	if err != nil {
		c.t.Fatal(err)
	}
	value = make([]byte, rec.Size+2)
	if _, err := io.ReadFull(c.br, value); err != nil {
		c.t.Fatal(err)
	}
	ttl = -1
	if rec.Expiry != 0 {
		ttl = rec.Expiry
	}
	return value[:rec.Size], rec.Flags, ttl, true
}

// del deletes keys with quiet meta deletes.
func (c *testConn) del(keys ...string) {
	c.t.Helper()
	for _, key := range keys {
		k, b := c.key(key)
		fmt.Fprintf(c.bw, "md %s%s q\r\n", k, b)
	}
	c.sync()
}

// fixture is a mix of keys: flags, TTLs (none, short, long, beyond 30 days), binary values,
// binary keys, empty and 1 MiB values.
func fixture(now time.Time) []item {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	var items []item
	for i := 0; i < 500; i++ {
		it := item{key: "key:" + strconv.Itoa(i), value: []byte("value " + strconv.Itoa(i)), flags: uint32(i * 7919)}
		switch i % 4 {
		case 1:
			it.ttl = 100 + int64(i)
		case 2:
			it.ttl = 86400
		case 3:
			it.ttl = now.Unix() + 40*86400 // absolute
		}
		items = append(items, it)
	}
	items = append(items,
		item{key: "all-bytes", value: all, flags: 0xffffffff},
		item{key: "all-bytes x64", value: bytes.Repeat(all, 64), ttl: 500},
		item{key: "bin\x01key\x7f", value: []byte("binary key"), flags: 1},
		item{key: "plus+percent%", value: []byte("escaped in listings")},
		item{key: "with space", value: []byte("only the binary protocol or base64 can write this key")},
		item{key: "empty", value: nil, flags: 9, ttl: 60},
	)
	for i := 0; i < 4; i++ {
		v := make([]byte, 1<<20)
		for j := range v {
			v[j] = byte(j*31 + i)
		}
		items = append(items, item{key: "mib:" + strconv.Itoa(i), value: v, flags: uint32(i), ttl: int64(i * 1000)})
	}
	return items
}
