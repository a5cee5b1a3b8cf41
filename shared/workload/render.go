package workload

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"
)

// stream collects one log stream's events: messages in one arena.
type stream struct {
	msgs []byte
	evs  []event
}

type event struct {
	ts       int64
	off, end int32
}

func (s *stream) reset() {
	s.msgs = s.msgs[:0]
	s.evs = s.evs[:0]
}

// emit appends one event whose message is msgs[off:].
func (s *stream) emit(ts int64, off int) {
	s.evs = append(s.evs, event{ts: ts, off: int32(off), end: int32(len(s.msgs))})
}

func (s *stream) text(ts int64, parts ...string) {
	off := len(s.msgs)
	for _, p := range parts {
		s.msgs = append(s.msgs, p...)
	}
	s.emit(ts, off)
}

// Time layouts of the runtimes' log lines.
const (
	layoutISO    = "2006-01-02T15:04:05.000Z"
	layoutGoLog  = "2006/01/02 15:04:05"
	layoutJava   = "2006-01-02 15:04:05"
	layoutRuby   = "2006-01-02T15:04:05.000000"
	layoutStream = "2006/01/02"
)

func appendTime(dst []byte, ms int64, layout string) []byte {
	return time.UnixMilli(ms).UTC().AppendFormat(dst, layout)
}

// appendMs2 appends microseconds as milliseconds with two decimals: 45.23.
func appendMs2(dst []byte, us int64) []byte {
	dst = strconv.AppendInt(dst, us/1000, 10)
	f := (us % 1000) / 10
	dst = append(dst, '.', byte('0'+f/10), byte('0'+f%10))
	return dst
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendJSONString[T string | []byte](dst []byte, s T) []byte {
	const hexd = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			var buf [utf8.UTFMax]byte
			n := copy(buf[:], s[i:min(i+utf8.UTFMax, len(s))])
			r, size := utf8.DecodeRune(buf[:n])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func runtimeARN(region, version string) string {
	h := sha256.Sum256([]byte(version))
	return "arn:aws:lambda:" + region + "::runtime:" + hex.EncodeToString(h[:])
}

// renderer writes one function's invocations in its runtime's log format.
type renderer struct {
	g   *generator
	fi  int
	a   *archetype
	fn  Function
	r   *rand.Rand
	arn string
	s   *stream
	tmp []byte
}

// appLines are what the functions log while they work.
var appLines = [...]string{
	"received %d records",
	"fetched item %d from cache",
	"downstream call took %d ms",
	"processed batch %d",
}

func (x *renderer) appMessage() string {
	t := appLines[x.r.IntN(len(appLines))]
	n := strconv.Itoa(1 + x.r.IntN(500))
	for i := 0; i+1 < len(t); i++ {
		if t[i] == '%' && t[i+1] == 'd' {
			return t[:i] + n + t[i+2:]
		}
	}
	return t
}

func (x *renderer) invocation(inv *Invocation) {
	a := x.a
	end := inv.End()
	if inv.InitUs > 0 {
		x.initStart(inv.Start - (inv.InitUs+999)/1000)
	}
	x.start(inv)
	nApp := 1 + x.r.IntN(3)
	span := max(end-inv.Start, 1)
	for i := 0; i < nApp; i++ {
		x.appLine(inv, inv.Start+span*int64(i+1)/int64(nApp+2), x.appMessage())
	}
	switch inv.Status {
	case StatusError:
		x.failure(inv, end)
	case StatusOutOfMemory:
		x.oom(inv, end)
	case StatusTimeout:
		if !a.json {
			x.tmp = appendTime(x.tmp[:0], end, layoutISO)
			x.tmp = append(x.tmp, ' ')
			x.tmp = append(x.tmp, inv.RequestID...)
			x.tmp = append(x.tmp, " Task timed out after "...)
			x.tmp = appendMs2(x.tmp, inv.DurationUs/1000) // seconds, two decimals
			x.s.text(end, string(x.tmp), " seconds\n")
		}
	}
	if a.telemetry && x.g.cfg.Telemetry != nil {
		tr := Trace{
			Account: x.fn.Account, Region: x.fn.Region, Function: x.fn.Name, Runtime: x.fn.Runtime,
			RequestID: inv.RequestID, TraceID: inv.traceID,
			Start: time.UnixMilli(inv.Start).UTC(), Duration: time.Duration(inv.DurationUs) * time.Microsecond,
			ColdStart: inv.InitUs > 0, Status: inv.Status,
		}
		if inv.fail != nil {
			tr.ErrorType, tr.ErrorMessage = inv.fail.typ, inv.fail.msg
		}
		for _, line := range x.g.cfg.Telemetry(tr) {
			x.s.text(end, line)
			inv.telem++
		}
	}
	x.report(inv, end)
}

func (x *renderer) initStart(ts int64) {
	if x.a.json {
		b := append(x.tmp[:0], `{"time":"`...)
		b = appendTime(b, ts, layoutISO)
		b = append(b, `","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"`...)
		b = append(b, x.a.runtimeV...)
		b = append(b, `","runtimeVersionArn":"`...)
		b = append(b, x.arn...)
		b = append(b, `","functionName":"`...)
		b = append(b, x.fn.Name...)
		b = append(b, `","functionVersion":"$LATEST"}}`...)
		x.tmp = b
		x.s.text(ts, string(b))
		return
	}
	x.s.text(ts, "INIT_START Runtime Version: ", x.a.runtimeV, "\tRuntime Version ARN: ", x.arn, "\n")
}

func (x *renderer) start(inv *Invocation) {
	if x.a.json {
		b := append(x.tmp[:0], `{"time":"`...)
		b = appendTime(b, inv.Start, layoutISO)
		b = append(b, `","type":"platform.start","record":{"requestId":"`...)
		b = append(b, inv.RequestID...)
		b = append(b, `","version":"$LATEST"}}`...)
		x.tmp = b
		x.s.text(inv.Start, string(b))
		return
	}
	x.s.text(inv.Start, "START RequestId: ", inv.RequestID, " Version: $LATEST\n")
}

// appLine is one line the function's code logs, in its runtime's format.
func (x *renderer) appLine(inv *Invocation, ts int64, msg string) {
	s := x.s
	off := len(s.msgs)
	b := s.msgs
	if x.a.json {
		switch x.a.kind {
		case rtGo: // log/slog's JSON handler: "time" and "msg", no "type"
			b = append(b, `{"time":"`...)
			b = appendTime(b, ts, layoutISO)
			b = append(b, `","level":"INFO","msg":`...)
			b = appendJSONString(b, msg)
			b = append(b, `,"requestId":"`...)
			b = append(b, inv.RequestID...)
			b = append(b, `"}`...)
		default:
			b = append(b, `{"timestamp":"`...)
			b = appendTime(b, ts, layoutISO)
			b = append(b, `","level":"`...)
			if x.a.kind == rtDotnet {
				b = append(b, "Information"...)
			} else {
				b = append(b, "INFO"...)
			}
			b = append(b, `","requestId":"`...)
			b = append(b, inv.RequestID...)
			b = append(b, `","message":`...)
			b = appendJSONString(b, msg)
			if x.a.kind == rtPython {
				b = append(b, `,"logger":"root"`...)
			}
			b = append(b, '}')
		}
		s.msgs = b
		s.emit(ts, off)
		return
	}
	switch x.a.kind {
	case rtNode, rtDotnet:
		b = appendTime(b, ts, layoutISO)
		b = append(b, '\t')
		b = append(b, inv.RequestID...)
		if x.a.kind == rtNode {
			b = append(b, "\tINFO\t"...)
		} else {
			b = append(b, "\tinfo\t"...)
		}
	case rtPython:
		b = append(b, "[INFO]\t"...)
		b = appendTime(b, ts, layoutISO)
		b = append(b, '\t')
		b = append(b, inv.RequestID...)
		b = append(b, '\t')
	case rtJava:
		b = appendTime(b, ts, layoutJava)
		b = append(b, ' ')
		b = append(b, inv.RequestID...)
		b = append(b, " INFO  Handler - "...)
	case rtGo:
		b = appendTime(b, ts, layoutGoLog)
		b = append(b, ' ')
	case rtRuby:
		b = append(b, "I, ["...)
		b = appendTime(b, ts, layoutRuby)
		b = append(b, " #8]  INFO -- : "...)
	}
	b = append(b, msg...)
	b = append(b, '\n')
	s.msgs = b
	s.emit(ts, off)
}

// errorDoc appends a runtime's error document {"errorMessage","errorType",<trace>}.
func errorDoc(b []byte, f *failure, traceKey string, trace []string, indent bool) []byte {
	nl, in1, in2, sep := "", "", "", ":"
	if indent {
		nl, in1, in2, sep = "\n", "  ", "    ", ": "
	}
	b = append(b, '{')
	b = append(b, nl+in1+`"errorMessage"`+sep...)
	b = appendJSONString(b, f.msg)
	b = append(b, ","+nl+in1+`"errorType"`+sep...)
	b = appendJSONString(b, f.typ)
	if traceKey != "" {
		b = append(b, ","+nl+in1+`"`+traceKey+`"`+sep+"["...)
		for i, t := range trace {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, nl+in2...)
			b = appendJSONString(b, t)
		}
		b = append(b, nl+in1+"]"...)
	}
	return append(b, nl+"}"...)
}

// failure writes the unhandled error of an invocation with status error.
func (x *renderer) failure(inv *Invocation, end int64) {
	f, s := inv.fail, x.s
	ts := max(end-1, inv.Start)
	off := len(s.msgs)
	b := s.msgs
	nodeTrace := append([]string{f.typ + ": " + f.msg}, f.frames...)
	switch {
	case f.crash: // the runtime process died; Lambda reports it
		x.appLine(inv, ts, "fatal: upstream geo provider returned 502, aborting")
		s.text(end, "RequestId: ", inv.RequestID, " Error: ", f.msg, "\n", f.typ, "\n")
		return
	case x.a.kind == rtGo:
		b = appendTime(b, ts, layoutGoLog)
		b = append(b, ' ')
		b = append(b, `{"errorMessage":`...)
		b = appendJSONString(b, f.msg)
		b = append(b, `,"errorType":`...)
		b = appendJSONString(b, f.typ)
		if len(f.frames) > 0 {
			b = append(b, `,"stackTrace":[`...)
			for i, fr := range f.frames {
				path, line, label := splitGoFrame(fr)
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"path":`...)
				b = appendJSONString(b, path)
				b = append(b, `,"line":`...)
				b = append(b, line...)
				b = append(b, `,"label":`...)
				b = appendJSONString(b, label)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, "}\n"...)
	case x.a.json && x.a.kind == rtNode:
		b = append(b, `{"timestamp":"`...)
		b = appendTime(b, ts, layoutISO)
		b = append(b, `","level":"ERROR","requestId":"`...)
		b = append(b, inv.RequestID...)
		b = append(b, `","message":"Invoke Error","errorType":`...)
		b = appendJSONString(b, f.typ)
		b = append(b, `,"errorMessage":`...)
		b = appendJSONString(b, f.msg)
		b = append(b, `,"stackTrace":`...)
		b = appendStrings(b, nodeTrace)
		b = append(b, '}')
	case x.a.json && x.a.kind == rtPython:
		b = append(b, `{"timestamp":"`...)
		b = appendTime(b, ts, "2006-01-02T15:04:05Z")
		b = append(b, `","log_level":"ERROR","errorMessage":`...)
		b = appendJSONString(b, f.msg)
		b = append(b, `,"errorType":`...)
		b = appendJSONString(b, f.typ)
		b = append(b, `,"requestId":"`...)
		b = append(b, inv.RequestID...)
		b = append(b, `","stackTrace":[`...)
		for i, fr := range f.frames {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, fr+"\n")
		}
		b = append(b, "]}"...)
	case x.a.json && x.a.kind == rtJava:
		b = errorDoc(b, f, "stackTrace", f.frames, false)
	case x.a.json && x.a.kind == rtDotnet:
		b = append(b, `{"timestamp":"`...)
		b = appendTime(b, ts, layoutISO)
		b = append(b, `","level":"Error","requestId":"`...)
		b = append(b, inv.RequestID...)
		b = append(b, `","message":`...)
		b = appendJSONString(b, f.typ+": "+f.msg)
		b = append(b, `,"errorType":`...)
		b = appendJSONString(b, f.typ)
		b = append(b, `,"errorMessage":`...)
		b = appendJSONString(b, f.msg)
		b = append(b, `,"stackTrace":`...)
		b = appendStrings(b, f.frames)
		b = append(b, '}')
	case x.a.kind == rtNode:
		b = appendTime(b, ts, layoutISO)
		b = append(b, '\t')
		b = append(b, inv.RequestID...)
		b = append(b, "\tERROR\tInvoke Error \t"...)
		b = append(b, `{"errorType":`...)
		b = appendJSONString(b, f.typ)
		b = append(b, `,"errorMessage":`...)
		b = appendJSONString(b, f.msg)
		b = append(b, `,"stack":`...)
		b = appendStrings(b, nodeTrace)
		b = append(b, "}\n"...)
	case x.a.kind == rtPython:
		b = append(b, "[ERROR] "+f.typ+": "...)
		b = append(b, f.msg...)
		b = append(b, "\nTraceback (most recent call last):\n"...)
		for _, fr := range f.frames {
			b = append(b, fr...)
			b = append(b, '\n')
		}
	case x.a.kind == rtJava:
		b = appendTime(b, ts, layoutJava)
		b = append(b, ' ')
		b = append(b, inv.RequestID...)
		b = append(b, " ERROR Handler - request failed\n"...)
		b = append(b, f.typ+": "+f.msg+"\n"...)
		for _, fr := range f.frames {
			b = append(b, "\tat "+fr+"\n"...)
		}
		s.msgs = b
		s.emit(ts, off)
		off = len(s.msgs)
		b = errorDoc(s.msgs, f, "stackTrace", f.frames, true)
		b = append(b, '\n')
	case x.a.kind == rtRuby:
		s.text(ts, "Error raised from handler method\n")
		off = len(s.msgs)
		b = errorDoc(s.msgs, f, "stackTrace", f.frames, true)
		b = append(b, '\n')
	case x.a.kind == rtDotnet:
		b = appendTime(b, ts, layoutISO)
		b = append(b, '\t')
		b = append(b, inv.RequestID...)
		b = append(b, "\tfail\t"+f.typ+": "+f.msg+"\n"...)
		for _, fr := range f.frames {
			b = append(b, fr+"\n"...)
		}
	}
	s.msgs = b
	s.emit(ts, off)
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

func splitGoFrame(fr string) (path, line, label string) {
	var parts [3]string
	n := 0
	for i := 0; i < len(fr) && n < 2; i++ {
		if fr[i] == '|' {
			parts[n] = fr[:i]
			fr = fr[i+1:]
			i = -1
			n++
		}
	}
	parts[n] = fr
	return parts[0], parts[1], parts[2]
}

// oom writes an out-of-memory invocation's runtime-specific lines.
func (x *renderer) oom(inv *Invocation, end int64) {
	ts := max(end-1, inv.Start)
	switch x.a.oom {
	case oomNodeHeap:
		x.s.text(ts, "\n<--- Last few GCs --->\n\n[8:0x5d1a3a0]    31082 ms: Mark-Compact 243.9 (251.6) -> 242.6 (252.1) MB, 412.67 / 0.00 ms  (average mu = 0.149, current mu = 0.041) allocation failure; scavenge might not succeed\n\n\n<--- JS stacktrace --->\n\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n")
		x.s.text(end, "RequestId: ", inv.RequestID, " Error: Runtime exited with error: signal: aborted (core dumped)\nRuntime.ExitError\n")
	case oomPython:
		x.s.text(ts, "[ERROR] MemoryError\nTraceback (most recent call last):\n  File \"/var/task/report.py\", line 61, in handler\n    rows = list(reader)\n")
	case oomJava:
		f := &failure{typ: "java.lang.OutOfMemoryError", msg: "Java heap space", frames: []string{
			"java.base/java.util.Arrays.copyOf(Arrays.java:3541)", "com.example.pdf.Renderer.render(Renderer.java:88)"}}
		off := len(x.s.msgs)
		x.s.msgs = append(errorDoc(x.s.msgs, f, "stackTrace", f.frames, true), '\n')
		x.s.emit(ts, off)
	case oomKilled:
		x.s.text(end, "RequestId: ", inv.RequestID, " Error: Runtime exited with error: signal: killed\nRuntime.ExitError\n")
	case oomGo:
		x.s.text(ts, "fatal error: runtime: out of memory\n\nruntime stack:\nruntime.throw({0x2c1a0e?, 0x4000?})\n\t/usr/local/go/src/runtime/panic.go:1101 +0x48\n")
	case oomRuby:
		x.s.text(ts, "Error raised from handler method\n")
		f := &failure{typ: "Function<NoMemoryError>", msg: "failed to allocate memory", frames: []string{"/var/task/billing.rb:40:in `handler'"}}
		off := len(x.s.msgs)
		x.s.msgs = append(errorDoc(x.s.msgs, f, "stackTrace", f.frames, true), '\n')
		x.s.emit(ts, off)
	case oomJSONReport: // only the platform.report says it
	}
}

// reportStatus is the newer REPORT / platform.report status and error type.
func (x *renderer) reportStatus(inv *Invocation) (status, errType string) {
	switch inv.Status {
	case StatusTimeout:
		return "timeout", ""
	case StatusOutOfMemory:
		if x.a.oom == oomJSONReport || x.a.oom == oomKilled {
			return "error", "Runtime.OutOfMemory"
		}
		if x.a.oom == oomNodeHeap || x.a.oom == oomGo {
			return "error", "Runtime.ExitError"
		}
		return "error", ""
	case StatusError:
		if inv.fail.crash || inv.fail.panic {
			return "error", "Runtime.ExitError"
		}
		return "error", ""
	}
	return "success", ""
}

func (x *renderer) report(inv *Invocation, end int64) {
	status, errType := x.reportStatus(inv)
	if x.a.json {
		b := append(x.tmp[:0], `{"time":"`...)
		b = appendTime(b, end, layoutISO)
		b = append(b, `","type":"platform.report","record":{"requestId":"`...)
		b = append(b, inv.RequestID...)
		b = append(b, `","metrics":{"durationMs":`...)
		b = strconv.AppendFloat(b, float64(inv.DurationUs)/1000, 'f', -1, 64)
		b = append(b, `,"billedDurationMs":`...)
		b = strconv.AppendInt(b, inv.BilledMs, 10)
		b = append(b, `,"memorySizeMB":`...)
		b = strconv.AppendInt(b, int64(x.a.memMB), 10)
		b = append(b, `,"maxMemoryUsedMB":`...)
		b = strconv.AppendInt(b, int64(inv.MaxMemoryMB), 10)
		if inv.InitUs > 0 {
			b = append(b, `,"initDurationMs":`...)
			b = strconv.AppendFloat(b, float64(inv.InitUs)/1000, 'f', -1, 64)
		}
		b = append(b, `},"status":"`...)
		b = append(b, status...)
		b = append(b, '"')
		if errType != "" {
			b = append(b, `,"errorType":"`...)
			b = append(b, errType...)
			b = append(b, '"')
		}
		b = append(b, "}}"...)
		x.tmp = b
		x.s.text(end, string(b))
		return
	}
	x.s.text(end, "END RequestId: ", inv.RequestID, "\n")
	s := x.s
	off := len(s.msgs)
	b := append(s.msgs, "REPORT RequestId: "...)
	b = append(b, inv.RequestID...)
	b = append(b, "\tDuration: "...)
	b = appendMs2(b, inv.DurationUs)
	b = append(b, " ms\tBilled Duration: "...)
	b = strconv.AppendInt(b, inv.BilledMs, 10)
	b = append(b, " ms\tMemory Size: "...)
	b = strconv.AppendInt(b, int64(x.a.memMB), 10)
	b = append(b, " MB\tMax Memory Used: "...)
	b = strconv.AppendInt(b, int64(inv.MaxMemoryMB), 10)
	b = append(b, " MB\t"...)
	if inv.InitUs > 0 {
		b = append(b, "Init Duration: "...)
		b = appendMs2(b, inv.InitUs)
		b = append(b, " ms\t"...)
	}
	if x.a.status && (status == "timeout" || errType != "") {
		b = append(b, "Status: "+status+"\t"...)
		if errType != "" {
			b = append(b, "Error Type: "+errType+"\t"...)
		}
	}
	if inv.xray {
		if x.a.xray == xrayNextLine {
			b = append(b, '\n')
		}
		b = append(b, "XRAY TraceId: "...)
		b = append(b, inv.traceID...)
		b = append(b, "\tSegmentId: "...)
		b = append(b, inv.traceID[len(inv.traceID)-16:]...)
		b = append(b, "\tSampled: true\t"...)
	}
	b = append(b, '\n')
	s.msgs = b
	s.emit(end, off)
}
