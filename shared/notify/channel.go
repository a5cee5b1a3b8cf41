package notify

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sightline/sightline/shared/insights"
)

// Kind is a channel's type.
type Kind string

// The four kinds of channel.
const (
	KindSlack   Kind = "slack"   // Slack incoming webhook; the secret holds its URL
	KindWebhook Kind = "webhook" // generic webhook; the secret holds {"url", "signingKey"}
	KindSNS     Kind = "sns"     // SNS topic
	KindEmail   Kind = "email"   // SES email
)

// Channel is one of a tenant's notification channels, stored as
// T#<tenant> / CH#<id>.
type Channel struct {
	Tenant string `dynamodbav:"tenant"`
	ID     string `dynamodbav:"id"`
	Kind   Kind   `dynamodbav:"kind"`
	// SecretRef names the secret of a Slack or webhook channel:
	// "secretsmanager:<name>" or "ssm:<SecureString parameter>".
	SecretRef string `dynamodbav:"secretRef,omitempty"`
	// TopicARN is an SNS channel's topic.
	TopicARN string `dynamodbav:"topicArn,omitempty"`
	// From and To address an email channel (From must be an SES-verified identity).
	From string   `dynamodbav:"from,omitempty"`
	To   []string `dynamodbav:"to,omitempty"`
	// Rules limits the channel to some rules; empty means every rule.
	Rules []insights.Rule `dynamodbav:"rules,omitempty"`
}

// LogValue logs only the channel's id and kind (addresses and topics are customer data).
func (c Channel) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("kind", string(c.Kind)))
}

// Wants reports whether the channel takes alerts of rule r.
func (c *Channel) Wants(r insights.Rule) bool {
	return len(c.Rules) == 0 || slices.Contains(c.Rules, r)
}

// Validate reports a channel that can never deliver.
func (c *Channel) Validate() error {
	if c.Tenant == "" || c.ID == "" || strings.ContainsRune(c.ID, '#') {
		return fmt.Errorf("channel: tenant and an id without '#' are required")
	}
	switch c.Kind {
	case KindSlack, KindWebhook:
		if c.SecretRef == "" {
			return fmt.Errorf("channel %s: %s needs a secretRef", c.ID, c.Kind)
		}
	case KindSNS:
		if !strings.HasPrefix(c.TopicARN, "arn:") {
			return fmt.Errorf("channel %s: sns needs a topic ARN", c.ID)
		}
	case KindEmail:
		if c.From == "" || len(c.To) == 0 {
			return fmt.Errorf("channel %s: email needs from and to", c.ID)
		}
	default:
		return fmt.Errorf("channel %s: unknown kind %q", c.ID, c.Kind)
	}
	for _, r := range c.Rules {
		if !r.Valid() {
			return fmt.Errorf("channel %s: unknown rule %q", c.ID, r)
		}
	}
	return nil
}

func channelKey(id string) string { return "CH#" + id }

type tableAPI interface {
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Table holds channels and delivery outcomes in Sightline's table.
type Table struct {
	API  tableAPI
	Name string
}

// PutChannel stores (or replaces) a channel.
func (t *Table) PutChannel(ctx context.Context, c Channel) error {
	if err := c.Validate(); err != nil {
		return err
	}
	item, err := attributevalue.MarshalMap(c)
	if err != nil {
		return fmt.Errorf("encode channel %s: %w", c.ID, err)
	}
	item["pk"] = &ddbtypes.AttributeValueMemberS{Value: insights.TenantKey(c.Tenant)}
	item["sk"] = &ddbtypes.AttributeValueMemberS{Value: channelKey(c.ID)}
	if _, err := t.API.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: item}); err != nil {
		return fmt.Errorf("put channel %s: %w", c.ID, err)
	}
	return nil
}

// Channels lists a tenant's channels (one Query).
func (t *Table) Channels(ctx context.Context, tenant string) ([]Channel, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(t.Name),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :ch)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":pk": &ddbtypes.AttributeValueMemberS{Value: insights.TenantKey(tenant)},
			":ch": &ddbtypes.AttributeValueMemberS{Value: "CH#"},
		},
	}
	var out []Channel
	for {
		res, err := t.API.Query(ctx, in)
		if err != nil {
			return nil, awsError("list channels", err)
		}
		for _, it := range res.Items {
			var c Channel
			if err := attributevalue.UnmarshalMap(it, &c); err != nil {
				return nil, fmt.Errorf("%w: decode channel: %v", ErrPermanent, err)
			}
			out = append(out, c)
		}
		if len(res.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

func alertKey(a *insights.Alert) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: insights.TenantKey(a.Tenant)},
		"sk": &ddbtypes.AttributeValueMemberS{Value: a.Key()},
	}
}

// Done returns the channel ids the alert was already delivered to or failed on
// permanently: a redelivered message skips them.
func (t *Table) Done(ctx context.Context, a insights.Alert) (map[string]bool, error) {
	out, err := t.API.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: alertKey(&a), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String("#d, #f"),
		ExpressionAttributeNames: map[string]string{"#d": insights.AttrDelivered, "#f": insights.AttrFailures},
	})
	if err != nil {
		return nil, awsError("read alert outcomes", err)
	}
	got := map[string]bool{}
	if ss, ok := out.Item[insights.AttrDelivered].(*ddbtypes.AttributeValueMemberSS); ok {
		for _, id := range ss.Value {
			got[id] = true
		}
	}
	if m, ok := out.Item[insights.AttrFailures].(*ddbtypes.AttributeValueMemberM); ok {
		for id := range m.Value {
			got[id] = true
		}
	}
	return got, nil
}

// RecordDelivered adds channel to the alert's delivered set.
func (t *Table) RecordDelivered(ctx context.Context, a insights.Alert, channel string) error {
	_, err := t.API.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: alertKey(&a),
		UpdateExpression:         aws.String("ADD #d :c"),
		ExpressionAttributeNames: map[string]string{"#d": insights.AttrDelivered},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":c": &ddbtypes.AttributeValueMemberSS{Value: []string{channel}},
		},
	})
	return awsError("record delivery", err)
}

// RecordFailure records a permanent failure of channel on the alert item
// (attribute failures, a map of channel id to reason).
func (t *Table) RecordFailure(ctx context.Context, a insights.Alert, channel, reason string) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	_, err := t.API.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Name), Key: alertKey(&a),
		UpdateExpression:         aws.String("SET #f = if_not_exists(#f, :empty)"),
		ExpressionAttributeNames: map[string]string{"#f": insights.AttrFailures},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":empty": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{}},
		},
	})
	if err == nil {
		_, err = t.API.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(t.Name), Key: alertKey(&a),
			UpdateExpression:         aws.String("SET #f.#c = :r"),
			ExpressionAttributeNames: map[string]string{"#f": insights.AttrFailures, "#c": channel},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
				":r": &ddbtypes.AttributeValueMemberS{Value: reason},
			},
		})
	}
	return awsError("record failure", err)
}
