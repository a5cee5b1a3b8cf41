// Command notifier delivers the alerts of the SQS alert queue to each tenant's
// channels (Slack, webhook, SNS, email).
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
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/sightline/sightline/shared/notify"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	if err := run(context.Background(), os.Getenv); err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
}

// parseSettings reads TABLE_NAME and DASHBOARD_URL (both required).
func parseSettings(getenv func(string) string) (table, dashboard string, err error) {
	table, dashboard = getenv("TABLE_NAME"), getenv("DASHBOARD_URL")
	if table == "" || dashboard == "" {
		return "", "", fmt.Errorf("TABLE_NAME and DASHBOARD_URL are required")
	}
	return table, dashboard, nil
}

func run(ctx context.Context, getenv func(string) string) error {
	table, dashboard, err := parseSettings(getenv)
	if err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	n := &notify.Notifier{
		Store: &notify.Table{API: dynamodb.NewFromConfig(awsCfg), Name: table},
		Senders: &notify.Senders{
			HTTP: &http.Client{Timeout: 10 * time.Second},
			SNS:  sns.NewFromConfig(awsCfg), SES: sesv2.NewFromConfig(awsCfg),
			Secrets: &notify.Secrets{SecretsManager: secretsmanager.NewFromConfig(awsCfg), SSM: ssm.NewFromConfig(awsCfg)},
		},
		Retry:        notify.DefaultRetry(),
		DashboardURL: dashboard,
	}
	lambda.Start((&handler{notifier: n}).handle)
	return nil
}
