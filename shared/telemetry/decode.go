package telemetry

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/klauspost/compress/gzip"
)

// Decoder turns SERVERLESS_TELEMETRY lines into payloads, re-joining chunked
// payloads per log stream. The zero value is ready to use; a Decoder is not safe
// for concurrent use. Call Flush at the end of each batch.
type Decoder struct {
	summaries bool // set by DecodeSummary for one call
	completed bool
	summary   Summary

	pending  map[string]*partial // stream + "\x00" + payload id
	rejected map[string]struct{} // payloads already rejected this batch: later chunks are dropped silently
	bytes    int                 // base64 bytes held by pending
	zr       *gzip.Reader
	br       bytes.Reader
	limit    io.LimitedReader
	raw      []byte
	js       bytes.Buffer
}

// Summary is what DecodeSummary reports of a payload.
type Summary struct {
	Spans   int
	Errors  int
	Sampled bool
	Bytes   int // decompressed JSON bytes
}

type partial struct {
	id    string
	count int
	got   int
	size  int
	parts [][]byte
}

// Decode takes one telemetry line of a log stream (starting with Prefix; trailing
// whitespace is ignored). It returns the payload once complete, (nil, nil) when the
// line was a chunk held until its siblings arrive, or an error that wraps
// ErrCorrupt, ErrTooLarge or ErrVersion. Neither argument is retained.
func (d *Decoder) Decode(stream, line []byte) (*Payload, error) {
	line = bytes.TrimRight(line, " \t\r\n")
	rest, ok := bytes.CutPrefix(line, []byte(Prefix))
	if !ok {
		return nil, fmt.Errorf("line does not start with %s: %w", Prefix, ErrCorrupt)
	}
	ver, rest, ok := bytes.Cut(rest, []byte{'.'})
	if !ok {
		return nil, fmt.Errorf("no version field: %w", ErrCorrupt)
	}
	v, ok := atoi(ver)
	if !ok {
		return nil, fmt.Errorf("version %.8q is not a number: %w", ver, ErrCorrupt)
	}
	if v != Version {
		return nil, fmt.Errorf("version %d: %w", v, ErrVersion)
	}
	switch bytes.Count(rest, []byte{'.'}) {
	case 0:
		return d.decodeBody(rest)
	case 3:
		return d.chunk(stream, rest)
	}
	return nil, fmt.Errorf("unexpected number of fields: %w", ErrCorrupt)
}

func (d *Decoder) chunk(stream, rest []byte) (*Payload, error) {
	f := bytes.SplitN(rest, []byte{'.'}, 4)
	id, data := f[0], f[3]
	if !validID(id) {
		return nil, fmt.Errorf("chunk payload id %.70q: %w", id, ErrCorrupt)
	}
	index, ok1 := atoi(f[1])
	count, ok2 := atoi(f[2])
	if !ok1 || !ok2 || count < 1 || index < 1 || index > count {
		return nil, fmt.Errorf("payload %s: chunk %.8q of %.8q: %w", id, f[1], f[2], ErrCorrupt)
	}
	if count > MaxChunks {
		return nil, fmt.Errorf("payload %s: %d chunks, limit %d: %w", id, count, MaxChunks, ErrTooLarge)
	}
	key := string(stream) + "\x00" + string(id)
	if _, ok := d.rejected[key]; ok {
		return nil, nil
	}
	p := d.pending[key]
	if p == nil {
		if len(d.pending) >= MaxPending {
			return nil, fmt.Errorf("payload %s: %d payloads already pending: %w", id, len(d.pending), ErrTooLarge)
		}
		if d.pending == nil {
			d.pending = make(map[string]*partial)
		}
		p = &partial{id: string(id), count: count, parts: make([][]byte, count)}
		d.pending[key] = p
	}
	switch {
	case p.count != count:
		return nil, d.reject(key, fmt.Errorf("payload %s: chunk says %d chunks, earlier ones %d: %w", id, count, p.count, ErrCorrupt))
	case p.parts[index-1] != nil:
		return nil, d.reject(key, fmt.Errorf("payload %s: chunk %d duplicated: %w", id, index, ErrCorrupt))
	case len(data) == 0:
		return nil, d.reject(key, fmt.Errorf("payload %s: chunk %d is empty: %w", id, index, ErrCorrupt))
	case p.size+len(data) > MaxEncodedBytes || d.bytes+len(data) > MaxEncodedBytes*2:
		return nil, d.reject(key, fmt.Errorf("payload %s: more than %d encoded bytes: %w", id, MaxEncodedBytes, ErrTooLarge))
	}
	p.parts[index-1] = bytes.Clone(data)
	p.size += len(data)
	d.bytes += len(data)
	p.got++
	if p.got < p.count {
		return nil, nil
	}
	delete(d.pending, key)
	d.bytes -= p.size
	whole := make([]byte, 0, p.size)
	for _, part := range p.parts {
		whole = append(whole, part...)
	}
	pl, err := d.decodeBody(whole)
	if err != nil {
		return nil, fmt.Errorf("payload %s: %w", id, err)
	}
	return pl, nil
}

// reject drops a pending payload and remembers it so that its remaining chunks
// are not reported a second time as incomplete.
func (d *Decoder) reject(key string, err error) error {
	if p := d.pending[key]; p != nil {
		d.bytes -= p.size
		delete(d.pending, key)
	}
	if d.rejected == nil {
		d.rejected = make(map[string]struct{})
	}
	d.rejected[key] = struct{}{}
	return err
}

func (d *Decoder) decodeBody(b64 []byte) (*Payload, error) {
	if len(b64) == 0 {
		return nil, fmt.Errorf("empty body: %w", ErrCorrupt)
	}
	if len(b64) > MaxEncodedBytes {
		return nil, fmt.Errorf("%d encoded bytes, limit %d: %w", len(b64), MaxEncodedBytes, ErrTooLarge)
	}
	n := base64.StdEncoding.DecodedLen(len(b64))
	if cap(d.raw) < n {
		d.raw = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(d.raw[:n], b64)
	if err != nil {
		return nil, fmt.Errorf("base64: %v: %w", err, ErrCorrupt)
	}
	raw := d.raw[:n]
	d.br.Reset(raw)
	if d.zr == nil {
		d.zr, err = gzip.NewReader(&d.br)
	} else {
		err = d.zr.Reset(&d.br)
	}
	if err != nil {
		return nil, fmt.Errorf("gzip: %v: %w", err, ErrCorrupt)
	}
	d.zr.Multistream(false)
	d.js.Reset()
	d.limit = io.LimitedReader{R: d.zr, N: MaxPayloadBytes + 1}
	m, err := d.js.ReadFrom(&d.limit)
	if err != nil {
		return nil, fmt.Errorf("gzip: %v: %w", err, ErrCorrupt)
	}
	if m > MaxPayloadBytes {
		return nil, fmt.Errorf("more than %d bytes decompressed: %w", MaxPayloadBytes, ErrTooLarge)
	}
	if d.summaries {
		return nil, d.summarise()
	}
	p := new(Payload)
	if err := json.Unmarshal(d.js.Bytes(), p); err != nil {
		return nil, fmt.Errorf("json: %v: %w", err, ErrCorrupt)
	}
	if err := p.validate(); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("%v: %w", err, ErrCorrupt)
	}
	if d.js.Cap() > 1<<20 {
		d.js = bytes.Buffer{} // don't pin a huge buffer between payloads
	}
	return p, nil
}

// Flush ends a batch: each payload still missing chunks is reported to report as
// an error wrapping ErrIncomplete (in a stable order) and all state is dropped.
func (d *Decoder) Flush(report func(err error)) {
	keys := make([]string, 0, len(d.pending))
	for k := range d.pending {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := d.pending[k]
		if report != nil {
			report(fmt.Errorf("payload %s: %d of %d chunks: %w", p.id, p.got, p.count, ErrIncomplete))
		}
	}
	clear(d.pending)
	clear(d.rejected)
	d.bytes = 0
}

func validID(id []byte) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// atoi parses a small non-negative decimal (at most 6 digits, no sign).
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 6 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// summarise checks the decompressed JSON of a payload and records its Summary.
func (d *Decoder) summarise() error {
	f, err := scanSummary(d.js.Bytes())
	switch {
	case err != nil:
		return fmt.Errorf("json: %v: %w", err, ErrCorrupt)
	case !f.object || !f.traceID:
		return fmt.Errorf("payload is not an object with a trace id: %w", ErrCorrupt)
	case f.spans > MaxSpans:
		return fmt.Errorf("%d spans, limit %d: %w", f.spans, MaxSpans, ErrTooLarge)
	}
	d.summary = Summary{Spans: f.spans, Errors: f.errors, Sampled: f.sampled, Bytes: d.js.Len()}
	d.completed = true
	return nil
}

// DecodeSummary is Decode for a caller that only needs to count payloads (ingest):
// the base64, the gzip stream and its checksum and the JSON are all verified, but
// spans and tags are counted rather than copied, without allocating. complete is
// false while a chunk is held for the rest of its payload.
func (d *Decoder) DecodeSummary(stream, line []byte) (s Summary, complete bool, err error) {
	d.summaries, d.completed = true, false
	defer func() { d.summaries = false }()
	if _, err := d.Decode(stream, line); err != nil {
		return Summary{}, false, err
	}
	return d.summary, d.completed, nil
}
