package twin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/internal/testenv"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/twin/ecsrv"
)

// The same cycle with a real S3-compatible server (versitygw, versioning on) holding the bucket:
// every function's S3 client talks to it directly, as AWS_ENDPOINT_URL_S3 would point them.
func TestScheduledCycleOnARealS3Server(t *testing.T) {
	if _, err := exec.LookPath("versitygw"); err != nil {
		t.Setenv("PATH", os.Getenv("PATH")+string(os.PathListSeparator)+filepath.Join(os.Getenv("HOME"), "go", "bin"))
	}
	const key, secret = "twinkey", "twinsecret"
	versions := t.TempDir()
	p := testenv.Start(t, "versitygw", "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 (make tools)",
		"--access", key, "--secret", secret, "--port", "127.0.0.1:{port}", "posix", "--versioning-dir", versions, "{dir}")
	tw, _ := startTwin(t, Options{S3Endpoint: "http://" + p.Addr, S3AccessKey: key, S3SecretKey: secret, Data: ecsrv.DataGenerated,
		Caches: append(ecsrv.DefaultCaches(), ecsrv.Cache{ID: "payments", Kind: ecsrv.KindReplicationGroup, Engine: "valkey"}),
		Faults: []string{"corrupt-object=payments"},
		Params: map[string]string{"MaxAttempts": "1"},
	})
	ctx := context.Background()
	if err := tw.Advance(ctx, 3*time.Hour, time.Minute); err != nil {
		t.Fatal(err)
	}
	c := tw.Clients(OperatorKey)
	m := export.NewMachine(export.NewStore(c.S3, tw.Bucket), nil)
	for _, cache := range []string{"orders", "sessions", "solo", "carts", "payments"} {
		l, _ := export.NewLayout("cacheport", cache, cache+"-20261124-0300")
		e, err := m.Load(ctx, l.RecordKey())
		if err != nil {
			t.Fatalf("%s: %v", cache, err)
		}
		want := export.StageVerified
		if cache == "payments" {
			want = export.StageAbandoned
		}
		if e.Stage != want {
			t.Errorf("%s: %s %+v, want %s", cache, e.Stage, e.Error, want)
		}
	}
	// The corrupt export's objects are gone from the real server, versions included.
	out, err := c.S3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(tw.Bucket), Prefix: aws.String("cacheport/payments/payments-20261124-0300/a1/")})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.Versions) + len(out.DeleteMarkers); n != 0 {
		t.Fatalf("%d versions of the failed attempt left on the real server", n)
	}
}
