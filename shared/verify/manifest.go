package verify

import (
	"strconv"
	"time"

	"github.com/cacheport/cacheport/shared/export"
)

// ManifestFormat is the value of Manifest.Format.
const ManifestFormat = "cacheport.manifest/1"

// Formats of exported objects.
const (
	FormatRDB       = "rdb"
	FormatMemcached = "cacheport-memcached/1"
)

// MemcachedSuffix ends the key of every Memcached dump: objects with it are proven as
// cacheport-memcached/1 dumps, all others as RDB files.
const MemcachedSuffix = ".mcd"

// Manifest is manifest.json, written once beside an export's data when every object is proven
// (CONTRACTS.md, "Manifest").
type Manifest struct {
	Format           string         `json:"format"`
	ExportID         string         `json:"export_id"`
	Cache            export.Cache   `json:"cache"`
	Source           ManifestSource `json:"source"`
	Objects          []ObjectProof  `json:"objects"`
	Restore          Restore        `json:"restore"`
	VerifiedAt       time.Time      `json:"verified_at"`
	DurationMS       int64          `json:"duration_ms"`
	CacheportVersion string         `json:"cacheport_version"`
}

// ManifestSource names the snapshot the export copied.
type ManifestSource struct {
	Snapshot string `json:"snapshot"`
	Shards   int    `json:"shards"`
}

// ObjectProof is what verification proved of one object. The same names appear in
// `cacheport verify --json`.
type ObjectProof struct {
	Key        string           `json:"key"`
	Size       int64            `json:"size"`
	ETag       string           `json:"etag"`
	SHA256     string           `json:"sha256"`
	Format     string           `json:"format"`
	Checksum   string           `json:"checksum"`
	Keys       int64            `json:"keys"`
	Expires    int64            `json:"expires"`
	Warnings   []string         `json:"warnings"`
	RDBVersion int              `json:"rdb_version,omitempty"`
	Dialect    string           `json:"dialect,omitempty"`
	KeysByDB   map[string]int64 `json:"keys_by_db,omitempty"`
	Databases  []int            `json:"databases,omitempty"`
}

// Restore says what the export can seed.
type Restore struct {
	// ClusterModeEnabledOK is false when any object uses a database other than 0: a
	// cluster-mode-enabled cache cannot be seeded from it.
	ClusterModeEnabledOK bool     `json:"cluster_mode_enabled_ok"`
	Notes                []string `json:"notes"`
}

// restoreOf derives what the objects can seed.
func restoreOf(objs []ObjectProof) Restore {
	r := Restore{ClusterModeEnabledOK: true, Notes: []string{}}
	for _, o := range objs {
		for _, db := range o.Databases {
			if db != 0 {
				r.ClusterModeEnabledOK = false
				r.Notes = append(r.Notes, o.Key+" uses database "+strconv.Itoa(db)+": it can seed a cluster-mode-disabled cache only")
				break
			}
		}
		if o.Format == FormatMemcached {
			r.Notes = append(r.Notes, o.Key+" is a cacheport-memcached/1 dump: load it into a node with `cacheport memcached restore`")
		}
		if o.Checksum == "disabled" {
			r.Notes = append(r.Notes, o.Key+" was written without a CRC-64 checksum: its integrity rests on the SHA-256 in this manifest")
		}
	}
	return r
}
