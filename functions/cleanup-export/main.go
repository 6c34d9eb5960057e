// Command cleanup-export cleans up failed, cancelled and stuck exports and applies retention
// (Export Failed, Export Cancelled, Export Verified, serverless failure events, S3 Object
// Created, the stale schedule). It only wires: the handler is shared/handler/cleanupexport, the
// logic shared/cleanup.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cacheport/cacheport/shared/awsconf"
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
	clients, err := awsconf.Load(context.Background(), awsconf.Settings{})
	if err != nil {
		log.Error("aws configuration", "error", err)
		os.Exit(1)
	}
	h := cleanupexport.Wire(cfg, clients, log, telemetry.NewMetrics(os.Stdout, name), time.Now)
	lambda.Start(h.Handle)
}
