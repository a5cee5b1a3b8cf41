package ingest

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/insights"
	"github.com/sightline/sightline/shared/integration"
	"github.com/sightline/sightline/shared/logs"
	"github.com/sightline/sightline/shared/store"
)

// Settings are the ingest Lambdas' configuration, from their environment.
type Settings struct {
	Table         string      // TABLE_NAME
	AlertQueueURL string      // ALERT_QUEUE_URL
	Region        string      // DELIVERY_REGION (Kinesis and transformation paths)
	Prices        cost.Prices // LAMBDA_PRICES, optional (cost.Parse syntax)
	MaxBody       int64       // MAX_BODY_BYTES, optional (Firehose receiver)
}

// ParseSettings reads the environment; a bad value fails the cold start, it is never
// replaced by a default. needRegion: DELIVERY_REGION is required.
func ParseSettings(getenv func(string) string, needRegion bool) (Settings, error) {
	s := Settings{Table: getenv("TABLE_NAME"), AlertQueueURL: getenv("ALERT_QUEUE_URL"), Region: getenv("DELIVERY_REGION"),
		Prices: cost.DefaultPrices, MaxBody: DefaultMaxBody}
	if s.Table == "" || s.AlertQueueURL == "" {
		return s, fmt.Errorf("TABLE_NAME and ALERT_QUEUE_URL are required")
	}
	if needRegion && s.Region == "" {
		return s, fmt.Errorf("DELIVERY_REGION is required")
	}
	if v := getenv("LAMBDA_PRICES"); v != "" {
		p, err := cost.Parse(v)
		if err != nil {
			return s, fmt.Errorf("LAMBDA_PRICES: %w", err)
		}
		s.Prices = p
	}
	if v := getenv("MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return s, fmt.Errorf("MAX_BODY_BYTES: %q is not a positive number of bytes", v)
		}
		s.MaxBody = n
	}
	return s, nil
}

// NewLambdaPipeline wires a Lambda's pipeline: the store, the integration directory
// (cached for a minute), and the immediate rules sending new alerts to the queue.
func NewLambdaPipeline(s Settings, db *dynamodb.Client, queue *sqs.Client, log *slog.Logger) (*Pipeline, Directory) {
	dir := Directory{Integrations: integration.NewDirectory(&integration.Store{DB: db, Table: s.Table}, time.Minute, nil)}
	alerts := &insights.Table{API: db, Name: s.Table}
	rules := InsightsRules{Evaluator: &insights.Immediate{Alerts: alerts, Sink: &insights.QueueSink{API: queue, URL: s.AlertQueueURL}, Logger: log}}
	p := NewPipeline(store.New(db, s.Table, store.Options{Logger: log}), Config{
		Limits:    logs.DefaultLimits(),
		Prices:    s.Prices,
		Functions: dir,
		Rules:     rules,
		Logger:    log,
	})
	return p, dir
}
