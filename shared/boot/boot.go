// Package boot starts every cacheport function the same way: the settings read and validated
// once at cold start (a bad deploy fails there, naming the variable), the JSON logger, the
// metrics emitter and the AWS clients, then lambda.Start with the handler the function wires.
package boot

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cacheport/cacheport/shared/awsconf"
	"github.com/cacheport/cacheport/shared/config"
	"github.com/cacheport/cacheport/shared/telemetry"
)

// Env is what a function's wiring receives.
type Env struct {
	Config  config.Config
	Clients *awsconf.Clients
	Log     *slog.Logger
	Metrics *telemetry.Metrics
}

// Prepare reads the settings through getenv and builds the logger, metrics and clients, writing
// logs and metrics to out. The logger is usable even when the error is not nil.
func Prepare(ctx context.Context, name string, getenv func(string) string, out io.Writer) (Env, error) {
	cfg, err := config.Load(getenv)
	env := Env{Config: cfg, Log: telemetry.NewLogger(out, cfg.LogLevel, name), Metrics: telemetry.NewMetrics(out, name)}
	if err != nil {
		return env, err
	}
	env.Clients, err = awsconf.Load(ctx, awsconf.Settings{Getenv: getenv})
	return env, err
}

// Run prepares the function and starts the Lambda runtime with the handler wire returns
// (a Handle method value). A configuration error is logged and ends the process at cold start.
func Run(name string, wire func(Env) any) {
	env, err := Prepare(context.Background(), name, os.Getenv, os.Stdout)
	if err != nil {
		env.Log.Error("cannot start: invalid configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(wire(env))
}
