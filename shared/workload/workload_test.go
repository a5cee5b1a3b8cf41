package workload_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sightline/sightline/shared/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\n got: %.600s\nwant: %.600s", path, got, want)
	}
}

// fingerprint hashes everything a workload emits and claims.
func fingerprint(t *testing.T, w *workload.Workload) string {
	t.Helper()
	h := sha256.New()
	for _, d := range w.Documents() {
		h.Write(d.Gzip)
	}
	for _, v := range []any{w.Functions, w.Truth, w.Scenarios} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestGenerateIsDeterministic(t *testing.T) {
	cfg := workload.Config{Seed: 7, Functions: 20, Invocations: 4000}
	a, err := workload.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := workload.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fa, fb := fingerprint(t, a), fingerprint(t, b)
	if fa != fb {
		t.Fatalf("same seed, different output: %s vs %s", fa, fb)
	}
	cfg.Seed = 8
	c, err := workload.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fc := fingerprint(t, c); fc == fa {
		t.Fatalf("seeds 7 and 8 gave the same output %s", fc)
	}
	golden(t, "seed7.sha256", []byte(fa+"\n"))
}

// TestSampleGolden pins the exact bytes of the first documents of a small
// workload, so any change of a log format is visible in review.
func TestSampleGolden(t *testing.T) {
	w, err := workload.Generate(workload.Config{Seed: 3, Functions: 20, Invocations: 2000})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, d := range w.Documents()[:40] {
		raw, err := workload.Inflate(d.Gzip)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(raw)
		out.WriteByte('\n')
	}
	golden(t, "sample.jsonl", out.Bytes())
}

func TestConfigValidate(t *testing.T) {
	tests := map[string]struct {
		cfg     workload.Config
		wantErr bool
	}{
		"defaults":             {cfg: workload.Config{}},
		"minimum":              {cfg: workload.Config{Functions: workload.MinFunctions, Invocations: workload.MinInvocations, Duration: workload.MinDuration}},
		"too few functions":    {cfg: workload.Config{Functions: workload.MinFunctions - 1}, wantErr: true},
		"too few invocations":  {cfg: workload.Config{Invocations: workload.MinInvocations - 1}, wantErr: true},
		"too short":            {cfg: workload.Config{Duration: workload.MinDuration - time.Minute}, wantErr: true},
		"too long":             {cfg: workload.Config{Duration: workload.MaxDuration + time.Hour}, wantErr: true},
		"bad account":          {cfg: workload.Config{Accounts: []string{"12345"}}, wantErr: true},
		"bad region":           {cfg: workload.Config{Region: "US EAST"}, wantErr: true},
		"thin per function":    {cfg: workload.Config{Functions: 100, Invocations: 5000}, wantErr: true},
		"start before lambda":  {cfg: workload.Config{Start: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)}, wantErr: true},
		"other region account": {cfg: workload.Config{Accounts: []string{"000000000001"}, Region: "eu-west-1"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, workload.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
}

var streamName = regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`)

func TestDocumentsAreShapedLikeCloudWatchLogs(t *testing.T) {
	w := testWorkload(t)
	docs := w.Documents()
	if len(docs) != w.Stats.Documents {
		t.Fatalf("%d documents, stats say %d", len(docs), w.Stats.Documents)
	}
	accounts := map[string]string{}
	for _, f := range w.Functions {
		accounts[f.LogGroup] = f.Account
	}
	lastID := map[string]*big.Int{}
	ids := map[string]bool{}
	var events, control int
	var rawBytes int64
	for i, doc := range docs {
		if i > 0 && doc.Time < docs[i-1].Time {
			t.Fatalf("document %d at %d before document %d at %d", i, doc.Time, i-1, docs[i-1].Time)
		}
		d := decodeDoc(t, doc.Gzip)
		raw, _ := workload.Inflate(doc.Gzip)
		rawBytes += int64(len(raw))
		if len(raw) != doc.Size || len(raw) > 1<<20 {
			t.Fatalf("document %d: %d bytes, Size %d", i, len(raw), doc.Size)
		}
		if d.MessageType == "CONTROL_MESSAGE" {
			control++
			if d.Owner != workload.ControlOwner || !doc.Control {
				t.Fatalf("control document %d: owner %q", i, d.Owner)
			}
			continue
		}
		if d.MessageType != "DATA_MESSAGE" || !slices.Equal(d.SubscriptionFilters, []string{workload.SubscriptionFilter}) {
			t.Fatalf("document %d: type %q filters %v", i, d.MessageType, d.SubscriptionFilters)
		}
		if accounts[d.LogGroup] != d.Owner || d.Owner != doc.Owner || d.LogGroup != doc.LogGroup || d.LogStream != doc.LogStream {
			t.Fatalf("document %d: owner %s log group %s does not match the functions", i, d.Owner, d.LogGroup)
		}
		if !streamName.MatchString(d.LogStream) {
			t.Fatalf("document %d: log stream %q", i, d.LogStream)
		}
		n := len(d.LogEvents)
		if n == 0 || n > 10_000 || n != doc.Events {
			t.Fatalf("document %d: %d events (Events %d)", i, n, doc.Events)
		}
		if first, last := d.LogEvents[0].Timestamp, d.LogEvents[n-1].Timestamp; last-first > 5000 || first != doc.First || last != doc.Time {
			t.Fatalf("document %d spans %d..%d ms (First %d Time %d)", i, first, last, doc.First, doc.Time)
		}
		for _, e := range d.LogEvents {
			events++
			if len(e.ID) != 56 || ids[e.ID] {
				t.Fatalf("document %d: event id %q is not a unique 56-digit id", i, e.ID)
			}
			ids[e.ID] = true
			id, ok := new(big.Int).SetString(e.ID, 10)
			if !ok {
				t.Fatalf("event id %q is not a number", e.ID)
			}
			if want := new(big.Int).Lsh(big.NewInt(e.Timestamp), 144); new(big.Int).Rsh(id, 144).Cmp(big.NewInt(e.Timestamp)) != 0 {
				t.Fatalf("event id %s does not carry its timestamp %d (%s)", e.ID, e.Timestamp, want)
			}
			key := d.LogGroup + d.LogStream
			if prev := lastID[key]; prev != nil && id.Cmp(prev) <= 0 {
				t.Fatalf("event ids of stream %s not increasing: %s after %s", d.LogStream, id, prev)
			}
			lastID[key] = id
		}
	}
	if events != w.Stats.LogEvents || control != w.Stats.ControlDocuments || control == 0 || rawBytes != w.Stats.RawBytes {
		t.Fatalf("events %d control %d bytes %d, stats %+v", events, control, rawBytes, w.Stats)
	}
	// About five log events per invocation, as Lambda writes them.
	if per := float64(events) / float64(w.Config.Invocations); per < 4 || per > 7 {
		t.Errorf("%.2f log events per invocation", per)
	}
}

func TestEveryRuntimeAndFormatIsPresent(t *testing.T) {
	w := testWorkload(t)
	var all strings.Builder
	for _, d := range w.Documents() {
		for _, e := range decodeDoc(t, d.Gzip).LogEvents {
			all.WriteString(e.Message)
			all.WriteByte(0)
		}
	}
	text := all.String()
	markers := map[string]string{
		"node text app line":        "\tINFO\t",
		"node Invoke Error":         "\tERROR\tInvoke Error \t{\"errorType\":",
		"python text app line":      "[INFO]\t",
		"python traceback":          "\nTraceback (most recent call last):\n",
		"python JSON error":         `"log_level":"ERROR"`,
		"java exception trace":      "\n\tat com.example.",
		"java error document":       "\"errorType\": \"java.lang.ArithmeticException\"",
		"go error document":         `{"errorMessage":"token expired","errorType":"errorString"}`,
		"go panic":                  `"errorType":"runtimeError","stackTrace":[{"path":`,
		"go slog JSON line":         `","level":"INFO","msg":`,
		"ruby error":                "Error raised from handler method\n",
		"ruby error type":           "Function<NoMethodError>",
		"dotnet fail line":          "\tfail\tSystem.InvalidOperationException: ",
		"dotnet JSON error":         `"level":"Error"`,
		"custom runtime exit":       "Error: Runtime exited with error: exit status 1\nRuntime.ExitError\n",
		"exit status 137":           "exit status 137",
		"INIT_START":                "INIT_START Runtime Version: ",
		"Init Duration":             "\tInit Duration: ",
		"XRAY next line":            "\t\nXRAY TraceId: 1-",
		"XRAY same line":            " ms\tXRAY TraceId: 1-",
		"Task timed out":            " Task timed out after 3.",
		"Status: timeout":           "\tStatus: timeout\t",
		"Error Type OOM":            "\tStatus: error\tError Type: Runtime.OutOfMemory\t",
		"Error Type exit":           "\tStatus: error\tError Type: Runtime.ExitError\t",
		"signal killed":             "Runtime exited with error: signal: killed\nRuntime.ExitError",
		"node heap OOM":             "JavaScript heap out of memory",
		"python MemoryError":        "[ERROR] MemoryError\n",
		"java OOM":                  "\"errorType\": \"java.lang.OutOfMemoryError\"",
		"go OOM":                    "fatal error: runtime: out of memory",
		"ruby OOM":                  "Function<NoMemoryError>",
		"platform.initStart":        `"type":"platform.initStart"`,
		"platform.start":            `"type":"platform.start"`,
		"platform.report success":   `"status":"success"}}`,
		"platform.report timeout":   `"status":"timeout"}}`,
		"platform.report OOM":       `"status":"error","errorType":"Runtime.OutOfMemory"}}`,
		"platform.report initDur":   `"initDurationMs":`,
		"app JSON line":             `{"timestamp":"`,
		"SERVERLESS_TELEMETRY line": "SERVERLESS_TELEMETRY.",
	}
	for name, marker := range markers {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(text, marker) {
				t.Errorf("no log event contains %q", marker)
			}
		})
	}
	// OOM with Max Memory Used == Memory Size.
	t.Run("max memory equals memory size", func(t *testing.T) {
		if !regexp.MustCompile(`Memory Size: (\d+) MB\tMax Memory Used: (\d+) MB`).MatchString(text) {
			t.Fatal("no REPORT line")
		}
		found := false
		for _, m := range regexp.MustCompile(`Memory Size: (\d+) MB\tMax Memory Used: (\d+) MB`).FindAllStringSubmatch(text, -1) {
			found = found || m[1] == m[2]
		}
		if !found {
			t.Error("no REPORT line with Max Memory Used == Memory Size")
		}
	})
	t.Run("runtimes and formats", func(t *testing.T) {
		runtimes := map[string]bool{}
		formats := map[string]bool{}
		custom := 0
		for _, f := range w.Functions {
			runtimes[strings.TrimRight(f.Runtime, "0123456789.x")] = true
			formats[f.LogFormat] = true
			if !strings.HasPrefix(f.LogGroup, "/aws/lambda/") {
				custom++
			}
		}
		for _, r := range []string{"nodejs", "python", "java", "provided.al", "ruby", "dotnet"} {
			if !runtimes[r] {
				t.Errorf("no %s function (have %v)", r, runtimes)
			}
		}
		if !formats["Text"] || !formats["JSON"] {
			t.Errorf("log formats %v", formats)
		}
		if custom < 2 {
			t.Errorf("%d functions log to a custom log group", custom)
		}
	})
}

func TestFunctionsFileRoundTrip(t *testing.T) {
	w := testWorkload(t)
	var buf bytes.Buffer
	if err := workload.WriteFunctions(&buf, w.Functions); err != nil {
		t.Fatal(err)
	}
	var generic []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"account", "region", "function", "runtime", "architecture", "timeoutSeconds", "memorySizeMB", "logGroup"} {
		if _, ok := generic[0][k]; !ok {
			t.Errorf("functions file lacks %q: %v", k, generic[0])
		}
	}
	got, err := workload.ReadFunctions(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, w.Functions) {
		t.Fatalf("round trip changed the functions")
	}
}

func TestReadFunctionsRejects(t *testing.T) {
	const ok = `{"account":"123456789012","region":"us-east-1","function":"f","runtime":"python3.12","architecture":"arm64","timeoutSeconds":3,"memorySizeMB":128,"logGroup":"/aws/lambda/f"}`
	tests := map[string]string{
		"not json":         `nope`,
		"object":           ok,
		"unknown field":    `[{"account":"123456789012","region":"us-east-1","function":"f","runtime":"python3.12","architecture":"arm64","timeoutSeconds":3,"memorySizeMB":128,"logGroup":"/aws/lambda/f","x":1}]`,
		"short account":    strings.Replace("["+ok+"]", "123456789012", "1234", 1),
		"bad architecture": strings.Replace("["+ok+"]", "arm64", "sparc", 1),
		"zero timeout":     strings.Replace("["+ok+"]", `"timeoutSeconds":3`, `"timeoutSeconds":0`, 1),
		"long timeout":     strings.Replace("["+ok+"]", `"timeoutSeconds":3`, `"timeoutSeconds":901`, 1),
		"small memory":     strings.Replace("["+ok+"]", `"memorySizeMB":128`, `"memorySizeMB":64`, 1),
		"bad name":         strings.Replace("["+ok+"]", `"function":"f"`, `"function":"f#1"`, 1),
		"no log group":     strings.Replace("["+ok+"]", `"/aws/lambda/f"`, `""`, 1),
		"listed twice":     "[" + ok + "," + ok + "]",
		"trailing data":    "[" + ok + "] []",
		"bad log format":   strings.Replace("["+ok+"]", `"logGroup"`, `"logFormat":"XML","logGroup"`, 1),
		"shared log group": "[" + ok + "," + strings.Replace(ok, `"function":"f"`, `"function":"g"`, 1) + "]",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := workload.ReadFunctions(strings.NewReader(in))
			if !errors.Is(err, workload.ErrInvalid) {
				t.Fatalf("ReadFunctions(%s) = %v, want ErrInvalid", in, err)
			}
		})
	}
	if fns, err := workload.ReadFunctions(strings.NewReader("[" + ok + "]")); err != nil || len(fns) != 1 {
		t.Fatalf("valid file: %v %v", fns, err)
	}
}

func FuzzReadFunctions(f *testing.F) {
	f.Add([]byte(`[{"account":"123456789012","region":"us-east-1","function":"f","runtime":"python3.12","architecture":"arm64","timeoutSeconds":3,"memorySizeMB":128,"logGroup":"/aws/lambda/f"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"timeoutSeconds":1e400}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fns, err := workload.ReadFunctions(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, workload.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		for _, fn := range fns {
			if err := fn.Validate(); err != nil {
				t.Fatalf("accepted an invalid function: %v", err)
			}
		}
		var buf bytes.Buffer
		if err := workload.WriteFunctions(&buf, fns); err != nil {
			t.Fatal(err)
		}
		again, err := workload.ReadFunctions(&buf)
		if err != nil || !slices.Equal(again, fns) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
