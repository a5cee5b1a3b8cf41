package store

import (
	"context"

	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sightline/sightline/shared/invocation"
	"github.com/sightline/sightline/shared/metrics"
)

func TestConflictRetryMergesBothWriters(t *testing.T) {
	f := newFake()
	c := &counting{API: f}
	a, b := New(c, "fake", Options{}), New(f, "fake", Options{})
	fn := testFunctions[0]
	agg := func(ms float64) *metrics.Aggregate {
		var x metrics.Aggregate
		x.Add(&invocation.Invocation{Reported: true, DurationMs: ms}, 1)
		return &x
	}
	f.beforePut = func() {
		// Another Lambda writes the same item between a's read and a's write.
		f.beforePut = nil
		mustApply(t, b, []AggregateUpdate{{Function: fn, Minute: baseMinute, Parts: []Contribution{{2, agg(900)}}}})
	}
	mustApply(t, a, []AggregateUpdate{{Function: fn, Minute: baseMinute, Parts: []Contribution{{1, agg(0.5)}}}})
	if c.conflicts.Load() != 1 || c.batchGets.Load() != 2 {
		t.Fatalf("%d conflicts, %d reads; want 1 and 2", c.conflicts.Load(), c.batchGets.Load())
	}
	ms, err := a.Minutes(context.Background(), fn, baseMinute, baseMinute)
	if err != nil || len(ms) != 1 {
		t.Fatal(ms, err)
	}
	if got := ms[0].Agg; got.Invocations != 2 || got.DurationMinMs() != 0.5 || got.DurationMaxMs() != 900 {
		t.Fatalf("got %+v, want both writers' invocations, min 0.5, max 900", got)
	}
}

// interferingAPI lets another writer change the item before each of a Table's
// writes, so that every attempt conflicts.
type interferingAPI struct {
	*fakeDB
	other *Table
	next  DocID
}

func (i *interferingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	key := keyOf(in.Item)
	fn, _ := parseFunctionID(strings.TrimPrefix(key[0], functionPrefix))
	m, _ := parseMinuteKey(key[1])
	i.next++
	var x metrics.Aggregate
	if err := i.other.ApplyAggregates(ctx, []AggregateUpdate{{Function: fn, Minute: m, Parts: []Contribution{{i.next, &x}}}})[0]; err != nil {
		return nil, err
	}
	return i.fakeDB.PutItem(ctx, in, o...)
}

func TestConflictExhaustionIsTransient(t *testing.T) {
	f := newFake()
	api := &interferingAPI{fakeDB: f, other: New(f, "fake", Options{}), next: 1000}
	tb := New(api, "fake", Options{MaxAttempts: 3})
	var x metrics.Aggregate
	err := tb.ApplyAggregates(context.Background(), []AggregateUpdate{{Function: testFunctions[0], Minute: baseMinute,
		Parts: []Contribution{{1, &x}}}})[0]
	if !errors.Is(err, ErrConflict) || !IsTransient(err) || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("err = %v, want transient ErrConflict after 3 attempts", err)
	}
	if api.next != 1003 {
		t.Fatalf("%d attempts, want 3", api.next-1000)
	}
}

func TestErrorTypes(t *testing.T) {
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			b, table := mk(t)
			tb := New(b.api, table, Options{})
			fn := testFunctions[0]
			ctx := context.Background()
			sample := &invocation.Error{Type: "KeyError", Message: "'user_id'", Fingerprint: "ab12", RequestID: "req-1"}
			keyErr := func(doc DocID, count, first, last int64, s *invocation.Error) ErrorTypeUpdate {
				return ErrorTypeUpdate{Function: fn, Type: "KeyError", Parts: []ErrorTypeContribution{
					{Doc: doc, Count: count, FirstSeen: first, LastSeen: last, Sample: s}}}
			}
			steps := []struct {
				name    string
				ups     []ErrorTypeUpdate
				want    []ErrorTypeResult
				summary string // of KeyError after the step: count first last
			}{
				{"new type", []ErrorTypeUpdate{keyErr(1, 3, 1000, 2000, sample)},
					[]ErrorTypeResult{{Applied: true, PrevLastSeen: 0}}, "3 1000 2000"},
				{"replay", []ErrorTypeUpdate{keyErr(1, 3, 1000, 2000, sample)},
					[]ErrorTypeResult{{Applied: false, PrevLastSeen: 2000}}, "3 1000 2000"},
				{"seen again, earlier and later", []ErrorTypeUpdate{keyErr(2, 1, 500, 500, nil), keyErr(3, 2, 2500, 3000,
					&invocation.Error{Type: "KeyError", Message: "later"})},
					[]ErrorTypeResult{{Applied: true, PrevLastSeen: 2000}, {Applied: true, PrevLastSeen: 2000}}, "6 500 3000"},
				{"partly replayed", []ErrorTypeUpdate{{Function: fn, Type: "KeyError", Parts: []ErrorTypeContribution{
					{Doc: 3, Count: 2, FirstSeen: 2500, LastSeen: 3000}, {Doc: 4, Count: 1, FirstSeen: 4000, LastSeen: 4000}}}},
					[]ErrorTypeResult{{Applied: true, PrevLastSeen: 3000}}, "7 500 4000"},
				{"another type", []ErrorTypeUpdate{{Function: fn, Type: "Runtime.ImportModuleError", Parts: []ErrorTypeContribution{
					{Doc: 4, Count: 1, FirstSeen: 4000, LastSeen: 4000}}}},
					[]ErrorTypeResult{{Applied: true, PrevLastSeen: 0}}, "7 500 4000"},
			}
			for _, st := range steps {
				got := tb.ApplyErrorTypes(ctx, st.ups)
				if !slices.Equal(got, st.want) {
					t.Fatalf("%s: results %+v, want %+v", st.name, got, st.want)
				}
				stats, err := tb.ErrorTypes(ctx, fn)
				if err != nil {
					t.Fatal(err)
				}
				var ke *ErrorTypeStat
				for i := range stats {
					if stats[i].Type == "KeyError" {
						ke = &stats[i]
					}
				}
				if ke == nil || fmt.Sprint(ke.Count, ke.FirstSeen, ke.LastSeen) != st.summary {
					t.Fatalf("%s: KeyError %+v, want %s", st.name, ke, st.summary)
				}
				if *ke.Sample != *sample {
					t.Fatalf("%s: sample %+v, want the first one", st.name, ke.Sample)
				}
			}
			stats, _ := tb.ErrorTypes(ctx, fn)
			if len(stats) != 2 || stats[0].Type != "KeyError" || stats[1].Type != "Runtime.ImportModuleError" || stats[1].Sample != nil {
				t.Fatalf("types %+v", stats)
			}
			if other, _ := tb.ErrorTypes(ctx, testFunctions[1]); len(other) != 0 {
				t.Fatalf("another function has %d types", len(other))
			}
		})
	}
}

func TestErrorTypeValidation(t *testing.T) {
	long := strings.Repeat("x", maxErrorTypeLen+1)
	tests := map[string]ErrorTypeUpdate{
		"empty type":     {Function: testFunctions[0], Parts: []ErrorTypeContribution{{Doc: 1, Count: 1}}},
		"long type":      {Function: testFunctions[0], Type: long, Parts: []ErrorTypeContribution{{Doc: 1, Count: 1}}},
		"no parts":       {Function: testFunctions[0], Type: "E"},
		"negative count": {Function: testFunctions[0], Type: "E", Parts: []ErrorTypeContribution{{Doc: 1, Count: -1}}},
		"bad function":   {Function: metrics.Function{Name: "f"}, Type: "E", Parts: []ErrorTypeContribution{{Doc: 1, Count: 1}}},
	}
	for name, u := range tests {
		t.Run(name, func(t *testing.T) {
			tb := New(newFake(), "fake", Options{})
			ok := ErrorTypeUpdate{Function: testFunctions[0], Type: "Fine", Parts: []ErrorTypeContribution{{Doc: 1, Count: 1}}}
			res := tb.ApplyErrorTypes(context.Background(), []ErrorTypeUpdate{u, ok})
			if !errors.Is(res[0].Err, ErrInvalid) || res[0].Applied {
				t.Fatalf("result %+v, want ErrInvalid", res[0])
			}
			if res[1].Err != nil || !res[1].Applied {
				t.Fatalf("valid update: %+v", res[1])
			}
		})
	}
}

func TestSampleMessageIsBounded(t *testing.T) {
	f := newFake()
	tb := New(f, "fake", Options{})
	msg := strings.Repeat("é", maxSampleMessageLen) // 2 bytes a rune
	res := tb.ApplyErrorTypes(context.Background(), []ErrorTypeUpdate{{Function: testFunctions[0], Type: "E",
		Parts: []ErrorTypeContribution{{Doc: 1, Count: 1, Sample: &invocation.Error{Message: msg}}}}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	stats, err := tb.ErrorTypes(context.Background(), testFunctions[0])
	if err != nil {
		t.Fatal(err)
	}
	got := stats[0].Sample.Message
	if len(got) > maxSampleMessageLen || !strings.HasPrefix(msg, got) || len(got) < maxSampleMessageLen-1 {
		t.Fatalf("sample message of %d bytes", len(got))
	}
}

func TestActivityIndex(t *testing.T) {
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			b, table := mk(t)
			c := &counting{API: b.api}
			now := time.Unix(500_000*3600+1800, 0)
			tb := New(c, table, Options{Now: func() time.Time { return now }})
			ctx := context.Background()
			marks := []struct {
				fn   metrics.Function
				hour int64
			}{
				{testFunctions[0], 499_999}, {testFunctions[0], 500_000}, {testFunctions[1], 500_000},
				{testFunctions[2], 499_998}, {testFunctions[3], 499_990},
			}
			for range 3 { // a warm Lambda marks each function-hour once
				for _, m := range marks {
					if err := tb.MarkActive(ctx, m.fn, m.hour); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := c.puts.Load(); got != int64(len(marks)) {
				t.Fatalf("%d PutItem for %d function-hours", got, len(marks))
			}
			tests := map[string]struct {
				from, to int64
				want     []metrics.Function
			}{
				"last hour":     {500_000, 500_000, []metrics.Function{testFunctions[0], testFunctions[1]}},
				"last 3 hours":  {499_998, 500_000, []metrics.Function{testFunctions[0], testFunctions[1], testFunctions[2]}},
				"old hour only": {499_990, 499_990, []metrics.Function{testFunctions[3]}},
				"empty":         {400_000, 400_010, nil},
			}
			for name, tt := range tests {
				c.reset()
				got, err := tb.ActiveFunctions(ctx, tt.from, tt.to)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want := slices.Clone(tt.want)
				slices.SortFunc(want, func(a, b metrics.Function) int { return strings.Compare(functionID(a), functionID(b)) })
				if !slices.Equal(got, want) {
					t.Fatalf("%s: got %v, want %v", name, got, want)
				}
				if hours := tt.to - tt.from + 1; c.queries.Load() < hours*ActiveShards {
					t.Fatalf("%s: %d queries for %d hours × %d shards", name, c.queries.Load(), hours, ActiveShards)
				}
			}
			if b.snapshot != nil && name == "fake" {
				snap := b.snapshot(t)
				fn := testFunctions[0]
				it := snap[[2]string{activePK(500_000, ActiveShard(fn)), functionID(fn)}]
				// 3 hours after the start of the hour, or after now when the hour began earlier.
				if want := fmt.Sprintf("%s N %d\n", TTLAttribute, max(500_000*3600, now.Unix())+3*3600); !strings.Contains(it, want) {
					t.Fatalf("activity item lacks %q:\n%s", want, it)
				}
			}
			// The cache forgets hours whose items have expired.
			now = now.Add(6 * time.Hour)
			c.reset()
			if err := tb.MarkActive(ctx, testFunctions[0], 500_006); err != nil {
				t.Fatal(err)
			}
			tb.mu.Lock()
			n := len(tb.active)
			tb.mu.Unlock()
			if n != 1 {
				t.Fatalf("cache holds %d function-hours after 6 hours, want 1", n)
			}
		})
	}
}

func TestActivityValidation(t *testing.T) {
	tb := New(newFake(), "fake", Options{})
	ctx := context.Background()
	for name, r := range map[string][2]int64{"reversed": {5, 4}, "negative": {-1, 2}, "too long": {0, MaxActiveHours}} {
		if _, err := tb.ActiveFunctions(ctx, r[0], r[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if err := tb.MarkActive(ctx, metrics.Function{Name: "x"}, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad function: err = %v", err)
	}
	shards := map[int]bool{}
	for i := range 200 {
		shards[ActiveShard(metrics.Function{Tenant: "t", Account: "1", Region: "r", Name: fmt.Sprint("f", i)})] = true
	}
	if len(shards) != ActiveShards {
		t.Errorf("200 functions use %d of %d shards", len(shards), ActiveShards)
	}
}
