package metrics

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// distributions of durations in µs; several heavy-tailed.
var distributions = map[string]func(r *rand.Rand) int64{
	"uniform 1ms-1s": func(r *rand.Rand) int64 { return 1000 + r.Int64N(999_000) },
	"exponential mean 50ms": func(r *rand.Rand) int64 {
		return int64(r.ExpFloat64() * 50_000)
	},
	"lognormal": func(r *rand.Rand) int64 {
		return int64(math.Exp(10 + 1.5*r.NormFloat64()))
	},
	"pareto alpha 1.1 (heavy tail)": func(r *rand.Rand) int64 {
		return int64(1000 / math.Pow(1-r.Float64(), 1/1.1))
	},
	"pareto alpha 0.5 (infinite mean)": func(r *rand.Rand) int64 {
		v := 10 / math.Pow(1-r.Float64(), 1/0.5)
		return int64(min(v, 9e8)) // Lambda's 15-minute limit
	},
	"bimodal warm/cold": func(r *rand.Rand) int64 {
		if r.IntN(20) == 0 {
			return 800_000 + r.Int64N(400_000)
		}
		return 2_000 + r.Int64N(3_000)
	},
	"lambda two-decimal ms": func(r *rand.Rand) int64 {
		ms := math.Round(r.ExpFloat64()*120*100) / 100
		return MicrosOfMillis(ms)
	},
	"with zeros": func(r *rand.Rand) int64 {
		if r.IntN(3) == 0 {
			return 0
		}
		return 10 + r.Int64N(100)
	},
	"constant":    func(r *rand.Rand) int64 { return 12340 },
	"tiny values": func(r *rand.Rand) int64 { return 1 + r.Int64N(20) },
	"full range": func(r *rand.Rand) int64 {
		return int64(math.Exp(r.Float64() * math.Log(9e8)))
	},
}

var quantiles = []float64{0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1}

// exactQuantile is the value of rank ⌊q·(n-1)⌋ in sorted data.
func exactQuantile(sorted []int64, q float64) float64 {
	return float64(sorted[int(q*float64(len(sorted)-1))])
}

func checkAccuracy(t *testing.T, s *Sketch, values []int64, maxRel float64) {
	t.Helper()
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	for _, q := range quantiles {
		want := exactQuantile(sorted, q)
		got := s.Quantile(q)
		if want == 0 {
			if got != 0 {
				t.Errorf("q=%v: got %v, want 0", q, got)
			}
			continue
		}
		if rel := math.Abs(got-want) / want; rel > maxRel {
			t.Errorf("q=%v: got %v, want %v (relative error %.4f > %.4f)", q, got, want, rel, maxRel)
		}
	}
}

func TestSketchQuantilesWithinRelativeError(t *testing.T) {
	for name, gen := range distributions {
		t.Run(name, func(t *testing.T) {
			for _, n := range []int{1, 2, 7, 100, 20_000} {
				r := rand.New(rand.NewPCG(uint64(n), 42))
				values := make([]int64, n)
				var s Sketch
				for i := range values {
					values[i] = gen(r)
					s.Add(values[i])
				}
				if s.Count() != uint64(n) {
					t.Fatalf("Count = %d, want %d", s.Count(), n)
				}
				// The promise is 2%; the sketch is built for 1%.
				checkAccuracy(t, &s, values, RelativeAccuracy+1e-9)
			}
		})
	}
}

func TestSketchMergeOfManyEqualsWhole(t *testing.T) {
	for name, gen := range distributions {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 7))
			const n, parts = 50_000, 300
			values := make([]int64, n)
			var whole Sketch
			pieces := make([]Sketch, parts)
			for i := range values {
				values[i] = gen(r)
				whole.Add(values[i])
				pieces[r.IntN(parts)].Add(values[i])
			}
			// Merge in a tree, as batches then the store would.
			for len(pieces) > 1 {
				var next []Sketch
				for i := 0; i < len(pieces); i += 2 {
					m := pieces[i].Clone()
					if i+1 < len(pieces) {
						m.Merge(&pieces[i+1])
					}
					next = append(next, m)
				}
				pieces = next
			}
			merged := &pieces[0]
			if !merged.Equal(&whole) {
				t.Fatal("merged sketch differs from the sketch of all values")
			}
			a, _ := merged.MarshalBinary()
			b, _ := whole.MarshalBinary()
			if !bytes.Equal(a, b) {
				t.Fatal("merged sketch encodes differently from the sketch of all values")
			}
			checkAccuracy(t, merged, values, RelativeAccuracy+1e-9)
		})
	}
}

func TestSketchEdgeValues(t *testing.T) {
	tests := map[string]struct {
		values []int64
		q      float64
		want   float64
		tol    float64
	}{
		"empty":                  {nil, 0.5, 0, 0},
		"single zero":            {[]int64{0}, 0.99, 0, 0},
		"negative is zero":       {[]int64{-5, -5, 3}, 0.5, 0, 0},
		"one":                    {[]int64{1}, 0.5, 1, 0},
		"max value":              {[]int64{MaxSketchValue}, 1, MaxSketchValue, RelativeAccuracy},
		"above max clamps":       {[]int64{math.MaxInt64}, 1, MaxSketchValue, RelativeAccuracy},
		"q below 0 is min":       {[]int64{100, 200, 300}, -1, 100, RelativeAccuracy},
		"q above 1 is max":       {[]int64{100, 200, 300}, 2, 300, RelativeAccuracy},
		"NaN q is min":           {[]int64{100, 200, 300}, math.NaN(), 100, RelativeAccuracy},
		"15 minutes":             {[]int64{900_000_000}, 0.5, 900_000_000, RelativeAccuracy},
		"rank floor of q·(n-1)":  {[]int64{10, 1000}, 0.99, 10, RelativeAccuracy},
		"last rank at q=1 (n=2)": {[]int64{10, 1000}, 1, 1000, RelativeAccuracy},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var s Sketch
			for _, v := range tt.values {
				s.Add(v)
			}
			got := s.Quantile(tt.q)
			if tt.want == 0 {
				if got != 0 {
					t.Fatalf("got %v, want 0", got)
				}
				return
			}
			if rel := math.Abs(got-tt.want) / tt.want; rel > tt.tol+1e-9 {
				t.Fatalf("got %v, want %v ± %v", got, tt.want, tt.tol)
			}
		})
	}
}

func TestSketchBoundedSize(t *testing.T) {
	var s Sketch
	// One value in every bucket there is, and far beyond.
	for v := int64(1); v > 0 && v < math.MaxInt64/2; v = v + v/50 + 1 {
		s.Add(v)
	}
	if got, limit := len(s.counts), int(MaxSketchIndex)+1; got > limit {
		t.Fatalf("sketch holds %d buckets, bound is %d", got, limit)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Each bucket costs at most 1 (delta) + 10 (count) bytes; in practice 2.
	if len(b) > 4*(int(MaxSketchIndex)+1) {
		t.Fatalf("full sketch encodes to %d bytes", len(b))
	}
	t.Logf("MaxSketchIndex=%d, full sketch: %d bytes", MaxSketchIndex, len(b))
}

func TestSketchEncodingRoundTrip(t *testing.T) {
	for name, gen := range distributions {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var s Sketch
			for range 5000 {
				s.Add(gen(r))
			}
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var d Sketch
			if err := d.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !d.Equal(&s) {
				t.Fatal("decoded sketch differs")
			}
			for _, q := range quantiles {
				if d.Quantile(q) != s.Quantile(q) {
					t.Fatalf("q=%v differs after round trip", q)
				}
			}
		})
	}
}

func TestSketchEncodingGolden(t *testing.T) {
	var s Sketch
	for _, v := range []int64{0, 0, 1, 10, 10, 10_000, 12_340, 999_990, 900_000_000} {
		s.Add(v)
	}
	got, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "sketch.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding changed (stored sketches must stay readable):\ngot  %x\nwant %x", got, want)
	}
}

func TestSketchUnmarshalRejects(t *testing.T) {
	tests := map[string]struct {
		data []byte
		want string
	}{
		"empty":             {nil, "empty"},
		"unknown version":   {[]byte{2, 0, 0}, "version"},
		"truncated zero":    {[]byte{1}, "truncated"},
		"truncated buckets": {[]byte{1, 0, 2, 5, 1}, "truncated"},
		"zero count":        {[]byte{1, 0, 1, 5, 0}, "empty bucket"},
		"not increasing":    {[]byte{1, 0, 2, 5, 1, 0, 1}, "not increasing"},
		"index too large":   {[]byte{1, 0, 1, 0xff, 0xff, 0x03, 1}, "index"},
		"too many buckets":  {[]byte{1, 0, 0xff, 0xff, 0x03}, "buckets"},
		"trailing":          {[]byte{1, 0, 0, 9}, "trailing"},
		"overflow": {append([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 3},
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), "overflow"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var s Sketch
			s.Add(5)
			err := s.UnmarshalBinary(tt.data)
			if !errors.Is(err, ErrBadSketch) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrBadSketch mentioning %q", err, tt.want)
			}
			if s.Count() != 1 {
				t.Fatal("failed decode modified the sketch")
			}
		})
	}
}

func FuzzSketchUnmarshal(f *testing.F) {
	var s Sketch
	for _, v := range []int64{0, 1, 5, 1000, 1000, 1e9} {
		s.Add(v)
	}
	b, _ := s.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{1, 3, 1, 0, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Sketch
		if err := s.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrBadSketch) {
				t.Fatalf("error %v does not wrap ErrBadSketch", err)
			}
			return
		}
		// Anything accepted is canonical and answers queries.
		again, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted non-canonical encoding %x (re-encodes to %x)", data, again)
		}
		_ = s.Quantile(0.99)
		var m Sketch
		m.Merge(&s)
		if !m.Equal(&s) {
			t.Fatal("merge into empty differs")
		}
	})
}

func BenchmarkSketchAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	values := make([]int64, 4096)
	for i := range values {
		values[i] = int64(math.Exp(7 + 2*r.NormFloat64()))
	}
	var s Sketch
	for _, v := range values {
		s.Add(v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.Add(values[i&4095])
	}
}

func BenchmarkSketchMarshal(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	var s Sketch
	for range 10_000 {
		s.Add(int64(math.Exp(7 + 2*r.NormFloat64())))
	}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = s.AppendBinary(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}
