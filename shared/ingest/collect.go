package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/invocation"
	"github.com/sightline/sightline/shared/logs"
	"github.com/sightline/sightline/shared/metrics"
	"github.com/sightline/sightline/shared/store"
	"github.com/sightline/sightline/shared/telemetry"
)

// EventKind is what an immediate rule looks at.
type EventKind uint8

const (
	EventOutOfMemory EventKind = iota + 1
	EventTimeout
	EventErrorType
)

// Event is one fact of a batch that the immediate alert rules evaluate: the first
// out-of-memory or timeout invocation of a function in a document, or an error type
// a document reported.
type Event struct {
	Kind      EventKind
	Function  metrics.Function
	At        int64 // ms since the epoch
	RequestID string
	Evidence
	// Error is the error of the invocation (for EventErrorType: the sample occurrence).
	Error *invocation.Error
	// PrevLastSeen is, for EventErrorType, when the function last reported the type
	// before this batch (0: never); Replayed is true when the store had already
	// applied every document that reported it.
	PrevLastSeen int64
	Replayed     bool
}

// Evidence is the part of an invocation's facts an alert shows.
type Evidence struct {
	DurationMs      float64
	MemorySizeMB    int32
	MaxMemoryUsedMB int32
}

// fnEntry is a (owner, log group) of the batch, resolved once.
type fnEntry struct {
	fn   metrics.Function
	arch cost.Arch
	err  error // nil, or why its documents are skipped (permanent or transient)
}

type minuteAcc struct {
	minute metrics.Minute
	agg    *metrics.Aggregate
}

type errAcc struct {
	typ         string
	count       int64
	first, last int64
	sample      *invocation.Error
}

// docState accumulates one document's contribution.
type docState struct {
	fn      *fnEntry
	events  int
	firstID []byte
	lastID  []byte
	minutes []minuteAcc
	errs    []errAcc
	firsts  []Event // the first OOM / timeout invocation of the document
}

// stagedDoc is a document's contribution, held until its record decodes to the
// end (a record that turns out malformed contributes nothing). Its parts are ranges
// of the Collector's staging arenas.
type stagedDoc struct {
	id                 store.DocID
	fn                 *fnEntry
	minutes, errs, evs span
}

type span struct{ from, to int }

// Collector is the hot path: decode, parse, aggregate in memory. It is reused across
// batches and is not safe for concurrent use.
type Collector struct {
	dec       *logs.Decoder
	parser    *invocation.Parser
	prices    cost.Prices
	functions Functions

	// per batch
	ctx context.Context
	src Source
	b   *Batch
	rec int

	// per record / document
	staged     []stagedDoc
	stagedMins []minuteAcc
	stagedErrs []errAcc
	stagedEvs  []Event
	doc        docState
	skipDoc    bool
	keyBuf     []byte

	// The batch and its aggregates are reused from batch to batch: a Batch is valid
	// until the next Collect.
	batch   *Batch
	aggPool []*metrics.Aggregate
	nextAgg int
}

// NewCollector returns a Collector that prices invocations with prices and maps
// custom log groups with functions (nil: NoInventory).
func NewCollector(limits logs.Limits, prices cost.Prices, functions Functions) *Collector {
	if functions == nil {
		functions = NoInventory{}
	}
	c := &Collector{
		dec:       logs.NewDecoder(limits),
		prices:    prices,
		functions: functions,
	}
	c.parser = invocation.NewParser(c)
	return c
}

// Collect decodes, parses and aggregates records into a Batch, which stays valid
// until the next Collect (the Collector reuses its storage). It never fails as a
// whole: every record's problem is in the batch's Failures.
func (c *Collector) Collect(ctx context.Context, src Source, records []logs.Record) *Batch {
	if c.batch == nil {
		c.batch = newBatch()
	}
	b := c.batch
	b.reset(records)
	c.ctx, c.src, c.b = ctx, src, b
	c.nextAgg = 0
	defer func() { c.ctx, c.b = nil, nil }()
	for i := range records {
		c.rec = i
		c.staged, c.stagedMins, c.stagedErrs, c.stagedEvs = c.staged[:0], c.stagedMins[:0], c.stagedErrs[:0], c.stagedEvs[:0]
		b.Stats.Records++
		err := c.dec.Decode(records[i].Data, c)
		if err == nil {
			err = c.stagedTransient()
		}
		switch {
		case err == nil:
			for j := range c.staged {
				c.commit(int32(i), &c.staged[j])
			}
		case errors.Is(err, logs.ErrTooLarge):
			b.Stats.OversizedRecords++
			b.fail(i, false, err)
		case errors.Is(err, logs.ErrMalformed):
			b.Stats.MalformedRecords++
			b.fail(i, false, err)
		default:
			b.fail(i, true, err)
		}
	}
	b.countTransient()
	return b
}

// stagedTransient returns the transient lookup error of a staged document's function,
// if any: the whole record is then retried.
func (c *Collector) stagedTransient() error {
	for j := range c.staged {
		if err := c.staged[j].fn.err; err != nil {
			return err
		}
	}
	return nil
}

// Document implements logs.Handler.
func (c *Collector) Document(d *logs.Document) bool {
	c.b.Stats.Documents++
	c.skipDoc = true
	switch d.Type {
	case logs.MessageControl:
		c.b.Stats.ControlMessages++
		return false
	case logs.MessageData:
	default:
		c.b.Stats.MalformedRecords++
		c.b.fail(c.rec, false, fmt.Errorf("document messageType is neither DATA_MESSAGE nor CONTROL_MESSAGE: %w", logs.ErrMalformed))
		return false
	}
	fe := c.resolve(d)
	if fe.err != nil {
		switch {
		case errors.Is(fe.err, ErrWrongTenant):
			c.b.Stats.WrongTenantDocs++
			c.b.fail(c.rec, false, fe.err)
			return false
		case errors.Is(fe.err, ErrUnknownLogGroup):
			c.b.Stats.UnknownLogGroups++
			c.b.fail(c.rec, false, fe.err)
			return false
		}
		// Transient: stage it so the record is retried.
		c.staged = append(c.staged, stagedDoc{fn: fe})
		return false
	}
	c.skipDoc = false
	c.doc = docState{fn: fe, firstID: c.doc.firstID[:0], lastID: c.doc.lastID[:0],
		minutes: c.doc.minutes[:0], errs: c.doc.errs[:0], firsts: c.doc.firsts[:0]}
	c.parser.Stream(d.LogStream)
	return true
}

// resolve finds the function entry of a document, once per batch per (owner, group).
func (c *Collector) resolve(d *logs.Document) *fnEntry {
	c.keyBuf = append(append(append(c.keyBuf[:0], d.Owner...), 0), d.LogGroup...)
	if fe, ok := c.b.functions[string(c.keyBuf)]; ok {
		return fe
	}
	fe := &fnEntry{}
	c.b.functions[string(c.keyBuf)] = fe
	owner, group := string(d.Owner), string(d.LogGroup)
	tenant, err := c.src.Tenancy.Tenant(c.ctx, owner)
	if err != nil {
		fe.err = err
		return fe
	}
	fe.fn = metrics.Function{Tenant: tenant, Account: owner, Region: c.src.Region}
	info, ok, err := c.functions.FunctionByLogGroup(c.ctx, tenant, owner, c.src.Region, group)
	switch {
	case err != nil:
		fe.err = err
	case ok:
		fe.fn.Name, fe.arch = info.Name, info.Architecture
	default:
		name, ok := functionFromLogGroup(group)
		if !ok {
			fe.err = &logGroupError{group: group}
			return fe
		}
		fe.fn.Name = name
	}
	return fe
}

type logGroupError struct{ group string }

func (e *logGroupError) Error() string {
	return "log group " + e.group + ": " + ErrUnknownLogGroup.Error()
}
func (e *logGroupError) Unwrap() error { return ErrUnknownLogGroup }

// Event implements logs.Handler.
func (c *Collector) Event(_ *logs.Document, e *logs.Event) {
	c.b.Stats.LogEvents++
	d := &c.doc
	if d.events == 0 {
		d.firstID = append(d.firstID[:0], e.ID...)
	}
	d.lastID = append(d.lastID[:0], e.ID...)
	d.events++
	c.parser.Line(e.Timestamp, e.Message)
}

// EndDocument implements logs.Handler.
func (c *Collector) EndDocument(d *logs.Document) {
	if c.skipDoc {
		return
	}
	c.parser.Flush()
	doc := &c.doc
	if doc.events == 0 || (len(doc.minutes) == 0 && len(doc.errs) == 0) {
		return
	}
	s := stagedDoc{id: documentID(d, doc), fn: doc.fn}
	s.minutes.from = len(c.stagedMins)
	c.stagedMins = append(c.stagedMins, doc.minutes...)
	s.minutes.to = len(c.stagedMins)
	s.errs.from = len(c.stagedErrs)
	c.stagedErrs = append(c.stagedErrs, doc.errs...)
	s.errs.to = len(c.stagedErrs)
	s.evs.from = len(c.stagedEvs)
	c.stagedEvs = append(c.stagedEvs, doc.firsts...)
	s.evs.to = len(c.stagedEvs)
	c.staged = append(c.staged, s)
}

// commit folds a staged document of record rec into the batch.
func (c *Collector) commit(rec int32, d *stagedDoc) {
	c.b.add(rec, d.id, d.fn, c.stagedMins[d.minutes.from:d.minutes.to], c.stagedErrs[d.errs.from:d.errs.to], c.stagedEvs[d.evs.from:d.evs.to])
}

// newAggregate returns an empty aggregate, reusing those of the previous batch.
func (c *Collector) newAggregate() *metrics.Aggregate {
	if c.nextAgg < len(c.aggPool) {
		a := c.aggPool[c.nextAgg]
		c.nextAgg++
		d := a.Durations
		d.Reset()
		*a = metrics.Aggregate{Durations: d}
		return a
	}
	a := new(metrics.Aggregate)
	c.aggPool = append(c.aggPool, a)
	c.nextAgg++
	return a
}

// documentID identifies a document by what CloudWatch Logs made unique about it:
// its stream, its first and last event ids and its event count.
func documentID(d *logs.Document, doc *docState) store.DocID {
	return store.NewDocID(d.Owner, d.LogGroup, d.LogStream, doc.firstID, doc.lastID, doc.events)
}

// Invocation implements invocation.Sink.
func (c *Collector) Invocation(inv *invocation.Invocation) {
	d := &c.doc
	if inv.Reported {
		c.b.Stats.Invocations++
	} else {
		c.b.Stats.OrphanFailures++
	}
	m := metrics.MinuteOf(inv.Time)
	var agg *metrics.Aggregate
	for i := range d.minutes {
		if d.minutes[i].minute == m {
			agg = d.minutes[i].agg
			break
		}
	}
	if agg == nil {
		agg = c.newAggregate()
		d.minutes = append(d.minutes, minuteAcc{minute: m, agg: agg})
	}
	var price int64
	if inv.Reported {
		price = c.prices.Invocation(inv.BilledDurationMs, inv.MemorySizeMB, d.fn.arch)
	}
	agg.Add(inv, price)

	// Error types are those of failed invocations' unhandled errors; timeouts and
	// out-of-memory have counters and rules of their own.
	if inv.Status == invocation.StatusError && inv.Error != nil && inv.Error.Type != "" {
		c.errorType(inv)
	}
	switch inv.Status {
	case invocation.StatusOutOfMemory:
		c.firstEvent(EventOutOfMemory, inv)
	case invocation.StatusTimeout:
		c.firstEvent(EventTimeout, inv)
	}
}

func (c *Collector) errorType(inv *invocation.Invocation) {
	d := &c.doc
	for i := range d.errs {
		e := &d.errs[i]
		if e.typ == inv.Error.Type {
			e.count++
			e.first = min(e.first, inv.Time)
			e.last = max(e.last, inv.Time)
			return
		}
	}
	d.errs = append(d.errs, errAcc{typ: inv.Error.Type, count: 1, first: inv.Time, last: inv.Time, sample: inv.Error})
}

func (c *Collector) firstEvent(kind EventKind, inv *invocation.Invocation) {
	d := &c.doc
	for i := range d.firsts {
		if d.firsts[i].Kind == kind {
			return
		}
	}
	d.firsts = append(d.firsts, Event{
		Kind:      kind,
		Function:  d.fn.fn,
		At:        inv.Time,
		RequestID: string(inv.RequestID),
		Evidence:  Evidence{DurationMs: inv.DurationMs, MemorySizeMB: inv.MemorySizeMB, MaxMemoryUsedMB: inv.MaxMemoryUsedMB},
		Error:     inv.Error,
	})
}

// Telemetry implements invocation.Sink.
func (c *Collector) Telemetry(*telemetry.Payload) { c.b.Stats.TelemetryPayload++ }

// TelemetrySummary implements invocation.SummarySink: ingest verifies and counts
// telemetry payloads; it does not keep them.
func (c *Collector) TelemetrySummary(telemetry.Summary) { c.b.Stats.TelemetryPayload++ }

// BadLine implements invocation.Sink.
func (c *Collector) BadLine(error) { c.b.Stats.BadLines++ }
