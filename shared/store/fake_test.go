package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fakeDB is a small in-memory DynamoDB that understands exactly the requests a
// Table makes. It pages Query results two items at a time, so pagination is
// always exercised, and can throttle chosen partition keys.
type fakeDB struct {
	mu    sync.Mutex
	items map[[2]string]item

	throttlePut   map[string]bool // partition keys whose PutItem is throttled
	unprocessed   map[string]bool // partition keys BatchGetItem never processes
	throttleBatch bool            // every BatchGetItem fails with a throttling error
	// beforePut, when set, runs before each PutItem (outside the lock): a hook
	// for another writer to get in between a Table's read and its write.
	beforePut func()
}

func newFake() *fakeDB { return &fakeDB{items: map[[2]string]item{}} }

func (f *fakeDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.throttleBatch {
		return nil, &ddbtypes.ProvisionedThroughputExceededException{Message: aws.String("fake: throttled")}
	}
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]item{}, UnprocessedKeys: map[string]ddbtypes.KeysAndAttributes{}}
	for table, ka := range in.RequestItems {
		if len(ka.Keys) > 100 {
			return nil, &ddbtypes.ResourceNotFoundException{Message: aws.String("fake: too many keys")}
		}
		seen := map[[2]string]bool{}
		for _, k := range ka.Keys {
			key := keyOf(k)
			if seen[key] {
				return nil, fmt.Errorf("fake: ValidationException: duplicate key %v", key)
			}
			seen[key] = true
			if f.unprocessed[key[0]] {
				u := out.UnprocessedKeys[table]
				u.Keys = append(u.Keys, k)
				out.UnprocessedKeys[table] = u
				continue
			}
			if it, ok := f.items[key]; ok {
				out.Responses[table] = append(out.Responses[table], clone(it))
			}
		}
	}
	return out, nil
}

func (f *fakeDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if hook := f.beforePut; hook != nil {
		hook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := keyOf(in.Item)
	if f.throttlePut[key[0]] {
		return nil, &ddbtypes.ProvisionedThroughputExceededException{Message: aws.String("fake: throttled")}
	}
	cur, exists := f.items[key]
	if in.ConditionExpression != nil {
		if *in.ConditionExpression != "attribute_not_exists(#pk) OR #ver = :v" {
			return nil, fmt.Errorf("fake: unsupported condition %q", *in.ConditionExpression)
		}
		want := in.ExpressionAttributeValues[":v"].(*ddbtypes.AttributeValueMemberN).Value
		if exists {
			v, ok := cur[versionAttribute].(*ddbtypes.AttributeValueMemberN)
			if !ok || v.Value != want {
				return nil, &ddbtypes.ConditionalCheckFailedException{Message: aws.String("fake: condition failed")}
			}
		}
	}
	f.items[key] = clone(in.Item)
	return &dynamodb.PutItemOutput{}, nil
}

// Query supports the key conditions a Table uses: pk equality, plus BETWEEN
// :from AND :to or begins_with :e on the sort key.
func (f *fakeDB) Query(ctx context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vals := in.ExpressionAttributeValues
	pk := vals[":pk"].(*ddbtypes.AttributeValueMemberS).Value
	var keys [][2]string
	for k := range f.items {
		if k[0] != pk {
			continue
		}
		if from, ok := vals[":from"]; ok {
			if k[1] < from.(*ddbtypes.AttributeValueMemberS).Value || k[1] > vals[":to"].(*ddbtypes.AttributeValueMemberS).Value {
				continue
			}
		}
		if e, ok := vals[":e"]; ok && !strings.HasPrefix(k[1], e.(*ddbtypes.AttributeValueMemberS).Value) {
			continue
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[1], b[1]) })
	if in.ExclusiveStartKey != nil {
		start := keyOf(in.ExclusiveStartKey)
		i := sort.Search(len(keys), func(i int) bool { return keys[i][1] > start[1] })
		keys = keys[i:]
	}
	const page = 2
	out := &dynamodb.QueryOutput{}
	for i, k := range keys {
		if i == page {
			last := out.Items[len(out.Items)-1]
			out.LastEvaluatedKey = item{PartitionKey: last[PartitionKey], SortKey: last[SortKey]}
			break
		}
		out.Items = append(out.Items, clone(f.items[k]))
	}
	return out, nil
}

func (f *fakeDB) snapshot() map[[2]string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[[2]string]string{}
	for k, it := range f.items {
		out[k] = render(it)
	}
	return out
}

func clone(it item) item {
	c := make(item, len(it))
	for k, v := range it {
		if b, ok := v.(*ddbtypes.AttributeValueMemberB); ok {
			v = &ddbtypes.AttributeValueMemberB{Value: slices.Clone(b.Value)}
		}
		c[k] = v
	}
	return c
}

// render is a canonical text form of an item: one attribute per line, sorted.
func render(it item) string {
	names := make([]string, 0, len(it))
	for k := range it {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		switch v := it[k].(type) {
		case *ddbtypes.AttributeValueMemberS:
			fmt.Fprintf(&b, "%s S %s\n", k, v.Value)
		case *ddbtypes.AttributeValueMemberN:
			fmt.Fprintf(&b, "%s N %s\n", k, v.Value)
		case *ddbtypes.AttributeValueMemberB:
			fmt.Fprintf(&b, "%s B %s\n", k, hex.EncodeToString(v.Value))
		default:
			fmt.Fprintf(&b, "%s %T\n", k, v)
		}
	}
	return b.String()
}

// counting counts the requests made through an API.
type counting struct {
	API
	batchGets, puts, queries atomic.Int64
	conflicts                atomic.Int64 // PutItem refused by its condition
}

func (c *counting) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.batchGets.Add(1)
	return c.API.BatchGetItem(ctx, in, o...)
}

func (c *counting) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.puts.Add(1)
	out, err := c.API.PutItem(ctx, in, o...)
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		c.conflicts.Add(1)
	}
	return out, err
}

func (c *counting) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.queries.Add(1)
	return c.API.Query(ctx, in, o...)
}

func (c *counting) reset() {
	c.batchGets.Store(0)
	c.puts.Store(0)
	c.queries.Store(0)
	c.conflicts.Store(0)
}
