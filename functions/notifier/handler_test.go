package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sightline/sightline/shared/insights"
	"github.com/sightline/sightline/shared/notify"
)

type fakeNotifier struct {
	errs map[string]error // by function name
	got  []insights.QueueMessage
}

func (f *fakeNotifier) Deliver(_ context.Context, m insights.QueueMessage) (notify.Result, error) {
	f.got = append(f.got, m)
	return notify.Result{Delivered: 1}, f.errs[m.Alert.Function]
}

func body(fn string) string {
	b, _ := json.Marshal(insights.QueueMessage{Tenant: "acme", Alert: insights.Alert{Rule: insights.RuleTimeout,
		Account: "123456789012", Region: "us-east-1", Function: fn, At: time.Date(2026, 3, 4, 1, 5, 0, 0, time.UTC)}})
	return string(b)
}

// sqsEvent is AWS's sample SQS event with our bodies in its records.
func sqsEvent(t *testing.T, bodies ...string) []byte {
	t.Helper()
	gomod := os.Getenv("GOMODCACHE")
	if gomod == "" {
		gomod = filepath.Join(os.Getenv("HOME"), "go", "pkg", "mod")
	}
	raw, err := os.ReadFile(filepath.Join(gomod, "github.com/aws/aws-lambda-go@v1.55.1/events/testdata/sqs-event.json"))
	var ev events.SQSEvent
	if err != nil || json.Unmarshal(raw, &ev) != nil || len(ev.Records) == 0 {
		ev = events.SQSEvent{Records: []events.SQSMessage{{EventSource: "aws:sqs"}}}
	}
	tmpl := ev.Records[0]
	ev.Records = nil
	for i, b := range bodies {
		r := tmpl
		r.MessageId = fmt.Sprintf("m-%d", i)
		r.Body = b
		ev.Records = append(ev.Records, r)
	}
	out, _ := json.Marshal(ev)
	return out
}

func TestHandlerBatchItemFailures(t *testing.T) {
	f := &fakeNotifier{errs: map[string]error{
		"flaky":  fmt.Errorf("deliver: %w", notify.ErrTransient),
		"broken": fmt.Errorf("deliver: %w", notify.ErrPermanent),
	}}
	payload := sqsEvent(t, body("ok"), body("flaky"), "not json", body("broken"), `{"tenant":"acme","alert":{"alert":"nope"}}`)
	out, err := lambda.NewHandler((&handler{notifier: f}).handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m-1" {
		t.Fatalf("batch item failures %+v, want only the transient m-1", resp.BatchItemFailures)
	}
	if len(f.got) != 3 || f.got[0].Tenant != "acme" || f.got[0].Alert.Tenant != "acme" {
		t.Fatalf("delivered %+v", f.got)
	}
}

func TestParseSettings(t *testing.T) {
	tests := map[string]struct {
		env  map[string]string
		want bool
	}{
		"ok":           {map[string]string{"TABLE_NAME": "t", "DASHBOARD_URL": "https://app"}, true},
		"no dashboard": {map[string]string{"TABLE_NAME": "t"}, false},
		"no table":     {map[string]string{"DASHBOARD_URL": "https://app"}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := parseSettings(func(k string) string { return tc.env[k] }); (err == nil) != tc.want {
				t.Fatalf("err %v", err)
			}
		})
	}
}
