package invocation

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sightline/sightline/shared/telemetry"
)

const rid = "c793869b-ee49-415b-a5b6-4fd21e8dedac"

// outcome is what a case expects of one emitted invocation.
type outcome struct {
	status   Status
	errType  string // "" : no Error
	reported bool
}

func parseLines(t testing.TB, lines ...string) *recorder {
	t.Helper()
	var r recorder
	p := NewParser(&r)
	p.Stream([]byte("2024/01/01/[$LATEST]s"))
	for i, l := range lines {
		p.Line(int64(1000+i), []byte(l))
	}
	p.Flush()
	return &r
}

func TestVariants(t *testing.T) {
	report := "REPORT RequestId: " + rid + "\tDuration: 10.00 ms\tBilled Duration: 10 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB"
	start := "START RequestId: " + rid + " Version: $LATEST"
	ok := []outcome{{StatusSuccess, "", true}}
	tests := map[string]struct {
		lines []string
		want  []outcome
	}{
		"plain report":                  {lines: []string{start, report}, want: ok},
		"report with trailing newline":  {lines: []string{report + "\t\n"}, want: ok},
		"status error with error type":  {lines: []string{report + "\tStatus: error\tError Type: Runtime.Unknown"}, want: []outcome{{StatusError, "Runtime.Unknown", true}}},
		"status timeout":                {lines: []string{report + "\tStatus: timeout"}, want: []outcome{{StatusTimeout, "", true}}},
		"status error, OOM type":        {lines: []string{report + "\tStatus: error\tError Type: Runtime.OutOfMemory"}, want: []outcome{{StatusOutOfMemory, "Runtime.OutOfMemory", true}}},
		"status success is final":       {lines: []string{start, "2024-01-01T00:00:00.000Z " + rid + " Task timed out after 3.00 seconds", report + "\tStatus: success"}, want: ok},
		"max memory at size is OOM":     {lines: []string{strings.Replace(report, "60 MB", "128 MB", 1)}, want: []outcome{{StatusOutOfMemory, "Runtime.OutOfMemory", true}}},
		"max memory above size is OOM":  {lines: []string{strings.Replace(report, "60 MB", "129 MB", 1)}, want: []outcome{{StatusOutOfMemory, "Runtime.OutOfMemory", true}}},
		"task timed out":                {lines: []string{start, "2024-01-01T00:00:03.000Z " + rid + " Task timed out after 3.00 seconds", report}, want: []outcome{{StatusTimeout, "", true}}},
		"signal killed is OOM":          {lines: []string{start, "RequestId: " + rid + " Error: Runtime exited with error: signal: killed\nRuntime.ExitError", report}, want: []outcome{{StatusOutOfMemory, "Runtime.OutOfMemory", true}}},
		"exit status 137 is not OOM":    {lines: []string{start, "RequestId: " + rid + " Error: Runtime exited with error: exit status 137\nRuntime.ExitError", report}, want: []outcome{{StatusError, "Runtime.ExitError", true}}},
		"one-line exit":                 {lines: []string{start, "RequestId: " + rid + " Error: Runtime exited with error: exit status 1 Runtime.ExitError", report}, want: []outcome{{StatusError, "Runtime.ExitError", true}}},
		"process exited":                {lines: []string{start, "RequestId: " + rid + " Process exited before completing request", report}, want: []outcome{{StatusError, "Runtime.ExitError", true}}},
		"go fatal OOM":                  {lines: []string{start, "fatal error: runtime: out of memory", report}, want: []outcome{{StatusOutOfMemory, "Runtime.OutOfMemory", true}}},
		"java OutOfMemoryError":         {lines: []string{start, "java.lang.OutOfMemoryError: Metaspace", report}, want: []outcome{{StatusOutOfMemory, "java.lang.OutOfMemoryError", true}}},
		"node heap OOM":                 {lines: []string{start, "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", report}, want: []outcome{{StatusOutOfMemory, "Runtime.OutOfMemory", true}}},
		"python MemoryError":            {lines: []string{start, "[ERROR] MemoryError\nTraceback (most recent call last):", report}, want: []outcome{{StatusOutOfMemory, "MemoryError", true}}},
		"ruby NoMemoryError":            {lines: []string{start, "failed to allocate memory (NoMemoryError)", report}, want: []outcome{{StatusOutOfMemory, "NoMemoryError", true}}},
		"Runtime.OutOfMemory text":      {lines: []string{start, "RequestId: " + rid + " Error: Runtime exited with error: signal: killed Runtime.OutOfMemory", report}, want: []outcome{{StatusOutOfMemory, "Runtime.OutOfMemory", true}}},
		"OOM beats timeout":             {lines: []string{start, "2024-01-01T00:00:03.000Z " + rid + " Task timed out after 3.00 seconds", "fatal error: runtime: out of memory", report}, want: []outcome{{StatusOutOfMemory, "Runtime.OutOfMemory", true}}},
		"timeout beats error":           {lines: []string{start, "[ERROR] KeyError: 'a'", "2024-01-01T00:00:03.000Z " + rid + " Task timed out after 3.00 seconds", report}, want: []outcome{{StatusTimeout, "KeyError", true}}},
		"status error keeps OOM signal": {lines: []string{start, "RequestId: " + rid + " Error: Runtime exited with error: signal: killed\nRuntime.ExitError", report + "\tStatus: error\tError Type: Runtime.ExitError"}, want: []outcome{{StatusOutOfMemory, "Runtime.OutOfMemory", true}}},
		"app error doc beats platform type": {lines: []string{start, "2024-01-01T00:00:00.000Z\t" + rid + "\tERROR\tInvoke Error \t{\"errorType\":\"RangeError\",\"errorMessage\":\"x\"}", report + "\tStatus: error\tError Type: Runtime.Unknown"},
			want: []outcome{{StatusError, "RangeError", true}}},
		"node uncaught exception": {lines: []string{start, "2024-01-01T00:00:00.000Z\t" + rid + "\tERROR\tUncaught Exception \t{\"errorType\":\"Error\",\"errorMessage\":\"boom\",\"stack\":[\"Error: boom\",\"    at f (/var/task/a.js:1:1)\"]}", report},
			want: []outcome{{StatusError, "Error", true}}},
		"node console.error is not a failure":  {lines: []string{start, "2024-01-01T00:00:00.000Z\t" + rid + "\tERROR\tsomething failed: Error: boom", report}, want: ok},
		"python logger.error is not a failure": {lines: []string{start, "[ERROR]\t2024-01-01T00:00:00.000Z\t" + rid + "\tboom KeyError", report}, want: ok},
		"python import error":                  {lines: []string{start, "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'x'\rTraceback (most recent call last):", report}, want: []outcome{{StatusError, "Runtime.ImportModuleError", true}}},
		"go panic":                             {lines: []string{start, "panic: boom\n\ngoroutine 1 [running]:\nmain.handler()\n\t/var/task/main.go:12 +0x1d", report}, want: []outcome{{StatusError, "panic", true}}},
		"java trace":                           {lines: []string{start, "java.lang.IllegalStateException: bad\n\tat a.B.c(B.java:1)", report}, want: []outcome{{StatusError, "java.lang.IllegalStateException", true}}},
		"dotnet doc pretty-printed":            {lines: []string{start, "{\n  \"errorType\": \"InvalidOperationException\",\n  \"errorMessage\": \"no\"\n}", report}, want: []outcome{{StatusError, "InvalidOperationException", true}}},
		"bare json doc with request id":        {lines: []string{`{"errorType":"KeyError","errorMessage":"'a'","requestId":"` + rid + `","stackTrace":[]}`, report}, want: []outcome{{StatusError, "KeyError", true}}},
		"app json error line is ordinary":      {lines: []string{start, `{"timestamp":"2024-01-01T00:00:00Z","level":"ERROR","message":"failed","requestId":"` + rid + `","errorType":"KeyError","errorMessage":"x"}`, report}, want: ok},
		"node json error object names the error only": {lines: []string{start, `{"timestamp":"2024-01-01T00:00:00Z","level":"ERROR","requestId":"` + rid + `","message":{"errorType":"TypeError","errorMessage":"x","stackTrace":["TypeError: x","    at h (/var/task/i.js:2:3)"]}}`, report},
			want: ok},
		"node json error object with failed report": {lines: []string{start, `{"timestamp":"2024-01-01T00:00:00Z","level":"ERROR","requestId":"` + rid + `","message":{"errorType":"TypeError","errorMessage":"x"}}`, report + "\tStatus: error\tError Type: Runtime.Unknown"},
			want: []outcome{{StatusError, "TypeError", true}}},
		"platform report floats": {lines: []string{`{"time":"2024-01-01T00:00:00.000Z","type":"platform.report","record":{"requestId":"` + rid + `","metrics":{"durationMs":1.5e1,"billedDurationMs":16.0,"memorySizeMB":128.0,"maxMemoryUsedMB":60,"restoreDurationMs":300.25,"billedRestoreDurationMs":100},"status":"success"}}`},
			want: ok},
		"platform report failure status": {lines: []string{`{"time":"t","type":"platform.report","record":{"requestId":"` + rid + `","status":"failure","metrics":{"durationMs":1}}}`}, want: []outcome{{StatusError, "", true}}},
		"platform report timeout":        {lines: []string{`{"time":"t","type":"platform.report","record":{"requestId":"` + rid + `","status":"timeout","metrics":{"durationMs":3000}}}`}, want: []outcome{{StatusTimeout, "", true}}},
		"platform runtimeDone + report":  {lines: []string{`{"time":"t","type":"platform.runtimeDone","record":{"requestId":"` + rid + `","status":"error","errorType":"Runtime.OutOfMemory"}}`, `{"time":"t","type":"platform.report","record":{"requestId":"` + rid + `","metrics":{"durationMs":1}}}`}, want: []outcome{{StatusOutOfMemory, "Runtime.OutOfMemory", true}}},
		"app json with platform type":    {lines: []string{`{"timestamp":"t","level":"INFO","type":"platform.report","message":"m","requestId":"` + rid + `"}`}, want: nil},
		"orphan failure":                 {lines: []string{start, "[ERROR] KeyError: 'a'"}, want: []outcome{{StatusError, "KeyError", false}}},
		"init report invoke phase orphan": {lines: []string{"INIT_REPORT Init Duration: 10.17 ms Phase: invoke Status: error   Error Type: Runtime.ExitError"},
			want: []outcome{{StatusError, "Runtime.ExitError", false}}},
		"init report init phase alone": {lines: []string{"INIT_REPORT Init Duration: 10.17 ms Phase: init Status: error   Error Type: Runtime.ExitError"}, want: nil},
		"init report invoke phase joins next invocation": {lines: []string{"INIT_REPORT Init Duration: 4.87 ms  Phase: invoke   Status: error   Error Type: Runtime.ExitError", start, report},
			want: []outcome{{StatusError, "Runtime.ExitError", true}}},
		"init report timeout invoke phase": {lines: []string{`{"time":"t","type":"platform.initReport","record":{"initializationType":"on-demand","phase":"invoke","status":"timeout","metrics":{"durationMs":10000.487}}}`, start, report},
			want: []outcome{{StatusTimeout, "", true}}},
		"init error doc, old format, fails next": {lines: []string{"Unable to import module 'app': {\"errorType\":\"Runtime.ImportModuleError\",\"errorMessage\":\"x\"}", start, report},
			want: []outcome{{StatusError, "Runtime.ImportModuleError", true}}},
		"init error doc, INIT_REPORT format, init retried ok": {lines: []string{"[ERROR] Runtime.ImportModuleError: x", "INIT_REPORT Init Duration: 1.00 ms\tPhase: init\tStatus: error\tError Type: Runtime.Unknown", start, report},
			want: ok},
		"undefined request id": {lines: []string{start, "2024-01-01T00:00:00.000Z\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\"Error\",\"errorMessage\":\"late\"}", report},
			want: []outcome{{StatusError, "Error", true}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			invs := parseLines(t, tc.lines...).invocations()
			if len(invs) != len(tc.want) {
				t.Fatalf("got %d invocations, want %d: %+v", len(invs), len(tc.want), invs)
			}
			for i, w := range tc.want {
				g := invs[i]
				gotType := ""
				if g.Error != nil {
					gotType = g.Error.Type
				}
				if g.Status != w.status.String() || gotType != w.errType || g.Reported != w.reported {
					t.Errorf("invocation %d = {%s %q reported=%v}, want {%s %q reported=%v}", i, g.Status, gotType, g.Reported, w.status, w.errType, w.reported)
				}
			}
		})
	}
}

func TestReportFields(t *testing.T) {
	tests := map[string]struct {
		line string
		want invocationJSON
	}{
		"tabs, trailing tab, init": {line: "REPORT RequestId: " + rid + "\tDuration: 4157.16 ms\tBilled Duration: 4200 ms\tMemory Size: 256 MB\tMax Memory Used: 99 MB\tInit Duration: 841.60 ms\t",
			want: invocationJSON{RequestID: rid, DurationMs: 4157.16, BilledDurationMs: 4200, MemorySizeMB: 256, MaxMemoryUsedMB: 99, InitDurationMs: 841.6}},
		"spaces, init before duration": {line: "REPORT RequestId: " + rid + " Init Duration: 48.26 ms   Duration: 237.17 ms   Billed Duration: 300 ms   Memory Size: 128 MB   Max Memory Used: 26 MB",
			want: invocationJSON{RequestID: rid, DurationMs: 237.17, BilledDurationMs: 300, MemorySizeMB: 128, MaxMemoryUsedMB: 26, InitDurationMs: 48.26}},
		"xray on the same line": {line: "REPORT RequestId: " + rid + "\tDuration: 128.83 ms\tBilled Duration: 200 ms\tMemory Size: 128 MB\tMax Memory Used: 74 MB\tInit Duration: 166.62 ms\tXRAY TraceId: 1-5d9d007f-0a8c7fd02xmpl480aed55ef0\tSegmentId: 3d752xmpl1bbe37e\tSampled: true",
			want: invocationJSON{RequestID: rid, DurationMs: 128.83, BilledDurationMs: 200, MemorySizeMB: 128, MaxMemoryUsedMB: 74, InitDurationMs: 166.62}},
		"xray on the next line": {line: "REPORT RequestId: " + rid + "\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 1024 MB\tMax Memory Used: 64 MB\tStatus: timeout\nXRAY TraceId: 1-6ac7d63f-0104e99861c65c8039f183da\tSegmentId: 7c4eb6a6d56f2a27\tSampled: true\n",
			want: invocationJSON{RequestID: rid, DurationMs: 3000, BilledDurationMs: 3000, MemorySizeMB: 1024, MaxMemoryUsedMB: 64}},
		"snapstart": {line: "REPORT RequestId: " + rid + "\tDuration: 38.16 ms\tBilled Duration: 128 ms\tMemory Size: 1024 MB\tMax Memory Used: 144 MB\tRestore Duration: 440.71 ms\tBilled Restore Duration: 90 ms\t",
			want: invocationJSON{RequestID: rid, DurationMs: 38.16, BilledDurationMs: 128, MemorySizeMB: 1024, MaxMemoryUsedMB: 144, RestoreDurationMs: 440.71, BilledRestoreDurationMs: 90}},
		"fields over lines, indented": {line: "  REPORT RequestId: " + rid + "\n  Billed Duration: 6955 ms  Memory Size: 1024 MB  Max Memory Used: 1000 MB\n  Duration: 6954.19 ms",
			want: invocationJSON{RequestID: rid, DurationMs: 6954.19, BilledDurationMs: 6955, MemorySizeMB: 1024, MaxMemoryUsedMB: 1000}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			invs := parseLines(t, tc.line).invocations()
			if len(invs) != 1 {
				t.Fatalf("got %d invocations", len(invs))
			}
			g := *invs[0]
			g.Time, g.Reported, g.Status, g.Error, g.ColdStart = 0, false, "", nil, false
			if g != tc.want {
				t.Errorf("got  %+v\nwant %+v", g, tc.want)
			}
		})
	}
}

// Every REPORT line of the AWS documentation (testdata/awsdocs_report.log, from
// the shared samples) parses with its duration and memory.
func TestAWSDocsReportsAllParse(t *testing.T) {
	f, err := os.Open("testdata/awsdocs_report.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || !strings.Contains(l, "REPORT") {
			continue
		}
		n++
		r := parseLines(t, l)
		invs := r.invocations()
		if len(invs) != 1 || len(r.out) != 1 {
			t.Errorf("%q: %d outputs", l, len(r.out))
			continue
		}
		if g := invs[0]; g.DurationMs <= 0 || g.BilledDurationMs <= 0 || g.MemorySizeMB <= 0 || g.MaxMemoryUsedMB <= 0 || g.RequestID == "" || g.Status != "success" {
			t.Errorf("%q parsed as %+v", l, g)
		}
	}
	if n != 20 {
		t.Fatalf("found %d REPORT lines, want the 20 of the shared sample", n)
	}
}

func TestFingerprint(t *testing.T) {
	same := [][2]string{
		{"at Runtime.handler (file:///var/task/index.mjs:14:27)", "at Runtime.handler (file:///var/task/index.mjs:15:31)"},
		{`File "/var/task/app.py", line 17, in process`, "\u00a0\u00a0File \"/var/task/app.py\", line 19, in process"},
		{"example.com/orders.worker(0xc0000a6000, 0x5) /build/orders/worker.go", "example.com/orders.worker(0xc0000b7000, 0x9) /build/orders/worker.go"},
		{"at a.B.c(B.java:10)", "at a.B.c(B.java:99)"},
		{"handler /tmp/9c2a7c5e-6d4b-4f7a-9b1e-3c5d7e9f1a2b/x.js", "handler /tmp/1f0e2d3c-4b5a-4697-8877-665544332211/x.js"},
	}
	for _, s := range same {
		if Fingerprint("T", s[0]) != Fingerprint("T", s[1]) {
			t.Errorf("%q and %q fingerprint differently", s[0], s[1])
		}
	}
	if Fingerprint("KeyError", "f") == Fingerprint("ValueError", "f") {
		t.Error("type not part of the fingerprint")
	}
	if Fingerprint("T", "at a.B.c(B.java:10)") == Fingerprint("T", "at a.B.d(B.java:10)") {
		t.Error("frame function not part of the fingerprint")
	}
	if fp := Fingerprint("T", ""); !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(fp) {
		t.Errorf("fingerprint %q is not 16 hex digits", fp)
	}
	// Messages with different numbers: same fingerprint (the message is not part of it).
	a := parseLines(t, "[ERROR] KeyError: 'order 1'", "REPORT RequestId: a1\tDuration: 1 ms").invocations()
	b := parseLines(t, "[ERROR] KeyError: 'order 2'", "REPORT RequestId: a2\tDuration: 1 ms").invocations()
	if a[0].Error.Fingerprint != b[0].Error.Fingerprint {
		t.Error("message changes the fingerprint")
	}
}

func TestMessageBounded(t *testing.T) {
	long := strings.Repeat("é", 400)
	invs := parseLines(t, "[ERROR] ValueError: "+long+"\nsecond line", "REPORT RequestId: a\tDuration: 1 ms").invocations()
	m := invs[0].Error.Message
	if len(m) > MaxMessage || strings.Contains(m, "second") || !strings.HasPrefix(m, "éé") || !utf8Valid(m) {
		t.Fatalf("message not bounded to one valid line: %d bytes", len(m))
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

func TestBadLinesTyped(t *testing.T) {
	r := parseLines(t,
		"REPORT garbage",
		`{"time":"t","type":"platform.report","record":"not an object"}`,
		`{"time":"t","type":"platform.report","record":{"requestId":"x","metrics":{"durationMs":"fast"}}}`,
		"SERVERLESS_TELEMETRY.1.%%%",
		"SERVERLESS_TELEMETRY.1.ab.1.3.QUJD",
	)
	var kinds []string
	for _, e := range r.out {
		if e.BadLine != "" {
			kinds = append(kinds, e.BadLine)
		}
	}
	if len(kinds) != 5 {
		t.Fatalf("bad lines = %q, want 5", kinds)
	}
	var rr recorder
	p := NewParser(&errSink{&rr})
	p.Line(1, []byte("REPORT garbage"))
	p.Line(2, []byte("SERVERLESS_TELEMETRY.1.ab.1.3.QUJD"))
	p.Flush()
}

// errSink checks that BadLine errors are typed.
type errSink struct{ *recorder }

func (s *errSink) BadLine(err error) {
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, telemetry.ErrCorrupt) && !errors.Is(err, telemetry.ErrIncomplete) &&
		!errors.Is(err, telemetry.ErrTooLarge) && !errors.Is(err, telemetry.ErrVersion) {
		panic(fmt.Sprintf("untyped bad line error: %v", err))
	}
}

// The common path (START / END / REPORT / XRAY, platform events, application
// lines) allocates nothing once the parser has seen its streams.
func TestCommonPathDoesNotAllocate(t *testing.T) {
	lines := commonLines()
	p := NewParser(discard{})
	run := func() {
		p.Stream([]byte("2024/01/01/[$LATEST]a"))
		for i, l := range lines {
			p.Line(int64(i), l)
		}
		p.Stream([]byte("2024/01/01/[$LATEST]b"))
		for i, l := range lines {
			p.Line(int64(i), l)
		}
	}
	run()
	p.Flush()
	run() // warm the reused stream buffers
	if n := testing.AllocsPerRun(50, run); n > 0 {
		t.Fatalf("%v allocations per run of %d lines", n, 2*len(lines))
	}
}

type discard struct{}

func (discard) Invocation(*Invocation)       {}
func (discard) Telemetry(*telemetry.Payload) {}
func (discard) BadLine(error)                {}

func commonLines() [][]byte {
	var out [][]byte
	for i := range 20 {
		id := fmt.Sprintf("9c2a7c5e-6d4b-4f7a-9b1e-3c5d7e9f%04x", i)
		out = append(out,
			[]byte("START RequestId: "+id+" Version: $LATEST\n"),
			[]byte("2024-01-01T00:00:00.000Z\t"+id+"\tINFO\tprocessing order 4711 for customer 42\n"),
			[]byte("[INFO]\t2024-01-01T00:00:00.000Z\t"+id+"\tFound 3 records in table orders\n"),
			[]byte("2024-01-01T00:00:00.001Z\t"+id+"\tERROR\tpayment provider returned 502, retrying\n"),
			[]byte(`{"timestamp":"2024-01-01T00:00:00Z","level":"INFO","message":"cache hit","requestId":"`+id+`"}`),
			[]byte("END RequestId: "+id+"\n"),
			[]byte("REPORT RequestId: "+id+"\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 81 MB\tInit Duration: 171.52 ms\t\nXRAY TraceId: 1-67a9ad06-3c1b2d4e5f60718293a4b5c6\tSegmentId: 5a6b7c8d9e0f1a2b\tSampled: true\n"),
			[]byte(`{"time":"2024-01-01T00:00:00.000Z","type":"platform.start","record":{"requestId":"`+id+`","version":"$LATEST"}}`),
			[]byte(`{"time":"2024-01-01T00:00:00.100Z","type":"platform.runtimeDone","record":{"requestId":"`+id+`","status":"success","metrics":{"durationMs":1.056,"producedBytes":50}}}`),
			[]byte(`{"time":"2024-01-01T00:00:00.100Z","type":"platform.report","record":{"requestId":"`+id+`","metrics":{"durationMs":18.593,"billedDurationMs":19,"memorySizeMB":2048,"maxMemoryUsedMB":246},"status":"success"}}`),
		)
	}
	return out
}

func BenchmarkParser(b *testing.B) {
	lines := commonLines()
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	p := NewParser(discard{})
	stream := []byte("2024/01/01/[$LATEST]a")
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		p.Stream(stream)
		for i, l := range lines {
			p.Line(int64(i), l)
		}
		p.Flush()
	}
}

func FuzzParserLine(f *testing.F) {
	for _, l := range commonLines()[:10] {
		f.Add(l, []byte("REPORT RequestId: x\tDuration: 1 ms"))
	}
	seeds := []string{
		"[ERROR] KeyError: 'a'\nTraceback (most recent call last):\n\u00a0\u00a0File \"/var/task/a.py\", line 1, in h",
		"panic: boom\n\ngoroutine 1 [running]:\nmain.h()\n\t/a.go:1 +0x1",
		"java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)",
		"2024-01-01T00:00:00.000Z\tid\tERROR\tInvoke Error \t{\"errorType\":\"E\",\"errorMessage\":\"m\",\"stack\":[\"E: m\",\"    at f (/a.js:1:1)\"]}",
		"RequestId: x Error: Runtime exited with error: signal: killed\nRuntime.ExitError",
		"INIT_REPORT Init Duration: 1 ms\tPhase: invoke\tStatus: error\tError Type: Runtime.ExitError",
		`{"time":"t","type":"platform.report","record":{"requestId":"x","metrics":{"durationMs":1e3},"status":"error","errorType":"Runtime.OutOfMemory"}}`,
		`{"errorType":"E","stackTrace":[{"path":"a.go","line":1,"label":"f"}]}`,
		"SERVERLESS_TELEMETRY.1.ab.1.2.QUJD",
		`{"a":"\ud83d\ude00\u00zz","b":[1,{"c":"\"}"}]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), []byte("REPORT RequestId: x\tDuration: 1 ms\tStatus: error"))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var c counter
		p := NewParser(&c)
		lines := 0
		for _, stream := range [][]byte{[]byte("s1"), []byte("s2"), []byte("s1")} {
			p.Stream(stream)
			for _, m := range [][]byte{a, b, a} {
				p.Line(1, m)
				lines++
			}
			// Also split on newlines, as separate events.
			for _, m := range bytes.Split(a, []byte{'\n'}) {
				p.Line(2, m)
				lines++
			}
		}
		p.Flush()
		p.Line(3, b)
		lines++
		p.Flush()
		if c.invocations > lines {
			t.Fatalf("%d invocations from %d lines", c.invocations, lines)
		}
	})
}

type counter struct{ invocations int }

func (c *counter) Invocation(inv *Invocation) {
	c.invocations++
	if e := inv.Error; e != nil && (len(e.Message) > MaxMessage || len(e.Type) > maxType || len(e.Fingerprint) != 16) {
		panic(fmt.Sprintf("unbounded error %+v", e))
	}
	if inv.DurationMs < 0 || inv.DurationMs != inv.DurationMs {
		panic("bad duration")
	}
}
func (c *counter) Telemetry(*telemetry.Payload) {}
func (c *counter) BadLine(err error) {
	if err == nil {
		panic("nil bad line")
	}
}
