package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/shared/export"
)

// autoEC is ElastiCache doing its work at once: a snapshot is available as soon as it is made,
// and a copy to S3 writes one valid RDB object per shard into the bucket.
type autoEC struct {
	*fakes.ElastiCache
	// put writes an object into the bucket as ElastiCache's service identity.
	put     func(ctx context.Context, key string, body []byte) error
	copyErr error
}

func (a *autoEC) CreateSnapshot(ctx context.Context, in *elasticache.CreateSnapshotInput, opts ...func(*elasticache.Options)) (*elasticache.CreateSnapshotOutput, error) {
	out, err := a.ElastiCache.CreateSnapshot(ctx, in, opts...)
	if err == nil {
		a.Finish(aws.ToString(in.SnapshotName), "available")
	}
	return out, err
}

func (a *autoEC) CopySnapshot(ctx context.Context, in *elasticache.CopySnapshotInput, opts ...func(*elasticache.Options)) (*elasticache.CopySnapshotOutput, error) {
	if a.copyErr != nil {
		return nil, a.copyErr
	}
	out, err := a.ElastiCache.CopySnapshot(ctx, in, opts...)
	if err == nil {
		err = a.put(ctx, aws.ToString(in.TargetSnapshotName)+"-0001.rdb", rdbFile())
	}
	return out, err
}

// exportAWS is an account with the caches orders (Redis), memo (Memcached) and the replication
// group carts. ElastiCache works at once through the autoEC returned; tests that want snapshots
// to stay "creating" pass the fake (f.ec) instead.
func exportAWS(t *testing.T) (*fakeAWS, *autoEC) {
	t.Helper()
	f := newFakeAWS()
	f.ec.CacheClusters = []ectypes.CacheCluster{cacheCluster("orders", "redis"), cacheCluster("memo", "memcached")}
	f.ec.ReplicationGroups = []ectypes.ReplicationGroup{{ReplicationGroupId: aws.String("carts"), ARN: aws.String("arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:carts"),
		Engine: aws.String("valkey"), Status: aws.String("available"), ClusterMode: ectypes.ClusterModeDisabled, CacheNodeType: aws.String("cache.m7g.large")}}
	a := &autoEC{ElastiCache: f.ec, put: func(ctx context.Context, key string, body []byte) error {
		_, err := f.bucket.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("exports"), Key: aws.String(key), Body: bytes.NewReader(body)})
		return err
	}}
	return f, a
}

// exportCLI runs the CLI against f with ElastiCache answered by ec.
func exportCLI(t *testing.T, f *fakeAWS, ec ecClient, args ...string) (int, string, string) {
	t.Helper()
	return cliWith(t, &clients{region: "eu-west-1", s3: f.bucket, ec: ec, events: f.events, sts: fakeSTS{}}, args...)
}

// cliWith runs the CLI with the clients c, CACHEPORT_BUCKET=exports and the clock at testNow.
func cliWith(t *testing.T, c *clients, args ...string) (int, string, string) {
	t.Helper()
	oldLoad, oldClock := loadClients, clock
	t.Cleanup(func() { loadClients, clock = oldLoad, oldClock })
	loadClients = func(context.Context, *env) (*clients, error) { return c, nil }
	clock = func() time.Time { return testNow }
	var out, errOut bytes.Buffer
	e := &env{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errOut, getenv: func(k string) string {
		return map[string]string{"CACHEPORT_BUCKET": "exports"}[k]
	}}
	code := run(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

func TestExportCacheToS3Wait(t *testing.T) {
	f, ec := exportAWS(t)
	code, out, stderr := exportCLI(t, f, ec, "export-cache-to-s3", "--cache-cluster-id", "orders", "--export-name", "orders-manual-1", "--wait", "--poll", "1ms")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	for _, s := range []string{"export orders-manual-1 of cache-cluster orders begun", "snapshotting", "exporting", "verified: 1 object(s)", "manifest s3://exports/cacheport/orders/orders-manual-1/manifest.json"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr does not say %q:\n%s", s, stderr)
		}
	}
	golden(t, "export-wait-verified", out)
	if got := f.bucket.Keys("cacheport/orders/orders-manual-1/"); len(got) != 3 {
		t.Errorf("keys %v, want record, manifest and one object", got)
	}
	if types := f.events.Types(); strings.Join(types, ",") != "Export Started,Export Verified" {
		t.Errorf("events %v", types)
	}

	// The same name again: refused without --wait, reported with --wait.
	code, _, stderr = exportCLI(t, f, ec, "export-cache-to-s3", "--cache-cluster-id", "orders", "--export-name", "orders-manual-1")
	if code != exitUsage || !strings.Contains(stderr, "already exists (verified, attempt 1)") {
		t.Errorf("again: exit %d %s", code, stderr)
	}
	code, _, _ = exportCLI(t, f, ec, "--json", "export-cache-to-s3", "--cache-cluster-id", "orders", "--export-name", "orders-manual-1", "--wait")
	if code != exitOK {
		t.Errorf("again with --wait: exit %d", code)
	}
	// ... and for another cache, refused.
	code, _, stderr = exportCLI(t, f, ec, "export-cache-to-s3", "--replication-group-id", "carts", "--export-name", "orders-manual-1", "--wait")
	if code != exitUsage || !strings.Contains(stderr, "already used by an export of orders") {
		t.Errorf("other cache: exit %d %s", code, stderr)
	}
}

func TestExportCacheToS3Failure(t *testing.T) {
	f, ec := exportAWS(t)
	ec.copyErr = &ectypes.InvalidParameterValueException{Message: aws.String("ElastiCache has not been granted WRITE permissions exports on the S3 Bucket.")}
	code, out, stderr := exportCLI(t, f, ec, "--json", "export-cache-to-s3", "--cache-cluster-id", "orders", "--export-name", "orders-manual-2", "--wait", "--poll", "1ms")
	if code != exitFinding {
		t.Fatalf("exit %d, want 1\nstderr %s", code, stderr)
	}
	for _, s := range []string{"failed: no-grant", "cleaning up", "abandoned", "cleaned up: snapshot cacheport-orders-manual-2-a1"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr does not say %q:\n%s", s, stderr)
		}
	}
	var doc struct{ ExportTask exportTask }
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.ExportTask.Status != export.StageAbandoned || doc.ExportTask.Error == nil || len(doc.ExportTask.Removed) == 0 {
		t.Errorf("stdout is not the abandoned task: %v\n%s", err, out)
	}
	if len(f.ec.Deleted) != 1 {
		t.Errorf("deleted snapshots %v", f.ec.Deleted)
	}
	// Without --wait: a fresh automatic backup is copied at once, the failure is reported and
	// left to the deployed cleanup-export.
	f.ec.Snapshots = append(f.ec.Snapshots, ectypes.Snapshot{SnapshotName: aws.String("automatic.orders-2026-11-24-05-00"), CacheClusterId: aws.String("orders"),
		SnapshotSource: aws.String("automated"), SnapshotStatus: aws.String("available"),
		NodeSnapshots: []ectypes.NodeSnapshot{{SnapshotCreateTime: aws.Time(testNow.Add(-2 * time.Hour))}}})
	code, out, stderr = exportCLI(t, f, ec, "export-cache-to-s3", "--cache-cluster-id", "orders", "--export-name", "orders-manual-3", "--max-backup-age", "24h")
	if code != exitFinding || !strings.Contains(stderr, "failed: no-grant") || !strings.Contains(out, "Status:   failed (no-grant)") || len(f.ec.Deleted) != 1 {
		t.Errorf("no wait: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
}

func TestExportCacheToS3NoWait(t *testing.T) {
	f, _ := exportAWS(t)
	code, out, stderr := exportCLI(t, f, f.ec, "export-cache-to-s3", "--replication-group-id", "carts", "--export-name", "carts-1")
	if code != exitOK || !strings.Contains(stderr, "start: snapshotting") || !strings.Contains(stderr, "the deployed functions carry it on") || !strings.Contains(out, "Status:   snapshotting") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	// --wait with a snapshot that never finishes: out of time, exit 1.
	code, _, stderr = exportCLI(t, f, f.ec, "export-cache-to-s3", "--replication-group-id", "carts", "--export-name", "carts-1", "--wait", "--poll", "5ms", "--timeout", "50ms")
	if code != exitFinding || !strings.Contains(stderr, "not finished after 50ms: still snapshotting") {
		t.Errorf("timeout: exit %d %s", code, stderr)
	}
}

// TestExportCacheToS3WhileAnotherRuns: the window's export of the cache is snapshotting, so a
// backup is running: the export by hand is told so, and waits rather than fail.
func TestExportCacheToS3WhileAnotherRuns(t *testing.T) {
	f, _ := exportAWS(t)
	putRecord(t, f, "orders", "orders-20261124-0600", export.StageSnapshotting, testNow.Add(-time.Hour), testNow.Add(-time.Hour), "", 0)
	f.ec.Snapshots = []ectypes.Snapshot{{SnapshotName: aws.String("cacheport-orders-20261124-0600-a1"), CacheClusterId: aws.String("orders"),
		SnapshotSource: aws.String("manual"), SnapshotStatus: aws.String("creating")}}
	code, out, stderr := exportCLI(t, f, f.ec, "export-cache-to-s3", "--cache-cluster-id", "orders", "--export-name", "orders-now")
	if code != exitOK || !strings.Contains(stderr, "note: export orders-20261124-0600 of orders is already snapshotting (attempt 1)") ||
		!strings.Contains(stderr, "start: waiting, now requested (backup-running)") || !strings.Contains(out, "Status:   requested") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
}

func TestExportCacheToS3Errors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		setup  func(*fakeAWS)
		code   int
		stderr string
	}{
		{"no cache", []string{"--export-name", "x"}, nil, exitUsage, "give exactly one of"},
		{"two caches", []string{"--cache-cluster-id", "a", "--serverless-cache-name", "b", "--export-name", "x"}, nil, exitUsage, "give exactly one of"},
		{"no name", []string{"--cache-cluster-id", "orders"}, nil, exitUsage, "--export-name is required"},
		{"bad name", []string{"--cache-cluster-id", "orders", "--export-name", "Orders_1"}, nil, exitUsage, "--export-name"},
		{"bad prefix", []string{"--cache-cluster-id", "orders", "--export-name", "x", "--s3-key-prefix", "/p/"}, nil, exitUsage, "--s3-key-prefix"},
		{"unknown cache", []string{"--cache-cluster-id", "nope", "--export-name", "x"}, nil, exitUsage, `unknown cache: no cache-cluster-id "nope" in eu-west-1`},
		{"wrong kind", []string{"--replication-group-id", "orders", "--export-name", "x"}, nil, exitUsage, "orders is a cache-cluster, not what --replication-group-id names: use --cache-cluster-id"},
		{"memcached", []string{"--cache-cluster-id", "memo", "--export-name", "x"}, nil, exitUsage, "cannot be exported"},
		{"access denied", []string{"--cache-cluster-id", "orders", "--export-name", "x"}, func(f *fakeAWS) { f.ec.Fail("DescribeReplicationGroups", apiErr("AccessDenied")) }, exitUsage, "the caller may not make this call"},
		{"missing bucket", []string{"--cache-cluster-id", "orders", "--export-name", "x"}, func(f *fakeAWS) { f.bucket.missing = true }, exitUsage, "does not exist"},
		{"help", []string{"--help"}, nil, exitOK, "drives the export to its end itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ec := exportAWS(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			code, out, stderr := exportCLI(t, f, ec, append([]string{"export-cache-to-s3"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d (want %d); stderr %q does not say %q", code, tt.code, stderr, tt.stderr)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
		})
	}
}

func TestDescribeAndListExports(t *testing.T) {
	f := fleet(t)
	run := func(args ...string) (int, string, string) { return exportCLI(t, f, f.ec, args...) }
	code, out, _ := run("describe-export-tasks", "--export-task-id", "sessions-20261124-0300")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	golden(t, "describe-one", out)
	code, out, _ = run("--json", "describe-export-tasks")
	var doc struct{ ExportTasks []exportTask }
	if code != exitOK || json.Unmarshal([]byte(out), &doc) != nil || len(doc.ExportTasks) != 4 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	golden(t, "describe-all-json", out)

	code, out, _ = run("list-exports")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	golden(t, "list-table", out)
	code, out, _ = run("list-exports", "--cache", "sessions", "--json")
	var rows []exportSummary
	if code != exitOK || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 2 || rows[0].ExportID != "sessions-20261124-0300" {
		t.Fatalf("exit %d\n%s", code, out)
	}
	golden(t, "list-cache-json", out)

	for _, tt := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"describe-export-tasks", "--export-task-id", "nope"}, exitUsage, `no such export "nope" in s3://exports/cacheport/`},
		{[]string{"describe-export-tasks", "--export-task-id", "Bad_Id"}, exitUsage, "--export-task-id"},
		{[]string{"list-exports", "--cache", "none"}, exitOK, "no exports in s3://exports/cacheport/"},
		{[]string{"list-exports", "extra"}, exitUsage, `unexpected argument "extra"`},
	} {
		code, _, stderr := run(tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: exit %d stderr %q, want %d %q", tt.args, code, stderr, tt.code, tt.stderr)
		}
	}
	f.bucket.errs = map[string]error{"ListObjectsV2": apiErr("AccessDenied")}
	if code, _, stderr := run("list-exports"); code != exitUsage || !strings.Contains(stderr, "the caller may not make this call") {
		t.Errorf("denied: exit %d %s", code, stderr)
	}
}

func TestCancelExportTask(t *testing.T) {
	f, _ := exportAWS(t)
	// Begin an export that waits on its snapshot, then make the snapshot available.
	if code, _, stderr := exportCLI(t, f, f.ec, "export-cache-to-s3", "--cache-cluster-id", "orders", "--export-name", "orders-oops"); code != exitOK {
		t.Fatalf("begin: exit %d %s", code, stderr)
	}
	f.ec.Finish("cacheport-orders-oops-a1", "available")
	code, out, stderr := exportCLI(t, f, f.ec, "cancel-export-task", "--export-task-id", "orders-oops")
	if code != exitOK || !strings.Contains(stderr, "export orders-oops cancelled") || !strings.Contains(stderr, "removed snapshot cacheport-orders-oops-a1") ||
		!strings.Contains(out, "Status:   cancelled") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	if strings.Join(f.ec.Deleted, ",") != "cacheport-orders-oops-a1" || !strings.Contains(strings.Join(f.events.Types(), ","), "Export Cancelled") {
		t.Errorf("deleted %v events %v", f.ec.Deleted, f.events.Types())
	}
	// Again: already cancelled, the clean-up finds nothing more.
	if code, _, _ := exportCLI(t, f, f.ec, "--json", "cancel-export-task", "--export-task-id", "orders-oops"); code != exitOK {
		t.Errorf("again: exit %d", code)
	}
	g := fleet(t)
	for _, tt := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"cancel-export-task", "--export-task-id", "orders-20261124-0300"}, exitFinding, "is verified: only an export not yet verified can be cancelled"},
		{[]string{"cancel-export-task", "--export-task-id", "ghost"}, exitUsage, "no such export"},
		{[]string{"cancel-export-task"}, exitUsage, "--export-task-id is required"},
	} {
		code, _, stderr := exportCLI(t, g, g.ec, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: exit %d stderr %q, want %d %q", tt.args, code, stderr, tt.code, tt.stderr)
		}
	}
}
