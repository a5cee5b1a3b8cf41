package insights

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sightline/sightline/shared/integration"
	"github.com/sightline/sightline/shared/metrics"
)

type captureSQS struct{ in []*sqs.SendMessageInput }

func (c *captureSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	c.in = append(c.in, in)
	return &sqs.SendMessageOutput{}, nil
}

func TestQueueSinkRoundTrip(t *testing.T) {
	c := &captureSQS{}
	q := &QueueSink{API: c, URL: "https://sqs.us-east-1.amazonaws.com/111122223333/alerts"}
	pm := int64(100)
	a := Alert{Rule: RuleEscalatedInvocations, Tenant: "acme", Account: "123456789012", Region: "us-east-1",
		Function: "orders-api", At: t0, Details: Details{Count: 130, PriorMax: &pm, Threshold: 125}}
	if err := q.Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if len(c.in) != 1 || aws.ToString(c.in[0].QueueUrl) != q.URL {
		t.Fatalf("sent %+v", c.in)
	}
	m, err := DecodeQueueMessage([]byte(aws.ToString(c.in[0].MessageBody)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Tenant != "acme" || m.Alert.Tenant != "acme" || m.Alert.Key() != a.Key() || *m.Alert.Details.PriorMax != 100 {
		t.Fatalf("decoded %+v", m)
	}
}

func TestDecodeQueueMessageRejects(t *testing.T) {
	tests := map[string]string{
		"not json":     `nope`,
		"no tenant":    `{"alert":{"alert":"timeout","account":"1","region":"r","function":"f","at":"2026-03-04T01:05:00Z"}}`,
		"unknown rule": `{"tenant":"t","alert":{"alert":"slow","account":"1","region":"r","function":"f","at":"2026-03-04T01:05:00Z"}}`,
		"no function":  `{"tenant":"t","alert":{"alert":"timeout","account":"1","region":"r","at":"2026-03-04T01:05:00Z"}}`,
		"no time":      `{"tenant":"t","alert":{"alert":"timeout","account":"1","region":"r","function":"f"}}`,
		"# in account": `{"tenant":"t","alert":{"alert":"timeout","account":"1#2","region":"r","function":"f","at":"2026-03-04T01:05:00Z"}}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeQueueMessage([]byte(body)); !errors.Is(err, ErrBadMessage) {
				t.Fatalf("err %v, want ErrBadMessage", err)
			}
		})
	}
}

func FuzzDecodeQueueMessage(f *testing.F) {
	b, _ := json.Marshal(QueueMessage{Tenant: "acme", Alert: Alert{Rule: RuleTimeout, Account: "1", Region: "r", Function: "f", At: t0}})
	f.Add(b)
	f.Add([]byte(`{"tenant":"t","alert":{"alert":"timeout"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeQueueMessage(b)
		if err != nil {
			return
		}
		if !m.Alert.Rule.Valid() || m.Alert.Tenant == "" || m.Alert.At.IsZero() {
			t.Fatalf("accepted %+v", m)
		}
		_ = m.Alert.Key()
	})
}

type fakeInventory struct {
	owners map[string]string
	fns    map[string]*integration.Function
	calls  int
}

func (f *fakeInventory) IntegrationIDForAccount(_ context.Context, account string) (string, error) {
	f.calls++
	if id, ok := f.owners[account]; ok {
		return id, nil
	}
	return "", integration.ErrUnknownAccount
}

func (f *fakeInventory) GetFunction(_ context.Context, id, region, name string) (*integration.Function, error) {
	if fn, ok := f.fns[id+"/"+region+"/"+name]; ok {
		return fn, nil
	}
	return nil, integration.ErrUnknownFunction
}

func TestInventoryTimeouts(t *testing.T) {
	inv := &fakeInventory{owners: map[string]string{"123456789012": "i1"}, fns: map[string]*integration.Function{
		"i1/us-east-1/orders-api": {FunctionConfig: integration.FunctionConfig{Tenant: "acme", TimeoutSeconds: 30}},
		"i1/us-east-1/billing":    {FunctionConfig: integration.FunctionConfig{Tenant: "other", TimeoutSeconds: 60}},
	}}
	tf := InventoryTimeouts(inv)
	tests := map[string]struct {
		fn   metrics.Function
		want time.Duration
	}{
		"known":           {fnOrders, 30 * time.Second},
		"other tenant's":  {fnBills, 0},
		"unknown fn":      {metrics.Function{Tenant: "acme", Account: "123456789012", Region: "us-east-1", Name: "x"}, 0},
		"unknown account": {metrics.Function{Tenant: "acme", Account: "999999999999", Region: "us-east-1", Name: "x"}, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tf(context.Background(), tc.fn)
			if err != nil || got != tc.want {
				t.Fatalf("timeout %v %v, want %v", got, err, tc.want)
			}
		})
	}
	if inv.calls != 2 {
		t.Errorf("%d account lookups, want 2 (cached per account)", inv.calls)
	}
}
