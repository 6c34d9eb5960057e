package targets

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/smithy-go"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
)

const acct = "arn:aws:elasticache:eu-west-1:123456789012:"

func rgARN(id string) string { return acct + "replicationgroup:" + id }
func ccARN(id string) string { return acct + "cluster:" + id }
func scARN(id string) string { return acct + "serverlesscache:" + id }

func nodeMember(id, role string) types.NodeGroupMember {
	return types.NodeGroupMember{CacheClusterId: aws.String(id), CacheNodeId: aws.String("0001"), CurrentRole: aws.String(role)}
}

// memberCluster is a cache cluster that belongs to a replication group.
func memberCluster(id, group, engine, version, status, mw string) types.CacheCluster {
	return types.CacheCluster{
		CacheClusterId:             aws.String(id),
		ARN:                        aws.String(ccARN(id)),
		ReplicationGroupId:         aws.String(group),
		Engine:                     aws.String(engine),
		EngineVersion:              aws.String(version),
		CacheClusterStatus:         aws.String(status),
		PreferredMaintenanceWindow: aws.String(mw),
		CacheNodeType:              aws.String("cache.r7g.large"),
		NumCacheNodes:              aws.Int32(1),
	}
}

func standalone(id, engine, version, status, nodeType string, nodes int32) types.CacheCluster {
	return types.CacheCluster{
		CacheClusterId:             aws.String(id),
		ARN:                        aws.String(ccARN(id)),
		Engine:                     aws.String(engine),
		EngineVersion:              aws.String(version),
		CacheClusterStatus:         aws.String(status),
		PreferredMaintenanceWindow: aws.String("wed:03:00-wed:04:00"),
		SnapshotWindow:             aws.String("01:00-02:00"),
		CacheNodeType:              aws.String(nodeType),
		NumCacheNodes:              aws.Int32(nodes),
	}
}

// fleet returns a fake account holding every kind of cache, each Describe spread over several
// pages.
func fleet() *fakeEC {
	orders := types.ReplicationGroup{
		ReplicationGroupId: aws.String("orders"),
		ARN:                aws.String(rgARN("orders")),
		Engine:             aws.String("redis"),
		Status:             aws.String("available"),
		ClusterEnabled:     aws.Bool(false),
		ClusterMode:        types.ClusterModeDisabled,
		CacheNodeType:      aws.String("cache.r7g.large"),
		SnapshotWindow:     aws.String("05:00-06:00"),
		MemberClusters:     []string{"orders-001", "orders-002", "orders-003"},
		NodeGroups: []types.NodeGroup{{
			NodeGroupId: aws.String("0001"),
			NodeGroupMembers: []types.NodeGroupMember{
				nodeMember("orders-001", "primary"),
				nodeMember("orders-002", "replica"), // modifying: not the first choice
				nodeMember("orders-003", "replica"),
			},
		}},
	}
	sessions := types.ReplicationGroup{
		ReplicationGroupId: aws.String("Sessions"),
		ARN:                aws.String(rgARN("sessions")),
		Engine:             aws.String("Valkey"),
		Status:             aws.String("available"),
		ClusterEnabled:     aws.Bool(true),
		ClusterMode:        types.ClusterModeEnabled,
		CacheNodeType:      aws.String("cache.r7g.large"),
		SnapshotWindow:     aws.String("02:00-03:00"),
		MemberClusters:     []string{"sessions-0001-001", "sessions-0001-002", "sessions-0002-001", "sessions-0003-001"},
		NodeGroups: []types.NodeGroup{
			{NodeGroupId: aws.String("0001"), NodeGroupMembers: []types.NodeGroupMember{{CacheClusterId: aws.String("sessions-0001-001")}, {CacheClusterId: aws.String("sessions-0001-002")}}},
			{NodeGroupId: aws.String("0002"), NodeGroupMembers: []types.NodeGroupMember{{CacheClusterId: aws.String("sessions-0002-001")}}},
			{NodeGroupId: aws.String("0003"), NodeGroupMembers: []types.NodeGroupMember{{CacheClusterId: aws.String("sessions-0003-001")}}},
		},
	}
	tiered := types.ReplicationGroup{
		ReplicationGroupId: aws.String("tiered"),
		ARN:                aws.String(rgARN("tiered")),
		Engine:             aws.String("valkey"),
		Status:             aws.String("available"),
		DataTiering:        types.DataTieringStatusEnabled,
		CacheNodeType:      aws.String("cache.r6gd.xlarge"),
		MemberClusters:     []string{"tiered-001"},
		NodeGroups:         []types.NodeGroup{{NodeGroupMembers: []types.NodeGroupMember{nodeMember("tiered-001", "primary")}}},
	}
	legacy := types.ReplicationGroup{ // no Engine in the response: taken from its member
		ReplicationGroupId: aws.String("legacy"),
		ARN:                aws.String(rgARN("legacy")),
		Status:             aws.String("available"),
		CacheNodeType:      aws.String("cache.t1.micro"),
		MemberClusters:     []string{"legacy-001"},
		NodeGroups:         []types.NodeGroup{{NodeGroupMembers: []types.NodeGroupMember{nodeMember("legacy-001", "primary")}}},
	}
	solo := types.ReplicationGroup{
		ReplicationGroupId: aws.String("solo-rg"),
		ARN:                aws.String(rgARN("solo-rg")),
		Engine:             aws.String("redis"),
		Status:             aws.String("modifying"),
		ClusterMode:        types.ClusterModeDisabled,
		CacheNodeType:      aws.String("cache.m7g.large"),
		MemberClusters:     []string{"solo-rg-001"},
		NodeGroups:         []types.NodeGroup{{NodeGroupMembers: []types.NodeGroupMember{nodeMember("solo-rg-001", "primary")}}},
	}
	cmeByMode := types.ReplicationGroup{ // ClusterEnabled absent: ClusterMode decides
		ReplicationGroupId: aws.String("cme-by-mode"),
		ARN:                aws.String(rgARN("cme-by-mode")),
		Engine:             aws.String("redis"),
		Status:             aws.String("available"),
		ClusterMode:        types.ClusterModeEnabled,
		CacheNodeType:      aws.String("cache.m7g.large"),
		MemberClusters:     []string{"cme-by-mode-0001-001", "cme-by-mode-0002-001"},
		NodeGroups: []types.NodeGroup{
			{NodeGroupMembers: []types.NodeGroupMember{{CacheClusterId: aws.String("cme-by-mode-0001-001")}}},
			{NodeGroupMembers: []types.NodeGroupMember{{CacheClusterId: aws.String("cme-by-mode-0002-001")}}},
		},
	}
	return &fakeEC{
		groups: [][]types.ReplicationGroup{{orders, sessions}, {tiered, legacy}, {solo, cmeByMode}},
		clusters: [][]types.CacheCluster{
			{
				memberCluster("orders-001", "orders", "redis", "7.1.0", "available", "sun:05:00-sun:06:00"),
				memberCluster("orders-002", "orders", "redis", "7.1.0", "modifying", "sun:05:00-sun:06:00"),
				memberCluster("orders-003", "orders", "redis", "7.1.0", "available", "sun:05:00-sun:06:00"),
				standalone("cache-a", "redis", "6.2.6", "available", "cache.m5.large", 1),
				memberCluster("sessions-0001-001", "Sessions", "valkey", "8.0.1", "available", "mon:23:30-tue:00:30"),
			},
			{
				memberCluster("sessions-0001-002", "Sessions", "valkey", "8.0.1", "available", "mon:23:30-tue:00:30"),
				memberCluster("sessions-0002-001", "Sessions", "valkey", "8.0.1", "available", "mon:23:30-tue:00:30"),
				memberCluster("sessions-0003-001", "Sessions", "valkey", "8.0.1", "available", "mon:23:30-tue:00:30"),
				standalone("memc", "memcached", "1.6.22", "available", "cache.m5.large", 3),
				memberCluster("tiered-001", "tiered", "valkey", "7.2.4", "available", "fri:01:00-fri:02:00"),
			},
			{
				memberCluster("legacy-001", "legacy", "redis", "3.2.10", "available", "thu:04:00-thu:05:00"),
				memberCluster("solo-rg-001", "solo-rg", "redis", "7.0.7", "modifying", "sat:23:00-sun:01:00"),
				memberCluster("cme-by-mode-0001-001", "cme-by-mode", "redis", "7.1.0", "available", "tue:10:00-tue:11:00"),
				memberCluster("cme-by-mode-0002-001", "cme-by-mode", "redis", "7.1.0", "available", "tue:10:00-tue:11:00"),
				standalone("busy", "redis", "7.1.0", "snapshotting", "cache.m5.large", 1),
			},
		},
		serverless: [][]types.ServerlessCache{
			{
				{ServerlessCacheName: aws.String("sless"), ARN: aws.String(scARN("sless")), Engine: aws.String("valkey"), MajorEngineVersion: aws.String("8"), FullEngineVersion: aws.String("8.0"), Status: aws.String("available"), DailySnapshotTime: aws.String("04:00")},
				{ServerlessCacheName: aws.String("smemc"), ARN: aws.String(scARN("smemc")), Engine: aws.String("memcached"), MajorEngineVersion: aws.String("1.6"), Status: aws.String("available")},
			},
			{
				{ServerlessCacheName: aws.String("screating"), ARN: aws.String(scARN("screating")), Engine: aws.String("redis"), MajorEngineVersion: aws.String("7"), Status: aws.String("creating")},
			},
		},
		tags: map[string]map[string]string{
			rgARN("orders"):      {"backup": "daily", "team": "shop"},
			rgARN("sessions"):    {"backup": "weekly"},
			rgARN("tiered"):      {"backup": "daily"},
			rgARN("legacy"):      {},
			rgARN("solo-rg"):     {"backup": ""},
			rgARN("cme-by-mode"): {"Backup": "daily"}, // tag keys are case-sensitive
			ccARN("cache-a"):     {"backup": "daily"},
			ccARN("memc"):        {"backup": "daily"},
			ccARN("busy"):        {},
			scARN("sless"):       {"backup": "daily"},
			scARN("smemc"):       {},
			scARN("screating"):   {"backup": "daily"},
		},
	}
}

// wantFleet is what Discover must find in fleet() with an empty filter, in order.
func wantFleet() []Target {
	return []Target{
		{
			Cache: export.Cache{ID: "busy", Kind: export.KindCacheCluster, Engine: "redis", EngineVersion: "7.1.0", Shards: 1},
			ARN:   ccARN("busy"), Status: "snapshotting", SnapshotFrom: "busy",
			MaintenanceWindow: "wed:03:00-wed:04:00", SnapshotWindow: "01:00-02:00",
		},
		{
			Cache: export.Cache{ID: "cache-a", Kind: export.KindCacheCluster, Engine: "redis", EngineVersion: "6.2.6", Shards: 1},
			ARN:   ccARN("cache-a"), Status: "available", SnapshotFrom: "cache-a",
			MaintenanceWindow: "wed:03:00-wed:04:00", SnapshotWindow: "01:00-02:00",
		},
		{
			Cache: export.Cache{ID: "cme-by-mode", Kind: export.KindReplicationGroup, Engine: "redis", EngineVersion: "7.1.0", ClusterMode: true, Shards: 2},
			ARN:   rgARN("cme-by-mode"), Status: "available",
			MaintenanceWindow: "tue:10:00-tue:11:00",
		},
		{
			Cache: export.Cache{ID: "legacy", Kind: export.KindReplicationGroup, Engine: "redis", EngineVersion: "3.2.10", Shards: 1},
			ARN:   rgARN("legacy"), Status: "available", SnapshotFrom: "legacy-001",
			Skip: SkipNoBackupSupport, SkipMessage: "node type cache.t1.micro does not support backups",
			MaintenanceWindow: "thu:04:00-thu:05:00",
		},
		{
			Cache: export.Cache{ID: "memc", Kind: export.KindMemcached, Engine: "memcached", EngineVersion: "1.6.22", Shards: 3},
			ARN:   ccARN("memc"), Status: "available",
			Skip: SkipMemcached, SkipMessage: "AWS cannot export Memcached; cacheport's own Memcached dump is not enabled yet",
			MaintenanceWindow: "wed:03:00-wed:04:00", SnapshotWindow: "01:00-02:00",
		},
		{
			Cache: export.Cache{ID: "orders", Kind: export.KindReplicationGroup, Engine: "redis", EngineVersion: "7.1.0", Shards: 1},
			ARN:   rgARN("orders"), Status: "available", SnapshotFrom: "orders-003",
			MaintenanceWindow: "sun:05:00-sun:06:00", SnapshotWindow: "05:00-06:00",
		},
		{
			Cache: export.Cache{ID: "screating", Kind: export.KindServerless, Engine: "redis", EngineVersion: "7", ClusterMode: true},
			ARN:   scARN("screating"), Status: "creating",
			Skip: SkipNotAvailable, SkipMessage: `cache status is "creating", not available: the next window tries again`,
		},
		{
			Cache: export.Cache{ID: "Sessions", Kind: export.KindReplicationGroup, Engine: "valkey", EngineVersion: "8.0.1", ClusterMode: true, Shards: 3},
			ARN:   rgARN("sessions"), Status: "available",
			MaintenanceWindow: "mon:23:30-tue:00:30", SnapshotWindow: "02:00-03:00",
		},
		{
			Cache: export.Cache{ID: "sless", Kind: export.KindServerless, Engine: "valkey", EngineVersion: "8.0", ClusterMode: true},
			ARN:   scARN("sless"), Status: "available", SnapshotWindow: "04:00",
		},
		{
			Cache: export.Cache{ID: "smemc", Kind: export.KindServerless, Engine: "memcached", EngineVersion: "1.6"},
			ARN:   scARN("smemc"), Status: "available",
			Skip: SkipMemcached, SkipMessage: "exporting serverless Memcached snapshots is not supported by cacheport (AWS documents export for Valkey and Redis OSS)",
		},
		{
			Cache: export.Cache{ID: "solo-rg", Kind: export.KindReplicationGroup, Engine: "redis", EngineVersion: "7.0.7", Shards: 1},
			ARN:   rgARN("solo-rg"), Status: "modifying", SnapshotFrom: "solo-rg-001",
			Skip: SkipNotAvailable, SkipMessage: `cache status is "modifying", not available: the next window tries again`,
			MaintenanceWindow: "sat:23:00-sun:01:00",
		},
		{
			Cache: export.Cache{ID: "tiered", Kind: export.KindReplicationGroup, Engine: "valkey", EngineVersion: "7.2.4", Shards: 1},
			ARN:   rgARN("tiered"), Status: "available", SnapshotFrom: "tiered-001",
			Skip: SkipDataTiering, SkipMessage: "AWS cannot export backups of clusters that use data tiering",
			MaintenanceWindow: "fri:01:00-fri:02:00",
		},
	}
}

func ids(ts []Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Cache.ID
		if t.Skip != "" {
			out[i] += "(" + t.Skip + ")"
		}
	}
	return out
}

func TestDiscoverFleet(t *testing.T) {
	f := fleet()
	got, err := Discover(context.Background(), f, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := wantFleet()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Discover ids = %v\nwant %v", ids(got), ids(want))
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("target %d:\n got %+v\nwant %+v", i, got[i], want[i])
			}
		}
	}
	// Every page was read, each exactly once; no tags were asked for without a tag filter.
	wantCalls := map[string]int{"DescribeReplicationGroups": 3, "DescribeCacheClusters": 3, "DescribeServerlessCaches": 2}
	if !reflect.DeepEqual(f.calls, wantCalls) {
		t.Errorf("calls = %v, want %v", f.calls, wantCalls)
	}
}

func TestDiscoverFilters(t *testing.T) {
	tests := []struct {
		name     string
		filter   Filter
		want     []string // ids(...) of the result
		tagCalls int      // -1: any number, but at least one
	}{
		{"ids, case-insensitive", Filter{IDs: []string{"ORDERS", "sessions", "memc"}},
			[]string{"memc(memcached-not-supported)", "orders", "Sessions"}, 0},
		{"unknown id reported once", Filter{IDs: []string{"orders", "nope", "NOPE"}},
			[]string{"nope(not-found)", "orders"}, 0},
		{"id prefix does not match", Filter{IDs: []string{"order"}},
			[]string{"order(not-found)"}, 0},
		{"engines redis", Filter{Engines: []string{"redis"}},
			[]string{"busy", "cache-a", "cme-by-mode", "legacy(no-backup-support)", "orders", "screating(not-available)", "solo-rg(not-available)"}, 0},
		{"engines valkey, upper-case", Filter{Engines: []string{"VALKEY"}},
			[]string{"Sessions", "sless", "tiered(data-tiering)"}, 0},
		{"engines memcached: node-based exportable, serverless not", Filter{Engines: []string{"memcached"}},
			[]string{"memc", "smemc(memcached-not-supported)"}, 0},
		{"engines memcached, upper-case, with redis", Filter{Engines: []string{"redis", "MEMCACHED"}, IDs: []string{"memc", "orders"}},
			[]string{"memc", "orders"}, 0},
		{"engine-filtered id is dropped, not not-found", Filter{IDs: []string{"memc"}, Engines: []string{"redis", "valkey"}},
			[]string{}, 0},
		{"tag key, any value", Filter{TagKey: "backup"},
			[]string{"cache-a", "memc(memcached-not-supported)", "orders", "screating(not-available)", "Sessions", "sless", "solo-rg(not-available)", "tiered(data-tiering)"}, 12},
		{"tag key and value", Filter{TagKey: "backup", TagValue: "daily"},
			[]string{"cache-a", "memc(memcached-not-supported)", "orders", "screating(not-available)", "sless", "tiered(data-tiering)"}, 12},
		{"tag after the other filters: one call per remaining cache", Filter{TagKey: "backup", Engines: []string{"valkey"}, IDs: []string{"sessions", "tiered", "orders"}},
			[]string{"Sessions", "tiered(data-tiering)"}, 2},
		{"tag value is case-sensitive", Filter{TagKey: "backup", TagValue: "Daily"},
			[]string{}, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fleet()
			got, err := Discover(context.Background(), f, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if g := ids(got); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("got %v, want %v", g, tt.want)
			}
			if len(f.tagCalls) != tt.tagCalls {
				t.Errorf("ListTagsForResource calls = %d (%v), want %d", len(f.tagCalls), f.tagCalls, tt.tagCalls)
			}
			for _, tg := range got {
				if (tt.filter.TagKey != "") != (tg.Tags != nil) {
					t.Errorf("%s: Tags = %v; want them exactly when a tag filter is set", tg.Cache.ID, tg.Tags)
				}
			}
		})
	}
}

func TestDiscoverTagsCarried(t *testing.T) {
	got, err := Discover(context.Background(), fleet(), Filter{TagKey: "team"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0].Tags, map[string]string{"backup": "daily", "team": "shop"}) {
		t.Fatalf("got %+v, want orders with its two tags", got)
	}
}

func TestDiscoverErrors(t *testing.T) {
	throttle := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}
	tests := []struct {
		name      string
		setup     func(*fakeEC)
		filter    Filter
		wantText  string
		wantClass awserr.Class
		wantErr   error
	}{
		{"replication groups throttled on page 2", func(f *fakeEC) { f.errAt = map[string]pageErr{"DescribeReplicationGroups": {1, throttle}} },
			Filter{}, "describe replication groups: ", awserr.Throttled, throttle},
		{"cache clusters throttled on page 3", func(f *fakeEC) { f.errAt = map[string]pageErr{"DescribeCacheClusters": {2, throttle}} },
			Filter{}, "describe cache clusters: ", awserr.Throttled, throttle},
		{"serverless caches denied on page 1", func(f *fakeEC) { f.errAt = map[string]pageErr{"DescribeServerlessCaches": {0, denied}} },
			Filter{}, "describe serverless caches: ", awserr.Permission, denied},
		{"tags throttled", func(f *fakeEC) { f.tagErr = map[string]error{rgARN("orders"): throttle} },
			Filter{TagKey: "backup"}, "list tags for " + rgARN("orders") + ": ", awserr.Throttled, throttle},
		{"bad engine", func(*fakeEC) {}, Filter{Engines: []string{"redis", "mongodb"}}, `engine "mongodb"`, awserr.Unknown, nil},
		{"tag value without key", func(*fakeEC) {}, Filter{TagValue: "x"}, "without a tag key", awserr.Unknown, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fleet()
			tt.setup(f)
			got, err := Discover(context.Background(), f, tt.filter)
			if err == nil {
				t.Fatalf("Discover = %v, want an error", ids(got))
			}
			if got != nil {
				t.Errorf("targets %v returned with an error", ids(got))
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
			if c := awserr.Classify(err); c != tt.wantClass {
				t.Errorf("Classify = %v, want %v", c, tt.wantClass)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
		})
	}
}

func TestDiscoverTagsOfVanishedCache(t *testing.T) {
	f := fleet()
	delete(f.tags, rgARN("orders")) // deleted between the listing and the tag call: not found
	got, err := Discover(context.Background(), f, Filter{TagKey: "team"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("got %v, want nothing", ids(got))
	}
}

func TestSnapshotFrom(t *testing.T) {
	cc := func(id, status string) types.CacheCluster {
		return memberCluster(id, "g", "redis", "7.1.0", status, "sun:05:00-sun:06:00")
	}
	tests := []struct {
		name     string
		groups   []types.NodeGroup
		clusters []types.CacheCluster
		enabled  bool
		want     string
	}{
		{"first available replica", []types.NodeGroup{{NodeGroupMembers: []types.NodeGroupMember{nodeMember("g-1", "primary"), nodeMember("g-2", "replica"), nodeMember("g-3", "replica")}}},
			[]types.CacheCluster{cc("g-1", "available"), cc("g-2", "rebooting cluster nodes"), cc("g-3", "available")}, false, "g-3"},
		{"replica even when none is available", []types.NodeGroup{{NodeGroupMembers: []types.NodeGroupMember{nodeMember("g-1", "primary"), nodeMember("g-2", "replica")}}},
			[]types.CacheCluster{cc("g-1", "available"), cc("g-2", "modifying")}, false, "g-2"},
		{"replica listed before primary", []types.NodeGroup{{NodeGroupMembers: []types.NodeGroupMember{nodeMember("g-2", "replica"), nodeMember("g-1", "primary")}}},
			[]types.CacheCluster{cc("g-1", "available"), cc("g-2", "available")}, false, "g-2"},
		{"primary when no replica", []types.NodeGroup{{NodeGroupMembers: []types.NodeGroupMember{nodeMember("g-1", "primary")}}},
			[]types.CacheCluster{cc("g-1", "available")}, false, "g-1"},
		{"no node groups: the group as a whole", nil, nil, false, ""},
		{"no roles reported: the group as a whole", []types.NodeGroup{{NodeGroupMembers: []types.NodeGroupMember{{CacheClusterId: aws.String("g-1")}}}},
			[]types.CacheCluster{cc("g-1", "available")}, false, ""},
		{"cluster mode enabled: the group as a whole", []types.NodeGroup{{NodeGroupMembers: []types.NodeGroupMember{nodeMember("g-1", "primary"), nodeMember("g-2", "replica")}}},
			[]types.CacheCluster{cc("g-1", "available"), cc("g-2", "available")}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEC{
				groups: [][]types.ReplicationGroup{{{
					ReplicationGroupId: aws.String("g"), ARN: aws.String(rgARN("g")), Engine: aws.String("redis"),
					Status: aws.String("available"), ClusterEnabled: aws.Bool(tt.enabled), NodeGroups: tt.groups,
				}}},
				clusters: [][]types.CacheCluster{tt.clusters},
			}
			got, err := Discover(context.Background(), f, Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %v, want one target", ids(got))
			}
			if got[0].SnapshotFrom != tt.want {
				t.Errorf("SnapshotFrom = %q, want %q", got[0].SnapshotFrom, tt.want)
			}
		})
	}
}

func TestDiscoverEmptyAccount(t *testing.T) {
	got, err := Discover(context.Background(), &fakeEC{}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("got %v, want none", ids(got))
	}
}
