package memcached

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cacheport/cacheport/shared/mcdump"
)

func newDump(t testing.TB, buf *bytes.Buffer, node string) *mcdump.Writer {
	t.Helper()
	w, err := mcdump.NewWriter(buf, mcdump.Header{Node: node, Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func verify(t testing.TB, obj []byte) mcdump.Report {
	t.Helper()
	rep, err := mcdump.Verify(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestDumpVerifyRestore(t *testing.T) {
	src, dst := startMemcached(t), startMemcached(t)
	now := time.Now()
	items := fixture(now)
	sc := connect(t, src.Addr, Config{})
	sc.load(items...)

	ctx := context.Background()
	var buf bytes.Buffer
	st, err := Dump(ctx, Node{Name: "node-0001", Addr: src.Addr}, newDump(t, &buf, "node-0001"), Options{Batch: 37})
	if err != nil {
		t.Fatal(err)
	}
	if st.Listed != int64(len(items)) || st.Dumped != st.Listed || st.Vanished != 0 || st.Crawl != CrawlHash {
		t.Fatalf("stats %+v, %d items", st, len(items))
	}
	// The LRU crawl, for servers without the hash crawl, lists the same keys when they stay put.
	var lru bytes.Buffer
	if st, err := Dump(ctx, Node{Addr: src.Addr}, newDump(t, &lru, "n"), Options{lruCrawl: true}); err != nil || st.Crawl != CrawlAll || st.Dumped != int64(len(items)) {
		t.Fatalf("lru crawl: %+v %v", st, err)
	}
	rep := verify(t, buf.Bytes())
	expires := 0
	for _, it := range items {
		if it.ttl != 0 {
			expires++
		}
	}
	if !rep.Valid || rep.Keys != int64(len(items)) || rep.Expires != int64(expires) || rep.Node != "node-0001" || len(rep.Warnings) != 0 {
		t.Fatalf("report %+v", rep)
	}

	r := mcdump.NewReader(bytes.NewReader(buf.Bytes()))
	rst, err := Restore(ctx, Node{Addr: dst.Addr}, r, Options{Batch: 50})
	if err != nil {
		t.Fatal(err)
	}
	if rst.Restored != int64(len(items)) || rst.Failed != 0 || rst.Expired != 0 {
		t.Fatalf("restore %+v", rst)
	}
	dc := connect(t, dst.Addr, Config{})
	for _, it := range items {
		v, f, ttl, ok := dc.get(it.key)
		if !ok {
			t.Errorf("%q missing after restore", it.key)
			continue
		}
		if !bytes.Equal(v, it.value) || f != it.flags {
			t.Errorf("%q: value %d bytes flags %d, want %d bytes flags %d", it.key, len(v), f, len(it.value), it.flags)
		}
		_, _, srcTTL, _ := sc.get(it.key)
		if (it.ttl == 0) != (ttl == -1) || abs(ttl-srcTTL) > 2 {
			t.Errorf("%q: ttl %d, source %d (set with %d)", it.key, ttl, srcTTL, it.ttl)
		}
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestVanishedKeys(t *testing.T) {
	p := startMemcached(t)
	c := connect(t, p.Addr, Config{})
	var items []item
	for i := 0; i < 1000; i++ {
		items = append(items, item{key: "k" + strconv.Itoa(i), value: []byte(strconv.Itoa(i))})
	}
	c.load(items...)
	killer := connect(t, p.Addr, Config{})
	var deleted []string
	opts := Options{Batch: 50}
	opts.beforeFetch = func(keys []string) {
		var gone []string
		for i, k := range keys {
			if i%3 == 0 {
				gone = append(gone, k)
			}
		}
		killer.del(gone...)
		deleted = append(deleted, gone...)
	}
	var buf bytes.Buffer
	st, err := Dump(context.Background(), Node{Addr: p.Addr}, newDump(t, &buf, "n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Vanished != int64(len(deleted)) || st.Dumped != int64(len(items)-len(deleted)) || st.Listed != int64(len(items)) {
		t.Fatalf("stats %+v, deleted %d", st, len(deleted))
	}
	rep := verify(t, buf.Bytes())
	if !rep.Valid || rep.Vanished != st.Vanished || rep.Keys != st.Dumped || len(rep.Warnings) != 1 {
		t.Fatalf("report %+v", rep)
	}
}

func TestNodeKilledMidDump(t *testing.T) {
	p := startMemcached(t)
	c := connect(t, p.Addr, Config{})
	var items []item
	val := bytes.Repeat([]byte("x"), 2000)
	for i := 0; i < 20000; i++ {
		items = append(items, item{key: "k" + strconv.Itoa(i), value: val})
	}
	c.load(items...)
	var once sync.Once
	batches := 0
	opts := Options{Batch: 100}
	opts.beforeFetch = func([]string) {
		if batches++; batches == 5 {
			once.Do(func() {
				_ = p.Cmd.Process.Kill()
				_, _ = p.Cmd.Process.Wait()
			})
		}
	}
	var buf bytes.Buffer
	st, err := Dump(context.Background(), Node{Name: "node-0002", Addr: p.Addr}, newDump(t, &buf, "node-0002"), opts)
	var me *Error
	if !errors.As(err, &me) || me.Node != "node-0002" {
		t.Fatalf("err %v (%T), stats %+v", err, err, st)
	}
	t.Logf("dump error: %v (after %d keys)", err, st.Dumped)
	rep := verify(t, buf.Bytes())
	if rep.Valid || !rep.Incomplete || rep.Keys != st.Dumped {
		t.Fatalf("report %+v, stats %+v", rep, st)
	}
}

func TestDamagedDumpsRejected(t *testing.T) {
	p := startMemcached(t)
	c := connect(t, p.Addr, Config{})
	c.load(fixture(time.Now())[:300]...)
	var buf bytes.Buffer
	if _, err := Dump(context.Background(), Node{Addr: p.Addr}, newDump(t, &buf, "n"), Options{}); err != nil {
		t.Fatal(err)
	}
	obj := buf.Bytes()
	if rep := verify(t, obj); !rep.Valid {
		t.Fatalf("report %+v", rep)
	}
	for _, n := range []int{0, 1, 10, 20, len(obj) / 2, len(obj) - 9, len(obj) - 1} {
		if rep := verify(t, obj[:n]); rep.Valid || rep.Error == "" {
			t.Errorf("truncated to %d of %d: %+v", n, len(obj), rep)
		}
	}
	for _, at := range []int{12, len(obj) / 3, len(obj) / 2, len(obj) - 20, len(obj) - 5} {
		bad := append([]byte(nil), obj...)
		bad[at] ^= 0x20
		if rep := verify(t, bad); rep.Valid {
			t.Errorf("flip at %d of %d verified", at, len(obj))
		}
	}
	// Restore refuses a truncated dump after the keys before the damage.
	r := mcdump.NewReader(bytes.NewReader(obj[:len(obj)-9]))
	if _, err := Restore(context.Background(), Node{Addr: p.Addr}, r, Options{}); err == nil {
		t.Fatal("restore of a truncated dump succeeded")
	}
}

func TestRestoreExpiredAndRefused(t *testing.T) {
	p := startMemcached(t, "-I", "1m") // a later -I wins: 1 MiB items
	now := time.Now()
	var buf bytes.Buffer
	w := newDump(t, &buf, "n")
	add := func(rec mcdump.Record, v []byte) {
		if err := w.Add(rec, v); err != nil {
			t.Fatal(err)
		}
	}
	add(mcdump.Record{Key: "gone", Expiry: now.Unix() - 5}, []byte("x"))
	add(mcdump.Record{Key: "big", Flags: 3}, bytes.Repeat([]byte("b"), 1<<20+1))
	add(mcdump.Record{Key: "kept", Flags: 4, Expiry: now.Unix() + 50}, []byte("y"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := Restore(context.Background(), Node{Addr: p.Addr}, mcdump.NewReader(&buf), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Restored != 1 || st.Expired != 1 || st.Failed != 1 || !strings.Contains(st.FirstError, `"big"`) {
		t.Fatalf("restore %+v", st)
	}
	c := connect(t, p.Addr, Config{})
	if v, f, ttl, ok := c.get("kept"); !ok || string(v) != "y" || f != 4 || ttl < 48 || ttl > 50 {
		t.Fatalf("kept: %q %d %d %v", v, f, ttl, ok)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{"a": "a", "a%20b": "a b", "a+b": "a+b", "%01%7F%25": "\x01\x7f%"} {
		if got, err := unescape(nil, []byte(in)); err != nil || string(got) != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, in := range []string{"", "%", "%2", "%zz", strings.Repeat("k", 251)} {
		if _, err := unescape(nil, []byte(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseVA(t *testing.T) {
	now := time.Unix(1000, 0)
	rec, err := parseVA([]byte("VA 3 f5 t97 c12"), "k", now)
	if err != nil || rec != (mcdump.Record{Key: "k", Size: 3, Flags: 5, Expiry: 1097, CAS: 12}) {
		t.Fatalf("%+v %v", rec, err)
	}
	if rec, _ := parseVA([]byte("VA 0 f0 t-1 c1"), "k", now); rec.Expiry != 0 {
		t.Fatalf("t-1: %+v", rec)
	}
	for _, bad := range []string{"HD", "VA", "VA x", "VA -1", "VA 1 fz", "SERVER_ERROR out of memory"} {
		if _, err := parseVA([]byte(bad), "k", now); !errors.Is(err, ErrServer) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestCrawlerDisabled(t *testing.T) {
	p := startMemcached(t, "-o", "no_lru_crawler")
	connect(t, p.Addr, Config{}).load(item{key: "k", value: []byte("v")})
	var buf bytes.Buffer
	_, err := Dump(context.Background(), Node{Addr: p.Addr}, newDump(t, &buf, "n"), Options{})
	var me *Error
	if !errors.As(err, &me) || me.Op != "list" || !errors.Is(err, ErrServer) {
		t.Fatalf("err %v", err)
	}
	t.Log(err)
	if rep := verify(t, buf.Bytes()); !rep.Incomplete {
		t.Fatalf("report %+v", rep)
	}
}

func TestEmptyNode(t *testing.T) {
	p := startMemcached(t)
	var buf bytes.Buffer
	st, err := Dump(context.Background(), Node{Addr: p.Addr}, newDump(t, &buf, "n"), Options{SpoolDir: t.TempDir()})
	if err != nil || st.Listed != 0 {
		t.Fatalf("%+v %v", st, err)
	}
	if rep := verify(t, buf.Bytes()); !rep.Valid || rep.Keys != 0 {
		t.Fatalf("report %+v", rep)
	}
}
