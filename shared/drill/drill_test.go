package drill

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cacheport/cacheport/internal/testenv"
)

func TestMaxRDBAndChoose(t *testing.T) {
	for _, c := range []struct {
		name, version string
		want          int
	}{
		{"redis", "7.0.15", 10}, {"redis", "7.2.4", 11}, {"redis", "7.4.1", 12}, {"redis", "8.0.0", 12},
		{"redis", "6.2.14", 9}, {"valkey", "8.0.1", 11}, {"valkey", "9.0.0", 80}, {"valkey", "9.2.0", 81}, {"redis", "x", 0},
	} {
		if got := MaxRDB(c.name, c.version); got != c.want {
			t.Errorf("MaxRDB(%s %s) = %d, want %d", c.name, c.version, got, c.want)
		}
	}
	redis70 := Server{Name: "redis", Version: "7.0.15", MaxRDB: 10}
	valkey8 := Server{Name: "valkey", Version: "8.0.1", MaxRDB: 11}
	if s, err := Choose([]Server{redis70}, "redis", 10); err != nil || s != redis70 {
		t.Errorf("v10 with redis 7.0: %v %v", s, err)
	}
	_, err := Choose([]Server{redis70}, "redis", 11)
	if !errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "redis-server 7.2 or later") {
		t.Errorf("v11 with redis 7.0 only: %v", err)
	}
	if s, err := Choose([]Server{redis70, valkey8}, "redis", 11); err != nil || s != valkey8 {
		t.Errorf("v11 with valkey 8: %v %v", s, err)
	}
	if _, err := Choose([]Server{valkey8}, "redis", 12); err == nil {
		t.Error("valkey 8 chosen for a Redis 7.4 file")
	}
	if _, err := Choose([]Server{redis70, valkey8}, "valkey", 80); err == nil || !strings.Contains(err.Error(), "valkey-server 9.0") {
		t.Errorf("a Valkey 9 file: %v", err)
	}
}

// The drill with Debian's redis-server: a file with a key already expired when it is loaded
// (active expiry off, so the server kept it in the file) loads with every other key.
func TestDrillWithARealServer(t *testing.T) {
	r := testenv.StartRedis(t)
	r.MustDo(t, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
	r.MustDo(t, "DEBUG", "POPULATE", "200", "k", "16")
	r.MustDo(t, "SET", "gone", "x", "PX", "1")
	r.MustDo(t, "SET", "later", "x", "EX", "86400")
	time.Sleep(20 * time.Millisecond)
	file := r.Save(t)

	servers := Find()
	srv, err := Choose(servers, "redis", 10)
	if err != nil {
		t.Fatalf("Find found %v: %v", servers, err)
	}
	res, err := Run(context.Background(), file, srv)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Loaded != 201 || res.Expected.Total != 202 || res.Expected.Expired != 1 || res.KeysByDB["0"] != 201 {
		t.Fatalf("%+v", res)
	}

	// A file whose keys the server does not hold as expected (a key count that cannot match):
	// truncate the file so the server refuses it, and the drill says it could not run.
	b, _ := os.ReadFile(file)
	bad := filepath.Join(t.TempDir(), "bad.rdb")
	_ = os.WriteFile(bad, b[:len(b)/2], 0o644)
	if _, err := Run(context.Background(), bad, srv); err == nil {
		t.Fatal("a truncated file loaded")
	}
}
