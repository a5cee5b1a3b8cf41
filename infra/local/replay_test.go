package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/workload"
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests starts one DynamoDB Local for the package; every replay creates its own
// fresh table in it (DYNAMODB_ENDPOINT), as it would against a DynamoDB you run.
func runTests(m *testing.M) int {
	p, err := emulator.StartDynamoDB(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "start DynamoDB Local:", err)
		return 1
	}
	defer p.Stop()
	os.Setenv("DYNAMODB_ENDPOINT", p.Endpoint)
	return m.Run()
}

// writeWorkload writes a small generated workload in format f, as batches of at
// most 300 records one after another, and returns the file's path.
func writeWorkload(t *testing.T, w *workload.Workload, dir string, f workload.Format) string {
	t.Helper()
	path := filepath.Join(dir, "workload."+f.String())
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if f == workload.JSONLinesGzip || f == workload.JSONLines {
		if err := w.Write(out, f); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, b := range w.Batches(300) {
		if err := w.WriteBatch(out, f, b); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// replayLines runs `replay args...` and splits its stdout into function lines and
// alert lines.
func replayLines(t *testing.T, args ...string) (functions []FunctionTotals, alerts []string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), append([]string{"replay"}, args...), &stdout, &stderr); err != nil {
		t.Fatalf("replay %v: %v\n%s", args, err, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if strings.HasPrefix(line, `{"alert"`) {
			alerts = append(alerts, line)
			continue
		}
		var f FunctionTotals
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		functions = append(functions, f)
	}
	return functions, alerts
}

// TestReplayEveryFormatMatchesTruthAndIgnoresRedelivery is the replay contract:
// the same workload delivered as JSON-lines, Kinesis events, Firehose HTTP request
// bodies or Firehose transformation events gives the same per-function lines, equal
// to the generator's ground truth; delivering every batch three times changes
// nothing, alerts included.
func TestReplayEveryFormatMatchesTruthAndIgnoresRedelivery(t *testing.T) {
	w, err := workload.Generate(workload.Config{Seed: 11, Invocations: 3000, Duration: 6 * time.Hour,
		Start: time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "functions.json")
	cf, err := os.Create(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := workload.WriteFunctions(cf, w.Functions); err != nil {
		t.Fatal(err)
	}
	cf.Close()

	base, baseAlerts := replayLines(t, "--config", config, writeWorkload(t, w, dir, workload.JSONLinesGzip))
	if got := checkTruth(base, w.Truth); !strings.HasPrefix(got, "exact match") {
		t.Fatalf("JSON-lines replay against the ground truth: %s", got)
	}
	if len(base) != len(w.Functions) {
		t.Fatalf("%d function lines, want %d", len(base), len(w.Functions))
	}
	rules := map[string]bool{}
	for _, a := range baseAlerts {
		var v struct{ Alert string }
		json.Unmarshal([]byte(a), &v)
		rules[v.Alert] = true
	}
	for _, r := range []string{"out_of_memory", "timeout", "new_error_type"} {
		if !rules[r] {
			t.Errorf("no %s alert in %d alerts", r, len(baseAlerts))
		}
	}

	for _, f := range []workload.Format{workload.Kinesis, workload.FirehoseHTTP, workload.FirehoseTransform} {
		t.Run(f.String(), func(t *testing.T) {
			got, _ := replayLines(t, "--config", config, writeWorkload(t, w, dir, f))
			if !slices.EqualFunc(got, base, func(a, b FunctionTotals) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
				t.Fatalf("%s replay differs from the JSON-lines replay:\n got %+v\nwant %+v", f, got, base)
			}
		})
	}
	t.Run("repeat 3", func(t *testing.T) {
		kinesis := writeWorkload(t, w, dir, workload.Kinesis)
		once, onceAlerts := replayLines(t, "--config", config, kinesis)
		thrice, thriceAlerts := replayLines(t, "--config", config, "--repeat", "3", kinesis)
		if fmt.Sprint(once) != fmt.Sprint(thrice) {
			t.Fatalf("--repeat 3 changed the function lines:\n got %+v\nwant %+v", thrice, once)
		}
		if !slices.Equal(onceAlerts, thriceAlerts) {
			for i := range min(len(onceAlerts), len(thriceAlerts)) {
				if onceAlerts[i] != thriceAlerts[i] {
					t.Errorf("alert %d:\n got %s\nwant %s", i, thriceAlerts[i], onceAlerts[i])
				}
			}
			t.Fatalf("--repeat 3 changed the alerts: %d vs %d", len(thriceAlerts), len(onceAlerts))
		}
	})
}

func TestReplayRejectsUnknownFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(path, []byte(`{"hello":"world"}`), 0o644)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"replay", path}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "unrecognised format") {
		t.Fatalf("err = %v, want an unrecognised format error", err)
	}
}
