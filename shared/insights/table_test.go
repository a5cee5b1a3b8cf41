package insights

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/invocation"
	"github.com/sightline/sightline/shared/metrics"
	"github.com/sightline/sightline/shared/store"
)

// The DynamoDB Local process (and moto_server, in aws_test.go) is started on
// first use and stopped by TestMain.
var (
	ddbOnce sync.Once
	ddbProc *emulator.Process
	ddbErr  error
	tableN  atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range []*emulator.Process{ddbProc, motoProc} {
		if p != nil {
			p.Stop()
		}
	}
	os.Exit(code)
}

// dynamo returns a client of DynamoDB Local and a fresh table in it.
func dynamo(tb testing.TB) (*dynamodb.Client, string) {
	tb.Helper()
	ddbOnce.Do(func() { ddbProc, ddbErr = emulator.StartDynamoDB(context.Background()) })
	if errors.Is(ddbErr, emulator.ErrNotInstalled) {
		tb.Skip(ddbErr)
	}
	if ddbErr != nil {
		tb.Fatal(ddbErr)
	}
	db := dynamodb.NewFromConfig(emulator.Config(ddbProc.Endpoint, "us-east-1"))
	name := fmt.Sprintf("insights-%d", tableN.Add(1))
	if err := store.CreateTable(context.Background(), db, store.MainTable, name); err != nil {
		tb.Fatal(err)
	}
	return db, name
}

// DynamoDB Local enforces TTL: items whose expiresAt has passed on the machine's
// clock disappear, so the emulator tests run on times near now.
var (
	recentEnd = time.Now().UTC().Truncate(time.Hour)
	recentT0  = recentEnd.Add(-time.Hour)
)

type alertTable interface {
	recorder
	stateStore
}

// TestAlertTableBehaviour runs the same suite against the in-memory twin and
// against Table on DynamoDB Local.
func TestAlertTableBehaviour(t *testing.T) {
	impls := map[string]func(t *testing.T) alertTable{
		"memory": func(*testing.T) alertTable { return newMemTable() },
		"dynamodb": func(t *testing.T) alertTable {
			db, name := dynamo(t)
			return &Table{API: db, Name: name}
		},
	}
	for name, mk := range impls {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			tab := mk(t)
			a := Alert{Rule: RuleTimeout, Tenant: "acme", Account: "123456789012", Region: "us-east-1", Function: "orders-api", At: recentT0}
			steps := []struct {
				name   string
				alert  Alert
				window time.Duration
				queue  bool
				want   bool
			}{
				{"first", a, 48 * time.Hour, false, true},
				{"same alert, not yet queued: hand over again", a, 48 * time.Hour, true, true},
				{"same alert, queued: suppressed", a, 48 * time.Hour, false, false},
				{"47h59m later: suppressed", with(a, func(x *Alert) { x.At = recentT0.Add(48*time.Hour - time.Minute) }), 48 * time.Hour, false, false},
				{"other function: fires", with(a, func(x *Alert) { x.Function = "billing" }), 48 * time.Hour, true, true},
				{"other rule: fires", with(a, func(x *Alert) { x.Rule = RuleOutOfMemory }), 48 * time.Hour, true, true},
				{"48h01m later: fires", with(a, func(x *Alert) { x.At = recentT0.Add(48*time.Hour + time.Minute) }), 48 * time.Hour, true, true},
				{"new type", with(a, func(x *Alert) { x.Rule, x.ErrorType = RuleNewErrorType, "KeyError" }), 48 * time.Hour, true, true},
				{"other type", with(a, func(x *Alert) { x.Rule, x.ErrorType = RuleNewErrorType, "ValueError" }), 48 * time.Hour, true, true},
				{"same type a second later", with(a, func(x *Alert) { x.Rule, x.ErrorType, x.At = RuleNewErrorType, "KeyError", recentT0.Add(time.Second) }), 48 * time.Hour, true, false},
			}
			for _, s := range steps {
				got, err := tab.Record(ctx, s.alert, s.window)
				if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				if got != s.want {
					t.Fatalf("%s: Record = %v, want %v", s.name, got, s.want)
				}
				if got && s.queue {
					if err := tab.MarkQueued(ctx, s.alert); err != nil {
						t.Fatal(err)
					}
				}
			}

			// State: a newer state is never overwritten by an older one.
			var newer, older State
			newer.Refresh(2000, []uint64{1, 2, 3})
			older.Refresh(1990, []uint64{9})
			for _, s := range []State{newer, older} {
				if err := tab.SaveState(ctx, fnOrders, s); err != nil {
					t.Fatal(err)
				}
			}
			got, found, err := tab.LoadState(ctx, fnOrders)
			if err != nil || !found || got.Last != 2002 || got.Count(2001) != 2 {
				t.Fatalf("LoadState = %+v %v %v", got.Last, found, err)
			}
			if _, found, err := tab.LoadState(ctx, fnBills); found || err != nil {
				t.Fatalf("missing state: found=%v err=%v", found, err)
			}
		})
	}
}

func with(a Alert, f func(*Alert)) Alert { f(&a); return a }

// TestConcurrentRecordStoresOnce: overlapping producers racing on the same alert
// store it once.
func TestConcurrentRecordStoresOnce(t *testing.T) {
	db, name := dynamo(t)
	tab := &Table{API: db, Name: name}
	a := Alert{Rule: RuleEscalatedInvocations, Tenant: "acme", Account: "123456789012", Region: "us-east-1", Function: "orders-api", At: recentT0}
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := a
			b.At = recentT0.Add(time.Duration(i) * time.Second) // different keys, same de-dup window
			for {
				ok, err := tab.Record(context.Background(), b, ScheduledDedup)
				var canceled *ddbtypes.TransactionCanceledException
				if errors.As(err, &canceled) {
					continue // TransactionConflict: a retry decides
				}
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
				return
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d producers stored the alert, want 1", wins.Load())
	}
}

func TestCorruptStateIsRebuilt(t *testing.T) {
	db, name := dynamo(t)
	ctx := context.Background()
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: map[string]ddbtypes.AttributeValue{
		"pk": str(FunctionKey(fnOrders)), "sk": str(stateSortKey), "last": num(1), "ring": &ddbtypes.AttributeValueMemberB{Value: []byte{7, 7}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tab := &Table{API: db, Name: name}
	if _, _, err := tab.LoadState(ctx, fnOrders); !errors.Is(err, ErrCorruptState) {
		t.Fatalf("LoadState = %v, want ErrCorruptState", err)
	}
	s := newSeries()
	steady(s, fnOrders, recentEnd.Add(-2*time.Hour), recentEnd, 1)
	e := &Evaluator{Config: DefaultConfig(), Active: s, Windows: s, States: tab, Alerts: tab, Logger: slog.New(slog.DiscardHandler)}
	st, err := e.Run(ctx, recentEnd)
	if err != nil || st.Backfilled != 1 || st.Evaluated != 1 {
		t.Fatalf("Run = %+v, %v; want the state rebuilt", st, err)
	}
	// The corrupt item had last=1, so the rebuilt state replaced it.
	if got, found, err := tab.LoadState(ctx, fnOrders); err != nil || !found || got.Count(BucketOf(minuteAt(recentEnd))-1) != 5 {
		t.Fatalf("rebuilt state: %v %v", found, err)
	}
}

// seedStore writes minute aggregates through the real store: perMinute
// invocations of durMs for each minute of [from, to), and marks the hours active.
func seedStore(tb testing.TB, st *store.Table, fns []metrics.Function, from, to time.Time, perMinute int, durMs func(fn, m int) float64) {
	tb.Helper()
	ctx := context.Background()
	var ups []store.AggregateUpdate
	flush := func() {
		for i, err := range st.ApplyAggregates(ctx, ups) {
			if err != nil {
				tb.Fatalf("apply %d: %v", i, err)
			}
		}
		ups = ups[:0]
	}
	for fi, fn := range fns {
		for m := minuteAt(from); m < minuteAt(to); m++ {
			agg := &metrics.Aggregate{}
			for k := range perMinute {
				agg.Add(&invocation.Invocation{Reported: true, Status: invocation.StatusSuccess, DurationMs: durMs(fi, int(m)*perMinute+k)}, 0)
			}
			ups = append(ups, store.AggregateUpdate{Function: fn, Minute: m,
				Parts: []store.Contribution{{Doc: store.DocID(uint64(m)<<8 | uint64(fi)%256 + 1), Agg: agg}}})
			if len(ups) == 200 {
				flush()
			}
		}
		for h := from.Unix() / 3600; h <= (to.Unix()-1)/3600; h++ {
			if err := st.MarkActive(ctx, fn, h); err != nil {
				tb.Fatal(err)
			}
		}
	}
	flush()
}

// TestEvaluatorWithStore runs the evaluator on the real store over DynamoDB Local:
// aggregates written by the store, functions listed by its activity index,
// medians from its merged sketches, alerts and state in the same table.
func TestEvaluatorWithStore(t *testing.T) {
	db, name := dynamo(t)
	ctx := context.Background()
	st := store.New(db, name, store.Options{})
	fns := []metrics.Function{fnOrders, fnBills}
	seedStore(t, st, fns, recentEnd.Add(-3*time.Hour), recentEnd, 4, func(fn, i int) float64 { return 100 + float64(i%7) })
	// orders-api: one slow invocation (2.8s of a 3s timeout, 27x the median) and a surge.
	slow := &metrics.Aggregate{}
	slow.Add(&invocation.Invocation{Reported: true, DurationMs: 2800}, 0)
	surge := &metrics.Aggregate{}
	for range 30 {
		surge.Add(&invocation.Invocation{Reported: true, DurationMs: 100}, 0)
	}
	for i, err := range st.ApplyAggregates(ctx, []store.AggregateUpdate{
		{Function: fnOrders, Minute: minuteAt(recentEnd.Add(-20 * time.Minute)), Parts: []store.Contribution{{Doc: 1 << 60, Agg: slow}}},
		{Function: fnOrders, Minute: minuteAt(recentEnd.Add(-2 * time.Minute)), Parts: []store.Contribution{{Doc: 1<<60 + 1, Agg: surge}}},
	}) {
		if err != nil {
			t.Fatal(i, err)
		}
	}
	tab := &Table{API: db, Name: name}
	var sink Collector
	e := &Evaluator{Config: DefaultConfig(), Active: st, Windows: StoreWindows{Store: st}, States: tab, Alerts: tab,
		Timeouts: fixedTimeout(3 * time.Second), Sink: &sink, Logger: slog.New(slog.DiscardHandler)}
	for _, now := range []time.Time{recentEnd, recentEnd.Add(time.Minute)} { // an overlapping second run
		stats, err := e.Run(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Functions != 2 || stats.Evaluated != 2 {
			t.Fatalf("stats %+v", stats)
		}
	}
	got := rulesOf(sink.Alerts())
	at := recentEnd.Format("01-02T15:04")
	want := []string{at + " approaching_timeout orders-api", at + " unusual_duration orders-api",
		at + " escalated_invocations orders-api"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("alerts %v, want %v", got, want)
	}
	for _, a := range sink.Alerts() {
		switch a.Rule {
		case RuleUnusualDuration:
			if a.Details.MedianMs < 99 || a.Details.MedianMs > 108 || a.Details.DurationMs != 2800 {
				t.Errorf("unusual evidence %+v", a.Details)
			}
		case RuleEscalatedInvocations:
			if a.Details.Count != 50 || *a.Details.PriorMax != 21 {
				t.Errorf("escalated evidence count=%d priorMax=%d", a.Details.Count, *a.Details.PriorMax)
			}
		}
	}
	// The alerts are stored under the tenant, marked queued.
	out, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(name),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :al)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": str(TenantKey("acme")), ":al": str("AL#")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 3 {
		t.Fatalf("%d alert items, want 3", len(out.Items))
	}
	for _, it := range out.Items {
		if q, _ := it[AttrQueued].(*ddbtypes.AttributeValueMemberBOOL); q == nil || !q.Value {
			t.Errorf("alert %v not marked queued", it["sk"])
		}
	}
}
