// Command memcached-export dumps node-based Memcached clusters to S3 on Export Requested (kind
// memcached), from inside the cache's VPC. It only wires: the handler is
// shared/handler/memcachedexport, the logic shared/mcexport.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/handler/memcachedexport"
	"github.com/cacheport/cacheport/shared/telemetry"
)

const name = "memcached-export"

func main() {
	cfg, err := config.Load(os.Getenv)
	log := telemetry.NewLogger(os.Stdout, cfg.LogLevel, name)
	if err != nil {
		log.Error("invalid configuration", "error", err)
		os.Exit(1)
	}
	clients, err := awsconf.Load(context.Background(), awsconf.Settings{})
	if err != nil {
		log.Error("aws configuration", "error", err)
		os.Exit(1)
	}
	h := memcachedexport.Wire(cfg, clients, log, telemetry.NewMetrics(os.Stdout, name), time.Now)
	lambda.Start(h.Handle)
}
