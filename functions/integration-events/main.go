// Command integration-events receives the customer stack's CloudFormation custom
// resource requests (the stack's ServiceToken is Sightline's SNS topic) and records
// them on the integration: Create/Update activate it and admit its account to the
// vendor's event bus and log destination, Delete removes it and revokes the account.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

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
	store := &integration.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.table}
	adm, err := integration.NewAdmission(eventbridge.NewFromConfig(awsCfg), cloudwatchlogs.NewFromConfig(awsCfg), store, cfg.eventBusARN, cfg.destinationARN)
	if err != nil {
		return err
	}
	h := &handler{reports: &integration.Reporter{
		Store:     store,
		HTTP:      &http.Client{Timeout: 10 * time.Second},
		Admission: adm,
	}}
	lambda.Start(h.handle)
	return nil
}
