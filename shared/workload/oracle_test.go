package workload_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/telemetry"
	"github.com/sightline/sightline/shared/workload"
)

// The tests share one mid-sized workload with a telemetry hook.
var (
	fixtureOnce sync.Once
	fixture     *workload.Workload
	fixtureErr  error
)

// fakeTelemetry stands in for the telemetry package's encoder: two chunks.
func fakeTelemetry(t workload.Trace) []string {
	p := fmt.Sprintf("%s|%s|%s|%d", t.Function, t.RequestID, t.Status, t.Duration.Microseconds())
	return []string{"SERVERLESS_TELEMETRY.T.1.1/2." + p, "SERVERLESS_TELEMETRY.T.1.2/2." + t.TraceID}
}

func testWorkload(t testing.TB) *workload.Workload {
	t.Helper()
	fixtureOnce.Do(func() {
		fixture, fixtureErr = workload.Generate(workload.Config{Seed: 42, Functions: 23, Invocations: 20_000, Telemetry: fakeTelemetry})
	})
	if fixtureErr != nil {
		t.Fatalf("Generate: %v", fixtureErr)
	}
	return fixture
}

// decodeDoc inflates with the standard library and decodes with the aws-lambda-go type.
func decodeDoc(t testing.TB, gz []byte) events.CloudwatchLogsData {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	var d events.CloudwatchLogsData
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("decode document: %v", err)
	}
	return d
}

// oracle recounts the truth from the documents alone, slowly and naively:
// encoding/json for the envelopes and JSON lines, string matching for the rest.
// It joins a failure's lines to the invocation whose START / platform.start last
// appeared in the same log stream.
type oracle struct {
	fnByGroup map[string]int // owner/logGroup -> function
	fns       []workload.Function
	truth     []workload.Truth
	types     []map[string]bool
	current   map[string]string // stream -> request id in flight
	pending   map[string]*signals
	reports   map[string]bool
}

type signals struct {
	timeout, oom, failed bool
	errType              string
}

func newOracle(fns []workload.Function) *oracle {
	o := &oracle{fnByGroup: map[string]int{}, fns: fns, current: map[string]string{}, pending: map[string]*signals{}, reports: map[string]bool{}}
	for i, f := range fns {
		o.fnByGroup[f.Account+"/"+f.LogGroup] = i
		o.truth = append(o.truth, workload.Truth{Account: f.Account, Region: f.Region, Function: f.Name, MemorySizeMB: f.MemorySizeMB, ErrorTypes: []string{}})
		o.types = append(o.types, map[string]bool{})
	}
	return o
}

func (o *oracle) sig(req string) *signals {
	s := o.pending[req]
	if s == nil {
		s = &signals{}
		o.pending[req] = s
	}
	return s
}

var oomMarks = []string{"Runtime.OutOfMemory", "signal: killed", "JavaScript heap out of memory", "[ERROR] MemoryError",
	"java.lang.OutOfMemoryError", "fatal error: runtime: out of memory", "NoMemoryError"}

func (o *oracle) document(t testing.TB, d events.CloudwatchLogsData) {
	if d.MessageType != "DATA_MESSAGE" {
		return
	}
	fi, ok := o.fnByGroup[d.Owner+"/"+d.LogGroup]
	if !ok {
		t.Fatalf("document of unknown log group %s/%s", d.Owner, d.LogGroup)
	}
	stream := d.LogGroup + "|" + d.LogStream
	for _, e := range d.LogEvents {
		m := e.Message
		req := o.current[stream]
		switch {
		case strings.HasPrefix(m, "START RequestId: "):
			o.current[stream] = strings.Fields(m)[2]
		case strings.HasPrefix(m, "REPORT RequestId: "):
			o.textReport(t, fi, m)
		case strings.HasPrefix(m, `{"time":`) && strings.Contains(m, `"type":"platform.`):
			o.platform(t, fi, stream, m)
		case strings.HasPrefix(m, "SERVERLESS_TELEMETRY"):
			o.truth[fi].TelemetryEvents++
		default:
			oom := false
			for _, mark := range oomMarks {
				oom = oom || strings.Contains(m, mark)
			}
			timeout := strings.Contains(m, "Task timed out after ")
			typ := errorTypeOf(m)
			if !oom && !timeout && typ == "" {
				continue
			}
			s := o.sig(req)
			s.oom = s.oom || oom
			s.timeout = s.timeout || timeout
			if typ != "" {
				s.failed = true
				if s.errType == "" || typ == "Runtime.ExitError" {
					s.errType = typ
				}
			}
		}
	}
}

// errorTypeOf finds the error type a line names, if any.
func errorTypeOf(m string) string {
	if i := strings.Index(m, `"errorType":`); i >= 0 {
		rest := strings.TrimLeft(m[i+len(`"errorType":`):], " ")
		var typ string
		if err := json.NewDecoder(strings.NewReader(rest)).Decode(&typ); err == nil {
			return typ
		}
	}
	if rest, ok := strings.CutPrefix(m, "[ERROR] "); ok {
		typ, _, _ := strings.Cut(rest, "\n")
		typ, _, _ = strings.Cut(typ, ":")
		return typ
	}
	if _, rest, ok := strings.Cut(m, "\tfail\t"); ok {
		typ, _, _ := strings.Cut(rest, ":")
		return typ
	}
	if strings.HasPrefix(m, "RequestId: ") && strings.HasSuffix(m, "\nRuntime.ExitError\n") {
		return "Runtime.ExitError"
	}
	return ""
}

// usOf converts "45.23" (ms) into microseconds exactly.
func usOf(t testing.TB, ms string) int64 {
	f, err := strconv.ParseFloat(ms, 64)
	if err != nil {
		t.Fatalf("duration %q: %v", ms, err)
	}
	return int64(math.Round(f * 1000))
}

func (o *oracle) textReport(t testing.TB, fi int, m string) {
	var req string
	var dur, billed, init int64
	var mem, maxMem int32
	var status string
	for _, f := range strings.Split(strings.SplitN(m, "\n", 2)[0], "\t") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), ": ")
		v = strings.TrimSuffix(strings.TrimSuffix(v, " ms"), " MB")
		switch k {
		case "REPORT RequestId":
			req = v
		case "Duration":
			dur = usOf(t, v)
		case "Billed Duration":
			billed = usOf(t, v) / 1000
		case "Memory Size":
			mem = int32(usOf(t, v) / 1000)
		case "Max Memory Used":
			maxMem = int32(usOf(t, v) / 1000)
		case "Init Duration":
			init = usOf(t, v)
		case "Status":
			status = v
		}
	}
	s := o.sig(req)
	if status == "timeout" {
		s.timeout = true
	}
	if maxMem >= mem {
		s.oom = true
	}
	o.finish(t, fi, req, dur, billed, maxMem, init)
}

func (o *oracle) platform(t testing.TB, fi int, stream, m string) {
	var ev struct {
		Type   string `json:"type"`
		Record struct {
			RequestID string `json:"requestId"`
			Status    string `json:"status"`
			ErrorType string `json:"errorType"`
			Metrics   struct {
				DurationMs       float64 `json:"durationMs"`
				BilledDurationMs int64   `json:"billedDurationMs"`
				MemorySizeMB     int32   `json:"memorySizeMB"`
				MaxMemoryUsedMB  int32   `json:"maxMemoryUsedMB"`
				InitDurationMs   float64 `json:"initDurationMs"`
			} `json:"metrics"`
		} `json:"record"`
	}
	if err := json.Unmarshal([]byte(m), &ev); err != nil {
		t.Fatalf("platform event %q: %v", m, err)
	}
	r := ev.Record
	switch ev.Type {
	case "platform.start":
		o.current[stream] = r.RequestID
	case "platform.report":
		s := o.sig(r.RequestID)
		switch {
		case r.Status == "timeout":
			s.timeout = true
		case r.ErrorType == "Runtime.OutOfMemory" || r.Metrics.MaxMemoryUsedMB >= r.Metrics.MemorySizeMB:
			s.oom = true
		case r.Status == "error":
			s.failed = true
		}
		o.finish(t, fi, r.RequestID, int64(math.Round(r.Metrics.DurationMs*1000)), r.Metrics.BilledDurationMs,
			r.Metrics.MaxMemoryUsedMB, int64(math.Round(r.Metrics.InitDurationMs*1000)))
	}
}

func (o *oracle) finish(t testing.TB, fi int, req string, dur, billed int64, maxMem int32, init int64) {
	if o.reports[req] {
		t.Fatalf("request %s reported twice", req)
	}
	o.reports[req] = true
	tr := &o.truth[fi]
	if tr.Invocations == 0 || dur < tr.DurationMinUs {
		tr.DurationMinUs = dur
	}
	tr.DurationMaxUs = max(tr.DurationMaxUs, dur)
	tr.Invocations++
	tr.DurationSumUs += dur
	tr.BilledDurationMs += billed
	tr.MaxMemoryUsedMB = max(tr.MaxMemoryUsedMB, maxMem)
	if init > 0 {
		tr.ColdStarts++
	}
	s := o.sig(req)
	switch {
	case s.timeout:
		tr.Errors++
		tr.Timeouts++
	case s.oom:
		tr.Errors++
		tr.OutOfMemory++
	case s.failed:
		tr.Errors++
		if s.errType != "" {
			o.types[fi][workload.StableErrorType(s.errType)] = true
		}
	}
	delete(o.pending, req)
}

func (o *oracle) result() []workload.Truth {
	for i := range o.truth {
		for typ := range o.types[i] {
			o.truth[i].ErrorTypes = append(o.truth[i].ErrorTypes, typ)
		}
		slices.Sort(o.truth[i].ErrorTypes)
	}
	return o.truth
}

func TestTruthMatchesOracle(t *testing.T) {
	w := testWorkload(t)
	o := newOracle(w.Functions)
	for _, d := range w.Documents() {
		o.document(t, decodeDoc(t, d.Gzip))
	}
	got := o.result()
	if len(got) != len(w.Truth) {
		t.Fatalf("oracle has %d functions, truth %d", len(got), len(w.Truth))
	}
	var total int64
	for i := range got {
		want := w.Truth[i]
		total += want.Invocations
		t.Run(want.Function, func(t *testing.T) {
			g, _ := json.Marshal(got[i])
			wt, _ := json.Marshal(want)
			if string(g) != string(wt) {
				t.Errorf("recount from the documents differs from the truth\n got %s\nwant %s", g, wt)
			}
		})
	}
	if total != int64(w.Config.Invocations) {
		t.Errorf("truth holds %d invocations, config asked for %d", total, w.Config.Invocations)
	}
	if len(o.pending) != 0 {
		t.Errorf("%d failures were never joined to a report", len(o.pending))
	}
}

// TestTelemetryLinesDecode runs the real encoder through the workload and decodes
// every SERVERLESS_TELEMETRY line with the telemetry package's decoder.
func TestTelemetryLinesDecode(t *testing.T) {
	w, err := workload.Generate(workload.Config{Seed: 5, Functions: 20, Invocations: 3000, Telemetry: workload.TelemetryLines})
	if err != nil {
		t.Fatal(err)
	}
	var dec telemetry.Decoder
	payloads := map[string]*telemetry.Payload{}
	chunked := 0
	for _, doc := range w.Documents() {
		d := decodeDoc(t, doc.Gzip)
		for _, e := range d.LogEvents {
			if !strings.HasPrefix(e.Message, telemetry.Prefix) {
				continue
			}
			if strings.Count(e.Message, ".") > 2 {
				chunked++
			}
			p, err := dec.Decode([]byte(d.LogGroup+"|"+d.LogStream), []byte(e.Message))
			if err != nil {
				t.Fatalf("decode %q: %v", e.Message, err)
			}
			if p != nil {
				payloads[p.RequestID] = p
			}
		}
	}
	dec.Flush(func(err error) { t.Errorf("flush: %v", err) })
	var lines int64
	for _, tr := range w.Truth {
		lines += tr.TelemetryEvents
	}
	want := 0
	for _, inv := range w.Invocations {
		switch w.Functions[inv.Function].Name {
		case "orders-api", "checkout-worker", "payments-webhook":
			want++
			p := payloads[inv.RequestID]
			if p == nil {
				t.Fatalf("no payload for instrumented invocation %s", inv.RequestID)
			}
			if (inv.ErrorType != "") != (len(p.Errors) == 1) {
				t.Fatalf("payload of %s: errors %v, invocation error %q", inv.RequestID, p.Errors, inv.ErrorType)
			}
		}
	}
	if len(payloads) != want || chunked == 0 || lines <= int64(want) {
		t.Fatalf("%d payloads for %d instrumented invocations, %d chunk lines, %d lines", len(payloads), want, chunked, lines)
	}
}
