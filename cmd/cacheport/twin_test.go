package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/twin/s3srv"
)

// twinAccount is the twin's S3 (served over HTTP, reached through the real SDK) with a versioned
// bucket "exports" in eu-west-1, and fake ElastiCache and EventBridge.
func twinAccount(t *testing.T) (*s3srv.Store, *clients, *autoEC) {
	t.Helper()
	store := s3srv.New(s3srv.Options{})
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	if err := store.CreateBucket("exports", "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	if err := store.SetVersioning("exports", "Enabled"); err != nil {
		t.Fatal(err)
	}
	c := s3.New(s3.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("operator", "secret", "")})
	f, ec := exportAWS(t)
	// ElastiCache writes its objects as its own service identity, straight into the store.
	ec.put = func(ctx context.Context, key string, body []byte) error {
		return store.PutObject(ctx, "exports", key, bytes.NewReader(body), int64(len(body)))
	}
	return store, &clients{region: "eu-west-1", s3: c, ec: ec, events: f.events, sts: fakeSTS{}}, ec
}

// TestExportVerbsAgainstTwinS3 runs the export verbs and the audit through the real SDK against
// the twin's S3: records written with conditional writes, objects proven with ranged reads, a
// failed attempt cleaned up in a versioned bucket, a cancelled export removed.
func TestExportVerbsAgainstTwinS3(t *testing.T) {
	store, c, ec := twinAccount(t)

	code, out, stderr := cliWith(t, c, "--json", "export-cache-to-s3", "--cache-cluster-id", "orders", "--export-name", "orders-twin-1", "--wait", "--poll", "1ms")
	var doc struct{ ExportTask exportTask }
	if code != exitOK || json.Unmarshal([]byte(out), &doc) != nil || doc.ExportTask.Status != "verified" {
		t.Fatalf("export: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	if _, err := store.Object("exports", "cacheport/orders/orders-twin-1/manifest.json"); err != nil {
		t.Errorf("no manifest: %v", err)
	}

	// The audit sees it verified now.
	code, out, _ = cliWith(t, c, "--json", "audit", "--max-age", "1h")
	if code != exitFinding || !strings.Contains(out, `"export_id": "orders-twin-1"`) || !strings.Contains(out, `"verdict": "compliant"`) {
		t.Errorf("audit: exit %d\n%s", code, out) // memo is unprotected: exit 1
	}

	// A failed export: its snapshot is removed, the record says so.
	ec.copyErr = &ectypes.InvalidParameterValueException{Message: aws.String("The S3 bucket exports is outside of the region.")}
	code, _, stderr = cliWith(t, c, "export-cache-to-s3", "--cache-cluster-id", "orders", "--export-name", "orders-twin-2", "--wait", "--poll", "1ms")
	if code != exitFinding || !strings.Contains(stderr, "bucket-wrong-region") || !strings.Contains(stderr, "cleaned up: snapshot cacheport-orders-twin-2-a1") {
		t.Errorf("failed export: exit %d\n%s", code, stderr)
	}
	ec.copyErr = nil

	// A cancelled export whose copy had landed: every version of its objects goes.
	code, _, stderr = cliWith(t, c, "export-cache-to-s3", "--replication-group-id", "carts", "--export-name", "carts-twin-1")
	if code != exitOK {
		t.Fatalf("begin: exit %d %s", code, stderr)
	}
	if err := store.PutObject(context.Background(), "exports", "cacheport/carts/carts-twin-1/a1/carts-twin-1-0001.rdb", bytes.NewReader(rdbFile()), int64(len(rdbFile()))); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = cliWith(t, c, "cancel-export-task", "--export-task-id", "carts-twin-1")
	if code != exitOK || !strings.Contains(stderr, "removed cacheport/carts/carts-twin-1/a1/carts-twin-1-0001.rdb") {
		t.Errorf("cancel: exit %d\n%s", code, stderr)
	}
	if vs, err := store.Versions("exports", "cacheport/carts/carts-twin-1/a1/"); err != nil || len(vs) != 0 {
		t.Errorf("versions left after cancel: %v %v", vs, err)
	}

	code, out, _ = cliWith(t, c, "list-exports")
	for _, s := range []string{"orders-twin-1  orders  verified", "orders-twin-2  orders  abandoned  1/1", "carts-twin-1   carts   cancelled"} {
		if !strings.Contains(out, s) {
			t.Errorf("list-exports does not say %q:\n%s", s, out)
		}
	}
	if code != exitOK {
		t.Errorf("list-exports: exit %d", code)
	}
}

// TestAuditAgainstTwinS3WrongRegion: a bucket in another region than --region, as S3's regional
// endpoints answer it (301 PermanentRedirect), is a clear configuration error.
func TestAuditAgainstTwinS3WrongRegion(t *testing.T) {
	store := s3srv.New(s3srv.Options{StrictRegion: true})
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	if err := store.CreateBucket("exports", "us-east-1"); err != nil {
		t.Fatal(err)
	}
	c := s3.New(s3.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("operator", "secret", "")})
	f, ec := exportAWS(t)
	cl := &clients{region: "eu-west-1", s3: c, ec: ec, events: f.events, sts: fakeSTS{}}
	for _, args := range [][]string{{"audit"}, {"list-exports"}, {"export-cache-to-s3", "--cache-cluster-id", "orders", "--export-name", "x"}} {
		code, out, stderr := cliWith(t, cl, args...)
		if code != exitUsage || out != "" || !strings.Contains(stderr, "the bucket is in another region than --region") {
			t.Errorf("%v: exit %d\nstdout %s\nstderr %s", args, code, out, stderr)
		}
	}
	// doctor names the region.
	code, out, _ := cliWith(t, cl, "doctor")
	if code != exitFinding || !strings.Contains(out, "bucket exports is in us-east-1, the caches are in eu-west-1") {
		t.Errorf("doctor: exit %d\n%s", code, out)
	}
}
