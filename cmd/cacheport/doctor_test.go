package main

import (
	"encoding/json"
	"strings"
	"testing"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestDoctorCLI(t *testing.T) {
	env := map[string]string{"CACHEPORT_BUCKET": "exports"}
	t.Run("healthy table", func(t *testing.T) {
		code, out, stderr := awsCLI(t, newFakeAWS(), env, "doctor")
		if code != exitOK {
			t.Errorf("exit %d; stderr %s", code, stderr)
		}
		golden(t, "doctor-ok-table", out)
	})
	t.Run("broken bucket fixed", func(t *testing.T) {
		f := newFakeAWS()
		f.bucket.ownership = s3types.ObjectOwnershipBucketOwnerEnforced
		f.bucket.grants = f.bucket.grants[:1]
		f.bucket.eventBridge = false
		code, out, _ := awsCLI(t, f, env, "doctor", "--fix")
		if code != exitOK {
			t.Errorf("exit %d, want 0 once fixed", code)
		}
		golden(t, "doctor-fix-table", out)
		if f.bucket.ownership != s3types.ObjectOwnershipBucketOwnerPreferred || len(f.bucket.grants) != 4 || !f.bucket.eventBridge {
			t.Errorf("bucket not fixed: %s %d grants, eventbridge %v", f.bucket.ownership, len(f.bucket.grants), f.bucket.eventBridge)
		}
		// Run again: nothing left to change.
		code, out, _ = awsCLI(t, f, env, "doctor", "--fix")
		if code != exitOK || !strings.Contains(out, "; 0 change(s) made") {
			t.Errorf("second --fix: exit %d\n%s", code, out)
		}
	})
	t.Run("json", func(t *testing.T) {
		f := newFakeAWS()
		f.bucket.grants = f.bucket.grants[:1]
		code, out, _ := awsCLI(t, f, env, "doctor", "--json")
		if code != exitFinding {
			t.Errorf("exit %d, want 1", code)
		}
		var rep struct {
			Findings []struct{ ID, Severity, Message, Fix string }
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Findings) != 11 {
			t.Fatalf("stdout is not one report of 11 findings: %v\n%s", err, out)
		}
		golden(t, "doctor-no-grant-json", out)
	})

	tests := []struct {
		name   string
		args   []string
		setup  func(*fakeAWS)
		code   int
		stdout string // a fragment of stdout
		stderr string
	}{
		{"missing bucket", []string{"doctor"}, func(f *fakeAWS) { f.bucket.missing = true }, exitFinding, "ERROR  bucket-exists              bucket exports does not exist", ""},
		{"wrong region", []string{"doctor"}, func(f *fakeAWS) { f.bucket.region = "us-west-2" }, exitFinding, "bucket exports is in us-west-2, the caches are in eu-west-1", ""},
		{"no grant", []string{"doctor"}, func(f *fakeAWS) { f.bucket.grants = f.bucket.grants[:1] }, exitFinding, "fix: cacheport doctor --fix", ""},
		{"acl denied", []string{"doctor"}, func(f *fakeAWS) { f.bucket.errs = map[string]error{"GetBucketAcl": apiErr("AccessDenied")} }, exitOK, "SKIP   elasticache-access         not checked: s3:GetBucketAcl denied", ""},
		{"no bus", []string{"doctor"}, func(f *fakeAWS) { delete(f.events.rules, "cacheport") }, exitFinding, "event bus cacheport does not exist", ""},
		{"other bus", []string{"doctor"}, nil, exitFinding, "event bus other does not exist", ""},
		{"bucket flag", []string{"doctor", "--bucket", "elsewhere"}, nil, exitFinding, "rules-default-bus          no rule on the default bus routes S3 events of bucket elsewhere", ""},
		{"help", []string{"doctor", "-h"}, nil, exitOK, "", "--fix applies the safe fixes"},
		{"no bucket", []string{"--bucket", "", "doctor"}, nil, exitUsage, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAWS()
			if tt.setup != nil {
				tt.setup(f)
			}
			vars := env
			if tt.name == "other bus" {
				vars = map[string]string{"CACHEPORT_BUCKET": "exports", "CACHEPORT_BUS_NAME": "other"}
			}
			if tt.name == "no bucket" {
				vars = nil
			}
			code, out, stderr := awsCLI(t, f, vars, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d (want %d)\nstdout %s\nstderr %s\nwant %q / %q", code, tt.code, out, stderr, tt.stdout, tt.stderr)
			}
		})
	}
}
