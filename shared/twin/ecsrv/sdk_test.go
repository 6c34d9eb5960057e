package ecsrv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/smithy-go"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/rdb"
	"github.com/cacheport/cacheport/shared/targets"
)

func TestSDKDescribe(t *testing.T) {
	r := newRig(t)
	r.add(standardCaches()...)
	ctx := context.Background()

	rgs, err := r.ec.DescribeReplicationGroups(ctx, &elasticache.DescribeReplicationGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rgs.ReplicationGroups) != 3 {
		t.Fatalf("%d replication groups, want 3", len(rgs.ReplicationGroups))
	}
	byID := map[string]types.ReplicationGroup{}
	for _, g := range rgs.ReplicationGroups {
		byID[aws.ToString(g.ReplicationGroupId)] = g
	}
	orders := byID["orders"]
	if len(orders.NodeGroups) != 1 || len(orders.NodeGroups[0].NodeGroupMembers) != 3 || len(orders.MemberClusters) != 3 {
		t.Errorf("orders: %d node groups, members %v", len(orders.NodeGroups), orders.MemberClusters)
	}
	if m := orders.NodeGroups[0].NodeGroupMembers; aws.ToString(m[0].CurrentRole) != "primary" || aws.ToString(m[1].CurrentRole) != "replica" {
		t.Errorf("orders roles: %q %q", aws.ToString(m[0].CurrentRole), aws.ToString(m[1].CurrentRole))
	}
	if aws.ToString(orders.ARN) != "arn:aws:elasticache:us-east-1:111122223333:replicationgroup:orders" || aws.ToString(orders.Engine) != "valkey" {
		t.Errorf("orders: ARN %s engine %s", aws.ToString(orders.ARN), aws.ToString(orders.Engine))
	}
	sessions := byID["sessions"]
	if !aws.ToBool(sessions.ClusterEnabled) || sessions.ClusterMode != types.ClusterModeEnabled || len(sessions.NodeGroups) != 3 {
		t.Errorf("sessions: cluster %v %v, %d node groups", aws.ToBool(sessions.ClusterEnabled), sessions.ClusterMode, len(sessions.NodeGroups))
	}
	if got := aws.ToString(sessions.NodeGroups[2].Slots); got != "10922-16383" {
		t.Errorf("sessions shard 3 slots %q", got)
	}
	if byID["tiered"].DataTiering != types.DataTieringStatusEnabled {
		t.Errorf("tiered: data tiering %q", byID["tiered"].DataTiering)
	}
	rgTime := aws.ToTime(orders.ReplicationGroupCreateTime)
	if rgTime.IsZero() {
		t.Error("no ReplicationGroupCreateTime")
	}

	one, err := r.ec.DescribeReplicationGroups(ctx, &elasticache.DescribeReplicationGroupsInput{ReplicationGroupId: aws.String("sessions")})
	if err != nil || len(one.ReplicationGroups) != 1 {
		t.Fatalf("one group: %v", err)
	}
	_, err = r.ec.DescribeReplicationGroups(ctx, &elasticache.DescribeReplicationGroupsInput{ReplicationGroupId: aws.String("nope")})
	var rgNF *types.ReplicationGroupNotFoundFault
	if !errors.As(err, &rgNF) {
		t.Errorf("unknown group: %v", err)
	}

	ccs, err := r.ec.DescribeCacheClusters(ctx, &elasticache.DescribeCacheClustersInput{ShowCacheNodeInfo: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	// orders 3 + sessions 6 + solo 1 + memo 1 + tiered 2
	if len(ccs.CacheClusters) != 13 {
		t.Errorf("%d cache clusters, want 13", len(ccs.CacheClusters))
	}
	for _, c := range ccs.CacheClusters {
		id := aws.ToString(c.CacheClusterId)
		switch id {
		case "memo":
			if aws.ToString(c.Engine) != "memcached" || len(c.CacheNodes) != 2 || aws.ToInt32(c.NumCacheNodes) != 2 {
				t.Errorf("memo: %s, %d nodes", aws.ToString(c.Engine), len(c.CacheNodes))
			}
		case "solo":
			if aws.ToString(c.ReplicationGroupId) != "" || aws.ToString(c.PreferredMaintenanceWindow) != "sun:05:00-sun:06:00" || len(c.CacheNodes) != 1 {
				t.Errorf("solo: %+v", c)
			}
		case "orders-002":
			if aws.ToString(c.ReplicationGroupId) != "orders" || aws.ToString(c.EngineVersion) != "8.0.1" {
				t.Errorf("orders-002: group %q version %q", aws.ToString(c.ReplicationGroupId), aws.ToString(c.EngineVersion))
			}
		}
	}
	alone, err := r.ec.DescribeCacheClusters(ctx, &elasticache.DescribeCacheClustersInput{ShowCacheClustersNotInReplicationGroups: aws.Bool(true)})
	if err != nil || len(alone.CacheClusters) != 2 {
		t.Errorf("not in groups: %v, %d", err, len(alone.CacheClusters))
	}
	_, err = r.ec.DescribeCacheClusters(ctx, &elasticache.DescribeCacheClustersInput{CacheClusterId: aws.String("nope")})
	var ccNF *types.CacheClusterNotFoundFault
	if !errors.As(err, &ccNF) {
		t.Errorf("unknown cluster: %v", err)
	}

	sls, err := r.ec.DescribeServerlessCaches(ctx, &elasticache.DescribeServerlessCachesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sls.ServerlessCaches) != 1 || aws.ToString(sls.ServerlessCaches[0].ServerlessCacheName) != "carts" ||
		aws.ToString(sls.ServerlessCaches[0].FullEngineVersion) != "8.0.1" || aws.ToString(sls.ServerlessCaches[0].DailySnapshotTime) != "03:00" {
		t.Errorf("serverless: %+v", sls.ServerlessCaches)
	}

	tags, err := r.ec.ListTagsForResource(ctx, &elasticache.ListTagsForResourceInput{ResourceName: orders.ARN})
	if err != nil || len(tags.TagList) != 1 || aws.ToString(tags.TagList[0].Key) != "team" {
		t.Fatalf("tags: %v %+v", err, tags)
	}
	added, err := r.ec.AddTagsToResource(ctx, &elasticache.AddTagsToResourceInput{ResourceName: orders.ARN,
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("team"), Value: aws.String("ops")}}})
	if err != nil || len(added.TagList) != 2 {
		t.Fatalf("add tags: %v %+v", err, added)
	}
	_, err = r.ec.ListTagsForResource(ctx, &elasticache.ListTagsForResourceInput{ResourceName: aws.String("arn:aws:elasticache:us-east-1:111122223333:cluster:gone")})
	if !errors.As(err, &ccNF) {
		t.Errorf("tags of a missing cluster: %v", err)
	}
	_, err = r.ec.ListTagsForResource(ctx, &elasticache.ListTagsForResourceInput{ResourceName: aws.String("not-an-arn")})
	var badARN *types.InvalidARNFault
	if !errors.As(err, &badARN) {
		t.Errorf("bad ARN: %v", err)
	}
}

// TestDiscover runs cacheport's own discovery (shared/targets) against the twin.
func TestDiscover(t *testing.T) {
	r := newRig(t)
	r.add(standardCaches()...)
	found, err := targets.Discover(context.Background(), r.ec, targets.Filter{TagKey: ""})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]targets.Target{}
	for _, tg := range found {
		got[tg.Cache.ID] = tg
	}
	want := map[string]string{"orders": "", "sessions": "", "solo": "", "carts": "", "memo": targets.SkipMemcached, "tiered": targets.SkipDataTiering}
	for id, skip := range want {
		tg, ok := got[id]
		if !ok {
			t.Errorf("%s not found", id)
			continue
		}
		if tg.Skip != skip {
			t.Errorf("%s: skip %q, want %q", id, tg.Skip, skip)
		}
	}
	if len(found) != len(want) {
		t.Errorf("%d targets, want %d", len(found), len(want))
	}
	if o := got["orders"]; o.SnapshotFrom != "orders-002" && o.SnapshotFrom != "orders-003" || o.Cache.EngineVersion != "8.0.1" || o.MaintenanceWindow == "" {
		t.Errorf("orders: %+v", o)
	}
	if s := got["sessions"]; !s.Cache.ClusterMode || s.Cache.Shards != 3 || s.SnapshotFrom != "" {
		t.Errorf("sessions: %+v", s)
	}
	if c := got["carts"]; c.Cache.Kind != export.KindServerless || c.SnapshotWindow != "03:00" {
		t.Errorf("carts: %+v", c)
	}
}

func TestSDKSnapshotAndExport(t *testing.T) {
	r := newRig(t)
	r.add(standardCaches()...)
	ctx := context.Background()

	created, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{ReplicationGroupId: aws.String("sessions"), SnapshotName: aws.String("snap-1"),
		Tags: []types.Tag{{Key: aws.String("cacheport:managed"), Value: aws.String("true")}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.Snapshot.SnapshotStatus) != "creating" || aws.ToInt32(created.Snapshot.NumNodeGroups) != 3 {
		t.Errorf("created: %s, %d node groups", aws.ToString(created.Snapshot.SnapshotStatus), aws.ToInt32(created.Snapshot.NumNodeGroups))
	}
	// A second snapshot while the first is being made, and the same name again.
	_, err = r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{ReplicationGroupId: aws.String("sessions"), SnapshotName: aws.String("snap-2")})
	var rgState *types.InvalidReplicationGroupStateFault
	if !errors.As(err, &rgState) {
		t.Errorf("snapshot while one is creating: %v", err)
	}
	_, err = r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{ReplicationGroupId: aws.String("sessions"), SnapshotName: aws.String("snap-1")})
	var exists *types.SnapshotAlreadyExistsFault
	if !errors.As(err, &exists) {
		t.Errorf("same name: %v", err)
	}
	rgs, _ := r.ec.DescribeReplicationGroups(ctx, &elasticache.DescribeReplicationGroupsInput{ReplicationGroupId: aws.String("sessions")})
	if st := aws.ToString(rgs.ReplicationGroups[0].Status); st != "snapshotting" {
		t.Errorf("group status while snapshotting: %q", st)
	}
	// Deleting a snapshot being made is refused.
	_, err = r.ec.DeleteSnapshot(ctx, &elasticache.DeleteSnapshotInput{SnapshotName: aws.String("snap-1")})
	var snapState *types.InvalidSnapshotStateFault
	if !errors.As(err, &snapState) || !strings.Contains(err.Error(), "transitional snapshots cannot be deleted") {
		t.Errorf("delete while creating: %v", err)
	}
	// Copy before it is available is refused.
	_, err = r.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String("snap-1"), TargetSnapshotName: aws.String("x"), TargetBucket: aws.String(testBucket)})
	if !errors.As(err, &snapState) {
		t.Errorf("copy while creating: %v", err)
	}

	r.settle(time.Minute)
	if st := r.status("snap-1"); st != "creating" {
		t.Fatalf("after 1 min: %s", st)
	}
	r.settle(time.Minute)
	desc, err := r.ec.DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{SnapshotName: aws.String("snap-1")})
	if err != nil {
		t.Fatal(err)
	}
	sn := desc.Snapshots[0]
	if aws.ToString(sn.SnapshotStatus) != "available" || len(sn.NodeSnapshots) != 3 || aws.ToString(sn.SnapshotSource) != "manual" {
		t.Fatalf("snapshot: %s, %d node snapshots", aws.ToString(sn.SnapshotStatus), len(sn.NodeSnapshots))
	}
	for i, n := range sn.NodeSnapshots {
		if aws.ToString(n.NodeGroupId) != fmt.Sprintf("%04d", i+1) || aws.ToTime(n.SnapshotCreateTime).IsZero() || aws.ToString(n.CacheSize) == "" {
			t.Errorf("node snapshot %d: %+v", i, n)
		}
	}
	tags, err := r.ec.ListTagsForResource(ctx, &elasticache.ListTagsForResourceInput{ResourceName: sn.ARN})
	if err != nil || len(tags.TagList) != 1 {
		t.Errorf("snapshot tags: %v %+v", err, tags)
	}

	// The export: target lower-cased, one object per shard, a minute apart.
	target := "cacheport/sessions/Sessions-20261124-0300/a1/sessions-20261124-0300"
	copied, err := r.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String("snap-1"), TargetSnapshotName: aws.String(target), TargetBucket: aws.String(testBucket)})
	if err != nil {
		t.Fatal(err)
	}
	if st := aws.ToString(copied.Snapshot.SnapshotStatus); st != "exporting" {
		t.Errorf("copy returned status %q", st)
	}
	if st := r.status("snap-1"); st != "exporting" {
		t.Errorf("source while exporting: %q", st)
	}
	_, err = r.ec.DeleteSnapshot(ctx, &elasticache.DeleteSnapshotInput{SnapshotName: aws.String("snap-1")})
	if !errors.As(err, &snapState) {
		t.Errorf("delete while exporting: %v", err)
	}
	lower := strings.ToLower(target)
	r.settle(time.Minute)
	if keys := r.bucket.keys(testBucket); len(keys) != 1 || keys[0] != lower+"-0001.rdb" {
		t.Errorf("after 1 min: %v", keys)
	}
	r.settle(2 * time.Minute)
	keys := r.bucket.keys(testBucket)
	want := []string{lower + "-0001.rdb", lower + "-0002.rdb", lower + "-0003.rdb"}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("objects %v, want %v", keys, want)
	}
	if st := r.status("snap-1"); st != "available" {
		t.Errorf("source after export: %q", st)
	}
	for _, k := range keys {
		rep, err := rdb.Verify(bytes.NewReader(r.bucket.get(testBucket, k)))
		if err != nil || !rep.Valid || rep.Keys == 0 {
			t.Errorf("%s: %v %+v", k, err, rep)
		}
	}
	// The same target again: the bucket already holds it.
	_, err = r.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String("snap-1"), TargetSnapshotName: aws.String(target), TargetBucket: aws.String(testBucket)})
	if code, _ := awserr.CopySnapshotAdvice(err); code != awserr.CopyTargetExists {
		t.Errorf("same target: %v (%s)", err, code)
	}

	// Deleting works once it is available; then it is gone.
	if _, err := r.ec.DeleteSnapshot(ctx, &elasticache.DeleteSnapshotInput{SnapshotName: aws.String("snap-1")}); err != nil {
		t.Fatal(err)
	}
	_, err = r.ec.DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{SnapshotName: aws.String("snap-1")})
	var nf *types.SnapshotNotFoundFault
	if !errors.As(err, &nf) {
		t.Errorf("describe deleted: %v", err)
	}
	_, err = r.ec.DeleteSnapshot(ctx, &elasticache.DeleteSnapshotInput{SnapshotName: aws.String("snap-1")})
	if !errors.As(err, &nf) {
		t.Errorf("delete deleted: %v", err)
	}
	_, err = r.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String("snap-1"), TargetSnapshotName: aws.String("y"), TargetBucket: aws.String(testBucket)})
	if !errors.As(err, &nf) {
		t.Errorf("copy deleted: %v", err)
	}
}

func TestSDKSnapshotByCluster(t *testing.T) {
	r := newRig(t)
	r.add(standardCaches()...)
	ctx := context.Background()
	for _, tc := range []struct{ cluster, name string }{{"orders-003", "from-replica"}, {"solo", "from-solo"}} {
		if _, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{CacheClusterId: aws.String(tc.cluster), SnapshotName: aws.String(tc.name)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{CacheClusterId: aws.String("solo"), SnapshotName: aws.String("again")})
	var ccState *types.InvalidCacheClusterStateFault
	if !errors.As(err, &ccState) {
		t.Errorf("second snapshot of solo while creating: %v", err)
	}
	_, err = r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{CacheClusterId: aws.String("memo"), SnapshotName: aws.String("mc")})
	var unsupported *types.SnapshotFeatureNotSupportedFault
	if !errors.As(err, &unsupported) {
		t.Errorf("memcached snapshot: %v", err)
	}
	_, err = r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{CacheClusterId: aws.String("nope"), SnapshotName: aws.String("n")})
	var ccNF *types.CacheClusterNotFoundFault
	if !errors.As(err, &ccNF) {
		t.Errorf("unknown cluster: %v", err)
	}
	r.settle(2 * time.Minute)
	byRG, err := r.ec.DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{ReplicationGroupId: aws.String("orders")})
	if err != nil || len(byRG.Snapshots) != 1 || aws.ToString(byRG.Snapshots[0].CacheClusterId) != "orders-003" {
		t.Fatalf("by group: %v %+v", err, byRG)
	}
	byCC, err := r.ec.DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{CacheClusterId: aws.String("solo")})
	if err != nil || len(byCC.Snapshots) != 1 || aws.ToString(byCC.Snapshots[0].SnapshotName) != "from-solo" {
		t.Fatalf("by cluster: %v %+v", err, byCC)
	}
	// An in-ElastiCache copy (no bucket) makes a new manual snapshot.
	if _, err := r.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String("from-solo"), TargetSnapshotName: aws.String("solo-copy")}); err != nil {
		t.Fatal(err)
	}
	r.settle(2 * time.Minute)
	if st := r.status("solo-copy"); st != "available" {
		t.Errorf("copy: %q", st)
	}
}

func TestSDKPagination(t *testing.T) {
	r := newRig(t)
	r.add(Cache{ID: "orders", Kind: KindReplicationGroup}, Cache{ID: "carts", Kind: KindServerless})
	ctx := context.Background()
	base := r.clock.Now().Add(-60 * 24 * time.Hour)
	for i := 0; i < 45; i++ {
		if _, err := r.srv.AddAutomatedSnapshot(ctx, "orders", base.Add(time.Duration(i)*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if i < 7 {
			if _, err := r.srv.AddAutomatedSnapshot(ctx, "carts", base.Add(time.Duration(i)*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{ReplicationGroupId: aws.String("orders"), SnapshotName: aws.String("manual-1")}); err != nil {
		t.Fatal(err)
	}
	p := elasticache.NewDescribeSnapshotsPaginator(r.ec, &elasticache.DescribeSnapshotsInput{ReplicationGroupId: aws.String("orders"), MaxRecords: aws.Int32(20)})
	pages, total, automated := 0, 0, 0
	seen := map[string]bool{}
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range out.Snapshots {
			total++
			seen[aws.ToString(s.SnapshotName)] = true
			if aws.ToString(s.SnapshotSource) == "automated" {
				automated++
			}
		}
	}
	if pages != 3 || total != 46 || len(seen) != 46 || automated != 45 {
		t.Errorf("%d pages, %d snapshots (%d distinct, %d automated), want 3, 46, 46, 45", pages, total, len(seen), automated)
	}
	sys, err := r.ec.DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{SnapshotSource: aws.String("user")})
	if err != nil || len(sys.Snapshots) != 1 {
		t.Errorf("user snapshots: %v %d", err, len(sys.Snapshots))
	}
	_, err = r.ec.DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{MaxRecords: aws.Int32(5)})
	var bad *types.InvalidParameterValueException
	if !errors.As(err, &bad) {
		t.Errorf("MaxRecords 5: %v", err)
	}

	sp := elasticache.NewDescribeServerlessCacheSnapshotsPaginator(r.ec, &elasticache.DescribeServerlessCacheSnapshotsInput{ServerlessCacheName: aws.String("carts"), MaxResults: aws.Int32(3)})
	pages, total = 0, 0
	for sp.HasMorePages() {
		out, err := sp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range out.ServerlessCacheSnapshots {
			total++
			if aws.ToString(s.SnapshotType) != "automated" || aws.ToTime(s.CreateTime).IsZero() || aws.ToString(s.ServerlessCacheConfiguration.ServerlessCacheName) != "carts" {
				t.Errorf("serverless snapshot %+v", s)
			}
		}
	}
	if pages != 3 || total != 7 {
		t.Errorf("serverless: %d pages, %d snapshots, want 3, 7", pages, total)
	}
}

func TestQuota(t *testing.T) {
	r := newRig(t, func(o *Options) { o.SnapshotDelay = time.Second })
	r.add(Cache{ID: "solo", Kind: KindCacheCluster}, Cache{ID: "carts", Kind: KindServerless})
	ctx := context.Background()
	for i := 0; i < DefaultQuota; i++ {
		if _, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{CacheClusterId: aws.String("solo"), SnapshotName: aws.String(fmt.Sprintf("s-%d", i))}); err != nil {
			t.Fatal(i, err)
		}
		r.settle(time.Minute)
		if i%2 == 0 { // deleted snapshots still count
			if _, err := r.ec.DeleteSnapshot(ctx, &elasticache.DeleteSnapshotInput{SnapshotName: aws.String(fmt.Sprintf("s-%d", i))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{CacheClusterId: aws.String("solo"), SnapshotName: aws.String("one-too-many")})
	var quota *types.SnapshotQuotaExceededFault
	if !errors.As(err, &quota) {
		t.Fatalf("21st snapshot: %v", err)
	}
	r.clock.Advance(24 * time.Hour)
	if _, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{CacheClusterId: aws.String("solo"), SnapshotName: aws.String("next-day")}); err != nil {
		t.Errorf("a day later: %v", err)
	}

	for i := 0; i < DefaultServerlessQuota; i++ {
		if _, err := r.ec.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{ServerlessCacheName: aws.String("carts"), ServerlessCacheSnapshotName: aws.String(fmt.Sprintf("c-%d", i))}); err != nil {
			t.Fatal(i, err)
		}
		r.settle(time.Minute)
	}
	_, err = r.ec.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{ServerlessCacheName: aws.String("carts"), ServerlessCacheSnapshotName: aws.String("c-x")})
	var sq *types.ServerlessCacheSnapshotQuotaExceededFault
	if !errors.As(err, &sq) {
		t.Errorf("25th serverless snapshot: %v", err)
	}
}

func TestCopyBucketRefusals(t *testing.T) {
	ctx := context.Background()
	src := "automatic.orders-2026-11-24-03-00"
	setup := func(t *testing.T) *rig {
		r := newRig(t)
		r.add(standardCaches()...)
		r.bucket.add("far", "eu-west-1", true)
		r.bucket.add("ungranted", testRegion, false)
		r.bucket.put(testBucket, "taken-0001.rdb", []byte("x"))
		for _, n := range []string{"orders", "tiered"} {
			if _, err := r.srv.AddAutomatedSnapshot(ctx, n, r.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	cases := []struct {
		name, bucket, target string
		fault                [2]string
		code                 string
		fragment             string
	}{
		{"missing bucket", "nope", "t1", [2]string{}, awserr.CopyBucketMissing, "The S3 bucket nope does not exist."},
		{"other region", "far", "t2", [2]string{}, awserr.CopyBucketWrongRegion, "The S3 bucket far is outside of the region."},
		{"bucket-region fault", testBucket, "t3", [2]string{"bucket-region", "eu-central-1"}, awserr.CopyBucketWrongRegion, "outside of the region"},
		{"not granted", "ungranted", "t4", [2]string{}, awserr.CopyNoGrant, "ElastiCache has not been granted READ permissions ungranted on the S3 Bucket."},
		{"no-grant fault", testBucket, "t5", [2]string{"no-grant", "orders"}, awserr.CopyNoGrant, "has not been granted"},
		{"key exists", testBucket, "TAKEN", [2]string{}, awserr.CopyTargetExists, "The S3 bucket exports already contains an object with key taken-0001.rdb."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := setup(t)
			if tc.fault[0] != "" {
				r.faults.Add(tc.fault[0], tc.fault[1])
			}
			_, err := r.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String(src), TargetSnapshotName: aws.String(tc.target), TargetBucket: aws.String(tc.bucket)})
			var pv *types.InvalidParameterValueException
			if !errors.As(err, &pv) || !strings.Contains(err.Error(), tc.fragment) {
				t.Fatalf("error %v, want InvalidParameterValue with %q", err, tc.fragment)
			}
			if code, _ := awserr.CopySnapshotAdvice(err); code != tc.code {
				t.Errorf("cacheport reads it as %q, want %q", code, tc.code)
			}
			if keys := r.bucket.keys(testBucket); len(keys) != 1 {
				t.Errorf("a refused export wrote %v", keys)
			}
		})
	}
	t.Run("data tiering", func(t *testing.T) {
		r := setup(t)
		_, err := r.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String("automatic.tiered-2026-11-24-03-00"), TargetSnapshotName: aws.String("t"), TargetBucket: aws.String(testBucket)})
		var pv *types.InvalidParameterValueException
		if !errors.As(err, &pv) || !strings.Contains(err.Error(), "data tiering") {
			t.Errorf("data tiering export: %v", err)
		}
	})
}

func TestAuthAndUnknownAction(t *testing.T) {
	r := newRig(t)
	resp, err := http.PostForm(r.url, url.Values{"Action": {"DescribeReplicationGroups"}, "Version": {"2015-02-02"}})
	if err != nil {
		t.Fatal(err)
	}
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(body.String(), "<Code>MissingAuthenticationToken</Code>") {
		t.Errorf("unsigned: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", r.url, strings.NewReader("Action=FlyToTheMoon&Version=2015-02-02"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261124/us-east-1/elasticache/aws4_request, SignedHeaders=host, Signature=0")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body.Reset()
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(body.String(), "<Code>InvalidAction</Code>") {
		t.Errorf("unknown action: %d %s", resp.StatusCode, body)
	}
	var apiErr smithy.APIError
	_, err = r.ec.DescribeSnapshots(context.Background(), &elasticache.DescribeSnapshotsInput{Marker: aws.String("garbage")})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("bad marker: %v", err)
	}
}

// TestChooseSource runs cacheport's source choice (shared/targets) against the twin's snapshots.
func TestChooseSource(t *testing.T) {
	r := newRig(t)
	r.add(standardCaches()...)
	ctx := context.Background()
	find := func(id string) targets.Target {
		found, err := targets.Discover(ctx, r.ec, targets.Filter{IDs: []string{id}})
		if err != nil || len(found) != 1 {
			t.Fatalf("discover %s: %v %+v", id, err, found)
		}
		return found[0]
	}
	now := r.clock.Now()
	opts := targets.SourceOptions{MaxBackupAge: 6 * time.Hour, NewSnapshotName: "cacheport-orders-20261124-0300-a1"}

	ch, err := targets.ChooseSource(ctx, r.ec, find("orders"), now, opts)
	if err != nil || !ch.Create {
		t.Fatalf("no backups: %+v %v", ch, err)
	}
	auto, err := r.srv.AddAutomatedSnapshot(ctx, "orders", now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ch, err = targets.ChooseSource(ctx, r.ec, find("orders"), now, opts)
	if err != nil || !ch.Automated || ch.Snapshot != auto {
		t.Fatalf("fresh backup: %+v %v", ch, err)
	}
	if _, err := r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{ReplicationGroupId: aws.String("sessions"), SnapshotName: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	sOpts := opts
	sOpts.NewSnapshotName = "cacheport-sessions-20261124-0300-a1"
	ch, err = targets.ChooseSource(ctx, r.ec, find("sessions"), now, sOpts)
	if err != nil || ch.Wait != targets.WaitBackupRunning {
		t.Fatalf("backup running: %+v %v", ch, err)
	}
	carts := find("carts")
	cOpts := opts
	cOpts.NewSnapshotName = "cacheport-carts-20261124-0300-a1"
	if _, err := r.ec.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{ServerlessCacheName: aws.String("carts"), ServerlessCacheSnapshotName: aws.String(cOpts.NewSnapshotName)}); err != nil {
		t.Fatal(err)
	}
	ch, err = targets.ChooseSource(ctx, r.ec, carts, now, cOpts)
	if err != nil || !ch.Existing {
		t.Fatalf("serverless existing: %+v %v", ch, err)
	}
}

// TestScale holds 1,000 caches of generated data and lists, snapshots and exports them all.
func TestScale(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test skipped with -short")
	}
	r := newRig(t, func(o *Options) { o.GenKeys = 20 })
	for i := 0; i < 1000; i++ {
		c := Cache{ID: fmt.Sprintf("cache-%04d", i), Kind: KindReplicationGroup}
		switch i % 4 {
		case 1:
			c.Kind = KindCacheCluster
		case 2:
			c.ClusterMode, c.Shards = true, 2
		case 3:
			c.Kind = KindServerless
		}
		r.add(c)
	}
	ctx := context.Background()
	start := time.Now()
	found, err := targets.Discover(ctx, r.ec, targets.Filter{})
	if err != nil || len(found) != 1000 {
		t.Fatalf("discover: %v, %d targets", err, len(found))
	}
	for _, tg := range found {
		var err error
		name := aws.String("s-" + tg.Cache.ID)
		switch tg.Cache.Kind {
		case export.KindServerless:
			_, err = r.ec.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{ServerlessCacheName: aws.String(tg.Cache.ID), ServerlessCacheSnapshotName: name})
		case export.KindCacheCluster:
			_, err = r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{CacheClusterId: aws.String(tg.Cache.ID), SnapshotName: name})
		default:
			_, err = r.ec.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{ReplicationGroupId: aws.String(tg.Cache.ID), SnapshotName: name})
		}
		if err != nil {
			t.Fatal(tg.Cache.ID, err)
		}
	}
	r.settle(2 * time.Minute)
	p := elasticache.NewDescribeSnapshotsPaginator(r.ec, &elasticache.DescribeSnapshotsInput{})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out.Snapshots {
			n++
			if _, err := r.ec.CopySnapshot(ctx, &elasticache.CopySnapshotInput{SourceSnapshotName: s.SnapshotName, TargetSnapshotName: aws.String("x/" + aws.ToString(s.SnapshotName)), TargetBucket: aws.String(testBucket)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.settle(3 * time.Minute)
	if n != 750 || r.srv.Pending() {
		t.Errorf("%d node-based snapshots (want 750), pending %v", n, r.srv.Pending())
	}
	if objs := len(r.bucket.keys(testBucket)); objs != 1000 {
		t.Errorf("%d objects, want 1000 (250 two-shard groups)", objs)
	}
	t.Logf("1,000 caches: discover, snapshot, export in %s, %d API calls", time.Since(start).Round(time.Millisecond), len(r.calls.Calls()))
}
