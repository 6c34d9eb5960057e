// Command memcached-export dumps node-based Memcached clusters to S3 on Export Requested (kind
// memcached), from inside the cache's VPC. It only wires: the handler is
// shared/handler/memcachedexport, the logic shared/mcexport.
package main

import (
	"time"

	"github.com/cacheport/cacheport/shared/boot"
	"github.com/cacheport/cacheport/shared/handler/memcachedexport"
)

func main() {
	boot.Run("memcached-export", func(e boot.Env) any {
		return memcachedexport.Wire(e.Config, e.Clients, e.Log, e.Metrics, time.Now).Handle
	})
}
