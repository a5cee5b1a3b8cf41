// Command insights-evaluator runs the scheduled alert rules every five minutes
// (EventBridge rate(5 minutes)) on the clock of the scheduled event.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sightline/sightline/shared/insights"
	"github.com/sightline/sightline/shared/integration"
	"github.com/sightline/sightline/shared/store"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	if err := run(context.Background(), os.Getenv); err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
}

type settings struct {
	table, queueURL string
	eval            insights.Config
}

// parseSettings reads TABLE_NAME and ALERT_QUEUE_URL, and the optional
// INSIGHTS_CONCURRENCY (int) and INSIGHTS_LAG (Go duration).
func parseSettings(getenv func(string) string) (settings, error) {
	s := settings{table: getenv("TABLE_NAME"), queueURL: getenv("ALERT_QUEUE_URL"), eval: insights.DefaultConfig()}
	if s.table == "" || s.queueURL == "" {
		return s, fmt.Errorf("TABLE_NAME and ALERT_QUEUE_URL are required")
	}
	if v := getenv("INSIGHTS_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return s, fmt.Errorf("INSIGHTS_CONCURRENCY: %w", err)
		}
		s.eval.Concurrency = n
	}
	if v := getenv("INSIGHTS_LAG"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return s, fmt.Errorf("INSIGHTS_LAG: %w", err)
		}
		s.eval.Lag = d
	}
	return s, s.eval.Validate()
}

func run(ctx context.Context, getenv func(string) string) error {
	s, err := parseSettings(getenv)
	if err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	db := dynamodb.NewFromConfig(awsCfg)
	st := store.New(db, s.table, store.Options{Concurrency: 16})
	tab := &insights.Table{API: db, Name: s.table}
	ev := &insights.Evaluator{Config: s.eval, Active: st, Windows: insights.StoreWindows{Store: st}, States: tab, Alerts: tab,
		Timeouts: insights.InventoryTimeouts(&integration.Store{DB: db, Table: s.table}),
		Sink:     &insights.QueueSink{API: sqs.NewFromConfig(awsCfg), URL: s.queueURL}}
	lambda.Start((&handler{eval: ev}).handle)
	return nil
}
