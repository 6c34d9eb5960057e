package boot

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestPrepareNamesTheBadSetting(t *testing.T) {
	var out bytes.Buffer
	env, err := Prepare(context.Background(), "start-export", func(k string) string {
		return map[string]string{"CACHEPORT_BUCKET": "exports", "CACHEPORT_MAX_ATTEMPTS": "zero"}[k]
	}, &out)
	if err == nil || !strings.Contains(err.Error(), `CACHEPORT_MAX_ATTEMPTS="zero"`) {
		t.Fatalf("err = %v", err)
	}
	env.Log.Error("cannot start", "error", err)
	if !strings.Contains(out.String(), `"function":"start-export"`) {
		t.Fatalf("the logger is not the function's JSON logger: %s", out.String())
	}
}

func TestPrepareBuildsClients(t *testing.T) {
	env, err := Prepare(context.Background(), "verify-export", func(k string) string {
		return map[string]string{"CACHEPORT_BUCKET": "exports", "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1"}[k]
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if env.Clients == nil || env.Config.Bucket != "exports" || env.Metrics == nil || !env.Clients.S3.Options().UsePathStyle {
		t.Fatalf("%+v", env)
	}
}
