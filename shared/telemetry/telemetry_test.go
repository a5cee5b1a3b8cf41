package telemetry

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func samplePayload(spans int) *Payload {
	p := &Payload{
		TraceID:   "1-5e7e8131-7ff0a1b232bfb31045d0a3bb",
		RequestID: "d1cf0ccb-a1b2-46e6-950d-04c96c9b1c5d",
		Function:  "orders-api",
		Sampled:   true,
		Tags:      map[string]string{"runtime": "nodejs20.x", "coldStart": "true"},
	}
	for i := range spans {
		p.Spans = append(p.Spans, Span{
			ID:       fmt.Sprintf("%016x", i+1),
			ParentID: map[bool]string{true: "", false: "0000000000000001"}[i == 0],
			Name:     fmt.Sprintf("dynamodb.GetItem orders-%d", i),
			Start:    1700000000000000 + int64(i)*1000,
			End:      1700000000000000 + int64(i)*1000 + 750,
			Tags:     map[string]string{"http.status_code": "200", "aws.request_id": fmt.Sprintf("R%08dQ%x", i, i*7919)},
		})
	}
	p.Errors = []ErrorEvent{{SpanID: "0000000000000001", Time: 1700000000000900, Type: "ConditionalCheckFailedException", Message: "The conditional request failed", Stack: "at put (/var/task/index.mjs:12:3)"}}
	return p
}

func TestRoundTrip(t *testing.T) {
	tests := map[string]struct {
		spans, maxLine int
		wantLines      int // 0: more than one
	}{
		"single line, default max":  {spans: 3, maxLine: 0, wantLines: 1},
		"single line, exact fit":    {spans: 1, maxLine: 0, wantLines: 1},
		"chunked, small lines":      {spans: 40, maxLine: 300},
		"chunked, minimum lines":    {spans: 5, maxLine: MinLine},
		"chunked, many large spans": {spans: 3000, maxLine: 4096},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := samplePayload(tc.spans)
			lines, err := Encode(p, tc.maxLine)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantLines == 1 && len(lines) != 1 {
				t.Fatalf("got %d lines, want 1", len(lines))
			}
			if tc.wantLines == 0 && len(lines) < 2 {
				t.Fatalf("got %d lines, want chunks", len(lines))
			}
			max := tc.maxLine
			if max <= 0 {
				max = DefaultMaxLine
			}
			var d Decoder
			var got *Payload
			for i, l := range lines {
				if len(l) > max {
					t.Fatalf("line %d is %d bytes, max %d", i, len(l), max)
				}
				pl, err := d.Decode([]byte("stream-a"), []byte(l+"\n"))
				if err != nil {
					t.Fatalf("line %d: %v", i, err)
				}
				if pl != nil && i != len(lines)-1 {
					t.Fatalf("payload complete after line %d of %d", i, len(lines))
				}
				got = pl
			}
			if !reflect.DeepEqual(got, p) {
				t.Fatalf("round trip changed the payload:\n got %+v\nwant %+v", got, p)
			}
			d.Flush(func(err error) { t.Errorf("unexpected flush error: %v", err) })
		})
	}
}

func TestEncodeDeterministicAndChunkFormat(t *testing.T) {
	a, err := Encode(samplePayload(30), 256)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Encode(samplePayload(30), 256)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("encoding is not deterministic")
	}
	for i, l := range a {
		f := strings.SplitN(l, ".", 6)
		if len(f) != 6 || f[0] != "SERVERLESS_TELEMETRY" || f[1] != "1" || len(f[2]) != 16 ||
			f[3] != fmt.Sprint(i+1) || f[4] != fmt.Sprint(len(a)) {
			t.Fatalf("line %d header = %q", i, f[:5])
		}
	}
}

func TestChunksOutOfOrderAndInterleavedStreams(t *testing.T) {
	p1, p2 := samplePayload(20), samplePayload(21)
	l1, _ := Encode(p1, 200)
	l2, _ := Encode(p2, 200)
	var d Decoder
	var got []*Payload
	feed := func(stream, line string) {
		pl, err := d.Decode([]byte(stream), []byte(line))
		if err != nil {
			t.Fatalf("%s: %v", stream, err)
		}
		if pl != nil {
			got = append(got, pl)
		}
	}
	// Reverse order for one stream, forward for the other, interleaved.
	for i := range max(len(l1), len(l2)) {
		if i < len(l1) {
			feed("s1", l1[len(l1)-1-i])
		}
		if i < len(l2) {
			feed("s2", l2[i])
		}
	}
	if len(got) != 2 {
		t.Fatalf("got %d payloads, want 2", len(got))
	}
	// The same payload id in two streams is two payloads.
	for _, l := range l1[:len(l1)-1] {
		feed("s3", l)
	}
	if pl, err := d.Decode([]byte("s4"), []byte(l1[len(l1)-1])); pl != nil || err != nil {
		t.Fatalf("last chunk in another stream completed a payload: %v %v", pl, err)
	}
	var incomplete int
	d.Flush(func(err error) {
		if !errors.Is(err, ErrIncomplete) {
			t.Errorf("flush error %v, want ErrIncomplete", err)
		}
		incomplete++
	})
	if incomplete != 2 {
		t.Fatalf("flush reported %d incomplete payloads, want 2", incomplete)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := Encode(samplePayload(2), 0)
	chunks, _ := Encode(samplePayload(10), 200)
	id := strings.Split(chunks[0], ".")[2]
	gz := func(s string) string {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return Prefix + "1." + base64.StdEncoding.EncodeToString(b.Bytes())
	}
	tests := map[string]struct {
		lines []string
		want  error
	}{
		"not a telemetry line":   {lines: []string{"SERVERLESS_TELEMETRYX1.abc"}, want: ErrCorrupt},
		"unknown version":        {lines: []string{strings.Replace(good[0], ".1.", ".2.", 1)}, want: ErrVersion},
		"version not a number":   {lines: []string{"SERVERLESS_TELEMETRY.v1.abc"}, want: ErrCorrupt},
		"bad base64":             {lines: []string{Prefix + "1.@@@@"}, want: ErrCorrupt},
		"not gzip":               {lines: []string{Prefix + "1." + base64.StdEncoding.EncodeToString([]byte("hello world"))}, want: ErrCorrupt},
		"truncated gzip":         {lines: []string{good[0][:len(good[0])-12]}, want: ErrCorrupt},
		"not json":               {lines: []string{gz("not json")}, want: ErrCorrupt},
		"no trace id":            {lines: []string{gz(`{"spans":[]}`)}, want: ErrCorrupt},
		"span ends before start": {lines: []string{gz(`{"traceId":"t","spans":[{"id":"a","start":5,"end":4}]}`)}, want: ErrCorrupt},
		"too many spans":         {lines: []string{gz(`{"traceId":"t","spans":[` + strings.Repeat(`{"id":"a"},`, MaxSpans) + `{"id":"b"}]}`)}, want: ErrTooLarge},
		"decompression bomb":     {lines: []string{gz(`{"traceId":"t","x":"` + strings.Repeat("a", MaxPayloadBytes) + `"}`)}, want: ErrTooLarge},
		"wrong field count":      {lines: []string{Prefix + "1.a.b.c"}, want: ErrCorrupt},
		"bad payload id":         {lines: []string{Prefix + "1.a+b.1.2.QUJD"}, want: ErrCorrupt},
		"index zero":             {lines: []string{Prefix + "1.ab.0.2.QUJD"}, want: ErrCorrupt},
		"index above count":      {lines: []string{Prefix + "1.ab.3.2.QUJD"}, want: ErrCorrupt},
		"too many chunks":        {lines: []string{Prefix + "1.ab.1.999.QUJD"}, want: ErrTooLarge},
		"empty chunk":            {lines: []string{Prefix + "1.ab.1.2."}, want: ErrCorrupt},
		"duplicate chunk":        {lines: []string{chunks[0], chunks[0]}, want: ErrCorrupt},
		"inconsistent count": {lines: []string{chunks[0],
			fmt.Sprintf("%s1.%s.2.%d.QUJD", Prefix, id, len(chunks)+1)}, want: ErrCorrupt},
		"chunks join to garbage": {lines: []string{Prefix + "1.ab.1.2.QUJD", Prefix + "1.ab.2.2.RUZH"}, want: ErrCorrupt},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var d Decoder
			var last error
			for _, l := range tc.lines {
				pl, err := d.Decode([]byte("s"), []byte(l))
				if pl != nil {
					t.Fatalf("decoded a payload from bad input")
				}
				if err != nil {
					last = err
				}
			}
			if !errors.Is(last, tc.want) {
				t.Fatalf("error = %v, want %v", last, tc.want)
			}
		})
	}
}

func TestRejectedPayloadReportedOnce(t *testing.T) {
	chunks, _ := Encode(samplePayload(10), 200)
	if len(chunks) < 3 {
		t.Fatalf("want at least 3 chunks, got %d", len(chunks))
	}
	var d Decoder
	var errs []error
	for _, l := range []string{chunks[0], chunks[0], chunks[1], chunks[2]} {
		if _, err := d.Decode([]byte("s"), []byte(l)); err != nil {
			errs = append(errs, err)
		}
	}
	d.Flush(func(err error) { errs = append(errs, err) })
	if len(errs) != 1 || !errors.Is(errs[0], ErrCorrupt) {
		t.Fatalf("errors = %v, want exactly one ErrCorrupt", errs)
	}
	// After Flush the decoder is clean and reusable.
	var done *Payload
	for _, l := range chunks {
		p, err := d.Decode([]byte("s"), []byte(l))
		if err != nil {
			t.Fatal(err)
		}
		done = p
	}
	if done == nil {
		t.Fatal("payload not decoded after Flush")
	}
}

func TestPendingLimit(t *testing.T) {
	var d Decoder
	var err error
	for i := 0; i <= MaxPending; i++ {
		_, err = d.Decode([]byte("s"), fmt.Appendf(nil, "%s1.p%d.1.2.QUJD", Prefix, i))
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error = %v, want ErrTooLarge once %d payloads are pending", err, MaxPending)
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := map[string]struct {
		p       *Payload
		maxLine int
		want    error
	}{
		"nil":              {p: nil},
		"no trace id":      {p: &Payload{}},
		"max line too low": {p: samplePayload(1), maxLine: 10},
		"max line too big": {p: samplePayload(1), maxLine: MaxLine + 1},
		"too many spans":   {p: &Payload{TraceID: "t", Spans: make([]Span, MaxSpans+1)}, want: ErrTooLarge},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Encode(tc.p, tc.maxLine)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	one, _ := Encode(samplePayload(2), 0)
	chunks, _ := Encode(samplePayload(8), 200)
	f.Add([]byte(one[0]))
	for _, c := range chunks {
		f.Add([]byte(c))
	}
	f.Add([]byte(Prefix + "1.ab.1.2.QUJD"))
	f.Add([]byte(Prefix + "9.x"))
	f.Fuzz(func(t *testing.T, line []byte) {
		var d Decoder
		// Feed the line twice (duplicates) and as the chunks of a split of itself.
		for range 2 {
			p, err := d.Decode([]byte("s"), line)
			if p != nil && err != nil {
				t.Fatal("payload and error")
			}
			if p != nil && p.validate() != nil {
				t.Fatalf("invalid payload decoded: %v", p.validate())
			}
			if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrVersion) {
				t.Fatalf("untyped error %v", err)
			}
		}
		d.Flush(func(err error) {
			if !errors.Is(err, ErrIncomplete) {
				t.Fatalf("flush error %v", err)
			}
		})
		if len(d.pending) != 0 || d.bytes != 0 {
			t.Fatal("state left after Flush")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	lines, _ := Encode(samplePayload(50), 0)
	line := []byte(lines[0])
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	var d Decoder
	for b.Loop() {
		if _, err := d.Decode([]byte("s"), line); err != nil {
			b.Fatal(err)
		}
	}
}
