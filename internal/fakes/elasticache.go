package fakes

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/smithy-go"
)

// ElastiCache is a small in-memory ElastiCache control plane: caches are set by the test,
// snapshots are made by CreateSnapshot in "creating" (with an ARN, and their tags kept under
// both the name and the ARN) and finished by the test (Finish), exports are recorded, and
// DeleteSnapshot/DeleteServerlessCacheSnapshot refuse a snapshot in a transitional state as AWS
// does. Describe calls return one item a page so callers must paginate. Errors can be queued
// per operation with Fail. Safe for concurrent use.
type ElastiCache struct {
	mu                  sync.Mutex
	ReplicationGroups   []ectypes.ReplicationGroup
	CacheClusters       []ectypes.CacheCluster
	ServerlessCaches    []ectypes.ServerlessCache
	Snapshots           []ectypes.Snapshot
	ServerlessSnapshots []ectypes.ServerlessCacheSnapshot
	Tags                map[string]map[string]string // by ARN or snapshot name
	Copies              []elasticache.CopySnapshotInput
	Deleted             []string // names of the snapshots deleted, in order
	ServerlessExports   []elasticache.ExportServerlessCacheSnapshotInput
	Calls               []string
	errs                map[string][]error
	copyTargets         map[string]bool
	// Now is the clock used for snapshot times (time.Now when nil).
	Now func() time.Time
}

// Fail queues errors that the next calls of op return, one per call.
func (f *ElastiCache) Fail(op string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.errs == nil {
		f.errs = map[string][]error{}
	}
	f.errs[op] = append(f.errs[op], errs...)
}

// Throttle is the error ElastiCache returns when it rate-limits a caller.
func Throttle() error {
	return &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded", Fault: smithy.FaultClient}
}

// CallCount counts the calls of op.
func (f *ElastiCache) CallCount(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.Calls {
		if c == op {
			n++
		}
	}
	return n
}

// call records op and pops a queued error; it must be called with f.mu held.
func (f *ElastiCache) call(op string) error {
	f.Calls = append(f.Calls, op)
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]
		return q[0]
	}
	return nil
}

func (f *ElastiCache) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// page returns items[i] for the marker and the next marker.
func page[T any](items []T, marker *string) ([]T, *string) {
	i := 0
	if marker != nil {
		fmt.Sscan(*marker, &i)
	}
	if i >= len(items) {
		return nil, nil
	}
	var next *string
	if i+1 < len(items) {
		next = aws.String(fmt.Sprint(i + 1))
	}
	return items[i : i+1], next
}

// DescribeReplicationGroups lists replication groups (or the one named), one a page.
func (f *ElastiCache) DescribeReplicationGroups(_ context.Context, in *elasticache.DescribeReplicationGroupsInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeReplicationGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeReplicationGroups"); err != nil {
		return nil, err
	}
	all := f.ReplicationGroups
	if in.ReplicationGroupId != nil {
		all = nil
		for _, g := range f.ReplicationGroups {
			if aws.ToString(g.ReplicationGroupId) == *in.ReplicationGroupId {
				all = append(all, g)
			}
		}
		if len(all) == 0 {
			return nil, &ectypes.ReplicationGroupNotFoundFault{Message: aws.String("Replication group " + *in.ReplicationGroupId + " not found.")}
		}
	}
	items, next := page(all, in.Marker)
	return &elasticache.DescribeReplicationGroupsOutput{ReplicationGroups: items, Marker: next}, nil
}

// DescribeCacheClusters lists cache clusters, one a page.
func (f *ElastiCache) DescribeCacheClusters(_ context.Context, in *elasticache.DescribeCacheClustersInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeCacheClustersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeCacheClusters"); err != nil {
		return nil, err
	}
	all := f.CacheClusters
	if in.CacheClusterId != nil {
		all = nil
		for _, c := range f.CacheClusters {
			if aws.ToString(c.CacheClusterId) == *in.CacheClusterId {
				all = append(all, c)
			}
		}
		if len(all) == 0 {
			return nil, &ectypes.CacheClusterNotFoundFault{Message: aws.String("CacheCluster not found: " + *in.CacheClusterId)}
		}
	}
	items, next := page(all, in.Marker)
	return &elasticache.DescribeCacheClustersOutput{CacheClusters: items, Marker: next}, nil
}

// DescribeServerlessCaches lists serverless caches, one a page.
func (f *ElastiCache) DescribeServerlessCaches(_ context.Context, in *elasticache.DescribeServerlessCachesInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeServerlessCachesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeServerlessCaches"); err != nil {
		return nil, err
	}
	all := f.ServerlessCaches
	if in.ServerlessCacheName != nil {
		all = nil
		for _, c := range f.ServerlessCaches {
			if aws.ToString(c.ServerlessCacheName) == *in.ServerlessCacheName {
				all = append(all, c)
			}
		}
		if len(all) == 0 {
			return nil, &ectypes.ServerlessCacheNotFoundFault{Message: aws.String("Serverless cache " + *in.ServerlessCacheName + " not found.")}
		}
	}
	items, next := page(all, in.NextToken)
	return &elasticache.DescribeServerlessCachesOutput{ServerlessCaches: items, NextToken: next}, nil
}

// ListTagsForResource returns the tags set in Tags for the ARN.
func (f *ElastiCache) ListTagsForResource(_ context.Context, in *elasticache.ListTagsForResourceInput, _ ...func(*elasticache.Options)) (*elasticache.ListTagsForResourceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListTagsForResource"); err != nil {
		return nil, err
	}
	out := &elasticache.ListTagsForResourceOutput{}
	for k, v := range f.Tags[aws.ToString(in.ResourceName)] {
		out.TagList = append(out.TagList, ectypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out, nil
}

// DescribeSnapshots lists snapshots filtered by name, replication group or cluster, one a page.
func (f *ElastiCache) DescribeSnapshots(_ context.Context, in *elasticache.DescribeSnapshotsInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeSnapshotsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeSnapshots"); err != nil {
		return nil, err
	}
	var match []ectypes.Snapshot
	for _, s := range f.Snapshots {
		if (in.SnapshotName == nil || aws.ToString(s.SnapshotName) == *in.SnapshotName) &&
			(in.ReplicationGroupId == nil || aws.ToString(s.ReplicationGroupId) == *in.ReplicationGroupId) &&
			(in.CacheClusterId == nil || aws.ToString(s.CacheClusterId) == *in.CacheClusterId) &&
			(in.SnapshotSource == nil || aws.ToString(s.SnapshotSource) == *in.SnapshotSource) {
			match = append(match, s)
		}
	}
	if in.SnapshotName != nil && len(match) == 0 {
		return nil, &ectypes.SnapshotNotFoundFault{Message: aws.String("Snapshot " + *in.SnapshotName + " not found.")}
	}
	items, next := page(match, in.Marker)
	return &elasticache.DescribeSnapshotsOutput{Snapshots: items, Marker: next}, nil
}

// DescribeServerlessCacheSnapshots lists serverless snapshots by name or cache, one a page.
func (f *ElastiCache) DescribeServerlessCacheSnapshots(_ context.Context, in *elasticache.DescribeServerlessCacheSnapshotsInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeServerlessCacheSnapshotsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeServerlessCacheSnapshots"); err != nil {
		return nil, err
	}
	var match []ectypes.ServerlessCacheSnapshot
	for _, s := range f.ServerlessSnapshots {
		if (in.ServerlessCacheSnapshotName == nil || aws.ToString(s.ServerlessCacheSnapshotName) == *in.ServerlessCacheSnapshotName) &&
			(in.ServerlessCacheName == nil || (s.ServerlessCacheConfiguration != nil && aws.ToString(s.ServerlessCacheConfiguration.ServerlessCacheName) == *in.ServerlessCacheName)) {
			match = append(match, s)
		}
	}
	if in.ServerlessCacheSnapshotName != nil && len(match) == 0 {
		return nil, &ectypes.ServerlessCacheSnapshotNotFoundFault{Message: aws.String("not found")}
	}
	items, next := page(match, in.NextToken)
	return &elasticache.DescribeServerlessCacheSnapshotsOutput{ServerlessCacheSnapshots: items, NextToken: next}, nil
}

// CreateSnapshot adds a manual snapshot in "creating", with its tags.
func (f *ElastiCache) CreateSnapshot(_ context.Context, in *elasticache.CreateSnapshotInput, _ ...func(*elasticache.Options)) (*elasticache.CreateSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateSnapshot"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.SnapshotName)
	for _, s := range f.Snapshots {
		if aws.ToString(s.SnapshotName) == name {
			return nil, &ectypes.SnapshotAlreadyExistsFault{Message: aws.String("Snapshot " + name + " already exists.")}
		}
	}
	s := ectypes.Snapshot{SnapshotName: in.SnapshotName, SnapshotSource: aws.String("manual"), SnapshotStatus: aws.String("creating"),
		ReplicationGroupId: in.ReplicationGroupId, CacheClusterId: in.CacheClusterId, NumNodeGroups: aws.Int32(1), ARN: aws.String(SnapshotARN(name))}
	for _, rg := range f.ReplicationGroups {
		if aws.ToString(rg.ReplicationGroupId) == aws.ToString(in.ReplicationGroupId) {
			s.NumNodeGroups = aws.Int32(int32(len(rg.NodeGroups)))
		}
	}
	f.Snapshots = append(f.Snapshots, s)
	f.setTags(name, in.Tags)
	f.Tags[SnapshotARN(name)] = f.Tags[name]
	return &elasticache.CreateSnapshotOutput{Snapshot: &s}, nil
}

// CreateServerlessCacheSnapshot adds a serverless snapshot in "creating", with its tags.
func (f *ElastiCache) CreateServerlessCacheSnapshot(_ context.Context, in *elasticache.CreateServerlessCacheSnapshotInput, _ ...func(*elasticache.Options)) (*elasticache.CreateServerlessCacheSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateServerlessCacheSnapshot"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.ServerlessCacheSnapshotName)
	for _, s := range f.ServerlessSnapshots {
		if aws.ToString(s.ServerlessCacheSnapshotName) == name {
			return nil, &ectypes.ServerlessCacheSnapshotAlreadyExistsFault{Message: aws.String("already exists")}
		}
	}
	s := ectypes.ServerlessCacheSnapshot{ServerlessCacheSnapshotName: in.ServerlessCacheSnapshotName, Status: aws.String("creating"), SnapshotType: aws.String("manual"),
		CreateTime: aws.Time(f.now()), ServerlessCacheConfiguration: &ectypes.ServerlessCacheConfiguration{ServerlessCacheName: in.ServerlessCacheName},
		ARN: aws.String(ServerlessSnapshotARN(name))}
	f.ServerlessSnapshots = append(f.ServerlessSnapshots, s)
	f.setTags(name, in.Tags)
	f.Tags[ServerlessSnapshotARN(name)] = f.Tags[name]
	return &elasticache.CreateServerlessCacheSnapshotOutput{ServerlessCacheSnapshot: &s}, nil
}

func (f *ElastiCache) setTags(name string, tags []ectypes.Tag) {
	if f.Tags == nil {
		f.Tags = map[string]map[string]string{}
	}
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	f.Tags[name] = m
}

// Finish sets the status of the snapshot (node-based or serverless) named name.
func (f *ElastiCache) Finish(name, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.Snapshots {
		if aws.ToString(s.SnapshotName) == name {
			f.Snapshots[i].SnapshotStatus = aws.String(status)
			f.Snapshots[i].NodeSnapshots = []ectypes.NodeSnapshot{{SnapshotCreateTime: aws.Time(f.now())}}
		}
	}
	for i, s := range f.ServerlessSnapshots {
		if aws.ToString(s.ServerlessCacheSnapshotName) == name {
			f.ServerlessSnapshots[i].Status = aws.String(status)
		}
	}
}

// CopySnapshot records an export; a target name used before is refused as AWS refuses it.
func (f *ElastiCache) CopySnapshot(_ context.Context, in *elasticache.CopySnapshotInput, _ ...func(*elasticache.Options)) (*elasticache.CopySnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CopySnapshot"); err != nil {
		return nil, err
	}
	target := strings.ToLower(aws.ToString(in.TargetSnapshotName))
	if f.copyTargets[target] {
		return nil, &ectypes.InvalidParameterValueException{Message: aws.String(fmt.Sprintf("The S3 bucket %s already contains an object with key %s-0001.rdb.", aws.ToString(in.TargetBucket), target))}
	}
	if f.copyTargets == nil {
		f.copyTargets = map[string]bool{}
	}
	f.copyTargets[target] = true
	f.Copies = append(f.Copies, *in)
	return &elasticache.CopySnapshotOutput{}, nil
}

// ExportServerlessCacheSnapshot records a serverless export.
func (f *ElastiCache) ExportServerlessCacheSnapshot(_ context.Context, in *elasticache.ExportServerlessCacheSnapshotInput, _ ...func(*elasticache.Options)) (*elasticache.ExportServerlessCacheSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ExportServerlessCacheSnapshot"); err != nil {
		return nil, err
	}
	f.ServerlessExports = append(f.ServerlessExports, *in)
	return &elasticache.ExportServerlessCacheSnapshotOutput{}, nil
}

// SnapshotARN is the ARN the fake gives a node-based snapshot.
func SnapshotARN(name string) string {
	return "arn:aws:elasticache:us-east-1:111122223333:snapshot:" + name
}

// ServerlessSnapshotARN is the ARN the fake gives a serverless snapshot.
func ServerlessSnapshotARN(name string) string {
	return "arn:aws:elasticache:us-east-1:111122223333:serverlesscachesnapshot:" + name
}

// SetTags sets the tags of the resource named key (an ARN or a snapshot name), replacing any.
func (f *ElastiCache) SetTags(key string, tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Tags == nil {
		f.Tags = map[string]map[string]string{}
	}
	f.Tags[key] = tags
}

// transitional reports whether a snapshot in status cannot be deleted yet.
func transitional(status string) bool {
	switch strings.ToLower(status) {
	case "creating", "copying", "exporting", "restoring", "deleting":
		return true
	}
	return false
}

// DeleteSnapshot deletes a node-based snapshot: SnapshotNotFoundFault when there is none,
// InvalidSnapshotStateFault while it is creating, copying, exporting, restoring or deleting.
func (f *ElastiCache) DeleteSnapshot(_ context.Context, in *elasticache.DeleteSnapshotInput, _ ...func(*elasticache.Options)) (*elasticache.DeleteSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeleteSnapshot"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.SnapshotName)
	for i, s := range f.Snapshots {
		if aws.ToString(s.SnapshotName) != name {
			continue
		}
		if transitional(aws.ToString(s.SnapshotStatus)) {
			return nil, &ectypes.InvalidSnapshotStateFault{Message: aws.String("Snapshot " + name + " is " + aws.ToString(s.SnapshotStatus) + "; it cannot be deleted.")}
		}
		f.Snapshots = append(f.Snapshots[:i:i], f.Snapshots[i+1:]...)
		f.Deleted = append(f.Deleted, name)
		s.SnapshotStatus = aws.String("deleting")
		return &elasticache.DeleteSnapshotOutput{Snapshot: &s}, nil
	}
	return nil, &ectypes.SnapshotNotFoundFault{Message: aws.String("Snapshot " + name + " not found.")}
}

// DeleteServerlessCacheSnapshot deletes a serverless snapshot: not found when there is none,
// InvalidServerlessCacheSnapshotStateFault while it is in a transitional state.
func (f *ElastiCache) DeleteServerlessCacheSnapshot(_ context.Context, in *elasticache.DeleteServerlessCacheSnapshotInput, _ ...func(*elasticache.Options)) (*elasticache.DeleteServerlessCacheSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeleteServerlessCacheSnapshot"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.ServerlessCacheSnapshotName)
	for i, s := range f.ServerlessSnapshots {
		if aws.ToString(s.ServerlessCacheSnapshotName) != name {
			continue
		}
		if transitional(aws.ToString(s.Status)) {
			return nil, &ectypes.InvalidServerlessCacheSnapshotStateFault{Message: aws.String("Snapshot " + name + " is " + aws.ToString(s.Status) + "; it cannot be deleted.")}
		}
		f.ServerlessSnapshots = append(f.ServerlessSnapshots[:i:i], f.ServerlessSnapshots[i+1:]...)
		f.Deleted = append(f.Deleted, name)
		s.Status = aws.String("deleting")
		return &elasticache.DeleteServerlessCacheSnapshotOutput{ServerlessCacheSnapshot: &s}, nil
	}
	return nil, &ectypes.ServerlessCacheSnapshotNotFoundFault{Message: aws.String("Snapshot " + name + " not found.")}
}
