// Command grant-bucket-access is the CloudFormation custom resource that gives ElastiCache its
// documented ACL grant on the export bucket. It only wires: the handler is
// shared/handler/grantaccess.
package main

import (
	"context"
	"log"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cacheport/cacheport/shared/grant"
	"github.com/cacheport/cacheport/shared/handler/grantaccess"
	"github.com/cacheport/cacheport/shared/telemetry"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("grant-bucket-access: load AWS config: %v", err)
	}
	logger := telemetry.NewLogger(os.Stdout, slog.LevelInfo, "grant-bucket-access")
	h := grantaccess.New(grant.New(s3.NewFromConfig(cfg)), cfg.Region, logger)
	lambda.Start(cfn.LambdaWrap(h.Handle))
}
