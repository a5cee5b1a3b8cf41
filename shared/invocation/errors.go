package invocation

import (
	"bytes"
	"encoding/hex"
	"hash/fnv"
	"strings"
	"unicode/utf8"

	"github.com/sightline/sightline/shared/telemetry"
)

const (
	typeOutOfMemory = "Runtime.OutOfMemory"
	typeExitError   = "Runtime.ExitError"
	// MaxMessage bounds Error.Message (bytes, cut on a rune boundary).
	MaxMessage = 256
	maxType    = 128
)

// anchors: an application text line that contains none of these carries no
// failure signal and no telemetry, and costs only these scans.
var anchors = [...][]byte{
	[]byte("rror"), []byte("RROR"), []byte("xception"), []byte("timed out"),
	[]byte("panic"), []byte("exited"), []byte("emory"), []byte(telemetry.Prefix),
}

var (
	taskTimedOut  = []byte("Task timed out after")
	requestIDTag  = []byte("RequestId: ")
	runtimeExited = []byte("Runtime exited")
	processExited = []byte("Process exited before completing request")
	pythonError   = []byte("[ERROR] ")
)

// text looks for failure signals and telemetry in an application / runtime text line.
func (p *Parser) text(ts int64, m []byte) {
	// Leveled application lines: Node.js / .NET "<ts>\t<id>\t<LEVEL>\t<msg>",
	// Python logger "[LEVEL]\t<ts>\t<id>\t<msg>". Only the runtimes' own unhandled
	// error lines among them are failures; logger.error is not.
	if id, level, msg, ok := leveledPrefix(m); ok {
		switch {
		case bytes.HasPrefix(msg, []byte(telemetry.Prefix)):
			p.telemetryLine(msg)
		case string(level) == "ERROR" && hasRuntimeErrorPrefix(msg):
			e := p.embeddedDoc(msg)
			if e == nil {
				e = newError("Error", string(firstLine(msg)), "")
			}
			p.errorSignal(ts, id, e, rankDocument)
		case string(level) == "fail" || string(level) == "crit": // .NET RuntimeSupport
			if e := exceptionTrace(msg); e != nil {
				p.errorSignal(ts, id, e, rankDocument)
			}
		}
		return
	}
	// A telemetry line is long (kilobytes of base64): recognise it by its prefix
	// before scanning it for failure anchors.
	if bytes.HasPrefix(m, []byte(telemetry.Prefix)) {
		p.telemetryLine(m)
		return
	}
	if isPythonLogger(m) {
		return
	}
	hit := false
	for _, a := range anchors {
		if bytes.Contains(m, a) {
			hit = true
			break
		}
	}
	if !hit {
		return
	}
	if i := bytes.Index(m, taskTimedOut); i >= 0 {
		p.route(ts, lastIDToken(m[:i]), signal{flags: fTimeout})
		return
	}
	if bytes.Contains(m, runtimeExited) || bytes.Contains(m, processExited) {
		p.runtimeExit(ts, m)
		return
	}
	first := firstLine(m)
	switch {
	case bytes.HasPrefix(m, pythonError):
		p.errorSignal(ts, nil, pythonUnhandled(m), rankDocument)
		return
	case bytes.HasPrefix(first, []byte("panic: ")):
		p.errorSignal(ts, nil, goPanic(m), rankDocument)
		return
	case bytes.HasPrefix(first, []byte("fatal error: ")):
		if bytes.Contains(first, []byte("out of memory")) {
			p.route(ts, nil, signal{flags: fOOM, err: newError(typeOutOfMemory, string(first), goTopFrame(m))})
		} else {
			p.errorSignal(ts, nil, newError("fatal error", string(first[len("fatal error: "):]), goTopFrame(m)), rankDocument)
		}
		return
	}
	if e := outOfMemoryMarker(m); e != nil {
		p.route(ts, idAfterTag(m), signal{flags: fOOM, err: e})
		return
	}
	if e := exceptionTrace(m); e != nil {
		p.errorSignal(ts, nil, e, rankDocument)
		return
	}
	if e := p.embeddedDoc(m); e != nil {
		p.errorSignal(ts, nil, e, rankDocument)
	}
}

// telemetryLine decodes a SERVERLESS_TELEMETRY line (or chunk) of the current stream.
func (p *Parser) telemetryLine(line []byte) {
	if ss, ok := p.sink.(SummarySink); ok {
		s, complete, err := p.tel.DecodeSummary(p.cur.name, firstLine(line))
		switch {
		case err != nil:
			p.sink.BadLine(err)
		case complete:
			ss.TelemetrySummary(s)
		}
		return
	}
	pl, err := p.tel.Decode(p.cur.name, firstLine(line))
	switch {
	case err != nil:
		p.sink.BadLine(err)
	case pl != nil:
		p.sink.Telemetry(pl)
	}
}

// runtimeExit: "RequestId: <id> Error: Runtime exited with error: signal: killed
// Runtime.ExitError", "... exit status 1 ...", "RequestId: <id> Process exited
// before completing request". A kill is Lambda's out-of-memory kill; any other
// exit (exit status 137 included) is an error.
func (p *Parser) runtimeExit(ts int64, m []byte) {
	id := idAfterTag(m)
	if bytes.Contains(m, []byte("signal: killed")) || bytes.Contains(m, []byte(typeOutOfMemory)) {
		p.route(ts, id, signal{flags: fOOM, err: newError(typeOutOfMemory, string(exitMessage(m)), "")})
		return
	}
	typ := typeExitError
	if last := lastToken(m); bytes.HasPrefix(last, []byte("Runtime.")) {
		typ = string(last)
	}
	p.route(ts, id, signal{flags: fError, err: newError(typ, string(exitMessage(m)), ""), rank: rankGeneric})
}

func exitMessage(m []byte) []byte {
	l := firstLine(m)
	if i := bytes.Index(l, []byte("Error: ")); i >= 0 {
		l = l[i+len("Error: "):]
	} else if i := bytes.Index(l, processExited); i >= 0 {
		l = l[i:]
	}
	if i := bytes.Index(l, []byte(" Runtime.")); i >= 0 {
		l = l[:i]
	}
	return l
}

// outOfMemoryMarker finds a runtime's out-of-memory message in a text line.
func outOfMemoryMarker(m []byte) *Error {
	switch {
	case bytes.Contains(m, []byte("JavaScript heap out of memory")):
		return newError(typeOutOfMemory, string(lineWith(m, []byte("JavaScript heap out of memory"))), "")
	case bytes.Contains(m, []byte("OutOfMemoryError")), bytes.Contains(m, []byte("OutOfMemoryException")):
		if e := exceptionTrace(m); e != nil && isMemoryType(e.Type) {
			return e
		}
		if bytes.Contains(m, []byte("OutOfMemoryError")) {
			l := lineWith(m, []byte("OutOfMemoryError"))
			msg := l
			if i := bytes.Index(l, []byte("OutOfMemoryError: ")); i >= 0 {
				msg = l[i+len("OutOfMemoryError: "):]
			}
			return newError("java.lang.OutOfMemoryError", string(msg), "")
		}
		return newError("System.OutOfMemoryException", string(lineWith(m, []byte("OutOfMemoryException"))), "")
	case bytes.Contains(m, []byte("(NoMemoryError)")):
		return newError("NoMemoryError", string(lineWith(m, []byte("(NoMemoryError)"))), "")
	case bytes.Contains(m, []byte(typeOutOfMemory)):
		return newError(typeOutOfMemory, string(lineWith(m, []byte(typeOutOfMemory))), "")
	}
	return nil
}

// pythonUnhandled parses the Python runtime's text error: "[ERROR] Type: message"
// then "Traceback (most recent call last):" and frames indented with spaces or
// U+00A0, lines separated by \n or \r. The innermost frame is the last.
func pythonUnhandled(m []byte) *Error {
	first := firstLine(m)[len(pythonError):]
	typ, msg := splitTypeMessage(first)
	var frame []byte
	for rest := m; len(rest) > 0; {
		var l []byte
		l, rest = cutLine(rest)
		if t := trimIndent(l); bytes.HasPrefix(t, []byte(`File "`)) {
			frame = t
		}
	}
	return newError(string(typ), string(msg), string(frame))
}

// goPanic parses "panic: <value>" and its goroutine trace.
func goPanic(m []byte) *Error {
	v := bytes.TrimSpace(firstLine(m)[len("panic: "):])
	v = bytes.TrimSuffix(v, []byte(" [recovered]"))
	typ := "panic"
	switch {
	case bytes.HasPrefix(v, []byte("runtime error: ")):
		typ = "runtime.Error"
	case len(v) > 2 && v[0] == '(':
		if j := bytes.IndexByte(v, ')'); j > 1 && isIdent(v[1:j]) {
			typ, v = string(v[1:j]), bytes.TrimSpace(v[j+1:])
		}
	default:
		// A named basic type prints as pkg.T(value).
		if j := bytes.IndexByte(v, '('); j > 0 && v[len(v)-1] == ')' && isIdent(v[:j]) && bytes.IndexByte(v[:j], '.') > 0 {
			typ = string(v[:j])
		}
	}
	return newError(typ, string(v), goTopFrame(m))
}

// goTopFrame returns the innermost user frame of a goroutine trace: function
// (without arguments) and file (without line).
func goTopFrame(m []byte) string {
	i := bytes.Index(m, []byte("\ngoroutine "))
	if i < 0 {
		return ""
	}
	_, rest := cutLine(m[i+1:])
	for len(rest) > 0 {
		var fn, file []byte
		fn, rest = cutLine(rest)
		if len(fn) == 0 || fn[0] == '\t' || fn[0] == ' ' {
			continue
		}
		file, rest = cutLine(rest)
		if bytes.HasPrefix(fn, []byte("panic(")) || bytes.HasPrefix(fn, []byte("runtime.")) ||
			bytes.HasPrefix(fn, []byte("created by")) || bytes.Contains(fn, []byte("aws-lambda-go/")) {
			continue
		}
		if j := bytes.LastIndexByte(fn, '('); j > 0 {
			fn = fn[:j]
		}
		file = bytes.TrimSpace(file)
		if j := bytes.LastIndexByte(file, ':'); j > 0 {
			file = file[:j]
		}
		return string(fn) + " " + string(file)
	}
	return ""
}

// exceptionTrace parses a Java or .NET exception: a header "pkg.Type: message"
// (optionally after the Java runtime's "message: pkg.Type" line, or after
// "Exception in thread ...") followed by "at ..." frames.
func exceptionTrace(m []byte) *Error {
	l1, rest := cutLine(m)
	header := bytes.TrimSpace(l1)
	if i := bytes.Index(header, []byte("Exception in thread ")); i == 0 {
		if j := bytes.LastIndex(header, []byte("\" ")); j > 0 {
			header = header[j+2:]
		}
	}
	if !isExceptionHeader(header) {
		l2, rest2 := cutLine(rest)
		l2 = bytes.TrimSpace(l2)
		if !isExceptionHeader(l2) {
			return nil
		}
		if t, _ := splitTypeMessage(l2); !bytes.HasSuffix(bytes.TrimSpace(l1), t) {
			return nil
		}
		header, rest = l2, rest2
	}
	var frame []byte
	for len(rest) > 0 && frame == nil {
		var l []byte
		l, rest = cutLine(rest)
		if t := trimIndent(l); bytes.HasPrefix(t, []byte("at ")) {
			frame = t
		}
	}
	if frame == nil {
		return nil
	}
	typ, msg := splitTypeMessage(header)
	return newError(string(typ), string(msg), string(frame))
}

func isExceptionHeader(l []byte) bool {
	name, _ := splitTypeMessage(l)
	if len(name) == 0 || bytes.IndexByte(name, '.') <= 0 || !isIdent(name) {
		return false
	}
	for _, s := range [...]string{"Exception", "Error", "Throwable", "Fault"} {
		if bytes.HasSuffix(name, []byte(s)) {
			return true
		}
	}
	return false
}

// embeddedDoc finds a runtime's error document ({"errorType", "errorMessage",
// "stackTrace" | "stack" | "trace"}) inside a text line: after Node.js's "Invoke
// Error \t", Go's log prefix, Ruby's "Error raised from handler method", or bare
// and pretty-printed (.NET, Java). An application JSON log line (one with a
// "message") is not one.
func (p *Parser) embeddedDoc(m []byte) *Error {
	k := bytes.Index(m, []byte(`"errorType"`))
	if k2 := bytes.Index(m, []byte(`"errorMessage"`)); k2 >= 0 && (k < 0 || k2 < k) {
		k = k2
	}
	if k < 0 {
		return nil
	}
	start := bytes.LastIndexByte(m[:k], '{')
	if start < 0 {
		return nil
	}
	o, _ := openObject(m[start:])
	var t, msg, st []byte
	for key, v, ok := o.next(); ok; key, v, ok = o.next() {
		switch string(key) {
		case "errorType":
			t = v
		case "errorMessage":
			msg = v
		case "stackTrace", "stack", "trace":
			if st == nil {
				st = v
			}
		case "message", "msg":
			return nil
		}
	}
	if t == nil && msg == nil {
		return nil
	}
	return p.docError(t, msg, st)
}

// docError builds the Error of an error document's raw fields.
func (p *Parser) docError(t, msg, st []byte) *Error {
	var scratch []byte
	typ := unwrapType(string(str(t, &scratch)))
	if typ == "" {
		typ = "Error"
	}
	message := string(firstLine(str(msg, &scratch)))
	return newError(typ, message, topFrame(st))
}

// unwrapType turns the Ruby runtime's "Function<TypeError>" into "TypeError".
func unwrapType(t string) string {
	if i := strings.IndexByte(t, '<'); i > 0 && strings.HasSuffix(t, ">") && isIdent([]byte(t[:i])) {
		return t[i+1 : len(t)-1]
	}
	return t
}

// topFrame picks the innermost frame of a stackTrace / stack / trace value: the
// first "at ..." line (Node.js, .NET), else the last `File "..."` (Python), else
// the first element (Java, Ruby); Go's {"path","line","label"} frames skip the
// runtime and aws-lambda-go.
func topFrame(st []byte) string {
	var scratch []byte
	if isString(st) { // a stack as one string
		for rest := str(st, &scratch); len(rest) > 0; {
			var l []byte
			l, rest = cutLine(rest)
			if t := trimIndent(l); bytes.HasPrefix(t, []byte("at ")) {
				return string(t)
			}
		}
		return ""
	}
	a, ok := openArray(st)
	if !ok {
		return ""
	}
	var firstAny, lastFile string
	for n := 0; n < 256; n++ {
		v, ok := a.next()
		if !ok {
			break
		}
		if o, ok := openObject(v); ok {
			var path, label []byte
			for k, fv, ok := o.next(); ok; k, fv, ok = o.next() {
				switch string(k) {
				case "path":
					path = fv
				case "label":
					label = fv
				}
			}
			ps, ls := string(str(path, &scratch)), string(str(label, &scratch))
			if strings.HasPrefix(ps, "runtime/") || strings.Contains(ps, "/runtime/") || strings.Contains(ps, "aws-lambda-go") {
				continue
			}
			if ps != "" || ls != "" {
				return ls + " " + ps
			}
			continue
		}
		s := str(v, &scratch)
		t := trimIndent(firstLine(s))
		switch {
		case bytes.HasPrefix(t, []byte("at ")):
			return string(t)
		case bytes.HasPrefix(t, []byte(`File "`)):
			lastFile = string(t)
		case firstAny == "" && len(t) > 0:
			firstAny = string(t)
		}
	}
	if lastFile != "" {
		return lastFile
	}
	if strings.Contains(firstAny, ": ") && !strings.ContainsAny(firstAny, "(/") {
		return "" // a header such as "Error: boom", not a frame
	}
	return firstAny
}

// newError builds an Error with a bounded type and message and its fingerprint.
func newError(typ, msg, frame string) *Error {
	typ = bound(strings.TrimSpace(typ), maxType)
	return &Error{
		Type:        typ,
		Message:     bound(strings.TrimSpace(msg), MaxMessage),
		Fingerprint: Fingerprint(typ, frame),
	}
}

// Fingerprint is the short hex hash that groups errors: the type and the
// normalized top frame (line and column numbers, hex addresses and request ids
// removed). The message is not part of it.
func Fingerprint(typ, frame string) string {
	h := fnv.New64a()
	h.Write([]byte(typ))
	h.Write([]byte{0})
	h.Write(normalizeFrame([]byte(frame)))
	var b [8]byte
	return hex.EncodeToString(h.Sum(b[:0]))
}

// normalizeFrame strips what varies between deployments and occurrences of the
// same frame: line/column numbers, hex addresses and offsets, UUIDs.
func normalizeFrame(f []byte) []byte {
	f = trimIndent(f)
	f = bytes.TrimPrefix(f, []byte("at "))
	out := make([]byte, 0, len(f))
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case c == '0' && i+2 < len(f) && (f[i+1] == 'x' || f[i+1] == 'X') && isHex(f[i+2]):
			i += 2
			for i < len(f) && isHex(f[i]) {
				i++
			}
			continue
		case c == ':' && i+1 < len(f) && isDigit(f[i+1]):
			i++
			for i < len(f) && isDigit(f[i]) {
				i++
			}
			continue
		case bytes.HasPrefix(f[i:], []byte("line ")) && i+5 < len(f) && isDigit(f[i+5]):
			out = append(out, "line"...)
			i += 5
			for i < len(f) && isDigit(f[i]) {
				i++
			}
			continue
		case isUUIDAt(f, i):
			out = append(out, "<id>"...)
			i += 36
			continue
		}
		out = append(out, c)
		i++
	}
	out = bytes.TrimRight(out, " +")
	return out
}

func isUUIDAt(b []byte, i int) bool {
	if len(b)-i < 36 || (i > 0 && isHex(b[i-1])) {
		return false
	}
	for j := 0; j < 36; j++ {
		c := b[i+j]
		if j == 8 || j == 13 || j == 18 || j == 23 {
			if c != '-' {
				return false
			}
		} else if !isHex(c) {
			return false
		}
	}
	return true
}

func isMemoryType(t string) bool {
	switch t {
	case typeOutOfMemory, "MemoryError", "NoMemoryError", "java.lang.OutOfMemoryError", "OutOfMemoryError",
		"System.OutOfMemoryException", "OutOfMemoryException":
		return true
	}
	return false
}

func isGenericType(t string) bool {
	switch t {
	case typeExitError, "Runtime.Unknown", "Unknown", "Runtime.ExitError.Unknown":
		return true
	}
	return false
}

func hasRuntimeErrorPrefix(msg []byte) bool {
	return bytes.HasPrefix(msg, []byte("Invoke Error")) || bytes.HasPrefix(msg, []byte("Uncaught Exception")) ||
		bytes.HasPrefix(msg, []byte("Unhandled Promise Rejection"))
}

// leveledPrefix splits "<ISO timestamp>\t<request id>\t<LEVEL>\t<message>".
func leveledPrefix(m []byte) (id, level, msg []byte, ok bool) {
	if len(m) < 12 || !isDigit(m[0]) {
		return nil, nil, nil, false
	}
	t1 := bytes.IndexByte(m, '\t')
	if t1 < 10 || t1 > 40 {
		return nil, nil, nil, false
	}
	r := m[t1+1:]
	t2 := bytes.IndexByte(r, '\t')
	if t2 < 0 || t2 > 64 {
		return nil, nil, nil, false
	}
	id, r = r[:t2], r[t2+1:]
	t3 := bytes.IndexByte(r, '\t')
	if t3 < 1 || t3 > 8 {
		return nil, nil, nil, false
	}
	level, msg = r[:t3], r[t3+1:]
	for _, c := range level {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return nil, nil, nil, false
		}
	}
	if bytes.Equal(id, []byte("undefined")) {
		id = nil
	}
	return id, level, msg, true
}

// isPythonLogger: "[LEVEL]\t..." (the runtime's logging format).
func isPythonLogger(m []byte) bool {
	if len(m) < 4 || m[0] != '[' {
		return false
	}
	j := bytes.IndexByte(m, ']')
	return j > 1 && j < 10 && j+1 < len(m) && m[j+1] == '\t'
}

// splitTypeMessage splits "Type: message" when Type is one word.
func splitTypeMessage(s []byte) (typ, msg []byte) {
	s = bytes.TrimSpace(s)
	if i := bytes.Index(s, []byte(": ")); i > 0 && bytes.IndexAny(s[:i], " \t") < 0 {
		return s[:i], s[i+2:]
	}
	if i := bytes.IndexByte(s, ':'); i > 0 && i == len(s)-1 && bytes.IndexAny(s[:i], " \t") < 0 {
		return s[:i], nil
	}
	if len(s) > 0 && bytes.IndexAny(s, " \t") < 0 {
		return s, nil
	}
	return []byte("Error"), s
}

// idAfterTag returns the token after "RequestId: ", if any.
func idAfterTag(m []byte) []byte {
	if i := bytes.Index(m, requestIDTag); i >= 0 {
		return token(m[i+len(requestIDTag):])
	}
	return nil
}

// lastIDToken returns the last whitespace-separated token of b when it looks
// like a request id ("<ts> <id> Task timed out ...").
func lastIDToken(b []byte) []byte {
	b = bytes.TrimRight(b, " \t")
	i := len(b)
	for i > 0 && !isSpace(b[i-1]) {
		i--
	}
	t := b[i:]
	if len(t) < 8 || len(t) > 64 || bytes.Equal(t, []byte("undefined")) {
		return nil
	}
	for _, c := range t {
		if !(isHex(c) || c == '-' || c >= 'g' && c <= 'z' || c >= 'G' && c <= 'Z') {
			return nil
		}
	}
	return t
}

func lastToken(b []byte) []byte {
	b = bytes.TrimRight(b, " \t\r\n")
	i := len(b)
	for i > 0 && !isSpace(b[i-1]) {
		i--
	}
	return b[i:]
}

// cutLine splits off the first physical line (\n, \r\n or \r).
func cutLine(b []byte) (line, rest []byte) {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			j := i + 1
			if c == '\r' && j < len(b) && b[j] == '\n' {
				j++
			}
			return b[:i], b[j:]
		}
	}
	return b, nil
}

func firstLine(b []byte) []byte { l, _ := cutLine(b); return l }

// lineWith returns the first physical line of m that contains sub.
func lineWith(m, sub []byte) []byte {
	for rest := m; len(rest) > 0; {
		var l []byte
		l, rest = cutLine(rest)
		if bytes.Contains(l, sub) {
			return bytes.TrimSpace(l)
		}
	}
	return nil
}

// trimIndent removes leading spaces, tabs and U+00A0 (the Python runtime's
// traceback indentation).
func trimIndent(b []byte) []byte {
	for len(b) > 0 {
		switch {
		case b[0] == ' ' || b[0] == '\t':
			b = b[1:]
		case len(b) > 1 && b[0] == 0xC2 && b[1] == 0xA0:
			b = b[2:]
		default:
			return bytes.TrimRight(b, " \t")
		}
	}
	return b
}

func isIdent(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c == '.' || c == '*' || c == '/') {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// bound cuts s to at most n bytes on a rune boundary and replaces invalid UTF-8.
func bound(s string, n int) string {
	if len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
