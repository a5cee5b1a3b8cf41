package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sightline/sightline/shared/invocation"
	"github.com/sightline/sightline/shared/metrics"
)

// ErrorTypeContribution is one source document's occurrences of an error type.
type ErrorTypeContribution struct {
	Doc       DocID
	Count     int64
	FirstSeen int64 // ms since the epoch
	LastSeen  int64 // ms since the epoch
	Sample    *invocation.Error
}

// ErrorTypeUpdate is what one batch adds to one function's error type.
type ErrorTypeUpdate struct {
	Function metrics.Function
	Type     string
	Parts    []ErrorTypeContribution
}

// LogValue keeps customer identifiers and error messages out of logs.
func (u ErrorTypeUpdate) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("function", u.Function), slog.String("type", u.Type),
		slog.Int("parts", len(u.Parts)))
}

// ErrorTypeResult is the outcome of one ErrorTypeUpdate.
type ErrorTypeResult struct {
	Err error
	// Applied is false when every part was already applied (a replay) or on error.
	Applied bool
	// PrevLastSeen is the type's last-seen time before this write, 0 if the type had
	// never been seen: the new_error_type rule fires on Applied && PrevLastSeen == 0.
	PrevLastSeen int64
}

// ErrorTypeStat is a stored error type of a function.
type ErrorTypeStat struct {
	Type      string
	FirstSeen int64 // ms since the epoch
	LastSeen  int64 // ms since the epoch
	Count     int64
	Sample    *invocation.Error // the first sample stored; nil if none was given
}

// Attribute names of an error type item.
const (
	attrCount     = "cnt"
	attrFirstSeen = "first"
	attrLastSeen  = "last"
	attrSampleMsg = "sMsg"
	attrSampleFP  = "sFp"
	attrSampleReq = "sReq"
	attrSampleTyp = "sType"
)

const (
	maxErrorTypeLen     = 512  // bytes; sort keys may hold 1024
	maxSampleMessageLen = 1024 // bytes kept of a sample's message
)

func checkErrorTypeUpdate(u *ErrorTypeUpdate) error {
	if err := checkFunction(u.Function); err != nil {
		return err
	}
	if u.Type == "" || len(u.Type) > maxErrorTypeLen {
		return fmt.Errorf("%w: error type of %d bytes (want 1..%d)", ErrInvalid, len(u.Type), maxErrorTypeLen)
	}
	if len(u.Parts) == 0 {
		return fmt.Errorf("%w: no parts", ErrInvalid)
	}
	for _, p := range u.Parts {
		if p.Count < 0 {
			return fmt.Errorf("%w: part %v has a negative count", ErrInvalid, p.Doc)
		}
	}
	return nil
}

// ApplyErrorTypes adds each update's parts to its error type item (count, first and
// last seen, a sample), exactly once per document, with the same read-modify-write
// and ledger as ApplyAggregates. Error type items do not expire. The sample is the
// first one ever stored; later ones are ignored.
func (t *Table) ApplyErrorTypes(ctx context.Context, ups []ErrorTypeUpdate) []ErrorTypeResult {
	res := make([]ErrorTypeResult, len(ups))
	type etWrite struct {
		rmwItem
		fn      metrics.Function
		typ     string
		parts   []ErrorTypeContribution
		applied bool
		prev    int64
	}
	byKey := map[[2]string]*etWrite{}
	owner := make([]*etWrite, len(ups))
	var items []*rmwItem
	for i := range ups {
		u := &ups[i]
		if err := checkErrorTypeUpdate(u); err != nil {
			res[i].Err = fmt.Errorf("error type %q: %w", u.Type, err)
			continue
		}
		pk, sk := FunctionKey(u.Function), ErrorTypeKey(u.Type)
		k := [2]string{pk, sk}
		w := byKey[k]
		if w == nil {
			w = &etWrite{rmwItem: rmwItem{pk: pk, sk: sk}, fn: u.Function, typ: u.Type}
			w.modify = func(cur item) (item, error) {
				attrs, prev, err := t.mergeErrorType(ctx, cur, w.fn, w.parts)
				w.applied, w.prev = attrs != nil, prev
				return attrs, err
			}
			byKey[k] = w
			items = append(items, &w.rmwItem)
		}
		w.parts = append(w.parts, u.Parts...)
		owner[i] = w
	}
	t.readModifyWrite(ctx, items)
	for i, w := range owner {
		if w == nil {
			continue
		}
		if w.err != nil {
			res[i] = ErrorTypeResult{Err: w.err}
			continue
		}
		res[i] = ErrorTypeResult{Applied: w.applied, PrevLastSeen: w.prev}
	}
	return res
}

// mergeErrorType merges the parts not yet in cur's ledger; prev is cur's last seen.
func (t *Table) mergeErrorType(ctx context.Context, cur item, fn metrics.Function, parts []ErrorTypeContribution) (_ item, prev int64, _ error) {
	var st ErrorTypeStat
	var led ledger
	if cur != nil {
		var err error
		if st, err = decodeErrorType(cur); err != nil {
			return nil, 0, err
		}
		b, err := getBytes(cur, attrDocs)
		if err != nil {
			return nil, 0, err
		}
		if led, err = decodeLedger(b); err != nil {
			return nil, 0, err
		}
	}
	prev = st.LastSeen
	applied := 0
	for _, p := range parts {
		if led.has(p.Doc) {
			continue
		}
		led.add(p.Doc)
		applied++
		st.Count += p.Count
		if p.FirstSeen > 0 && (st.FirstSeen == 0 || p.FirstSeen < st.FirstSeen) {
			st.FirstSeen = p.FirstSeen
		}
		st.LastSeen = max(st.LastSeen, p.LastSeen, p.FirstSeen)
		if st.Sample == nil && p.Sample != nil {
			st.Sample = p.Sample
		}
	}
	if applied == 0 {
		return nil, prev, nil
	}
	if n := led.trim(t.opts.LedgerLimit); n > 0 {
		t.log.WarnContext(ctx, "error type ledger full: evicted the oldest document ids",
			"function", fn, "evicted", n, "limit", t.opts.LedgerLimit)
	}
	attrs := item{
		attrCount:     number(st.Count),
		attrFirstSeen: number(st.FirstSeen),
		attrLastSeen:  number(st.LastSeen),
		attrDocs:      &ddbtypes.AttributeValueMemberB{Value: led.encode()},
	}
	if s := st.Sample; s != nil {
		for name, v := range map[string]string{
			attrSampleTyp: s.Type, attrSampleMsg: truncateUTF8(s.Message, maxSampleMessageLen),
			attrSampleFP: s.Fingerprint, attrSampleReq: s.RequestID,
		} {
			if v != "" {
				attrs[name] = &ddbtypes.AttributeValueMemberS{Value: v}
			}
		}
	}
	return attrs, prev, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func decodeErrorType(it item) (ErrorTypeStat, error) {
	var st ErrorTypeStat
	sk, err := getString(it, SortKey)
	if err != nil {
		return st, err
	}
	st.Type = strings.TrimPrefix(sk, errorTypePrefix)
	for _, f := range []struct {
		name string
		dst  *int64
	}{{attrCount, &st.Count}, {attrFirstSeen, &st.FirstSeen}, {attrLastSeen, &st.LastSeen}} {
		if *f.dst, err = getInt(it, f.name); err != nil {
			return st, err
		}
	}
	var s invocation.Error
	for _, f := range []struct {
		name string
		dst  *string
	}{{attrSampleTyp, &s.Type}, {attrSampleMsg, &s.Message}, {attrSampleFP, &s.Fingerprint}, {attrSampleReq, &s.RequestID}} {
		if *f.dst, err = getString(it, f.name); err != nil {
			return st, err
		}
	}
	if s != (invocation.Error{}) {
		st.Sample = &s
	}
	return st, nil
}

// ErrorTypes returns every error type stored for fn, ordered by type.
func (t *Table) ErrorTypes(ctx context.Context, fn metrics.Function) ([]ErrorTypeStat, error) {
	if err := checkFunction(fn); err != nil {
		return nil, fmt.Errorf("error types: %w", err)
	}
	pk := FunctionKey(fn)
	in := &dynamodb.QueryInput{
		TableName:                aws.String(t.name),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :e)"),
		ProjectionExpression:     aws.String("#sk, #c, #f, #l, #st, #sm, #sf, #sr"),
		ExpressionAttributeNames: map[string]string{"#pk": PartitionKey, "#sk": SortKey, "#c": attrCount, "#f": attrFirstSeen, "#l": attrLastSeen, "#st": attrSampleTyp, "#sm": attrSampleMsg, "#sf": attrSampleFP, "#sr": attrSampleReq},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":pk": &ddbtypes.AttributeValueMemberS{Value: pk},
			":e":  &ddbtypes.AttributeValueMemberS{Value: errorTypePrefix},
		},
	}
	var out []ErrorTypeStat
	err := t.query(ctx, in, func(it item) error {
		st, err := decodeErrorType(it)
		if err != nil {
			return err
		}
		out = append(out, st)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error types %s: %w", pk, err)
	}
	return out, nil
}
