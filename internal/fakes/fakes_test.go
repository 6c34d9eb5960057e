package fakes

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The fakes stand in for AWS in many tests: they must refuse what AWS refuses.
func TestS3ConditionalWrites(t *testing.T) {
	ctx := context.Background()
	f := NewS3()
	put := func(in *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
		in.Key, in.Body = aws.String("k"), strings.NewReader("v")
		return f.PutObject(ctx, in)
	}
	out, err := put(&s3.PutObjectInput{IfNoneMatch: aws.String("*")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := put(&s3.PutObjectInput{IfNoneMatch: aws.String("*")}); err == nil {
		t.Fatal("second create succeeded")
	}
	if _, err := put(&s3.PutObjectInput{IfMatch: aws.String(`"stale"`)}); err == nil {
		t.Fatal("update with a stale etag succeeded")
	}
	if _, err := put(&s3.PutObjectInput{IfMatch: out.ETag}); err != nil {
		t.Fatalf("update with the current etag: %v", err)
	}
}

func TestElastiCacheRefusesDuplicatesAndPaginates(t *testing.T) {
	ctx := context.Background()
	f := &ElastiCache{}
	in := &elasticache.CreateSnapshotInput{SnapshotName: aws.String("s"), ReplicationGroupId: aws.String("g")}
	if _, err := f.CreateSnapshot(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := f.CreateSnapshot(ctx, in); err == nil {
		t.Fatal("duplicate snapshot name accepted")
	}
	cp := &elasticache.CopySnapshotInput{SourceSnapshotName: aws.String("s"), TargetSnapshotName: aws.String("T"), TargetBucket: aws.String("b")}
	if _, err := f.CopySnapshot(ctx, cp); err != nil {
		t.Fatal(err)
	}
	cp.TargetSnapshotName = aws.String("t") // stored lower-case: the same target
	if _, err := f.CopySnapshot(ctx, cp); err == nil {
		t.Fatal("an existing target was accepted")
	}
	f.Snapshots = append(f.Snapshots, f.Snapshots[0])
	p := elasticache.NewDescribeSnapshotsPaginator(f, &elasticache.DescribeSnapshotsInput{})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Snapshots)
	}
	if n != 2 || f.CallCount("DescribeSnapshots") != 2 {
		t.Fatalf("%d snapshots in %d calls, want 2 in 2", n, f.CallCount("DescribeSnapshots"))
	}
	f.Fail("DescribeSnapshots", Throttle())
	if _, err := f.DescribeSnapshots(ctx, &elasticache.DescribeSnapshotsInput{}); err == nil {
		t.Fatal("queued error not returned")
	}
}
