package s3srv

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/twin/core"
)

// clientEnv returns the environment for the AWS CLI and boto3: static credentials, a region,
// and no config or credentials files of the user's.
func clientEnv(t *testing.T, key string) []string {
	dir := t.TempDir()
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
}

// randomFile writes n pseudo-random bytes (a fixed seed) and returns its path and contents.
func randomFile(t *testing.T, name string, n int) (string, []byte) {
	data := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(data)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

func TestAWSCLI(t *testing.T) {
	awsBin := testenv.Tool(t, "aws", "pip install awscli (the AWS CLI v1)")
	log := &core.CallLog{}
	store := New(Options{Log: log})
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	env := clientEnv(t, "cli")
	dir := t.TempDir()
	small := filepath.Join(dir, "hello.txt")
	if err := os.WriteFile(small, []byte("hello from the cli\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big, bigData := randomFile(t, "big.bin", 9<<20)
	back := filepath.Join(dir, "back.bin")
	got := filepath.Join(dir, "got.txt")

	steps := []struct {
		name    string
		args    []string
		wantErr string                         // in stderr, when the command must fail
		check   func(t *testing.T, out []byte) // on success
	}{
		{name: "create bucket", args: []string{"s3api", "create-bucket", "--bucket", "cli-bkt",
			"--create-bucket-configuration", "LocationConstraint=eu-west-1"},
			check: func(t *testing.T, _ []byte) {
				if region, ok, _ := store.BucketRegion(context.Background(), "cli-bkt"); !ok || region != "eu-west-1" {
					t.Errorf("bucket region %q, %v", region, ok)
				}
			}},
		{name: "put object", args: []string{"s3api", "put-object", "--bucket", "cli-bkt", "--key", "dir/hello.txt", "--body", small},
			check: func(t *testing.T, out []byte) {
				var res struct{ ETag string }
				if err := json.Unmarshal(out, &res); err != nil || res.ETag != `"`+md5hex("hello from the cli\n")+`"` {
					t.Errorf("put-object said %s (%v)", out, err)
				}
			}},
		{name: "odd key", args: []string{"s3api", "put-object", "--bucket", "cli-bkt", "--key", "dir/a b+c%d ü.txt", "--body", small},
			check: func(t *testing.T, _ []byte) {}},
		{name: "conditional put refused", args: []string{"s3api", "put-object", "--bucket", "cli-bkt", "--key", "dir/hello.txt",
			"--body", small, "--if-none-match", "*"}, wantErr: "PreconditionFailed"},
		{name: "get object", args: []string{"s3api", "get-object", "--bucket", "cli-bkt", "--key", "dir/hello.txt", got},
			check: func(t *testing.T, _ []byte) {
				if b, err := os.ReadFile(got); err != nil || string(b) != "hello from the cli\n" {
					t.Errorf("got %q, %v", b, err)
				}
			}},
		{name: "get missing object", args: []string{"s3api", "get-object", "--bucket", "cli-bkt", "--key", "nope", got}, wantErr: "NoSuchKey"},
		{name: "multipart copy", args: []string{"s3", "cp", "--no-progress", big, "s3://cli-bkt/big.bin"},
			check: func(t *testing.T, _ []byte) {
				vs, _ := store.Versions("cli-bkt", "big.bin")
				if len(vs) != 1 || !strings.HasSuffix(vs[0].ETag, "-2") || vs[0].Size != 9<<20 {
					t.Errorf("big.bin stored as %+v, want two parts", vs)
				}
			}},
		{name: "list", args: []string{"s3", "ls", "--recursive", "s3://cli-bkt/"},
			check: func(t *testing.T, out []byte) {
				if !strings.Contains(string(out), "dir/hello.txt") || !strings.Contains(string(out), " 9437184 big.bin") ||
					!strings.Contains(string(out), "dir/a b+c%d ü.txt") {
					t.Errorf("s3 ls said %s", out)
				}
			}},
		{name: "list v2", args: []string{"s3api", "list-objects-v2", "--bucket", "cli-bkt", "--prefix", "dir/"},
			check: func(t *testing.T, out []byte) {
				var res struct{ Contents []struct{ Key string } }
				if err := json.Unmarshal(out, &res); err != nil || len(res.Contents) != 2 || res.Contents[1].Key != "dir/hello.txt" {
					t.Errorf("list-objects-v2 said %s (%v)", out, err)
				}
			}},
		{name: "copy back", args: []string{"s3", "cp", "--no-progress", "s3://cli-bkt/big.bin", back},
			check: func(t *testing.T, _ []byte) {
				if b, err := os.ReadFile(back); err != nil || !bytes.Equal(b, bigData) {
					t.Errorf("copied back %d bytes, %v; equal %v", len(b), err, bytes.Equal(b, bigData))
				}
			}},
		{name: "bucket acl", args: []string{"s3api", "get-bucket-acl", "--bucket", "cli-bkt"},
			check: func(t *testing.T, out []byte) {
				if !strings.Contains(string(out), DefaultOwnerID) || !strings.Contains(string(out), "FULL_CONTROL") {
					t.Errorf("get-bucket-acl said %s", out)
				}
			}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, awsBin, append([]string{"--endpoint-url", srv.URL, "--output", "json"}, st.args...)...)
			cmd.Env = env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if st.wantErr != "" {
				if err == nil || !strings.Contains(stderr.String(), st.wantErr) {
					t.Fatalf("aws %v: %v, stderr %s; want %s", st.args, err, stderr.String(), st.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("aws %v: %v\n%s", st.args, err, stderr.String())
			}
			st.check(t, out)
		})
	}
	ops := strings.Join(log.Operations()["cli"], " ")
	t.Logf("the AWS CLI called %s", ops)
	for _, op := range []string{"s3:CreateBucket", "s3:PutObject", "s3:GetObject", "s3:CreateMultipartUpload", "s3:UploadPart",
		"s3:CompleteMultipartUpload", "s3:ListObjectsV2", "s3:GetBucketAcl"} {
		if !strings.Contains(ops, op) {
			t.Errorf("the call log misses %s: %s", op, ops)
		}
	}
}

// boto3Script runs the same steps as TestAWSCLI through boto3 and prints what it saw as JSON.
const boto3Script = `
import json, os, sys
import boto3
from botocore.exceptions import ClientError
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
out = {}
s3.create_bucket(Bucket="py-bkt")
out["put_etag"] = s3.put_object(Bucket="py-bkt", Key="k/hello", Body=b"hello from boto3")["ETag"]
try:
    s3.put_object(Bucket="py-bkt", Key="k/hello", Body=b"again", IfNoneMatch="*")
    out["conditional"] = "accepted"
except ClientError as e:
    out["conditional"] = e.response["Error"]["Code"]
out["get"] = s3.get_object(Bucket="py-bkt", Key="k/hello", ChecksumMode="ENABLED")["Body"].read().decode()
out["range"] = s3.get_object(Bucket="py-bkt", Key="k/hello", Range="bytes=0-4")["Body"].read().decode()
s3.upload_file(sys.argv[1], "py-bkt", "k/big.bin")
out["big_etag"] = s3.head_object(Bucket="py-bkt", Key="k/big.bin")["ETag"]
out["keys"] = [o["Key"] for o in s3.list_objects_v2(Bucket="py-bkt", Prefix="k/")["Contents"]]
s3.put_bucket_versioning(Bucket="py-bkt", VersioningConfiguration={"Status": "Enabled"})
s3.put_object(Bucket="py-bkt", Key="v", Body=b"1")
s3.put_object(Bucket="py-bkt", Key="v", Body=b"2")
s3.delete_object(Bucket="py-bkt", Key="v")
vs = s3.list_object_versions(Bucket="py-bkt", Prefix="v")
out["versions"] = len(vs.get("Versions", []))
out["markers"] = len(vs.get("DeleteMarkers", []))
print(json.dumps(out))
`

func TestBoto3(t *testing.T) {
	py := testenv.Tool(t, "python3", "apt-get install python3")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		testenv.Missing(t, "boto3", "pip install boto3")
	}
	store := New(Options{})
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	big, bigData := randomFile(t, "big.bin", 9<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", boto3Script, big)
	cmd.Env = append(clientEnv(t, "boto3"), "S3_ENDPOINT="+srv.URL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	var res struct {
		PutETag     string `json:"put_etag"`
		Conditional string
		Get, Range  string
		BigETag     string `json:"big_etag"`
		Keys        []string
		Versions    int
		Markers     int
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("boto3 printed %s: %v", out, err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"put etag", res.PutETag == `"`+md5hex("hello from boto3")+`"`},
		{"conditional put refused", res.Conditional == "PreconditionFailed"},
		{"get", res.Get == "hello from boto3"},
		{"range", res.Range == "hello"},
		{"multipart upload_file", strings.HasSuffix(res.BigETag, `-2"`)},
		{"list", strings.Join(res.Keys, ",") == "k/big.bin,k/hello"},
		{"versions and delete marker", res.Versions == 2 && res.Markers == 1},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: boto3 saw %+v", c.name, res)
		}
	}
	if b, err := store.Object("py-bkt", "k/big.bin"); err != nil || !bytes.Equal(b, bigData) {
		t.Errorf("stored big.bin: %d bytes, %v", len(b), err)
	}
}
