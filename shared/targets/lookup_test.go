package targets_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/cacheport/cacheport/internal/fakes"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/targets"
)

func TestLookupDescribesOneCacheByID(t *testing.T) {
	ec := &fakes.ElastiCache{}
	for i := 0; i < 30; i++ { // a fleet Lookup must not list
		id := "other-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		ec.ReplicationGroups = append(ec.ReplicationGroups, ectypes.ReplicationGroup{ReplicationGroupId: aws.String(id), Status: aws.String("available")})
	}
	ec.ReplicationGroups = append(ec.ReplicationGroups, ectypes.ReplicationGroup{ReplicationGroupId: aws.String("orders"), Status: aws.String("available"), Engine: aws.String("valkey"),
		MemberClusters: []string{"orders-001", "orders-002"},
		NodeGroups: []ectypes.NodeGroup{{NodeGroupMembers: []ectypes.NodeGroupMember{
			{CacheClusterId: aws.String("orders-001"), CurrentRole: aws.String("primary")},
			{CacheClusterId: aws.String("orders-002"), CurrentRole: aws.String("replica")}}}}})
	ec.CacheClusters = []ectypes.CacheCluster{
		{CacheClusterId: aws.String("orders-001"), ReplicationGroupId: aws.String("orders"), CacheClusterStatus: aws.String("available"), PreferredMaintenanceWindow: aws.String("sun:05:00-sun:06:00")},
		{CacheClusterId: aws.String("orders-002"), ReplicationGroupId: aws.String("orders"), CacheClusterStatus: aws.String("available")},
	}
	ec.ServerlessCaches = []ectypes.ServerlessCache{{ServerlessCacheName: aws.String("carts"), Engine: aws.String("valkey"), Status: aws.String("available")}}
	ctx := context.Background()

	tg, err := targets.Lookup(ctx, ec, export.Cache{ID: "orders", Kind: export.KindReplicationGroup})
	if err != nil || tg == nil || tg.SnapshotFrom != "orders-002" || tg.MaintenanceWindow != "sun:05:00-sun:06:00" || !tg.Exportable() {
		t.Fatalf("orders: %+v %v", tg, err)
	}
	if n := len(ec.Calls); n != 3 {
		t.Fatalf("%d calls for one replication group (%v), want 3", n, ec.Calls)
	}
	if tg, err := targets.Lookup(ctx, ec, export.Cache{ID: "carts", Kind: export.KindServerless}); err != nil || tg == nil || tg.Cache.Kind != export.KindServerless {
		t.Fatalf("carts: %+v %v", tg, err)
	}
	if tg, err := targets.Lookup(ctx, ec, export.Cache{ID: "gone", Kind: export.KindCacheCluster}); err != nil || tg != nil {
		t.Fatalf("a cache that no longer exists: %+v %v", tg, err)
	}
	ec.Fail("DescribeServerlessCaches", fakes.Throttle())
	if _, err := targets.Lookup(ctx, ec, export.Cache{ID: "carts", Kind: export.KindServerless}); err == nil {
		t.Fatal("a throttled describe was swallowed")
	}
}
