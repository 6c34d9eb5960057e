package ecsrv

import (
	"encoding/xml"
	"time"
)

// The XML shapes below follow botocore's service model for ElastiCache 2015-02-02 (member names,
// list member names such as <ReplicationGroups><ReplicationGroup> and, for the serverless
// shapes, <member>). Only the members the twin fills are declared; the SDK's deserializers skip
// what they do not know and leave absent members nil.

const xmlns = "http://elasticache.amazonaws.com/doc/2015-02-02/"

// timestamp is an ISO-8601 time as the Query protocol writes it.
type timestamp string

func ts(t time.Time) timestamp {
	if t.IsZero() {
		return ""
	}
	return timestamp(t.UTC().Format("2006-01-02T15:04:05.000Z"))
}

type xmlEndpoint struct {
	Address string `xml:"Address"`
	Port    int    `xml:"Port"`
}

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlReplicationGroup struct {
	ReplicationGroupID         string         `xml:"ReplicationGroupId"`
	Description                string         `xml:"Description"`
	Status                     string         `xml:"Status"`
	PendingModifiedValues      struct{}       `xml:"PendingModifiedValues"`
	MemberClusters             []string       `xml:"MemberClusters>ClusterId"`
	NodeGroups                 []xmlNodeGroup `xml:"NodeGroups>NodeGroup"`
	SnapshottingClusterID      string         `xml:"SnapshottingClusterId,omitempty"`
	AutomaticFailover          string         `xml:"AutomaticFailover"`
	MultiAZ                    string         `xml:"MultiAZ"`
	ConfigurationEndpoint      *xmlEndpoint   `xml:"ConfigurationEndpoint,omitempty"`
	SnapshotRetentionLimit     int            `xml:"SnapshotRetentionLimit"`
	SnapshotWindow             string         `xml:"SnapshotWindow,omitempty"`
	ClusterEnabled             bool           `xml:"ClusterEnabled"`
	CacheNodeType              string         `xml:"CacheNodeType"`
	AuthTokenEnabled           bool           `xml:"AuthTokenEnabled"`
	TransitEncryptionEnabled   bool           `xml:"TransitEncryptionEnabled"`
	AtRestEncryptionEnabled    bool           `xml:"AtRestEncryptionEnabled"`
	ARN                        string         `xml:"ARN"`
	ReplicationGroupCreateTime timestamp      `xml:"ReplicationGroupCreateTime,omitempty"`
	DataTiering                string         `xml:"DataTiering"`
	AutoMinorVersionUpgrade    bool           `xml:"AutoMinorVersionUpgrade"`
	NetworkType                string         `xml:"NetworkType"`
	IPDiscovery                string         `xml:"IpDiscovery"`
	ClusterMode                string         `xml:"ClusterMode"`
	Engine                     string         `xml:"Engine"`
}

type xmlNodeGroup struct {
	NodeGroupID      string               `xml:"NodeGroupId"`
	Status           string               `xml:"Status"`
	PrimaryEndpoint  *xmlEndpoint         `xml:"PrimaryEndpoint,omitempty"`
	ReaderEndpoint   *xmlEndpoint         `xml:"ReaderEndpoint,omitempty"`
	Slots            string               `xml:"Slots,omitempty"`
	NodeGroupMembers []xmlNodeGroupMember `xml:"NodeGroupMembers>NodeGroupMember"`
}

type xmlNodeGroupMember struct {
	CacheClusterID            string       `xml:"CacheClusterId"`
	CacheNodeID               string       `xml:"CacheNodeId"`
	ReadEndpoint              *xmlEndpoint `xml:"ReadEndpoint,omitempty"`
	PreferredAvailabilityZone string       `xml:"PreferredAvailabilityZone"`
	CurrentRole               string       `xml:"CurrentRole,omitempty"`
}

type xmlCacheCluster struct {
	CacheClusterID             string         `xml:"CacheClusterId"`
	ConfigurationEndpoint      *xmlEndpoint   `xml:"ConfigurationEndpoint,omitempty"`
	ClientDownloadLandingPage  string         `xml:"ClientDownloadLandingPage"`
	CacheNodeType              string         `xml:"CacheNodeType"`
	Engine                     string         `xml:"Engine"`
	EngineVersion              string         `xml:"EngineVersion"`
	CacheClusterStatus         string         `xml:"CacheClusterStatus"`
	NumCacheNodes              int            `xml:"NumCacheNodes"`
	PreferredAvailabilityZone  string         `xml:"PreferredAvailabilityZone"`
	CacheClusterCreateTime     timestamp      `xml:"CacheClusterCreateTime,omitempty"`
	PreferredMaintenanceWindow string         `xml:"PreferredMaintenanceWindow,omitempty"`
	PendingModifiedValues      struct{}       `xml:"PendingModifiedValues"`
	CacheParameterGroup        xmlParamGroup  `xml:"CacheParameterGroup"`
	CacheSubnetGroupName       string         `xml:"CacheSubnetGroupName"`
	CacheNodes                 []xmlCacheNode `xml:"CacheNodes>CacheNode"`
	AutoMinorVersionUpgrade    bool           `xml:"AutoMinorVersionUpgrade"`
	SecurityGroups             []xmlSecGroup  `xml:"SecurityGroups>member"`
	ReplicationGroupID         string         `xml:"ReplicationGroupId,omitempty"`
	SnapshotRetentionLimit     int            `xml:"SnapshotRetentionLimit"`
	SnapshotWindow             string         `xml:"SnapshotWindow,omitempty"`
	AuthTokenEnabled           bool           `xml:"AuthTokenEnabled"`
	TransitEncryptionEnabled   bool           `xml:"TransitEncryptionEnabled"`
	AtRestEncryptionEnabled    bool           `xml:"AtRestEncryptionEnabled"`
	ARN                        string         `xml:"ARN"`
	ReplicationGroupLogDeliv   bool           `xml:"ReplicationGroupLogDeliveryEnabled"`
	NetworkType                string         `xml:"NetworkType"`
	IPDiscovery                string         `xml:"IpDiscovery"`
}

type xmlParamGroup struct {
	CacheParameterGroupName string   `xml:"CacheParameterGroupName"`
	ParameterApplyStatus    string   `xml:"ParameterApplyStatus"`
	CacheNodeIDsToReboot    []string `xml:"CacheNodeIdsToReboot>CacheNodeId"`
}

type xmlSecGroup struct {
	SecurityGroupID string `xml:"SecurityGroupId"`
	Status          string `xml:"Status"`
}

type xmlCacheNode struct {
	CacheNodeID              string       `xml:"CacheNodeId"`
	CacheNodeStatus          string       `xml:"CacheNodeStatus"`
	CacheNodeCreateTime      timestamp    `xml:"CacheNodeCreateTime,omitempty"`
	Endpoint                 *xmlEndpoint `xml:"Endpoint,omitempty"`
	ParameterGroupStatus     string       `xml:"ParameterGroupStatus"`
	CustomerAvailabilityZone string       `xml:"CustomerAvailabilityZone"`
}

type xmlServerlessCache struct {
	ServerlessCacheName    string       `xml:"ServerlessCacheName"`
	Description            string       `xml:"Description"`
	CreateTime             timestamp    `xml:"CreateTime,omitempty"`
	Status                 string       `xml:"Status"`
	Engine                 string       `xml:"Engine"`
	MajorEngineVersion     string       `xml:"MajorEngineVersion"`
	FullEngineVersion      string       `xml:"FullEngineVersion"`
	SecurityGroupIDs       []string     `xml:"SecurityGroupIds>SecurityGroupId"`
	Endpoint               *xmlEndpoint `xml:"Endpoint,omitempty"`
	ReaderEndpoint         *xmlEndpoint `xml:"ReaderEndpoint,omitempty"`
	ARN                    string       `xml:"ARN"`
	SubnetIDs              []string     `xml:"SubnetIds>SubnetId"`
	SnapshotRetentionLimit int          `xml:"SnapshotRetentionLimit"`
	DailySnapshotTime      string       `xml:"DailySnapshotTime,omitempty"`
	NetworkType            string       `xml:"NetworkType"`
}

type xmlSnapshot struct {
	SnapshotName                string            `xml:"SnapshotName"`
	ReplicationGroupID          string            `xml:"ReplicationGroupId,omitempty"`
	ReplicationGroupDescription string            `xml:"ReplicationGroupDescription,omitempty"`
	CacheClusterID              string            `xml:"CacheClusterId,omitempty"`
	SnapshotStatus              string            `xml:"SnapshotStatus"`
	SnapshotSource              string            `xml:"SnapshotSource"`
	CacheNodeType               string            `xml:"CacheNodeType"`
	Engine                      string            `xml:"Engine"`
	EngineVersion               string            `xml:"EngineVersion"`
	NumCacheNodes               int               `xml:"NumCacheNodes,omitempty"`
	PreferredAvailabilityZone   string            `xml:"PreferredAvailabilityZone,omitempty"`
	CacheClusterCreateTime      timestamp         `xml:"CacheClusterCreateTime,omitempty"`
	PreferredMaintenanceWindow  string            `xml:"PreferredMaintenanceWindow"`
	Port                        int               `xml:"Port"`
	CacheParameterGroupName     string            `xml:"CacheParameterGroupName"`
	CacheSubnetGroupName        string            `xml:"CacheSubnetGroupName"`
	VpcID                       string            `xml:"VpcId"`
	AutoMinorVersionUpgrade     bool              `xml:"AutoMinorVersionUpgrade"`
	SnapshotRetentionLimit      int               `xml:"SnapshotRetentionLimit"`
	SnapshotWindow              string            `xml:"SnapshotWindow"`
	NumNodeGroups               int               `xml:"NumNodeGroups,omitempty"`
	AutomaticFailover           string            `xml:"AutomaticFailover,omitempty"`
	NodeSnapshots               []xmlNodeSnapshot `xml:"NodeSnapshots>NodeSnapshot"`
	KmsKeyID                    string            `xml:"KmsKeyId,omitempty"`
	ARN                         string            `xml:"ARN"`
	DataTiering                 string            `xml:"DataTiering"`
}

type xmlNodeSnapshot struct {
	CacheClusterID         string           `xml:"CacheClusterId,omitempty"`
	NodeGroupID            string           `xml:"NodeGroupId,omitempty"`
	CacheNodeID            string           `xml:"CacheNodeId"`
	NodeGroupConfiguration *xmlNodeGroupCfg `xml:"NodeGroupConfiguration,omitempty"`
	CacheSize              string           `xml:"CacheSize,omitempty"`
	CacheNodeCreateTime    timestamp        `xml:"CacheNodeCreateTime,omitempty"`
	SnapshotCreateTime     timestamp        `xml:"SnapshotCreateTime,omitempty"`
}

type xmlNodeGroupCfg struct {
	NodeGroupID              string   `xml:"NodeGroupId"`
	Slots                    string   `xml:"Slots,omitempty"`
	ReplicaCount             int      `xml:"ReplicaCount"`
	PrimaryAvailabilityZone  string   `xml:"PrimaryAvailabilityZone"`
	ReplicaAvailabilityZones []string `xml:"ReplicaAvailabilityZones>AvailabilityZone"`
}

type xmlServerlessSnapshot struct {
	ServerlessCacheSnapshotName  string            `xml:"ServerlessCacheSnapshotName"`
	ARN                          string            `xml:"ARN"`
	KmsKeyID                     string            `xml:"KmsKeyId,omitempty"`
	SnapshotType                 string            `xml:"SnapshotType"`
	Status                       string            `xml:"Status"`
	CreateTime                   timestamp         `xml:"CreateTime,omitempty"`
	ExpiryTime                   timestamp         `xml:"ExpiryTime,omitempty"`
	BytesUsedForCache            string            `xml:"BytesUsedForCache,omitempty"`
	ServerlessCacheConfiguration xmlServerlessConf `xml:"ServerlessCacheConfiguration"`
}

type xmlServerlessConf struct {
	ServerlessCacheName string `xml:"ServerlessCacheName"`
	Engine              string `xml:"Engine"`
	MajorEngineVersion  string `xml:"MajorEngineVersion"`
}

type xmlEvent struct {
	SourceIdentifier string    `xml:"SourceIdentifier"`
	SourceType       string    `xml:"SourceType"`
	Message          string    `xml:"Message"`
	Date             timestamp `xml:"Date"`
}

// Results (the content of <ActionResult>).

type replicationGroupsResult struct {
	Marker            string                `xml:"Marker,omitempty"`
	ReplicationGroups []xmlReplicationGroup `xml:"ReplicationGroups>ReplicationGroup"`
}

type cacheClustersResult struct {
	Marker        string            `xml:"Marker,omitempty"`
	CacheClusters []xmlCacheCluster `xml:"CacheClusters>CacheCluster"`
}

type serverlessCachesResult struct {
	NextToken        string               `xml:"NextToken,omitempty"`
	ServerlessCaches []xmlServerlessCache `xml:"ServerlessCaches>member"`
}

type snapshotsResult struct {
	Marker    string        `xml:"Marker,omitempty"`
	Snapshots []xmlSnapshot `xml:"Snapshots>Snapshot"`
}

type serverlessSnapshotsResult struct {
	NextToken                string                  `xml:"NextToken,omitempty"`
	ServerlessCacheSnapshots []xmlServerlessSnapshot `xml:"ServerlessCacheSnapshots>ServerlessCacheSnapshot"`
}

type tagListResult struct {
	TagList []xmlTag `xml:"TagList>Tag"`
}

type snapshotResult struct {
	Snapshot xmlSnapshot `xml:"Snapshot"`
}

type serverlessSnapshotResult struct {
	ServerlessCacheSnapshot xmlServerlessSnapshot `xml:"ServerlessCacheSnapshot"`
}

type eventsResult struct {
	Marker string     `xml:"Marker,omitempty"`
	Events []xmlEvent `xml:"Events>Event"`
}

type xmlErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}
