package ingest

import (
	"slices"

	"github.com/sightline/sightline/shared/logs"
	"github.com/sightline/sightline/shared/metrics"
	"github.com/sightline/sightline/shared/store"
)

type aggKey struct {
	fn     *fnEntry
	minute metrics.Minute
}

type errKey struct {
	fn  *fnEntry
	typ string
}

// Batch is one delivery batch, decoded and aggregated in memory, ready to apply.
type Batch struct {
	Stats Stats

	ids      []string
	failures map[int]*RecordError

	functions map[string]*fnEntry

	aggIndex   map[aggKey]int
	aggregates []store.AggregateUpdate
	aggRecords [][]int32 // records contributing to each aggregate update

	errIndex   map[errKey]int
	errorTypes []store.ErrorTypeUpdate
	errRecords [][]int32

	events       []Event
	eventRecords []int32
}

func newBatch() *Batch {
	return &Batch{
		failures:  map[int]*RecordError{},
		functions: map[string]*fnEntry{},
		aggIndex:  map[aggKey]int{},
		errIndex:  map[errKey]int{},
	}
}

// reset empties the batch for records, keeping its maps' and slices' storage: a
// Collector reuses one Batch, so steady-state ingest does not allocate per batch.
func (b *Batch) reset(records []logs.Record) {
	b.Stats = Stats{}
	b.ids = b.ids[:0]
	for i := range records {
		b.ids = append(b.ids, records[i].ID)
	}
	clear(b.failures)
	clear(b.functions)
	clear(b.aggIndex)
	clear(b.errIndex)
	b.aggregates, b.aggRecords = b.aggregates[:0], b.aggRecords[:0]
	b.errorTypes, b.errRecords = b.errorTypes[:0], b.errRecords[:0]
	b.events, b.eventRecords = b.events[:0], b.eventRecords[:0]
}

// fail records a problem of record i; a transient problem wins over a permanent one.
func (b *Batch) fail(i int, transient bool, err error) {
	if prev, ok := b.failures[i]; ok && (prev.Transient || !transient) {
		return
	}
	b.failures[i] = &RecordError{Index: i, ID: b.ids[i], Transient: transient, Err: err}
}

// countTransient derives Stats.TransientRecords from the failures.
func (b *Batch) countTransient() {
	b.Stats.TransientRecords = 0
	for _, f := range b.failures {
		if f.Transient {
			b.Stats.TransientRecords++
		}
	}
}

// add folds one document's contribution into the batch's updates.
func (b *Batch) add(rec int32, id store.DocID, fn *fnEntry, minutes []minuteAcc, errs []errAcc, evs []Event) {
	for _, m := range minutes {
		k := aggKey{fn: fn, minute: m.minute}
		i, ok := b.aggIndex[k]
		if !ok {
			i = len(b.aggregates)
			b.aggIndex[k] = i
			// Reuse the parts and records storage an earlier batch left at i.
			var parts []store.Contribution
			var recs []int32
			if i < cap(b.aggregates) {
				parts = b.aggregates[:i+1][i].Parts[:0]
			}
			if i < cap(b.aggRecords) {
				recs = b.aggRecords[:i+1][i][:0]
			}
			b.aggregates = append(b.aggregates, store.AggregateUpdate{Function: fn.fn, Minute: m.minute, Parts: parts})
			b.aggRecords = append(b.aggRecords, recs)
		}
		b.aggregates[i].Parts = append(b.aggregates[i].Parts, store.Contribution{Doc: id, Agg: m.agg})
		b.aggRecords[i] = appendUnique(b.aggRecords[i], rec)
	}
	for _, e := range errs {
		k := errKey{fn: fn, typ: e.typ}
		i, ok := b.errIndex[k]
		if !ok {
			i = len(b.errorTypes)
			b.errIndex[k] = i
			b.errorTypes = append(b.errorTypes, store.ErrorTypeUpdate{Function: fn.fn, Type: e.typ})
			b.errRecords = append(b.errRecords, nil)
		}
		b.errorTypes[i].Parts = append(b.errorTypes[i].Parts, store.ErrorTypeContribution{
			Doc: id, Count: e.count, FirstSeen: e.first, LastSeen: e.last, Sample: e.sample})
		b.errRecords[i] = appendUnique(b.errRecords[i], rec)
	}
	for _, ev := range evs {
		b.events = append(b.events, ev)
		b.eventRecords = append(b.eventRecords, rec)
	}
}

func appendUnique(s []int32, v int32) []int32 {
	if n := len(s); n > 0 && s[n-1] == v {
		return s
	}
	return append(s, v)
}

// Aggregates are the batch's aggregate updates: one per (function, minute).
func (b *Batch) Aggregates() []store.AggregateUpdate { return b.aggregates }

// ErrorTypes are the batch's error-type updates: one per (function, error type).
func (b *Batch) ErrorTypes() []store.ErrorTypeUpdate { return b.errorTypes }

// Failures lists the records that were not (fully) ingested, in batch order.
func (b *Batch) Failures() []*RecordError {
	out := make([]*RecordError, 0, len(b.failures))
	for _, f := range b.failures {
		out = append(out, f)
	}
	slices.SortFunc(out, func(x, y *RecordError) int { return x.Index - y.Index })
	return out
}

// FirstTransient returns the first record (in batch order) that must be retried.
func (b *Batch) FirstTransient() (*RecordError, bool) {
	var first *RecordError
	for _, f := range b.failures {
		if f.Transient && (first == nil || f.Index < first.Index) {
			first = f
		}
	}
	return first, first != nil
}

// Functions lists the functions the batch reported on.
func (b *Batch) Functions() []metrics.Function {
	seen := map[metrics.Function]bool{}
	var out []metrics.Function
	for _, u := range b.aggregates {
		if !seen[u.Function] {
			seen[u.Function] = true
			out = append(out, u.Function)
		}
	}
	return out
}
