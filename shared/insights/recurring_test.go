package insights

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sightline/sightline/shared/invocation"
	"github.com/sightline/sightline/shared/metrics"
	"github.com/sightline/sightline/shared/store"
)

// TestRecurringDedupOnDynamoDB runs the scheduled evaluator end to end on
// DynamoDB Local — minute aggregates written by the real store, alerts and state
// in the real Table — across the 24-hour de-duplication of unusual_duration and
// escalated_invocations (RecurringDedup), with approaching_timeout's 60-minute
// window beside it for contrast.
//
// Runs (T is a five-minute boundary):
//
//	T          slow invocation, surge to 50        all three rules fire
//	T, T+4m    overlapping runs of the same window nothing new stored or sent
//	T+23h55m   slow again, surge to 70 (> 1.25×50) only approaching_timeout (its 60 min passed;
//	                                               the other two are inside their 24 h)
//	T+24h      slow in window, surge to 100        unusual_duration and escalated fire again
//	T+24h      overlapping run                     nothing new
//
// A control evaluator with an empty alert table at T+23h55m shows the recurring
// rules' conditions held then, so their silence is the de-duplication.
func TestRecurringDedupOnDynamoDB(t *testing.T) {
	db, name := dynamo(t)
	_, ctrlName := dynamo(t)
	ctx := context.Background()
	st := store.New(db, name, store.Options{})
	fn := fnOrders
	T := recentEnd // DynamoDB Local enforces TTL: stay near the machine's clock

	// extra adds n invocations of durMs in the minute of at, as a separate
	// contribution (document) of the store.
	doc := store.DocID(1 << 60)
	extra := func(at time.Time, n int, durMs float64) {
		t.Helper()
		agg := &metrics.Aggregate{}
		for range n {
			agg.Add(&invocation.Invocation{Reported: true, Status: invocation.StatusSuccess, DurationMs: durMs}, 0)
		}
		doc++
		for _, err := range st.ApplyAggregates(ctx, []store.AggregateUpdate{{Function: fn, Minute: minuteAt(at),
			Parts: []store.Contribution{{Doc: doc, Agg: agg}}}}) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	dur := func(_, i int) float64 { return 100 + float64(i%7) } // median ~103 ms; 2x ~206 ms

	tab := &Table{API: db, Name: name}
	var sink Collector
	e := &Evaluator{Config: DefaultConfig(), Active: st, Windows: StoreWindows{Store: st}, States: tab, Alerts: tab,
		Timeouts: fixedTimeout(3 * time.Second), Sink: &sink, Logger: slog.New(slog.DiscardHandler)}
	stamp := func(at time.Time, r Rule) string { return at.Format("01-02T15:04") + " " + string(r) + " " + fn.Name }
	run := func(now time.Time, wantNew int) []string {
		t.Helper()
		stats, err := e.Run(ctx, now)
		if err != nil {
			t.Fatalf("run at %s: %v", now, err)
		}
		if stats.Functions != 1 || stats.Evaluated != 1 || stats.Failed != 0 || stats.Alerts != wantNew {
			t.Fatalf("run at %s: %+v, want 1 function evaluated and %d new alerts", now, stats, wantNew)
		}
		got := rulesOf(sink.Drain())
		slices.Sort(got)
		return got
	}
	want := func(at time.Time, rules ...Rule) []string {
		var out []string
		for _, r := range rules {
			out = append(out, stamp(at, r))
		}
		slices.Sort(out)
		return out
	}
	check := func(step string, got, want []string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: sent %v, want %v", step, got, want)
		}
	}

	// T: 3 hours of 4 invocations a minute; a 2.8 s invocation (of a 3 s timeout,
	// 27x the median) 20 minutes ago; 30 more in the last five minutes (50 there
	// against a prior maximum of 20).
	seedStore(t, st, []metrics.Function{fn}, T.Add(-3*time.Hour), T, 4, dur)
	extra(T.Add(-20*time.Minute), 1, 2800)
	extra(T.Add(-2*time.Minute), 30, 100)
	check("T", run(T, 3), want(T, RuleApproachingTimeout, RuleUnusualDuration, RuleEscalatedInvocations))
	check("T overlapping", run(T, 0), nil)
	check("T+4m overlapping", run(T.Add(4*time.Minute), 0), nil)
	if n := alertItems(t, db, name); n != 3 {
		t.Fatalf("after the overlapping runs: %d alert items, want 3", n)
	}

	// T+23h55m, 5 minutes short of 24 hours: the same conditions recur.
	r3 := T.Add(24*time.Hour - Period)
	seedStore(t, st, []metrics.Function{fn}, r3.Add(-DurationWindow), r3, 4, dur)
	extra(r3.Add(-25*time.Minute), 1, 2800)
	extra(r3.Add(-2*time.Minute), 50, 100) // 70 > 1.25 x 50
	check("T+23h55m", run(r3, 1), want(r3, RuleApproachingTimeout))

	// Control: with no alert history the same window fires every rule.
	ctrl := &Table{API: db, Name: ctrlName}
	var ctrlSink Collector
	ce := &Evaluator{Config: DefaultConfig(), Active: st, Windows: StoreWindows{Store: st}, States: ctrl, Alerts: ctrl,
		Timeouts: fixedTimeout(3 * time.Second), Sink: &ctrlSink, Logger: slog.New(slog.DiscardHandler)}
	if _, err := ce.Run(ctx, r3); err != nil {
		t.Fatal(err)
	}
	ctrlGot := rulesOf(ctrlSink.Drain())
	slices.Sort(ctrlGot)
	check("control at T+23h55m", ctrlGot, want(r3, RuleApproachingTimeout, RuleUnusualDuration, RuleEscalatedInvocations))

	// T+24h: 24 hours after the first alerts, the recurring rules fire again;
	// approaching_timeout fired 5 minutes ago and stays quiet.
	r4 := T.Add(RecurringDedup)
	seedStore(t, st, []metrics.Function{fn}, r3, r4, 4, dur)
	extra(r4.Add(-2*time.Minute), 80, 100) // 100 > 1.25 x 70
	sent := sink.Alerts()
	check("T+24h", run(r4, 2), want(r4, RuleUnusualDuration, RuleEscalatedInvocations))
	for _, a := range sink.Alerts()[len(sent):] {
		switch a.Rule {
		case RuleUnusualDuration:
			if a.Details.DurationMs != 2800 || a.Details.MedianMs < 99 || a.Details.MedianMs > 108 {
				t.Errorf("unusual_duration evidence %+v", a.Details)
			}
		case RuleEscalatedInvocations:
			if a.Details.Count != 100 || a.Details.PriorMax == nil || *a.Details.PriorMax != 70 {
				t.Errorf("escalated evidence count=%d priorMax=%v", a.Details.Count, a.Details.PriorMax)
			}
		}
	}
	check("T+24h overlapping", run(r4, 0), nil)

	// Stored: each alert once, every one handed to the sink, and the de-dup
	// items hold the latest firing.
	if n := alertItems(t, db, name); n != 6 {
		t.Fatalf("%d alert items, want 6", n)
	}
	for rule, at := range map[Rule]time.Time{RuleUnusualDuration: r4, RuleEscalatedInvocations: r4, RuleApproachingTimeout: r3} {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true),
			Key: map[string]ddbtypes.AttributeValue{"pk": str(FunctionKey(fn)), "sk": str(dedupKey(rule, ""))}})
		if err != nil {
			t.Fatal(err)
		}
		last, _ := out.Item["last"].(*ddbtypes.AttributeValueMemberN)
		if last == nil || last.Value != fmt.Sprint(at.UnixMilli()) {
			t.Errorf("%s de-dup item last=%v, want %d", rule, out.Item["last"], at.UnixMilli())
		}
	}
}

// alertItems counts the alert items of tenant acme and fails the test if one was
// never marked queued.
func alertItems(t *testing.T, db *dynamodb.Client, table string) int {
	t.Helper()
	out, err := db.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :al)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": str(TenantKey("acme")), ":al": str("AL#")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		if q, _ := it[AttrQueued].(*ddbtypes.AttributeValueMemberBOOL); q == nil || !q.Value {
			t.Errorf("alert %v not marked queued", it["sk"])
		}
	}
	return len(out.Items)
}
