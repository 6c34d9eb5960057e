// Command start-export begins cacheport's exports: on the window schedule, on Export Requested,
// on the advance schedule and on serverless Snapshot Created events. It only wires: the handler
// is shared/handler/startexport, the logic shared/start.
package main

import (
	"time"

	"github.com/cacheport/cacheport/shared/boot"
	"github.com/cacheport/cacheport/shared/handler/startexport"
)

func main() {
	boot.Run("start-export", func(e boot.Env) any { return startexport.Wire(e.Config, e.Clients, e.Log, e.Metrics, time.Now).Handle })
}
