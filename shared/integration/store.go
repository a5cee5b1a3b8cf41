package integration

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB is the part of the DynamoDB API the Store uses.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store reads and writes integrations and their inventory in the single table.
type Store struct {
	DB    DynamoDB
	Table string
}

type keyed struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
}

type metaItem struct {
	keyed
	Integration
}

type functionItem struct {
	keyed
	Function
}

type accountItem struct {
	keyed
	IntegrationID string `dynamodbav:"integrationId"`
	Tenant        string `dynamodbav:"tenant"`
}

func key(pk, sk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: pk},
		"sk": &ddbtypes.AttributeValueMemberS{Value: sk},
	}
}

func isConditionFailed(err error) bool {
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var tc *ddbtypes.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return true
			}
		}
	}
	return false
}

// Put creates a new integration and its tenant index item atomically; it fails
// if the id exists.
func (s *Store) Put(ctx context.Context, in *Integration) error {
	meta, err := attributevalue.MarshalMap(metaItem{keyed{integrationPK(in.ID), metaSK}, *in})
	if err != nil {
		return fmt.Errorf("marshal integration %s: %w", in.ID, err)
	}
	idx := key(tenantPK(in.Tenant), integrationPK(in.ID))
	idx["integrationId"] = &ddbtypes.AttributeValueMemberS{Value: in.ID}
	all := key(allPK, integrationPK(in.ID))
	all["integrationId"] = &ddbtypes.AttributeValueMemberS{Value: in.ID}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		{Put: &ddbtypes.Put{TableName: &s.Table, Item: meta, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: &ddbtypes.Put{TableName: &s.Table, Item: idx}},
		{Put: &ddbtypes.Put{TableName: &s.Table, Item: all}},
	}})
	if err != nil {
		return fmt.Errorf("put integration %s: %w", in.ID, err)
	}
	return nil
}

// Get reads an integration; ErrNotFound if there is none.
func (s *Store) Get(ctx context.Context, id string) (*Integration, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(integrationPK(id), metaSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get integration %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("integration %s: %w", id, ErrNotFound)
	}
	var m metaItem
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		return nil, fmt.Errorf("unmarshal integration %s: %w", id, err)
	}
	return &m.Integration, nil
}

// List returns the tenant's integrations, by id.
func (s *Store) List(ctx context.Context, tenant string) ([]*Integration, error) {
	return s.listIndex(ctx, tenantPK(tenant))
}

// All returns every integration (any tenant, any status), by id: the periodic
// resync's work list.
func (s *Store) All(ctx context.Context) ([]*Integration, error) {
	return s.listIndex(ctx, allPK)
}

func (s *Store) listIndex(ctx context.Context, pk string) ([]*Integration, error) {
	var ids []string
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{
		TableName:              &s.Table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :sk)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":pk": &ddbtypes.AttributeValueMemberS{Value: pk},
			":sk": &ddbtypes.AttributeValueMemberS{Value: "I#"},
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list integrations: %w", err)
		}
		for _, it := range page.Items {
			if v, ok := it["integrationId"].(*ddbtypes.AttributeValueMemberS); ok {
				ids = append(ids, v.Value)
			}
		}
	}
	sort.Strings(ids)
	out := make([]*Integration, 0, len(ids))
	for _, id := range ids {
		in, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// Activate records the customer stack's report: the role, the account (claimed for
// this integration with a conditional write, so two integrations never own one
// account), the stack's Firehose and version. A removed integration stays removed.
func (s *Store) Activate(ctx context.Context, id, account, roleARN, homeRegion, firehoseARN, stackID, stackVersion string, now time.Time) (*Integration, error) {
	acct, err := attributevalue.MarshalMap(accountItem{keyed{accountPK(account), accountSK}, id, ""})
	if err != nil {
		return nil, err
	}
	in, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	acct["tenant"] = &ddbtypes.AttributeValueMemberS{Value: in.Tenant}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		{Put: &ddbtypes.Put{TableName: &s.Table, Item: acct,
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR integrationId = :id"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":id": &ddbtypes.AttributeValueMemberS{Value: id}}}},
		{Update: &ddbtypes.Update{TableName: &s.Table, Key: key(integrationPK(id), metaSK),
			ConditionExpression: aws.String("attribute_exists(pk) AND #st <> :removed"),
			UpdateExpression: aws.String("SET #st = :active, roleArn = :role, accounts = :accts, homeRegion = :home, " +
				"firehoseArn = :fh, stackId = :stack, stackVersion = :ver, updatedAt = :now REMOVE #err"),
			ExpressionAttributeNames: map[string]string{"#st": "status", "#err": "error"},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
				":removed": &ddbtypes.AttributeValueMemberS{Value: string(StatusRemoved)},
				":active":  &ddbtypes.AttributeValueMemberS{Value: string(StatusActive)},
				":role":    &ddbtypes.AttributeValueMemberS{Value: roleARN},
				":accts":   &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberS{Value: account}}},
				":home":    &ddbtypes.AttributeValueMemberS{Value: homeRegion},
				":fh":      &ddbtypes.AttributeValueMemberS{Value: firehoseARN},
				":stack":   &ddbtypes.AttributeValueMemberS{Value: stackID},
				":ver":     &ddbtypes.AttributeValueMemberS{Value: stackVersion},
				":now":     timeValue(now),
			}}},
	}})
	if err != nil {
		if isConditionFailed(err) {
			if in.Status == StatusRemoved {
				return nil, fmt.Errorf("activate integration %s: %w", id, ErrRemoved)
			}
			return nil, fmt.Errorf("activate integration %s in account: %w", id, ErrAccountClaimed)
		}
		return nil, fmt.Errorf("activate integration %s: %w", id, err)
	}
	return s.Get(ctx, id)
}

// MarkRemoved marks the integration removed and releases its accounts. It is idempotent.
func (s *Store) MarkRemoved(ctx context.Context, id string, now time.Time) error {
	in, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table, Key: key(integrationPK(id), metaSK),
		UpdateExpression:         aws.String("SET #st = :removed, updatedAt = :now"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":removed": &ddbtypes.AttributeValueMemberS{Value: string(StatusRemoved)},
			":now":     timeValue(now),
		}})
	if err != nil {
		return fmt.Errorf("mark integration %s removed: %w", id, err)
	}
	for _, a := range in.Accounts {
		_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.Table, Key: key(accountPK(a), accountSK),
			ConditionExpression:       aws.String("integrationId = :id"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":id": &ddbtypes.AttributeValueMemberS{Value: id}}})
		if err != nil && !isConditionFailed(err) {
			return fmt.Errorf("release account of integration %s: %w", id, err)
		}
	}
	return nil
}

// SetError records an integration-level error (e.g. AssumeRole denied).
func (s *Store) SetError(ctx context.Context, id, msg string, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table, Key: key(integrationPK(id), metaSK),
		ConditionExpression:      aws.String("attribute_exists(pk)"),
		UpdateExpression:         aws.String("SET #err = :e, updatedAt = :now"),
		ExpressionAttributeNames: map[string]string{"#err": "error"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":e": &ddbtypes.AttributeValueMemberS{Value: msg}, ":now": timeValue(now)}})
	if err != nil {
		return fmt.Errorf("set integration %s error: %w", id, err)
	}
	return nil
}

// ReplacePendingAccessKey stores a new access key hash on a pending integration.
func (s *Store) ReplacePendingAccessKey(ctx context.Context, id, hash string, now time.Time) (*Integration, error) {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table, Key: key(integrationPK(id), metaSK),
		ConditionExpression:      aws.String("attribute_exists(pk) AND #st = :pending"),
		UpdateExpression:         aws.String("SET accessKeyHash = :h, updatedAt = :now"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":pending": &ddbtypes.AttributeValueMemberS{Value: string(StatusPending)},
			":h":       &ddbtypes.AttributeValueMemberS{Value: hash}, ":now": timeValue(now)}})
	if err != nil {
		if isConditionFailed(err) {
			if _, gerr := s.Get(ctx, id); gerr != nil {
				return nil, gerr
			}
			return nil, fmt.Errorf("integration %s is not pending; its link cannot be reissued: %w", id, ErrInvalid)
		}
		return nil, fmt.Errorf("replace access key of %s: %w", id, err)
	}
	return s.Get(ctx, id)
}

// ClearError removes the integration-level error.
func (s *Store) ClearError(ctx context.Context, id string, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table, Key: key(integrationPK(id), metaSK),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		UpdateExpression:          aws.String("SET updatedAt = :now REMOVE #err"),
		ExpressionAttributeNames:  map[string]string{"#err": "error"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":now": timeValue(now)}})
	if err != nil {
		return fmt.Errorf("clear integration %s error: %w", id, err)
	}
	return nil
}

// SetInstrumentNewFunctions sets the account-wide "instrument new functions" switch.
func (s *Store) SetInstrumentNewFunctions(ctx context.Context, id string, on bool, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table, Key: key(integrationPK(id), metaSK),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		UpdateExpression:    aws.String("SET instrumentNewFunctions = :on, updatedAt = :now"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":on": &ddbtypes.AttributeValueMemberBOOL{Value: on}, ":now": timeValue(now)}})
	if err != nil {
		if isConditionFailed(err) {
			return fmt.Errorf("integration %s: %w", id, ErrNotFound)
		}
		return fmt.Errorf("set instrument-new-functions on %s: %w", id, err)
	}
	return nil
}

// IntegrationIDForAccount returns the id of the integration that owns account.
func (s *Store) IntegrationIDForAccount(ctx context.Context, account string) (string, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(accountPK(account), accountSK)})
	if err != nil {
		return "", fmt.Errorf("get account owner: %w", err)
	}
	if out.Item == nil {
		return "", ErrUnknownAccount
	}
	var a accountItem
	if err := attributevalue.UnmarshalMap(out.Item, &a); err != nil {
		return "", fmt.Errorf("unmarshal account owner: %w", err)
	}
	return a.IntegrationID, nil
}

// PutFunctionConfig writes a function's configuration as the inventory read it,
// leaving its desired state and instrumentation state untouched.
func (s *Store) PutFunctionConfig(ctx context.Context, c *FunctionConfig) error {
	av, err := attributevalue.MarshalMap(c)
	if err != nil {
		return fmt.Errorf("marshal function %s: %w", c.Name, err)
	}
	names := map[string]string{}
	values := map[string]ddbtypes.AttributeValue{}
	expr := "SET "
	keys := make([]string, 0, len(av))
	for k := range av {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			expr += ", "
		}
		n, v := "#a"+itoa(i), ":v"+itoa(i)
		expr += n + " = " + v
		names[n] = k
		values[v] = av[k]
	}
	// A new item starts with the desired state off.
	expr += ", instrument = if_not_exists(instrument, :off)"
	values[":off"] = &ddbtypes.AttributeValueMemberBOOL{Value: false}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table,
		Key:              key(integrationPK(c.IntegrationID), functionSK(c.Region, c.Name)),
		UpdateExpression: aws.String(expr), ExpressionAttributeNames: names, ExpressionAttributeValues: values})
	if err != nil {
		return fmt.Errorf("put function %s/%s: %w", c.Region, c.Name, err)
	}
	return nil
}

// SetDesired sets a function's "Instrument" toggle; ErrUnknownFunction if the
// inventory has no such function.
func (s *Store) SetDesired(ctx context.Context, id, region, name string, on bool) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table,
		Key:                       key(integrationPK(id), functionSK(region, name)),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		UpdateExpression:          aws.String("SET instrument = :on"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":on": &ddbtypes.AttributeValueMemberBOOL{Value: on}}})
	if err != nil {
		if isConditionFailed(err) {
			return fmt.Errorf("function %s/%s: %w", region, name, ErrUnknownFunction)
		}
		return fmt.Errorf("set instrument on %s/%s: %w", region, name, err)
	}
	return nil
}

// PutState records package instrument's outcome on the function.
func (s *Store) PutState(ctx context.Context, id, region, name string, st InstrumentState) error {
	av, err := attributevalue.Marshal(st)
	if err != nil {
		return fmt.Errorf("marshal state of %s/%s: %w", region, name, err)
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.Table,
		Key:                       key(integrationPK(id), functionSK(region, name)),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		UpdateExpression:          aws.String("SET #st = :st"),
		ExpressionAttributeNames:  map[string]string{"#st": "state"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":st": av}})
	if err != nil {
		if isConditionFailed(err) {
			return fmt.Errorf("function %s/%s: %w", region, name, ErrUnknownFunction)
		}
		return fmt.Errorf("put state of %s/%s: %w", region, name, err)
	}
	return nil
}

// GetFunction reads one inventory item; ErrUnknownFunction if there is none.
func (s *Store) GetFunction(ctx context.Context, id, region, name string) (*Function, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, Key: key(integrationPK(id), functionSK(region, name)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get function %s/%s: %w", region, name, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("function %s/%s: %w", region, name, ErrUnknownFunction)
	}
	var it functionItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("unmarshal function %s/%s: %w", region, name, err)
	}
	return &it.Function, nil
}

// Functions lists an integration's inventory, by region then name.
func (s *Store) Functions(ctx context.Context, id string) ([]*Function, error) {
	var fns []*Function
	p := dynamodb.NewQueryPaginator(s.DB, &dynamodb.QueryInput{
		TableName:              &s.Table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :sk)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":pk": &ddbtypes.AttributeValueMemberS{Value: integrationPK(id)},
			":sk": &ddbtypes.AttributeValueMemberS{Value: functionPfx},
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list functions of %s: %w", id, err)
		}
		for _, item := range page.Items {
			var it functionItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("unmarshal function item: %w", err)
			}
			fns = append(fns, &it.Function)
		}
	}
	return fns, nil
}

// DeleteFunction removes an inventory item (the function no longer exists).
func (s *Store) DeleteFunction(ctx context.Context, id, region, name string) error {
	if _, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.Table, Key: key(integrationPK(id), functionSK(region, name))}); err != nil {
		return fmt.Errorf("delete function %s/%s: %w", region, name, err)
	}
	return nil
}

func timeValue(t time.Time) ddbtypes.AttributeValue {
	av, _ := attributevalue.Marshal(t)
	return av
}
