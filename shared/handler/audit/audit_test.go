package audit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/cacheport/cacheport/shared/audit"
	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/trigger"
)

var now = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

type fakeAuditor struct {
	rep *audit.Report
	err error
	at  time.Time
}

func (f *fakeAuditor) Run(_ context.Context, at time.Time) (*audit.Report, error) {
	f.at = at
	return f.rep, f.err
}

type fakePub struct {
	details []export.Detail
	err     error
}

func (p *fakePub) Publish(_ context.Context, dt string, d export.Detail) error {
	if dt != export.DetailAudit {
		return errors.New("detail-type " + dt)
	}
	if p.err != nil {
		return p.err
	}
	p.details = append(p.details, d)
	return nil
}

func report() *audit.Report {
	age := int64(100000)
	return &audit.Report{CheckedAt: now, Bucket: "exports", Prefix: "cacheport", Rows: []audit.Row{
		{Cache: "orders", Verdict: audit.Compliant, Reason: "verified 2h ago (RPO 26h)"},
		{Cache: "sessions", Verdict: audit.Stale, AgeSeconds: &age, Reason: "newest verified export is 27h46m old (RPO 26h)",
			LastVerifiedExport: &audit.LastExport{ExportID: "sessions-20261123-0300"}},
		{Cache: "memo", Verdict: audit.Unprotected, Reason: "memcached-not-supported"},
	}, Counts: map[audit.Verdict]int{audit.Compliant: 1, audit.Stale: 1, audit.Unprotected: 1}}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestHandle(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join("testdata", "schedule-audit.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		input     string
		auditErr  error
		pubErr    error
		published int
		errType   any
	}{
		{name: "schedule", input: string(sample), published: 2},
		{name: "manual invoke", input: `{}`, published: 2},
		{name: "null", input: `null`, published: 2},
		{name: "other action", input: `{"action":"stale"}`, errType: &trigger.BadInputError{}},
		{name: "not json", input: `[1,2]`, errType: &trigger.BadInputError{}},
		{name: "throttled", input: `{}`, auditErr: &smithy.GenericAPIError{Code: "Throttling"}, errType: &trigger.RetryableError{}},
		{name: "denied", input: `{}`, auditErr: &smithy.GenericAPIError{Code: "AccessDenied"}, errType: &AuditFailedError{}},
		{name: "bus down", input: `{}`, pubErr: errors.New("bus down"), errType: &trigger.RetryableError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &fakeAuditor{rep: report(), err: tt.auditErr}
			pub := &fakePub{err: tt.pubErr}
			res, err := New(a, pub, quiet(), func() time.Time { return now }).Handle(context.Background(), []byte(tt.input))
			if tt.errType != nil {
				if err == nil || !sameType(err, tt.errType) {
					t.Fatalf("error %T %v, want %T", err, err, tt.errType)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !a.at.Equal(now) || res.Published != tt.published || len(pub.details) != tt.published || len(res.NonCompliant) != 2 {
				t.Errorf("result %+v, published %v", res, pub.details)
			}
			if d := pub.details[0]; d.Cache != "sessions" || !strings.HasPrefix(d.Reason, "stale: ") || !strings.HasSuffix(d.Reason, "age_seconds=100000") {
				t.Errorf("finding %+v", d)
			}
		})
	}
}

func sameType(err error, want any) bool {
	switch want.(type) {
	case *trigger.BadInputError:
		var e *trigger.BadInputError
		return errors.As(err, &e)
	case *trigger.RetryableError:
		var e *trigger.RetryableError
		return errors.As(err, &e)
	case *AuditFailedError:
		var e *AuditFailedError
		return errors.As(err, &e)
	}
	return false
}

// TestWire builds the handler as main.go does, over clients that reach nothing: the audit cannot
// be made and says so with a retryable error (a connection failure is transient).
func TestWire(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	c, err := awsconf.Load(context.Background(), awsconf.Settings{Region: "eu-west-1", Endpoint: "http://127.0.0.1:1",
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string { return map[string]string{"CACHEPORT_BUCKET": "exports"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = Wire(cfg, c, quiet(), nil, func() time.Time { return now }).Handle(ctx, []byte(`{"action":"audit"}`))
	var re *trigger.RetryableError
	var af *AuditFailedError
	if !errors.As(err, &re) && !errors.As(err, &af) {
		t.Fatalf("error %T %v, want the audit's failure", err, err)
	}
}
