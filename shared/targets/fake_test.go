package targets

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/elasticache/types"
)

// fakeEC is a hand-written ElastiCache fake. Each Describe call serves pages in order: the
// first call must come without a marker, each next one with the marker the previous page
// returned ("page-N"); anything else is an error, so a test fails when pagination is skipped
// or a marker is dropped. errAt injects an error for an operation at a page (0-based).
type fakeEC struct {
	mu sync.Mutex

	groups     [][]types.ReplicationGroup
	clusters   [][]types.CacheCluster
	serverless [][]types.ServerlessCache
	snapshots  [][]types.Snapshot
	sSnapshots [][]types.ServerlessCacheSnapshot
	tags       map[string]map[string]string // by ARN; a missing ARN is CacheClusterNotFound
	tagErr     map[string]error             // by ARN

	errAt map[string]pageErr

	calls         map[string]int
	tagCalls      []string
	snapshotInput []*elasticache.DescribeSnapshotsInput
	sSnapInput    []*elasticache.DescribeServerlessCacheSnapshotsInput
}

type pageErr struct {
	page int
	err  error
}

func (f *fakeEC) count(op string) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
}

// page returns the index of the page a marker asks for, the marker of the next page, and an
// error for a marker this fake did not hand out or an injected error.
func (f *fakeEC) page(op string, marker *string, pages int) (int, *string, error) {
	i := 0
	if marker != nil {
		rest, ok := strings.CutPrefix(aws.ToString(marker), "page-")
		n, err := strconv.Atoi(rest)
		if !ok || err != nil || n <= 0 || n >= pages || rest != strconv.Itoa(n) {
			return 0, nil, fmt.Errorf("fake %s: unexpected marker %q", op, aws.ToString(marker))
		}
		i = n
	}
	if e, ok := f.errAt[op]; ok && e.page == i {
		return 0, nil, e.err
	}
	var next *string
	if i+1 < pages {
		next = aws.String("page-" + strconv.Itoa(i+1))
	}
	return i, next, nil
}

func (f *fakeEC) DescribeReplicationGroups(_ context.Context, in *elasticache.DescribeReplicationGroupsInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeReplicationGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeReplicationGroups")
	i, next, err := f.page("DescribeReplicationGroups", in.Marker, max(len(f.groups), 1))
	if err != nil {
		return nil, err
	}
	out := &elasticache.DescribeReplicationGroupsOutput{Marker: next}
	if i < len(f.groups) {
		out.ReplicationGroups = f.groups[i]
	}
	return out, nil
}

func (f *fakeEC) DescribeCacheClusters(_ context.Context, in *elasticache.DescribeCacheClustersInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeCacheClustersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeCacheClusters")
	i, next, err := f.page("DescribeCacheClusters", in.Marker, max(len(f.clusters), 1))
	if err != nil {
		return nil, err
	}
	out := &elasticache.DescribeCacheClustersOutput{Marker: next}
	if i < len(f.clusters) {
		out.CacheClusters = f.clusters[i]
	}
	return out, nil
}

func (f *fakeEC) DescribeServerlessCaches(_ context.Context, in *elasticache.DescribeServerlessCachesInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeServerlessCachesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeServerlessCaches")
	i, next, err := f.page("DescribeServerlessCaches", in.NextToken, max(len(f.serverless), 1))
	if err != nil {
		return nil, err
	}
	out := &elasticache.DescribeServerlessCachesOutput{NextToken: next}
	if i < len(f.serverless) {
		out.ServerlessCaches = f.serverless[i]
	}
	return out, nil
}

func (f *fakeEC) ListTagsForResource(_ context.Context, in *elasticache.ListTagsForResourceInput, _ ...func(*elasticache.Options)) (*elasticache.ListTagsForResourceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("ListTagsForResource")
	arn := aws.ToString(in.ResourceName)
	f.tagCalls = append(f.tagCalls, arn)
	if err := f.tagErr[arn]; err != nil {
		return nil, err
	}
	tags, ok := f.tags[arn]
	if !ok {
		return nil, &types.CacheClusterNotFoundFault{Message: aws.String("not found: " + arn)}
	}
	out := &elasticache.ListTagsForResourceOutput{}
	for k, v := range tags {
		out.TagList = append(out.TagList, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out, nil
}

func (f *fakeEC) DescribeSnapshots(_ context.Context, in *elasticache.DescribeSnapshotsInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeSnapshotsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeSnapshots")
	f.snapshotInput = append(f.snapshotInput, in)
	i, next, err := f.page("DescribeSnapshots", in.Marker, max(len(f.snapshots), 1))
	if err != nil {
		return nil, err
	}
	out := &elasticache.DescribeSnapshotsOutput{Marker: next}
	if i < len(f.snapshots) {
		out.Snapshots = f.snapshots[i]
	}
	return out, nil
}

func (f *fakeEC) DescribeServerlessCacheSnapshots(_ context.Context, in *elasticache.DescribeServerlessCacheSnapshotsInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeServerlessCacheSnapshotsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DescribeServerlessCacheSnapshots")
	f.sSnapInput = append(f.sSnapInput, in)
	i, next, err := f.page("DescribeServerlessCacheSnapshots", in.NextToken, max(len(f.sSnapshots), 1))
	if err != nil {
		return nil, err
	}
	out := &elasticache.DescribeServerlessCacheSnapshotsOutput{NextToken: next}
	if i < len(f.sSnapshots) {
		out.ServerlessCacheSnapshots = f.sSnapshots[i]
	}
	return out, nil
}

var _ API = (*fakeEC)(nil)
