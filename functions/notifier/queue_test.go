package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/insights"
	"github.com/sightline/sightline/shared/notify"
	"github.com/sightline/sightline/shared/store"
)

// Emulators are started by the test that needs them and stopped by TestMain.
var (
	motoProc, ddbProc *emulator.Process
	emuMu             sync.Mutex
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range []*emulator.Process{motoProc, ddbProc} {
		if p != nil {
			p.Stop()
		}
	}
	os.Exit(code)
}

// startEmulators starts moto_server and DynamoDB Local side by side.
func startEmulators(t *testing.T) (aws.Config, *dynamodb.Client) {
	t.Helper()
	emuMu.Lock()
	defer emuMu.Unlock()
	if motoProc == nil || ddbProc == nil {
		var motoErr, ddbErr error
		var wg sync.WaitGroup
		wg.Go(func() { motoProc, motoErr = emulator.StartMoto(context.Background()) })
		wg.Go(func() { ddbProc, ddbErr = emulator.StartDynamoDB(context.Background()) })
		wg.Wait()
		for _, err := range []error{motoErr, ddbErr} {
			if errors.Is(err, emulator.ErrNotInstalled) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return emulator.Config(motoProc.Endpoint, "us-east-1"),
		dynamodb.NewFromConfig(emulator.Config(ddbProc.Endpoint, "us-east-1"))
}

// webhook is a customer's receiver: it keeps each request and answers status.
type webhook struct {
	mu      sync.Mutex
	status  int
	bodies  [][]byte
	headers []http.Header
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, b)
	h.headers = append(h.headers, r.Header.Clone())
	status := h.status
	h.mu.Unlock()
	w.WriteHeader(status)
}

func (h *webhook) requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

// TestHandlerOnRealQueue is the alert path after the evaluator: alerts stored by
// insights.Table and sent by insights.QueueSink to SQS (moto_server), received
// from the queue as the event source mapping would, and fed as an
// events.SQSEvent through the Lambda runtime's own decoding to the handler with
// the real Notifier: channels and outcomes in DynamoDB Local, webhook secrets in
// SSM (moto), deliveries to local HTTP receivers that verify the signature.
func TestHandlerOnRealQueue(t *testing.T) {
	cfg, db := startEmulators(t)
	ctx := context.Background()
	const table = "notifier-queue-test"
	if err := store.CreateTable(ctx, db, store.MainTable, table); err != nil {
		t.Fatal(err)
	}

	// acme's receiver answers 200; globex's is down (503) for the whole test.
	acmeHook, globexHook := &webhook{status: http.StatusOK}, &webhook{status: http.StatusServiceUnavailable}
	acmeSrv, globexSrv := httptest.NewServer(acmeHook), httptest.NewServer(globexHook)
	defer acmeSrv.Close()
	defer globexSrv.Close()
	const acmeKey = "whsec_acme_7f3a"
	ps := ssm.NewFromConfig(cfg)
	for name, value := range map[string]string{
		"/sightline/acme/hook":   `{"url":"` + acmeSrv.URL + `/sightline","signingKey":"` + acmeKey + `"}`,
		"/sightline/globex/hook": `{"url":"` + globexSrv.URL + `/in","signingKey":"k2"}`,
	} {
		if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Type: ssmtypes.ParameterTypeSecureString,
			Value: aws.String(value), Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	channels := &notify.Table{API: db, Name: table}
	for _, c := range []notify.Channel{
		{Tenant: "acme", ID: "hook", Kind: notify.KindWebhook, SecretRef: "ssm:/sightline/acme/hook"},
		{Tenant: "globex", ID: "hook", Kind: notify.KindWebhook, SecretRef: "ssm:/sightline/globex/hook"},
	} {
		if err := channels.PutChannel(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	// The producer side: store each alert, then hand it to the queue.
	sq := sqs.NewFromConfig(cfg)
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sightline-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second) // alert items have a TTL
	pm := int64(21)
	alerts := map[string]insights.Alert{
		"acme": {Rule: insights.RuleEscalatedInvocations, Tenant: "acme", Account: "123456789012", Region: "us-east-1",
			Function: "orders-api", At: at, Details: insights.Details{Count: 50, PriorMax: &pm, Threshold: 26.25}},
		"globex": {Rule: insights.RuleTimeout, Tenant: "globex", Account: "210987654321", Region: "eu-west-1",
			Function: "billing", At: at, Details: insights.Details{RequestID: "8f5c-11", DurationMs: 3000, TimeoutMs: 3000}},
	}
	alertTable := &insights.Table{API: db, Name: table}
	sink := &insights.QueueSink{API: sq, URL: aws.ToString(q.QueueUrl)}
	for _, tenant := range []string{"acme", "globex"} {
		a := alerts[tenant]
		if ok, err := alertTable.Record(ctx, a, insights.RecurringDedup); err != nil || !ok {
			t.Fatalf("record %s: %v %v", tenant, ok, err)
		}
		if err := sink.Send(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := alertTable.MarkQueued(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	// The event source mapping's side: receive the batch and build the event.
	var ev events.SQSEvent
	for tries := 0; len(ev.Records) < 2 && tries < 5; tries++ {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId),
				ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body), Md5OfBody: aws.ToString(m.MD5OfBody),
				Attributes: m.Attributes, EventSource: "aws:sqs", EventSourceARN: qa.Attributes["QueueArn"], AWSRegion: "us-east-1"})
		}
	}
	if len(ev.Records) != 2 {
		t.Fatalf("received %d messages, want 2", len(ev.Records))
	}
	tenantOf := map[string]string{} // message id -> tenant
	for _, r := range ev.Records {
		var m insights.QueueMessage
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
			t.Fatal(err)
		}
		tenantOf[r.MessageId] = m.Tenant
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	h := &handler{notifier: &notify.Notifier{
		Store: channels,
		Senders: &notify.Senders{HTTP: acmeSrv.Client(), Now: func() time.Time { return now },
			Secrets: &notify.Secrets{SSM: ps}},
		Retry:        notify.Retry{Attempts: 3, Base: time.Millisecond, Max: 5 * time.Millisecond},
		DashboardURL: "https://app.sightline.dev",
		Logger:       slog.New(slog.DiscardHandler),
	}}
	invoke := func() events.SQSEventResponse {
		t.Helper()
		out, err := lambda.NewHandler(h.handle).Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		return resp
	}
	onlyGlobexRetried := func(resp events.SQSEventResponse) {
		t.Helper()
		if len(resp.BatchItemFailures) != 1 || tenantOf[resp.BatchItemFailures[0].ItemIdentifier] != "globex" {
			t.Fatalf("batch item failures %+v (tenants by message %v), want only globex's message", resp.BatchItemFailures, tenantOf)
		}
	}

	onlyGlobexRetried(invoke())

	// acme's receiver got one delivery it can verify as a receiver should.
	if n := acmeHook.requests(); n != 1 {
		t.Fatalf("acme webhook got %d requests, want 1", n)
	}
	body, hdr := acmeHook.bodies[0], acmeHook.headers[0]
	if err := notify.Verify([]byte(acmeKey), hdr.Get(notify.HeaderTimestamp), hdr.Get(notify.HeaderSignature), body, now, notify.ReplayTolerance); err != nil {
		t.Fatalf("receiver rejects the delivery: %v", err)
	}
	if err := notify.Verify([]byte("whsec_other"), hdr.Get(notify.HeaderTimestamp), hdr.Get(notify.HeaderSignature), body, now, notify.ReplayTolerance); !errors.Is(err, notify.ErrBadSignature) {
		t.Fatalf("a wrong key verifies: %v", err)
	}
	if err := notify.Verify([]byte(acmeKey), hdr.Get(notify.HeaderTimestamp), hdr.Get(notify.HeaderSignature), body, now.Add(notify.ReplayTolerance+time.Second), notify.ReplayTolerance); !errors.Is(err, notify.ErrStale) {
		t.Fatalf("a replay after the tolerance verifies: %v", err)
	}
	var got notify.WebhookBody
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("webhook body %s: %v", body, err)
	}
	want := alerts["acme"]
	if got.ID != want.Key() || got.Alert.Rule != want.Rule || got.Alert.Function != want.Function || !got.Alert.At.Equal(want.At) ||
		got.Alert.Details.Count != 50 || got.Alert.Details.PriorMax == nil || *got.Alert.Details.PriorMax != 21 {
		t.Fatalf("webhook body %s", body)
	}
	if got.Link != notify.DashboardLink("https://app.sightline.dev", &want) {
		t.Fatalf("link %q", got.Link)
	}
	// globex's receiver was tried every attempt, and never succeeded.
	if n := globexHook.requests(); n != 3 {
		t.Fatalf("globex webhook got %d requests, want 3 attempts", n)
	}

	// Outcomes on the alert items: acme's delivered, globex's not recorded at all.
	if done, err := channels.Done(ctx, alerts["acme"]); err != nil || !done["hook"] {
		t.Fatalf("acme outcomes %v %v", done, err)
	}
	if done, err := channels.Done(ctx, alerts["globex"]); err != nil || len(done) != 0 {
		t.Fatalf("globex outcomes %v %v, want none (it will be retried)", done, err)
	}

	// SQS redelivers the batch: acme's delivery is not repeated, globex's is retried.
	onlyGlobexRetried(invoke())
	if n := acmeHook.requests(); n != 1 {
		t.Fatalf("acme webhook got %d requests after redelivery, want still 1", n)
	}
	if n := globexHook.requests(); n != 6 {
		t.Fatalf("globex webhook got %d requests after redelivery, want 6", n)
	}
}
