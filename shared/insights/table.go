package insights

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sightline/sightline/shared/metrics"
)

// tableAPI is the part of the DynamoDB API the alert and state items need.
type tableAPI interface {
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// DefaultAlertRetention is how long alert items are kept (their TTL).
const DefaultAlertRetention = 90 * 24 * time.Hour

// Table stores alerts, their de-duplication state and the scheduled rules'
// per-function state in Sightline's table.
//
// Items:
//
//	T#<tenant>   AL#<time>#<rule>#<account>#<region>#<function>[#<type>]   the alert
//	F#<function> A#<rule>[#<error type>]                                  last: when the rule last fired (ms)
//	F#<function> S#insights                                               the 5-minute count ring
type Table struct {
	API  tableAPI
	Name string
	// AlertRetention is the alerts' TTL; DefaultAlertRetention when zero.
	AlertRetention time.Duration
}

// Attribute names of alert items, shared with the notifier.
const (
	AttrAlert     = "doc"       // the alert's JSON
	AttrQueued    = "queued"    // true once the alert was handed to the AlertSink
	AttrDelivered = "delivered" // string set of channel ids the alert was delivered to
	AttrFailures  = "failures"  // map channel id -> permanent failure
)

// Record stores a unless an alert of the same rule (and error type) fired for its
// function less than window before a.At. It reports whether a must be handed to
// the sink: true when it was stored now, and also when an earlier attempt stored it
// but never marked it queued (the producer failed in between), so a retry
// completes the hand-over instead of losing the alert.
//
// The de-duplication item and the alert item are written in one transaction, both
// conditionally, so retries, redelivered batches and overlapping runs store each
// alert once.
func (t *Table) Record(ctx context.Context, a Alert, window time.Duration) (bool, error) {
	doc, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("encode alert: %w", err)
	}
	ret := t.AlertRetention
	if ret <= 0 {
		ret = DefaultAlertRetention
	}
	at := a.At.UTC()
	dedupTTL := at.Add(window + 24*time.Hour)
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		{Put: &ddbtypes.Put{
			TableName: aws.String(t.Name),
			Item: map[string]ddbtypes.AttributeValue{
				"pk":        str(FunctionKey(a.Func())),
				"sk":        str(dedupKey(a.Rule, a.ErrorType)),
				"last":      num(at.UnixMilli()),
				"alert":     str(a.Key()),
				"expiresAt": num(dedupTTL.Unix()),
			},
			ConditionExpression:      aws.String("attribute_not_exists(pk) OR #last <= :cutoff"),
			ExpressionAttributeNames: map[string]string{"#last": "last"},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
				":cutoff": num(at.Add(-window).UnixMilli()),
			},
		}},
		{Put: &ddbtypes.Put{
			TableName: aws.String(t.Name),
			Item: map[string]ddbtypes.AttributeValue{
				"pk":        str(TenantKey(a.Tenant)),
				"sk":        str(a.Key()),
				"rule":      str(string(a.Rule)),
				"at":        num(at.UnixMilli()),
				AttrAlert:   str(string(doc)),
				AttrQueued:  &ddbtypes.AttributeValueMemberBOOL{Value: false},
				"expiresAt": num(at.Add(ret).Unix()),
			},
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}},
	}}
	_, err = t.API.TransactWriteItems(ctx, in)
	if err == nil {
		return true, nil
	}
	var canceled *ddbtypes.TransactionCanceledException
	if !errors.As(err, &canceled) || !conditionFailed(canceled) {
		return false, fmt.Errorf("record alert %s: %w", a.Rule, err)
	}
	// Suppressed, or already stored by an earlier attempt: hand it over again only
	// if that attempt never finished.
	out, err := t.API.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            aws.String(t.Name),
		Key:                  map[string]ddbtypes.AttributeValue{"pk": str(TenantKey(a.Tenant)), "sk": str(a.Key())},
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("#q"),
		ExpressionAttributeNames: map[string]string{
			"#q": AttrQueued,
		},
	})
	if err != nil {
		return false, fmt.Errorf("read alert %s: %w", a.Rule, err)
	}
	if out.Item == nil {
		return false, nil
	}
	q, ok := out.Item[AttrQueued].(*ddbtypes.AttributeValueMemberBOOL)
	return ok && !q.Value, nil
}

func conditionFailed(c *ddbtypes.TransactionCanceledException) bool {
	for _, r := range c.CancellationReasons {
		if r.Code != nil && *r.Code == "ConditionalCheckFailed" {
			return true
		}
	}
	return false
}

// MarkQueued records that a was handed to the sink.
func (t *Table) MarkQueued(ctx context.Context, a Alert) error {
	_, err := t.API.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(t.Name),
		Key:                      map[string]ddbtypes.AttributeValue{"pk": str(TenantKey(a.Tenant)), "sk": str(a.Key())},
		UpdateExpression:         aws.String("SET #q = :t"),
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: map[string]string{"#q": AttrQueued},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":t": &ddbtypes.AttributeValueMemberBOOL{Value: true},
		},
	})
	if err != nil {
		return fmt.Errorf("mark alert %s queued: %w", a.Rule, err)
	}
	return nil
}

const stateSortKey = "S#insights"

// LoadState reads a function's scheduled-rule state (one GetItem). found is false
// when there is none; a corrupt item is reported as ErrCorruptState.
func (t *Table) LoadState(ctx context.Context, fn metrics.Function) (State, bool, error) {
	out, err := t.API.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name),
		Key:       map[string]ddbtypes.AttributeValue{"pk": str(FunctionKey(fn)), "sk": str(stateSortKey)},
	})
	if err != nil {
		return State{}, false, fmt.Errorf("read insights state %s: %w", FunctionRef(fn), err)
	}
	if out.Item == nil {
		return State{}, false, nil
	}
	b, ok := out.Item["ring"].(*ddbtypes.AttributeValueMemberB)
	if !ok {
		return State{}, false, fmt.Errorf("insights state %s: %w: no ring", FunctionRef(fn), ErrCorruptState)
	}
	s, err := DecodeState(b.Value)
	if err != nil {
		return State{}, false, fmt.Errorf("insights state %s: %w", FunctionRef(fn), err)
	}
	return s, true, nil
}

// SaveState writes a function's state unless a newer one is already stored (an
// overlapping run with a later clock), which is not an error.
func (t *Table) SaveState(ctx context.Context, fn metrics.Function, s State) error {
	_, err := t.API.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.Name),
		Item: map[string]ddbtypes.AttributeValue{
			"pk":        str(FunctionKey(fn)),
			"sk":        str(stateSortKey),
			"last":      num(s.Last),
			"ring":      &ddbtypes.AttributeValueMemberB{Value: s.Encode()},
			"expiresAt": num(bucketTime(s.Last).Add(ringSpan + 24*time.Hour).Unix()),
		},
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #last <= :last"),
		ExpressionAttributeNames:  map[string]string{"#last": "last"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":last": num(s.Last)},
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("save insights state %s: %w", FunctionRef(fn), err)
	}
	return nil
}

func str(s string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: s} }
func num(n int64) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
