package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// BusPermissions is the part of the EventBridge API admission uses.
type BusPermissions interface {
	PutPermission(ctx context.Context, in *eventbridge.PutPermissionInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutPermissionOutput, error)
	RemovePermission(ctx context.Context, in *eventbridge.RemovePermissionInput, opts ...func(*eventbridge.Options)) (*eventbridge.RemovePermissionOutput, error)
}

// DestinationPolicies is the part of the CloudWatch Logs API admission uses.
type DestinationPolicies interface {
	PutDestinationPolicy(ctx context.Context, in *cloudwatchlogs.PutDestinationPolicyInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutDestinationPolicyOutput, error)
}

// Admission admits customer accounts to the two vendor resources whose resource
// policies must name them: the event bus receiving their forwarded CloudTrail
// events (one events:PutPermission statement per account, StatementId
// "sightline-<account>") and the CloudWatch Logs destination of the Kinesis path
// (one access policy listing every admitted account).
//
// A destination policy is one document, rewritten as a whole. The list it is
// made of is kept in the table (a string set changed atomically with ADD/DELETE
// and a version counter), not read back from CloudWatch Logs: concurrent
// admissions never lose an account, and logs:DescribeDestinations (which has no
// resource-level permission) is not needed. After writing, the writer re-reads
// the version and writes again if another writer changed the list meanwhile, so
// the last policy written is the latest list.
type Admission struct {
	Events BusPermissions
	Logs   DestinationPolicies
	Store  *Store
	// BusARN is the vendor bus (arn:aws:events:<region>:<account>:event-bus/<name>).
	BusARN string
	// DestinationARN is the vendor destination (arn:aws:logs:<region>:<account>:destination:<name>).
	DestinationARN string
}

// ErrDestinationPolicyFull: the destination's access policy would exceed the
// 5,120 bytes CloudWatch Logs accepts.
var ErrDestinationPolicyFull = errors.New("integration: log destination policy is full")

// maxDestinationPolicy is PutDestinationPolicy's accessPolicy limit.
const maxDestinationPolicy = 5120

// StatementID is the bus policy statement of an account.
func StatementID(account string) string { return "sightline-" + account }

// NewAdmission checks the ARNs and returns the admission; events, logs and store
// are required.
func NewAdmission(events BusPermissions, logs DestinationPolicies, store *Store, busARN, destinationARN string) (*Admission, error) {
	a := &Admission{Events: events, Logs: logs, Store: store, BusARN: busARN, DestinationARN: destinationARN}
	if _, err := a.busName(); err != nil {
		return nil, err
	}
	if _, _, err := a.destination(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Admission) busName() (string, error) {
	_, name, ok := strings.Cut(a.BusARN, ":event-bus/")
	if !ok || !strings.HasPrefix(a.BusARN, "arn:") || name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("event bus ARN %q: %w", a.BusARN, ErrInvalid)
	}
	return name, nil
}

// destination returns the destination's name and owner account.
func (a *Admission) destination() (name, owner string, err error) {
	parts := strings.SplitN(a.DestinationARN, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "logs" || parts[5] != "destination" || !isAccountID(parts[4]) || parts[6] == "" {
		return "", "", fmt.Errorf("log destination ARN %q: %w", a.DestinationARN, ErrInvalid)
	}
	return parts[6], parts[4], nil
}

// Admit lets account put events on the bus and subscribe to the destination. It
// is idempotent.
func (a *Admission) Admit(ctx context.Context, account string) error {
	if !isAccountID(account) {
		return fmt.Errorf("admit account %q: %w", account, ErrInvalid)
	}
	bus, err := a.busName()
	if err != nil {
		return err
	}
	if _, err := a.Events.PutPermission(ctx, &eventbridge.PutPermissionInput{
		EventBusName: &bus, Action: aws.String("events:PutEvents"), Principal: &account, StatementId: aws.String(StatementID(account)),
	}); err != nil {
		return fmt.Errorf("admit account to event bus %s: %w", bus, err)
	}
	if err := a.changeDestination(ctx, "ADD", account); err != nil {
		return fmt.Errorf("admit account to log destination: %w", err)
	}
	return nil
}

// Revoke removes account from the bus and destination policies. Revoking an
// account that is not admitted succeeds.
func (a *Admission) Revoke(ctx context.Context, account string) error {
	if !isAccountID(account) {
		return fmt.Errorf("revoke account %q: %w", account, ErrInvalid)
	}
	bus, err := a.busName()
	if err != nil {
		return err
	}
	_, err = a.Events.RemovePermission(ctx, &eventbridge.RemovePermissionInput{EventBusName: &bus, StatementId: aws.String(StatementID(account))})
	var nf *ebtypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("revoke account from event bus %s: %w", bus, err)
	}
	if err := a.changeDestination(ctx, "DELETE", account); err != nil {
		return fmt.Errorf("revoke account from log destination: %w", err)
	}
	return nil
}

// Admitted returns the accounts the destination policy admits, as stored.
func (a *Admission) Admitted(ctx context.Context) ([]string, error) {
	l, err := a.readList(ctx)
	return l.Accounts, err
}

type admissionList struct {
	Accounts []string `dynamodbav:"accounts,stringset,omitempty"`
	Version  int64    `dynamodbav:"version"`
}

func admissionKey() map[string]ddbtypes.AttributeValue {
	return key("SL#admission", "logs-destination")
}

// changeDestination applies op (ADD or DELETE) to the stored account list and
// writes the destination policy until the list it wrote is the current one.
func (a *Admission) changeDestination(ctx context.Context, op, account string) error {
	out, err := a.Store.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &a.Store.Table,
		Key:                       admissionKey(),
		UpdateExpression:          aws.String(op + " accounts :a SET version = if_not_exists(version, :zero) + :one"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":a": &ddbtypes.AttributeValueMemberSS{Value: []string{account}}, ":zero": num(0), ":one": num(1)},
		ReturnValues:              ddbtypes.ReturnValueAllNew,
	})
	if err != nil {
		return fmt.Errorf("update admitted accounts: %w", err)
	}
	var l admissionList
	if err := attributevalue.UnmarshalMap(out.Attributes, &l); err != nil {
		return fmt.Errorf("unmarshal admitted accounts: %w", err)
	}
	for range 5 {
		if err := a.putDestinationPolicy(ctx, l.Accounts); err != nil {
			return err
		}
		cur, err := a.readList(ctx)
		if err != nil {
			return err
		}
		if cur.Version <= l.Version {
			return nil
		}
		slog.InfoContext(ctx, "admitted accounts changed while writing the destination policy; writing again", "version", cur.Version)
		l = cur
	}
	return fmt.Errorf("destination policy: the account list kept changing")
}

func (a *Admission) readList(ctx context.Context) (admissionList, error) {
	out, err := a.Store.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &a.Store.Table, Key: admissionKey(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return admissionList{}, fmt.Errorf("read admitted accounts: %w", err)
	}
	var l admissionList
	if out.Item != nil {
		if err := attributevalue.UnmarshalMap(out.Item, &l); err != nil {
			return admissionList{}, fmt.Errorf("unmarshal admitted accounts: %w", err)
		}
	}
	sort.Strings(l.Accounts)
	return l, nil
}

// DestinationPolicy is the access policy admitting accounts to subscribe to the
// destination. With no account it names only the destination's owner (a policy
// needs a principal; the owner subscribes without one anyway).
func DestinationPolicy(destinationARN, owner string, accounts []string) (string, error) {
	principals := append([]string(nil), accounts...)
	sort.Strings(principals)
	if len(principals) == 0 {
		principals = []string{owner}
	}
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":       "IntegratedAccounts",
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": principals},
			"Action":    "logs:PutSubscriptionFilter",
			"Resource":  destinationARN,
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("marshal destination policy: %w", err)
	}
	if len(b) > maxDestinationPolicy {
		return "", fmt.Errorf("%d accounts make a %d-byte policy: %w", len(accounts), len(b), ErrDestinationPolicyFull)
	}
	return string(b), nil
}

func (a *Admission) putDestinationPolicy(ctx context.Context, accounts []string) error {
	name, owner, err := a.destination()
	if err != nil {
		return err
	}
	policy, err := DestinationPolicy(a.DestinationARN, owner, accounts)
	if err != nil {
		return err
	}
	if _, err := a.Logs.PutDestinationPolicy(ctx, &cloudwatchlogs.PutDestinationPolicyInput{DestinationName: &name, AccessPolicy: &policy}); err != nil {
		return fmt.Errorf("put destination policy of %s: %w", name, err)
	}
	return nil
}

func num(n int64) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(n)}
}
