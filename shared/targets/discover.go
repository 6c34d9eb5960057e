// Package targets finds the ElastiCache caches cacheport exports and chooses, for each, the
// snapshot an export copies.
//
// Discover lists replication groups, standalone cache clusters and serverless caches (with the
// SDK's paginators), applies the configured filter and says, for each cache found, whether it
// can be exported and why not. ChooseSource picks a fresh automatic backup to reuse, or decides
// that a new snapshot must be made, or that now is not the time (maintenance window, a backup
// already running, the manual snapshot quota).
//
// Both take consumer-side interfaces (API, SnapshotAPI) that *elasticache.Client satisfies, so
// tests pass small fakes. Neither writes anything or keeps state: they are safe for concurrent
// use when their api is.
package targets

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"

	"github.com/cacheport/cacheport/shared/awserr"
	"github.com/cacheport/cacheport/shared/export"
)

// Engines as ElastiCache names them (lower-case).
const (
	EngineRedis     = "redis"
	EngineValkey    = "valkey"
	EngineMemcached = "memcached"
)

// Skip reasons: the stable codes in Target.Skip. A target with a Skip is reported (logged, counted,
// and called unprotected by the audit), never exported.
const (
	// SkipMemcached: AWS has no export for Memcached. cacheport dumps node-based Memcached
	// clusters itself (memcached-export) only when the filter's Engines name memcached;
	// serverless Memcached is always skipped.
	SkipMemcached = "memcached-not-supported"
	// SkipDataTiering: AWS cannot export a backup of a cluster that uses data tiering.
	SkipDataTiering = "data-tiering"
	// SkipNoBackupSupport: the cache's node type cannot be backed up (cache.t1.micro).
	SkipNoBackupSupport = "no-backup-support"
	// SkipNotAvailable: the cache is not in a state that allows a backup (creating, modifying,
	// deleting, ...); the next window tries again.
	SkipNotAvailable = "not-available"
	// SkipNotFound: an id named in Filter.IDs matches no cache. Such a target carries only
	// Cache.ID (as given), no Kind.
	SkipNotFound = "not-found"
)

// Statuses Discover treats as exportable. "snapshotting" is a cache whose automatic backup is
// running: it stays a target and ChooseSource decides (reuse a backup, or wait).
const (
	StatusAvailable    = "available"
	StatusSnapshotting = "snapshotting"
)

// noBackupNodeTypes are node types ElastiCache cannot back up (ElastiCache user guide, "Backup
// constraints": backup and restore are not supported on cache.t1.micro nodes).
var noBackupNodeTypes = map[string]bool{"cache.t1.micro": true}

// Filter selects caches. Its zero value selects every cache.
type Filter struct {
	// IDs are cache ids (replication group id, cache cluster id or serverless cache name),
	// matched exactly but case-insensitively. Empty: every cache.
	IDs []string
	// TagKey, when set, keeps only caches carrying this tag; TagValue, when also set, only those
	// whose tag has this value. Tags cost one ListTagsForResource call per cache, made only when
	// TagKey is set.
	TagKey, TagValue string
	// Engines are the engines to keep (redis, valkey, memcached; case-insensitive). Empty: every
	// engine. Caches of other engines are dropped, not reported as skipped. Node-based Memcached
	// clusters are exportable only when Engines names memcached; otherwise they are kept with
	// Skip SkipMemcached.
	Engines []string
}

// Validate reports a filter that names an unknown engine or a tag value without a key.
func (f Filter) Validate() error {
	for _, e := range f.Engines {
		switch strings.ToLower(e) {
		case EngineRedis, EngineValkey, EngineMemcached:
		default:
			return fmt.Errorf("engine %q is not one of %s, %s, %s", e, EngineRedis, EngineValkey, EngineMemcached)
		}
	}
	if f.TagKey == "" && f.TagValue != "" {
		return fmt.Errorf("tag value %q given without a tag key", f.TagValue)
	}
	return nil
}

// Target is one cache found, exportable or not.
type Target struct {
	// Cache is what the export record stores about the cache. Shards is the number of node
	// groups for Valkey/Redis OSS node-based caches, the number of nodes for Memcached, and 0
	// (unknown) for serverless caches. Serverless Valkey/Redis OSS caches report ClusterMode true
	// (they serve the cluster protocol).
	Cache export.Cache
	// ARN is the cache's ARN as AWS gives it.
	ARN string
	// Status is the cache's status as AWS gives it (available, snapshotting, modifying, ...).
	Status string
	// Skip is "" when the cache can be exported, else a stable reason code (Skip* constants).
	Skip string
	// SkipMessage explains Skip to people.
	SkipMessage string
	// SnapshotFrom is, for node-based caches, the cache cluster id to give CreateSnapshot: a
	// replica where the group has one, else the primary, else the standalone cluster itself.
	// It is empty when the cache is snapshotted as a whole: a cluster-mode-enabled replication
	// group (use CreateSnapshot's ReplicationGroupId) or a serverless cache.
	SnapshotFrom string
	// MaintenanceWindow is the weekly maintenance window as AWS gives it,
	// ddd:hh24:mi-ddd:hh24:mi in UTC (e.g. "sun:05:00-sun:06:00"); empty when AWS reports none
	// (serverless caches). For a replication group it is its member clusters' window.
	MaintenanceWindow string
	// SnapshotWindow is the daily automatic backup window, hh24:mi-hh24:mi in UTC
	// (e.g. "05:00-06:00"). For serverless caches it is AWS's DailySnapshotTime, a start time
	// hh24:mi alone.
	SnapshotWindow string
	// Tags are the cache's tags; fetched, and so non-nil, only when the filter has a TagKey.
	Tags map[string]string
}

// Exportable reports whether t may be exported (it has no Skip reason).
func (t Target) Exportable() bool { return t.Skip == "" }

// API is the part of the ElastiCache client Discover calls. *elasticache.Client satisfies it.
type API interface {
	DescribeReplicationGroups(ctx context.Context, params *elasticache.DescribeReplicationGroupsInput, optFns ...func(*elasticache.Options)) (*elasticache.DescribeReplicationGroupsOutput, error)
	DescribeCacheClusters(ctx context.Context, params *elasticache.DescribeCacheClustersInput, optFns ...func(*elasticache.Options)) (*elasticache.DescribeCacheClustersOutput, error)
	DescribeServerlessCaches(ctx context.Context, params *elasticache.DescribeServerlessCachesInput, optFns ...func(*elasticache.Options)) (*elasticache.DescribeServerlessCachesOutput, error)
	ListTagsForResource(ctx context.Context, params *elasticache.ListTagsForResourceInput, optFns ...func(*elasticache.Options)) (*elasticache.ListTagsForResourceOutput, error)
}

var _ API = (*elasticache.Client)(nil)

// Discover lists every replication group, cache cluster and serverless cache of the account and
// region api talks to, and returns those that match f, ordered by cache id (case-insensitive,
// then kind). Caches that match but cannot be exported are returned with Skip set; caches of
// engines outside f.Engines, or without f's tag, are left out. An id in f.IDs that matches no
// cache is returned as a target with Skip SkipNotFound.
//
// Cache clusters that belong to a replication group are not targets of their own: they give
// the group its engine version, maintenance window and replica choice.
//
// Any Describe or ListTagsForResource error ends the discovery and is returned wrapped with
// what was being done (classify it with awserr.Classify); throttling has already been retried
// by the SDK's retryer. A cache deleted between the listing and its ListTagsForResource call
// (a not-found error) is left out.
func Discover(ctx context.Context, api API, f Filter) ([]Target, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("target filter: %w", err)
	}
	clusters, err := listCacheClusters(ctx, api)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]types.CacheCluster, len(clusters))
	for _, c := range clusters {
		byID[aws.ToString(c.CacheClusterId)] = c
	}

	var found []Target
	groups := elasticache.NewDescribeReplicationGroupsPaginator(api, &elasticache.DescribeReplicationGroupsInput{})
	for groups.HasMorePages() {
		page, err := groups.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe replication groups: %w", err)
		}
		for _, rg := range page.ReplicationGroups {
			found = append(found, fromReplicationGroup(rg, byID))
		}
	}
	for _, c := range clusters {
		if aws.ToString(c.ReplicationGroupId) == "" {
			found = append(found, fromCacheCluster(c))
		}
	}
	serverless := elasticache.NewDescribeServerlessCachesPaginator(api, &elasticache.DescribeServerlessCachesInput{})
	for serverless.HasMorePages() {
		page, err := serverless.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe serverless caches: %w", err)
		}
		for _, sc := range page.ServerlessCaches {
			found = append(found, fromServerlessCache(sc))
		}
	}

	wantID := make(map[string]bool, len(f.IDs))
	for _, id := range f.IDs {
		wantID[strings.ToLower(id)] = true
	}
	seenID := make(map[string]bool, len(f.IDs))
	out := make([]Target, 0, len(found))
	for _, t := range found {
		lid := strings.ToLower(t.Cache.ID)
		if len(wantID) > 0 && !wantID[lid] {
			continue
		}
		seenID[lid] = true
		if !engineWanted(f.Engines, t.Cache.Engine) {
			continue
		}
		if t.Cache.Kind == export.KindMemcached && t.Skip == SkipMemcached && slices.ContainsFunc(f.Engines, func(e string) bool { return strings.EqualFold(e, EngineMemcached) }) {
			// A node-based Memcached cluster is dumped by memcached-export, which must be
			// attached to the cache's VPC: the engines setting opts in.
			t.Skip, t.SkipMessage = "", ""
			t.skipUnlessAvailable()
		}
		if f.TagKey != "" {
			tags, gone, err := listTags(ctx, api, t)
			if err != nil {
				return nil, err
			}
			if gone {
				continue
			}
			t.Tags = tags
			if v, ok := tags[f.TagKey]; !ok || (f.TagValue != "" && v != f.TagValue) {
				continue
			}
		}
		out = append(out, t)
	}
	for _, id := range f.IDs {
		if lid := strings.ToLower(id); !seenID[lid] {
			seenID[lid] = true // report a repeated id once
			out = append(out, Target{
				Cache:       export.Cache{ID: id},
				Skip:        SkipNotFound,
				SkipMessage: fmt.Sprintf("no replication group, cache cluster or serverless cache has the id %q", id),
			})
		}
	}
	slices.SortStableFunc(out, func(a, b Target) int {
		return cmp.Or(
			cmp.Compare(strings.ToLower(a.Cache.ID), strings.ToLower(b.Cache.ID)),
			cmp.Compare(a.Cache.Kind, b.Cache.Kind),
			cmp.Compare(a.Cache.ID, b.Cache.ID),
		)
	})
	return out, nil
}

func listCacheClusters(ctx context.Context, api API) ([]types.CacheCluster, error) {
	var all []types.CacheCluster
	p := elasticache.NewDescribeCacheClustersPaginator(api, &elasticache.DescribeCacheClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe cache clusters: %w", err)
		}
		all = append(all, page.CacheClusters...)
	}
	return all, nil
}

// listTags returns the cache's tags; gone is true when the cache no longer exists.
func listTags(ctx context.Context, api API, t Target) (tags map[string]string, gone bool, err error) {
	if t.ARN == "" {
		return nil, false, fmt.Errorf("list tags for %s %s: AWS reported no ARN", t.Cache.Kind, t.Cache.ID)
	}
	out, err := api.ListTagsForResource(ctx, &elasticache.ListTagsForResourceInput{ResourceName: aws.String(t.ARN)})
	if err != nil {
		if awserr.Classify(err) == awserr.NotFound {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("list tags for %s: %w", t.ARN, err)
	}
	tags = make(map[string]string, len(out.TagList))
	for _, tag := range out.TagList {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags, false, nil
}

func engineWanted(engines []string, engine string) bool {
	if len(engines) == 0 {
		return true
	}
	for _, e := range engines {
		if strings.EqualFold(e, engine) {
			return true
		}
	}
	return false
}

func fromReplicationGroup(rg types.ReplicationGroup, clusters map[string]types.CacheCluster) Target {
	id := aws.ToString(rg.ReplicationGroupId)
	// A replication group reports neither engine version nor maintenance window: its member
	// clusters do (they share them).
	var member types.CacheCluster
	for _, m := range rg.MemberClusters {
		if c, ok := clusters[m]; ok {
			member = c
			if aws.ToString(c.PreferredMaintenanceWindow) != "" {
				break
			}
		}
	}
	engine := strings.ToLower(aws.ToString(rg.Engine))
	if engine == "" {
		engine = strings.ToLower(aws.ToString(member.Engine))
	}
	if engine == "" {
		engine = EngineRedis // replication groups predate Valkey; older responses omit Engine
	}
	clusterMode := aws.ToBool(rg.ClusterEnabled) || rg.ClusterMode == types.ClusterModeEnabled
	t := Target{
		Cache: export.Cache{
			ID:            id,
			Kind:          export.KindReplicationGroup,
			Engine:        engine,
			EngineVersion: aws.ToString(member.EngineVersion),
			ClusterMode:   clusterMode,
			Shards:        len(rg.NodeGroups),
		},
		ARN:               aws.ToString(rg.ARN),
		Status:            aws.ToString(rg.Status),
		MaintenanceWindow: aws.ToString(member.PreferredMaintenanceWindow),
		SnapshotWindow:    aws.ToString(rg.SnapshotWindow),
	}
	if !clusterMode {
		t.SnapshotFrom = snapshotNode(rg, clusters)
	}
	switch {
	case noBackupNodeTypes[aws.ToString(rg.CacheNodeType)]:
		t.skip(SkipNoBackupSupport, fmt.Sprintf("node type %s does not support backups", aws.ToString(rg.CacheNodeType)))
	case rg.DataTiering == types.DataTieringStatusEnabled:
		t.skip(SkipDataTiering, "AWS cannot export backups of clusters that use data tiering")
	default:
		t.skipUnlessAvailable()
	}
	return t
}

// snapshotNode picks the cache cluster to snapshot in a cluster-mode-disabled group: a replica
// of the first node group (an available one first), so the primary serving writes is spared;
// else the primary; else "" (let ElastiCache choose from the group).
func snapshotNode(rg types.ReplicationGroup, clusters map[string]types.CacheCluster) string {
	if len(rg.NodeGroups) == 0 {
		return ""
	}
	var replica, availableReplica, primary string
	for _, m := range rg.NodeGroups[0].NodeGroupMembers {
		id := aws.ToString(m.CacheClusterId)
		if id == "" {
			continue
		}
		switch strings.ToLower(aws.ToString(m.CurrentRole)) {
		case "replica":
			if replica == "" {
				replica = id
			}
			if c, ok := clusters[id]; ok && availableReplica == "" && aws.ToString(c.CacheClusterStatus) == StatusAvailable {
				availableReplica = id
			}
		case "primary":
			if primary == "" {
				primary = id
			}
		}
	}
	return cmp.Or(availableReplica, replica, primary)
}

func fromCacheCluster(c types.CacheCluster) Target {
	id := aws.ToString(c.CacheClusterId)
	engine := strings.ToLower(aws.ToString(c.Engine))
	t := Target{
		Cache: export.Cache{
			ID:            id,
			Kind:          export.KindCacheCluster,
			Engine:        engine,
			EngineVersion: aws.ToString(c.EngineVersion),
			Shards:        1,
		},
		ARN:               aws.ToString(c.ARN),
		Status:            aws.ToString(c.CacheClusterStatus),
		MaintenanceWindow: aws.ToString(c.PreferredMaintenanceWindow),
		SnapshotWindow:    aws.ToString(c.SnapshotWindow),
	}
	switch {
	case engine == EngineMemcached:
		t.Cache.Kind = export.KindMemcached
		t.Cache.Shards = int(aws.ToInt32(c.NumCacheNodes))
		t.skip(SkipMemcached, "AWS cannot export Memcached; cacheport's own Memcached dump is not enabled yet")
	case noBackupNodeTypes[aws.ToString(c.CacheNodeType)]:
		t.skip(SkipNoBackupSupport, fmt.Sprintf("node type %s does not support backups", aws.ToString(c.CacheNodeType)))
	default:
		t.SnapshotFrom = id
		t.skipUnlessAvailable()
	}
	return t
}

func fromServerlessCache(sc types.ServerlessCache) Target {
	engine := strings.ToLower(aws.ToString(sc.Engine))
	t := Target{
		Cache: export.Cache{
			ID:            aws.ToString(sc.ServerlessCacheName),
			Kind:          export.KindServerless,
			Engine:        engine,
			EngineVersion: cmp.Or(aws.ToString(sc.FullEngineVersion), aws.ToString(sc.MajorEngineVersion)),
			ClusterMode:   engine != EngineMemcached,
		},
		ARN:            aws.ToString(sc.ARN),
		Status:         aws.ToString(sc.Status),
		SnapshotWindow: aws.ToString(sc.DailySnapshotTime),
	}
	if engine == EngineMemcached {
		// AWS-FACTS.md: export of serverless Memcached snapshots is unconfirmed (the SDK says
		// Valkey and Redis OSS only).
		t.skip(SkipMemcached, "exporting serverless Memcached snapshots is not supported by cacheport (AWS documents export for Valkey and Redis OSS)")
		return t
	}
	t.skipUnlessAvailable()
	return t
}

func (t *Target) skip(code, msg string) { t.Skip, t.SkipMessage = code, msg }

func (t *Target) skipUnlessAvailable() {
	switch t.Status {
	case StatusAvailable, StatusSnapshotting:
		return
	}
	t.skip(SkipNotAvailable, fmt.Sprintf("cache status is %q, not available: the next window tries again", t.Status))
}
