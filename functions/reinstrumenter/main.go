// Command reinstrumenter receives customers' Lambda CloudTrail events (EventBridge,
// forwarded to Sightline's bus) and repairs drifted instrumentation.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sightline/sightline/shared/instrument"
	"github.com/sightline/sightline/shared/integration"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	if err := run(context.Background(), os.Getenv); err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := parseConfig(getenv)
	if err != nil {
		return err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	inst, err := instrument.New(ctx, awsCfg, &integration.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.table}, cfg.inst)
	if err != nil {
		return err
	}
	h := &handler{inst: inst}
	lambda.Start(h.handle)
	return nil
}
