// Command audit runs the control's test plan on a schedule: every cache in scope is judged
// against the RPO, each cache's newest verified export age becomes a metric (the stale-export
// alarm watches it) and each non-compliant cache an Audit Finding. It only wires: the handler is
// shared/handler/audit, the logic shared/audit.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/config"
	handler "github.com/cacheport/cacheport/shared/handler/audit"
	"github.com/cacheport/cacheport/shared/telemetry"
)

const name = "audit"

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
	h := handler.Wire(cfg, clients, log, telemetry.NewMetrics(os.Stdout, name), time.Now)
	lambda.Start(h.Handle)
}
