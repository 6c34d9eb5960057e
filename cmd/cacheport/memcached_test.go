package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/twin/s3srv"
)

func startMemcached(t *testing.T) string {
	t.Helper()
	args := []string{"-p", "{port}", "-l", "127.0.0.1", "-U", "0", "-I", "2m", "-m", "64"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached refuses to run as root without -u
	}
	return testenv.Start(t, "memcached", "apt-get install memcached", args...).Addr
}

// mcText sends one text-protocol command and returns the reply up to its last line (END, EN,
// STORED, a single-line reply, or a VA line with its value).
func mcText(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, cmd)
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(line, "VA ") {
		n, _ := strconv.Atoi(strings.Fields(line)[1])
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(line) + " " + string(buf[:n])
	}
	return strings.TrimSpace(line)
}

// twinS3 is the twin's S3 over HTTP with a bucket "exports", through the real SDK.
func twinS3(t *testing.T) (*s3srv.Store, *s3.Client) {
	t.Helper()
	store := s3srv.New(s3srv.Options{})
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	if err := store.CreateBucket("exports", "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	return store, s3.New(s3.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("operator", "secret", "")})
}

func mcCLI(c *s3.Client, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" },
		newS3: func(context.Context, *env) (s3API, error) { return c, nil }}
	code := run(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

func TestMemcachedDumpAndRestore(t *testing.T) {
	a, b, target := startMemcached(t), startMemcached(t), startMemcached(t)
	for i := 0; i < 50; i++ {
		mcText(t, a, fmt.Sprintf("set a%d %d 0 %d\r\nvalue-%d\r\n", i, i, len(fmt.Sprint("value-", i)), i))
	}
	mcText(t, a, "set ttl 7 3600 1\r\nx\r\n")
	mcText(t, b, "set bin 1 0 4\r\n\x00\xff\r\n\r\n")
	store, c := twinS3(t)

	code, out, stderr := mcCLI(c, "--json", "memcached", "dump", "--servers", a+","+b, "--to", "s3://exports/manual/run1")
	if code != exitOK {
		t.Fatalf("dump: exit %d\n%s\n%s", code, out, stderr)
	}
	var results []dumpResult
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r dumpResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		results = append(results, r)
	}
	keyA := "manual/run1/node-" + nodeKeyName(a) + ".mcd"
	if len(results) != 2 || results[0].Keys != 51 || results[1].Keys != 1 || results[0].Object != "s3://exports/"+keyA {
		t.Fatalf("results %+v", results)
	}
	if _, err := store.Object("exports", keyA); err != nil {
		t.Fatal(err)
	}

	code, out, stderr = mcCLI(c, "memcached", "restore", "--to", target, "s3://exports/"+keyA)
	if code != exitOK || !strings.Contains(out, "51 of 51 keys restored") {
		t.Fatalf("restore: exit %d\n%s\n%s", code, out, stderr)
	}
	for i := 0; i < 50; i++ {
		if got, want := mcText(t, target, fmt.Sprintf("mg a%d v f\r\n", i)), fmt.Sprintf("f%d value-%d", i, i); !strings.HasSuffix(got, want) {
			t.Errorf("a%d: %q, want ...%q", i, got, want)
		}
	}
	got := mcText(t, target, "mg ttl t f\r\n")
	ttl, _ := strconv.Atoi(strings.TrimPrefix(strings.Fields(got)[1], "t"))
	if !strings.Contains(got, "f7") || ttl < 3500 || ttl > 3600 {
		t.Errorf("ttl: %q", got)
	}
}

func TestMemcachedRestoreRefusesADamagedDump(t *testing.T) {
	a, target := startMemcached(t), startMemcached(t)
	for i := 0; i < 20; i++ {
		mcText(t, a, fmt.Sprintf("set k%d 0 0 1\r\nv\r\n", i))
	}
	store, c := twinS3(t)
	if code, out, stderr := mcCLI(c, "memcached", "dump", "--servers", a, "--to", "s3://exports/p"); code != exitOK {
		t.Fatalf("dump: exit %d\n%s\n%s", code, out, stderr)
	}
	obj, err := store.Object("exports", "p/node-"+nodeKeyName(a)+".mcd")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "cut.mcd")
	if err := os.WriteFile(file, obj[:len(obj)-12], 0o600); err != nil { // the gzip trailer and some records gone
		t.Fatal(err)
	}
	code, out, _ := mcCLI(c, "memcached", "restore", "--to", target, file)
	if code != exitFinding || !strings.Contains(out, "not restored") {
		t.Fatalf("damaged dump: exit %d\n%s", code, out)
	}
	if got := mcText(t, target, "mg k0 v\r\n"); got != "EN" {
		t.Errorf("a damaged dump was partly restored: k0 = %q", got)
	}
}

func TestMemcachedUsage(t *testing.T) {
	_, c := twinS3(t)
	for _, args := range [][]string{
		{"memcached"},
		{"memcached", "dump", "--servers", "127.0.0.1:1"},
		{"memcached", "dump", "--servers", "127.0.0.1:1", "--to", "exports/p"},
		{"memcached", "restore", "--to", "127.0.0.1:1"},
	} {
		if code, _, _ := mcCLI(c, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
