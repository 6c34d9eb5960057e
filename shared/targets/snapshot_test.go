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

func TestDescribeSnapshot(t *testing.T) {
	ec := &fakes.ElastiCache{
		Snapshots: []ectypes.Snapshot{{SnapshotName: aws.String("a"), SnapshotStatus: aws.String("Exporting"), SnapshotSource: aws.String("automated"),
			NumNodeGroups: aws.Int32(3), ARN: aws.String("arn:aws:elasticache:us-east-1:1:snapshot:a")}},
		ServerlessSnapshots: []ectypes.ServerlessCacheSnapshot{{ServerlessCacheSnapshotName: aws.String("s"), Status: aws.String("available"), SnapshotType: aws.String("manual")}},
	}
	ctx := context.Background()
	sn, found, err := targets.DescribeSnapshot(ctx, ec, export.KindReplicationGroup, "a")
	if err != nil || !found || sn.Status != "exporting" || !sn.Automated || sn.Shards != 3 || sn.ARN == "" {
		t.Fatalf("node-based: %+v %v %v", sn, found, err)
	}
	sn, found, err = targets.DescribeSnapshot(ctx, ec, export.KindServerless, "s")
	if err != nil || !found || sn.Status != "available" || sn.Automated {
		t.Fatalf("serverless: %+v %v %v", sn, found, err)
	}
	if _, found, err := targets.DescribeSnapshot(ctx, ec, export.KindCacheCluster, "gone"); err != nil || found {
		t.Fatalf("a missing snapshot: %v %v", found, err)
	}
	ec.Fail("DescribeSnapshots", fakes.Throttle())
	if _, _, err := targets.DescribeSnapshot(ctx, ec, export.KindCacheCluster, "a"); err == nil {
		t.Fatal("a throttled describe was swallowed")
	}
}
