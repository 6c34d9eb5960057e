// Command cleanup-export cleans up failed, cancelled and stuck exports and applies retention (Export Failed, Export Cancelled, Export Verified, serverless failure events, S3 Object Created, the stale schedule). It only wires: the handler is
// shared/handler/cleanupexport.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/handler/cleanupexport"
	"github.com/cacheport/cacheport/shared/telemetry"
)

const name = "cleanup-export"

func main() {
	cfg, err := config.Load(os.Getenv)
	log := telemetry.NewLogger(os.Stdout, cfg.LogLevel, name)
	if err != nil {
		log.Error("invalid configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(cleanupexport.New(log, time.Now).Handle)
}
