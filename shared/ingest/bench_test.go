package ingest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/ingest"
	"github.com/sightline/sightline/shared/logs"
	"github.com/sightline/sightline/shared/telemetry"
	"github.com/sightline/sightline/shared/workload"
)

// benchSet is a realistic generated workload (every runtime, both log formats),
// batched as Kinesis delivers it: "plain" without telemetry payloads, "telemetry"
// with a SERVERLESS_TELEMETRY payload for every invocation of the instrumented
// Node.js and Python functions, as the demo runs it.
type benchSet struct {
	w        *workload.Workload
	batches  []workload.Batch
	payloads [][]byte // the gzip'd telemetry payloads inside the records
}

var benchSets = sync.OnceValues(func() (map[string]*benchSet, error) {
	out := map[string]*benchSet{}
	for name, tel := range map[string]func(workload.Trace) []string{"plain": nil, "telemetry": workload.TelemetryLines} {
		w, err := workload.Generate(workload.Config{Seed: 3, Invocations: 20000, Duration: 6 * time.Hour, Telemetry: tel})
		if err != nil {
			return nil, err
		}
		s := &benchSet{w: w, batches: w.Batches(500)}
		if s.payloads, err = telemetryPayloads(w); err != nil {
			return nil, err
		}
		out[name] = s
	}
	return out, nil
})

func benchSetOf(b *testing.B, name string) *benchSet {
	sets, err := benchSets()
	if err != nil {
		b.Fatal(err)
	}
	return sets[name]
}

// BenchmarkIngestPipeline measures decode + parse + aggregate (DynamoDB excluded)
// over the workload's gzip'd records, in uncompressed bytes per second.
func BenchmarkIngestPipeline(b *testing.B) {
	for _, name := range []string{"plain", "telemetry"} {
		b.Run(name, func(b *testing.B) {
			s := benchSetOf(b, name)
			c := ingest.NewCollector(logs.DefaultLimits(), cost.DefaultPrices, inventoryOf(s.w.Functions))
			src := ingest.Source{Region: "us-east-1", Tenancy: everyAccount("t")}
			ctx := context.Background()
			b.SetBytes(s.w.Stats.RawBytes)
			b.ReportAllocs()
			events, payloads := 0, 0
			for b.Loop() {
				events, payloads = 0, 0
				for _, bt := range s.batches {
					batch := c.Collect(ctx, src, bt.Records)
					events += batch.Stats.LogEvents
					payloads += batch.Stats.TelemetryPayload
				}
			}
			if payloads != len(s.payloads) {
				b.Fatalf("pipeline decoded %d telemetry payloads, the records hold %d", payloads, len(s.payloads))
			}
			b.ReportMetric(float64(events), "events/op")
		})
	}
}

// BenchmarkGunzipOnly is decompression alone, done the fastest way we know (the
// same gzip library and reader reuse as the pipeline): every record, and every
// gzip'd telemetry payload inside them ("telemetry"); "telemetry-outer" leaves the
// nested payloads compressed, for comparison.
func BenchmarkGunzipOnly(b *testing.B) {
	for _, name := range []string{"plain", "telemetry", "telemetry-outer"} {
		b.Run(name, func(b *testing.B) {
			s := benchSetOf(b, strings.TrimSuffix(name, "-outer"))
			nested := !strings.HasSuffix(name, "-outer")
			dec := logs.NewDecoder(logs.DefaultLimits())
			b.SetBytes(s.w.Stats.RawBytes)
			b.ReportAllocs()
			for b.Loop() {
				for _, bt := range s.batches {
					for _, r := range bt.Records {
						if _, err := dec.Gunzip(r.Data); err != nil {
							b.Fatal(err)
						}
					}
				}
				if nested {
					for _, p := range s.payloads {
						if _, err := dec.Gunzip(p); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
		})
	}
}

// telemetryPayloads extracts the gzip'd payloads of every SERVERLESS_TELEMETRY
// line (re-joining chunks) from the workload's documents.
func telemetryPayloads(w *workload.Workload) ([][]byte, error) {
	var out [][]byte
	chunks := map[string][]string{}
	h := &lineCollector{fn: func(msg []byte) error {
		rest, ok := bytes.CutPrefix(bytes.TrimSpace(msg), []byte(telemetry.Prefix+"1."))
		if !ok {
			return nil
		}
		var b64 string
		switch f := strings.Split(string(rest), "."); len(f) {
		case 1:
			b64 = f[0]
		case 4:
			chunks[f[0]] = append(chunks[f[0]], f[3])
			if fmt.Sprint(len(chunks[f[0]])) != f[2] {
				return nil
			}
			b64 = strings.Join(chunks[f[0]], "")
		default:
			return fmt.Errorf("unexpected telemetry line %.60q", msg)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return err
		}
		out = append(out, raw)
		return nil
	}}
	dec := logs.NewDecoder(logs.DefaultLimits())
	for _, d := range w.Documents() {
		if err := dec.Decode(d.Gzip, h); err != nil {
			return nil, err
		}
		if h.err != nil {
			return nil, h.err
		}
	}
	return out, nil
}

type lineCollector struct {
	fn  func(msg []byte) error
	err error
}

func (l *lineCollector) Document(*logs.Document) bool { return true }
func (l *lineCollector) EndDocument(*logs.Document)   {}
func (l *lineCollector) Event(_ *logs.Document, e *logs.Event) {
	if l.err == nil {
		l.err = l.fn(e.Message)
	}
}

// BenchmarkPipelineVsGunzip alternates, inside every iteration, one gunzip-only
// pass and one pipeline pass over the same records and reports the ratio of their
// times (gunzip/pipeline: the pipeline's throughput as a fraction of gunzip's).
// Interleaving keeps the ratio honest on a machine whose load varies during the
// run, where two separate benchmarks would each see a different machine.
func BenchmarkPipelineVsGunzip(b *testing.B) {
	for _, name := range []string{"plain", "telemetry"} {
		b.Run(name, func(b *testing.B) {
			s := benchSetOf(b, name)
			c := ingest.NewCollector(logs.DefaultLimits(), cost.DefaultPrices, inventoryOf(s.w.Functions))
			dec := logs.NewDecoder(logs.DefaultLimits())
			src := ingest.Source{Region: "us-east-1", Tenancy: everyAccount("t")}
			ctx := context.Background()
			b.SetBytes(2 * s.w.Stats.RawBytes)
			var gz, pipe time.Duration
			for b.Loop() {
				t0 := time.Now()
				for _, bt := range s.batches {
					for _, r := range bt.Records {
						if _, err := dec.Gunzip(r.Data); err != nil {
							b.Fatal(err)
						}
					}
				}
				for _, p := range s.payloads {
					if _, err := dec.Gunzip(p); err != nil {
						b.Fatal(err)
					}
				}
				t1 := time.Now()
				for _, bt := range s.batches {
					c.Collect(ctx, src, bt.Records)
				}
				gz, pipe = gz+t1.Sub(t0), pipe+time.Since(t1)
			}
			b.ReportMetric(float64(gz)/float64(pipe), "pipeline/gunzip")
			b.ReportMetric(float64(s.w.Stats.RawBytes)*float64(b.N)/pipe.Seconds()/1e6, "pipeline-MB/s")
			b.ReportMetric(float64(s.w.Stats.RawBytes)*float64(b.N)/gz.Seconds()/1e6, "gunzip-MB/s")
		})
	}
}
