package rdb

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cacheport/cacheport/internal/testenv"
)

// populate fills a Redis 7.0 server with every type and encoding 7.0 writes, in several
// databases, with expiries and a function library. It returns the encodings the file must hold.
func populate(t *testing.T, r *testenv.Redis) map[Type]bool {
	t.Helper()
	do := func(args ...string) string { return r.MustDo(t, args...) }
	many := func(cmd, key string, n int, f func(i int) []string) {
		args := []string{cmd, key}
		for i := range n {
			args = append(args, f(i)...)
		}
		do(args...)
	}
	do("SET", "int", "12345")
	do("SET", "small", "hello")
	do("SET", "compressible", strings.Repeat("abc", 400))
	do("SET", "random", randomText(500))
	do("SET", "ttl", "v", "PX", "100000000")
	do("SET", strings.Repeat("k", 200), "a long compressible key")
	many("RPUSH", "list:small", 5, func(i int) []string { return []string{"item" + strconv.Itoa(i)} })
	many("RPUSH", "list:big", 3000, func(i int) []string { return []string{fmt.Sprintf("line %d %s", i, strings.Repeat("x", 30))} })
	do("CONFIG", "SET", "list-compress-depth", "1")
	many("RPUSH", "list:compressed", 3000, func(i int) []string { return []string{fmt.Sprintf("entry %d %s", i, strings.Repeat("y", 40))} })
	// Wide listpack entries: 12- and 32-bit string headers, 2- and 3-byte back-lengths.
	do("RPUSH", "list:wide", strings.Repeat("w", 200), randomText(3000), randomText(20000), "5")
	do("HSET", "hash:listpack64", "f", strings.Repeat("v", 64), "n", "-70000")
	do("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100")
	do("RPUSH", "list:plain", strings.Repeat("p", 500), "tiny", strings.Repeat("q", 700))
	many("SADD", "set:intset", 50, func(i int) []string { return []string{strconv.Itoa(i * 7)} })
	many("SADD", "set:hashtable", 200, func(i int) []string { return []string{fmt.Sprintf("member-%d", i)} })
	do("SADD", "set:small-strings", "a", "b", "c")
	many("ZADD", "zset:listpack", 10, func(i int) []string { return []string{strconv.Itoa(i), "p" + strconv.Itoa(i)} })
	many("ZADD", "zset:skiplist", 300, func(i int) []string { return []string{fmt.Sprintf("%d.5", i), "q" + strconv.Itoa(i)} })
	do("HSET", "hash:listpack", "name", "bob", "age", "33")
	many("HSET", "hash:hashtable", 700, func(i int) []string { return []string{"f" + strconv.Itoa(i), "v" + strconv.Itoa(i)} })
	for i := 1; i < 30; i++ {
		do("XADD", "stream", fmt.Sprintf("%d-1", i), "kind", "k"+strconv.Itoa(i%3), "n", strconv.Itoa(i))
	}
	do("XADD", "stream", "30-1", "other", "field")
	do("XDEL", "stream", "2-1")
	do("XGROUP", "CREATE", "stream", "workers", "0")
	do("XREADGROUP", "GROUP", "workers", "w1", "COUNT", "5", "STREAMS", "stream", ">")
	do("XGROUP", "CREATE", "stream:empty", "g", "$", "MKSTREAM")
	do("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function(keys, args) return 1 end)")
	// Other databases: MOVE, since every command here runs on a new connection.
	for _, k := range []struct {
		key string
		db  string
	}{{"db1:a", "1"}, {"db1:b", "1"}, {"db3:a", "3"}} {
		do("SET", k.key, "x")
		do("PEXPIRE", k.key, "200000000")
		do("MOVE", k.key, k.db)
	}
	for key, enc := range map[string]string{
		"list:small": "quicklist", "list:big": "quicklist", "list:plain": "quicklist", "set:intset": "intset",
		"set:hashtable": "hashtable", "zset:listpack": "listpack", "zset:skiplist": "skiplist",
		"hash:listpack": "listpack", "hash:listpack64": "listpack", "list:wide": "quicklist", "hash:hashtable": "hashtable", "stream": "stream", "int": "int",
	} {
		if got := do("OBJECT", "ENCODING", key); got != enc {
			t.Fatalf("OBJECT ENCODING %s = %s, want %s", key, got, enc)
		}
	}
	return map[Type]bool{
		TypeString: true, TypeListQuicklist2: true, TypeSetIntset: true, TypeSet: true, TypeZSetListpack: true,
		TypeZSet2: true, TypeHashListpack: true, TypeHash: true, TypeStreamListpacks2: true,
	}
}

// randomText returns n bytes of deterministic, incompressible printable text.
func randomText(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(33 + x%90)
	}
	return string(b)
}

var keyspaceLine = regexp.MustCompile(`(?m)^db(\d+):keys=(\d+),expires=(\d+)`)

// serverCounts returns DBSIZE per database and the keys with an expiry, from INFO keyspace.
func serverCounts(t *testing.T, r *testenv.Redis) (map[string]int64, int64) {
	byDB := map[string]int64{}
	var expires int64
	for _, m := range keyspaceLine.FindAllStringSubmatch(r.MustDo(t, "INFO", "keyspace"), -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		e, _ := strconv.ParseInt(m[3], 10, 64)
		byDB[m[1]] = n
		expires += e
	}
	return byDB, expires
}

// TestServerFixtures verifies files a real redis-server 7.0 writes: every encoding it can
// write, three databases, expiries, a function, compression on and off, and checksum off.
func TestServerFixtures(t *testing.T) {
	for _, checksum := range []string{"yes", "no"} {
		t.Run("rdbchecksum="+checksum, func(t *testing.T) {
			r := testenv.StartRedis(t, "--rdbchecksum", checksum)
			want := populate(t, r)
			byDB, expires := serverCounts(t, r)
			var total int64
			for _, n := range byDB {
				total += n
			}
			wantSum := ChecksumOK
			if checksum == "no" {
				wantSum = ChecksumDisabled
			}
			var sizes []int64
			for _, compression := range []string{"yes", "no"} {
				r.MustDo(t, "CONFIG", "SET", "rdbcompression", compression)
				path := r.Save(t)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, int64(len(data)))
				t.Run("rdbcompression="+compression, func(t *testing.T) {
					f, err := os.Open(path)
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					seen := map[Type]bool{}
					lens := map[string]int64{}
					rd := NewReader(f)
					defer rd.Close()
					var keys int64
					for {
						e, err := rd.Next()
						if err != nil {
							if err.Error() != "EOF" {
								t.Fatalf("Next: %v", err)
							}
							break
						}
						keys++
						seen[e.Type] = true
						if e.DB == 0 {
							lens[string(e.Key)] = e.Len
						}
					}
					// Element counts agree with the server's LLEN, SCARD, ZCARD, HLEN and XLEN.
					card := map[string]string{"list": "LLEN", "set": "SCARD", "zset": "ZCARD", "hash": "HLEN", "stream": "XLEN"}
					for k, n := range lens {
						if cmd, ok := card[r.MustDo(t, "TYPE", k)]; ok {
							if want := r.MustDo(t, cmd, k); strconv.FormatInt(n, 10) != want {
								t.Errorf("%s %s = %s, the reader counted %d", cmd, k, want, n)
							}
						}
					}
					for ty := range want {
						if !seen[ty] {
							t.Errorf("no %s key in the file (saw %v)", ty, seen)
						}
					}
					if keys != total {
						t.Errorf("keys = %d, DBSIZE summed = %d", keys, total)
					}
					rep, err := Verify(bytesReader(data))
					if err != nil || !rep.Valid {
						t.Fatalf("Verify: %v, %+v", err, rep)
					}
					if rep.Keys != total || rep.Expires != expires || rep.Checksum != wantSum || rep.Functions != 1 {
						t.Errorf("keys %d expires %d checksum %s functions %d; want %d %d %s 1",
							rep.Keys, rep.Expires, rep.Checksum, rep.Functions, total, expires, wantSum)
					}
					for db, n := range byDB {
						if rep.KeysByDB[db] != n {
							t.Errorf("db %s: %d keys, DBSIZE %d", db, rep.KeysByDB[db], n)
						}
					}
					if fmt.Sprint(rep.Databases) != "[0 1 3]" {
						t.Errorf("databases = %v, want [0 1 3]", rep.Databases)
					}
					if len(rep.Warnings) != 0 {
						t.Errorf("warnings on a server-made file: %q", rep.Warnings)
					}
				})
			}
			if sizes[0] >= sizes[1] {
				t.Errorf("compressed file (%d bytes) not smaller than uncompressed (%d)", sizes[0], sizes[1])
			}
		})
	}
}
