package telemetry

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestDecodeSummaryAgreesWithDecode: the cheap path counts what the full decoder
// decodes, re-joins chunks the same way, and rejects the same bad lines.
func TestDecodeSummaryAgreesWithDecode(t *testing.T) {
	for name, tc := range map[string]struct{ spans, maxLine int }{
		"one line":  {3, 0},
		"chunked":   {40, 300},
		"no errors": {0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			p := samplePayload(tc.spans)
			if tc.spans == 0 {
				p.Spans, p.Errors = nil, nil
			}
			lines, err := Encode(p, tc.maxLine)
			if err != nil {
				t.Fatal(err)
			}
			var d Decoder
			for i, l := range lines {
				s, complete, err := d.DecodeSummary([]byte("stream"), []byte(l))
				if err != nil {
					t.Fatalf("line %d: %v", i, err)
				}
				if complete != (i == len(lines)-1) {
					t.Fatalf("line %d of %d: complete = %v", i, len(lines), complete)
				}
				if complete && (s.Spans != len(p.Spans) || s.Errors != len(p.Errors) || s.Sampled != p.Sampled || s.Bytes == 0) {
					t.Fatalf("summary %+v of a payload with %d spans, %d errors, sampled %v", s, len(p.Spans), len(p.Errors), p.Sampled)
				}
			}
		})
	}
}

func TestDecodeSummaryRejects(t *testing.T) {
	good, err := Encode(samplePayload(2), 0)
	if err != nil {
		t.Fatal(err)
	}
	notJSON := Prefix + "1." + "H4sIAAAAAAAA/8rLL8lILUpVSM7PK0nNKwEAAAD//wMAgMmEdRIAAAA="
	for name, tc := range map[string]struct {
		line string
		want error
	}{
		"truncated base64": {good[0][:len(good[0])-7], ErrCorrupt},
		"wrong version":    {Prefix + "9.abc", ErrVersion},
		"not gzip":         {Prefix + "1.aGVsbG8gd29ybGQ=", ErrCorrupt},
		"gzip of not JSON": {notJSON, ErrCorrupt},
	} {
		t.Run(name, func(t *testing.T) {
			var d Decoder
			if _, _, err := d.DecodeSummary([]byte("s"), []byte(tc.line)); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeSummaryDoesNotAllocate(t *testing.T) {
	lines, err := Encode(samplePayload(20), 0)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	line := []byte(lines[0])
	d.DecodeSummary([]byte("s"), line) // warm the buffers
	if n := testing.AllocsPerRun(50, func() {
		if _, ok, err := d.DecodeSummary([]byte("s"), line); err != nil || !ok {
			t.Fatal(err)
		}
	}); n > 2 {
		t.Fatalf("%.1f allocations per payload, want at most 2", n)
	}
}

// FuzzScanSummary holds the summary scanner to encoding/json: it accepts exactly
// the valid documents, and counts the top-level spans and errors as json does.
func FuzzScanSummary(f *testing.F) {
	for _, s := range []string{`{"traceId":"x","spans":[{},{"a":[1,2]}],"errors":[],"sampled":true}`, `[]`, `{"a":"\u00e9\n"}`,
		`{"spans":null}`, `-0.5e+3`, `{"x":01}`, `"\ud800"`, `{"a":1,}`, "{\"a\":\"\x01\"}", `{"spans":[1,2,3] , "errors":[{}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := scanSummary(b)
		if valid := json.Valid(b); valid != (err == nil) {
			t.Fatalf("scanSummary(%q) err = %v, json.Valid = %v", b, err, valid)
		}
		if err != nil || !got.object {
			return
		}
		// Keys match exactly (the format's names), unlike encoding/json's
		// case-insensitive struct fields; the last duplicate wins in both.
		var top map[string]json.RawMessage
		if json.Unmarshal(b, &top) != nil {
			t.Fatalf("json.Valid object %q does not unmarshal", b)
		}
		count := func(key string) int {
			var elems []json.RawMessage
			if json.Unmarshal(top[key], &elems) != nil {
				return 0 // absent or not an array: the scanner counts 0
			}
			return len(elems)
		}
		if got.spans != count("spans") || got.errors != count("errors") {
			t.Fatalf("scanSummary(%q) = %+v, json counts %d spans, %d errors", b, got, count("spans"), count("errors"))
		}
	})
}
