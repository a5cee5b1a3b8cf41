package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sightline/sightline/shared/invocation"
)

func report(ms float64, status invocation.Status) *invocation.Invocation {
	return &invocation.Invocation{Reported: true, Status: status, DurationMs: ms,
		BilledDurationMs: math.Ceil(ms), MemorySizeMB: 512, MaxMemoryUsedMB: 100}
}

func TestAggregateAdd(t *testing.T) {
	cold := report(12.34, invocation.StatusSuccess)
	cold.InitDurationMs = 150.5
	snap := report(2, invocation.StatusSuccess)
	snap.RestoreDurationMs = 300
	big := report(1.01, invocation.StatusSuccess)
	big.MemorySizeMB, big.MaxMemoryUsedMB = 1024, 1024

	tests := map[string]struct {
		invs []*invocation.Invocation
		cost int64
		want Aggregate // Durations not compared here
	}{
		"one success": {
			invs: []*invocation.Invocation{report(12.34, invocation.StatusSuccess)},
			cost: 7,
			want: Aggregate{Invocations: 1, DurationSumUs: 12340, DurationMinUs: 12340, DurationMaxUs: 12340,
				BilledDurationMs: 13, MemorySizeMB: 512, MaxMemoryUsedMB: 100, CostPicoUSD: 7},
		},
		"error timeout oom": {
			invs: []*invocation.Invocation{report(1, invocation.StatusError), report(3000, invocation.StatusTimeout),
				report(2.5, invocation.StatusOutOfMemory)},
			cost: 1,
			want: Aggregate{Invocations: 3, Errors: 3, Timeouts: 1, OutOfMemory: 1, DurationSumUs: 3_003_500,
				DurationMinUs: 1000, DurationMaxUs: 3_000_000, BilledDurationMs: 3004, MemorySizeMB: 512,
				MaxMemoryUsedMB: 100, CostPicoUSD: 3},
		},
		"orphan failures count errors only": {
			invs: []*invocation.Invocation{
				{Status: invocation.StatusError, DurationMs: 99, MemorySizeMB: 4096},
				{Status: invocation.StatusTimeout},
				{Status: invocation.StatusOutOfMemory},
			},
			cost: 1000,
			want: Aggregate{Errors: 3, Timeouts: 1, OutOfMemory: 1},
		},
		"cold starts incl. SnapStart restore": {
			invs: []*invocation.Invocation{cold, snap, report(1, invocation.StatusSuccess)},
			want: Aggregate{Invocations: 3, ColdStarts: 2, DurationSumUs: 15340, DurationMinUs: 1000,
				DurationMaxUs: 12340, BilledDurationMs: 16, MemorySizeMB: 512, MaxMemoryUsedMB: 100},
		},
		"memory is the largest seen": {
			invs: []*invocation.Invocation{report(1, invocation.StatusSuccess), big},
			want: Aggregate{Invocations: 2, DurationSumUs: 2010, DurationMinUs: 1000, DurationMaxUs: 1010,
				BilledDurationMs: 3, MemorySizeMB: 1024, MaxMemoryUsedMB: 1024},
		},
		"zero duration is a minimum": {
			invs: []*invocation.Invocation{report(5, invocation.StatusSuccess), report(0, invocation.StatusSuccess)},
			want: Aggregate{Invocations: 2, DurationSumUs: 5000, DurationMinUs: 0, DurationMaxUs: 5000,
				BilledDurationMs: 5, MemorySizeMB: 512, MaxMemoryUsedMB: 100},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var a Aggregate
			for _, inv := range tt.invs {
				a.Add(inv, tt.cost)
			}
			if a.Durations.Count() != uint64(a.Invocations) {
				t.Errorf("sketch holds %d durations for %d invocations", a.Durations.Count(), a.Invocations)
			}
			a.Durations = Sketch{}
			if !a.Equal(&tt.want) {
				t.Fatalf("got  %+v\nwant %+v", a, tt.want)
			}
		})
	}
}

func TestMicrosOfMillis(t *testing.T) {
	tests := map[string]struct {
		ms   float64
		want int64
	}{
		"two decimals": {0.29, 290},
		"rounding":     {1234.57, 1_234_570},
		"15 minutes":   {900000.00, 900_000_000},
		"zero":         {0, 0},
		"negative":     {-3, 0},
		"NaN":          {math.NaN(), 0},
		"huge":         {1e300, math.MaxInt64 / 1000 * 1000},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := MicrosOfMillis(tt.ms); got != tt.want {
				t.Fatalf("MicrosOfMillis(%v) = %d, want %d", tt.ms, got, tt.want)
			}
		})
	}
	// Every two-decimal millisecond value below 10 s converts exactly.
	for c := int64(0); c < 1_000_000; c += 7 {
		if got := MicrosOfMillis(float64(c) / 100); got != c*10 {
			t.Fatalf("MicrosOfMillis(%v) = %d, want %d", float64(c)/100, got, c*10)
		}
	}
}

// TestAggregateMergeIsExact splits random invocations into random parts, merges
// the parts' aggregates in random order, and compares with the whole.
func TestAggregateMergeIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 20_000
	invs := make([]*invocation.Invocation, n)
	durations := make([]int64, 0, n)
	for i := range invs {
		ms := math.Round(math.Exp(3+1.2*r.NormFloat64())*100) / 100
		inv := report(ms, invocation.Status(r.IntN(4)))
		inv.Reported = r.IntN(50) != 0
		if r.IntN(10) == 0 {
			inv.InitDurationMs = 100
		}
		inv.MemorySizeMB = int32(128 << r.IntN(4))
		inv.MaxMemoryUsedMB = int32(r.IntN(2000))
		invs[i] = inv
		if inv.Reported {
			durations = append(durations, MicrosOfMillis(ms))
		}
	}
	var whole Aggregate
	parts := make([]Aggregate, 97)
	for i, inv := range invs {
		whole.Add(inv, int64(i))
		parts[r.IntN(len(parts))].Add(inv, int64(i))
	}
	r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	var merged Aggregate
	for i := range parts {
		merged.Merge(&parts[i])
	}
	if !merged.Equal(&whole) {
		t.Fatalf("merged %+v\nwhole %+v", merged.LogValue(), whole.LogValue())
	}
	slices.Sort(durations)
	if merged.DurationMinUs != durations[0] || merged.DurationMaxUs != durations[len(durations)-1] {
		t.Fatalf("min/max %d/%d, want %d/%d", merged.DurationMinUs, merged.DurationMaxUs, durations[0], durations[len(durations)-1])
	}
	for _, q := range []float64{0.5, 0.95, 0.99} {
		want := float64(durations[int(q*float64(len(durations)-1))]) / 1000
		got := merged.DurationQuantileMs(q)
		if rel := math.Abs(got-want) / want; rel > 0.02 {
			t.Errorf("p%v = %v, want %v within 2%% (got %.4f)", q*100, got, want, rel)
		}
	}
	if merged.P50Ms() != merged.DurationQuantileMs(0.5) || merged.P99Ms() > merged.DurationMaxMs() {
		t.Error("percentile accessors disagree")
	}
}

func TestAggregateQuantileClampedToExactMinMax(t *testing.T) {
	var a Aggregate
	a.Add(report(10.01, invocation.StatusSuccess), 0)
	if got := a.P99Ms(); got != 10.01 {
		t.Fatalf("single invocation p99 = %v, want exactly 10.01", got)
	}
	var empty Aggregate
	if empty.P50Ms() != 0 || empty.DurationMinMs() != 0 || empty.DurationMaxMs() != 0 {
		t.Fatal("empty aggregate reports durations")
	}
}

func TestAggregateMergeDoesNotAlias(t *testing.T) {
	var a, b Aggregate
	b.Add(report(5, invocation.StatusSuccess), 1)
	a.Merge(&b)
	a.Add(report(7, invocation.StatusSuccess), 1)
	if b.Durations.Count() != 1 || b.Invocations != 1 {
		t.Fatal("Merge shares state with its argument")
	}
	c := a.Clone()
	c.Add(report(9, invocation.StatusSuccess), 1)
	if a.Durations.Count() != 2 {
		t.Fatal("Clone shares the sketch")
	}
}

func BenchmarkAggregateAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	invs := make([]invocation.Invocation, 1024)
	for i := range invs {
		invs[i] = *report(math.Round(math.Exp(3+1.5*r.NormFloat64())*100)/100, invocation.Status(r.IntN(4)))
	}
	var a Aggregate
	for i := range invs { // grow the sketch
		a.Add(&invs[i], 1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a.Add(&invs[i&1023], 1)
	}
	if testing.AllocsPerRun(100, func() { a.Add(&invs[5], 1) }) != 0 {
		b.Fatal("Add allocates")
	}
}

func TestAggregateAddDoesNotAllocate(t *testing.T) {
	var a Aggregate
	inv := report(12.5, invocation.StatusSuccess)
	a.Add(inv, 1)
	if n := testing.AllocsPerRun(1000, func() { a.Add(inv, 1) }); n != 0 {
		t.Fatalf("Add allocates %v times per call", n)
	}
}
