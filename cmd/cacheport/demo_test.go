package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"

	"github.com/cacheport/cacheport/shared/twin/ecsrv"
)

func runCLI(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	code := run(ctx, e, args)
	return code, out.String(), errOut.String()
}

func TestDemoEndsWithTheCountsLine(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCLI(context.Background(), "demo", "--template", "../../template.yaml", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if last := lines[len(lines)-1]; last != demoCounts() {
		t.Fatalf("last line %q\n%s", last, stdout)
	}
	for _, want := range []string{"snapshotting", "exporting", "verifying", "verified", "failed (snapshot-failed)", "cleaned", "abandoned", "alert to", "CACHE"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the demo did not show %q", want)
		}
	}
	// The verified exports are on disk: each shard and its manifest.
	man, _ := filepath.Glob(filepath.Join(out, "cacheport", "*", "*", "manifest.json"))
	rdbs, _ := filepath.Glob(filepath.Join(out, "cacheport", "*", "*", "a1", "*.rdb"))
	dumps, _ := filepath.Glob(filepath.Join(out, "cacheport", "memo", "*", "a1", "node-*.mcd"))
	wantMan, wantDumps := 4, 0
	if ecsrv.MemcachedAvailable("") {
		wantMan, wantDumps = 5, 2 // memo: one dump per node
	}
	if len(man) != wantMan || len(rdbs) != 5 || len(dumps) != wantDumps { // carts is serverless: its object lives outside the prefix, its manifest inside
		t.Fatalf("manifests %v, rdb files %v, memcached dumps %v", man, rdbs, dumps)
	}
	for _, f := range append(rdbs, dumps...) {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestDemoWithACorruptObject(t *testing.T) {
	code, stdout, stderr := runCLI(context.Background(), "demo", "--template", "../../template.yaml", "--out", t.TempDir(), "--fault", "corrupt-object=solo")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`solo .* failed \((checksum-mismatch|corrupt-object)\)`).MatchString(stdout) ||
		!strings.HasSuffix(strings.TrimSpace(stdout), demoCounts()) {
		t.Fatalf("%s", stdout)
	}
}

// demoCounts is the demo's last line: memo, a Memcached cluster, is exported and verified too
// when memcached is on PATH (the twin backs its nodes with real processes).
func demoCounts() string {
	if ecsrv.MemcachedAvailable("") {
		return "demo: 5 exports verified, 1 failed and cleaned, 0 objects left behind"
	}
	return "demo: 4 exports verified, 1 failed and cleaned, 0 objects left behind"
}

func TestDemoReportFindsProblems(t *testing.T) {
	r := &demoReport{verified: 2, leftBehind: 1, leftovers: []string{"s3://b/k"}}
	if p := r.problems([]string{"snapshot-fails=x"}); len(p) != 2 {
		t.Fatalf("problems %v: want leftovers and no failed export", p)
	}
	if p := (&demoReport{verified: 1, failedCleaned: 1}).problems(nil); len(p) != 1 {
		t.Fatalf("problems %v: a failure without a fault must be reported", p)
	}
	if p := (&demoReport{verified: 4, failedCleaned: 1}).problems([]string{"snapshot-fails=payments"}); len(p) != 0 {
		t.Fatalf("problems %v", p)
	}
}

// syncWriter lets the test read what the sandbox printed while it runs.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
func (w *syncWriter) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

func TestSandboxServesRealClients(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncWriter{}
	e := &env{stdin: strings.NewReader(""), stdout: out, stderr: &syncWriter{}, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, []string{"sandbox", "--template", "../../template.yaml", "--listen", "127.0.0.1:0"})
	}()
	re := regexp.MustCompile(`export AWS_ENDPOINT_URL=(\S+)`)
	var endpoint string
	for deadline := time.Now().Add(20 * time.Second); endpoint == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			endpoint = m[1]
		}
	}
	if endpoint == "" {
		t.Fatalf("the sandbox printed no endpoint:\n%s", out.String())
	}
	for _, want := range []string{"AWS_ACCESS_KEY_ID", "aws elasticache describe-replication-groups", "functions in process"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the sandbox did not print %q", want)
		}
	}
	ec := elasticache.New(elasticache.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("operator", "x", "")})
	rgs, err := ec.DescribeReplicationGroups(ctx, &elasticache.DescribeReplicationGroupsInput{})
	if err != nil || len(rgs.ReplicationGroups) < 2 {
		t.Fatalf("describe replication groups: %v %v", rgs, err)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("sandbox exited %d", code)
	}
}
