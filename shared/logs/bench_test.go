package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchRecords builds n realistic Kinesis records, one DATA_MESSAGE document of
// about 100 events each: START / END / REPORT lines (tab separated, ending in a
// tab and a newline), application log lines of the Node and Python runtimes, a
// JSON log line, and now and then a stack trace. It returns the plain documents.
func benchRecords(n int) [][]byte {
	type event struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	type doc struct {
		MessageType         string   `json:"messageType"`
		Owner               string   `json:"owner"`
		LogGroup            string   `json:"logGroup"`
		LogStream           string   `json:"logStream"`
		SubscriptionFilters []string `json:"subscriptionFilters"`
		LogEvents           []event  `json:"logEvents"`
	}
	rng := rand.New(rand.NewPCG(1, 2))
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
	}
	out := make([][]byte, n)
	ts := int64(1714521600000)
	for r := range n {
		d := doc{
			MessageType:         "DATA_MESSAGE",
			Owner:               "123456789012",
			LogGroup:            fmt.Sprintf("/aws/lambda/orders-api-%d", r%7),
			LogStream:           fmt.Sprintf("2024/05/01/[$LATEST]%016x%016x", rng.Uint64(), rng.Uint64()),
			SubscriptionFilters: []string{"sightline"},
		}
		add := func(msg string) {
			ts += int64(rng.IntN(20))
			d.LogEvents = append(d.LogEvents, event{ID: fmt.Sprintf("3795%052d", rng.Uint64()), Timestamp: ts, Message: msg})
		}
		for len(d.LogEvents) < 100 {
			req := uuid()
			add(fmt.Sprintf("START RequestId: %s Version: $LATEST\n", req))
			for i := range 1 + rng.IntN(4) {
				add(fmt.Sprintf("2024-05-01T00:00:%02d.%03dZ\t%s\tINFO\tprocessing order %d for customer c-%d, %d items in cart\n", i, rng.IntN(1000), req, rng.IntN(1e6), rng.IntN(1e4), rng.IntN(20)))
			}
			add(fmt.Sprintf(`{"timestamp":"2024-05-01T00:00:01.%03dZ","level":"INFO","requestId":"%s","message":"order stored","orderId":"o-%d","latencyMs":%d}`+"\n", rng.IntN(1000), req, rng.IntN(1e6), rng.IntN(300)))
			if rng.IntN(8) == 0 {
				add(fmt.Sprintf("[ERROR] KeyError: 'customer_id'\nTraceback (most recent call last):\n  File \"/var/task/app.py\", line %d, in handler\n    customer = event[\"customer_id\"]\n  File \"/var/task/orders.py\", line 12, in load\n    return table.get_item(Key=key)\n", rng.IntN(200)))
			}
			add(fmt.Sprintf("END RequestId: %s\n", req))
			dur := rng.Float64() * 900
			add(fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: 512 MB\tMax Memory Used: %d MB\t\n", req, dur, int(dur)+1, 60+rng.IntN(100)))
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			panic(err)
		}
		out[r] = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	return out
}

type countingHandler struct{ docs, events, bytes int }

func (h *countingHandler) Document(*Document) bool { h.docs++; return true }
func (h *countingHandler) Event(_ *Document, e *Event) {
	h.events++
	h.bytes += len(e.Message)
}
func (h *countingHandler) EndDocument(*Document) {}

func benchData(b *testing.B, gzipped bool) (recs [][]byte, plainBytes int64) {
	plain := benchRecords(64)
	for _, p := range plain {
		plainBytes += int64(len(p))
		if gzipped {
			p = gz(b, p)
		}
		recs = append(recs, p)
	}
	return recs, plainBytes
}

// BenchmarkDecode scans plain documents: the scanner alone.
func BenchmarkDecode(b *testing.B) {
	recs, n := benchData(b, false)
	d := NewDecoder(Limits{})
	h := &countingHandler{}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			if err := d.Decode(r, h); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecodeGzip is what ingest does per record: gunzip, then scan.
func BenchmarkDecodeGzip(b *testing.B) {
	recs, n := benchData(b, true)
	d := NewDecoder(Limits{})
	h := &countingHandler{}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			if err := d.Decode(r, h); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkGunzip is decompression alone, with the decoder's reader and buffer
// reuse; bytes are uncompressed bytes, as in BenchmarkDecode.
func BenchmarkGunzip(b *testing.B) {
	recs, n := benchData(b, true)
	d := NewDecoder(Limits{})
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			if _, err := d.Gunzip(r); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestDecodeZeroAllocs holds the decoder to zero allocations per record in
// steady state, gzip'd or plain.
func TestDecodeZeroAllocs(t *testing.T) {
	plain := benchRecords(4)
	d := NewDecoder(Limits{})
	h := &countingHandler{}
	for _, p := range plain {
		z := gz(t, p)
		for name, rec := range map[string][]byte{"plain": p, "gzip": z} {
			if err := d.Decode(rec, h); err != nil { // warm up the buffers
				t.Fatal(err)
			}
			if a := testing.AllocsPerRun(20, func() {
				if err := d.Decode(rec, h); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("%s: %v allocations per record, want 0", name, a)
			}
		}
	}
	if h.events == 0 || h.bytes == 0 {
		t.Fatal("no events decoded")
	}
}

// TestBenchRecordsDecode checks the benchmark data decodes to what encoding/json
// sees, so the benchmark measures correct work.
func TestBenchRecordsDecode(t *testing.T) {
	d := NewDecoder(Limits{})
	for i, p := range benchRecords(8) {
		got, err := decodeAll(t, d, p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := refDecode(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(got[0].Events) < 100 {
			t.Fatalf("record %d: %d documents", i, len(got))
		}
		if !equalDocs(got, want) {
			t.Fatalf("record %d differs from the reference", i)
		}
	}
}
