// Command verify-export verifies cacheport's exports (S3 Object Created, Export Started, Export Verifying, the reconcile schedule). It only wires: the handler is
// shared/handler/verifyexport.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/handler/verifyexport"
	"github.com/cacheport/cacheport/shared/telemetry"
)

const name = "verify-export"

func main() {
	cfg, err := config.Load(os.Getenv)
	log := telemetry.NewLogger(os.Stdout, cfg.LogLevel, name)
	if err != nil {
		log.Error("invalid configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(verifyexport.New(log, time.Now).Handle)
}
