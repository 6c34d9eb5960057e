package ecsrv

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is the kind of a simulated cache.
type Kind string

// Cache kinds.
const (
	KindReplicationGroup Kind = "replication-group" // Valkey/Redis OSS, cluster mode disabled or enabled
	KindCacheCluster     Kind = "cache-cluster"     // a standalone single-node Valkey/Redis OSS cluster
	KindServerless       Kind = "serverless"        // a serverless Valkey/Redis OSS (or Memcached) cache
	KindMemcached        Kind = "memcached"         // a node-based Memcached cluster
)

// Cache describes one simulated cache. Zero fields take the defaults named on them.
type Cache struct {
	ID   string // replication group id, cache cluster id or serverless cache name (required)
	Kind Kind   // required
	// Engine is redis (default), valkey, or memcached (the default for KindMemcached).
	Engine string
	// EngineVersion defaults to 7.1.0 (redis), 8.0.1 (valkey), 1.6.22 (memcached).
	EngineVersion string
	// NodeType defaults to cache.r7g.large (cache.r6gd.xlarge with DataTiering).
	NodeType string
	// ClusterMode enables cluster mode on a replication group (serverless Valkey/Redis OSS
	// caches always serve the cluster protocol).
	ClusterMode bool
	// Shards is the number of node groups of a replication group (1 without cluster mode), or
	// the number of objects a serverless export writes; default 1.
	Shards int
	// Replicas is the number of replicas per node group (replication groups).
	Replicas int
	// Nodes is the number of nodes of a Memcached cluster (default 2).
	Nodes int
	// DataTiering marks a replication group using data tiering: it can be snapshotted but its
	// snapshots cannot be exported to S3.
	DataTiering bool
	// Status is the cache's status (default available; try modifying, creating, ...).
	Status string
	// MaintenanceWindow is ddd:hh24:mi-ddd:hh24:mi UTC (default sun:05:00-sun:06:00; none for
	// serverless caches).
	MaintenanceWindow string
	// SnapshotWindow is hh24:mi-hh24:mi UTC (default 03:00-04:00); a serverless cache's
	// DailySnapshotTime is its start.
	SnapshotWindow string
	// SnapshotRetentionLimit is the automatic backup retention in days (default 1).
	SnapshotRetentionLimit int
	Description            string
	Tags                   map[string]string
	// Data are the shards' data sources (Data[0] is shard 1). Missing or nil entries use
	// Options.Data.
	Data []DataSource
}

// cache is a Cache as the server keeps it.
type cache struct {
	spec    Cache
	arn     string
	created time.Time
	tags    []xmlTag
	// nodes lists each node group's member cluster ids, the primary first (replication groups);
	// a standalone cluster is one group of itself.
	nodes   [][]string
	sources []DataSource
	// backup is the cache's snapshot being made by CreateSnapshot or
	// CreateServerlessCacheSnapshot, nil when none.
	backup *snapshot
	// mcAddrs are the loopback addresses of a Memcached cluster's real nodes, one per node,
	// once started (Options.MemcachedNodes); mcMu guards them and their start.
	mcMu    sync.Mutex
	mcAddrs []string
}

var idRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{0,39}$`)

// AddCache adds a simulated cache. It fails on a missing or repeated id, an unknown kind or
// engine, or a shape AWS does not allow (more than 1 shard without cluster mode, more than 5
// replicas, data tiering outside a replication group).
func (s *Server) AddCache(c Cache) error {
	if !idRe.MatchString(c.ID) {
		return fmt.Errorf("ecsrv: cache id %q: 1-40 letters, digits or hyphens, starting with a letter", c.ID)
	}
	switch c.Kind {
	case KindReplicationGroup, KindCacheCluster, KindServerless:
		if c.Engine == "" {
			c.Engine = "redis"
		}
	case KindMemcached:
		if c.Engine == "" {
			c.Engine = "memcached"
		}
	default:
		return fmt.Errorf("ecsrv: cache %s: unknown kind %q", c.ID, c.Kind)
	}
	c.Engine = strings.ToLower(c.Engine)
	switch {
	case c.Kind == KindMemcached && c.Engine != "memcached",
		c.Kind != KindMemcached && c.Kind != KindServerless && c.Engine != "redis" && c.Engine != "valkey",
		c.Kind == KindServerless && c.Engine != "redis" && c.Engine != "valkey" && c.Engine != "memcached":
		return fmt.Errorf("ecsrv: cache %s: engine %q not valid for %s", c.ID, c.Engine, c.Kind)
	}
	if c.EngineVersion == "" {
		c.EngineVersion = map[string]string{"redis": "7.1.0", "valkey": "8.0.1", "memcached": "1.6.22"}[c.Engine]
	}
	if c.Shards == 0 {
		c.Shards = 1
	}
	if c.Kind == KindMemcached && c.Nodes == 0 {
		c.Nodes = 2
	}
	switch {
	case c.Shards < 1 || c.Shards > 500:
		return fmt.Errorf("ecsrv: cache %s: %d shards (1-500)", c.ID, c.Shards)
	case c.Shards > 1 && c.Kind != KindServerless && !(c.Kind == KindReplicationGroup && c.ClusterMode):
		return fmt.Errorf("ecsrv: cache %s: %d shards need a replication group with cluster mode enabled", c.ID, c.Shards)
	case c.Replicas < 0 || c.Replicas > 5 || (c.Replicas > 0 && c.Kind != KindReplicationGroup):
		return fmt.Errorf("ecsrv: cache %s: %d replicas (0-5, replication groups only)", c.ID, c.Replicas)
	case c.DataTiering && c.Kind != KindReplicationGroup:
		return fmt.Errorf("ecsrv: cache %s: data tiering is for replication groups only", c.ID)
	}
	if c.NodeType == "" {
		c.NodeType = "cache.r7g.large"
		if c.DataTiering {
			c.NodeType = "cache.r6gd.xlarge"
		}
	}
	if c.Status == "" {
		c.Status = "available"
	}
	if c.MaintenanceWindow == "" && c.Kind != KindServerless {
		c.MaintenanceWindow = "sun:05:00-sun:06:00"
	}
	if c.SnapshotWindow == "" && c.Kind != KindMemcached {
		c.SnapshotWindow = "03:00-04:00"
	}
	if c.SnapshotRetentionLimit == 0 && c.Kind != KindMemcached {
		c.SnapshotRetentionLimit = 1
	}
	if c.Description == "" {
		c.Description = "twin cache " + c.ID
	}

	x := &cache{spec: c, created: s.now().Add(-30 * 24 * time.Hour)}
	for k, v := range c.Tags {
		x.tags = append(x.tags, xmlTag{Key: k, Value: v})
	}
	sort.Slice(x.tags, func(i, j int) bool { return x.tags[i].Key < x.tags[j].Key })
	switch c.Kind {
	case KindReplicationGroup:
		x.arn = s.arn("replicationgroup", c.ID)
		for g := 1; g <= c.Shards; g++ {
			var ids []string
			for n := 1; n <= 1+c.Replicas; n++ {
				if c.ClusterMode {
					ids = append(ids, fmt.Sprintf("%s-%04d-%03d", c.ID, g, n))
				} else {
					ids = append(ids, fmt.Sprintf("%s-%03d", c.ID, n))
				}
			}
			x.nodes = append(x.nodes, ids)
		}
	case KindCacheCluster, KindMemcached:
		x.arn = s.arn("cluster", c.ID)
		x.nodes = [][]string{{c.ID}}
	case KindServerless:
		x.arn = s.arn("serverlesscache", c.ID)
	}
	x.sources = make([]DataSource, c.Shards)
	copy(x.sources, c.Data)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.caches[c.ID]; dup {
		return fmt.Errorf("ecsrv: cache %s exists already", c.ID)
	}
	if _, dup := s.members[c.ID]; dup {
		return fmt.Errorf("ecsrv: cache %s is the id of a member cluster", c.ID)
	}
	s.caches[c.ID] = x
	if c.Kind == KindReplicationGroup {
		for _, g := range x.nodes {
			for _, id := range g {
				s.members[id] = x
			}
		}
	}
	return nil
}

// SetStatus changes a cache's status (available, modifying, ...), as AWS would on its own.
func (s *Server) SetStatus(id, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.caches[id]
	if !ok {
		return fmt.Errorf("ecsrv: no cache %s", id)
	}
	c.spec.Status = status
	return nil
}

// Caches returns the specs of the caches, ordered by id.
func (s *Server) Caches() []Cache {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Cache
	for _, c := range s.sortedCaches() {
		out = append(out, c.spec)
	}
	return out
}

func (s *Server) arn(kind, name string) string {
	return fmt.Sprintf("arn:aws:elasticache:%s:%s:%s:%s", s.o.Region, s.o.Account, kind, name)
}

func (s *Server) sortedCaches() []*cache {
	out := make([]*cache, 0, len(s.caches))
	for _, c := range s.caches {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].spec.ID < out[j].spec.ID })
	return out
}

// busy returns the backup of c being made, nil when none.
func (s *Server) busy(c *cache) *snapshot { return c.backup }

// status is the cache's status as Describe reports it: snapshotting while a backup runs.
func (s *Server) status(c *cache) string {
	if c.spec.Status == "available" && c.spec.Kind != KindServerless && s.busy(c) != nil {
		return "snapshotting"
	}
	return c.spec.Status
}

func (s *Server) host(id, part string) string {
	return fmt.Sprintf("%s.%s.twin.%s.cache.amazonaws.com", id, part, regionShort(s.o.Region))
}

func regionShort(r string) string {
	p := strings.Split(r, "-")
	if len(p) == 3 && len(p[1]) > 0 {
		return p[0] + p[1][:1] + p[2]
	}
	return r
}

func slots(shard, shards int) string {
	lo := 16384 * (shard - 1) / shards
	hi := 16384*shard/shards - 1
	return fmt.Sprintf("%d-%d", lo, hi)
}

func (s *Server) xmlReplicationGroup(c *cache) xmlReplicationGroup {
	sp := c.spec
	g := xmlReplicationGroup{
		ReplicationGroupID: sp.ID, Description: sp.Description, Status: s.status(c),
		AutomaticFailover: "disabled", MultiAZ: "disabled",
		SnapshotRetentionLimit: sp.SnapshotRetentionLimit, SnapshotWindow: sp.SnapshotWindow,
		ClusterEnabled: sp.ClusterMode, CacheNodeType: sp.NodeType, ARN: c.arn,
		ReplicationGroupCreateTime: ts(c.created), DataTiering: "disabled",
		AutoMinorVersionUpgrade: true, NetworkType: "ipv4", IPDiscovery: "ipv4",
		ClusterMode: "disabled", Engine: sp.Engine, AtRestEncryptionEnabled: true,
	}
	if sp.DataTiering {
		g.DataTiering = "enabled"
	}
	if sp.Replicas > 0 || sp.ClusterMode {
		g.AutomaticFailover, g.MultiAZ = "enabled", "enabled"
	}
	if sp.ClusterMode {
		g.ClusterMode = "enabled"
		g.ConfigurationEndpoint = &xmlEndpoint{Address: s.host(sp.ID, "clustercfg"), Port: 6379}
	}
	for i, ids := range c.nodes {
		ng := xmlNodeGroup{NodeGroupID: fmt.Sprintf("%04d", i+1), Status: "available"}
		if sp.ClusterMode {
			ng.Slots = slots(i+1, len(c.nodes))
		} else {
			ng.PrimaryEndpoint = &xmlEndpoint{Address: s.host(sp.ID, "master"), Port: 6379}
			ng.ReaderEndpoint = &xmlEndpoint{Address: s.host(sp.ID, "replica"), Port: 6379}
		}
		for j, id := range ids {
			g.MemberClusters = append(g.MemberClusters, id)
			m := xmlNodeGroupMember{CacheClusterID: id, CacheNodeID: "0001", PreferredAvailabilityZone: az(s.o.Region, j)}
			if !sp.ClusterMode {
				m.ReadEndpoint = &xmlEndpoint{Address: s.host(id, "0001"), Port: 6379}
				m.CurrentRole = "replica"
				if j == 0 {
					m.CurrentRole = "primary"
				}
			}
			ng.NodeGroupMembers = append(ng.NodeGroupMembers, m)
		}
		g.NodeGroups = append(g.NodeGroups, ng)
	}
	if sn := s.busy(c); sn != nil && sn.sourceCluster != "" {
		g.SnapshottingClusterID = sn.sourceCluster
	} else if !sp.ClusterMode && sp.Replicas > 0 {
		g.SnapshottingClusterID = c.nodes[0][1]
	}
	sort.Strings(g.MemberClusters)
	return g
}

func az(region string, i int) string { return region + string(rune('a'+i%3)) }

// xmlCacheCluster describes cluster id of c (a member of a group, or c itself).
func (s *Server) xmlCacheCluster(c *cache, id string, showNodes bool) xmlCacheCluster {
	sp := c.spec
	x := xmlCacheCluster{
		CacheClusterID: id, ClientDownloadLandingPage: "https://console.aws.amazon.com/elasticache/home#client-download:",
		CacheNodeType: sp.NodeType, Engine: sp.Engine, EngineVersion: sp.EngineVersion,
		CacheClusterStatus: s.status(c), NumCacheNodes: 1, PreferredAvailabilityZone: az(s.o.Region, 0),
		CacheClusterCreateTime: ts(c.created), PreferredMaintenanceWindow: sp.MaintenanceWindow,
		CacheParameterGroup:  xmlParamGroup{CacheParameterGroupName: paramGroup(sp), ParameterApplyStatus: "in-sync"},
		CacheSubnetGroupName: "default", AutoMinorVersionUpgrade: true,
		SecurityGroups:         []xmlSecGroup{{SecurityGroupID: "sg-0123456789abcdef0", Status: "active"}},
		SnapshotRetentionLimit: sp.SnapshotRetentionLimit, SnapshotWindow: sp.SnapshotWindow,
		AtRestEncryptionEnabled: sp.Kind != KindMemcached, ARN: s.arn("cluster", id),
		NetworkType: "ipv4", IPDiscovery: "ipv4",
	}
	if sp.Kind == KindReplicationGroup {
		x.ReplicationGroupID = sp.ID
		for _, g := range c.nodes {
			for j, m := range g {
				if m == id {
					x.PreferredAvailabilityZone = az(s.o.Region, j)
				}
			}
		}
	}
	nodes := 1
	if sp.Kind == KindMemcached {
		nodes = sp.Nodes
		x.NumCacheNodes = nodes
		x.ConfigurationEndpoint = &xmlEndpoint{Address: s.host(id, "cfg"), Port: 11211}
		x.SnapshotRetentionLimit, x.SnapshotWindow = 0, ""
	}
	if showNodes {
		port := 6379
		if sp.Kind == KindMemcached {
			port = 11211
		}
		for n := 1; n <= nodes; n++ {
			nid := fmt.Sprintf("%04d", n)
			x.CacheNodes = append(x.CacheNodes, xmlCacheNode{
				CacheNodeID: nid, CacheNodeStatus: "available", CacheNodeCreateTime: ts(c.created),
				Endpoint: &xmlEndpoint{Address: s.host(id, nid), Port: port}, ParameterGroupStatus: "in-sync",
				CustomerAvailabilityZone: az(s.o.Region, n-1),
			})
		}
	}
	return x
}

func paramGroup(c Cache) string {
	major := c.EngineVersion
	if i := strings.IndexByte(major, '.'); i > 0 {
		major = major[:i]
	}
	if c.Engine == "memcached" {
		return "default.memcached1.6"
	}
	pg := "default." + c.Engine + major
	if c.ClusterMode {
		pg += ".cluster.on"
	}
	return pg
}

func (s *Server) xmlServerlessCache(c *cache) xmlServerlessCache {
	sp := c.spec
	major := sp.EngineVersion
	if i := strings.IndexByte(major, '.'); i > 0 {
		major = major[:i]
	}
	x := xmlServerlessCache{
		ServerlessCacheName: sp.ID, Description: sp.Description, CreateTime: ts(c.created),
		Status: sp.Status, Engine: sp.Engine, MajorEngineVersion: major, FullEngineVersion: sp.EngineVersion,
		SecurityGroupIDs: []string{"sg-0123456789abcdef0"},
		Endpoint:         &xmlEndpoint{Address: s.host(sp.ID, "serverless"), Port: 6379},
		ReaderEndpoint:   &xmlEndpoint{Address: s.host(sp.ID, "serverless"), Port: 6380},
		ARN:              c.arn, SubnetIDs: []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"},
		SnapshotRetentionLimit: sp.SnapshotRetentionLimit, NetworkType: "ipv4",
	}
	if sp.Engine == "memcached" {
		x.Endpoint.Port, x.ReaderEndpoint.Port = 11211, 11212
	}
	if sp.SnapshotWindow != "" {
		x.DailySnapshotTime, _, _ = strings.Cut(sp.SnapshotWindow, "-")
	}
	return x
}

func (s *Server) describeReplicationGroups(_ context.Context, f form) (any, *apiError) {
	size, err := f.int("MaxRecords", 100, 20, 100)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*cache
	id := f.get("ReplicationGroupId")
	for _, c := range s.sortedCaches() {
		if c.spec.Kind == KindReplicationGroup && (id == "" || id == c.spec.ID) {
			all = append(all, c)
		}
	}
	if id != "" && len(all) == 0 {
		return nil, errf(404, "ReplicationGroupNotFoundFault", "Replication group %s not found.", id)
	}
	p, next, err := page(all, f.get("Marker"), size)
	if err != nil {
		return nil, err
	}
	out := replicationGroupsResult{Marker: next}
	for _, c := range p {
		out.ReplicationGroups = append(out.ReplicationGroups, s.xmlReplicationGroup(c))
	}
	return out, nil
}

func (s *Server) describeCacheClusters(ctx context.Context, f form) (any, *apiError) {
	size, err := f.int("MaxRecords", 100, 20, 100)
	if err != nil {
		return nil, err
	}
	id := f.get("CacheClusterId")
	show := f.bool("ShowCacheNodeInfo")
	notInGroups := f.bool("ShowCacheClustersNotInReplicationGroups")
	mc := map[*cache][]string{}
	if show && s.o.MemcachedNodes {
		s.mu.Lock()
		var memcached []*cache
		for _, c := range s.caches {
			if c.spec.Kind == KindMemcached && (id == "" || id == c.spec.ID) {
				memcached = append(memcached, c)
			}
		}
		s.mu.Unlock()
		for _, c := range memcached {
			addrs, err := s.memcachedAddrs(ctx, c)
			if err != nil {
				return nil, errf(500, "InternalFailure", "%v", err)
			}
			mc[c] = addrs
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type member struct {
		c  *cache
		id string
	}
	var all []member
	for _, c := range s.sortedCaches() {
		switch c.spec.Kind {
		case KindServerless:
			continue
		case KindReplicationGroup:
			if notInGroups {
				continue
			}
		}
		for _, g := range c.nodes {
			for _, m := range g {
				if id == "" || id == m {
					all = append(all, member{c, m})
				}
			}
		}
	}
	if id != "" && len(all) == 0 {
		return nil, errf(404, "CacheClusterNotFound", "CacheCluster not found: %s", id)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
	p, next, err := page(all, f.get("Marker"), size)
	if err != nil {
		return nil, err
	}
	out := cacheClustersResult{Marker: next}
	for _, m := range p {
		x := s.xmlCacheCluster(m.c, m.id, show)
		for i, addr := range mc[m.c] {
			if i < len(x.CacheNodes) {
				host, port, _ := net.SplitHostPort(addr)
				x.CacheNodes[i].Endpoint.Address = host
				x.CacheNodes[i].Endpoint.Port, _ = strconv.Atoi(port)
			}
		}
		out.CacheClusters = append(out.CacheClusters, x)
	}
	return out, nil
}

func (s *Server) describeServerlessCaches(_ context.Context, f form) (any, *apiError) {
	size, err := f.int("MaxResults", 50, 1, 50)
	if err != nil {
		return nil, err
	}
	name := f.get("ServerlessCacheName")
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []xmlServerlessCache
	for _, c := range s.sortedCaches() {
		if c.spec.Kind == KindServerless && (name == "" || name == c.spec.ID) {
			all = append(all, s.xmlServerlessCache(c))
		}
	}
	if name != "" && len(all) == 0 {
		return nil, errf(404, "ServerlessCacheNotFoundFault", "Serverless cache %s not found.", name)
	}
	p, next, err := page(all, f.get("NextToken"), size)
	if err != nil {
		return nil, err
	}
	return serverlessCachesResult{NextToken: next, ServerlessCaches: p}, nil
}

// resourceByARN finds what an ARN names: a cache, a member cluster, a snapshot or a serverless
// snapshot. It returns the tag list to read or change.
func (s *Server) resourceByARN(arn string) (*[]xmlTag, *apiError) {
	p := strings.SplitN(arn, ":", 7)
	if len(p) != 7 || p[0] != "arn" || p[2] != "elasticache" || p[6] == "" {
		return nil, errf(400, "InvalidARN", "The ARN %s is not valid.", arn)
	}
	kind, name := p[5], p[6]
	switch kind {
	case "replicationgroup":
		if c, ok := s.caches[name]; ok && c.spec.Kind == KindReplicationGroup {
			return &c.tags, nil
		}
		return nil, errf(404, "ReplicationGroupNotFoundFault", "Replication group %s not found.", name)
	case "cluster":
		if c, ok := s.caches[name]; ok && (c.spec.Kind == KindCacheCluster || c.spec.Kind == KindMemcached) {
			return &c.tags, nil
		}
		if c, ok := s.members[name]; ok {
			return &c.tags, nil
		}
		return nil, errf(404, "CacheClusterNotFound", "CacheCluster not found: %s", name)
	case "serverlesscache":
		if c, ok := s.caches[name]; ok && c.spec.Kind == KindServerless {
			return &c.tags, nil
		}
		return nil, errf(404, "ServerlessCacheNotFoundFault", "Serverless cache %s not found.", name)
	case "snapshot":
		if sn, ok := s.snapshots[name]; ok {
			return &sn.tags, nil
		}
		return nil, errf(404, "SnapshotNotFoundFault", "Snapshot %s not found.", name)
	case "serverlesscachesnapshot":
		if sn, ok := s.serverless[name]; ok {
			return &sn.tags, nil
		}
		return nil, errf(404, "ServerlessCacheSnapshotNotFoundFault", "Serverless cache snapshot %s not found.", name)
	}
	return nil, errf(400, "InvalidARN", "The ARN %s is not valid.", arn)
}

func (s *Server) listTags(_ context.Context, f form) (any, *apiError) {
	arn := f.get("ResourceName")
	if arn == "" {
		return nil, errMissing("ResourceName")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tags, err := s.resourceByARN(arn)
	if err != nil {
		return nil, err
	}
	return tagListResult{TagList: append([]xmlTag(nil), (*tags)...)}, nil
}

// maxTags is AWS's limit of tags per resource.
const maxTags = 50

func (s *Server) addTags(_ context.Context, f form) (any, *apiError) {
	arn := f.get("ResourceName")
	if arn == "" {
		return nil, errMissing("ResourceName")
	}
	add := f.tags()
	s.mu.Lock()
	defer s.mu.Unlock()
	tags, err := s.resourceByARN(arn)
	if err != nil {
		return nil, err
	}
	merged := mergeTags(*tags, add)
	if len(merged) > maxTags {
		return nil, errf(400, "TagQuotaPerResourceExceeded", "The request cannot be processed because it would cause the resource to have more than the allowed number of tags. The maximum number of tags permitted on a resource is %d.", maxTags)
	}
	*tags = merged
	return tagListResult{TagList: append([]xmlTag(nil), merged...)}, nil
}

func mergeTags(old, add []xmlTag) []xmlTag {
	out := append([]xmlTag(nil), old...)
	for _, t := range add {
		found := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value, found = t.Value, true
			}
		}
		if !found {
			out = append(out, t)
		}
	}
	return out
}

// DefaultCaches is a sandbox's set of caches: a cluster-mode-disabled Valkey group with two
// replicas (orders), a cluster-mode-enabled Redis OSS 7.0 group of three shards (sessions), a
// standalone cluster (solo), a serverless Valkey cache (carts), a Memcached cluster (memo) and a
// data-tiering group (tiered) that AWS cannot export.
func DefaultCaches() []Cache {
	return []Cache{
		{ID: "orders", Kind: KindReplicationGroup, Engine: "valkey", Replicas: 2, Tags: map[string]string{"team": "shop"}},
		{ID: "sessions", Kind: KindReplicationGroup, Engine: "redis", EngineVersion: "7.0.7", ClusterMode: true, Shards: 3, Replicas: 1},
		{ID: "solo", Kind: KindCacheCluster, Engine: "redis"},
		{ID: "carts", Kind: KindServerless, Engine: "valkey"},
		{ID: "memo", Kind: KindMemcached},
		{ID: "tiered", Kind: KindReplicationGroup, DataTiering: true, Replicas: 1},
	}
}
