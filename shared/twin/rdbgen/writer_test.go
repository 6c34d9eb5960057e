package rdbgen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/rdb"
)

func TestCRCCheckValue(t *testing.T) {
	// RDB-FACTS.md: CRC-64/Jones of "123456789" is 0xe9c6d914c4b8d9ca.
	if got := ^crc64.Update(^uint64(0), crcTable, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc = %#x", got)
	}
}

func TestDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	o := Options{Seed: 7, Keys: 300, DBs: 3, ExpireEvery: 5}
	if _, err := Generate(&a, o); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(&b, o); err != nil {
		t.Fatal(err)
	}
	o.Seed = 8
	if _, err := Generate(&c, o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same options, different bytes")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("different seeds, same bytes")
	}
}

func TestTrailerAndHeader(t *testing.T) {
	for _, v := range []int{Version10, Version11} {
		var buf bytes.Buffer
		st, err := Generate(&buf, Options{Version: v, Keys: 50})
		if err != nil {
			t.Fatal(err)
		}
		p := buf.Bytes()
		if int64(len(p)) != st.Bytes {
			t.Errorf("v%d: stats say %d bytes, wrote %d", v, st.Bytes, len(p))
		}
		if want := "REDIS00" + strconv.Itoa(v); string(p[:9]) != want {
			t.Errorf("header %q, want %q", p[:9], want)
		}
		if p[len(p)-9] != opEOF {
			t.Errorf("v%d: no EOF before the trailer", v)
		}
		crc := ^crc64.Update(^uint64(0), crcTable, p[:len(p)-8])
		if got := binary.LittleEndian.Uint64(p[len(p)-8:]); got != crc {
			t.Errorf("v%d: trailer %#x, want %#x", v, got, crc)
		}
	}
}

// TestSetEncodings: version 10 has no listpack sets (type 20): string sets are plain sets there;
// integer sets are intsets in both.
func TestSetEncodings(t *testing.T) {
	for _, tc := range []struct {
		version int
		members []string
		typ     byte
	}{
		{Version10, []string{"a", "b"}, typeSet},
		{Version11, []string{"a", "b"}, typeSetLP},
		{Version10, []string{"1", "-70000"}, typeSetIntset},
		{Version11, []string{"1", "2"}, typeSetIntset},
	} {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, tc.version)
		if err := w.Set("k", tc.members, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := buf.Bytes()[9]; got != tc.typ {
			t.Errorf("v%d %v: type %d, want %d", tc.version, tc.members, got, tc.typ)
		}
		if rep, err := rdb.Verify(&buf); err != nil || !rep.Valid || rep.Keys != 1 {
			t.Errorf("v%d %v: %v %+v", tc.version, tc.members, err, rep)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	if _, err := NewWriter(io.Discard, 12); err == nil {
		t.Error("version 12 accepted")
	}
	w, _ := NewWriter(io.Discard, 0)
	if err := w.List("k", nil, time.Time{}); err == nil {
		t.Error("empty list accepted")
	}
	if err := w.String("k", "v", time.Time{}); err == nil {
		t.Error("error not sticky")
	}
	w, _ = NewWriter(io.Discard, 0)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.String("k", "v", time.Time{}); err != ErrClosed {
		t.Errorf("write after close: %v", err)
	}
	if _, err := Generate(io.Discard, Options{Kinds: []Kind{"stream"}}); err == nil {
		t.Error("unknown kind accepted")
	}
}

// TestVerify reads generated files with cacheport's own verifier (shared/rdb).
func TestVerify(t *testing.T) {
	for _, v := range []int{Version10, Version11} {
		for _, o := range []Options{
			{Version: v, Keys: 500, DBs: 3, ExpireEvery: 4, Seed: 1},
			{Version: v, Keys: 40, ValueSize: 20000, Seed: 2}, // big elements: 32-bit listpack strings, multi-node lists
			{Version: v, Keys: 1, Kinds: []Kind{KindIntSet}},
		} {
			var buf bytes.Buffer
			st, err := Generate(&buf, o)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := rdb.Verify(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Valid {
				t.Fatalf("v%d %+v: not valid: %+v", v, o, rep)
			}
			if rep.Keys != int64(st.Keys) || rep.Checksum != rdb.ChecksumOK || rep.RDBVersion != v {
				t.Errorf("v%d: verifier counts %d keys (checksum %s, version %d), wrote %d", v, rep.Keys, rep.Checksum, rep.RDBVersion, st.Keys)
			}
			if rep.Expires != int64(st.Expires) || fmt.Sprint(rep.Databases) != fmt.Sprint(st.Databases) || rep.Bytes != st.Bytes {
				t.Errorf("v%d: verifier says %d expires, databases %v, %d bytes; wrote %d, %v, %d", v, rep.Expires, rep.Databases, rep.Bytes, st.Expires, st.Databases, st.Bytes)
			}
			for db, n := range st.KeysByDB {
				if rep.KeysByDB[strconv.Itoa(db)] != int64(n) {
					t.Errorf("v%d: db %d has %d keys, wrote %d", v, db, rep.KeysByDB[strconv.Itoa(db)], n)
				}
			}
		}
	}
}

// TestRedisCheckRDB checks version-10 files with Debian's redis-check-rdb 7.0 (it refuses
// versions above 10).
func TestRedisCheckRDB(t *testing.T) {
	bin := testenv.Tool(t, "redis-check-rdb", "apt-get install redis-tools")
	dir := t.TempDir()
	for i, o := range []Options{
		{Version: Version10, Keys: 700, DBs: 4, ExpireEvery: 3, Seed: 3},
		{Version: Version10, Keys: 30, ValueSize: 30000, Seed: 4},
	} {
		path := filepath.Join(dir, "gen"+strconv.Itoa(i)+".rdb")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Generate(f, o); err != nil {
			t.Fatal(err)
		}
		f.Close()
		out, err := exec.Command(bin, path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "RDB looks OK") {
			t.Fatalf("redis-check-rdb %s: %v\n%s", path, err, out)
		}
	}
}

// TestRedisServerLoads loads a version-10 file into Debian's redis-server and counts the keys
// per database, and checks a few values.
func TestRedisServerLoads(t *testing.T) {
	testenv.Tool(t, "redis-server", "apt-get install redis-server")
	// Write the file first, then start a server whose --dir holds it as dump.rdb.
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "seed.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Generate(f, Options{Version: Version10, Keys: 420, DBs: 2, ExpireEvery: 7, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	// StartRedis uses its own temporary dir: copy the file there and DEBUG RELOAD it.
	r := testenv.StartRedis(t, "--dbfilename", "seed.rdb")
	data, err := os.ReadFile(filepath.Join(dir, "seed.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "seed.rdb"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r.MustDo(t, "DEBUG", "RELOAD", "NOSAVE")
	// Do opens a connection per command, so SELECT + DBSIZE cannot count one database: INFO
	// keyspace counts them all.
	info := r.MustDo(t, "INFO", "keyspace")
	for db, want := range st.KeysByDB {
		needle := "db" + strconv.Itoa(db) + ":keys=" + strconv.Itoa(want) + ","
		if !strings.Contains(info, needle) {
			t.Errorf("keyspace %q lacks %q", info, needle)
		}
	}
	if got := r.MustDo(t, "TYPE", "key:zset:6"); got != "zset" {
		t.Errorf("TYPE key:zset:6 = %q", got)
	}
	if got := r.MustDo(t, "TYPE", "key:intset:4"); got != "set" {
		t.Errorf("TYPE key:intset:4 = %q", got)
	}
	if got := r.MustDo(t, "OBJECT", "ENCODING", "key:list:2"); got != "quicklist" && got != "listpack" {
		t.Errorf("list encoding %q", got)
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		st, err := Generate(io.Discard, Options{Keys: 10000, ValueSize: 100})
		if err != nil {
			b.Fatal(err)
		}
		n = st.Bytes
	}
	b.SetBytes(n)
}
