package targets

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"

	"github.com/cacheport/cacheport/shared/export"
)

// Default manual snapshot quotas per cache per 24 hours (AWS-FACTS.md, "Limits").
const (
	DefaultQuota           = 20
	DefaultServerlessQuota = 24
)

// Wait reasons: the stable codes in Choice.Wait.
const (
	// WaitMaintenance: now is inside the cache's weekly maintenance window.
	WaitMaintenance = "maintenance-window"
	// WaitBackupRunning: a backup of the cache is being made (the cache is snapshotting, or one
	// of its snapshots is creating); ElastiCache allows no other operation meanwhile.
	WaitBackupRunning = "backup-running"
	// WaitQuota: the cache already has as many manual snapshots from the last 24 hours as the
	// quota allows.
	WaitQuota = "snapshot-quota"
)

// Snapshot states and sources as ElastiCache reports them.
const (
	snapshotAvailable = "available"
	snapshotCreating  = "creating"
	sourceAutomated   = "automated"
	quotaPeriod       = 24 * time.Hour
)

// Choice is the source chosen for one export. Exactly one of these holds: Wait is set (do
// nothing now); Automated (export the automatic backup Snapshot as is); Create (make the
// snapshot Snapshot, then export it); Existing (Snapshot, the name asked for, exists already:
// an earlier run made it, so wait for it and export it rather than make another).
type Choice struct {
	// Snapshot is the automatic backup to export, or the snapshot to create or already made;
	// empty when Wait is set.
	Snapshot string
	// Automated: an automatic backup reused as is (no load on the cache).
	Automated bool
	// Create: a new manual snapshot named Snapshot must be made (CreateSnapshot, or
	// CreateServerlessCacheSnapshot for serverless caches).
	Create bool
	// Existing: the snapshot named SourceOptions.NewSnapshotName exists already (a run that
	// crashed between CreateSnapshot and the record update made it): go on with it. Its state
	// is not checked here; it may still be creating, or have failed.
	Existing bool
	// Wait, when not empty, says not to snapshot now, and why (Wait* constants).
	Wait string
	// WaitMessage explains Wait to people.
	WaitMessage string
}

// SourceOptions tune ChooseSource.
type SourceOptions struct {
	// MaxBackupAge is the age below which an automatic backup is exported as is; 0 never reuses
	// one.
	MaxBackupAge time.Duration
	// Quota is the number of manual snapshots per cache per 24 hours cacheport counts against
	// before making another; 0 means DefaultQuota (node-based) or DefaultServerlessQuota.
	Quota int
	// NewSnapshotName is the name of the snapshot to make (export.SnapshotName); required.
	NewSnapshotName string
}

// SnapshotAPI is the part of the ElastiCache client ChooseSource calls. *elasticache.Client
// satisfies it.
type SnapshotAPI interface {
	DescribeSnapshots(ctx context.Context, params *elasticache.DescribeSnapshotsInput, optFns ...func(*elasticache.Options)) (*elasticache.DescribeSnapshotsOutput, error)
	DescribeServerlessCacheSnapshots(ctx context.Context, params *elasticache.DescribeServerlessCacheSnapshotsInput, optFns ...func(*elasticache.Options)) (*elasticache.DescribeServerlessCacheSnapshotsOutput, error)
}

var _ SnapshotAPI = (*elasticache.Client)(nil)

// snap is what ChooseSource needs of a node-based or serverless snapshot.
type snap struct {
	name      string
	automated bool
	status    string
	created   time.Time // zero when AWS has not said yet (a snapshot still creating)
}

// ChooseSource chooses the snapshot an export of t copies, at time now. In order:
//
//  1. a snapshot named opts.NewSnapshotName exists: Existing (an earlier run made it);
//  2. the newest automatic backup that is available and no older than opts.MaxBackupAge:
//     Automated (for node-based caches its time is the oldest SnapshotCreateTime of its node
//     snapshots; for serverless ones, CreateTime);
//  3. otherwise a new snapshot is needed, unless a backup is running (t.Status snapshotting,
//     or a snapshot of the cache in "creating"), now is inside t.MaintenanceWindow, or the
//     cache's manual snapshots made in the last 24 hours (those still listed; one still
//     creating counts) reach the quota: then Wait, with the reason;
//  4. else Create, with opts.NewSnapshotName.
//
// t must be exportable and not Memcached. Errors are a bad target or options, a maintenance
// window that does not parse, and Describe errors wrapped with the cache id.
func ChooseSource(ctx context.Context, api SnapshotAPI, t Target, now time.Time, opts SourceOptions) (Choice, error) {
	if !t.Exportable() {
		return Choice{}, fmt.Errorf("choose source for %s: not exportable (%s)", t.Cache.ID, t.Skip)
	}
	if opts.NewSnapshotName == "" {
		return Choice{}, fmt.Errorf("choose source for %s: no name for a new snapshot", t.Cache.ID)
	}
	if opts.Quota < 0 || opts.MaxBackupAge < 0 {
		return Choice{}, fmt.Errorf("choose source for %s: quota %d and max backup age %s must not be negative", t.Cache.ID, opts.Quota, opts.MaxBackupAge)
	}
	var (
		snaps []snap
		err   error
		quota = opts.Quota
	)
	switch t.Cache.Kind {
	case export.KindReplicationGroup, export.KindCacheCluster:
		snaps, err = nodeSnapshots(ctx, api, t)
		if quota == 0 {
			quota = DefaultQuota
		}
	case export.KindServerless:
		snaps, err = serverlessSnapshots(ctx, api, t)
		if quota == 0 {
			quota = DefaultServerlessQuota
		}
	default:
		return Choice{}, fmt.Errorf("choose source for %s: kind %q has no snapshot to export", t.Cache.ID, t.Cache.Kind)
	}
	if err != nil {
		return Choice{}, err
	}
	now = now.UTC()

	for _, s := range snaps {
		if strings.EqualFold(s.name, opts.NewSnapshotName) {
			return Choice{Snapshot: s.name, Existing: true}, nil
		}
	}

	if opts.MaxBackupAge > 0 {
		var best *snap
		for i, s := range snaps {
			if !s.automated || s.status != snapshotAvailable || s.created.IsZero() || now.Sub(s.created) > opts.MaxBackupAge {
				continue
			}
			if best == nil || s.created.After(best.created) {
				best = &snaps[i]
			}
		}
		if best != nil {
			return Choice{Snapshot: best.name, Automated: true}, nil
		}
	}

	if t.Status == StatusSnapshotting {
		return wait(WaitBackupRunning, "%s is snapshotting (an automatic backup is running): the next run takes the snapshot", t.Cache.ID), nil
	}
	for _, s := range snaps {
		if s.status == snapshotCreating {
			return wait(WaitBackupRunning, "snapshot %s of %s is still being created: the next run takes the snapshot", s.name, t.Cache.ID), nil
		}
	}

	if t.MaintenanceWindow != "" {
		w, err := parseWeeklyWindow(t.MaintenanceWindow)
		if err != nil {
			return Choice{}, fmt.Errorf("choose source for %s: %w", t.Cache.ID, err)
		}
		if w.contains(now) {
			return wait(WaitMaintenance, "%s is in its maintenance window (%s UTC): the snapshot waits until it ends", t.Cache.ID, t.MaintenanceWindow), nil
		}
	}

	recent := 0
	for _, s := range snaps {
		if !s.automated && (s.created.IsZero() || now.Sub(s.created) < quotaPeriod) {
			recent++
		}
	}
	if recent >= quota {
		return wait(WaitQuota, "%s has %d manual snapshots from the last 24 h (quota %d): the snapshot waits until one ages out", t.Cache.ID, recent, quota), nil
	}

	return Choice{Snapshot: opts.NewSnapshotName, Create: true}, nil
}

func wait(code, format string, args ...any) Choice {
	return Choice{Wait: code, WaitMessage: fmt.Sprintf(format, args...)}
}

// nodeSnapshots lists the snapshots of a replication group or cache cluster, automatic and
// manual.
func nodeSnapshots(ctx context.Context, api SnapshotAPI, t Target) ([]snap, error) {
	in := &elasticache.DescribeSnapshotsInput{}
	if t.Cache.Kind == export.KindReplicationGroup {
		in.ReplicationGroupId = aws.String(t.Cache.ID)
	} else {
		in.CacheClusterId = aws.String(t.Cache.ID)
	}
	var out []snap
	p := elasticache.NewDescribeSnapshotsPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe snapshots of %s: %w", t.Cache.ID, err)
		}
		for _, s := range page.Snapshots {
			var created time.Time
			// A multi-shard snapshot is as old as its oldest node snapshot.
			for _, n := range s.NodeSnapshots {
				if c := aws.ToTime(n.SnapshotCreateTime); !c.IsZero() && (created.IsZero() || c.Before(created)) {
					created = c
				}
			}
			out = append(out, snap{
				name:      aws.ToString(s.SnapshotName),
				automated: strings.EqualFold(aws.ToString(s.SnapshotSource), sourceAutomated),
				status:    strings.ToLower(aws.ToString(s.SnapshotStatus)),
				created:   created,
			})
		}
	}
	return out, nil
}

// serverlessSnapshots lists the snapshots of a serverless cache, automatic and manual.
func serverlessSnapshots(ctx context.Context, api SnapshotAPI, t Target) ([]snap, error) {
	var out []snap
	p := elasticache.NewDescribeServerlessCacheSnapshotsPaginator(api, &elasticache.DescribeServerlessCacheSnapshotsInput{
		ServerlessCacheName: aws.String(t.Cache.ID),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe serverless cache snapshots of %s: %w", t.Cache.ID, err)
		}
		for _, s := range page.ServerlessCacheSnapshots {
			out = append(out, snap{
				name:      aws.ToString(s.ServerlessCacheSnapshotName),
				automated: strings.EqualFold(aws.ToString(s.SnapshotType), sourceAutomated),
				status:    strings.ToLower(aws.ToString(s.Status)),
				created:   aws.ToTime(s.CreateTime),
			})
		}
	}
	return out, nil
}
