package invocation

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sightline/sightline/shared/telemetry"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// recorder is a Sink that keeps copies of everything it is given.
type recorder struct {
	out []entry
}

type entry struct {
	Invocation *invocationJSON `json:"invocation,omitempty"`
	Telemetry  *telemetryJSON  `json:"telemetry,omitempty"`
	BadLine    string          `json:"badLine,omitempty"`
}

type invocationJSON struct {
	RequestID               string  `json:"requestId,omitempty"`
	Time                    int64   `json:"time"`
	Reported                bool    `json:"reported"`
	Status                  string  `json:"status"`
	DurationMs              float64 `json:"durationMs,omitempty"`
	BilledDurationMs        float64 `json:"billedDurationMs,omitempty"`
	MemorySizeMB            int32   `json:"memorySizeMB,omitempty"`
	MaxMemoryUsedMB         int32   `json:"maxMemoryUsedMB,omitempty"`
	InitDurationMs          float64 `json:"initDurationMs,omitempty"`
	RestoreDurationMs       float64 `json:"restoreDurationMs,omitempty"`
	BilledRestoreDurationMs float64 `json:"billedRestoreDurationMs,omitempty"`
	ColdStart               bool    `json:"coldStart,omitempty"`
	Error                   *Error  `json:"error,omitempty"`
}

type telemetryJSON struct {
	TraceID   string `json:"traceId"`
	RequestID string `json:"requestId,omitempty"`
	Spans     int    `json:"spans"`
	Errors    int    `json:"errors"`
}

func (r *recorder) Invocation(inv *Invocation) {
	r.out = append(r.out, entry{Invocation: &invocationJSON{
		RequestID: string(inv.RequestID), Time: inv.Time, Reported: inv.Reported, Status: inv.Status.String(),
		DurationMs: inv.DurationMs, BilledDurationMs: inv.BilledDurationMs,
		MemorySizeMB: inv.MemorySizeMB, MaxMemoryUsedMB: inv.MaxMemoryUsedMB,
		InitDurationMs: inv.InitDurationMs, RestoreDurationMs: inv.RestoreDurationMs,
		BilledRestoreDurationMs: inv.BilledRestoreDurationMs, ColdStart: inv.ColdStart(), Error: inv.Error,
	}})
}

func (r *recorder) Telemetry(p *telemetry.Payload) {
	r.out = append(r.out, entry{Telemetry: &telemetryJSON{TraceID: p.TraceID, RequestID: p.RequestID, Spans: len(p.Spans), Errors: len(p.Errors)}})
}

func (r *recorder) BadLine(err error) { r.out = append(r.out, entry{BadLine: err.Error()}) }

func (r *recorder) invocations() []*invocationJSON {
	var out []*invocationJSON
	for _, e := range r.out {
		if e.Invocation != nil {
			out = append(out, e.Invocation)
		}
	}
	return out
}

// replayLog feeds a testdata .log file to p. Format: log events separated by a
// line "---". A block may start with directives: "# comment", "@stream NAME",
// "@t MILLIS" (timestamp; default: previous + 1), "@cr" (join the message's
// lines with \r instead of \n), "@nl" (end the message with \n), "@flush" (end
// the batch before this block). The rest of the block is the message. The file
// ends with a Flush.
func replayLog(t testing.TB, p *Parser, data []byte) {
	t.Helper()
	ts := int64(1700000000000)
	var msg []string
	cr, nl, inMsg := false, false, false
	emit := func() {
		if len(msg) > 0 {
			sep := "\n"
			if cr {
				sep = "\r"
			}
			m := strings.Join(msg, sep)
			if nl {
				m += "\n"
			}
			p.Line(ts, []byte(m))
			ts++
		}
		msg, cr, nl, inMsg = nil, false, false, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "---" {
			emit()
			continue
		}
		if !inMsg {
			switch {
			case strings.HasPrefix(line, "#"):
				continue
			case strings.HasPrefix(line, "@stream "):
				p.Stream([]byte(strings.TrimPrefix(line, "@stream ")))
				continue
			case strings.HasPrefix(line, "@t "):
				v, err := strconv.ParseInt(strings.TrimPrefix(line, "@t "), 10, 64)
				if err != nil {
					t.Fatalf("bad @t line %q", line)
				}
				ts = v
				continue
			case line == "@cr":
				cr = true
				continue
			case line == "@nl":
				nl = true
				continue
			case line == "@flush":
				p.Flush()
				continue
			}
		}
		inMsg = true
		msg = append(msg, line)
	}
	emit()
	p.Flush()
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.log")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".log")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var r recorder
			replayLog(t, NewParser(&r), data)
			got, err := json.MarshalIndent(r.out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".log") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run with -update after checking):\n%s", golden, diffLines(string(want), string(got)))
			}
		})
	}
}

// diffLines shows the first differing lines.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + a + "\n got: " + b
		}
	}
	return ""
}
