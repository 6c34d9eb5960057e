// Package awsconf builds the AWS clients every cacheport binary uses, the same way for the
// functions, the CLI and the local twin: the SDK's default chain (environment, shared config,
// the Lambda role), an optional region, profile and endpoint, and path-style S3 addressing
// whenever the endpoint is not AWS's (a local twin or an S3-compatible server).
package awsconf

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Settings choose where the clients go. The zero value uses the SDK's defaults alone.
type Settings struct {
	Region   string
	Profile  string
	Endpoint string // every service; empty: AWS_ENDPOINT_URL(_SERVICE) or AWS's own
	// Getenv reads the environment (os.Getenv when nil) to tell whether an endpoint override
	// is in force for S3.
	Getenv func(string) string
}

// Clients are the three service clients cacheport calls.
type Clients struct {
	Config      aws.Config
	S3          *s3.Client
	ElastiCache *elasticache.Client
	EventBridge *eventbridge.Client
}

// Load builds the clients.
func Load(ctx context.Context, s Settings) (*Clients, error) {
	var opts []func(*config.LoadOptions) error
	if s.Region != "" {
		opts = append(opts, config.WithRegion(s.Region))
	}
	if s.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	if s.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(s.Endpoint)
	}
	return FromConfig(cfg, s), nil
}

// FromConfig builds the clients from an aws.Config made elsewhere (the local twin gives each
// in-process function its own credentials this way).
func FromConfig(cfg aws.Config, s Settings) *Clients {
	return &Clients{
		Config:      cfg,
		S3:          s3.NewFromConfig(cfg, S3Options(s)),
		ElastiCache: elasticache.NewFromConfig(cfg),
		EventBridge: eventbridge.NewFromConfig(cfg),
	}
}

// S3Options sets path-style addressing when S3 is not AWS's: an explicit endpoint, or
// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 in the environment (local servers have no
// bucket-name DNS).
func S3Options(s Settings) func(*s3.Options) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = osGetenv
	}
	custom := s.Endpoint != "" || getenv("AWS_ENDPOINT_URL") != "" || getenv("AWS_ENDPOINT_URL_S3") != ""
	return func(o *s3.Options) {
		if custom {
			o.UsePathStyle = true
		}
	}
}
