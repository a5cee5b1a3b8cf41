package ingest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/ingest"
	"github.com/sightline/sightline/shared/logs"
	"github.com/sightline/sightline/shared/workload"
)

// benchData is a realistic generated workload (every runtime, both log formats,
// telemetry payloads), batched as Kinesis delivers it.
var benchData = sync.OnceValues(func() (*workload.Workload, error) {
	return workload.Generate(workload.Config{Seed: 3, Invocations: 20000, Duration: 6 * time.Hour, Telemetry: benchTelemetry})
})

func benchBatches(b *testing.B) (*workload.Workload, []workload.Batch) {
	w, err := benchData()
	if err != nil {
		b.Fatal(err)
	}
	return w, w.Batches(500)
}

// BenchmarkIngestPipeline measures decode + parse + aggregate (DynamoDB excluded)
// over the workload's gzip'd records, in uncompressed bytes per second.
func BenchmarkIngestPipeline(b *testing.B) {
	w, batches := benchBatches(b)
	c := ingest.NewCollector(logs.DefaultLimits(), cost.DefaultPrices, inventoryOf(w.Functions))
	src := ingest.Source{Region: "us-east-1", Tenancy: everyAccount("t")}
	ctx := context.Background()
	b.SetBytes(w.Stats.RawBytes)
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		events = 0
		for _, bt := range batches {
			batch := c.Collect(ctx, src, bt.Records)
			events += batch.Stats.LogEvents
		}
	}
	b.ReportMetric(float64(events), "events/op")
}

// BenchmarkGunzipOnly decompresses the same records, alone, with the same gzip
// library and reader reuse as the pipeline.
func BenchmarkGunzipOnly(b *testing.B) {
	w, batches := benchBatches(b)
	dec := logs.NewDecoder(logs.DefaultLimits())
	b.SetBytes(w.Stats.RawBytes)
	b.ReportAllocs()
	for b.Loop() {
		for _, bt := range batches {
			for _, r := range bt.Records {
				if _, err := dec.Gunzip(r.Data); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

var benchTelemetry func(workload.Trace) []string = nil
