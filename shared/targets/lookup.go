package targets

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
)

// Lookup describes one cache whose kind is known (an export's record names it) with calls
// scoped to its id, so that an invocation handling one export does not list the whole fleet:
// a replication group costs one call plus one per member of its first node group (cluster mode
// disabled) or one member (enabled); a cluster or serverless cache one call. It returns nil
// when the cache no longer exists. Memcached clusters come back with their Skip as Discover
// gives it without an engines filter.
func Lookup(ctx context.Context, api API, c export.Cache) (*Target, error) {
	var t Target
	switch c.Kind {
	case export.KindReplicationGroup:
		out, err := api.DescribeReplicationGroups(ctx, &elasticache.DescribeReplicationGroupsInput{ReplicationGroupId: aws.String(c.ID)})
		if err != nil || len(out.ReplicationGroups) == 0 {
			return nil, lookupErr("replication group", c.ID, err)
		}
		rg := out.ReplicationGroups[0]
		clusterMode := aws.ToBool(rg.ClusterEnabled) || rg.ClusterMode == types.ClusterModeEnabled
		var members []string
		if len(rg.NodeGroups) > 0 {
			for _, m := range rg.NodeGroups[0].NodeGroupMembers {
				if id := aws.ToString(m.CacheClusterId); id != "" {
					members = append(members, id)
				}
			}
		}
		if len(members) == 0 {
			members = rg.MemberClusters
		}
		if clusterMode && len(members) > 1 {
			members = members[:1] // only its engine version and maintenance window are needed
		}
		byID := map[string]types.CacheCluster{}
		for _, id := range members {
			cc, err := describeCluster(ctx, api, id)
			if err != nil {
				return nil, err
			}
			if cc != nil {
				byID[id] = *cc
			}
		}
		t = fromReplicationGroup(rg, byID)
	case export.KindCacheCluster, export.KindMemcached:
		cc, err := describeCluster(ctx, api, c.ID)
		if err != nil || cc == nil {
			return nil, err
		}
		t = fromCacheCluster(*cc)
	case export.KindServerless:
		out, err := api.DescribeServerlessCaches(ctx, &elasticache.DescribeServerlessCachesInput{ServerlessCacheName: aws.String(c.ID)})
		if err != nil || len(out.ServerlessCaches) == 0 {
			return nil, lookupErr("serverless cache", c.ID, err)
		}
		t = fromServerlessCache(out.ServerlessCaches[0])
	default:
		return nil, fmt.Errorf("look up cache %s: kind %q is not known", c.ID, c.Kind)
	}
	return &t, nil
}

func describeCluster(ctx context.Context, api API, id string) (*types.CacheCluster, error) {
	out, err := api.DescribeCacheClusters(ctx, &elasticache.DescribeCacheClustersInput{CacheClusterId: aws.String(id)})
	if err != nil || len(out.CacheClusters) == 0 {
		return nil, lookupErr("cache cluster", id, err)
	}
	return &out.CacheClusters[0], nil
}

// lookupErr turns "not found" (an error or an empty answer) into nil: the cache is gone.
func lookupErr(what, id string, err error) error {
	if err == nil || awserr.Classify(err) == awserr.NotFound {
		return nil
	}
	return fmt.Errorf("describe %s %s: %w", what, id, err)
}
