package fakes

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
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

// A versioned bucket keeps what a plain DeleteObject removes; only a delete by version id
// removes data for good, as in S3.
func TestS3Versioning(t *testing.T) {
	ctx := context.Background()
	for _, versioned := range []bool{false, true} {
		f := NewS3()
		f.Versioned = versioned
		put := func(k, v string) {
			if _, err := f.PutObject(ctx, &s3.PutObjectInput{Key: aws.String(k), Body: strings.NewReader(v)}); err != nil {
				t.Fatal(err)
			}
		}
		put("p/a", "1")
		put("p/a", "2")
		put("p/b", "3")
		put("q/c", "4")
		if _, err := f.DeleteObject(ctx, &s3.DeleteObjectInput{Key: aws.String("p/b")}); err != nil {
			t.Fatal(err)
		}
		want := map[bool]int{false: 1, true: 4}[versioned] // a1 a2 b3 marker
		if n := f.VersionCount("p/"); n != want {
			t.Fatalf("versioned=%v: %d versions under p/, want %d", versioned, n, want)
		}
		// List every entry through the markers, then delete each by version id.
		var keys, ids []string
		in := &s3.ListObjectVersionsInput{Prefix: aws.String("p/")}
		for {
			out, err := f.ListObjectVersions(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range out.Versions {
				keys, ids = append(keys, *v.Key), append(ids, *v.VersionId)
			}
			for _, m := range out.DeleteMarkers {
				keys, ids = append(keys, *m.Key), append(ids, *m.VersionId)
			}
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
		}
		if len(keys) != want {
			t.Fatalf("versioned=%v: listed %v, want %d entries", versioned, keys, want)
		}
		if versioned {
			// Deleting the newest version makes the older one current again.
			if _, err := f.DeleteObject(ctx, &s3.DeleteObjectInput{Key: aws.String("p/a"), VersionId: aws.String(ids[0])}); err != nil {
				t.Fatal(err)
			}
			if string(f.Objects["p/a"].Body) != "1" {
				t.Fatalf("after deleting the newest version, p/a = %q, want the older one", f.Objects["p/a"].Body)
			}
		}
		for i := range keys {
			if _, err := f.DeleteObject(ctx, &s3.DeleteObjectInput{Key: aws.String(keys[i]), VersionId: aws.String(ids[i])}); err != nil {
				t.Fatal(err)
			}
		}
		if n := f.VersionCount("p/"); n != 0 || len(f.Keys("p/")) != 0 || len(f.Keys("q/")) != 1 {
			t.Fatalf("versioned=%v: %d versions and keys %v left under p/, q/ %v", versioned, n, f.Keys("p/"), f.Keys("q/"))
		}
	}
}

func TestElastiCacheRefusesToDeleteTransitionalSnapshots(t *testing.T) {
	ctx := context.Background()
	f := &ElastiCache{}
	if _, err := f.CreateSnapshot(ctx, &elasticache.CreateSnapshotInput{SnapshotName: aws.String("s"), ReplicationGroupId: aws.String("g"),
		Tags: []ectypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := f.ListTagsForResource(ctx, &elasticache.ListTagsForResourceInput{ResourceName: f.Snapshots[0].ARN})
	if err != nil || len(tags.TagList) != 1 || *f.Snapshots[0].ARN != SnapshotARN("s") {
		t.Fatalf("tags by ARN: %+v %v", tags, err)
	}
	del := &elasticache.DeleteSnapshotInput{SnapshotName: aws.String("s")}
	if _, err := f.DeleteSnapshot(ctx, del); err == nil {
		t.Fatal("a creating snapshot was deleted")
	}
	f.Finish("s", "available")
	if _, err := f.DeleteSnapshot(ctx, del); err != nil {
		t.Fatal(err)
	}
	if _, err := f.DeleteSnapshot(ctx, del); err == nil || len(f.Deleted) != 1 {
		t.Fatalf("second delete: %v, deleted %v", err, f.Deleted)
	}
	if _, err := f.CreateServerlessCacheSnapshot(ctx, &elasticache.CreateServerlessCacheSnapshotInput{ServerlessCacheSnapshotName: aws.String("z"), ServerlessCacheName: aws.String("c")}); err != nil {
		t.Fatal(err)
	}
	sdel := &elasticache.DeleteServerlessCacheSnapshotInput{ServerlessCacheSnapshotName: aws.String("z")}
	if _, err := f.DeleteServerlessCacheSnapshot(ctx, sdel); err == nil {
		t.Fatal("a creating serverless snapshot was deleted")
	}
	f.Finish("z", "available")
	if _, err := f.DeleteServerlessCacheSnapshot(ctx, sdel); err != nil || len(f.ServerlessSnapshots) != 0 {
		t.Fatalf("%v %v", err, f.ServerlessSnapshots)
	}
}
