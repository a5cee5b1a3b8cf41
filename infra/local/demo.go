package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/insights"
	"github.com/sightline/sightline/shared/workload"
)

// demoSummary is the demo's last line of output.
type demoSummary struct {
	Functions       int                     `json:"functions"`
	Invocations     int64                   `json:"invocations"`
	Errors          int64                   `json:"errors"`
	Deliveries      map[string]int          `json:"deliveries"`
	GroundTruth     string                  `json:"groundTruth"`
	Alerts          map[insights.Rule]int   `json:"alerts"`
	ScheduledRuns   int                     `json:"scheduledRuns"`
	DynamoDB        dynamoSummary           `json:"dynamodb"`
	Instrumentation *InstrumentationSummary `json:"instrumentation"`
	Seconds         float64                 `json:"seconds"`
}

type dynamoSummary struct {
	Endpoint string `json:"endpoint"`
	Table    string `json:"table"`
	// IngestRequests are the ingest path's requests (aggregates, error types,
	// activity index); RuleRequests the alert rules' (alerts, evaluator reads and state).
	IngestRequests                  map[string]int `json:"ingestRequests"`
	RuleRequests                    map[string]int `json:"ruleRequests"`
	IngestWriteRequests             int            `json:"ingestWriteRequests"`
	WriteRequestsPer1000Invocations float64        `json:"ingestWriteRequestsPer1000Invocations"`
}

// runDemo is `local demo`: a generated day through the whole pipeline, every
// delivery path, the alert rules on the simulated clock, and the instrumentation
// of a stand-in customer account in moto.
func runDemo(ctx context.Context, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	t0 := time.Now()
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Int64("seed", 1, "workload seed")
	invocations := fs.Int("invocations", workload.DefaultInvocations, "invocations over the simulated day")
	functions := fs.Int("functions", workload.DefaultFunctions, "functions")
	workers := fs.Int("workers", max(2, runtime.NumCPU()), "batches delivered concurrently, as Kinesis shards would (a new error type's alert then carries the occurrence of whichever shard stored it first)")
	out := fs.String("out", ".local/demo", "where the demo writes its workload files, for `replay`")
	if err := fs.Parse(args); err != nil {
		return err
	}

	// The simulated day is yesterday (UTC), so that the data is recent.
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	log.Info("generating the workload", "functions", *functions, "invocations", *invocations, "day", start.Format(time.DateOnly))
	w, err := workload.Generate(workload.Config{Seed: *seed, Functions: *functions, Invocations: *invocations, Start: start, Telemetry: workload.TelemetryLines})
	if err != nil {
		return err
	}
	log.Info("workload generated", "documents", w.Stats.Documents, "logEvents", w.Stats.LogEvents,
		"rawMB", w.Stats.RawBytes>>20, "gzipMB", w.Stats.GzipBytes>>20, "took", time.Since(t0).Round(time.Millisecond))
	if err := writeDemoFiles(*out, w); err != nil {
		return err
	}

	deliveries, kinds, err := demoDeliveries(w)
	if err != nil {
		return err
	}
	fns := make([]functionConfig, len(w.Functions))
	for i, f := range w.Functions {
		fns[i] = functionConfig{Account: f.Account, Region: f.Region, Function: f.Name, Runtime: f.Runtime,
			Architecture: f.Architecture, TimeoutSeconds: f.TimeoutSeconds, MemorySizeMB: int(f.MemorySizeMB), LogGroup: f.LogGroup}
	}
	inv, err := newInventory(fns)
	if err != nil {
		return err
	}

	env, err := startEnv(ctx, log, w.Config.Region, true)
	if err != nil {
		return err
	}
	defer env.Close()
	log.Info("replaying the day through the Lambdas' handlers", "deliveries", len(deliveries), "workers", *workers)
	res, err := replay(ctx, log, env, inv, replayOptions{Region: w.Config.Region, Tenant: "demo", Repeat: 1, Workers: *workers, Prices: cost.DefaultPrices}, deliveries)
	if err != nil {
		return err
	}
	sum := demoSummary{Deliveries: kinds, Alerts: map[insights.Rule]int{}, ScheduledRuns: res.Ticks}
	for _, t := range res.Totals {
		sum.Functions++
		sum.Invocations += t.Invocations
		sum.Errors += t.Errors
	}
	sum.GroundTruth = checkTruth(res.Totals, w.Truth)
	for _, a := range res.Alerts {
		sum.Alerts[a.Rule]++
	}
	sum.DynamoDB = dynamoSummary{Endpoint: env.endpoint, Table: env.table, IngestRequests: res.Requests,
		RuleRequests: res.RuleRequests, IngestWriteRequests: writes(res.Requests)}
	if sum.Invocations > 0 {
		sum.DynamoDB.WriteRequestsPer1000Invocations = float64(int(float64(sum.DynamoDB.IngestWriteRequests)*1000/float64(sum.Invocations)*100)) / 100
	}

	printTable(stdout, res.Totals)
	fmt.Fprintf(stdout, "\nAlerts (%d):\n", len(res.Alerts))
	if err := writeJSONLines(stdout, res.Alerts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nWhere the data went: DynamoDB Local at %s, table %s — ingest made %d write requests for %d invocations (%.2f per 1,000); ground truth: %s.\n",
		env.endpoint, env.table, sum.DynamoDB.IngestWriteRequests, sum.Invocations, sum.DynamoDB.WriteRequestsPer1000Invocations, sum.GroundTruth)
	fmt.Fprintf(stdout, "Replay the same files yourself: go run ./infra/local replay --config %s %s\n\n",
		filepath.Join(*out, "functions.json"), filepath.Join(*out, "workload.jsonl.gz"))

	log.Info("instrumentation: a stand-in customer account in moto_server", "endpoint", env.motoEndpoint())
	is, err := runInstrumentationDemo(ctx, log, env.table, env.ddb, env.motoEndpoint())
	if err != nil {
		return fmt.Errorf("instrumentation demo: %w", err)
	}
	sum.Instrumentation = &is
	sum.Seconds = float64(time.Since(t0).Milliseconds()) / 1000
	line, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", line)
	return nil
}

// demoDeliveries sends the day through every delivery path: most batches as
// Kinesis events, some as Firehose HTTP endpoint requests, some as Firehose
// transformation events — in time order, as the sources would.
func demoDeliveries(w *workload.Workload) ([]delivery, map[string]int, error) {
	kinds := map[string]int{}
	var out []delivery
	for i, b := range w.Batches(500) {
		var d delivery
		switch i % 10 {
		case 7, 8:
			var buf bytes.Buffer
			if err := w.WriteBatch(&buf, workload.FirehoseHTTP, b); err != nil {
				return nil, nil, err
			}
			d = delivery{kind: viaFirehose, firehose: buf.Bytes()}
		case 9:
			ev := events.KinesisFirehoseEvent{InvocationID: fmt.Sprintf("demo-%d", i), DeliveryStreamArn: "arn:aws:firehose:" + w.Config.Region + ":000000000000:deliverystream/sightline-demo", Region: w.Config.Region}
			for _, r := range b.Records {
				ev.Records = append(ev.Records, events.KinesisFirehoseEventRecord{RecordID: r.ID, Data: r.Data, ApproximateArrivalTimestamp: events.MilliSecondsEpochTime{Time: time.UnixMilli(b.Arrival)}})
			}
			d = delivery{kind: viaTransform, transform: ev}
		default:
			d = delivery{kind: viaKinesis, kinesis: kinesisEvent(b.Records, "demo")}
		}
		kinds[d.kind.String()]++
		out = append(out, d)
	}
	return out, kinds, nil
}

// writeDemoFiles writes the workload as a gzip'd JSON-lines file and its functions.json.
func writeDemoFiles(dir string, w *workload.Workload) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "workload.jsonl.gz"))
	if err != nil {
		return err
	}
	if err := w.Write(f, workload.JSONLinesGzip); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	f, err = os.Create(filepath.Join(dir, "functions.json"))
	if err != nil {
		return err
	}
	if err := workload.WriteFunctions(f, w.Functions); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkTruth compares the replay's totals, read back from DynamoDB, with what the
// generator knows it wrote.
func checkTruth(got []FunctionTotals, truth []workload.Truth) string {
	byName := map[string]FunctionTotals{}
	for _, g := range got {
		byName[g.Account+"/"+g.Function] = g
	}
	var bad []string
	for _, t := range truth {
		g, ok := byName[t.Account+"/"+t.Function]
		types := t.ErrorTypes
		if types == nil {
			types = []string{}
		}
		if !ok || g.Invocations != t.Invocations || g.Errors != t.Errors || g.Timeouts != t.Timeouts ||
			g.OutOfMemory != t.OutOfMemory || g.ColdStarts != t.ColdStarts || g.BilledDurationMs != t.BilledDurationMs ||
			g.MemorySizeMB != t.MemorySizeMB || g.MaxMemoryUsedMB != t.MaxMemoryUsedMB ||
			g.DurationMs.Sum != float64(t.DurationSumUs)/1000 || g.DurationMs.Max != float64(t.DurationMaxUs)/1000 ||
			g.DurationMs.Min != float64(t.DurationMinUs)/1000 || !slices.Equal(g.ErrorTypes, types) {
			bad = append(bad, t.Function)
		}
	}
	if len(bad) > 0 {
		return fmt.Sprintf("MISMATCH in %v", bad)
	}
	return fmt.Sprintf("exact match for all %d functions", len(truth))
}

func printTable(w io.Writer, totals []FunctionTotals) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "account\tfunction\tinvocations\terrors\ttimeouts\tOOM\tcold\tp50 ms\tp95 ms\tp99 ms\tmax ms\tcost USD\terror types\t")
	for _, t := range totals {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.4f\t%d\t\n", t.Account, t.Function,
			t.Invocations, t.Errors, t.Timeouts, t.OutOfMemory, t.ColdStarts, t.DurationMs.P50, t.DurationMs.P95,
			t.DurationMs.P99, t.DurationMs.Max, t.EstimatedCostUSD, len(t.ErrorTypes))
	}
	tw.Flush()
}
