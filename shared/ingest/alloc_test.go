package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sightline/sightline/shared/cost"
	"github.com/sightline/sightline/shared/ingest"
	"github.com/sightline/sightline/shared/logs"
)

// docWith is one DATA_MESSAGE of n invocations (START, an app line, END, REPORT),
// all in the same minute.
func docWith(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/orders","logStream":"2026/03/04/[$LATEST]abc","subscriptionFilters":["s"],"logEvents":[`)
	for i := range n {
		id := fmt.Sprintf("%08x-149a-b642-81ff-2e8e376d8aff", i)
		ts := 1772582400000 + int64(i)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%d1","timestamp":%d,"message":"START RequestId: %s Version: $LATEST\n"},`, i, ts, id)
		fmt.Fprintf(&b, `{"id":"%d2","timestamp":%d,"message":"%d\t%s\tINFO\tloaded 3 orders\n"},`, i, ts, ts, id)
		fmt.Fprintf(&b, `{"id":"%d3","timestamp":%d,"message":"END RequestId: %s\n"},`, i, ts, id)
		fmt.Fprintf(&b, `{"id":"%d4","timestamp":%d,"message":"REPORT RequestId: %s\tDuration: %d.25 ms\tBilled Duration: %d ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\t\n"}`, i, ts, id, 10+i%50, 11+i%50)
	}
	b.WriteString(`]}`)
	return gz([]byte(b.String()))
}

// TestCollectDoesNotAllocatePerEvent: a warm Collector's allocations for a batch do
// not grow with the number of log events — only with documents and items.
func TestCollectDoesNotAllocatePerEvent(t *testing.T) {
	c := ingest.NewCollector(logs.DefaultLimits(), cost.DefaultPrices, nil)
	src := ingest.Source{Region: "us-east-1", Tenancy: everyAccount("t")}
	ctx := context.Background()
	allocs := func(n int) float64 {
		recs := []logs.Record{{ID: "1", Data: docWith(n)}}
		if b := c.Collect(ctx, src, recs); b.Stats.Invocations != n {
			t.Fatalf("%d invocations, want %d", b.Stats.Invocations, n)
		}
		return testing.AllocsPerRun(20, func() { c.Collect(ctx, src, recs) })
	}
	small, large := allocs(10), allocs(2000)
	t.Logf("allocations per batch: %.0f for 40 events, %.0f for 8000 events", small, large)
	if large > small+2 {
		t.Fatalf("allocations grow with events: %.0f for 40 events, %.0f for 8000", small, large)
	}
}
