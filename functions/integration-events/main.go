// Command integration-events receives the customer stack's CloudFormation custom
// resource requests (the stack's ServiceToken is Sightline's SNS topic) and records
// them on the integration.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
	table := getenv("TABLE_NAME")
	if table == "" {
		return errors.New("TABLE_NAME is required")
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	h := &handler{reports: &integration.Reporter{
		Store: &integration.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: table},
		HTTP:  &http.Client{Timeout: 10 * time.Second},
	}}
	lambda.Start(h.handle)
	return nil
}
