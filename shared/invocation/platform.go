package invocation

import (
	"bytes"
	"fmt"

	"github.com/sightline/sightline/shared/telemetry"
)

// jsonLine handles a message that starts with '{': a platform event of the JSON
// log format, an application's JSON log line, or a bare error document. It
// returns false when the message is not a JSON object, for the text path.
func (p *Parser) jsonLine(ts int64, m []byte) bool {
	o, _ := openObject(m)
	var typ, rec, level, message, reqID, errType, errMsg, stack []byte
	hasTime, hasMessage := false, false
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		case "type":
			typ = v
		case "record":
			rec = v
		case "time":
			hasTime = true
		case "level", "log_level", "levelname":
			level = v
		case "message", "msg":
			message, hasMessage = v, true
		case "requestId", "AWSRequestId", "awsRequestId", "request_id", "aws_request_id":
			reqID = v
		case "errorType":
			errType = v
		case "errorMessage":
			errMsg = v
		case "stackTrace", "stack", "trace":
			if stack == nil {
				stack = v
			}
		}
	}
	if o.bad && typ == nil && errType == nil && errMsg == nil && message == nil {
		return false
	}
	if t := str(typ, &p.buf); hasTime && rec != nil && bytes.HasPrefix(t, []byte("platform.")) {
		p.platform(ts, t, rec)
		return true
	}

	id := str(reqID, &p.buf2)
	if hasMessage {
		if inner, ok := openObject(message); ok {
			// Node.js JSON format logs an unhandled error as console.error(err):
			// {"level":"ERROR","message":{"errorType":...}}; an application's
			// console.error(err) looks the same, so it only names the error of an
			// invocation whose report says it failed (no failure sigFlag).
			var it, im, is []byte
			for k, v, ok := inner.next(); ok; k, v, ok = inner.next() {
				switch string(k) {
				case "errorType":
					it = v
				case "errorMessage":
					im = v
				case "stackTrace", "stack", "trace":
					is = v
				}
			}
			if it != nil && isErrorLevel(str(level, &p.buf)) {
				p.route(ts, id, signal{err: p.docError(it, im, is), rank: rankDocument})
			}
			return true
		}
		msg := str(message, &p.buf)
		if bytes.HasPrefix(msg, []byte(telemetry.Prefix)) {
			p.telemetryLine(msg)
			return true
		}
		if hasRuntimeErrorPrefix(msg) {
			// Older Node.js JSON format: "message":"Invoke Error \t{...}".
			var e *Error
			if errType != nil || errMsg != nil {
				e = p.docError(errType, errMsg, stack)
			} else if i := bytes.IndexByte(msg, '{'); i >= 0 {
				e = p.embeddedDoc(msg[i:])
			}
			if e != nil {
				p.errorSignal(ts, id, e, rankDocument)
			}
		} else if (errType != nil || errMsg != nil) && isErrorLevel(str(level, &p.buf)) {
			// .NET and Python JSON formats log an unhandled error as a message with
			// top-level errorType/errorMessage/stackTrace; a structured logger can
			// write the same for a handled error, so like the Node.js case above it
			// only names the error of an invocation whose report says it failed.
			p.route(ts, id, signal{err: p.docError(errType, errMsg, stack), rank: rankDocument})
		}
		return true // an application log line, whatever its level
	}
	if (errType != nil || errMsg != nil) && isErrorLevel(str(level, &p.buf)) {
		// A runtime's error document: bare (Java, .NET, Ruby) or with a
		// timestamp/level/requestId (Python JSON format).
		p.errorSignal(ts, id, p.docError(errType, errMsg, stack), rankDocument)
	}
	return true
}

// isErrorLevel accepts a missing level or an error level.
func isErrorLevel(l []byte) bool {
	switch string(l) {
	case "", "ERROR", "error", "Error", "FATAL", "fatal", "CRITICAL", "critical":
		return true
	}
	return false
}

// errorSignal routes an identified error, as a memory failure when its type says so.
func (p *Parser) errorSignal(ts int64, reqID []byte, e *Error, rank uint8) {
	sg := signal{flags: fError, err: e, rank: rank}
	if isMemoryType(e.Type) {
		sg.flags = fOOM
	}
	p.route(ts, reqID, sg)
}

// platform handles one event of the JSON log format.
func (p *Parser) platform(ts int64, typ, rec []byte) {
	switch string(typ) {
	case "platform.start", "platform.runtimeDone", "platform.report",
		"platform.initReport", "platform.restoreReport", "platform.fault":
	default:
		return // initStart, initRuntimeDone, extension, logsDropped, telemetrySubscription ...
	}
	if string(typ) == "platform.fault" {
		// "record": "RequestId: ... Process exited before completing request"
		if s := str(rec, &p.buf2); s != nil {
			p.text(ts, s)
		}
		return
	}
	o, ok := openObject(rec)
	if !ok {
		p.sink.BadLine(fmt.Errorf("%s: record is not an object: %w", typ, ErrMalformed))
		return
	}
	var r report
	var metrics []byte
	for k, v, ok := o.next(); ok; k, v, ok = o.next() {
		switch string(k) {
		case "requestId":
			r.reqID = str(v, &p.buf2)
		case "status":
			r.status = str(v, &p.buf)
		case "errorType":
			r.errType = v // decoded below: buf is shared
		case "phase":
			r.phase = v
		case "metrics":
			metrics = v
		}
	}
	if isString(r.errType) {
		r.errType = r.errType[1 : len(r.errType)-1] // error types carry no escapes
	} else {
		r.errType = nil
	}
	if isString(r.phase) {
		r.phase = r.phase[1 : len(r.phase)-1]
	} else {
		r.phase = nil
	}
	if mo, ok := openObject(metrics); ok {
		for k, v, ok := mo.next(); ok; k, v, ok = mo.next() {
			var dst *float64
			var dst32 *int32
			switch string(k) {
			case "durationMs":
				dst = &r.dur
				r.hasDur = true
			case "billedDurationMs":
				dst = &r.billed
			case "initDurationMs":
				dst = &r.initDur
			case "restoreDurationMs":
				dst = &r.restore
			case "billedRestoreDurationMs":
				dst = &r.billedRestor
			case "memorySizeMB":
				dst32 = &r.mem
			case "maxMemoryUsedMB":
				dst32 = &r.maxMem
			default:
				continue
			}
			f, ok := number(v)
			if !ok || f < 0 || f > 1e12 {
				if r.bad == nil {
					r.bad = k
				}
				continue
			}
			if dst != nil {
				*dst = f
			} else {
				*dst32 = int32(f)
			}
		}
	}
	if r.bad != nil {
		p.sink.BadLine(fmt.Errorf("%s metric %.40q: %w", typ, r.bad, ErrMalformed))
	}

	switch string(typ) {
	case "platform.start":
		if len(r.reqID) > 0 {
			p.start(r.reqID)
		}
	case "platform.runtimeDone":
		st := statusWord(r.status)
		if st == stNone || st == stSuccess {
			return
		}
		sg := signal{flags: fError}
		if st == stTimeout {
			sg.flags = fTimeout
		}
		if len(r.errType) > 0 {
			sg.err, sg.rank = newError(string(r.errType), "", ""), rankPlatform
			if isGenericType(sg.err.Type) {
				sg.rank = rankGeneric
			}
			if sg.err.Type == typeOutOfMemory {
				sg.flags |= fOOM
			}
		}
		p.route(ts, r.reqID, sg)
	case "platform.report":
		if len(r.reqID) == 0 && !r.hasDur {
			p.sink.BadLine(fmt.Errorf("platform.report without requestId or metrics: %w", ErrMalformed))
			return
		}
		p.emitReport(ts, &r)
	default: // initReport, restoreReport
		p.initReport(ts, &r)
	}
}
