// Command cleanup-export cleans up failed, cancelled and stuck exports and applies retention
// (Export Failed, Export Cancelled, Export Verified, serverless failure events, S3 Object
// Created, the stale schedule). It only wires: the handler is shared/handler/cleanupexport, the
// logic shared/cleanup.
package main

import (
	"time"

	"github.com/cacheport/cacheport/shared/boot"
	"github.com/cacheport/cacheport/shared/handler/cleanupexport"
)

func main() {
	boot.Run("cleanup-export", func(e boot.Env) any {
		return cleanupexport.Wire(e.Config, e.Clients, e.Log, e.Metrics, time.Now).Handle
	})
}
