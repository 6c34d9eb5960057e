package export

import "time"

// Format is the value of Record.Format for records this version writes.
const Format = "cacheport.export/1"

// Kind says what sort of cache an export comes from.
type Kind string

// The kinds of cache (CONTRACTS.md, "The export record").
const (
	KindReplicationGroup Kind = "replication-group"
	KindCacheCluster     Kind = "cache-cluster"
	KindServerless       Kind = "serverless"
	KindMemcached        Kind = "memcached"
)

// Cache describes the cache an export copies. Shards is the number of node groups (one .rdb
// object each) for node-based caches, 0 when unknown (serverless).
type Cache struct {
	ID            string `json:"id"`
	Kind          Kind   `json:"kind"`
	Engine        string `json:"engine"`
	EngineVersion string `json:"engine_version,omitempty"`
	ClusterMode   bool   `json:"cluster_mode"`
	Shards        int    `json:"shards,omitempty"`
}

// Source is the snapshot an export copies.
type Source struct {
	Snapshot        string `json:"snapshot,omitempty"`
	Automated       bool   `json:"automated"`
	MadeByCacheport bool   `json:"made_by_cacheport"`
}

// Object is one exported object as observed in the bucket.
type Object struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
	ETag string `json:"etag,omitempty"`
}

// Error is why an export failed: a stable code, a message for people, and the object at fault.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Object  string `json:"object,omitempty"`
}

// Removal is one thing cleanup removed (an object, an object version or a snapshot).
type Removal struct {
	What string    `json:"what"`
	Name string    `json:"name"`
	At   time.Time `json:"at"`
}

// HistoryEntry records one transition.
type HistoryEntry struct {
	Stage  Stage     `json:"stage"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Record is the export record, export.json, the state of one export (CONTRACTS.md). Only this
// package writes it, through Store and the transitions in machine.go.
type Record struct {
	Format      string         `json:"format"`
	ExportID    string         `json:"export_id"`
	Cache       Cache          `json:"cache"`
	Bucket      string         `json:"bucket"`
	Prefix      string         `json:"prefix"`
	Window      string         `json:"window"`
	Attempt     int            `json:"attempt"`
	MaxAttempts int            `json:"max_attempts"`
	Stage       Stage          `json:"stage"`
	Source      Source         `json:"source"`
	Target      string         `json:"target,omitempty"`
	Objects     []Object       `json:"objects"`
	Error       *Error         `json:"error,omitempty"`
	Removed     []Removal      `json:"removed"`
	History     []HistoryEntry `json:"history"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	// Checkpoint is opaque state a stage keeps between invocations (a verification's progress).
	Checkpoint map[string]string `json:"checkpoint,omitempty"`
	// NotBefore delays the next attempt (cleanup's back-off); zero means now.
	NotBefore time.Time `json:"not_before,omitzero"`
}
