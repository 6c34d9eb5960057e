package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/internal/testenv"
)

// TestVerifyRealS3 runs `cacheport verify s3://...` through the real AWS SDK against a local
// S3-compatible server (versitygw), covering --endpoint-url, path-style addressing, ranged GETs
// and If-Match as a real server answers them.
func TestVerifyRealS3(t *testing.T) {
	// .ci/install-tools installs versitygw with go install: make sure GOPATH/bin is searched.
	if _, err := exec.LookPath("versitygw"); err != nil {
		t.Setenv("PATH", os.Getenv("PATH")+string(os.PathListSeparator)+filepath.Join(os.Getenv("HOME"), "go", "bin"))
	}
	const key, secret = "cacheportkey", "cacheportsecret"
	p := testenv.Start(t, "versitygw", "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 (make tools)",
		"--access", key, "--secret", secret, "--port", "127.0.0.1:{port}", "posix", "{dir}")
	endpoint := "http://" + p.Addr
	t.Setenv("AWS_ACCESS_KEY_ID", key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))

	ctx := context.Background()
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("exports")}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	good := rdbFile()
	bad := rdbFile()
	bad[12] ^= 1
	for name, body := range map[string][]byte{"dump.rdb": good, "bad.rdb": bad} {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("exports"), Key: aws.String(name), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
	}

	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: os.Getenv}
	code := run(ctx, e, []string{"--region", "us-east-1", "--endpoint-url", endpoint, "verify", "--json", "--part-size", "5",
		"s3://exports/dump.rdb", "s3://exports/bad.rdb", "s3://exports/missing.rdb"})
	if code != exitUsage {
		t.Fatalf("exit %d, want 2 (one missing object)\n%s\n%s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 JSON lines, got %q", out.String())
	}
	for i, want := range []bool{true, false, false} {
		var rep struct {
			Valid bool   `json:"valid"`
			Keys  int    `json:"keys"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Valid != want || (want && rep.Keys != 2) || (!want && rep.Error == "") {
			t.Errorf("line %d: %s", i, lines[i])
		}
	}
}
