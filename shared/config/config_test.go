package config

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"CACHEPORT_BUCKET": "exports"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Prefix != "cacheport" || c.BusName != "cacheport" || c.MaxAttempts != 3 || c.MaxBackupAge != 24*time.Hour ||
		c.SnapshotQuota != 20 || c.RetainLast != 7 || c.KeepSnapshots != 0 || c.LogLevel != slog.LevelInfo ||
		strings.Join(c.Engines, ",") != "redis,valkey" || c.Concurrency != 4 || c.FanoutThreshold != 10 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadValues(t *testing.T) {
	c, err := Load(env(map[string]string{
		"CACHEPORT_BUCKET": "exports", "CACHEPORT_PREFIX": "team/cp", "CACHEPORT_TARGET_IDS": "orders, carts ,",
		"CACHEPORT_TARGET_TAG": "backup=daily", "CACHEPORT_ENGINES": "Valkey", "CACHEPORT_MAX_BACKUP_AGE": "0",
		"CACHEPORT_LOG_LEVEL": "debug",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Prefix != "team/cp" || strings.Join(c.TargetIDs, "|") != "orders|carts" || c.TagKey != "backup" || c.TagValue != "daily" ||
		strings.Join(c.Engines, ",") != "valkey" || c.MaxBackupAge != 0 || c.LogLevel != slog.LevelDebug {
		t.Fatalf("values: %+v", c)
	}
}

func TestLoadNamesEveryBadVariable(t *testing.T) {
	_, err := Load(env(map[string]string{
		"CACHEPORT_BUCKET": "Bad_Bucket", "CACHEPORT_PREFIX": "/x", "CACHEPORT_MAX_ATTEMPTS": "0",
		"CACHEPORT_RPO": "soon", "CACHEPORT_ENGINES": "redis,mongodb", "CACHEPORT_TARGET_TAG": "=v",
		"CACHEPORT_LOG_LEVEL": "loud", "CACHEPORT_STALE_AFTER": "0",
	}))
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, v := range []string{"CACHEPORT_BUCKET=\"Bad_Bucket\"", "CACHEPORT_PREFIX", "CACHEPORT_MAX_ATTEMPTS=\"0\"", "CACHEPORT_RPO=\"soon\"",
		"CACHEPORT_ENGINES", "CACHEPORT_TARGET_TAG", "CACHEPORT_LOG_LEVEL", "CACHEPORT_STALE_AFTER"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not name %s: %v", v, err)
		}
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Want == "" {
		t.Errorf("errors are not *Error with what would be valid: %v", err)
	}
	if _, err := Load(env(nil)); err == nil || !strings.Contains(err.Error(), "CACHEPORT_BUCKET") {
		t.Errorf("missing bucket: %v", err)
	}
}
