package ecsrv

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Snapshot states. AWS documents creating, available, restoring, copying and deleting; what a
// snapshot shows while it is exported is unconfirmed, and the twin says exporting.
const (
	statusCreating  = "creating"
	statusAvailable = "available"
	statusExporting = "exporting"
	statusFailed    = "failed"
	statusDeleting  = "deleting"
)

// snapshot is a node-based or serverless snapshot.
type snapshot struct {
	name       string
	serverless bool
	cache      *cache
	// sourceCluster is the cache cluster the snapshot was taken from (cluster mode disabled and
	// standalone clusters); "" for a whole cluster-mode-enabled group and serverless caches.
	sourceCluster string
	automated     bool
	status        string
	created       time.Time
	readyAt       time.Time
	fail          bool // snapshot-fails: ends failed
	capturing     bool // CreateSnapshot is still reading the data
	captureErr    error
	data          [][]byte // per shard
	tags          []xmlTag
	kms           string
	region        string
	account       string
}

func (sn *snapshot) arn() string {
	kind := "snapshot"
	if sn.serverless {
		kind = "serverlesscachesnapshot"
	}
	return fmt.Sprintf("arn:aws:elasticache:%s:%s:%s:%s", sn.region, sn.account, kind, sn.name)
}

func (sn *snapshot) transitional() bool {
	return sn.status == statusCreating || sn.status == statusExporting || sn.status == statusDeleting
}

func (sn *snapshot) size() int64 {
	var n int64
	for _, d := range sn.data {
		n += int64(len(d))
	}
	return n
}

// exportJob is one export to S3 in flight.
type exportJob struct {
	snap    *snapshot
	bucket  string
	target  string
	started time.Time
	objects []*pendingObject
	stuck   bool // export-stuck: never finishes
	midway  bool // export-fails-midway
	// released is set once the snapshot has left exporting (late objects may still come).
	released bool
	failed   bool
}

type pendingObject struct {
	key     string
	data    []byte
	due     time.Time
	late    bool // lands after the snapshot is released
	never   bool // missing-object, or cut off by export-fails-midway
	written bool
}

// SnapshotInfo is a test's view of a snapshot.
type SnapshotInfo struct {
	Name       string
	Cache      string
	Serverless bool
	Automated  bool
	Status     string
	Created    time.Time
	Shards     int
	Bytes      int64
}

// Snapshot returns a snapshot's state (node-based first, then serverless).
func (s *Server) Snapshot(name string) (SnapshotInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, ok := s.snapshots[name]
	if !ok {
		sn, ok = s.serverless[name]
	}
	if !ok {
		return SnapshotInfo{}, false
	}
	return SnapshotInfo{Name: sn.name, Cache: sn.cache.spec.ID, Serverless: sn.serverless, Automated: sn.automated,
		Status: sn.status, Created: sn.created, Shards: len(sn.data), Bytes: sn.size()}, true
}

// AddAutomatedSnapshot adds an available automatic backup of cache id taken at at, named as
// ElastiCache names them (automatic.ID-YYYY-MM-DD-HH-MM), with the cache's data as of now. It
// returns the name.
func (s *Server) AddAutomatedSnapshot(ctx context.Context, id string, at time.Time) (string, error) {
	s.mu.Lock()
	c, ok := s.caches[id]
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("ecsrv: no cache %s", id)
	}
	if c.spec.Kind == KindMemcached {
		return "", fmt.Errorf("ecsrv: memcached cluster %s has no backups", id)
	}
	data, err := s.capture(ctx, c)
	if err != nil {
		return "", err
	}
	at = at.UTC()
	name := fmt.Sprintf("automatic.%s-%s", id, at.Format("2006-01-02-15-04"))
	sn := &snapshot{name: name, serverless: c.spec.Kind == KindServerless, cache: c, automated: true,
		status: statusAvailable, created: at, readyAt: at, data: data, region: s.o.Region, account: s.o.Account}
	if c.spec.Kind == KindCacheCluster {
		sn.sourceCluster = id
	} else if c.spec.Kind == KindReplicationGroup && !c.spec.ClusterMode {
		sn.sourceCluster = c.nodes[0][len(c.nodes[0])-1]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.snapshots
	if sn.serverless {
		m = s.serverless
	}
	if _, dup := m[name]; dup {
		return "", fmt.Errorf("ecsrv: snapshot %s exists already", name)
	}
	m[name] = sn
	return name, nil
}

// quota reports whether cache id may have another manual snapshot now: creations (deleted
// snapshots included, as AWS counts backups made) in the last 24 hours of the clock.
func (s *Server) quotaLeft(id string, quota int) bool {
	now := s.now()
	var kept []time.Time
	for _, t := range s.creations[id] {
		if now.Sub(t) < 24*time.Hour {
			kept = append(kept, t)
		}
	}
	s.creations[id] = kept
	return len(kept) < quota
}

func (s *Server) createSnapshot(ctx context.Context, f form) (any, *apiError) {
	name := f.get("SnapshotName")
	rgID, clusterID := f.get("ReplicationGroupId"), f.get("CacheClusterId")
	switch {
	case name == "":
		return nil, errInvalidParam("The parameter SnapshotName must be provided.")
	case rgID != "" && clusterID != "":
		return nil, errParamCombination("Cannot specify both ReplicationGroupId and CacheClusterId.")
	case rgID == "" && clusterID == "":
		return nil, errInvalidParam("One of ReplicationGroupId or CacheClusterId must be specified.")
	}
	s.mu.Lock()
	if _, dup := s.snapshots[name]; dup {
		s.mu.Unlock()
		return nil, errf(400, "SnapshotAlreadyExistsFault", "Snapshot %s already exists.", name)
	}
	var c *cache
	source := ""
	if rgID != "" {
		c = s.caches[rgID]
		if c == nil || c.spec.Kind != KindReplicationGroup {
			s.mu.Unlock()
			return nil, errf(404, "ReplicationGroupNotFoundFault", "Replication group %s not found.", rgID)
		}
		if !c.spec.ClusterMode {
			// ElastiCache picks a node: a replica where there is one.
			source = c.nodes[0][len(c.nodes[0])-1]
		}
	} else {
		c = s.members[clusterID]
		if c == nil {
			c = s.caches[clusterID]
		}
		if c == nil || c.spec.Kind == KindServerless {
			s.mu.Unlock()
			return nil, errf(404, "CacheClusterNotFound", "CacheCluster not found: %s", clusterID)
		}
		if c.spec.Kind == KindReplicationGroup && c.spec.ClusterMode {
			s.mu.Unlock()
			return nil, errParamCombination("Cache cluster %s belongs to a cluster-mode-enabled replication group: snapshot the group with ReplicationGroupId.", clusterID)
		}
		source = clusterID
	}
	id := c.spec.ID
	switch {
	case c.spec.Kind == KindMemcached:
		s.mu.Unlock()
		return nil, errf(400, "SnapshotFeatureNotSupportedFault", "Snapshots are not supported for engine memcached (cache cluster %s).", id)
	case c.spec.Status != "available" || s.busy(c) != nil:
		st := s.status(c)
		s.mu.Unlock()
		if rgID != "" {
			return nil, errf(400, "InvalidReplicationGroupState", "Replication group %s is not in available state (it is %s).", id, st)
		}
		return nil, errf(400, "InvalidCacheClusterState", "Cache cluster %s is not in available state (it is %s).", clusterID, st)
	case !s.quotaLeft(id, DefaultQuota):
		s.mu.Unlock()
		return nil, errf(400, "SnapshotQuotaExceededFault", "The request cannot be processed because it would exceed the allowed number of snapshots (%d per cache per 24 hours) for %s.", DefaultQuota, id)
	}
	now := s.now()
	sn := &snapshot{name: name, cache: c, sourceCluster: source, status: statusCreating, created: now,
		readyAt: now.Add(s.o.SnapshotDelay), tags: f.tags(), kms: f.get("KmsKeyId"), capturing: true,
		region: s.o.Region, account: s.o.Account}
	_, sn.fail = s.o.Faults.Active("snapshot-fails", id)
	s.snapshots[name] = sn
	c.backup = sn
	s.creations[id] = append(s.creations[id], now)
	s.recordEvent(sourceTypeOf(c), id, fmt.Sprintf("Backup started for snapshot %s", name))
	out := s.xmlSnapshot(sn, false)
	s.mu.Unlock()

	s.finishCapture(ctx, sn)
	return snapshotResult{Snapshot: out}, nil
}

// finishCapture reads the snapshot's data (unless it is to fail) and records it.
func (s *Server) finishCapture(ctx context.Context, sn *snapshot) {
	var data [][]byte
	var err error
	if !sn.fail {
		data, err = s.capture(context.WithoutCancel(ctx), sn.cache)
		if err != nil {
			s.log.Warn("snapshot data capture failed", "snapshot", sn.name, "cache", sn.cache.spec.ID, "error", err)
		}
	}
	s.mu.Lock()
	sn.data, sn.captureErr, sn.capturing = data, err, false
	s.mu.Unlock()
}

func sourceTypeOf(c *cache) string {
	switch c.spec.Kind {
	case KindReplicationGroup:
		return "replication-group"
	case KindServerless:
		return "serverless-cache"
	}
	return "cache-cluster"
}

func (s *Server) createServerlessSnapshot(ctx context.Context, f form) (any, *apiError) {
	name, cacheName := f.get("ServerlessCacheSnapshotName"), f.get("ServerlessCacheName")
	switch {
	case name == "":
		return nil, errInvalidParam("The parameter ServerlessCacheSnapshotName must be provided.")
	case cacheName == "":
		return nil, errInvalidParam("The parameter ServerlessCacheName must be provided.")
	}
	s.mu.Lock()
	if _, dup := s.serverless[name]; dup {
		s.mu.Unlock()
		return nil, errf(400, "ServerlessCacheSnapshotAlreadyExistsFault", "Serverless cache snapshot %s already exists.", name)
	}
	c := s.caches[cacheName]
	if c == nil || c.spec.Kind != KindServerless {
		s.mu.Unlock()
		return nil, errf(404, "ServerlessCacheNotFoundFault", "Serverless cache %s not found.", cacheName)
	}
	switch {
	case c.spec.Status != "available" || c.backup != nil:
		s.mu.Unlock()
		return nil, errf(400, "InvalidServerlessCacheStateFault", "Serverless cache %s is not in available state.", cacheName)
	case !s.quotaLeft(cacheName, DefaultServerlessQuota):
		s.mu.Unlock()
		return nil, errf(400, "ServerlessCacheSnapshotQuotaExceededFault", "The request cannot be processed because it would exceed the allowed number of snapshots (%d per serverless cache per 24 hours) for %s.", DefaultServerlessQuota, cacheName)
	}
	now := s.now()
	sn := &snapshot{name: name, serverless: true, cache: c, status: statusCreating, created: now,
		readyAt: now.Add(s.o.SnapshotDelay), tags: f.tags(), kms: f.get("KmsKeyId"), capturing: true,
		region: s.o.Region, account: s.o.Account}
	_, sn.fail = s.o.Faults.Active("snapshot-fails", cacheName)
	s.serverless[name] = sn
	c.backup = sn
	s.creations[cacheName] = append(s.creations[cacheName], now)
	out := s.xmlServerlessSnapshot(sn)
	s.mu.Unlock()

	s.finishCapture(ctx, sn)
	return serverlessSnapshotResult{ServerlessCacheSnapshot: out}, nil
}

// bucketProblem checks an export bucket as ElastiCache does, with AWS's messages.
func (s *Server) bucketProblem(ctx context.Context, cacheID, bucket string, keys []string) *apiError {
	if s.o.Bucket == nil {
		return errInvalidParam("The S3 bucket %s does not exist.", bucket)
	}
	region, ok, err := s.o.Bucket.BucketRegion(ctx, bucket)
	if err != nil {
		return errf(500, "InternalFailure", "check bucket %s: %v", bucket, err)
	}
	if !ok {
		return errInvalidParam("The S3 bucket %s does not exist.", bucket)
	}
	if r, ok := s.o.Faults.Active("bucket-region", ""); ok && r != "" {
		region = r
	}
	if region == "" {
		region = "us-east-1" // S3 reports no LocationConstraint for us-east-1
	}
	if region != s.o.Region {
		return errInvalidParam("The S3 bucket %s is outside of the region.", bucket)
	}
	granted, err := s.o.Bucket.ElastiCacheGranted(ctx, bucket)
	if err != nil {
		return errf(500, "InternalFailure", "check bucket %s: %v", bucket, err)
	}
	if _, noGrant := s.o.Faults.Active("no-grant", cacheID); noGrant || !granted {
		return errInvalidParam("ElastiCache has not been granted READ permissions %s on the S3 Bucket.", bucket)
	}
	for _, k := range keys {
		exists, err := s.o.Bucket.ObjectExists(ctx, bucket, k)
		if err != nil {
			return errf(500, "InternalFailure", "check bucket %s: %v", bucket, err)
		}
		if exists || s.keyPending(bucket, k) {
			return errInvalidParam("The S3 bucket %s already contains an object with key %s.", bucket, k)
		}
	}
	return nil
}

// keyPending reports whether an export in flight will write key into bucket.
func (s *Server) keyPending(bucket, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.bucket != bucket {
			continue
		}
		for _, o := range j.objects {
			if o.key == key && !o.never {
				return true
			}
		}
	}
	return false
}

func (s *Server) copySnapshot(ctx context.Context, f form) (any, *apiError) {
	src, target, bucket := f.get("SourceSnapshotName"), f.get("TargetSnapshotName"), f.get("TargetBucket")
	switch {
	case src == "":
		return nil, errInvalidParam("The parameter SourceSnapshotName must be provided.")
	case target == "":
		return nil, errInvalidParam("The parameter TargetSnapshotName must be provided.")
	}
	if bucket == "" {
		return s.copyWithin(ctx, f, src, target)
	}
	target = strings.ToLower(target) // ElastiCache stores target names lower-case
	if len(target) > 1000 {
		return nil, errInvalidParam("TargetSnapshotName must be 1 to 1000 characters.")
	}
	s.mu.Lock()
	sn, ok := s.snapshots[src]
	if !ok {
		s.mu.Unlock()
		return nil, errf(404, "SnapshotNotFoundFault", "Snapshot %s not found.", src)
	}
	if aerr := s.exportable(sn); aerr != nil {
		s.mu.Unlock()
		return nil, aerr
	}
	c := sn.cache
	keys := make([]string, len(sn.data))
	for i := range keys {
		keys[i] = ShardKey(target, i+1)
	}
	s.mu.Unlock()

	if aerr := s.bucketProblem(ctx, c.spec.ID, bucket, keys); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if aerr := s.exportable(sn); aerr != nil { // it may have changed meanwhile
		return nil, aerr
	}
	s.startExport(sn, bucket, target, keys)
	out := s.xmlSnapshot(sn, false)
	return snapshotResult{Snapshot: out}, nil
}

// exportable reports why sn cannot be exported now (nil when it can).
func (s *Server) exportable(sn *snapshot) *apiError {
	if sn.status != statusAvailable {
		if sn.serverless {
			return errf(400, "InvalidServerlessCacheSnapshotStateFault", "Serverless cache snapshot %s is not in available state (it is %s).", sn.name, sn.status)
		}
		return errf(400, "InvalidSnapshotState", "Snapshot %s is not in available state (it is %s).", sn.name, sn.status)
	}
	if sn.cache.spec.DataTiering {
		return errInvalidParam("Snapshot %s is of a cluster that uses data tiering: exporting it to Amazon S3 is not supported.", sn.name)
	}
	if sn.serverless && sn.cache.spec.Engine == "memcached" {
		return errInvalidParam("Exporting snapshots of serverless Memcached caches is not supported.")
	}
	return nil
}

// startExport begins an export of sn; s.mu is held. The faults of the snapshot's cache decide
// how it goes; objects land one per shard, ExportDelay apart.
func (s *Server) startExport(sn *snapshot, bucket, target string, keys []string) {
	id := sn.cache.spec.ID
	now := s.now()
	j := &exportJob{snap: sn, bucket: bucket, target: target, started: now}
	_, j.stuck = s.o.Faults.Active("export-stuck", id)
	_, j.midway = s.o.Faults.Active("export-fails-midway", id)
	_, corrupt := s.o.Faults.Active("corrupt-object", id)
	_, missing := s.o.Faults.Active("missing-object", id)
	_, late := s.o.Faults.Active("late-object", id)
	n := len(keys)
	for i, k := range keys {
		o := &pendingObject{key: k, data: sn.data[i], due: now.Add(time.Duration(i+1) * s.o.ExportDelay)}
		last := i == n-1
		switch {
		case j.stuck:
			o.never = true
		case j.midway && n > 1 && i >= max(1, n/2):
			o.never = true
		case j.midway && n == 1:
			// One shard: the partial object is the first half of the file.
			o.data = o.data[:len(o.data)/2]
		case missing && last:
			o.never = true
		case late && last:
			o.late = true
			o.due = now.Add(s.o.LateDelay)
		}
		if corrupt && last && !o.never && len(o.data) > 0 {
			o.data = append([]byte(nil), o.data...)
			o.data[len(o.data)/2] ^= 0x5A
		}
		j.objects = append(j.objects, o)
	}
	sn.status = statusExporting
	s.jobs = append(s.jobs, j)
}

func (s *Server) copyWithin(ctx context.Context, f form, src, target string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, ok := s.snapshots[src]
	if !ok {
		return nil, errf(404, "SnapshotNotFoundFault", "Snapshot %s not found.", src)
	}
	if _, dup := s.snapshots[target]; dup {
		return nil, errf(400, "SnapshotAlreadyExistsFault", "Snapshot %s already exists.", target)
	}
	if sn.status != statusAvailable {
		return nil, errf(400, "InvalidSnapshotState", "Snapshot %s is not in available state (it is %s).", src, sn.status)
	}
	now := s.now()
	cp := &snapshot{name: target, cache: sn.cache, sourceCluster: sn.sourceCluster, status: statusCreating,
		created: now, readyAt: now.Add(s.o.SnapshotDelay), data: sn.data, tags: f.tags(), kms: f.get("KmsKeyId"),
		region: s.o.Region, account: s.o.Account}
	s.snapshots[target] = cp
	_ = ctx
	return snapshotResult{Snapshot: s.xmlSnapshot(cp, false)}, nil
}

func (s *Server) exportServerlessSnapshot(ctx context.Context, f form) (any, *apiError) {
	name, bucket := f.get("ServerlessCacheSnapshotName"), f.get("S3BucketName")
	switch {
	case name == "":
		return nil, errInvalidParam("The parameter ServerlessCacheSnapshotName must be provided.")
	case bucket == "":
		return nil, errInvalidParam("The parameter S3BucketName must be provided.")
	}
	s.mu.Lock()
	sn, ok := s.serverless[name]
	if !ok {
		s.mu.Unlock()
		return nil, errf(404, "ServerlessCacheSnapshotNotFoundFault", "Serverless cache snapshot %s not found.", name)
	}
	if aerr := s.exportable(sn); aerr != nil {
		s.mu.Unlock()
		return nil, aerr
	}
	keys := make([]string, len(sn.data))
	for i := range keys {
		keys[i] = s.o.ServerlessKey(name, i+1)
	}
	id := sn.cache.spec.ID
	s.mu.Unlock()
	if aerr := s.bucketProblem(ctx, id, bucket, keys); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if aerr := s.exportable(sn); aerr != nil {
		return nil, aerr
	}
	s.startExport(sn, bucket, name, keys)
	return serverlessSnapshotResult{ServerlessCacheSnapshot: s.xmlServerlessSnapshot(sn)}, nil
}

func (s *Server) deleteSnapshot(_ context.Context, f form) (any, *apiError) {
	name := f.get("SnapshotName")
	if name == "" {
		return nil, errInvalidParam("The parameter SnapshotName must be provided.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, ok := s.snapshots[name]
	if !ok {
		return nil, errf(404, "SnapshotNotFoundFault", "Snapshot %s not found.", name)
	}
	if sn.transitional() {
		return nil, errf(400, "InvalidSnapshotState", "Snapshot %s is %s: transitional snapshots cannot be deleted.", name, sn.status)
	}
	sn.status = statusDeleting
	out := s.xmlSnapshot(sn, false)
	delete(s.snapshots, name)
	return snapshotResult{Snapshot: out}, nil
}

func (s *Server) deleteServerlessSnapshot(_ context.Context, f form) (any, *apiError) {
	name := f.get("ServerlessCacheSnapshotName")
	if name == "" {
		return nil, errInvalidParam("The parameter ServerlessCacheSnapshotName must be provided.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, ok := s.serverless[name]
	if !ok {
		return nil, errf(404, "ServerlessCacheSnapshotNotFoundFault", "Serverless cache snapshot %s not found.", name)
	}
	if sn.transitional() {
		return nil, errf(400, "InvalidServerlessCacheSnapshotStateFault", "Serverless cache snapshot %s is %s: transitional snapshots cannot be deleted.", name, sn.status)
	}
	sn.status = statusDeleting
	out := s.xmlServerlessSnapshot(sn)
	delete(s.serverless, name)
	return serverlessSnapshotResult{ServerlessCacheSnapshot: out}, nil
}

func sortSnapshots(list []*snapshot) {
	sort.Slice(list, func(i, j int) bool {
		if !list[i].created.Equal(list[j].created) {
			return list[i].created.Before(list[j].created)
		}
		return list[i].name < list[j].name
	})
}

func (s *Server) describeSnapshots(_ context.Context, f form) (any, *apiError) {
	size, err := f.int("MaxRecords", 50, 20, 50)
	if err != nil {
		return nil, err
	}
	name, rg, cl, src := f.get("SnapshotName"), f.get("ReplicationGroupId"), f.get("CacheClusterId"), strings.ToLower(f.get("SnapshotSource"))
	switch src {
	case "", "system", "user", "automated", "manual":
	default:
		return nil, errInvalidParam("SnapshotSource must be system or user, got %q", f.get("SnapshotSource"))
	}
	showCfg := f.bool("ShowNodeGroupConfig")
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*snapshot
	for _, sn := range s.snapshots {
		switch {
		case name != "" && sn.name != name,
			rg != "" && (sn.cache.spec.Kind != KindReplicationGroup || sn.cache.spec.ID != rg),
			cl != "" && sn.sourceCluster != cl,
			(src == "system" || src == "automated") && !sn.automated,
			(src == "user" || src == "manual") && sn.automated:
			continue
		}
		list = append(list, sn)
	}
	if name != "" && len(list) == 0 {
		return nil, errf(404, "SnapshotNotFoundFault", "Snapshot %s not found.", name)
	}
	if cl != "" && len(list) == 0 && s.members[cl] == nil && s.caches[cl] == nil {
		return nil, errf(404, "CacheClusterNotFound", "CacheCluster not found: %s", cl)
	}
	sortSnapshots(list)
	p, next, err := page(list, f.get("Marker"), size)
	if err != nil {
		return nil, err
	}
	out := snapshotsResult{Marker: next, Snapshots: []xmlSnapshot{}}
	for _, sn := range p {
		out.Snapshots = append(out.Snapshots, s.xmlSnapshot(sn, showCfg))
	}
	return out, nil
}

func (s *Server) describeServerlessSnapshots(_ context.Context, f form) (any, *apiError) {
	size, err := f.int("MaxResults", 50, 1, 50)
	if err != nil {
		return nil, err
	}
	name, cacheName, typ := f.get("ServerlessCacheSnapshotName"), f.get("ServerlessCacheName"), strings.ToLower(f.get("SnapshotType"))
	s.mu.Lock()
	defer s.mu.Unlock()
	if cacheName != "" {
		if c := s.caches[cacheName]; c == nil || c.spec.Kind != KindServerless {
			return nil, errf(404, "ServerlessCacheNotFoundFault", "Serverless cache %s not found.", cacheName)
		}
	}
	var list []*snapshot
	for _, sn := range s.serverless {
		switch {
		case name != "" && sn.name != name,
			cacheName != "" && sn.cache.spec.ID != cacheName,
			typ == "automated" && !sn.automated,
			typ == "manual" && sn.automated:
			continue
		}
		list = append(list, sn)
	}
	if name != "" && len(list) == 0 {
		return nil, errf(404, "ServerlessCacheSnapshotNotFoundFault", "Serverless cache snapshot %s not found.", name)
	}
	sortSnapshots(list)
	p, next, err := page(list, f.get("NextToken"), size)
	if err != nil {
		return nil, err
	}
	out := serverlessSnapshotsResult{NextToken: next}
	for _, sn := range p {
		out.ServerlessCacheSnapshots = append(out.ServerlessCacheSnapshots, s.xmlServerlessSnapshot(sn))
	}
	return out, nil
}

func cacheSize(n int) string {
	return fmt.Sprintf("%d MB", (n+(1<<20)-1)>>20)
}

// xmlSnapshot describes a node-based snapshot; s.mu is held.
func (s *Server) xmlSnapshot(sn *snapshot, showCfg bool) xmlSnapshot {
	c := sn.cache
	sp := c.spec
	x := xmlSnapshot{
		SnapshotName: sn.name, SnapshotStatus: sn.status, SnapshotSource: "manual",
		CacheNodeType: sp.NodeType, Engine: sp.Engine, EngineVersion: sp.EngineVersion,
		PreferredAvailabilityZone: az(s.o.Region, 0), CacheClusterCreateTime: ts(c.created),
		PreferredMaintenanceWindow: sp.MaintenanceWindow, Port: 6379, CacheParameterGroupName: paramGroup(sp),
		CacheSubnetGroupName: "default", VpcID: "vpc-0123456789abcdef0", AutoMinorVersionUpgrade: true,
		SnapshotRetentionLimit: sp.SnapshotRetentionLimit, SnapshotWindow: sp.SnapshotWindow,
		KmsKeyID: sn.kms, ARN: sn.arn(), DataTiering: "disabled",
	}
	if sn.automated {
		x.SnapshotSource = "automated"
	}
	if sp.DataTiering {
		x.DataTiering = "enabled"
	}
	if sp.Kind == KindReplicationGroup {
		x.ReplicationGroupID, x.ReplicationGroupDescription = sp.ID, sp.Description
		x.NumNodeGroups = len(c.nodes)
		x.AutomaticFailover = "disabled"
		if sp.Replicas > 0 || sp.ClusterMode {
			x.AutomaticFailover = "enabled"
		}
	}
	if sn.sourceCluster != "" {
		x.CacheClusterID = sn.sourceCluster
		x.NumCacheNodes = 1
	}
	for i, g := range c.nodes {
		ns := xmlNodeSnapshot{CacheNodeID: "0001", CacheNodeCreateTime: ts(c.created), SnapshotCreateTime: ts(sn.created)}
		switch {
		case sp.Kind != KindReplicationGroup:
			ns.CacheClusterID = g[0]
		case sp.ClusterMode:
			ns.CacheClusterID, ns.NodeGroupID = g[len(g)-1], fmt.Sprintf("%04d", i+1)
		default:
			ns.CacheClusterID, ns.NodeGroupID = sn.sourceCluster, "0001"
		}
		if i < len(sn.data) && sn.status != statusCreating {
			ns.CacheSize = cacheSize(len(sn.data[i]))
		}
		if showCfg && sp.Kind == KindReplicationGroup {
			cfg := &xmlNodeGroupCfg{NodeGroupID: fmt.Sprintf("%04d", i+1), ReplicaCount: sp.Replicas, PrimaryAvailabilityZone: az(s.o.Region, 0)}
			if sp.ClusterMode {
				cfg.Slots = slots(i+1, len(c.nodes))
			}
			for r := 1; r <= sp.Replicas; r++ {
				cfg.ReplicaAvailabilityZones = append(cfg.ReplicaAvailabilityZones, az(s.o.Region, r))
			}
			ns.NodeGroupConfiguration = cfg
		}
		x.NodeSnapshots = append(x.NodeSnapshots, ns)
	}
	return x
}

// xmlServerlessSnapshot describes a serverless snapshot; s.mu is held.
func (s *Server) xmlServerlessSnapshot(sn *snapshot) xmlServerlessSnapshot {
	sp := sn.cache.spec
	major := sp.EngineVersion
	if i := strings.IndexByte(major, '.'); i > 0 {
		major = major[:i]
	}
	x := xmlServerlessSnapshot{
		ServerlessCacheSnapshotName: sn.name, ARN: sn.arn(), KmsKeyID: sn.kms, SnapshotType: "manual",
		Status: sn.status, CreateTime: ts(sn.created),
		ServerlessCacheConfiguration: xmlServerlessConf{ServerlessCacheName: sp.ID, Engine: sp.Engine, MajorEngineVersion: major},
	}
	if sn.automated {
		x.SnapshotType = "automated"
		x.ExpiryTime = ts(sn.created.AddDate(0, 0, max(sp.SnapshotRetentionLimit, 1)))
	}
	if sn.status != statusCreating && sn.data != nil {
		x.BytesUsedForCache = fmt.Sprint(sn.size())
	}
	return x
}
