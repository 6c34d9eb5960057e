// Command verify-export proves cacheport's exports: on S3 Object Created, Export Started,
// Export Verifying and the reconcile schedule. It only wires: the handler is
// shared/handler/verifyexport, the logic shared/verify.
package main

import (
	"time"

	"github.com/cacheport/cacheport/shared/boot"
	"github.com/cacheport/cacheport/shared/handler/verifyexport"
)

// version is set at build time (-X main.version=...).
var version = "dev"

func main() {
	boot.Run("verify-export", func(e boot.Env) any {
		return verifyexport.Wire(e.Config, e.Clients, version, e.Log, e.Metrics, time.Now).Handle
	})
}
