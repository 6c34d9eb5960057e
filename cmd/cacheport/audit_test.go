package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/cacheport/cacheport/shared/export"
)

func cacheCluster(id, engine string) ectypes.CacheCluster {
	return ectypes.CacheCluster{
		CacheClusterId: aws.String(id), ARN: aws.String("arn:aws:elasticache:eu-west-1:123456789012:cluster:" + id),
		Engine: aws.String(engine), EngineVersion: aws.String("7.1.0"), CacheClusterStatus: aws.String("available"),
		CacheNodeType: aws.String("cache.m7g.large"), NumCacheNodes: aws.Int32(1),
	}
}

// putRecord stores an export record as the state machine would have left it.
func putRecord(t *testing.T, f *fakeAWS, cache, id string, stage export.Stage, created, moved time.Time, errCode string, size int64) {
	t.Helper()
	l, err := export.NewLayout("cacheport", cache, id)
	if err != nil {
		t.Fatal(err)
	}
	rec := &export.Record{Format: export.Format, ExportID: id, Cache: export.Cache{ID: cache, Kind: export.KindCacheCluster, Engine: "redis", EngineVersion: "7.1.0", Shards: 1},
		Bucket: "exports", Prefix: "cacheport", Window: export.Window(created), Attempt: 1, MaxAttempts: 3, Stage: stage,
		Objects: []export.Object{}, Removed: []export.Removal{}, CreatedAt: created, UpdatedAt: moved,
		History: []export.HistoryEntry{{Stage: export.StageRequested, At: created}, {Stage: stage, At: moved}}}
	if size > 0 {
		rec.Objects = append(rec.Objects, export.Object{Key: l.ShardKey(1, 1), Size: size, ETag: `"e1"`})
		rec.Target = l.TargetName(1)
		rec.Source = export.Source{Snapshot: l.SnapshotName(1), MadeByCacheport: true}
	}
	if errCode != "" {
		rec.Error = &export.Error{Code: errCode, Message: "ElastiCache has not been granted WRITE on the bucket"}
	}
	if _, err := export.NewStore(f.bucket, "exports").Create(context.Background(), l.RecordKey(), rec); err != nil {
		t.Fatal(err)
	}
}

// fleet is five caches, one of each verdict.
func fleet(t *testing.T) *fakeAWS {
	f := newFakeAWS()
	f.ec.CacheClusters = []ectypes.CacheCluster{cacheCluster("orders", "redis"), cacheCluster("sessions", "redis"),
		cacheCluster("carts", "valkey"), cacheCluster("tokens", "redis"), cacheCluster("memo", "memcached")}
	h := time.Hour
	putRecord(t, f, "orders", "orders-20261124-0300", export.StageVerified, testNow.Add(-4*h), testNow.Add(-3*h-20*time.Minute), "", 734003200)
	putRecord(t, f, "sessions", "sessions-20261122-0300", export.StageVerified, testNow.Add(-53*h), testNow.Add(-52*h), "", 52428800)
	putRecord(t, f, "sessions", "sessions-20261124-0300", export.StageFailed, testNow.Add(-4*h), testNow.Add(-3*h), "no-grant", 0)
	putRecord(t, f, "tokens", "tokens-20261123-0300", export.StageVerified, testNow.Add(-28*h), testNow.Add(-27*h-30*time.Minute), "", 2048)
	// tokens has a recent automatic backup that was not exported.
	f.ec.Snapshots = []ectypes.Snapshot{{SnapshotName: aws.String("automatic.tokens-2026-11-24-04-00"), CacheClusterId: aws.String("tokens"),
		SnapshotSource: aws.String("automated"), SnapshotStatus: aws.String("available"),
		NodeSnapshots: []ectypes.NodeSnapshot{{SnapshotCreateTime: aws.Time(testNow.Add(-3 * h))}}}}
	return f
}

func TestAuditCLI(t *testing.T) {
	env := map[string]string{"CACHEPORT_BUCKET": "exports", "CACHEPORT_ENGINES": "redis,valkey,memcached"}
	t.Run("table", func(t *testing.T) {
		code, out, stderr := awsCLI(t, fleet(t), env, "audit")
		if code != exitFinding {
			t.Errorf("exit %d, want 1; stderr %s", code, stderr)
		}
		golden(t, "audit-table", out)
	})
	t.Run("json", func(t *testing.T) {
		code, out, _ := awsCLI(t, fleet(t), map[string]string{"CACHEPORT_ENGINES": "redis,valkey,memcached"}, "--json", "audit", "--bucket", "exports")
		if code != exitFinding {
			t.Errorf("exit %d, want 1", code)
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 5 {
			t.Fatalf("stdout is not one JSON list of 5 rows: %v\n%s", err, out)
		}
		for _, k := range []string{"cache", "engine", "mode", "last_verified_export", "age_seconds", "verdict", "reason"} {
			if _, ok := rows[0][k]; !ok {
				t.Errorf("row has no %q: %v", k, rows[0])
			}
		}
		golden(t, "audit-json", out)
	})
	t.Run("compliant", func(t *testing.T) {
		f := fleet(t)
		f.ec.CacheClusters = f.ec.CacheClusters[:1]
		code, out, _ := awsCLI(t, f, env, "audit", "--json")
		if code != exitOK || !strings.Contains(out, `"verdict": "compliant"`) {
			t.Errorf("exit %d\n%s", code, out)
		}
		// --max-age tightens the RPO: the same export is stale.
		code, out, _ = awsCLI(t, f, env, "audit", "--max-age", "3h")
		if code != exitFinding || !strings.Contains(out, "stale") || !strings.Contains(out, "RPO 3h") {
			t.Errorf("exit %d\n%s", code, out)
		}
	})
	t.Run("nothing in scope", func(t *testing.T) {
		code, out, stderr := awsCLI(t, newFakeAWS(), env, "audit", "--json")
		if code != exitFinding || strings.TrimSpace(out) != "[]" || !strings.Contains(stderr, "no cache in scope") {
			t.Errorf("exit %d stdout %q stderr %q", code, out, stderr)
		}
	})
	t.Run("filter", func(t *testing.T) {
		code, out, _ := awsCLI(t, fleet(t), map[string]string{"CACHEPORT_BUCKET": "exports", "CACHEPORT_TARGET_IDS": "orders,ghost"}, "audit")
		if code != exitFinding || !strings.Contains(out, "ghost") || strings.Contains(out, "sessions") {
			t.Errorf("exit %d\n%s", code, out)
		}
	})

	failures := []struct {
		name   string
		env    map[string]string
		args   []string
		setup  func(*fakeAWS)
		code   int
		stderr string
	}{
		{"no bucket", nil, []string{"audit"}, nil, exitUsage, "no export bucket: pass --bucket or set CACHEPORT_BUCKET"},
		{"bad prefix", env, []string{"--prefix", "Upper", "audit"}, nil, exitUsage, "CACHEPORT_PREFIX"},
		{"bad flag", env, []string{"audit", "--max-age", "soon"}, nil, exitUsage, "invalid value"},
		{"stray argument", env, []string{"audit", "orders"}, nil, exitUsage, `unexpected argument "orders"`},
		{"help", env, []string{"audit", "--help"}, nil, exitOK, "compliant    the newest verified export"},
		{"no credentials", env, []string{"audit"}, func(f *fakeAWS) { f.loadErr = errors.New("no AWS region: pass --region") }, exitUsage, "no AWS region"},
		{"access denied", env, []string{"audit"}, func(f *fakeAWS) { f.ec.Fail("DescribeCacheClusters", apiErr("AccessDenied")) }, exitUsage, "the caller may not make this call"},
		{"missing bucket", env, []string{"audit"}, func(f *fakeAWS) { f.bucket.missing = true }, exitUsage, "does not exist"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			f := fleet(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			code, out, stderr := awsCLI(t, f, tt.env, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, want %d; stderr %q does not say %q", code, tt.code, stderr, tt.stderr)
			}
			if code != exitOK && out != "" {
				t.Errorf("stdout %q on failure", out)
			}
		})
	}
}
