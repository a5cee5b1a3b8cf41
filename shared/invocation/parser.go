package invocation

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/sightline/sightline/shared/telemetry"
)

// Sink receives what a Parser finds. The Invocation passed to Invocation and its
// RequestID are valid only during the call (Invocation.Error may be retained).
type Sink interface {
	Invocation(inv *Invocation)
	Telemetry(p *telemetry.Payload)
	// BadLine reports a counted, typed problem: an error wrapping ErrMalformed,
	// or one of telemetry's ErrCorrupt / ErrIncomplete / ErrTooLarge / ErrVersion.
	BadLine(err error)
}

// SummarySink is a Sink that only counts telemetry payloads: when the Parser's
// sink implements it, payloads are verified and summarised (telemetry's
// DecodeSummary) instead of decoded into a Payload, which costs far less.
type SummarySink interface {
	Sink
	TelemetrySummary(s telemetry.Summary)
}

// ErrMalformed: a platform line (REPORT, INIT_REPORT, platform.*) whose fields
// cannot be read. The line is counted and skipped, or emitted with what was read.
var ErrMalformed = errors.New("invocation: malformed platform line")

// Parser joins the log lines of Lambda invocations into Invocations. Feed it with
// Stream (when the log stream changes), Line (each log event, in order) and Flush
// (end of each batch); it is reused across batches and is not safe for concurrent
// use. START / END / REPORT lines, platform events and ordinary application lines
// are parsed without allocating; failures and telemetry payloads allocate.
type Parser struct {
	sink    Sink
	streams []*stream
	index   map[string]int
	cur     *stream
	pending map[string]*acc // failure signals by request id, until its report
	tel     telemetry.Decoder
	inv     Invocation
	buf     []byte // JSON string scratch
	buf2    []byte
}

// NewParser returns a Parser reporting to s.
func NewParser(s Sink) *Parser {
	return &Parser{sink: s, index: make(map[string]int), pending: make(map[string]*acc)}
}

// stream is the state of one log stream (one execution environment: one
// invocation at a time, so line order joins lines that carry no request id).
type stream struct {
	name          []byte
	reqID         []byte // the running invocation (after its START), if running
	running       bool
	pre           acc  // id-less signals while no invocation is known to run
	preUsed       bool //
	sawInitReport bool // the stream's format has INIT_REPORT lines (see acc.weak)
	last          []byte
}

func (s *stream) reset(name []byte) {
	s.name = append(s.name[:0], name...)
	s.reqID = s.reqID[:0]
	s.last = s.last[:0]
	s.running, s.preUsed, s.sawInitReport = false, false, false
	s.pre = acc{}
}

type sigFlag uint8

const (
	fError sigFlag = 1 << iota
	fTimeout
	fOOM
)

// acc accumulates the failure signals of one invocation.
type acc struct {
	// strong signals fail the invocation. weak ones were logged before its START
	// (the init phase): they fail it only in formats without INIT_REPORT lines,
	// where a failed init shows no other sign; with INIT_REPORT, only a failed
	// "Phase: invoke" init (strong) does, since a failed "Phase: init" is retried.
	strong, weak sigFlag
	err          *Error // best identified error (highest rank, first on ties)
	rank         uint8
	oomErr       *Error // the error of the out-of-memory signal, if it named one
	time         int64
	reqID        string
}

// signal is one failure signal found in a line.
type signal struct {
	flags sigFlag
	err   *Error
	rank  uint8 // 3: runtime error document / trace; 2: platform error type; 1: generic exit; 0: none
	// binding: fails the next invocation even when logged before its START
	// (INIT_REPORT Phase: invoke).
	binding bool
}

const (
	rankGeneric  = 1
	rankPlatform = 2
	rankDocument = 3
)

func (a *acc) add(sg signal, ts int64, strong bool) {
	if strong {
		a.strong |= sg.flags
	} else {
		a.weak |= sg.flags
	}
	a.time = ts
	a.addErr(sg.err, sg.rank, sg.flags&fOOM != 0)
}

func (a *acc) addErr(e *Error, rank uint8, oom bool) {
	if e == nil {
		return
	}
	if oom || isMemoryType(e.Type) {
		if a.oomErr == nil || (isMemoryType(e.Type) && !isMemoryType(a.oomErr.Type)) {
			a.oomErr = e
		}
		if oom {
			return
		}
	}
	if a.err == nil || rank > a.rank {
		a.err, a.rank = e, rank
	}
}

// merge folds b (signals logged before the START, or after a START of an earlier
// batch) into a.
func (a *acc) merge(b *acc, bindWeak bool) {
	a.strong |= b.strong
	if bindWeak {
		a.strong |= b.weak | b.strong
	} else {
		a.weak |= b.weak
	}
	if b.time > a.time {
		a.time = b.time
	}
	if b.oomErr != nil {
		a.addErr(b.oomErr, 0, true)
	}
	a.addErr(b.err, b.rank, false)
}

// Stream sets the log stream the following lines belong to.
func (p *Parser) Stream(logStream []byte) {
	if p.cur != nil && bytes.Equal(p.cur.name, logStream) {
		return
	}
	// The first stream of a batch is found without the index, so the common case —
	// one stream per document — never allocates an index key.
	if len(p.streams) > 0 && bytes.Equal(p.streams[0].name, logStream) {
		p.cur = p.streams[0]
		return
	}
	if i, ok := p.index[string(logStream)]; ok {
		p.cur = p.streams[i]
		return
	}
	n := len(p.streams)
	if n < cap(p.streams) && p.streams[:n+1][n] != nil {
		p.streams = p.streams[:n+1]
	} else {
		p.streams = append(p.streams, new(stream))
	}
	s := p.streams[n]
	s.reset(logStream)
	if n > 0 {
		p.index[string(logStream)] = n
	}
	p.cur = s
}

// Line parses one log event: its timestamp (ms since the epoch) and its
// unescaped message, which may hold several physical lines.
func (p *Parser) Line(timestamp int64, message []byte) {
	if p.cur == nil {
		p.Stream(nil)
	}
	m := message[skipWS(message, 0):]
	if len(m) == 0 {
		return
	}
	switch m[0] {
	case 'S':
		if bytes.HasPrefix(m, []byte("START RequestId: ")) {
			p.start(token(m[len("START RequestId: "):]))
			return
		}
	case 'E':
		if bytes.HasPrefix(m, []byte("END RequestId: ")) || bytes.HasPrefix(m, []byte("EXTENSION")) {
			return
		}
	case 'R':
		if bytes.HasPrefix(m, []byte("REPORT ")) {
			p.reportLine(timestamp, m[len("REPORT "):])
			return
		}
		if bytes.HasPrefix(m, []byte("RESTORE_REPORT ")) {
			p.initReportLine(timestamp, m[len("RESTORE_REPORT "):])
			return
		}
		if bytes.HasPrefix(m, []byte("RESTORE_START")) {
			return
		}
	case 'I':
		if bytes.HasPrefix(m, []byte("INIT_REPORT ")) {
			p.initReportLine(timestamp, m[len("INIT_REPORT "):])
			return
		}
		if bytes.HasPrefix(m, []byte("INIT_START")) {
			return
		}
	case 'X':
		if bytes.HasPrefix(m, []byte("XRAY TraceId")) {
			return
		}
	case '{':
		if p.jsonLine(timestamp, m) {
			return
		}
	}
	p.text(timestamp, m)
}

// Flush ends a batch: failures whose report did not arrive are emitted as orphan
// Invocations (Reported false), incomplete telemetry payloads are reported, and
// all state is dropped.
func (p *Parser) Flush() {
	var orphans []*acc
	for id, a := range p.pending {
		if a.strong != 0 {
			a.reqID = id
			orphans = append(orphans, a)
		}
	}
	for _, s := range p.streams {
		if !s.preUsed {
			continue
		}
		bind := s.pre.strong
		if !s.sawInitReport {
			bind |= s.pre.weak
		}
		if bind != 0 {
			a := s.pre
			a.strong, a.reqID = bind, ""
			orphans = append(orphans, &a)
		}
	}
	sort.Slice(orphans, func(i, j int) bool {
		if orphans[i].time != orphans[j].time {
			return orphans[i].time < orphans[j].time
		}
		return orphans[i].reqID < orphans[j].reqID
	})
	for _, a := range orphans {
		inv := &p.inv
		*inv = Invocation{Time: a.time, Status: statusOf(a.strong)}
		if a.reqID != "" {
			inv.RequestID = []byte(a.reqID)
		}
		inv.Error = a.errorFor(inv.Status, a.reqID)
		p.sink.Invocation(inv)
	}
	p.tel.Flush(p.sink.BadLine)
	clear(p.pending)
	clear(p.index)
	for _, s := range p.streams {
		s.reset(nil)
	}
	p.streams = p.streams[:0]
	p.cur = nil
	p.inv = Invocation{}
}

func statusOf(f sigFlag) Status {
	switch {
	case f&fOOM != 0:
		return StatusOutOfMemory
	case f&fTimeout != 0:
		return StatusTimeout
	case f&fError != 0:
		return StatusError
	}
	return StatusSuccess
}

// errorFor picks the Error reported for an invocation that ended with st.
func (a *acc) errorFor(st Status, reqID string) *Error {
	var e *Error
	switch st {
	case StatusSuccess:
		return nil
	case StatusOutOfMemory:
		e = a.oomErr
		if e == nil {
			e = newError(typeOutOfMemory, "", "")
		}
	default:
		e = a.err
	}
	if e != nil && e.RequestID == "" {
		e.RequestID = reqID
	}
	return e
}

// route files a signal under its request id, the running invocation of the
// stream, or the stream's pre-START signals.
func (p *Parser) route(ts int64, reqID []byte, sg signal) {
	s := p.cur
	if len(reqID) > 0 && !bytes.Equal(reqID, []byte("undefined")) {
		if bytes.Equal(reqID, s.last) {
			return // a late line of an invocation already reported
		}
		p.accFor(reqID).add(sg, ts, true)
		return
	}
	if s.running {
		p.accFor(s.reqID).add(sg, ts, true)
		return
	}
	s.preUsed = true
	s.pre.add(sg, ts, sg.binding)
}

func (p *Parser) accFor(reqID []byte) *acc {
	if a := p.pending[string(reqID)]; a != nil {
		return a
	}
	a := new(acc)
	p.pending[string(reqID)] = a
	return a
}

func (p *Parser) start(reqID []byte) {
	s := p.cur
	s.running = true
	s.reqID = append(s.reqID[:0], reqID...)
	if s.preUsed {
		p.accFor(reqID).merge(&s.pre, !s.sawInitReport)
		s.pre, s.preUsed = acc{}, false
	}
}

// platform status words.
const (
	stNone uint8 = iota
	stSuccess
	stError
	stTimeout
)

func statusWord(b []byte) uint8 {
	switch string(b) {
	case "":
		return stNone
	case "success", "Success", "SUCCESS":
		return stSuccess
	case "timeout", "Timeout", "TIMEOUT":
		return stTimeout
	}
	return stError // error, failure, and anything else that is not success
}

// report is what a REPORT line or platform.report says.
type report struct {
	reqID                          []byte
	dur, billed                    float64
	initDur, restore, billedRestor float64
	mem, maxMem                    int32
	status, errType, phase         []byte
	hasDur                         bool
	bad                            []byte // the first field whose value did not parse
}

func (p *Parser) reportLine(ts int64, b []byte) {
	var r report
	parseFields(b, &r)
	if len(r.reqID) == 0 && !r.hasDur {
		p.sink.BadLine(fmt.Errorf("REPORT without RequestId or Duration: %w", ErrMalformed))
		return
	}
	if r.bad != nil {
		p.sink.BadLine(fmt.Errorf("REPORT field %.40q: %w", r.bad, ErrMalformed))
	}
	p.emitReport(ts, &r)
}

func (p *Parser) emitReport(ts int64, r *report) {
	s := p.cur
	id := r.reqID
	if len(id) == 0 && s.running {
		id = s.reqID
	}
	var a acc
	if pa := p.pending[string(id)]; pa != nil && len(id) > 0 {
		a = *pa
		delete(p.pending, string(id))
	}
	if s.preUsed && (!s.running || !bytes.Equal(id, s.reqID)) {
		// Id-less signals logged since the last report with no START seen in this
		// batch: the START was in an earlier batch, so they are this invocation's.
		a.merge(&s.pre, true)
		s.pre, s.preUsed = acc{}, false
	}

	flags := a.strong
	st := statusWord(r.status)
	if len(r.errType) > 0 {
		e := newError(string(r.errType), "", "")
		rank := uint8(rankPlatform)
		if isGenericType(e.Type) {
			rank = rankGeneric
		}
		oom := string(r.errType) == typeOutOfMemory
		if oom {
			flags |= fOOM
		}
		if st != stSuccess {
			a.addErr(e, rank, oom)
		}
	}
	if r.maxMem > 0 && r.mem > 0 && r.maxMem >= r.mem {
		flags |= fOOM
	}
	var status Status
	switch st {
	case stSuccess:
		status = StatusSuccess
	case stTimeout:
		status = StatusTimeout
		if flags&fOOM != 0 {
			status = StatusOutOfMemory
		}
	case stError:
		status = StatusError
		if flags&fOOM != 0 {
			status = StatusOutOfMemory
		}
	default:
		status = statusOf(flags)
	}

	inv := &p.inv
	*inv = Invocation{
		RequestID:               id,
		Time:                    ts,
		Reported:                true,
		Status:                  status,
		DurationMs:              r.dur,
		BilledDurationMs:        r.billed,
		MemorySizeMB:            r.mem,
		MaxMemoryUsedMB:         r.maxMem,
		InitDurationMs:          r.initDur,
		RestoreDurationMs:       r.restore,
		BilledRestoreDurationMs: r.billedRestor,
	}
	if status.Failed() {
		inv.Error = a.errorFor(status, string(id))
	}
	p.sink.Invocation(inv)
	s.last = append(s.last[:0], id...)
	s.running = false
}

func (p *Parser) initReportLine(ts int64, b []byte) {
	var r report
	parseFields(b, &r)
	if r.bad != nil {
		p.sink.BadLine(fmt.Errorf("INIT_REPORT field %.40q: %w", r.bad, ErrMalformed))
	}
	p.initReport(ts, &r)
}

// initReport handles INIT_REPORT / RESTORE_REPORT / platform.initReport.
func (p *Parser) initReport(ts int64, r *report) {
	p.cur.sawInitReport = true
	st := statusWord(r.status)
	if st == stNone || st == stSuccess {
		return
	}
	sg := signal{flags: fError, binding: string(r.phase) == "invoke"}
	if st == stTimeout {
		sg.flags = fTimeout
	}
	if len(r.errType) > 0 {
		sg.err = newError(string(r.errType), "", "")
		sg.rank = rankPlatform
		if isGenericType(sg.err.Type) {
			sg.rank = rankGeneric
		}
		if sg.err.Type == typeOutOfMemory {
			sg.flags |= fOOM
		}
	}
	p.route(ts, nil, sg)
}

// parseFields reads "Key: value" fields separated by tabs, spaces or newlines
// (every REPORT / INIT_REPORT variant; unknown keys such as XRAY TraceId are
// skipped). Numeric values may be followed by a unit (ms, MB).
func parseFields(b []byte, r *report) {
	i := 0
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return
		}
		c := bytes.IndexByte(b[i:], ':')
		if c < 0 {
			return
		}
		key := b[i : i+c]
		i = skipWS(b, i+c+1)
		e := i
		for e < len(b) && !isSpace(b[e]) {
			e++
		}
		val := b[i:e]
		i = e
		switch k := fieldKey(key); k {
		case kRequestID:
			r.reqID = val
		case kStatus:
			r.status = val
		case kErrorType:
			r.errType = val
		case kPhase:
			r.phase = val
		case kUnknown:
		default:
			f, ok := number(val)
			if !ok || f < 0 || f > 1e12 {
				if r.bad == nil {
					r.bad = key
				}
				continue
			}
			switch k {
			case kDuration:
				r.dur, r.hasDur = f, true
			case kBilledDuration:
				r.billed = f
			case kMemorySize:
				r.mem = int32(f)
			case kMaxMemoryUsed:
				r.maxMem = int32(f)
			case kInitDuration:
				r.initDur = f
			case kRestoreDuration:
				r.restore = f
			case kBilledRestoreDuration:
				r.billedRestor = f
			}
			// Skip the unit.
			j := skipWS(b, i)
			if j+2 <= len(b) && (string(b[j:j+2]) == "ms" || string(b[j:j+2]) == "MB") && (j+2 == len(b) || isSpace(b[j+2])) {
				i = j + 2
			}
		}
	}
}

type fieldKind uint8

const (
	kUnknown fieldKind = iota
	kRequestID
	kDuration
	kBilledDuration
	kMemorySize
	kMaxMemoryUsed
	kInitDuration
	kRestoreDuration
	kBilledRestoreDuration
	kStatus
	kErrorType
	kPhase
)

func keyKind(k []byte) fieldKind {
	switch string(k) {
	case "RequestId":
		return kRequestID
	case "Duration":
		return kDuration
	case "Billed Duration":
		return kBilledDuration
	case "Memory Size":
		return kMemorySize
	case "Max Memory Used":
		return kMaxMemoryUsed
	case "Init Duration":
		return kInitDuration
	case "Restore Duration":
		return kRestoreDuration
	case "Billed Restore Duration":
		return kBilledRestoreDuration
	case "Status":
		return kStatus
	case "Error Type":
		return kErrorType
	case "Phase":
		return kPhase
	}
	return kUnknown
}

// fieldKey names a field key; when a previous value ran over several words, the
// key is the known suffix of the text before the colon.
func fieldKey(k []byte) fieldKind {
	if kind := keyKind(k); kind != kUnknown {
		return kind
	}
	for i := 0; i < len(k); i++ {
		if isSpace(k[i]) {
			if kind := keyKind(k[skipWS(k, i):]); kind != kUnknown {
				return kind
			}
		}
	}
	return kUnknown
}

// token returns b up to the first whitespace.
func token(b []byte) []byte {
	for i, c := range b {
		if isSpace(c) {
			return b[:i]
		}
	}
	return b
}
