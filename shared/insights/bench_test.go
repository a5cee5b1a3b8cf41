package insights

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sightline/sightline/shared/metrics"
	"github.com/sightline/sightline/shared/store"
)

// BenchmarkEvaluatorRun is the load test of the scheduled evaluator against
// DynamoDB Local through the real store: SIGHTLINE_BENCH_FUNCTIONS functions
// (default 1000), each with a full 60-minute window of minute aggregates (plus one
// more hour of history) and a stored state. One op is one Run over every function
// in the steady state (the state exists, no backfill); ns/function is the wall
// time per function at the configured concurrency.
func BenchmarkEvaluatorRun(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("SIGHTLINE_BENCH_FUNCTIONS")); err == nil && v > 0 {
		n = v
	}
	db, name := dynamo(b)
	st := store.New(db, name, store.Options{Concurrency: 32})
	fns := make([]metrics.Function, n)
	for i := range fns {
		fns[i] = metrics.Function{Tenant: "t" + strconv.Itoa(i%10), Account: "123456789012", Region: "us-east-1", Name: fmt.Sprintf("fn-%05d", i)}
	}
	start := time.Now()
	seedStore(b, st, fns, recentEnd.Add(-2*time.Hour), recentEnd, 3, func(fn, i int) float64 { return 50 + float64(i%40) })
	b.Logf("seeded %d functions x 120 minutes in %s", n, time.Since(start).Round(time.Millisecond))
	tab := &Table{API: db, Name: name}
	for _, conc := range []int{16, 64} {
		b.Run("concurrency="+strconv.Itoa(conc), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Concurrency = conc
			e := &Evaluator{Config: cfg, Active: st, Windows: StoreWindows{Store: st}, States: tab, Alerts: tab,
				Timeouts: fixedTimeout(30 * time.Second), Sink: &Collector{}, Logger: slog.New(slog.DiscardHandler)}
			ctx := context.Background()
			t0 := time.Now()
			warm, err := e.Run(ctx, recentEnd) // the first run builds every state
			if err != nil || warm.Evaluated != n {
				b.Fatalf("warm-up run %+v: %v", warm, err)
			}
			b.Logf("first run (backfills %d): %s", warm.Backfilled, time.Since(t0).Round(time.Millisecond))
			b.ResetTimer()
			for b.Loop() {
				s, err := e.Run(ctx, recentEnd)
				if err != nil || s.Evaluated != n || s.Backfilled != 0 {
					b.Fatalf("run %+v: %v", s, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/function")
		})
	}
}
