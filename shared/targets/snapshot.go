package targets

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
)

// Snapshot is what ElastiCache says of one snapshot an export names.
type Snapshot struct {
	Name      string
	Status    string // lower-cased: creating, available, exporting, failed, deleting, ...
	ARN       string
	Automated bool
	Shards    int // node groups (node-based snapshots); 0 when not reported
}

// DescribeSnapshot describes the snapshot called name of a cache of kind (serverless caches have
// their own API). found is false when no such snapshot exists; other errors are returned wrapped
// with the snapshot's name.
func DescribeSnapshot(ctx context.Context, api SnapshotAPI, kind export.Kind, name string) (s Snapshot, found bool, err error) {
	if kind == export.KindServerless {
		out, err := api.DescribeServerlessCacheSnapshots(ctx, &elasticache.DescribeServerlessCacheSnapshotsInput{ServerlessCacheSnapshotName: aws.String(name)})
		if err != nil {
			return Snapshot{}, false, snapshotErr("describe serverless snapshot", name, err)
		}
		for _, sn := range out.ServerlessCacheSnapshots {
			if aws.ToString(sn.ServerlessCacheSnapshotName) == name {
				return Snapshot{Name: name, Status: strings.ToLower(aws.ToString(sn.Status)), ARN: aws.ToString(sn.ARN),
					Automated: strings.EqualFold(aws.ToString(sn.SnapshotType), "automated")}, true, nil
			}
		}
		return Snapshot{}, false, nil
	}
	out, err := api.DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{SnapshotName: aws.String(name)})
	if err != nil {
		return Snapshot{}, false, snapshotErr("describe snapshot", name, err)
	}
	for _, sn := range out.Snapshots {
		if aws.ToString(sn.SnapshotName) == name {
			return Snapshot{Name: name, Status: strings.ToLower(aws.ToString(sn.SnapshotStatus)), ARN: aws.ToString(sn.ARN),
				Automated: strings.EqualFold(aws.ToString(sn.SnapshotSource), "automated"), Shards: int(aws.ToInt32(sn.NumNodeGroups))}, true, nil
		}
	}
	return Snapshot{}, false, nil
}

// snapshotErr turns "not found" into nil (the snapshot is gone) and wraps anything else.
func snapshotErr(what, name string, err error) error {
	if awserr.Classify(err) == awserr.NotFound {
		return nil
	}
	return fmt.Errorf("%s %s: %w", what, name, err)
}
