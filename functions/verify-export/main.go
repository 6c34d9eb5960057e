// Command verify-export proves cacheport's exports: on S3 Object Created, Export Started,
// Export Verifying and the reconcile schedule. It only wires: the handler is
// shared/handler/verifyexport, the logic shared/verify.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/handler/verifyexport"
	"github.com/cacheport/cacheport/shared/telemetry"
)

const name = "verify-export"

// version is set at build time (-X main.version=...).
var version = "dev"

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
	h := verifyexport.Wire(cfg, clients, version, log, telemetry.NewMetrics(os.Stdout, name), time.Now)
	lambda.Start(h.Handle)
}
