package ingest

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/logs"
	"github.com/sightline/sightline/shared/metrics"
	"github.com/sightline/sightline/shared/store"
)

// aggregateStore is the part of store.Table the pipeline writes to.
type aggregateStore interface {
	ApplyAggregates(ctx context.Context, ups []store.AggregateUpdate) []error
	ApplyErrorTypes(ctx context.Context, ups []store.ErrorTypeUpdate) []store.ErrorTypeResult
	MarkActive(ctx context.Context, fn metrics.Function, hour int64) error
}

// Rules evaluates the immediate alert rules (out of memory, timeout, new error type)
// on the events of a stored batch. An error is transient: the records that carried
// the events are retried (the alert writes are idempotent).
type Rules interface {
	Immediate(ctx context.Context, events []Event) error
}

// NoRules evaluates nothing.
type NoRules struct{}

// Immediate implements Rules.
func (NoRules) Immediate(context.Context, []Event) error { return nil }

// Config configures a Pipeline.
type Config struct {
	Limits    logs.Limits
	Prices    cost.Prices
	Functions Functions // nil: NoInventory
	Rules     Rules     // nil: NoRules
	Logger    *slog.Logger
}

// Pipeline ingests batches: Collect in memory, then apply to the store and run the
// immediate rules. A Pipeline is not safe for concurrent use; a Lambda handles one
// batch at a time, the local runner uses one Pipeline per worker.
type Pipeline struct {
	collector *Collector
	store     aggregateStore
	rules     Rules
	log       *slog.Logger
}

// NewPipeline returns a Pipeline writing to st.
func NewPipeline(st aggregateStore, cfg Config) *Pipeline {
	if cfg.Rules == nil {
		cfg.Rules = NoRules{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Pipeline{
		collector: NewCollector(cfg.Limits, cfg.Prices, cfg.Functions),
		store:     st,
		rules:     cfg.Rules,
		log:       cfg.Logger,
	}
}

// Process ingests one batch of records from src and returns it with every record's
// outcome. It does not fail as a whole: look at the batch's Failures.
func (p *Pipeline) Process(ctx context.Context, src Source, records []logs.Record) *Batch {
	b := p.collector.Collect(ctx, src, records)
	p.apply(ctx, b)
	p.report(ctx, src, b)
	return b
}

// apply writes a collected batch: aggregates and error types (idempotently), the
// activity index, then the immediate rules on what was stored.
func (p *Pipeline) apply(ctx context.Context, b *Batch) {
	b.Stats.AggregateItems = len(b.aggregates)
	b.Stats.ErrorTypeItems = len(b.errorTypes)

	failedFn := map[metrics.Function]bool{}
	for i, err := range p.store.ApplyAggregates(ctx, b.aggregates) {
		if err == nil {
			continue
		}
		u := &b.aggregates[i]
		failedFn[u.Function] = true
		for _, r := range b.aggRecords[i] {
			b.fail(int(r), store.IsTransient(err), fmt.Errorf("apply aggregate: %w", err))
		}
	}

	var events []Event
	var eventRecs []int32
	for i, res := range p.store.ApplyErrorTypes(ctx, b.errorTypes) {
		u := &b.errorTypes[i]
		if res.Err != nil {
			failedFn[u.Function] = true
			for _, r := range b.errRecords[i] {
				b.fail(int(r), store.IsTransient(res.Err), fmt.Errorf("apply error type: %w", res.Err))
			}
			continue
		}
		ev := Event{Kind: EventErrorType, Function: u.Function, PrevLastSeen: res.PrevLastSeen, Replayed: !res.Applied}
		for _, part := range u.Parts {
			if ev.Error == nil || part.FirstSeen < ev.At {
				ev.At, ev.Error = part.FirstSeen, part.Sample
			}
		}
		if ev.Error != nil {
			ev.RequestID = ev.Error.RequestID
		}
		events = append(events, ev)
		eventRecs = append(eventRecs, b.errRecords[i][0])
	}

	type fnHour struct {
		fn   metrics.Function
		hour int64
	}
	marked := map[fnHour]bool{}
	for i := range b.aggregates {
		u := &b.aggregates[i]
		k := fnHour{u.Function, int64(u.Minute) / 60}
		if failedFn[u.Function] || marked[k] {
			continue
		}
		marked[k] = true
		if err := p.store.MarkActive(ctx, k.fn, k.hour); err != nil {
			for _, r := range b.aggRecords[i] {
				b.fail(int(r), true, fmt.Errorf("mark active: %w", err))
			}
		}
	}

	for i, ev := range b.events {
		if !failedFn[ev.Function] {
			events = append(events, ev)
			eventRecs = append(eventRecs, b.eventRecords[i])
		}
	}
	if len(events) > 0 {
		if err := p.rules.Immediate(ctx, events); err != nil {
			for _, r := range eventRecs {
				b.fail(int(r), true, fmt.Errorf("immediate rules: %w", err))
			}
		}
	}
	b.countTransient()
}

// report logs the batch's outcome: one summary line, and one line per failed record.
func (p *Pipeline) report(ctx context.Context, src Source, b *Batch) {
	log := p.log.With("region", src.Region)
	for _, f := range b.Failures() {
		level := slog.LevelWarn
		if f.Transient {
			level = slog.LevelError
		}
		log.Log(ctx, level, "record not ingested", "index", f.Index, "id", f.ID, "transient", f.Transient, "err", f.Err)
	}
	log.InfoContext(ctx, "batch ingested", "stats", b.Stats)
}
