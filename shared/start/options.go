package start

import (
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/targets"
)

// OptionsFrom maps the validated settings onto start-export's options.
func OptionsFrom(c config.Config) Options {
	return Options{
		Bucket:          c.Bucket,
		Prefix:          c.Prefix,
		Filter:          targets.Filter{IDs: c.TargetIDs, TagKey: c.TagKey, TagValue: c.TagValue, Engines: c.Engines},
		MaxBackupAge:    c.MaxBackupAge,
		MaxAttempts:     c.MaxAttempts,
		SnapshotQuota:   c.SnapshotQuota,
		FanoutThreshold: c.FanoutThreshold,
		Concurrency:     c.Concurrency,
		SweepWindow:     c.StaleAfter + c.StaleAfter/6,
	}
}
