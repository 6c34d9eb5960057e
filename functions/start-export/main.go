// Command start-export begins cacheport's exports: on the window schedule, on Export Requested,
// on the advance schedule and on serverless Snapshot Created events. It only wires: the handler
// is shared/handler/startexport, the logic shared/start.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/handler/startexport"
	"github.com/cacheport/cacheport/shared/telemetry"
)

const name = "start-export"

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
	h := startexport.Wire(cfg, clients, log, telemetry.NewMetrics(os.Stdout, name), time.Now)
	lambda.Start(h.Handle)
}
