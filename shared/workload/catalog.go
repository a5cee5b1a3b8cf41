package workload

import (
	"strconv"
)

// runtimeKind selects a runtime's log format.
type runtimeKind uint8

const (
	rtNode runtimeKind = iota
	rtPython
	rtJava
	rtGo
	rtRuby
	rtDotnet
	rtCustom
)

func (k runtimeKind) String() string {
	return [...]string{"nodejs", "python", "java", "go", "ruby", "dotnet", "custom"}[k]
}

// oomKind is how an out-of-memory invocation shows in the logs.
type oomKind uint8

const (
	oomNone       oomKind = iota
	oomNodeHeap           // FATAL ERROR ... JavaScript heap out of memory, then Runtime.ExitError
	oomJSONReport         // platform.report status error, errorType Runtime.OutOfMemory
	oomPython             // [ERROR] MemoryError
	oomJava               // java.lang.OutOfMemoryError
	oomKilled             // Runtime exited with error: signal: killed; Max Memory Used == Memory Size
	oomGo                 // fatal error: runtime: out of memory
	oomRuby               // Function<NoMemoryError>
)

var oomSignal = [...]string{
	oomNone:       "",
	oomNodeHeap:   "JavaScript heap out of memory",
	oomJSONReport: "Runtime.OutOfMemory",
	oomPython:     "MemoryError",
	oomJava:       "java.lang.OutOfMemoryError",
	oomKilled:     "signal: killed",
	oomGo:         "fatal error: runtime: out of memory",
	oomRuby:       "NoMemoryError",
}

// scenarioKind marks the function that carries an alert scenario.
type scenarioKind uint8

const (
	scNone scenarioKind = iota
	scNewError
	scApproaching
	scUnusual
	scBurst
)

// xrayMode is where the REPORT line's XRAY fields go.
type xrayMode uint8

const (
	xrayNone     xrayMode = iota
	xrayNextLine          // REPORT ...\t\nXRAY TraceId: ... in the same event
	xraySameLine          // REPORT ...\tXRAY TraceId: ...
)

// failure is an unhandled error of a function.
type failure struct {
	typ    string
	msg    string
	frames []string // runtime-formatted stack frames
	crash  bool     // the runtime process exits: Runtime.ExitError, container recycled
	exit   string   // crash: "exit status 1"
	panic  bool     // Go: a recovered panic; the runtime exits after reporting it
	from   float64  // earliest occurrence as a fraction of the period (a new error type)
}

// archetype is one function of the built-in catalog.
type archetype struct {
	name      string
	kind      runtimeKind
	runtime   string
	runtimeV  string // INIT_START runtime version
	json      bool   // logFormat JSON
	arch      string
	memMB     int32
	timeoutS  int
	logGroup  string // custom log group (LoggingConfig); "" = /aws/lambda/<name>
	weight    float64
	medianMs  float64
	sigma     float64
	memUse    float64 // typical fraction of memory used
	errRate   float64
	errors    []*failure
	oom       oomKind
	oomPer10k float64 // at least 2 when oom != oomNone
	toPer10k  float64 // timeouts; at least 2 when > 0
	xray      xrayMode
	status    bool // REPORT carries Status: / Error Type: on failures
	telemetry bool // instrumented: calls Config.Telemetry
	scenario  scenarioKind
	flat      bool // flat traffic (no daily curve)
	tight     bool // durations within [0.75, 1.5] x median
}

func nodeFrames(file string, line int) []string {
	return []string{
		"    at Runtime.handler (file:///var/task/" + file + ":" + strconv.Itoa(line) + ":19)",
		"    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
	}
}

// catalog is the built-in fleet: every runtime, both log formats, every failure
// signal and every alert scenario. Functions beyond it repeat its plain members.
var catalog = []archetype{
	{name: "orders-api", kind: rtNode, runtime: "nodejs20.x", runtimeV: "nodejs:20.v43", arch: "arm64", memMB: 512, timeoutS: 6,
		weight: 10, medianMs: 45, sigma: 0.6, memUse: 0.35, errRate: 0.006, xray: xraySameLine, telemetry: true,
		errors: []*failure{
			{typ: "TypeError", msg: "Cannot read properties of undefined (reading 'id')", frames: nodeFrames("index.mjs", 27)},
			{typ: "SyntaxError", msg: "Unexpected token 'u', \"user=42&qty=1\" is not valid JSON", frames: []string{
				"    at JSON.parse (<anonymous>)", "    at Runtime.handler (file:///var/task/index.mjs:14:22)"}},
		}},
	{name: "checkout-worker", kind: rtNode, runtime: "nodejs22.x", runtimeV: "nodejs:22.v31", json: true, arch: "x86_64", memMB: 1024, timeoutS: 15,
		weight: 6, medianMs: 220, sigma: 0.5, memUse: 0.3, errRate: 0.008, oom: oomJSONReport, oomPer10k: 4, telemetry: true,
		errors: []*failure{{typ: "PaymentDeclinedError", msg: "Payment provider declined the charge: insufficient_funds", frames: nodeFrames("checkout.mjs", 88)}}},
	{name: "image-resizer", kind: rtNode, runtime: "nodejs20.x", runtimeV: "nodejs:20.v43", arch: "x86_64", memMB: 256, timeoutS: 30,
		weight: 3, medianMs: 800, sigma: 0.7, memUse: 0.6, errRate: 0.004, oom: oomNodeHeap, oomPer10k: 10,
		errors: []*failure{{typ: "Error", msg: "Input buffer contains unsupported image format", frames: []string{
			"    at Sharp.toBuffer (/var/task/node_modules/sharp/lib/output.js:163:17)", "    at Runtime.handler (file:///var/task/index.mjs:31:8)"}}}},
	{name: "payments-webhook", kind: rtPython, runtime: "python3.12", runtimeV: "python:3.12.v58", arch: "arm64", memMB: 256, timeoutS: 10,
		weight: 7, medianMs: 120, sigma: 0.5, memUse: 0.4, errRate: 0.007, xray: xrayNextLine, telemetry: true, scenario: scNewError,
		errors: []*failure{
			{typ: "KeyError", msg: "'customer_id'", frames: []string{
				"  File \"/var/task/app.py\", line 42, in handler\n    customer = event[\"customer_id\"]"}},
			{typ: "ClientError", msg: "An error occurred (ThrottlingException) when calling the PutItem operation (reached max retries: 4): Rate of requests exceeds the allowed throughput.", from: 0.55, frames: []string{
				"  File \"/var/task/app.py\", line 57, in handler\n    table.put_item(Item=item)",
				"  File \"/var/lang/lib/python3.12/site-packages/botocore/client.py\", line 1023, in _make_api_call\n    raise error_class(parsed_response, operation_name)"}},
		}},
	{name: "report-builder", kind: rtPython, runtime: "python3.12", runtimeV: "python:3.12.v58", arch: "x86_64", memMB: 512, timeoutS: 60,
		weight: 2, medianMs: 2500, sigma: 0.6, memUse: 0.55, errRate: 0.005, oom: oomPython, oomPer10k: 10,
		errors: []*failure{{typ: "ValueError", msg: "could not convert string to float: 'N/A'", frames: []string{
			"  File \"/var/task/report.py\", line 88, in handler\n    total += float(row[\"amount\"])"}}}},
	{name: "inventory-sync", kind: rtPython, runtime: "python3.13", runtimeV: "python:3.13.v31", json: true, arch: "arm64", memMB: 256, timeoutS: 20,
		weight: 3, medianMs: 1800, sigma: 0.8, memUse: 0.45, errRate: 0.004, toPer10k: 20,
		errors: []*failure{{typ: "ConnectTimeoutError", msg: "Connect timeout on endpoint URL: \"https://inventory.internal.example.com/v2/items\"", frames: []string{
			"  File \"/var/task/sync.py\", line 31, in handler\n    resp = session.get(url, timeout=5)"}}}},
	{name: "ledger-service", kind: rtJava, runtime: "java21", runtimeV: "java:21.v35", arch: "x86_64", memMB: 1024, timeoutS: 15,
		weight: 5, medianMs: 90, sigma: 0.5, memUse: 0.3, errRate: 0.004, xray: xrayNextLine,
		errors: []*failure{{typ: "java.lang.ArithmeticException", msg: "/ by zero", frames: []string{
			"com.example.ledger.Handler.allocate(Handler.java:61)", "com.example.ledger.Handler.handleRequest(Handler.java:27)"}}}},
	{name: "pdf-export", kind: rtJava, runtime: "java17", runtimeV: "java:17.v44", arch: "x86_64", memMB: 768, timeoutS: 120,
		weight: 1.5, medianMs: 4000, sigma: 0.5, memUse: 0.6, errRate: 0.004, oom: oomJava, oomPer10k: 12,
		errors: []*failure{{typ: "java.lang.IllegalStateException", msg: "Template 'invoice-v3' not found", frames: []string{
			"com.example.pdf.Templates.load(Templates.java:44)", "com.example.pdf.ExportHandler.handleRequest(ExportHandler.java:33)"}}}},
	{name: "search-indexer", kind: rtJava, runtime: "java21", runtimeV: "java:21.v35", json: true, arch: "arm64", memMB: 2048, timeoutS: 30,
		weight: 3, medianMs: 300, sigma: 0.6, memUse: 0.25, errRate: 0.005,
		errors: []*failure{{typ: "java.io.UncheckedIOException", msg: "java.net.SocketTimeoutException: Read timed out", frames: []string{
			"com.example.search.Indexer.bulk(Indexer.java:102)", "com.example.search.IndexHandler.handleRequest(IndexHandler.java:40)"}}}},
	{name: "auth-authorizer", kind: rtGo, runtime: "provided.al2023", runtimeV: "provided:al2023.v98", arch: "arm64", memMB: 128, timeoutS: 3,
		weight: 9, medianMs: 8, sigma: 0.4, memUse: 0.25, errRate: 0.003, xray: xrayNextLine,
		errors: []*failure{
			{typ: "errorString", msg: "token expired"},
			{typ: "runtimeError", msg: "runtime error: invalid memory address or nil pointer dereference", panic: true, frames: []string{
				"github.com/aws/aws-lambda-go@v1.55.1/lambda/errors.go|39|lambdaPanicResponse",
				"github.com/example/auth/claims.go|58|parseClaims",
				"github.com/example/auth/main.go|31|handler"}},
		}},
	{name: "event-router", kind: rtGo, runtime: "provided.al2023", runtimeV: "provided:al2023.v98", json: true, arch: "arm64", memMB: 256, timeoutS: 10,
		weight: 5, medianMs: 25, sigma: 0.5, memUse: 0.2, errRate: 0.004, oom: oomGo, oomPer10k: 2,
		errors: []*failure{{typ: "wrapError", msg: "route event: no rule matches detail-type \"OrderShipped\""}}},
	{name: "billing-cron", kind: rtRuby, runtime: "ruby3.3", runtimeV: "ruby:3.3.v27", arch: "x86_64", memMB: 512, timeoutS: 30,
		weight: 1.5, medianMs: 3000, sigma: 0.4, memUse: 0.4, errRate: 0.006, toPer10k: 10, oom: oomRuby, oomPer10k: 2, status: true,
		errors: []*failure{{typ: "Function<NoMethodError>", msg: "undefined method `amount' for nil", frames: []string{
			"/var/task/billing.rb:23:in `block in handler'", "/var/task/billing.rb:21:in `each'", "/var/task/billing.rb:21:in `handler'"}}}},
	{name: "email-sender", kind: rtDotnet, runtime: "dotnet8", runtimeV: "dotnet:8.v40", arch: "x86_64", memMB: 512, timeoutS: 15,
		weight: 3, medianMs: 150, sigma: 0.5, memUse: 0.3, errRate: 0.005,
		errors: []*failure{{typ: "System.InvalidOperationException", msg: "Sequence contains no elements", frames: []string{
			"   at System.Linq.ThrowHelper.ThrowNoElementsException()",
			"   at EmailSender.Function.FunctionHandler(SQSEvent evnt, ILambdaContext context) in /src/EmailSender/Function.cs:line 41"}}}},
	{name: "geo-lookup", kind: rtCustom, runtime: "provided.al2", runtimeV: "provided:al2.v91", arch: "arm64", memMB: 128, timeoutS: 5,
		weight: 3, medianMs: 12, sigma: 0.5, memUse: 0.15, errRate: 0.003, status: true,
		errors: []*failure{
			{typ: "Runtime.ExitError", msg: "Runtime exited with error: exit status 1", crash: true, exit: "exit status 1"},
			{typ: "Runtime.ExitError", msg: "Runtime exited with error: exit status 137", crash: true, exit: "exit status 137"},
		}},
	{name: "thumbnail-gen", kind: rtNode, runtime: "nodejs20.x", runtimeV: "nodejs:20.v43", arch: "arm64", memMB: 512, timeoutS: 30,
		logGroup: "/sightline-demo/media-pipeline", weight: 2, medianMs: 600, sigma: 0.6, memUse: 0.5, errRate: 0.003,
		oom: oomKilled, oomPer10k: 12, status: true,
		errors: []*failure{{typ: "Error", msg: "ENOSPC: no space left on device, write", frames: []string{
			"    at async open (node:internal/fs/promises:639:25)", "    at async Runtime.handler (file:///var/task/index.mjs:52:3)"}}}},
	{name: "notifications-fanout", kind: rtPython, runtime: "python3.12", runtimeV: "python:3.12.v58", arch: "arm64", memMB: 256, timeoutS: 10,
		logGroup: "/sightline-demo/notifications", weight: 4, medianMs: 60, sigma: 0.4, memUse: 0.3, errRate: 0.002,
		scenario: scBurst, flat: true,
		errors: []*failure{{typ: "ParamValidationError", msg: "Parameter validation failed:\nInvalid length for parameter TopicArn, value: 0, valid min length: 1", frames: []string{
			"  File \"/var/task/fanout.py\", line 19, in handler\n    sns.publish(TopicArn=topic, Message=body)"}}}},
	{name: "slow-reconciler", kind: rtNode, runtime: "nodejs20.x", runtimeV: "nodejs:20.v43", arch: "x86_64", memMB: 512, timeoutS: 10,
		weight: 2, medianMs: 1500, sigma: 0.3, memUse: 0.35, errRate: 0.003, status: true, scenario: scApproaching,
		errors: []*failure{{typ: "ReconciliationError", msg: "drift of 3 records exceeds the threshold of 0", frames: nodeFrames("reconcile.mjs", 120)}}},
	{name: "catalog-read", kind: rtGo, runtime: "provided.al2023", runtimeV: "provided:al2023.v98", arch: "arm64", memMB: 256, timeoutS: 5,
		weight: 6, medianMs: 40, sigma: 0.15, memUse: 0.2, scenario: scUnusual, tight: true},
	{name: "session-cleaner", kind: rtPython, runtime: "python3.12", runtimeV: "python:3.12.v58", arch: "arm64", memMB: 128, timeoutS: 3,
		weight: 2, medianMs: 900, sigma: 0.5, memUse: 0.5, toPer10k: 25},
	{name: "audit-writer", kind: rtDotnet, runtime: "dotnet8", runtimeV: "dotnet:8.v40", json: true, arch: "arm64", memMB: 256, timeoutS: 10,
		weight: 3, medianMs: 70, sigma: 0.5, memUse: 0.35, errRate: 0.004,
		errors: []*failure{{typ: "System.Net.Http.HttpRequestException", msg: "Connection refused (audit.internal.example.com:443)", frames: []string{
			"   at System.Net.Http.HttpConnectionPool.ConnectToTcpHostAsync(String host, Int32 port, HttpRequestMessage initialRequest, Boolean async, CancellationToken cancellationToken)",
			"   at AuditWriter.Function.FunctionHandler(AuditEvent input, ILambdaContext context) in /src/AuditWriter/Function.cs:line 28"}}}},
}

// extras are the catalog members repeated (as plain functions) beyond MinFunctions.
var extras = []int{0, 3, 6, 9, 12, 19, 8, 10, 13, 1}

// archetypeFor returns function i's archetype and name.
func archetypeFor(i int) (archetype, string) {
	if i < len(catalog) {
		a := catalog[i]
		return a, a.name
	}
	a := catalog[extras[(i-len(catalog))%len(extras)]]
	n := (i-len(catalog))/len(extras) + 2
	name := a.name + "-" + strconv.Itoa(n)
	// Repeats are plain: no scenario, no OOM or timeouts, only errors that
	// occur all period long, and a smaller share of the traffic.
	a.scenario, a.oom, a.oomPer10k, a.toPer10k, a.flat, a.tight = scNone, oomNone, 0, 0, false, false
	a.logGroup = ""
	a.weight *= 0.4
	var errs []*failure
	for _, f := range a.errors {
		if f.from == 0 {
			errs = append(errs, f)
		}
	}
	a.errors = errs
	return a, name
}
