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
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/handler/startexport"
	"github.com/cacheport/cacheport/shared/start"
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
	aws, err := awsconf.Load(context.Background(), awsconf.Settings{})
	if err != nil {
		log.Error("aws configuration", "error", err)
		os.Exit(1)
	}
	m := export.NewMachine(export.NewStore(aws.S3, cfg.Bucket), export.NewPublisher(aws.EventBridge, cfg.BusName))
	st := start.New(start.OptionsFrom(cfg), aws.ElastiCache, m, log, telemetry.NewMetrics(os.Stdout, name))
	lambda.Start(startexport.New(st, log, time.Now).Handle)
}
