// Command audit runs the control's test plan on a schedule: every cache in scope is judged
// against the RPO, each cache's newest verified export age becomes a metric (the stale-export
// alarm watches it) and each non-compliant cache an Audit Finding. It only wires: the handler is
// shared/handler/audit, the logic shared/audit.
package main

import (
	"time"

	"github.com/cacheport/cacheport/shared/boot"
	handler "github.com/cacheport/cacheport/shared/handler/audit"
)

func main() {
	boot.Run("audit", func(e boot.Env) any { return handler.Wire(e.Config, e.Clients, e.Log, e.Metrics, time.Now).Handle })
}
