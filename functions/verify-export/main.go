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
	"github.com/cacheport/cacheport/shared/export"
	"github.com/cacheport/cacheport/shared/handler/verifyexport"
	"github.com/cacheport/cacheport/shared/telemetry"
	"github.com/cacheport/cacheport/shared/verify"
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
	aws, err := awsconf.Load(context.Background(), awsconf.Settings{})
	if err != nil {
		log.Error("aws configuration", "error", err)
		os.Exit(1)
	}
	m := export.NewMachine(export.NewStore(aws.S3, cfg.Bucket), export.NewPublisher(aws.EventBridge, cfg.BusName))
	v := verify.New(verify.OptionsFrom(cfg, version), aws.S3, aws.ElastiCache, m, log, telemetry.NewMetrics(os.Stdout, name))
	lambda.Start(verifyexport.New(v, log, time.Now).Handle)
}
