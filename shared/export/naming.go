package export

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Naming rules of CONTRACTS.md ("Export identity", "S3 layout").
const (
	// DefaultPrefix is the key prefix used when none is configured.
	DefaultPrefix = "cacheport"
	// SnapshotStem starts the name of every snapshot cacheport makes (and, for serverless
	// exports, the keys AWS writes: the export is named after the snapshot).
	SnapshotStem = "cacheport-"
	// TagManaged and TagExportID are the ownership tags on the snapshots cacheport makes.
	TagManaged  = "cacheport:managed"
	TagExportID = "cacheport:export-id"
	// WindowLayout formats a window: the start of the schedule window, UTC.
	WindowLayout = "20060102-1504"
	// MaxExportIDLen is the longest export id accepted.
	MaxExportIDLen = 200
	// RecordName and ManifestName are the record's and manifest's names beside the data.
	RecordName   = "export.json"
	ManifestName = "manifest.json"
)

var (
	exportIDRe = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)
	prefixRe   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9./-]*[a-z0-9])?$`)
)

// Window returns the window a scheduled time belongs to: the time, in UTC, to the minute.
func Window(t time.Time) string { return t.UTC().Truncate(time.Minute).Format(WindowLayout) }

// ParseWindow parses a window string.
func ParseWindow(w string) (time.Time, error) {
	t, err := time.Parse(WindowLayout, w)
	if err != nil {
		return time.Time{}, fmt.Errorf("window %q is not YYYYMMDD-HHMM: %w", w, err)
	}
	return t, nil
}

// ScheduledID returns the export id of a scheduled export: CACHE-WINDOW, lower-cased.
func ScheduledID(cacheID string, t time.Time) (string, error) {
	id := strings.ToLower(cacheID) + "-" + Window(t)
	return id, ValidateExportID(id)
}

// ValidateExportID checks an export id (scheduled or given with --export-name): lower-case
// [a-z0-9-], starting and ending with a letter or digit, at most MaxExportIDLen characters.
// ElastiCache stores target names lower-case, so nothing else survives the round trip.
func ValidateExportID(id string) error {
	if len(id) == 0 || len(id) > MaxExportIDLen || !exportIDRe.MatchString(id) {
		return fmt.Errorf("export id %q is not valid: use 1-%d characters of lower-case a-z, 0-9 and '-', starting and ending with a letter or digit", id, MaxExportIDLen)
	}
	return nil
}

// ValidatePrefix checks a key prefix: lower-case [a-z0-9./-], no leading or trailing '/', no
// empty or dot segments.
func ValidatePrefix(p string) error {
	if !prefixRe.MatchString(p) {
		return fmt.Errorf("prefix %q is not valid: use lower-case a-z, 0-9, '.', '/' and '-', not starting or ending with '/'", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("prefix %q has an empty or dot segment", p)
		}
	}
	return nil
}

// Layout computes every key and name of one export. Its zero value is not usable: build it with
// NewLayout.
type Layout struct {
	Prefix   string // P
	CacheID  string // CACHE, lower-cased
	ExportID string // EXPORT_ID
}

// NewLayout returns the layout of an export, checking the prefix and export id.
func NewLayout(prefix, cacheID, exportID string) (Layout, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := ValidatePrefix(prefix); err != nil {
		return Layout{}, err
	}
	if err := ValidateExportID(exportID); err != nil {
		return Layout{}, err
	}
	c := strings.ToLower(cacheID)
	if c == "" || strings.ContainsAny(c, "/ ") {
		return Layout{}, fmt.Errorf("cache id %q is not valid", cacheID)
	}
	return Layout{Prefix: prefix, CacheID: c, ExportID: exportID}, nil
}

// Dir is P/CACHE/EXPORT_ID/, the folder of everything this export writes (ends in '/').
func (l Layout) Dir() string { return path.Join(l.Prefix, l.CacheID, l.ExportID) + "/" }

// CacheDir is P/CACHE/, the folder of every export of the cache (ends in '/').
func (l Layout) CacheDir() string { return path.Join(l.Prefix, l.CacheID) + "/" }

// RecordKey is P/CACHE/EXPORT_ID/export.json.
func (l Layout) RecordKey() string { return l.Dir() + RecordName }

// ManifestKey is P/CACHE/EXPORT_ID/manifest.json.
func (l Layout) ManifestKey() string { return l.Dir() + ManifestName }

// AttemptDir is P/CACHE/EXPORT_ID/aN/, where attempt N's objects land (ends in '/').
func (l Layout) AttemptDir(attempt int) string { return l.Dir() + "a" + strconv.Itoa(attempt) + "/" }

// TargetName is CopySnapshot's TargetSnapshotName for attempt N: P/CACHE/EXPORT_ID/aN/EXPORT_ID.
func (l Layout) TargetName(attempt int) string { return l.AttemptDir(attempt) + l.ExportID }

// ShardKey is the key ElastiCache writes for shard n (1-based) of attempt N:
// TARGET-000n.rdb.
func (l Layout) ShardKey(attempt, shard int) string {
	return fmt.Sprintf("%s-%04d.rdb", l.TargetName(attempt), shard)
}

// SnapshotName is the name of the snapshot cacheport makes for attempt N: cacheport-EXPORT_ID-aN.
func (l Layout) SnapshotName(attempt int) string { return SnapshotName(l.ExportID, attempt) }

// SnapshotName is the name of the snapshot cacheport makes for an export's attempt.
func SnapshotName(exportID string, attempt int) string {
	return SnapshotStem + exportID + "-a" + strconv.Itoa(attempt)
}

// OwnershipTags are the tags on every snapshot cacheport makes for exportID.
func OwnershipTags(exportID string) map[string]string {
	return map[string]string{TagManaged: "true", TagExportID: exportID}
}

// OwnsSnapshot reports whether a snapshot is one cacheport made for exportID: its name must be
// one of the export's snapshot names and its tags must carry the ownership tags. Both are
// required before anything is deleted.
func OwnsSnapshot(name string, tags map[string]string, exportID string) bool {
	if tags[TagManaged] != "true" || tags[TagExportID] != exportID {
		return false
	}
	rest, ok := strings.CutPrefix(name, SnapshotStem+exportID+"-a")
	if !ok {
		return false
	}
	n, err := strconv.Atoi(rest)
	return err == nil && n > 0 && strconv.Itoa(n) == rest
}

// ParseRecordKey splits P/CACHE/EXPORT_ID/export.json (or any key below P/CACHE/EXPORT_ID/)
// into its layout, given the prefix. ok is false for keys outside the layout.
func ParseRecordKey(prefix, key string) (l Layout, rest string, ok bool) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	after, found := strings.CutPrefix(key, prefix+"/")
	if !found {
		return Layout{}, "", false
	}
	parts := strings.SplitN(after, "/", 3)
	if len(parts) < 3 {
		return Layout{}, "", false
	}
	l, err := NewLayout(prefix, parts[0], parts[1])
	if err != nil {
		return Layout{}, "", false
	}
	return l, parts[2], true
}

// AttemptOf returns N when rest (a key below the export's folder) is under aN/; 0 otherwise.
func AttemptOf(rest string) int {
	seg, _, found := strings.Cut(rest, "/")
	if !found || len(seg) < 2 || seg[0] != 'a' {
		return 0
	}
	n, err := strconv.Atoi(seg[1:])
	if err != nil || n <= 0 || strconv.Itoa(n) != seg[1:] {
		return 0
	}
	return n
}

// ParseSnapshotName splits a snapshot name cacheport-EXPORT_ID-aN into the export id and the
// attempt; ok is false for any other name.
func ParseSnapshotName(name string) (exportID string, attempt int, ok bool) {
	rest, found := strings.CutPrefix(name, SnapshotStem)
	if !found {
		return "", 0, false
	}
	i := strings.LastIndex(rest, "-a")
	if i <= 0 {
		return "", 0, false
	}
	id, n := rest[:i], rest[i+2:]
	attempt, err := strconv.Atoi(n)
	if err != nil || attempt <= 0 || strconv.Itoa(attempt) != n || ValidateExportID(id) != nil {
		return "", 0, false
	}
	return id, attempt, true
}

// CacheOfScheduledID returns CACHE of a scheduled export id CACHE-YYYYMMDD-HHMM; ok is false
// for ids given by hand, which do not name their cache.
func CacheOfScheduledID(id string) (string, bool) {
	n := len(WindowLayout)
	if len(id) < n+2 || id[len(id)-n-1] != '-' {
		return "", false
	}
	if _, err := ParseWindow(id[len(id)-n:]); err != nil {
		return "", false
	}
	return id[:len(id)-n-1], true
}
