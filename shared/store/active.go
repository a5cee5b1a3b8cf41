package store

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sightline/sightline/shared/metrics"
)

// The activity index lists the functions that had data in an hour: an item
// ACT#<unix hour>#<shard> / <tenant>#<account>#<region>#<function>, spread over
// ActiveShards partitions by a hash of the function so that no single partition
// takes every write of an hour.
const (
	ActiveShards = 16
	// activeTTL is how long an activity item lives after the start of its hour.
	activeTTL = 3 * 3600
	// MaxActiveHours bounds the range one ActiveFunctions call reads.
	MaxActiveHours = 48
)

type activeKey struct {
	fn   metrics.Function
	hour int64
}

// ActiveShard is the activity-index shard of fn.
func ActiveShard(fn metrics.Function) int {
	h := fnv.New32a()
	h.Write([]byte(functionID(fn)))
	return int(h.Sum32() % ActiveShards)
}

func activePK(hour int64, shard int) string {
	return activePrefix + strconv.FormatInt(hour, 10) + "#" + strconv.Itoa(shard)
}

// MarkActive records that fn had data in hour (hours since the Unix epoch). The
// item expires 3 hours after the start of the hour, or after now for data that
// arrives later than that (a replay of old logs), so that the scheduled rules
// that run on it still find it. A Table remembers what it
// marked, so a warm Lambda writes each function-hour once; a failed write is not
// remembered.
func (t *Table) MarkActive(ctx context.Context, fn metrics.Function, hour int64) error {
	if err := checkFunction(fn); err != nil {
		return fmt.Errorf("mark active: %w", err)
	}
	if hour < 0 {
		return fmt.Errorf("mark active: %w: hour %d", ErrInvalid, hour)
	}
	k := activeKey{fn, hour}
	t.mu.Lock()
	_, done := t.active[k]
	t.mu.Unlock()
	if done {
		return nil
	}
	pk, sk := activePK(hour, ActiveShard(fn)), functionID(fn)
	expires := max(hour*3600, t.opts.Now().Unix()) + activeTTL
	_, err := t.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.name),
		Item: item{
			PartitionKey: &ddbtypes.AttributeValueMemberS{Value: pk},
			SortKey:      &ddbtypes.AttributeValueMemberS{Value: sk},
			TTLAttribute: number(expires),
		},
	})
	if err != nil {
		return classify("mark active", pk+" "+sk, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active[k] = expires
	// Forget function-hours whose items have expired.
	if now := t.opts.Now().Unix(); now/3600 > t.pruned {
		for k, exp := range t.active {
			if exp <= now {
				delete(t.active, k)
			}
		}
		t.pruned = now / 3600
	}
	return nil
}

// ActiveFunctions returns the functions marked active in any hour from fromHour to
// toHour (inclusive, at most MaxActiveHours), each once, sorted. It queries every
// shard of every hour in parallel.
func (t *Table) ActiveFunctions(ctx context.Context, fromHour, toHour int64) ([]metrics.Function, error) {
	if fromHour < 0 || fromHour > toHour || toHour-fromHour >= MaxActiveHours {
		return nil, fmt.Errorf("active functions: %w: hours %d..%d", ErrInvalid, fromHour, toHour)
	}
	hours := int(toHour-fromHour) + 1
	found := make([][]metrics.Function, hours*ActiveShards)
	errs := make([]error, hours*ActiveShards)
	t.forEach(len(found), func(i int) {
		pk := activePK(fromHour+int64(i/ActiveShards), i%ActiveShards)
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(t.name),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ProjectionExpression:      aws.String("#sk"),
			ExpressionAttributeNames:  map[string]string{"#pk": PartitionKey, "#sk": SortKey},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": &ddbtypes.AttributeValueMemberS{Value: pk}},
		}
		errs[i] = t.query(ctx, in, func(it item) error {
			sk, err := getString(it, SortKey)
			if err != nil {
				return err
			}
			fn, ok := parseFunctionID(sk)
			if !ok {
				return fmt.Errorf("%w: %s: sort key %q", ErrCorrupt, pk, sk)
			}
			found[i] = append(found[i], fn)
			return nil
		})
	})
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("active functions: %w", err)
		}
	}
	seen := map[metrics.Function]bool{}
	var out []metrics.Function
	for _, fns := range found {
		for _, fn := range fns {
			if !seen[fn] {
				seen[fn] = true
				out = append(out, fn)
			}
		}
	}
	slices.SortFunc(out, func(a, b metrics.Function) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Account, b.Account),
			cmp.Compare(a.Region, b.Region), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}
