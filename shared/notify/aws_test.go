package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/insights"
	"github.com/sightline/sightline/shared/store"
)

// Emulators are started on first use and stopped by TestMain.
var (
	motoOnce, ddbOnce sync.Once
	motoProc, ddbProc *emulator.Process
	motoErr, ddbErr   error
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

func moto(t *testing.T) aws.Config {
	t.Helper()
	motoOnce.Do(func() { motoProc, motoErr = emulator.StartMoto(context.Background()) })
	if errors.Is(motoErr, emulator.ErrNotInstalled) {
		t.Skip(motoErr)
	}
	if motoErr != nil {
		t.Fatal(motoErr)
	}
	return emulator.Config(motoProc.Endpoint, "us-east-1")
}

func dynamo(t *testing.T, name string) *dynamodb.Client {
	t.Helper()
	ddbOnce.Do(func() { ddbProc, ddbErr = emulator.StartDynamoDB(context.Background()) })
	if errors.Is(ddbErr, emulator.ErrNotInstalled) {
		t.Skip(ddbErr)
	}
	if ddbErr != nil {
		t.Fatal(ddbErr)
	}
	db := dynamodb.NewFromConfig(emulator.Config(ddbProc.Endpoint, "us-east-1"))
	if err := store.CreateTable(context.Background(), db, store.MainTable, name); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestSecretsFromMoto reads a Slack URL from Secrets Manager and a webhook secret
// from an SSM SecureString, and caches them for the TTL.
func TestSecretsFromMoto(t *testing.T) {
	cfg := moto(t)
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(cfg)
	ps := ssm.NewFromConfig(cfg)
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("sightline/acme/slack"),
		SecretString: aws.String("https://hooks.slack.com/services/T1/B1/v1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/sightline/acme/hook"), Type: ssmtypes.ParameterTypeSecureString,
		Value: aws.String(`{"url":"https://example.com/hook","signingKey":"k1"}`)}); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_772_000_000, 0)
	s := &Secrets{SecretsManager: sm, SSM: ps, TTL: time.Minute, Now: func() time.Time { return now }}
	got, err := s.Get(ctx, "secretsmanager:sightline/acme/slack")
	if err != nil || got.URL != "https://hooks.slack.com/services/T1/B1/v1" {
		t.Fatalf("slack secret %v", err)
	}
	hook, err := s.Get(ctx, "ssm:/sightline/acme/hook")
	if err != nil || hook.URL != "https://example.com/hook" || hook.SigningKey != "k1" {
		t.Fatalf("webhook secret %v", err)
	}
	// Rotate: the cached value is used until the TTL passes.
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("sightline/acme/slack"),
		SecretString: aws.String("https://hooks.slack.com/services/T1/B1/v2")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "secretsmanager:sightline/acme/slack"); !strings.HasSuffix(got.URL, "/v1") {
		t.Fatal("cache not used within the TTL")
	}
	now = now.Add(time.Minute)
	if got, _ := s.Get(ctx, "secretsmanager:sightline/acme/slack"); !strings.HasSuffix(got.URL, "/v2") {
		t.Fatal("rotated secret not picked up after the TTL")
	}
	for _, ref := range []string{"secretsmanager:nope", "ssm:/nope", "vault:x"} {
		if _, err := s.Get(ctx, ref); !errors.Is(err, ErrPermanent) {
			t.Errorf("Get(%s) = %v, want permanent", ref, err)
		}
	}
}

// TestSNSAndSESOnMoto delivers through SNS (to a topic with an SQS subscription,
// which moto delivers to) and SES (checked in moto's recorded messages), with the
// channels and outcomes in DynamoDB Local.
func TestSNSAndSESOnMoto(t *testing.T) {
	cfg := moto(t)
	ctx := context.Background()
	db := dynamo(t, "notify-sns-ses")
	sn, sq, ses := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg), sesv2.NewFromConfig(cfg)

	topic, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("acme-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("acme-alerts-sub")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes["QueueArn"])}); err != nil {
		t.Fatal(err)
	}
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("alerts@sightline.dev")}); err != nil {
		t.Fatal(err)
	}

	tab := &Table{API: db, Name: "notify-sns-ses"}
	for _, c := range []Channel{
		{Tenant: "acme", ID: "topic", Kind: KindSNS, TopicARN: aws.ToString(topic.TopicArn)},
		{Tenant: "acme", ID: "mail", Kind: KindEmail, From: "alerts@sightline.dev", To: []string{"oncall@acme.example"}},
		{Tenant: "acme", ID: "bad-from", Kind: KindEmail, From: "nobody@unverified.example", To: []string{"oncall@acme.example"}},
	} {
		if err := tab.PutChannel(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	a := timeout
	a.At = time.Now().UTC().Truncate(time.Second) // alert items have a TTL
	// The alert item exists as insights stored it.
	rec := &insights.Table{API: db, Name: "notify-sns-ses"}
	if ok, err := rec.Record(ctx, a, time.Hour); err != nil || !ok {
		t.Fatalf("record: %v %v", ok, err)
	}
	n := &Notifier{Store: tab, Retry: noSleep, DashboardURL: "https://app.sightline.dev", Logger: slog.New(slog.DiscardHandler),
		Senders: &Senders{SNS: sn, SES: ses}}
	res, err := n.Deliver(ctx, insights.QueueMessage{Tenant: "acme", Alert: a})
	if err != nil {
		t.Fatal(err)
	}
	if res != (Result{Delivered: 2, Permanent: 1}) {
		t.Fatalf("result %+v", res)
	}

	// SNS: the subscribed queue got the notification.
	msgs, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil || len(msgs.Messages) != 1 {
		t.Fatalf("sns delivery: %v, %d messages", err, len(msgs.Messages))
	}
	var note struct{ Subject, Message string }
	if err := json.Unmarshal([]byte(aws.ToString(msgs.Messages[0].Body)), &note); err != nil {
		t.Fatal(err)
	}
	if note.Subject != Subject(&a) || !strings.Contains(note.Message, "Function: orders-api") || !strings.Contains(note.Message, "Request id: 8f5c-11") {
		t.Fatalf("sns notification %+v", note)
	}

	// SES: moto recorded the message.
	resp, err := http.Get(motoProc.Endpoint + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var data struct {
		SES struct {
			Message []struct {
				Source       string
				Subject      string
				Body         string
				Destinations map[string][]string
			}
		} `json:"ses"`
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, m := range data.SES.Message {
		if m.Source == "alerts@sightline.dev" && m.Subject == Subject(&a) && strings.Contains(m.Body, "orders-api") &&
			len(m.Destinations["ToAddresses"]) == 1 && m.Destinations["ToAddresses"][0] == "oncall@acme.example" {
			found = true
		}
	}
	if !found {
		t.Fatalf("moto recorded no matching email: %s", raw)
	}

	// Outcomes on the alert item: two delivered, one permanent failure.
	done, err := tab.Done(ctx, a)
	if err != nil || !done["topic"] || !done["mail"] || !done["bad-from"] {
		t.Fatalf("delivered %v %v", done, err)
	}
	item, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("notify-sns-ses"), Key: alertKey(&a)})
	if err != nil {
		t.Fatal(err)
	}
	f, ok := item.Item[insights.AttrFailures].(*ddbtypes.AttributeValueMemberM)
	if !ok || f.Value["bad-from"] == nil {
		t.Fatalf("failure not recorded: %v", item.Item)
	}
	// Redelivery of the message: nothing is sent twice.
	if res, err := n.Deliver(ctx, insights.QueueMessage{Tenant: "acme", Alert: a}); err != nil || res.Delivered != 0 || res.Skipped != 3 {
		t.Fatalf("redelivery %+v %v", res, err)
	}
}
