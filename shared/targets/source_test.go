package targets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/smithy-go"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
)

var _ SnapshotAPI = (*fakeEC)(nil)

// tue is Tuesday 24 November 2026, 07:00 UTC: outside every maintenance window used below.
var tue = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)

// nodeSnap is a node-based snapshot; created gives one node snapshot (shard) per time.
func nodeSnap(name, source, status string, created ...time.Time) types.Snapshot {
	s := types.Snapshot{SnapshotName: aws.String(name), SnapshotSource: aws.String(source), SnapshotStatus: aws.String(status)}
	for i, c := range created {
		s.NodeSnapshots = append(s.NodeSnapshots, types.NodeSnapshot{
			NodeGroupId:        aws.String(fmt.Sprintf("%04d", i+1)),
			SnapshotCreateTime: aws.Time(c),
		})
	}
	return s
}

func serverlessSnap(name, typ, status string, created time.Time) types.ServerlessCacheSnapshot {
	s := types.ServerlessCacheSnapshot{ServerlessCacheSnapshotName: aws.String(name), SnapshotType: aws.String(typ), Status: aws.String(status)}
	if !created.IsZero() {
		s.CreateTime = aws.Time(created)
	}
	return s
}

func manuals(n int, at time.Time) []types.Snapshot {
	out := make([]types.Snapshot, n)
	for i := range out {
		out[i] = nodeSnap(fmt.Sprintf("manual-%d", i), "manual", "available", at.Add(-time.Duration(i)*time.Minute))
	}
	return out
}

func serverlessManuals(n int, at time.Time) []types.ServerlessCacheSnapshot {
	out := make([]types.ServerlessCacheSnapshot, n)
	for i := range out {
		out[i] = serverlessSnap(fmt.Sprintf("manual-%d", i), "manual", "available", at.Add(-time.Duration(i)*time.Minute))
	}
	return out
}

var (
	rgTarget = Target{
		Cache:  export.Cache{ID: "orders", Kind: export.KindReplicationGroup, Engine: "redis", Shards: 1},
		Status: "available", SnapshotFrom: "orders-003",
		MaintenanceWindow: "sun:05:00-sun:06:00", SnapshotWindow: "05:00-06:00",
	}
	ccTarget = Target{
		Cache:  export.Cache{ID: "cache-a", Kind: export.KindCacheCluster, Engine: "redis", Shards: 1},
		Status: "available", SnapshotFrom: "cache-a", MaintenanceWindow: "sun:23:00-mon:01:00",
	}
	slTarget = Target{
		Cache:  export.Cache{ID: "sless", Kind: export.KindServerless, Engine: "valkey", ClusterMode: true},
		Status: "available",
	}
	day    = 24 * time.Hour
	ours   = "cacheport-orders-20261124-0700-a1"
	choose = SourceOptions{MaxBackupAge: day, NewSnapshotName: ours}
)

func with(t Target, f func(*Target)) Target { f(&t); return t }

func TestChooseSource(t *testing.T) {
	h := time.Hour
	create := Choice{Snapshot: ours, Create: true}
	tests := []struct {
		name   string
		target Target
		now    time.Time
		opts   SourceOptions
		snaps  [][]types.Snapshot
		sSnaps [][]types.ServerlessCacheSnapshot
		want   Choice
	}{
		{"no snapshots: create", rgTarget, tue, choose, nil, nil, create},
		{"newest fresh automatic backup, across pages", rgTarget, tue, choose,
			[][]types.Snapshot{
				{nodeSnap("automatic.orders-30h", "automated", "available", tue.Add(-30*h)), nodeSnap("manual-1", "manual", "available", tue.Add(-1*h))},
				{nodeSnap("automatic.orders-5h", "automated", "available", tue.Add(-5*h)), nodeSnap("automatic.orders-3h", "automated", "available", tue.Add(-3*h))},
				{nodeSnap("automatic.orders-now", "automated", "creating")},
			}, nil,
			Choice{Snapshot: "automatic.orders-3h", Automated: true}},
		{"automatic backup at exactly the max age is reused", rgTarget, tue, choose,
			[][]types.Snapshot{{nodeSnap("automatic.orders", "automated", "available", tue.Add(-day))}}, nil,
			Choice{Snapshot: "automatic.orders", Automated: true}},
		{"automatic backup too old: create", rgTarget, tue, choose,
			[][]types.Snapshot{{nodeSnap("automatic.orders", "automated", "available", tue.Add(-day-time.Minute))}}, nil, create},
		{"multi-shard backup is as old as its oldest shard", rgTarget, tue, choose,
			[][]types.Snapshot{{nodeSnap("automatic.orders", "automated", "available", tue.Add(-23*h), tue.Add(-25*h), tue.Add(-22*h))}}, nil, create},
		{"max age 0 never reuses", rgTarget, tue, SourceOptions{NewSnapshotName: ours},
			[][]types.Snapshot{{nodeSnap("automatic.orders", "automated", "available", tue.Add(-time.Minute))}}, nil, create},
		{"a fresh manual snapshot is not reused", rgTarget, tue, choose,
			[][]types.Snapshot{{nodeSnap("someones-backup", "manual", "available", tue.Add(-h))}}, nil, create},
		{"automatic backup not yet available: backup running", rgTarget, tue, choose,
			[][]types.Snapshot{{nodeSnap("automatic.orders-old", "automated", "available", tue.Add(-40*h))}, {nodeSnap("automatic.orders", "automated", "creating")}}, nil,
			Choice{Wait: WaitBackupRunning}},
		{"someone's manual snapshot creating: backup running", ccTarget, tue, choose,
			[][]types.Snapshot{{nodeSnap("by-hand", "manual", "creating")}}, nil, Choice{Wait: WaitBackupRunning}},
		{"cache snapshotting: backup running", with(rgTarget, func(t *Target) { t.Status = "snapshotting" }), tue, choose, nil, nil,
			Choice{Wait: WaitBackupRunning}},
		{"cache snapshotting but a fresh backup exists: reuse it", with(rgTarget, func(t *Target) { t.Status = "snapshotting" }), tue, choose,
			[][]types.Snapshot{{nodeSnap("automatic.orders", "automated", "available", tue.Add(-2*h))}}, nil,
			Choice{Snapshot: "automatic.orders", Automated: true}},
		{"inside the maintenance window", rgTarget, time.Date(2026, 11, 22, 5, 30, 0, 0, time.UTC), choose, nil, nil,
			Choice{Wait: WaitMaintenance}},
		{"at the maintenance window's start", rgTarget, time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC), choose, nil, nil,
			Choice{Wait: WaitMaintenance}},
		{"at the maintenance window's end: create", rgTarget, time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC), choose, nil, nil, create},
		{"maintenance window in another time zone's clock", rgTarget, time.Date(2026, 11, 22, 6, 30, 0, 0, time.FixedZone("CET", 3600)), choose, nil, nil,
			Choice{Wait: WaitMaintenance}},
		{"window Sunday to Monday, Monday 00:30", ccTarget, time.Date(2026, 11, 23, 0, 30, 0, 0, time.UTC), choose, nil, nil,
			Choice{Wait: WaitMaintenance}},
		{"window Sunday to Monday, Sunday 23:00", ccTarget, time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC), choose, nil, nil,
			Choice{Wait: WaitMaintenance}},
		{"window Sunday to Monday, Monday 01:00", ccTarget, time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC), choose, nil, nil, create},
		{"maintenance window does not stop reusing a backup", rgTarget, time.Date(2026, 11, 22, 5, 30, 0, 0, time.UTC), choose,
			[][]types.Snapshot{{nodeSnap("automatic.orders", "automated", "available", time.Date(2026, 11, 22, 5, 10, 0, 0, time.UTC))}}, nil,
			Choice{Snapshot: "automatic.orders", Automated: true}},
		{"quota reached (20 across pages)", rgTarget, tue, choose,
			[][]types.Snapshot{manuals(12, tue.Add(-h)), manuals(8, tue.Add(-20*h))}, nil, Choice{Wait: WaitQuota}},
		{"quota not reached: 19 recent, old and automatic ones not counted", rgTarget, tue, SourceOptions{NewSnapshotName: ours},
			[][]types.Snapshot{
				manuals(19, tue.Add(-h)),
				{nodeSnap("old", "manual", "available", tue.Add(-day)), nodeSnap("automatic.orders", "automated", "available", tue.Add(-h))},
			}, nil, create},
		{"quota option", ccTarget, tue, SourceOptions{NewSnapshotName: ours, Quota: 3},
			[][]types.Snapshot{manuals(3, tue.Add(-h))}, nil, Choice{Wait: WaitQuota}},
		{"backup running is reported before the window and the quota", with(rgTarget, func(t *Target) { t.Status = "snapshotting" }), time.Date(2026, 11, 22, 5, 30, 0, 0, time.UTC), choose,
			[][]types.Snapshot{manuals(20, time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC))}, nil, Choice{Wait: WaitBackupRunning}},
		{"our own snapshot exists: go on with it, whatever else", rgTarget, time.Date(2026, 11, 22, 5, 30, 0, 0, time.UTC), choose,
			[][]types.Snapshot{append(manuals(25, time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)), nodeSnap(strings.ToUpper(ours), "manual", "creating"))}, nil,
			Choice{Snapshot: strings.ToUpper(ours), Existing: true}},

		{"serverless: reuse a fresh automatic backup", slTarget, tue, choose, nil,
			[][]types.ServerlessCacheSnapshot{
				{serverlessSnap("sless-auto-old", "automated", "available", tue.Add(-30*h))},
				{serverlessSnap("sless-auto", "automated", "available", tue.Add(-4*h)), serverlessSnap("sless-manual", "manual", "available", tue.Add(-h))},
			},
			Choice{Snapshot: "sless-auto", Automated: true}},
		{"serverless: automatic backup not available", slTarget, tue, choose, nil,
			[][]types.ServerlessCacheSnapshot{{serverlessSnap("sless-auto", "automated", "creating", tue.Add(-time.Minute))}},
			Choice{Wait: WaitBackupRunning}},
		{"serverless: 23 manual snapshots, default quota 24: create", slTarget, tue, choose, nil,
			[][]types.ServerlessCacheSnapshot{serverlessManuals(10, tue.Add(-h)), serverlessManuals(13, tue.Add(-2*h))}, create},
		{"serverless: 24 manual snapshots: quota", slTarget, tue, choose, nil,
			[][]types.ServerlessCacheSnapshot{serverlessManuals(10, tue.Add(-h)), serverlessManuals(14, tue.Add(-2*h))}, Choice{Wait: WaitQuota}},
		{"serverless: our own snapshot exists", slTarget, tue, choose, nil,
			[][]types.ServerlessCacheSnapshot{{serverlessSnap(ours, "manual", "available", tue.Add(-time.Minute))}},
			Choice{Snapshot: ours, Existing: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEC{snapshots: tt.snaps, sSnapshots: tt.sSnaps}
			got, err := ChooseSource(context.Background(), f, tt.target, tt.now, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got.Wait != "" && got.WaitMessage == "" {
				t.Errorf("Wait %q without a message", got.Wait)
			}
			if got.Wait != "" && !strings.Contains(got.WaitMessage, tt.target.Cache.ID) {
				t.Errorf("WaitMessage %q does not name the cache", got.WaitMessage)
			}
			got.WaitMessage = ""
			if got != tt.want {
				t.Errorf("ChooseSource = %+v, want %+v", got, tt.want)
			}
			pages, op := max(len(tt.snaps), 1), "DescribeSnapshots"
			if tt.target.Cache.Kind == export.KindServerless {
				pages, op = max(len(tt.sSnaps), 1), "DescribeServerlessCacheSnapshots"
			}
			if f.calls[op] != pages || len(f.calls) != 1 {
				t.Errorf("calls = %v, want %d of %s", f.calls, pages, op)
			}
		})
	}
}

func TestChooseSourceAsksForTheCache(t *testing.T) {
	f := &fakeEC{}
	for _, tg := range []Target{rgTarget, ccTarget, slTarget} {
		if _, err := ChooseSource(context.Background(), f, tg, tue, choose); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.snapshotInput) != 2 || len(f.sSnapInput) != 1 {
		t.Fatalf("inputs %v %v", f.snapshotInput, f.sSnapInput)
	}
	if in := f.snapshotInput[0]; aws.ToString(in.ReplicationGroupId) != "orders" || in.CacheClusterId != nil || in.SnapshotSource != nil {
		t.Errorf("replication group: DescribeSnapshots input %+v, want ReplicationGroupId orders only", in)
	}
	if in := f.snapshotInput[1]; aws.ToString(in.CacheClusterId) != "cache-a" || in.ReplicationGroupId != nil || in.SnapshotSource != nil {
		t.Errorf("cache cluster: DescribeSnapshots input %+v, want CacheClusterId cache-a only", in)
	}
	if in := f.sSnapInput[0]; aws.ToString(in.ServerlessCacheName) != "sless" || in.SnapshotType != nil {
		t.Errorf("serverless: input %+v, want ServerlessCacheName sless only", in)
	}
}

func TestChooseSourceErrors(t *testing.T) {
	throttle := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	tests := []struct {
		name      string
		target    Target
		opts      SourceOptions
		fake      *fakeEC
		wantText  string
		wantClass awserr.Class
	}{
		{"skipped target", with(rgTarget, func(t *Target) { t.Skip = SkipDataTiering }), choose, &fakeEC{}, "not exportable (data-tiering)", awserr.Unknown},
		{"memcached", Target{Cache: export.Cache{ID: "memc", Kind: export.KindMemcached}}, choose, &fakeEC{}, `kind "memcached"`, awserr.Unknown},
		{"not-found target", Target{Cache: export.Cache{ID: "nope"}, Skip: SkipNotFound}, choose, &fakeEC{}, "not exportable (not-found)", awserr.Unknown},
		{"no snapshot name", rgTarget, SourceOptions{MaxBackupAge: day}, &fakeEC{}, "no name for a new snapshot", awserr.Unknown},
		{"negative quota", rgTarget, SourceOptions{NewSnapshotName: ours, Quota: -1}, &fakeEC{}, "must not be negative", awserr.Unknown},
		{"bad maintenance window", with(rgTarget, func(t *Target) { t.MaintenanceWindow = "sunday 05:00" }), choose, &fakeEC{}, `maintenance window "sunday 05:00"`, awserr.Unknown},
		{"snapshots throttled on page 2", rgTarget, choose,
			&fakeEC{snapshots: [][]types.Snapshot{manuals(1, tue), manuals(1, tue)}, errAt: map[string]pageErr{"DescribeSnapshots": {1, throttle}}},
			"describe snapshots of orders: ", awserr.Throttled},
		{"serverless snapshots not found", slTarget, choose,
			&fakeEC{errAt: map[string]pageErr{"DescribeServerlessCacheSnapshots": {0, &types.ServerlessCacheNotFoundFault{Message: aws.String("gone")}}}},
			"describe serverless cache snapshots of sless: ", awserr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChooseSource(context.Background(), tt.fake, tt.target, tue, tt.opts)
			if err == nil {
				t.Fatalf("ChooseSource = %+v, want an error", got)
			}
			if got != (Choice{}) {
				t.Errorf("choice %+v returned with an error", got)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
			if c := awserr.Classify(err); c != tt.wantClass {
				t.Errorf("Classify = %v, want %v", c, tt.wantClass)
			}
			if tt.wantClass == awserr.Throttled && !errors.Is(err, throttle) {
				t.Errorf("error %v does not wrap the throttling error", err)
			}
		})
	}
}

func TestWeeklyWindow(t *testing.T) {
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) } // 22 = Sunday
	tests := []struct {
		window string
		t      time.Time
		want   bool
	}{
		{"sun:05:00-sun:06:00", at(22, 5, 0), true},
		{"sun:05:00-sun:06:00", at(22, 5, 59), true},
		{"sun:05:00-sun:06:00", at(22, 6, 0), false},
		{"sun:05:00-sun:06:00", at(22, 4, 59), false},
		{"sun:05:00-sun:06:00", at(29, 5, 30), true}, // a week later
		{"sun:05:00-sun:06:00", at(23, 5, 30), false},
		{"sun:23:00-mon:01:00", at(22, 23, 30), true},
		{"sun:23:00-mon:01:00", at(23, 0, 59), true},
		{"sun:23:00-mon:01:00", at(23, 1, 0), false},
		{"sun:23:00-mon:01:00", at(22, 22, 59), false},
		{"sat:23:00-sun:01:00", at(21, 23, 0), true}, // wraps over the end of the week
		{"sat:23:00-sun:01:00", at(22, 0, 30), true},
		{"sat:23:00-sun:01:00", at(22, 1, 0), false},
		{"sat:23:00-sun:01:00", at(21, 22, 0), false},
		{"sat:23:00-sun:01:00", at(25, 12, 0), false},
		{"SUN:05:00-SUN:06:00", at(22, 5, 30), true},
		{"mon:10:00-mon:10:00", at(23, 10, 0), false}, // empty
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s@%s", tt.window, tt.t.Format("Mon-15:04")), func(t *testing.T) {
			w, err := parseWeeklyWindow(tt.window)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.contains(tt.t); got != tt.want {
				t.Errorf("contains = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseWeeklyWindowErrors(t *testing.T) {
	for _, s := range []string{"", "sun:05:00", "sun:05:00-", "sun 05:00-sun 06:00", "sunday:05:00-sun:06:00", "sun:24:00-mon:01:00", "sun:05:60-sun:06:00", "sun:5:00-sun:06:00", "sun:05:00-sun:06", "sun:-1:00-sun:06:00"} {
		t.Run(s, func(t *testing.T) {
			if w, err := parseWeeklyWindow(s); err == nil {
				t.Errorf("parseWeeklyWindow(%q) = %+v, want an error", s, w)
			}
		})
	}
}
