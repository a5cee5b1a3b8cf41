package workload

import (
	"bytes"
	"cmp"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/klauspost/compress/gzip"
)

// CloudWatch Logs' limits and habits for subscription documents.
const (
	maxDocEvents = 10_000
	maxDocBytes  = 1 << 20
	// SubscriptionFilter is the name the documents carry in subscriptionFilters.
	SubscriptionFilter = "SightlineLogsSubscription"
	// ControlOwner is the owner of CONTROL_MESSAGE documents.
	ControlOwner   = "CloudwatchLogs"
	controlMessage = "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."
	arenaChunk     = 4 << 20
)

type pendingDoc struct {
	Document
	order int
}

// docBuilder encodes and gzips documents and keeps them in an arena.
type docBuilder struct {
	json  []byte
	zbuf  bytes.Buffer
	zw    *gzip.Writer
	arena []byte
	id    big.Int
	low   big.Int
	docs  []pendingDoc
	stats Stats
}

func newDocBuilder() *docBuilder {
	zw, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression) // a valid level never fails
	return &docBuilder{zw: zw}
}

// eventID is CloudWatch Logs' 56-digit event id: the timestamp in the bits above
// 144, a per-workload sequence below, so ids are unique and increase with time and
// within a stream.
func (b *docBuilder) appendEventID(dst []byte, ts int64, seq uint64) []byte {
	b.id.SetInt64(ts)
	b.id.Lsh(&b.id, 144)
	b.low.SetUint64(seq)
	b.id.Or(&b.id, &b.low)
	return b.id.Append(dst, 10)
}

func (b *docBuilder) header(messageType, owner, group, stream string, filters bool) {
	j := append(b.json[:0], `{"messageType":"`...)
	j = append(j, messageType...)
	j = append(j, `","owner":`...)
	j = appendJSONString(j, owner)
	j = append(j, `,"logGroup":`...)
	j = appendJSONString(j, group)
	j = append(j, `,"logStream":`...)
	j = appendJSONString(j, stream)
	if filters {
		j = append(j, `,"subscriptionFilters":["`+SubscriptionFilter+`"],"logEvents":[`...)
	} else {
		j = append(j, `,"subscriptionFilters":[],"logEvents":[`...)
	}
	b.json = j
}

// finish closes the JSON document, gzips it and records it.
func (b *docBuilder) finish(d Document, order int) error {
	b.json = append(b.json, "]}"...)
	b.zbuf.Reset()
	b.zw.Reset(&b.zbuf)
	if _, err := b.zw.Write(b.json); err != nil {
		return fmt.Errorf("gzip document: %w", err)
	}
	if err := b.zw.Close(); err != nil {
		return fmt.Errorf("gzip document: %w", err)
	}
	z := b.zbuf.Bytes()
	if cap(b.arena)-len(b.arena) < len(z) {
		b.arena = make([]byte, 0, max(arenaChunk, len(z)))
	}
	start := len(b.arena)
	b.arena = append(b.arena, z...)
	d.Gzip = b.arena[start:len(b.arena):len(b.arena)]
	d.Size = len(b.json)
	b.docs = append(b.docs, pendingDoc{Document: d, order: order})
	b.stats.Documents++
	b.stats.RawBytes += int64(len(b.json))
	b.stats.GzipBytes += int64(len(z))
	if d.Control {
		b.stats.ControlDocuments++
	} else {
		b.stats.LogEvents += d.Events
	}
	return nil
}

// cut groups a stream's events into documents as CloudWatch Logs does: consecutive
// events of one stream within a 1-5 s window, at most 10,000 events and 1 MB.
func (g *generator) cut(s *stream, owner, group, name string, r *rand.Rand) error {
	b := g.builder
	for i := 0; i < len(s.evs); {
		t0 := s.evs[i].ts
		window := 1000 + r.Int64N(4001)
		b.header("DATA_MESSAGE", owner, group, name, true)
		j := i
		for ; j < len(s.evs) && j-i < maxDocEvents && s.evs[j].ts < t0+window; j++ {
			e := s.evs[j]
			mark := len(b.json)
			if j > i {
				b.json = append(b.json, ',')
			}
			b.json = append(b.json, `{"id":"`...)
			b.json = b.appendEventID(b.json, e.ts, g.seq)
			b.json = append(b.json, `","timestamp":`...)
			b.json = strconv.AppendInt(b.json, e.ts, 10)
			b.json = append(b.json, `,"message":`...)
			b.json = appendJSONString(b.json, s.msgs[e.off:e.end])
			b.json = append(b.json, '}')
			if len(b.json)+2 > maxDocBytes && j > i {
				b.json = b.json[:mark]
				break
			}
			g.seq++
		}
		d := Document{Time: s.evs[j-1].ts, First: t0, Owner: owner, LogGroup: group, LogStream: name, Events: j - i}
		if err := b.finish(d, g.order); err != nil {
			return err
		}
		g.order++
		i = j
	}
	return nil
}

func (g *generator) control(ts int64) error {
	b := g.builder
	b.header("CONTROL_MESSAGE", ControlOwner, "", "", false)
	b.json = append(b.json, `{"id":"","timestamp":`...)
	b.json = strconv.AppendInt(b.json, ts, 10)
	b.json = append(b.json, `,"message":"`+controlMessage+`"}`...)
	err := b.finish(Document{Time: ts, First: ts, Control: true, Owner: ControlOwner, Events: 1}, g.order)
	g.order++
	return err
}

// render writes every container's log stream and cuts it into documents, adds the
// control messages, and orders everything by delivery time.
func (g *generator) render() error {
	g.builder = newDocBuilder()
	var s stream
	var x *renderer
	for _, c := range g.conts {
		if x == nil || x.fi != c.fn {
			a := &g.arch[c.fn]
			x = &renderer{g: g, fi: c.fn, a: a, fn: g.w.Functions[c.fn], r: g.rng(2, c.fn), s: &s,
				arn: runtimeARN(g.cfg.Region, a.runtimeV)}
		}
		s.reset()
		for _, k := range c.invs {
			x.invocation(&g.w.Invocations[k])
		}
		// Lines of one invocation share or follow each other's timestamps, and
		// invocations of one environment never overlap: the stream is in order.
		if !slices.IsSortedFunc(s.evs, func(a, b event) int { return cmp.Compare(a.ts, b.ts) }) {
			return fmt.Errorf("function %s stream %s: events out of order", x.fn.Name, c.stream)
		}
		if err := g.cut(&s, x.fn.Account, x.fn.LogGroup, c.stream, x.r); err != nil {
			return fmt.Errorf("function %s: %w", x.fn.Name, err)
		}
	}
	r := g.rng(3, 0)
	if err := g.control(g.start + 1000); err != nil {
		return err
	}
	for i := 0; i < 2; i++ {
		if err := g.control(g.start + r.Int64N(g.span)); err != nil {
			return err
		}
	}
	docs := g.builder.docs
	slices.SortFunc(docs, func(a, b pendingDoc) int {
		if c := cmp.Compare(a.Time, b.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.order, b.order)
	})
	g.w.docs = make([]Document, len(docs))
	for i := range docs {
		g.w.docs[i] = docs[i].Document
	}
	g.w.Stats = g.builder.stats
	g.builder = nil
	return nil
}
