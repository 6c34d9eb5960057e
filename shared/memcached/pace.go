package memcached

import (
	"context"
	"time"
)

// pacer keeps a running count of keys and bytes under their per-second limits by sleeping
// before the next batch when the work done so far is ahead of schedule.
type pacer struct {
	keysPerSec  float64
	bytesPerSec float64
	start       time.Time
	keys, bytes int64
}

func newPacer(keysPerSec, bytesPerSec float64) *pacer {
	return &pacer{keysPerSec: keysPerSec, bytesPerSec: bytesPerSec, start: time.Now()}
}

// add counts work done and waits until it is within the limits, or ctx ends.
func (p *pacer) add(ctx context.Context, keys, bytes int64) error {
	p.keys += keys
	p.bytes += bytes
	var due time.Duration
	if p.keysPerSec > 0 {
		due = time.Duration(float64(p.keys) / p.keysPerSec * float64(time.Second))
	}
	if p.bytesPerSec > 0 {
		if d := time.Duration(float64(p.bytes) / p.bytesPerSec * float64(time.Second)); d > due {
			due = d
		}
	}
	wait := due - time.Since(p.start)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
