package twin

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/twin/ecsrv"
)

// The AWS CLI and boto3, unchanged, through the twin's one edge port (AWS_ENDPOINT_URL).
func TestRealClientsThroughTheEdge(t *testing.T) {
	awsCLI := testenv.Tool(t, "aws", "pip install awscli")
	py := testenv.Tool(t, "python3", "apt-get install python3")
	tw, _ := startTwin(t, Options{Data: ecsrv.DataGenerated})
	env := os.Environ()
	for k, v := range tw.Env() {
		env = append(env, k+"="+v)
	}
	env = append(env, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(awsCLI, append(args, "--output", "json")...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	var rgs struct {
		ReplicationGroups []struct{ ReplicationGroupId string }
	}
	if err := json.Unmarshal([]byte(cli("elasticache", "describe-replication-groups")), &rgs); err != nil || len(rgs.ReplicationGroups) < 2 {
		t.Fatalf("describe-replication-groups: %+v %v", rgs, err)
	}
	cli("elasticache", "create-snapshot", "--replication-group-id", "orders", "--snapshot-name", "by-hand")
	tw.Clock.Advance(10 * time.Minute)
	if err := tw.EC.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	cli("elasticache", "copy-snapshot", "--source-snapshot-name", "by-hand", "--target-snapshot-name", "manual/By-Hand", "--target-bucket", tw.Bucket)
	tw.Clock.Advance(10 * time.Minute)
	if err := tw.EC.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out := cli("s3api", "list-objects-v2", "--bucket", tw.Bucket, "--prefix", "manual/"); !strings.Contains(out, "manual/by-hand-0001.rdb") {
		t.Fatalf("the export's object (target name lower-cased) is not listed:\n%s", out)
	}

	script := `
import boto3, botocore, sys
s3 = boto3.client("s3")
ec = boto3.client("elasticache")
b = sys.argv[1]
body = s3.get_object(Bucket=b, Key="manual/by-hand-0001.rdb")["Body"].read()
assert body[:5] == b"REDIS", body[:9]
s3.put_object(Bucket=b, Key="boto/once", Body=b"1", IfNoneMatch="*")
try:
    s3.put_object(Bucket=b, Key="boto/once", Body=b"2", IfNoneMatch="*")
    sys.exit("second conditional create succeeded")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "PreconditionFailed", e.response
pages = ec.get_paginator("describe_snapshots").paginate()
names = [s["SnapshotName"] for p in pages for s in p["Snapshots"]]
assert "by-hand" in names, names
print("ok")
`
	cmd := exec.Command(py, "-c", script, tw.Bucket)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
}
