// Command firehose-transform ingests a Firehose delivery stream of CloudWatch Logs
// subscription data as its data-transformation Lambda.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sightline/sightline/shared/ingest"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	if err := run(context.Background(), os.Getenv); err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	s, err := ingest.ParseSettings(getenv, true)
	if err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	p, dir := ingest.NewLambdaPipeline(s, dynamodb.NewFromConfig(awsCfg), sqs.NewFromConfig(awsCfg), slog.Default())
	h := &handler{ingest: &ingest.TransformHandler{Pipeline: p, Source: ingest.Source{Region: s.Region, Tenancy: dir}}}
	lambda.Start(h.handle)
	return nil
}
