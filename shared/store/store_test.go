package store

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/invocation"
	"github.com/sightline/sightline/shared/metrics"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// ddb is DynamoDB Local, started once for the package; nil when it is not installed.
var ddb *dynamodb.Client

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() {
		return m.Run()
	}
	ctx := context.Background()
	p, err := emulator.StartDynamoDB(ctx)
	switch {
	case errors.Is(err, emulator.ErrNotInstalled):
		fmt.Fprintln(os.Stderr, "DynamoDB Local not installed; integration tests skip:", err)
		return m.Run()
	case err != nil:
		fmt.Fprintln(os.Stderr, "start DynamoDB Local:", err)
		return 1
	}
	defer p.Stop()
	ddb = dynamodb.NewFromConfig(emulator.Config(p.Endpoint, "us-east-1"))
	return m.Run()
}

var tableSeq atomic.Int64

// backend is a store a behaviour test runs against.
type backend struct {
	api      API
	snapshot func(t *testing.T) map[[2]string]string
}

// backends returns a fresh fake and a fresh DynamoDB Local table.
func backends(t *testing.T) map[string]func(t *testing.T) (backend, string) {
	return map[string]func(t *testing.T) (backend, string){
		"fake": func(t *testing.T) (backend, string) {
			f := newFake()
			return backend{api: f, snapshot: func(*testing.T) map[[2]string]string { return f.snapshot() }}, "fake"
		},
		"dynamodb-local": func(t *testing.T) (backend, string) {
			name := freshTable(t)
			return backend{api: ddb, snapshot: func(t *testing.T) map[[2]string]string { return scan(t, name) }}, name
		},
	}
}

// freshTable creates a new table on DynamoDB Local (skipping without it).
func freshTable(t *testing.T) string {
	t.Helper()
	if ddb == nil {
		t.Skip("DynamoDB Local not available")
	}
	name := fmt.Sprintf("t%d-%s", tableSeq.Add(1), strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	if len(name) > 200 {
		name = name[:200]
	}
	if err := CreateTable(context.Background(), ddb, MainTable, name); err != nil {
		t.Fatal(err)
	}
	return name
}

func scan(t *testing.T, name string) map[[2]string]string {
	t.Helper()
	out := map[[2]string]string{}
	p := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			out[keyOf(it)] = render(it)
		}
	}
	return out
}

// --- generated workload -------------------------------------------------------

type fnMinute struct {
	fn metrics.Function
	m  metrics.Minute
}

// doc is one generated source document: its contributions to one function's
// minutes (a log stream's events may straddle a minute boundary).
type doc struct {
	id    DocID
	parts map[fnMinute]*metrics.Aggregate
}

var testFunctions = []metrics.Function{
	{Tenant: "t1", Account: "123456789012", Region: "us-east-1", Name: "orders-api"},
	{Tenant: "t1", Account: "123456789012", Region: "us-east-1", Name: "payments"},
	{Tenant: "t1", Account: "210987654321", Region: "eu-west-1", Name: "orders-api"},
	{Tenant: "t2", Account: "111122223333", Region: "us-west-2", Name: "thumbnailer"},
}

// baseMinute is recent: DynamoDB Local deletes expired items promptly.
var baseMinute = metrics.MinuteOf(time.Now().UnixMilli()) - 10

// goldenMinute is fixed, for golden files.
const goldenMinute = metrics.Minute(29_000_000)

func genDocs(seed uint64, n int) []doc {
	r := rand.New(rand.NewPCG(seed, 99))
	docs := make([]doc, n)
	for i := range docs {
		fn := testFunctions[r.IntN(len(testFunctions))]
		m := baseMinute + metrics.Minute(r.IntN(5))
		d := doc{id: NewDocID([]byte(fn.Account), []byte("/aws/lambda/"+fn.Name), fmt.Appendf(nil, "stream-%d", i),
			fmt.Appendf(nil, "%d", i*1000), fmt.Appendf(nil, "%d", i*1000+99), 100), parts: map[fnMinute]*metrics.Aggregate{}}
		for j := range 1 + r.IntN(2) {
			var a metrics.Aggregate
			for range 1 + r.IntN(20) {
				inv := invocation.Invocation{
					Reported:        r.IntN(30) != 0,
					Status:          invocation.Status(r.IntN(8) % 4),
					DurationMs:      math.Round(math.Exp(3+1.5*r.NormFloat64())*100) / 100,
					MemorySizeMB:    int32(128 << r.IntN(4)),
					MaxMemoryUsedMB: int32(50 + r.IntN(400)),
				}
				inv.BilledDurationMs = math.Ceil(inv.DurationMs)
				if r.IntN(10) == 0 {
					inv.InitDurationMs = 120
				}
				a.Add(&inv, cost.DefaultPrices.Invocation(inv.BilledDurationMs, inv.MemorySizeMB, cost.ARM64))
			}
			d.parts[fnMinute{fn, m + metrics.Minute(j)}] = &a
		}
		docs[i] = d
	}
	return docs
}

// updatesOf groups docs into one update per function-minute, as ingest does per batch.
func updatesOf(docs []doc) []AggregateUpdate {
	idx := map[fnMinute]int{}
	var ups []AggregateUpdate
	for _, d := range docs {
		keys := make([]fnMinute, 0, len(d.parts))
		for k := range d.parts {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b fnMinute) int { return int(a.m - b.m) })
		for _, k := range keys {
			i, ok := idx[k]
			if !ok {
				i = len(ups)
				idx[k] = i
				ups = append(ups, AggregateUpdate{Function: k.fn, Minute: k.m})
			}
			ups[i].Parts = append(ups[i].Parts, Contribution{Doc: d.id, Agg: d.parts[k]})
		}
	}
	return ups
}

func truthOf(docs []doc) map[fnMinute]*metrics.Aggregate {
	out := map[fnMinute]*metrics.Aggregate{}
	for _, d := range docs {
		for k, a := range d.parts {
			if out[k] == nil {
				out[k] = &metrics.Aggregate{}
			}
			out[k].Merge(a)
		}
	}
	return out
}

func mustApply(t *testing.T, tb *Table, ups []AggregateUpdate) {
	t.Helper()
	for i, err := range tb.ApplyAggregates(context.Background(), ups) {
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
}

// checkTotals reads every function's minutes and compares them with the truth.
func checkTotals(t *testing.T, tb *Table, truth map[fnMinute]*metrics.Aggregate) {
	t.Helper()
	got := map[fnMinute]*metrics.Aggregate{}
	for _, fn := range testFunctions {
		ms, err := tb.Minutes(context.Background(), fn, baseMinute-10, baseMinute+10)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			a := m.Agg
			got[fnMinute{fn, m.Minute}] = &a
		}
	}
	if len(got) != len(truth) {
		t.Fatalf("%d items stored, want %d", len(got), len(truth))
	}
	for k, want := range truth {
		g := got[k]
		if g == nil {
			t.Fatalf("%v minute %d missing", k.fn.Name, k.m)
		}
		if !g.Equal(want) {
			t.Fatalf("%v minute %d:\ngot  %+v\nwant %+v", k.fn.Name, k.m, *g, *want)
		}
	}
}

// --- behaviour --------------------------------------------------------------

func TestReplayLeavesItemsIdentical(t *testing.T) {
	docs := genDocs(1, 60)
	ups := updatesOf(docs)
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			var first map[[2]string]string
			for repeat := 1; repeat <= 5; repeat++ {
				b, table := mk(t)
				now := time.Unix(int64(baseMinute)*60, 0) // the same clock for every repeat
				tb := New(b.api, table, Options{Now: func() time.Time { return now }})
				for range repeat {
					mustApply(t, tb, ups)
				}
				snap := b.snapshot(t)
				if repeat == 1 {
					first = snap
					checkTotals(t, tb, truthOf(docs))
					continue
				}
				if len(snap) != len(first) {
					t.Fatalf("applied %d times: %d items, want %d", repeat, len(snap), len(first))
				}
				for k, v := range first {
					if snap[k] != v {
						t.Fatalf("applied %d times: item %v differs:\n%s\nwant\n%s", repeat, k, snap[k], v)
					}
				}
			}
		})
	}
}

func TestRedeliveryWithDifferentBatchBoundaries(t *testing.T) {
	docs := genDocs(2, 100)
	// Kinesis redelivers from the first failed record with new boundaries;
	// Firehose and Lambda retry whole requests.
	batches := [][2]int{{0, 30}, {20, 60}, {10, 100}, {55, 56}, {0, 100}, {90, 100}, {0, 1}}
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			b, table := mk(t)
			tb := New(b.api, table, Options{})
			for _, bt := range batches {
				mustApply(t, tb, updatesOf(docs[bt[0]:bt[1]]))
			}
			checkTotals(t, tb, truthOf(docs))
		})
	}
}

func TestConcurrentAppliersGiveExactTotals(t *testing.T) {
	docs := genDocs(3, 200)
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			b, table := mk(t)
			c := &counting{API: b.api}
			var conflicts atomic.Int64
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					// Each applier is a separate Lambda: its own Table, overlapping docs.
					tb := New(c, table, Options{})
					r := rand.New(rand.NewPCG(uint64(g), 5))
					for lo := 0; lo < len(docs); {
						hi := min(lo+5+r.IntN(40), len(docs))
						batch := docs[max(lo-r.IntN(10), 0):hi] // overlap the previous batch
						ups := updatesOf(batch)
						for range 20 { // redeliver failed updates, as the source would
							var failed []AggregateUpdate
							for i, err := range tb.ApplyAggregates(context.Background(), ups) {
								if err != nil {
									if !errors.Is(err, ErrConflict) {
										t.Errorf("applier %d: %v", g, err)
										return
									}
									conflicts.Add(1)
									failed = append(failed, ups[i])
								}
							}
							if ups = failed; len(ups) == 0 {
								break
							}
						}
						if len(ups) > 0 {
							t.Errorf("applier %d: still conflicting after 20 redeliveries", g)
							return
						}
						lo = hi
					}
				})
			}
			wg.Wait()
			t.Logf("%d PutItem, %d refused by the version condition and retried; %d updates exhausted their attempts and were redelivered",
				c.puts.Load(), c.conflicts.Load(), conflicts.Load())
			checkTotals(t, New(b.api, table, Options{}), truthOf(docs))
		})
	}
}

func TestMinuteItemTTL(t *testing.T) {
	table := freshTable(t)
	now := time.Unix(int64(baseMinute)*60, 0) // data arrives in its own minute
	tb := New(ddb, table, Options{Retention: 48 * time.Hour, Now: func() time.Time { return now }})
	docs := genDocs(4, 5)
	mustApply(t, tb, updatesOf(docs))
	snap := scan(t, table)
	if len(snap) == 0 {
		t.Fatal("nothing stored")
	}
	for k, it := range snap {
		m, _ := parseMinuteKey(k[1])
		want := fmt.Sprintf("%s N %d\n", TTLAttribute, (int64(m)+1)*60+48*3600)
		if !strings.Contains(it, want) {
			t.Fatalf("item %v has no %q:\n%s", k, want, it)
		}
	}
	// Late data (a replay of old logs) lives for the retention from its write.
	f := newFake()
	late := New(f, "fake", Options{Retention: time.Hour, Now: func() time.Time { return now }})
	var a metrics.Aggregate
	mustApply(t, late, []AggregateUpdate{{Function: testFunctions[0], Minute: goldenMinute, Parts: []Contribution{{1, &a}}}})
	it := f.snapshot()[[2]string{FunctionKey(testFunctions[0]), MinuteKey(goldenMinute)}]
	if want := fmt.Sprintf("%s N %d\n", TTLAttribute, now.Unix()+3600); !strings.Contains(it, want) {
		t.Fatalf("late item has no %q:\n%s", want, it)
	}
}

func TestThrottledItemsFailAloneAndOthersApply(t *testing.T) {
	docs := genDocs(5, 80)
	ups := updatesOf(docs)
	throttled := FunctionKey(testFunctions[1])
	tests := map[string]struct {
		setup     func(f *fakeDB)
		failsAll  bool
		wantInErr string
	}{
		"PutItem throttled": {
			setup: func(f *fakeDB) { f.throttlePut = map[string]bool{throttled: true} }, wantInErr: "put " + throttled,
		},
		"BatchGetItem leaves keys unprocessed": {
			setup: func(f *fakeDB) { f.unprocessed = map[string]bool{throttled: true} }, wantInErr: "unprocessed",
		},
		"BatchGetItem throttled": {
			setup: func(f *fakeDB) { f.throttleBatch = true }, failsAll: true, wantInErr: "get ",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFake()
			tt.setup(f)
			tb := New(f, "fake", Options{})
			errs := tb.ApplyAggregates(context.Background(), ups)
			applied := 0
			for i, err := range errs {
				want := tt.failsAll || FunctionKey(ups[i].Function) == throttled
				if !want {
					if err != nil {
						t.Fatalf("update %d (%s) failed: %v", i, ups[i].Function.Name, err)
					}
					applied++
					continue
				}
				if !errors.Is(err, ErrThrottled) || !IsTransient(err) || !strings.Contains(err.Error(), tt.wantInErr) {
					t.Fatalf("update %d: err = %v, want transient ErrThrottled mentioning %q", i, err, tt.wantInErr)
				}
				if !strings.Contains(err.Error(), FunctionKey(ups[i].Function)) {
					t.Fatalf("error %v does not name the item", err)
				}
			}
			// The throttled items are absent; the others hold exactly their truth.
			f.throttlePut, f.unprocessed, f.throttleBatch = nil, nil, false
			truth := truthOf(docs)
			for k := range truth {
				if tt.failsAll || FunctionKey(k.fn) == throttled {
					delete(truth, k)
				}
			}
			checkTotals(t, tb, truth)
			if !tt.failsAll && applied == 0 {
				t.Fatal("nothing applied")
			}
			// Retrying everything now completes it exactly.
			mustApply(t, tb, ups)
			checkTotals(t, tb, truthOf(docs))
		})
	}
}

func TestLedgerBound(t *testing.T) {
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			b, table := mk(t)
			var logged strings.Builder
			tb := New(b.api, table, Options{LedgerLimit: 4, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
			fn := testFunctions[0]
			one := func(id DocID) []AggregateUpdate {
				var a metrics.Aggregate
				a.Add(&invocation.Invocation{Reported: true, DurationMs: float64(id)}, 1)
				return []AggregateUpdate{{Function: fn, Minute: baseMinute, Parts: []Contribution{{Doc: id, Agg: &a}}}}
			}
			invocations := func() int64 {
				ms, err := tb.Minutes(context.Background(), fn, baseMinute, baseMinute)
				if err != nil || len(ms) != 1 {
					t.Fatalf("Minutes: %v, %d items", err, len(ms))
				}
				return ms[0].Agg.Invocations
			}
			for id := DocID(1); id <= 6; id++ {
				mustApply(t, tb, one(id))
			}
			if !strings.Contains(logged.String(), "level=WARN msg=\"aggregate ledger full") ||
				strings.Contains(logged.String(), "123456789012") {
				t.Fatalf("want a ledger warning without the full account id, logged:\n%s", logged.String())
			}
			snap := b.snapshot(t)
			it := snap[[2]string{FunctionKey(fn), MinuteKey(baseMinute)}]
			wantLedger := fmt.Sprintf("%s B %016x%016x%016x%016x\n", attrDocs, 3, 4, 5, 6)
			if !strings.Contains(it, wantLedger) {
				t.Fatalf("ledger is not the newest 4 ids:\n%s", it)
			}
			// Replays of the ids still in the ledger change nothing ...
			for id := DocID(3); id <= 6; id++ {
				mustApply(t, tb, one(id))
			}
			if n := invocations(); n != 6 {
				t.Fatalf("invocations = %d after replaying ledger ids, want 6", n)
			}
			// ... while an evicted id is applied again: the documented price of the bound.
			mustApply(t, tb, one(1))
			if n := invocations(); n != 7 {
				t.Fatalf("invocations = %d after replaying an evicted id, want 7", n)
			}
			// A single write with more new documents than the bound keeps the newest.
			var parts []Contribution
			for id := DocID(100); id < 110; id++ {
				parts = append(parts, one(id)[0].Parts...)
			}
			mustApply(t, tb, []AggregateUpdate{{Function: fn, Minute: baseMinute, Parts: parts}})
			if n := invocations(); n != 17 {
				t.Fatalf("invocations = %d, want 17", n)
			}
		})
	}
}

func TestDuplicateDocsAndKeysInOneCall(t *testing.T) {
	f := newFake()
	c := &counting{API: f}
	tb := New(c, "fake", Options{})
	docs := genDocs(6, 30)
	ups := updatesOf(docs)
	// The same updates twice in one call, and one document twice in one update.
	ups[0].Parts = append(ups[0].Parts, ups[0].Parts[0])
	all := append(slices.Clone(ups), ups...)
	mustApply(t, tb, all)
	if got, want := c.puts.Load(), int64(len(ups)); got != want {
		t.Fatalf("%d PutItem for %d distinct items", got, want)
	}
	checkTotals(t, tb, truthOf(docs))
}

func TestInvalidUpdatesFailPermanentlyAlone(t *testing.T) {
	good := updatesOf(genDocs(7, 3))
	var a metrics.Aggregate
	bad := map[string]AggregateUpdate{
		"empty tenant":   {Function: metrics.Function{Account: "1", Region: "r", Name: "f"}, Minute: 1, Parts: []Contribution{{1, &a}}},
		"# in name":      {Function: metrics.Function{Tenant: "t", Account: "1", Region: "r", Name: "a#b"}, Minute: 1, Parts: []Contribution{{1, &a}}},
		"negative min":   {Function: testFunctions[0], Minute: -1, Parts: []Contribution{{1, &a}}},
		"minute too big": {Function: testFunctions[0], Minute: 10_000_000_000, Parts: []Contribution{{1, &a}}},
		"no parts":       {Function: testFunctions[0], Minute: 1},
		"nil aggregate":  {Function: testFunctions[0], Minute: 1, Parts: []Contribution{{1, nil}}},
	}
	for name, u := range bad {
		t.Run(name, func(t *testing.T) {
			tb := New(newFake(), "fake", Options{})
			errs := tb.ApplyAggregates(context.Background(), append([]AggregateUpdate{u}, good...))
			if !errors.Is(errs[0], ErrInvalid) || IsTransient(errs[0]) {
				t.Fatalf("err = %v, want permanent ErrInvalid", errs[0])
			}
			for _, err := range errs[1:] {
				if err != nil {
					t.Fatalf("valid update failed: %v", err)
				}
			}
		})
	}
}

func TestCorruptItemIsPermanent(t *testing.T) {
	f := newFake()
	tb := New(f, "fake", Options{})
	ups := updatesOf(genDocs(8, 1))
	mustApply(t, tb, ups)
	k := [2]string{FunctionKey(ups[0].Function), MinuteKey(ups[0].Minute)}
	tests := map[string]struct {
		attr string
		av   ddbtypes.AttributeValue
	}{
		"ledger length":      {attrDocs, &ddbtypes.AttributeValueMemberB{Value: []byte{1, 2, 3}}},
		"histogram":          {attrHistogram, &ddbtypes.AttributeValueMemberB{Value: []byte{9}}},
		"count not a number": {attrInvocations, &ddbtypes.AttributeValueMemberS{Value: "x"}},
		"count vs histogram": {attrInvocations, number(1 << 40)},
		"version":            {versionAttribute, &ddbtypes.AttributeValueMemberN{Value: "1.5"}},
	}
	orig := clone(f.items[k])
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			it := clone(orig)
			it[tt.attr] = tt.av
			f.items[k] = it
			more := updatesOf(genDocs(9, 1))
			more[0].Function, more[0].Minute = ups[0].Function, ups[0].Minute
			err := tb.ApplyAggregates(context.Background(), more)[0]
			if !errors.Is(err, ErrCorrupt) || IsTransient(err) {
				t.Fatalf("err = %v, want permanent ErrCorrupt", err)
			}
		})
	}
}

// TestRequestCounts reports the DynamoDB requests the writes make.
func TestRequestCounts(t *testing.T) {
	if ddb == nil {
		t.Skip("DynamoDB Local not available")
	}
	table := freshTable(t)
	c := &counting{API: ddb}
	tb := New(c, table, Options{})
	// 250 distinct function-minutes, 4 documents each.
	var ups []AggregateUpdate
	invocations := 0
	for i := range 250 {
		fn := testFunctions[i%len(testFunctions)]
		fn.Name = fmt.Sprintf("fn-%d", i)
		u := AggregateUpdate{Function: fn, Minute: baseMinute}
		for d := range 4 {
			var a metrics.Aggregate
			for range 25 {
				a.Add(&invocation.Invocation{Reported: true, DurationMs: 12.5, BilledDurationMs: 13, MemorySizeMB: 128}, 10)
				invocations++
			}
			u.Parts = append(u.Parts, Contribution{Doc: DocID(i*10 + d), Agg: &a})
		}
		ups = append(ups, u)
	}
	mustApply(t, tb, ups)
	if got := c.batchGets.Load(); got != 3 {
		t.Errorf("first delivery: %d BatchGetItem, want 3 (100 keys each)", got)
	}
	if got := c.puts.Load(); got != 250 {
		t.Errorf("first delivery: %d PutItem, want 250 (one per item)", got)
	}
	t.Logf("first delivery of %d invocations in %d items: %d BatchGetItem + %d PutItem = %.1f write requests per 1,000 invocations",
		invocations, len(ups), c.batchGets.Load(), c.puts.Load(), float64(c.puts.Load())*1000/float64(invocations))
	c.reset()
	mustApply(t, tb, ups)
	if c.puts.Load() != 0 || c.batchGets.Load() != 3 {
		t.Errorf("replay: %d BatchGetItem, %d PutItem; want 3 and 0", c.batchGets.Load(), c.puts.Load())
	}
	t.Logf("replay: %d BatchGetItem + %d PutItem", c.batchGets.Load(), c.puts.Load())
}

func TestMinutesRangeAndPagination(t *testing.T) {
	f := newFake()
	c := &counting{API: f}
	tb := New(c, "fake", Options{})
	fn := testFunctions[0]
	var ups []AggregateUpdate
	for m := range 7 {
		var a metrics.Aggregate
		a.Add(&invocation.Invocation{Reported: true, DurationMs: float64(m + 1)}, 1)
		ups = append(ups, AggregateUpdate{Function: fn, Minute: baseMinute + metrics.Minute(m), Parts: []Contribution{{DocID(m), &a}}})
	}
	mustApply(t, tb, ups)
	tests := map[string]struct {
		from, to metrics.Minute
		want     []metrics.Minute
		err      error
	}{
		"all":         {baseMinute - 100, baseMinute + 100, []metrics.Minute{0, 1, 2, 3, 4, 5, 6}, nil},
		"inner":       {baseMinute + 2, baseMinute + 4, []metrics.Minute{2, 3, 4}, nil},
		"one":         {baseMinute + 6, baseMinute + 6, []metrics.Minute{6}, nil},
		"none":        {baseMinute + 7, baseMinute + 90, nil, nil},
		"reversed":    {baseMinute + 4, baseMinute + 2, nil, ErrInvalid},
		"negative":    {-1, baseMinute, nil, ErrInvalid},
		"out of keys": {0, 10_000_000_000, nil, ErrInvalid},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tb.Minutes(context.Background(), fn, tt.from, tt.to)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			var ms []metrics.Minute
			for _, g := range got {
				ms = append(ms, g.Minute-baseMinute)
				if g.Agg.DurationMaxMs() != float64(g.Minute-baseMinute+1) {
					t.Fatalf("minute %d holds max %v", g.Minute, g.Agg.DurationMaxMs())
				}
			}
			if !slices.Equal(ms, tt.want) {
				t.Fatalf("minutes %v, want %v", ms, tt.want)
			}
		})
	}
	if c.queries.Load() < 5 {
		t.Fatalf("only %d Query requests: pagination not exercised", c.queries.Load())
	}
}

func TestAggregateItemGolden(t *testing.T) {
	var a metrics.Aggregate
	for i, ms := range []float64{0.29, 12.34, 12.34, 1500, 899999.99} {
		inv := invocation.Invocation{Reported: true, Status: invocation.Status(i % 4), DurationMs: ms,
			BilledDurationMs: math.Ceil(ms), MemorySizeMB: 1024, MaxMemoryUsedMB: int32(100 * i), InitDurationMs: float64(i % 2)}
		a.Add(&inv, cost.DefaultPrices.Invocation(inv.BilledDurationMs, 1024, cost.X86))
	}
	a.Add(&invocation.Invocation{Status: invocation.StatusTimeout}, 0)
	f := newFake()
	tb := New(f, "fake", Options{})
	fn := testFunctions[0]
	tb.opts.Now = func() time.Time { return time.Unix(int64(goldenMinute)*60, 0) }
	mustApply(t, tb, []AggregateUpdate{{Function: fn, Minute: goldenMinute, Parts: []Contribution{
		{NewDocID([]byte("123456789012"), []byte("/aws/lambda/orders-api"), []byte("2026/01/01/[$LATEST]abc"), []byte("1"), []byte("9"), 9), &a},
	}}})
	got := f.snapshot()[[2]string{FunctionKey(fn), MinuteKey(goldenMinute)}]
	path := filepath.Join("testdata", "aggregate_item.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("stored item layout changed (existing items must stay readable):\ngot\n%s\nwant\n%s", got, want)
	}
	// And it reads back exactly.
	ms, err := tb.Minutes(context.Background(), fn, goldenMinute, goldenMinute)
	if err != nil || len(ms) != 1 || !ms[0].Agg.Equal(&a) {
		t.Fatalf("read back %v, %v", ms, err)
	}
}

func TestIsTransient(t *testing.T) {
	tests := map[string]struct {
		err  error
		want bool
	}{
		"nil":               {nil, false},
		"throttled":         {fmt.Errorf("x: %w", ErrThrottled), true},
		"conflict":          {fmt.Errorf("x: %w", ErrConflict), true},
		"invalid":           {fmt.Errorf("x: %w", ErrInvalid), false},
		"corrupt":           {fmt.Errorf("x: %w", ErrCorrupt), false},
		"deadline":          {context.DeadlineExceeded, true},
		"provisioned":       {&ddbtypes.ProvisionedThroughputExceededException{}, true},
		"request limit":     {&ddbtypes.RequestLimitExceeded{}, true},
		"throttling":        {&ddbtypes.ThrottlingException{}, true},
		"internal":          {&ddbtypes.InternalServerError{}, true},
		"missing table":     {&ddbtypes.ResourceNotFoundException{}, false},
		"plain":             {errors.New("boom"), false},
		"classified 5xx":    {classify("put", "k", &ddbtypes.InternalServerError{}), true},
		"classified denied": {classify("put", "k", &ddbtypes.ResourceNotFoundException{}), false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := IsTransient(tt.err); got != tt.want {
				t.Fatalf("IsTransient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if err := classify("put", "F#k M#1", &ddbtypes.ThrottlingException{}); !errors.Is(err, ErrThrottled) ||
		!strings.Contains(err.Error(), "F#k M#1") {
		t.Fatalf("classify = %v", err)
	}
}

func TestNewDocID(t *testing.T) {
	base := func() [6]any { return [6]any{"1", "/aws/lambda/f", "s", "10", "20", 3} }
	id := func(p [6]any) DocID {
		return NewDocID([]byte(p[0].(string)), []byte(p[1].(string)), []byte(p[2].(string)),
			[]byte(p[3].(string)), []byte(p[4].(string)), p[5].(int))
	}
	ref := id(base())
	if ref != id(base()) {
		t.Fatal("NewDocID is not deterministic")
	}
	// Stable across releases: stored ledgers depend on it.
	if got := ref.String(); got != "183afc7bf4dd8a4f" {
		t.Fatalf("NewDocID changed: %s (stored ledgers would no longer match redeliveries)", got)
	}
	for i := range 6 {
		p := base()
		switch v := p[i].(type) {
		case string:
			p[i] = v + "x"
		case int:
			p[i] = v + 1
		}
		if id(p) == ref {
			t.Fatalf("changing field %d does not change the id", i)
		}
	}
	// Field boundaries matter: moving a byte from one field to the next changes the id.
	if NewDocID([]byte("ab"), []byte("c"), nil, nil, nil, 0) == NewDocID([]byte("a"), []byte("bc"), nil, nil, nil, 0) {
		t.Fatal("field boundaries are ignored")
	}
	seen := map[DocID]bool{}
	for i := range 200_000 {
		d := NewDocID([]byte("123456789012"), []byte("/aws/lambda/f"), []byte("stream"), fmt.Appendf(nil, "%d", i), fmt.Appendf(nil, "%d", i+1), 1)
		if seen[d] {
			t.Fatalf("collision at %d", i)
		}
		seen[d] = true
	}
	owner, group := []byte("1"), []byte("g")
	if n := testing.AllocsPerRun(100, func() { NewDocID(owner, group, owner, group, owner, 5) }); n != 0 {
		t.Fatalf("NewDocID allocates %v times", n)
	}
}

func FuzzDecodeLedger(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := decodeLedger(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if enc := l.encode(); string(enc) != string(b) {
			t.Fatal("ledger does not round-trip")
		}
		for _, id := range l.ids {
			if !l.has(id) {
				t.Fatalf("decoded ledger lacks %v", id)
			}
		}
	})
}

func FuzzDecodeAggregateItem(f *testing.F) {
	var a metrics.Aggregate
	a.Add(&invocation.Invocation{Reported: true, DurationMs: 5}, 1)
	h, _ := a.Durations.MarshalBinary()
	f.Add(h, int64(1), int64(5000), int64(64))
	f.Fuzz(func(t *testing.T, hist []byte, inv, dsum, mem int64) {
		it := encodeAggregate(&metrics.Aggregate{})
		it[attrHistogram] = &ddbtypes.AttributeValueMemberB{Value: hist}
		it[attrInvocations] = number(inv)
		it[attrDurSum] = number(dsum)
		it[attrMemory] = number(mem)
		got, err := decodeAggregate(it)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		back, err := decodeAggregate(encodeAggregate(&got))
		if err != nil || !back.Equal(&got) {
			t.Fatalf("aggregate does not round-trip: %v", err)
		}
	})
}

// BenchmarkMergeItem is the CPU cost of one item's read-modify-write: decode the
// stored aggregate and a full default ledger, merge one part, encode.
func BenchmarkMergeItem(b *testing.B) {
	docs := genDocs(10, 200)
	var agg metrics.Aggregate
	for _, d := range docs {
		for _, a := range d.parts {
			agg.Merge(a)
		}
	}
	cur := encodeAggregate(&agg)
	led := ledger{}
	for i := range DefaultLedgerLimit - 1 { // full after the merge, no eviction
		led.add(DocID(i))
	}
	cur[attrDocs] = &ddbtypes.AttributeValueMemberB{Value: led.encode()}
	tb := New(newFake(), "fake", Options{})
	var part metrics.Aggregate
	part.Add(&invocation.Invocation{Reported: true, DurationMs: 12.5}, 1)
	parts := []Contribution{{Doc: 1 << 40, Agg: &part}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tb.mergeAggregate(context.Background(), cur, testFunctions[0], baseMinute, parts); err != nil {
			b.Fatal(err)
		}
	}
}
