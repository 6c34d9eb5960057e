package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/twin/rdbgen"
)

func TestVerifyLoadRunsTheRestoreDrill(t *testing.T) {
	r := testenv.StartRedis(t)
	r.MustDo(t, "DEBUG", "POPULATE", "150", "k", "8")
	file := r.Save(t)
	code, out, errOut := runCLI(context.Background(), "--json", "verify", "--load", file)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var rep struct {
		Valid bool
		Drill struct {
			OK     bool
			Loaded int64
			Server string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.Valid || !rep.Drill.OK || rep.Drill.Loaded != 150 || !strings.HasPrefix(rep.Drill.Server, "redis-server") {
		t.Fatalf("%+v %v\n%s", rep, err, out)
	}

	// Through stdin, the bytes are kept in a temporary file for the server.
	f, _ := os.Open(file)
	defer f.Close()
	var o, eo strings.Builder
	e := &env{stdin: f, stdout: &o, stderr: &eo, getenv: func(string) string { return "" }}
	if code := run(context.Background(), e, []string{"verify", "--load", "-"}); code != exitOK || !strings.Contains(o.String(), "DRILL    ok") {
		t.Fatalf("stdin: exit %d\n%s%s", code, o.String(), eo.String())
	}
}

func TestVerifyLoadSaysWhichServerAFileNeeds(t *testing.T) {
	testenv.Tool(t, "redis-server", "apt-get install redis-server")
	path := filepath.Join(t.TempDir(), "v11.rdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// A version 11 file (Redis 7.2, Valkey): Debian's redis-server 7.0 reads at most 10, so the
	// drill must refuse it and name the release it would need.
	if _, err := rdbgen.Generate(f, rdbgen.Options{Version: 11, Keys: 20, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := os.Stat("/usr/bin/valkey-server"); err == nil {
		t.Skip("valkey-server is installed: it reads version 11, so there is nothing to refuse")
	}
	code, out, _ := runCLI(context.Background(), "verify", "--load", path)
	if code != exitUsage || !strings.Contains(out, "redis-server 7.2 or later") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}
