package insights

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/integration"
	"github.com/sightline/sightline/shared/metrics"
)

// moto_server is started on first use and stopped by TestMain (table_test.go).
var (
	motoOnce sync.Once
	motoProc *emulator.Process
	motoErr  error
)

func moto(tb testing.TB) aws.Config {
	tb.Helper()
	motoOnce.Do(func() { motoProc, motoErr = emulator.StartMoto(context.Background()) })
	if errors.Is(motoErr, emulator.ErrNotInstalled) {
		tb.Skip(motoErr)
	}
	if motoErr != nil {
		tb.Fatal(motoErr)
	}
	return emulator.Config(motoProc.Endpoint, "us-east-1")
}

// TestQueueSinkOnMoto sends alerts through QueueSink to a real SQS queue
// (moto_server), receives them and decodes them as the notifier does.
func TestQueueSinkOnMoto(t *testing.T) {
	ctx := context.Background()
	client := sqs.NewFromConfig(moto(t))
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sightline-alerts-sink-test")})
	if err != nil {
		t.Fatal(err)
	}
	sink := &QueueSink{API: client, URL: aws.ToString(q.QueueUrl)}

	pm := int64(21)
	winStart, winEnd := t0.Add(-5*time.Minute), t0
	prev := t0.Add(-72 * time.Hour)
	tests := map[string]Alert{
		"escalated_invocations": {Rule: RuleEscalatedInvocations, Tenant: "acme", Account: "123456789012", Region: "us-east-1",
			Function: "orders-api", At: t0, Details: Details{Count: 50, PriorMax: &pm, Threshold: 26.25,
				WindowStart: &winStart, WindowEnd: &winEnd}},
		"new_error_type with unicode message": {Rule: RuleNewErrorType, Tenant: "acme", Account: "123456789012", Region: "eu-west-1",
			Function: "billing", At: t0.Add(time.Second), ErrorType: "KeyError",
			Details: Details{RequestID: "8f5c-11", Message: "KeyError: 'prénom' \"quoted\" <tag> & more", PreviouslySeen: &prev}},
		"out_of_memory": {Rule: RuleOutOfMemory, Tenant: "other-tenant", Account: "210987654321", Region: "ap-south-1",
			Function: "resize", At: t0.Add(2 * time.Second), Details: Details{RequestID: "r-1", MemorySizeMB: 128, MaxMemoryUsedMB: 128}},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			if err := sink.Send(ctx, want); err != nil {
				t.Fatal(err)
			}
			out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10,
				WaitTimeSeconds: 1, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) != 1 {
				t.Fatalf("received %d messages, want 1", len(out.Messages))
			}
			msg := out.Messages[0]
			m, err := DecodeQueueMessage([]byte(aws.ToString(msg.Body)))
			if err != nil {
				t.Fatalf("decode %q: %v", aws.ToString(msg.Body), err)
			}
			if m.Tenant != want.Tenant || !reflect.DeepEqual(m.Alert, want) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", m, QueueMessage{Tenant: want.Tenant, Alert: want})
			}
			if m.Alert.Key() != want.Key() {
				t.Fatalf("key %s, want %s", m.Alert.Key(), want.Key())
			}
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: msg.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		})
	}

	// A queue that does not exist: Send fails with the SDK's error wrapped.
	bad := &QueueSink{API: client, URL: aws.ToString(q.QueueUrl) + "-missing"}
	err = bad.Send(ctx, tests["out_of_memory"])
	var missing *sqstypes.QueueDoesNotExist
	if err == nil || !errors.As(err, &missing) {
		t.Fatalf("send to a missing queue: %v, want QueueDoesNotExist", err)
	}
}

// TestInventoryTimeoutsOnStore reads function timeouts from the real integration
// store on DynamoDB Local: an integration activated in an account, its inventory
// written by PutFunctionConfig as the inventory sync does.
func TestInventoryTimeoutsOnStore(t *testing.T) {
	db, name := dynamo(t)
	ctx := context.Background()
	st := &integration.Store{DB: db, Table: name}
	now := time.Now().UTC().Truncate(time.Second)

	activate := func(tenant, account string) string {
		t.Helper()
		c, err := integration.NewPending(integration.CreateRequest{Tenant: tenant, Regions: []string{"us-east-1"}}, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, c.Integration); err != nil {
			t.Fatal(err)
		}
		if account == "" {
			return c.Integration.ID // pending: the stack never reported
		}
		if _, err := st.Activate(ctx, c.Integration.ID, account, "arn:aws:iam::"+account+":role/sightline",
			"us-east-1", "", "stack", "1", now); err != nil {
			t.Fatal(err)
		}
		return c.Integration.ID
	}
	putFn := func(id, tenant, account, region, fn string, timeout int32) {
		t.Helper()
		if err := st.PutFunctionConfig(ctx, &integration.FunctionConfig{IntegrationID: id, Tenant: tenant, Account: account,
			Region: region, Name: fn, ARN: "arn:aws:lambda:" + region + ":" + account + ":function:" + fn,
			Architecture: "arm64", TimeoutSeconds: timeout, MemoryMB: 256, SyncedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	acme := activate("acme", "123456789012")
	putFn(acme, "acme", "123456789012", "us-east-1", "orders-api", 30)
	putFn(acme, "acme", "123456789012", "eu-west-1", "orders-api", 900)
	other := activate("globex", "210987654321")
	putFn(other, "globex", "210987654321", "us-east-1", "orders-api", 60)
	activate("initech", "") // pending, owns no account

	tf := InventoryTimeouts(st)
	fn := func(tenant, account, region, name string) metrics.Function {
		return metrics.Function{Tenant: tenant, Account: account, Region: region, Name: name}
	}
	tests := map[string]struct {
		fn   metrics.Function
		want time.Duration
	}{
		"known function":                     {fn("acme", "123456789012", "us-east-1", "orders-api"), 30 * time.Second},
		"same name, other region":            {fn("acme", "123456789012", "eu-west-1", "orders-api"), 900 * time.Second},
		"unknown function":                   {fn("acme", "123456789012", "us-east-1", "nope"), 0},
		"unknown region":                     {fn("acme", "123456789012", "sa-east-1", "orders-api"), 0},
		"unknown account":                    {fn("acme", "999999999999", "us-east-1", "orders-api"), 0},
		"other tenant's account":             {fn("globex", "210987654321", "us-east-1", "orders-api"), 60 * time.Second},
		"tenant claiming another's function": {fn("acme", "210987654321", "us-east-1", "orders-api"), 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tf(ctx, tc.fn)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("timeout %v, want %v", got, tc.want)
			}
		})
	}

	// A re-synced configuration is read at once (only the account owner is cached).
	putFn(acme, "acme", "123456789012", "us-east-1", "orders-api", 45)
	if got, err := tf(ctx, fn("acme", "123456789012", "us-east-1", "orders-api")); err != nil || got != 45*time.Second {
		t.Fatalf("after re-sync: %v %v, want 45s", got, err)
	}

	// A store that cannot be read is an error, not a silent 0.
	broken := InventoryTimeouts(&integration.Store{DB: db, Table: name + "-missing"})
	if got, err := broken(ctx, fn("acme", "123456789012", "us-east-1", "orders-api")); err == nil {
		t.Fatalf("missing table: %v, want an error", got)
	}
}
