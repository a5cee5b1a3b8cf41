package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

type item = map[string]ddbtypes.AttributeValue

// rmwItem is one item to read, modify and write back under an optimistic version
// condition.
type rmwItem struct {
	pk, sk string
	// modify receives the stored item (nil if there is none) and returns the
	// attributes to write besides pk, sk and ver, or nil to write nothing. It runs
	// once per attempt, on a fresh read, so it must derive everything from cur.
	modify func(cur item) (item, error)
	err    error
}

func (it *rmwItem) key() string { return it.pk + " " + it.sk }

const (
	versionAttribute = "ver"
	batchGetLimit    = 100 // keys per BatchGetItem request
	unprocessedTries = 5   // BatchGetItem rounds for keys DynamoDB left unprocessed
)

// readModifyWrite applies every item's modify to its current state and writes the
// result with the condition `attribute_not_exists(pk) OR ver = :v`: reads in
// BatchGetItem requests of up to 100 keys, then one PutItem per changed item. Items
// whose condition failed (another writer got there first) are read and modified
// again, up to Options.MaxAttempts times. Results land in each item's err. Keys
// must be unique.
func (t *Table) readModifyWrite(ctx context.Context, items []*rmwItem) {
	pending := items
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == t.opts.MaxAttempts {
			for _, it := range pending {
				it.err = fmt.Errorf("update %s after %d attempts: %w", it.key(), attempt, ErrConflict)
			}
			return
		}
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				for _, it := range pending {
					it.err = fmt.Errorf("update %s: %w", it.key(), err)
				}
				return
			}
		}
		cur := t.batchGet(ctx, pending)

		type write struct {
			it    *rmwItem
			attrs item
			ver   int64
		}
		var writes []write
		for i, it := range pending {
			if it.err != nil {
				continue
			}
			ver, err := itemVersion(cur[i])
			if err != nil {
				it.err = fmt.Errorf("read %s: %w", it.key(), err)
				continue
			}
			attrs, err := it.modify(cur[i])
			if err != nil {
				it.err = fmt.Errorf("update %s: %w", it.key(), err)
				continue
			}
			if attrs == nil {
				continue // nothing new: done
			}
			attrs[PartitionKey] = &ddbtypes.AttributeValueMemberS{Value: it.pk}
			attrs[SortKey] = &ddbtypes.AttributeValueMemberS{Value: it.sk}
			attrs[versionAttribute] = number(ver + 1)
			writes = append(writes, write{it, attrs, ver})
		}

		conflict := make([]bool, len(writes))
		t.forEach(len(writes), func(i int) {
			w := writes[i]
			_, err := t.api.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:                aws.String(t.name),
				Item:                     w.attrs,
				ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #ver = :v"),
				ExpressionAttributeNames: map[string]string{"#pk": PartitionKey, "#ver": versionAttribute},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
					":v": number(w.ver),
				},
			})
			var ccf *ddbtypes.ConditionalCheckFailedException
			switch {
			case errors.As(err, &ccf):
				conflict[i] = true
			case err != nil:
				w.it.err = classify("put", w.it.key(), err)
			}
		})
		var again []*rmwItem
		for i, w := range writes {
			if conflict[i] {
				again = append(again, w.it)
			}
		}
		pending = again
	}
}

// batchGet reads the items' current state, consistently, in requests of up to 100
// keys. A nil entry means the item does not exist; a failed read sets the item's err.
func (t *Table) batchGet(ctx context.Context, items []*rmwItem) []item {
	out := make([]item, len(items))
	chunks := (len(items) + batchGetLimit - 1) / batchGetLimit
	t.forEach(chunks, func(c int) {
		lo := c * batchGetLimit
		hi := min(lo+batchGetLimit, len(items))
		index := make(map[[2]string]int, hi-lo)
		keys := make([]item, 0, hi-lo)
		for i := lo; i < hi; i++ {
			it := items[i]
			index[[2]string{it.pk, it.sk}] = i
			keys = append(keys, item{
				PartitionKey: &ddbtypes.AttributeValueMemberS{Value: it.pk},
				SortKey:      &ddbtypes.AttributeValueMemberS{Value: it.sk},
			})
		}
		for round := 0; len(keys) > 0; round++ {
			if round == unprocessedTries {
				for _, k := range keys {
					it := items[index[keyOf(k)]]
					it.err = fmt.Errorf("get %s: %d rounds left it unprocessed: %w", it.key(), round, ErrThrottled)
				}
				return
			}
			if round > 0 {
				if err := sleep(ctx, backoff(round)); err != nil {
					for _, k := range keys {
						it := items[index[keyOf(k)]]
						it.err = fmt.Errorf("get %s: %w", it.key(), err)
					}
					return
				}
			}
			res, err := t.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
				RequestItems: map[string]ddbtypes.KeysAndAttributes{
					t.name: {Keys: keys, ConsistentRead: aws.Bool(true)},
				},
			})
			if err != nil {
				for _, k := range keys {
					it := items[index[keyOf(k)]]
					it.err = classify("get", it.key(), err)
				}
				return
			}
			for _, got := range res.Responses[t.name] {
				if i, ok := index[keyOf(got)]; ok {
					out[i] = got
				}
			}
			keys = res.UnprocessedKeys[t.name].Keys
		}
	})
	return out
}

func keyOf(it item) [2]string {
	var k [2]string
	if v, ok := it[PartitionKey].(*ddbtypes.AttributeValueMemberS); ok {
		k[0] = v.Value
	}
	if v, ok := it[SortKey].(*ddbtypes.AttributeValueMemberS); ok {
		k[1] = v.Value
	}
	return k
}

// itemVersion is an item's ver, 0 for no item.
func itemVersion(it item) (int64, error) {
	if it == nil {
		return 0, nil
	}
	return getInt(it, versionAttribute)
}

// backoff is a full-jitter exponential delay: up to 10 ms · 2^(attempt-1), at most 500 ms.
func backoff(attempt int) time.Duration {
	ceiling := min(10*time.Millisecond<<min(attempt-1, 10), 500*time.Millisecond)
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func number(v int64) *ddbtypes.AttributeValueMemberN {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// getInt reads a number attribute; a missing one is 0.
func getInt(it item, name string) (int64, error) {
	av, ok := it[name]
	if !ok {
		return 0, nil
	}
	n, ok := av.(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("%w: attribute %s is not a number", ErrCorrupt, name)
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: attribute %s: %v", ErrCorrupt, name, err)
	}
	return v, nil
}

// getBytes reads a binary attribute; a missing one is nil.
func getBytes(it item, name string) ([]byte, error) {
	av, ok := it[name]
	if !ok {
		return nil, nil
	}
	b, ok := av.(*ddbtypes.AttributeValueMemberB)
	if !ok {
		return nil, fmt.Errorf("%w: attribute %s is not binary", ErrCorrupt, name)
	}
	return b.Value, nil
}

// getString reads a string attribute; a missing one is "".
func getString(it item, name string) (string, error) {
	av, ok := it[name]
	if !ok {
		return "", nil
	}
	s, ok := av.(*ddbtypes.AttributeValueMemberS)
	if !ok {
		return "", fmt.Errorf("%w: attribute %s is not a string", ErrCorrupt, name)
	}
	return s.Value, nil
}
