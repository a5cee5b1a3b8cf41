package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/sightline/sightline/shared/cost"
)

// runReplay is `local replay [flags] FILE...`: every FILE through the same handler
// code as the Lambdas; one JSON line per function, then one per alert, on stdout.
func runReplay(ctx context.Context, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	region := fs.String("region", "us-east-1", "the region of the delivery source (a CloudWatch Logs destination or Firehose stream is regional)")
	config := fs.String("config", "", "functions.json: the functions' configuration, as the integration's inventory holds it (timeouts for the rules, custom log groups, architecture for cost)")
	repeat := fs.Int("repeat", 1, "deliver every batch N times, as an at-least-once source would; the output must not change")
	batch := fs.Int("batch", 500, "records per Kinesis batch for JSON-lines input")
	workers := fs.Int("workers", 1, "batches delivered concurrently, as several Kinesis shards would; 1 (the default) delivers them in order, so the output, alerts included, is the same on every run")
	tenant := fs.String("tenant", "local", "the local tenant that owns every account in the input")
	prices := fs.String("prices", "", "override Lambda prices, e.g. x86GBSecond=0.0000166667,arm64GBSecond=0.0000133334,perRequest=0.0000002")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("replay: no FILE given\n" + usage)
	}
	if *repeat < 1 || *batch < 1 || *workers < 1 {
		return errors.New("replay: --repeat, --batch and --workers must be at least 1")
	}
	p := cost.DefaultPrices
	if *prices != "" {
		var err error
		if p, err = cost.Parse(*prices); err != nil {
			return fmt.Errorf("replay: --prices: %w", err)
		}
	}
	inv, err := loadInventory(*config)
	if err != nil {
		return err
	}
	var deliveries []delivery
	for _, path := range fs.Args() {
		ds, err := readDeliveries(path, *batch)
		if err != nil {
			return err
		}
		deliveries = append(deliveries, ds...)
	}
	env, err := startEnv(ctx, log, *region, false)
	if err != nil {
		return err
	}
	defer env.Close()
	res, err := replay(ctx, log, env, inv, replayOptions{Region: *region, Tenant: *tenant, Repeat: *repeat, Workers: *workers, Prices: p}, deliveries)
	if err != nil {
		return err
	}
	if err := writeJSONLines(stdout, res.Totals); err != nil {
		return err
	}
	if err := writeJSONLines(stdout, res.Alerts); err != nil {
		return err
	}
	counts := res.Requests
	log.Info("replay done", "deliveries", len(deliveries), "repeat", *repeat, "functions", len(res.Totals),
		"alerts", len(res.Alerts), "scheduledRuns", res.Ticks, "dynamodbWrites", writes(counts), "took", res.Took.Round(1e6))
	for _, op := range sortedOps(counts) {
		log.Debug("dynamodb requests", "op", op, "count", counts[op])
	}
	return nil
}
