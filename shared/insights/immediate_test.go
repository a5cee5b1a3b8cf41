package insights

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sightline/sightline/shared/invocation"
	"github.com/sightline/sightline/shared/metrics"
)

var (
	fnOrders = metrics.Function{Tenant: "acme", Account: "123456789012", Region: "us-east-1", Name: "orders-api"}
	fnBills  = metrics.Function{Tenant: "acme", Account: "123456789012", Region: "us-east-1", Name: "billing"}
	t0       = time.Date(2026, 3, 4, 1, 5, 0, 0, time.UTC)
)

func TestImmediateOnceper48Hours(t *testing.T) {
	tests := map[string]struct {
		status invocation.Status
		rule   Rule
		second time.Duration // after the first occurrence
		want   int           // alerts from both occurrences
	}{
		"oom again just under 48h":     {invocation.StatusOutOfMemory, RuleOutOfMemory, 48*time.Hour - time.Minute, 1},
		"oom again just over 48h":      {invocation.StatusOutOfMemory, RuleOutOfMemory, 48*time.Hour + time.Minute, 2},
		"oom again at exactly 48h":     {invocation.StatusOutOfMemory, RuleOutOfMemory, 48 * time.Hour, 2},
		"timeout again just under 48h": {invocation.StatusTimeout, RuleTimeout, 48*time.Hour - time.Second, 1},
		"timeout again just over 48h":  {invocation.StatusTimeout, RuleTimeout, 48*time.Hour + time.Second, 2},
		"timeout again a minute later": {invocation.StatusTimeout, RuleTimeout, time.Minute, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var sink Collector
			x := &Immediate{Alerts: newMemTable(), Sink: &sink}
			ctx := context.Background()
			for _, at := range []time.Time{t0, t0.Add(tc.second)} {
				if _, err := x.Evaluate(ctx, []Occurrence{{Function: fnOrders, Status: tc.status, Time: at, RequestID: "r-" + at.String()}}); err != nil {
					t.Fatal(err)
				}
			}
			got := sink.Alerts()
			if len(got) != tc.want {
				t.Fatalf("got %d alerts, want %d: %+v", len(got), tc.want, got)
			}
			for _, a := range got {
				if a.Rule != tc.rule || a.Function != "orders-api" {
					t.Errorf("alert %+v, want rule %s", a, tc.rule)
				}
			}
			if !got[0].At.Equal(t0) || got[0].Details.RequestID != "r-"+t0.String() {
				t.Errorf("first alert %+v: want at %s with its request id", got[0], t0)
			}
		})
	}
}

func TestImmediatePerFunction(t *testing.T) {
	var sink Collector
	x := &Immediate{Alerts: newMemTable(), Sink: &sink}
	occ := []Occurrence{
		{Function: fnOrders, Status: invocation.StatusOutOfMemory, Time: t0, RequestID: "a", MemorySizeMB: 128, MaxMemoryUsedMB: 128},
		{Function: fnOrders, Status: invocation.StatusOutOfMemory, Time: t0.Add(time.Second), RequestID: "b"},
		{Function: fnBills, Status: invocation.StatusOutOfMemory, Time: t0.Add(2 * time.Second), RequestID: "c"},
		{Function: fnBills, Status: invocation.StatusTimeout, Time: t0.Add(3 * time.Second), RequestID: "d", DurationMs: 3000, TimeoutMs: 3000},
	}
	got, err := x.Evaluate(context.Background(), occ)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		rule Rule
		fn   string
		req  string
	}{{RuleOutOfMemory, "orders-api", "a"}, {RuleOutOfMemory, "billing", "c"}, {RuleTimeout, "billing", "d"}}
	if len(got) != len(want) {
		t.Fatalf("got %d alerts, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Rule != w.rule || got[i].Function != w.fn || got[i].Details.RequestID != w.req {
			t.Errorf("alert %d = %s %s %s, want %+v", i, got[i].Rule, got[i].Function, got[i].Details.RequestID, w)
		}
	}
	if got[0].Details.MemorySizeMB != 128 || got[2].Details.TimeoutMs != 3000 {
		t.Errorf("evidence missing: %+v %+v", got[0].Details, got[2].Details)
	}
}

func TestNewErrorType(t *testing.T) {
	tests := map[string]struct {
		prev time.Duration // before the occurrence; 0 = never seen
		want bool
	}{
		"first ever":                       {0, true},
		"seen just under 48h before":       {48*time.Hour - time.Minute, false},
		"seen exactly 48h before":          {48 * time.Hour, true},
		"seen just over 48h before":        {48*time.Hour + time.Minute, true},
		"seen a minute before (same type)": {time.Minute, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var sink Collector
			x := &Immediate{Alerts: newMemTable(), Sink: &sink}
			o := Occurrence{Function: fnOrders, Status: invocation.StatusError, Time: t0, RequestID: "req-1",
				ErrorType: "KeyError", Message: "KeyError: 'sku'"}
			if tc.prev > 0 {
				o.PrevLastSeen = t0.Add(-tc.prev)
			}
			got, err := x.Evaluate(context.Background(), []Occurrence{o})
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != tc.want || len(got) > 1 {
				t.Fatalf("got %+v, want new=%v", got, tc.want)
			}
			if tc.want {
				a := got[0]
				if a.Rule != RuleNewErrorType || a.ErrorType != "KeyError" || a.Details.RequestID != "req-1" || a.Details.Message != "KeyError: 'sku'" {
					t.Errorf("alert %+v", a)
				}
				if (a.Details.PreviouslySeen != nil) != (tc.prev > 0) {
					t.Errorf("previouslySeen = %v", a.Details.PreviouslySeen)
				}
			}
		})
	}
}

func TestNewErrorTypePerType(t *testing.T) {
	var sink Collector
	x := &Immediate{Alerts: newMemTable(), Sink: &sink}
	occ := []Occurrence{
		{Function: fnOrders, Status: invocation.StatusError, Time: t0, ErrorType: "KeyError", RequestID: "1"},
		{Function: fnOrders, Status: invocation.StatusError, Time: t0.Add(time.Second), ErrorType: "KeyError", RequestID: "2"},
		{Function: fnOrders, Status: invocation.StatusError, Time: t0.Add(2 * time.Second), ErrorType: "ValueError", RequestID: "3"},
		{Function: fnBills, Status: invocation.StatusError, Time: t0.Add(3 * time.Second), ErrorType: "KeyError", RequestID: "4"},
		// A timeout with an error type fires both rules.
		{Function: fnBills, Status: invocation.StatusTimeout, Time: t0.Add(4 * time.Second), ErrorType: "Sandbox.Timedout", RequestID: "5"},
	}
	got, err := x.Evaluate(context.Background(), occ)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range got {
		keys = append(keys, string(a.Rule)+"/"+a.Function+"/"+a.ErrorType+"/"+a.Details.RequestID)
	}
	want := []string{"new_error_type/orders-api/KeyError/1", "new_error_type/orders-api/ValueError/3",
		"new_error_type/billing/KeyError/4", "timeout/billing//5", "new_error_type/billing/Sandbox.Timedout/5"}
	if len(keys) != len(want) {
		t.Fatalf("got %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("alert %d = %s, want %s", i, keys[i], want[i])
		}
	}
}

func TestImmediateRedeliveredBatch(t *testing.T) {
	var sink Collector
	x := &Immediate{Alerts: newMemTable(), Sink: &sink}
	batch := []Occurrence{
		{Function: fnOrders, Status: invocation.StatusTimeout, Time: t0, RequestID: "r1"},
		{Function: fnOrders, Status: invocation.StatusError, Time: t0, ErrorType: "KeyError", RequestID: "r2"},
	}
	for i := range 3 {
		got, err := x.Evaluate(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]int{0: 2}[i]; len(got) != want {
			t.Fatalf("delivery %d: %d new alerts, want %d", i, len(got), want)
		}
	}
	if n := len(sink.Alerts()); n != 2 {
		t.Fatalf("sink got %d alerts, want 2", n)
	}
}

func TestImmediateSinkFailureIsRetried(t *testing.T) {
	sink := &flakySink{fail: 1}
	x := &Immediate{Alerts: newMemTable(), Sink: sink}
	batch := []Occurrence{{Function: fnOrders, Status: invocation.StatusOutOfMemory, Time: t0, RequestID: "r1"}}
	if _, err := x.Evaluate(context.Background(), batch); err == nil {
		t.Fatal("want an error when the sink fails")
	}
	got, err := x.Evaluate(context.Background(), batch) // the batch is retried
	if err != nil || len(got) != 1 {
		t.Fatalf("retry: %v, %d alerts; want the stored alert handed over", err, len(got))
	}
	if got, _ := x.Evaluate(context.Background(), batch); len(got) != 0 {
		t.Fatalf("third delivery handed over %d alerts again", len(got))
	}
	if n := len(sink.Alerts()); n != 1 {
		t.Fatalf("sink got %d alerts, want 1", n)
	}
}

func TestAlertJSON(t *testing.T) {
	a := Alert{Rule: RuleNewErrorType, Tenant: "acme", Account: "123456789012", Region: "us-east-1",
		Function: "orders-api", At: t0, ErrorType: "KeyError", Details: Details{RequestID: "r1", Message: "boom"}}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"alert":"new_error_type","account":"123456789012","region":"us-east-1","function":"orders-api","at":"2026-03-04T01:05:00Z","errorType":"KeyError","details":{"requestId":"r1","message":"boom"}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	if got := a.Key(); got != "AL#2026-03-04T01:05:00Z#new_error_type#123456789012#us-east-1#orders-api#KeyError" {
		t.Errorf("key %s", got)
	}
}
