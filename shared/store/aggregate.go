package store

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sightline/sightline/shared/metrics"
)

// Contribution is one source document's part of an aggregate.
type Contribution struct {
	Doc DocID
	Agg *metrics.Aggregate
}

// AggregateUpdate is what one batch adds to one function-minute.
type AggregateUpdate struct {
	Function metrics.Function
	Minute   metrics.Minute
	Parts    []Contribution
}

// LogValue keeps customer identifiers out of logs (see metrics.Function.LogValue).
func (u AggregateUpdate) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("function", u.Function), slog.Int64("minute", int64(u.Minute)),
		slog.Int("parts", len(u.Parts)))
}

// MinuteAggregate is one stored minute of a function.
type MinuteAggregate struct {
	Minute metrics.Minute
	Agg    metrics.Aggregate
}

// Attribute names of a minute aggregate item (besides pk, sk, ver, expiresAt).
const (
	attrDocs        = "docs" // the ledger
	attrInvocations = "inv"
	attrErrors      = "errs"
	attrTimeouts    = "tmo"
	attrOOM         = "oom"
	attrColdStarts  = "cold"
	attrDurSum      = "dsum" // µs
	attrDurMin      = "dmin" // µs
	attrDurMax      = "dmax" // µs
	attrHistogram   = "hist" // metrics.Sketch encoding, µs
	attrBilled      = "billed"
	attrMemory      = "mem"
	attrMaxMemory   = "maxMem"
	attrCost        = "cost" // pico-USD
)

var aggregateAttributes = []string{SortKey, attrInvocations, attrErrors, attrTimeouts, attrOOM, attrColdStarts,
	attrDurSum, attrDurMin, attrDurMax, attrHistogram, attrBilled, attrMemory, attrMaxMemory, attrCost}

func checkAggregateUpdate(u *AggregateUpdate) error {
	if err := checkFunction(u.Function); err != nil {
		return err
	}
	if u.Minute < 0 || u.Minute > maxMinute {
		return fmt.Errorf("%w: minute %d out of range", ErrInvalid, u.Minute)
	}
	if len(u.Parts) == 0 {
		return fmt.Errorf("%w: no parts", ErrInvalid)
	}
	for _, p := range u.Parts {
		if p.Agg == nil {
			return fmt.Errorf("%w: part %v has no aggregate", ErrInvalid, p.Doc)
		}
	}
	return nil
}

// ApplyAggregates adds each update's parts to its function-minute item, exactly
// once per document: parts whose DocID the item's ledger already holds are skipped,
// so redelivering any documents, in any batches, any number of times, changes
// nothing. It returns one result per update, nil when the update is applied (or was
// already); a failed update changed nothing and may be retried as a whole.
//
// Requests: one BatchGetItem per 100 distinct items, then one conditional PutItem
// per item that has something new (updates of the same item in one call are
// combined into one write; a pure replay writes nothing). An item that another
// writer changed between read and write is read and merged again, up to
// Options.MaxAttempts times, then fails with ErrConflict. Errors wrap ErrThrottled,
// ErrConflict, ErrInvalid or ErrCorrupt and name the item key; IsTransient tells
// which to retry.
//
// Minute items expire Options.Retention after the end of their minute (or after
// the write, for data older than that). The ledger
// keeps the newest Options.LedgerLimit document ids (see ledger for the bound).
func (t *Table) ApplyAggregates(ctx context.Context, ups []AggregateUpdate) []error {
	errs := make([]error, len(ups))
	type aggWrite struct {
		rmwItem
		fn    metrics.Function
		min   metrics.Minute
		parts []Contribution
	}
	byKey := map[[2]string]*aggWrite{}
	owner := make([]*aggWrite, len(ups))
	var items []*rmwItem
	for i := range ups {
		u := &ups[i]
		pk, sk := "", ""
		if checkFunction(u.Function) == nil {
			pk = FunctionKey(u.Function)
		}
		if u.Minute >= 0 {
			sk = MinuteKey(u.Minute)
		}
		if err := checkAggregateUpdate(u); err != nil {
			errs[i] = fmt.Errorf("aggregate %s %s: %w", pk, sk, err)
			continue
		}
		k := [2]string{pk, sk}
		w := byKey[k]
		if w == nil {
			w = &aggWrite{rmwItem: rmwItem{pk: pk, sk: sk}, fn: u.Function, min: u.Minute}
			w.modify = func(cur item) (item, error) { return t.mergeAggregate(ctx, cur, w.fn, w.min, w.parts) }
			byKey[k] = w
			items = append(items, &w.rmwItem)
		}
		w.parts = append(w.parts, u.Parts...)
		owner[i] = w
	}
	t.readModifyWrite(ctx, items)
	for i, w := range owner {
		if w != nil {
			errs[i] = w.err
		}
	}
	return errs
}

// mergeAggregate merges the parts not yet in cur's ledger into cur.
func (t *Table) mergeAggregate(ctx context.Context, cur item, fn metrics.Function, m metrics.Minute, parts []Contribution) (item, error) {
	var agg metrics.Aggregate
	var led ledger
	if cur != nil {
		var err error
		if agg, err = decodeAggregate(cur); err != nil {
			return nil, err
		}
		b, err := getBytes(cur, attrDocs)
		if err != nil {
			return nil, err
		}
		if led, err = decodeLedger(b); err != nil {
			return nil, err
		}
	}
	applied := 0
	for _, p := range parts {
		if led.has(p.Doc) {
			continue
		}
		led.add(p.Doc)
		agg.Merge(p.Agg)
		applied++
	}
	if applied == 0 {
		return nil, nil
	}
	if n := led.trim(t.opts.LedgerLimit); n > 0 {
		t.log.WarnContext(ctx, "aggregate ledger full: evicted the oldest document ids",
			"function", fn, "minute", int64(m), "evicted", n, "limit", t.opts.LedgerLimit)
	}
	attrs := encodeAggregate(&agg)
	attrs[attrDocs] = &ddbtypes.AttributeValueMemberB{Value: led.encode()}
	attrs[TTLAttribute] = number(t.minuteExpiry(m))
	return attrs, nil
}

// minuteExpiry is the TTL of a minute item in epoch seconds: the retention counted
// from the end of the minute, or from now for data that arrives later than that
// (a replay of old logs must not be deleted as soon as it is written).
func (t *Table) minuteExpiry(m metrics.Minute) int64 {
	end := (int64(m) + 1) * 60
	return max(end, t.opts.Now().Unix()) + int64(t.opts.Retention.Seconds())
}

func encodeAggregate(a *metrics.Aggregate) item {
	hist, _ := a.Durations.MarshalBinary() // never fails
	return item{
		attrInvocations: number(a.Invocations),
		attrErrors:      number(a.Errors),
		attrTimeouts:    number(a.Timeouts),
		attrOOM:         number(a.OutOfMemory),
		attrColdStarts:  number(a.ColdStarts),
		attrDurSum:      number(a.DurationSumUs),
		attrDurMin:      number(a.DurationMinUs),
		attrDurMax:      number(a.DurationMaxUs),
		attrHistogram:   &ddbtypes.AttributeValueMemberB{Value: hist},
		attrBilled:      number(a.BilledDurationMs),
		attrMemory:      number(int64(a.MemorySizeMB)),
		attrMaxMemory:   number(int64(a.MaxMemoryUsedMB)),
		attrCost:        number(a.CostPicoUSD),
	}
}

func decodeAggregate(it item) (metrics.Aggregate, error) {
	var a metrics.Aggregate
	ints := []struct {
		name string
		dst  *int64
	}{
		{attrInvocations, &a.Invocations}, {attrErrors, &a.Errors}, {attrTimeouts, &a.Timeouts},
		{attrOOM, &a.OutOfMemory}, {attrColdStarts, &a.ColdStarts}, {attrDurSum, &a.DurationSumUs},
		{attrDurMin, &a.DurationMinUs}, {attrDurMax, &a.DurationMaxUs}, {attrBilled, &a.BilledDurationMs},
		{attrCost, &a.CostPicoUSD},
	}
	for _, f := range ints {
		v, err := getInt(it, f.name)
		if err != nil {
			return a, err
		}
		*f.dst = v
	}
	for _, f := range []struct {
		name string
		dst  *int32
	}{{attrMemory, &a.MemorySizeMB}, {attrMaxMemory, &a.MaxMemoryUsedMB}} {
		v, err := getInt(it, f.name)
		if err != nil {
			return a, err
		}
		if v < 0 || v > math.MaxInt32 {
			return a, fmt.Errorf("%w: %s %d", ErrCorrupt, f.name, v)
		}
		*f.dst = int32(v)
	}
	hist, err := getBytes(it, attrHistogram)
	if err != nil {
		return a, err
	}
	if hist != nil {
		if err := a.Durations.UnmarshalBinary(hist); err != nil {
			return a, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	if a.Durations.Count() != uint64(a.Invocations) {
		return a, fmt.Errorf("%w: histogram holds %d durations for %d invocations", ErrCorrupt,
			a.Durations.Count(), a.Invocations)
	}
	return a, nil
}

// Minutes returns the stored minutes of fn from from to to (inclusive), oldest
// first; minutes without data are absent.
func (t *Table) Minutes(ctx context.Context, fn metrics.Function, from, to metrics.Minute) ([]MinuteAggregate, error) {
	if err := checkFunction(fn); err != nil {
		return nil, fmt.Errorf("minutes: %w", err)
	}
	pk := FunctionKey(fn)
	if from < 0 || to > maxMinute || from > to {
		return nil, fmt.Errorf("minutes %s: %w: range %d..%d", pk, ErrInvalid, from, to)
	}
	names := map[string]string{"#pk": PartitionKey}
	proj := make([]string, len(aggregateAttributes))
	for i, a := range aggregateAttributes {
		ph := "#a" + strconv.Itoa(i)
		names[ph] = a
		proj[i] = ph
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(t.name),
		KeyConditionExpression:   aws.String("#pk = :pk AND #a0 BETWEEN :from AND :to"),
		ProjectionExpression:     aws.String(strings.Join(proj, ", ")),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":pk":   &ddbtypes.AttributeValueMemberS{Value: pk},
			":from": &ddbtypes.AttributeValueMemberS{Value: MinuteKey(from)},
			":to":   &ddbtypes.AttributeValueMemberS{Value: MinuteKey(to)},
		},
	}
	var out []MinuteAggregate
	err := t.query(ctx, in, func(it item) error {
		sk, err := getString(it, SortKey)
		if err != nil {
			return err
		}
		m, ok := parseMinuteKey(sk)
		if !ok {
			return fmt.Errorf("%w: sort key %q", ErrCorrupt, sk)
		}
		a, err := decodeAggregate(it)
		if err != nil {
			return fmt.Errorf("%s: %w", sk, err)
		}
		out = append(out, MinuteAggregate{Minute: m, Agg: a})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("minutes %s: %w", pk, err)
	}
	return out, nil
}

// query runs in page by page, handing each item to f.
func (t *Table) query(ctx context.Context, in *dynamodb.QueryInput, f func(item) error) error {
	for {
		res, err := t.api.Query(ctx, in)
		if err != nil {
			return classify("query", aws.ToString(in.TableName), err)
		}
		for _, it := range res.Items {
			if err := f(it); err != nil {
				return err
			}
		}
		if len(res.LastEvaluatedKey) == 0 {
			return nil
		}
		next := *in
		next.ExclusiveStartKey = res.LastEvaluatedKey
		in = &next
	}
}
