// Package config reads cacheport's settings from the environment once, fills defaults and
// validates them, so that a bad deploy fails at cold start naming the variable, the bad value and
// what would be valid. docs/architecture.md and the README list every variable with its default.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cacheport/cacheport/shared/export"
)

// Defaults of the settings.
const (
	DefaultBusName         = "cacheport"
	DefaultMaxBackupAge    = 24 * time.Hour
	DefaultMaxAttempts     = 3
	DefaultSnapshotQuota   = 20
	DefaultFanoutThreshold = 10
	DefaultConcurrency     = 4
	DefaultRPO             = 26 * time.Hour
	DefaultStaleAfter      = 6 * time.Hour
	DefaultRetainLast      = 7
	DefaultRetainMaxAge    = 720 * time.Hour
	DefaultKeepSnapshots   = 0
)

// KnownEngines are the engine names a target filter may use.
var KnownEngines = []string{"redis", "valkey", "memcached"}

// Config is every setting of cacheport's functions. The zero value is not valid: use Load.
type Config struct {
	Bucket          string        // CACHEPORT_BUCKET, required
	Prefix          string        // CACHEPORT_PREFIX
	BusName         string        // CACHEPORT_BUS_NAME
	TargetIDs       []string      // CACHEPORT_TARGET_IDS
	TagKey          string        // CACHEPORT_TARGET_TAG (key part)
	TagValue        string        // CACHEPORT_TARGET_TAG (value part; empty: any value)
	Engines         []string      // CACHEPORT_ENGINES
	MaxBackupAge    time.Duration // CACHEPORT_MAX_BACKUP_AGE
	MaxAttempts     int           // CACHEPORT_MAX_ATTEMPTS
	SnapshotQuota   int           // CACHEPORT_SNAPSHOT_QUOTA
	FanoutThreshold int           // CACHEPORT_FANOUT_THRESHOLD
	Concurrency     int           // CACHEPORT_CONCURRENCY
	RPO             time.Duration // CACHEPORT_RPO
	StaleAfter      time.Duration // CACHEPORT_STALE_AFTER
	RetainLast      int           // CACHEPORT_RETAIN_LAST
	RetainMaxAge    time.Duration // CACHEPORT_RETAIN_MAX_AGE
	KeepSnapshots   int           // CACHEPORT_KEEP_SNAPSHOTS
	LogLevel        slog.Level    // CACHEPORT_LOG_LEVEL
}

// Error is a configuration error: one variable, its bad value and what would be valid.
type Error struct {
	Var, Value, Want string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s=%q is not valid: %s", e.Var, e.Value, e.Want)
}

// Load reads the settings through getenv (os.Getenv in production), fills defaults and validates
// them. It returns every problem found, joined, each an *Error.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	bad := func(v, val, want string) { errs = append(errs, &Error{Var: v, Value: val, Want: want}) }
	str := func(v, def string) string {
		if s := strings.TrimSpace(getenv(v)); s != "" {
			return s
		}
		return def
	}
	num := func(v string, def, min int) int {
		s := strings.TrimSpace(getenv(v))
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < min {
			bad(v, s, fmt.Sprintf("a whole number of at least %d", min))
			return def
		}
		return n
	}
	dur := func(v string, def time.Duration, allowZero bool) time.Duration {
		s := strings.TrimSpace(getenv(v))
		if s == "" {
			return def
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || (d == 0 && !allowZero) {
			want := "a positive Go duration such as 24h or 90m"
			if allowZero {
				want = "a Go duration such as 24h or 90m, or 0"
			}
			bad(v, s, want)
			return def
		}
		return d
	}
	list := func(v string) []string {
		var out []string
		for _, p := range strings.Split(getenv(v), ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}

	c := Config{
		Bucket:          str("CACHEPORT_BUCKET", ""),
		Prefix:          str("CACHEPORT_PREFIX", export.DefaultPrefix),
		BusName:         str("CACHEPORT_BUS_NAME", DefaultBusName),
		TargetIDs:       list("CACHEPORT_TARGET_IDS"),
		MaxBackupAge:    dur("CACHEPORT_MAX_BACKUP_AGE", DefaultMaxBackupAge, true),
		MaxAttempts:     num("CACHEPORT_MAX_ATTEMPTS", DefaultMaxAttempts, 1),
		SnapshotQuota:   num("CACHEPORT_SNAPSHOT_QUOTA", DefaultSnapshotQuota, 1),
		FanoutThreshold: num("CACHEPORT_FANOUT_THRESHOLD", DefaultFanoutThreshold, 0),
		Concurrency:     num("CACHEPORT_CONCURRENCY", DefaultConcurrency, 1),
		RPO:             dur("CACHEPORT_RPO", DefaultRPO, false),
		StaleAfter:      dur("CACHEPORT_STALE_AFTER", DefaultStaleAfter, false),
		RetainLast:      num("CACHEPORT_RETAIN_LAST", DefaultRetainLast, 1),
		RetainMaxAge:    dur("CACHEPORT_RETAIN_MAX_AGE", DefaultRetainMaxAge, false),
		KeepSnapshots:   num("CACHEPORT_KEEP_SNAPSHOTS", DefaultKeepSnapshots, 0),
	}
	if c.Bucket == "" {
		bad("CACHEPORT_BUCKET", "", "the name of the export bucket (required)")
	} else if !validBucket(c.Bucket) {
		bad("CACHEPORT_BUCKET", c.Bucket, "an S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-'")
	}
	if err := export.ValidatePrefix(c.Prefix); err != nil {
		bad("CACHEPORT_PREFIX", c.Prefix, "lower-case a-z, 0-9, '.', '/' and '-', not starting or ending with '/'")
	}
	for _, id := range c.TargetIDs {
		if strings.ContainsAny(id, "/ ") {
			bad("CACHEPORT_TARGET_IDS", getenv("CACHEPORT_TARGET_IDS"), "comma-separated cache ids")
			break
		}
	}
	if tag := strings.TrimSpace(getenv("CACHEPORT_TARGET_TAG")); tag != "" {
		k, v, _ := strings.Cut(tag, "=")
		c.TagKey, c.TagValue = strings.TrimSpace(k), strings.TrimSpace(v)
		if c.TagKey == "" {
			bad("CACHEPORT_TARGET_TAG", tag, "key=value or key (any value)")
		}
	}
	c.Engines = list("CACHEPORT_ENGINES")
	if len(c.Engines) == 0 {
		c.Engines = []string{"redis", "valkey"}
	}
	for i, e := range c.Engines {
		c.Engines[i] = strings.ToLower(e)
		if !slices.Contains(KnownEngines, c.Engines[i]) {
			bad("CACHEPORT_ENGINES", getenv("CACHEPORT_ENGINES"), "a comma-separated list of "+strings.Join(KnownEngines, ", "))
			break
		}
	}
	if lv := strings.TrimSpace(getenv("CACHEPORT_LOG_LEVEL")); lv != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lv)); err != nil {
			bad("CACHEPORT_LOG_LEVEL", lv, "debug, info, warn or error")
		}
	}
	return c, errors.Join(errs...)
}

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-') {
			return false
		}
	}
	return b[0] != '.' && b[0] != '-' && b[len(b)-1] != '.' && b[len(b)-1] != '-'
}
