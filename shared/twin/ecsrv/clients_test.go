package ecsrv

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"

	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/rdb"
)

// clientEnv is the environment of a real client pointed at the twin, isolated from the user's
// AWS configuration.
func clientEnv(t *testing.T, akid string) []string {
	dir := t.TempDir()
	env := []string{
		"AWS_ACCESS_KEY_ID=" + akid, "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=" + testRegion,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "HOME=" + dir,
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "PYENV") || strings.HasPrefix(kv, "PYTHON") {
			env = append(env, kv)
		}
	}
	return env
}

// TestAWSCLI drives the twin with the AWS CLI.
func TestAWSCLI(t *testing.T) {
	bin := testenv.Tool(t, "aws", "pip install awscli")
	r := newRig(t)
	r.add(standardCaches()...)
	run := func(args ...string) (map[string]any, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--endpoint-url", r.url, "--output", "json", "elasticache"}, args...)...)
		cmd.Env = clientEnv(t, "CLIKEY")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			return nil, stderr.String()
		}
		var out map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, stdout.String())
		}
		return out, ""
	}
	out, errText := run("describe-replication-groups")
	if errText != "" {
		t.Fatalf("describe-replication-groups: %s", errText)
	}
	groups, _ := out["ReplicationGroups"].([]any)
	if len(groups) != 3 {
		t.Fatalf("%d groups: %v", len(groups), out)
	}
	ng := groups[0].(map[string]any)["NodeGroups"].([]any)
	if len(ng) == 0 {
		t.Errorf("no node groups: %v", groups[0])
	}

	out, errText = run("create-snapshot", "--replication-group-id", "orders", "--snapshot-name", "cli-snap", "--tags", "Key=cacheport:managed,Value=true")
	if errText != "" {
		t.Fatalf("create-snapshot: %s", errText)
	}
	if st := out["Snapshot"].(map[string]any)["SnapshotStatus"]; st != "creating" {
		t.Errorf("status %v", st)
	}
	_, errText = run("create-snapshot", "--replication-group-id", "orders", "--snapshot-name", "cli-snap")
	if !strings.Contains(errText, "SnapshotAlreadyExistsFault") {
		t.Errorf("duplicate: %q", errText)
	}
	r.settle(2 * time.Minute)
	_, errText = run("copy-snapshot", "--source-snapshot-name", "cli-snap", "--target-snapshot-name", "CLI-Export", "--target-bucket", testBucket)
	if errText != "" {
		t.Fatalf("copy-snapshot: %s", errText)
	}
	r.settle(2 * time.Minute)
	if keys := r.bucket.keys(testBucket); len(keys) != 1 || keys[0] != "cli-export-0001.rdb" {
		t.Errorf("objects %v", keys)
	}
	out, errText = run("describe-snapshots", "--snapshot-name", "cli-snap")
	if errText != "" {
		t.Fatal(errText)
	}
	snaps := out["Snapshots"].([]any)
	if len(snaps) != 1 || snaps[0].(map[string]any)["SnapshotStatus"] != "available" {
		t.Errorf("snapshots %v", snaps)
	}
	_, errText = run("copy-snapshot", "--source-snapshot-name", "cli-snap", "--target-snapshot-name", "x", "--target-bucket", "missing-bucket")
	if !strings.Contains(errText, "InvalidParameterValue") || !strings.Contains(errText, "does not exist") {
		t.Errorf("missing bucket: %q", errText)
	}
	if ops := r.calls.Operations()["CLIKEY"]; !hasString(ops, "elasticache:CopySnapshot") || !hasString(ops, "elasticache:DescribeReplicationGroups") {
		t.Errorf("call log %v", ops)
	}
}

// TestBoto3 drives the twin with boto3: describe, create, paginate, errors by code.
func TestBoto3(t *testing.T) {
	py := testenv.Tool(t, "python3", "apt-get install python3")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		testenv.Missing(t, "boto3", "pip install boto3")
	}
	r := newRig(t)
	r.add(standardCaches()...)
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		if _, err := r.srv.AddAutomatedSnapshot(ctx, "orders", r.clock.Now().Add(-time.Duration(i)*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	script := `
import sys, boto3, botocore
ec = boto3.client("elasticache", endpoint_url=sys.argv[1])
rgs = ec.describe_replication_groups()["ReplicationGroups"]
assert len(rgs) == 3, rgs
ccs = ec.describe_cache_clusters(ShowCacheNodeInfo=True)["CacheClusters"]
assert len(ccs) == 13, len(ccs)
sl = ec.describe_serverless_caches()["ServerlessCaches"]
assert sl[0]["ServerlessCacheName"] == "carts", sl
n = 0
pages = 0
for page in ec.get_paginator("describe_snapshots").paginate(ReplicationGroupId="orders", PaginationConfig={"PageSize": 20}):
    pages += 1
    n += len(page["Snapshots"])
assert (n, pages) == (25, 2), (n, pages)
s = ec.create_snapshot(CacheClusterId="solo", SnapshotName="py-snap", Tags=[{"Key": "k", "Value": "v"}])["Snapshot"]
assert s["SnapshotStatus"] == "creating", s
try:
    ec.create_snapshot(CacheClusterId="solo", SnapshotName="py-snap")
    raise SystemExit("duplicate accepted")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "SnapshotAlreadyExistsFault", e.response
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
try:
    ec.delete_snapshot(SnapshotName="py-snap")
    raise SystemExit("transitional delete accepted")
except ec.exceptions.InvalidSnapshotStateFault as e:
    pass
try:
    ec.describe_snapshots(SnapshotName="nope")
    raise SystemExit("missing snapshot found")
except ec.exceptions.SnapshotNotFoundFault as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
tags = ec.list_tags_for_resource(ResourceName="arn:aws:elasticache:us-east-1:111122223333:snapshot:py-snap")["TagList"]
assert tags == [{"Key": "k", "Value": "v"}], tags
c = ec.create_serverless_cache_snapshot(ServerlessCacheName="carts", ServerlessCacheSnapshotName="py-sl")["ServerlessCacheSnapshot"]
assert c["Status"] == "creating", c
print("ok")
`
	cmd := exec.Command(py, "-c", script, r.url)
	cmd.Env = clientEnv(t, "BOTOKEY")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	r.settle(2 * time.Minute)
	if st := r.status("py-snap"); st != "available" {
		t.Errorf("py-snap %q", st)
	}
}

// TestRealRedisData snapshots caches backed by real redis-server processes and checks the
// exported files: every key type, db 1 only without cluster mode.
func TestRealRedisData(t *testing.T) {
	testenv.Tool(t, "redis-server", "apt-get install redis-server")
	r := newRig(t, func(o *Options) { o.Data = DataRedis; o.RedisKeys = 350 })
	r.add(Cache{ID: "orders", Kind: KindReplicationGroup, Replicas: 1}, Cache{ID: "sessions", Kind: KindReplicationGroup, ClusterMode: true, Shards: 2})
	ctx := context.Background()
	for _, id := range []string{"orders", "sessions"} {
		if _, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{ReplicationGroupId: aws.String(id), SnapshotName: aws.String(id + "-snap")}); err != nil {
			t.Fatal(err)
		}
	}
	r.settle(2 * time.Minute)
	for _, id := range []string{"orders", "sessions"} {
		if st := r.status(id + "-snap"); st != "available" {
			t.Fatalf("%s: %s", id, st)
		}
		if _, err := r.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String(id + "-snap"), TargetSnapshotName: aws.String("real/" + id), TargetBucket: aws.String(testBucket)}); err != nil {
			t.Fatal(err)
		}
	}
	r.settle(3 * time.Minute)
	keys := r.bucket.keys(testBucket)
	if strings.Join(keys, " ") != "real/orders-0001.rdb real/sessions-0001.rdb real/sessions-0002.rdb" {
		t.Fatalf("objects %v", keys)
	}
	for _, k := range keys {
		data := r.bucket.get(testBucket, k)
		if !bytes.HasPrefix(data, []byte("REDIS00")) {
			t.Fatalf("%s: header %q", k, data[:9])
		}
		rep, err := rdb.Verify(bytes.NewReader(data))
		if err != nil || !rep.Valid {
			t.Fatalf("%s: %v %+v", k, err, rep)
		}
		// 350 keys plus one with an expiry per ten.
		if rep.Keys != 385 || rep.Checksum != rdb.ChecksumOK {
			t.Errorf("%s: %d keys (checksum %s), want 385", k, rep.Keys, rep.Checksum)
		}
		if dbs := len(rep.KeysByDB); (k == "real/orders-0001.rdb") != (dbs == 2) {
			t.Errorf("%s: %d databases", k, dbs)
		}
	}
	addrs := r.srv.RedisAddrs("sessions")
	if len(addrs) != 2 || addrs[0] == "" || addrs[0] == addrs[1] {
		t.Errorf("redis addresses %v", addrs)
	}
	if err := r.srv.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	// After Close, a new snapshot of a redis-backed cache fails rather than hangs.
	if _, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{ReplicationGroupId: aws.String("orders"), SnapshotName: aws.String("after-close")}); err != nil {
		t.Fatal(err)
	}
	r.settle(2 * time.Minute)
	if st := r.status("after-close"); st != "failed" {
		t.Errorf("snapshot after close: %q", st)
	}
}
