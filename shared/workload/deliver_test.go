package workload_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/workload"
)

// firehoseBody is the Firehose HTTP endpoint request body.
type firehoseBody struct {
	RequestID string `json:"requestId"`
	Timestamp int64  `json:"timestamp"`
	Records   []struct {
		Data string `json:"data"`
	} `json:"records"`
}

// decodeFile decodes a file of format f with encoding/json and the aws-lambda-go
// types, and returns its documents.
func decodeFile(t *testing.T, f workload.Format, data []byte) []events.CloudwatchLogsData {
	t.Helper()
	var docs []events.CloudwatchLogsData
	lines := func(r io.Reader) {
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 2<<20)
		for sc.Scan() {
			var d events.CloudwatchLogsData
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				t.Fatalf("line: %v", err)
			}
			docs = append(docs, d)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	switch f {
	case workload.JSONLines:
		lines(bytes.NewReader(data))
	case workload.JSONLinesGzip:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		lines(zr)
	case workload.Kinesis:
		var ev events.KinesisEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatal(err)
		}
		prev := ""
		for _, r := range ev.Records {
			k := r.Kinesis
			if r.EventSource != "aws:kinesis" || r.EventID != workload.ShardID+":"+k.SequenceNumber || len(k.SequenceNumber) != 56 {
				t.Fatalf("record %+v", r)
			}
			if k.SequenceNumber <= prev {
				t.Fatalf("sequence numbers not increasing: %s after %s", k.SequenceNumber, prev)
			}
			prev = k.SequenceNumber
			if k.ApproximateArrivalTimestamp.IsZero() || k.PartitionKey == "" {
				t.Fatalf("record %s lacks arrival or partition key", k.SequenceNumber)
			}
			docs = append(docs, decodeDoc(t, k.Data))
		}
	case workload.FirehoseHTTP:
		var body firehoseBody
		if err := json.Unmarshal(data, &body); err != nil {
			t.Fatal(err)
		}
		if len(body.RequestID) != 36 || body.Timestamp == 0 {
			t.Fatalf("body requestId %q timestamp %d", body.RequestID, body.Timestamp)
		}
		for _, r := range body.Records {
			gz, err := base64.StdEncoding.DecodeString(r.Data)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, decodeDoc(t, gz))
		}
	case workload.FirehoseTransform:
		var ev events.KinesisFirehoseEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.InvocationID == "" || ev.DeliveryStreamArn == "" || ev.Region == "" {
			t.Fatalf("event header %+v", ev)
		}
		ids := map[string]bool{}
		for _, r := range ev.Records {
			if r.RecordID == "" || ids[r.RecordID] {
				t.Fatalf("record id %q missing or repeated", r.RecordID)
			}
			ids[r.RecordID] = true
			docs = append(docs, decodeDoc(t, r.Data))
		}
	default:
		t.Fatalf("format %v", f)
	}
	return docs
}

func TestWriteEveryFormat(t *testing.T) {
	w := testWorkload(t)
	for _, f := range workload.Formats() {
		t.Run(f.String(), func(t *testing.T) {
			var buf bytes.Buffer
			if err := w.Write(&buf, f); err != nil {
				t.Fatal(err)
			}
			docs := decodeFile(t, f, buf.Bytes())
			if len(docs) != w.Stats.Documents {
				t.Fatalf("%d documents decoded, want %d", len(docs), w.Stats.Documents)
			}
			events := 0
			for i, d := range docs {
				if d.MessageType == "DATA_MESSAGE" {
					events += len(d.LogEvents)
				}
				if want := w.Documents()[i]; d.LogStream != want.LogStream || d.LogEvents[len(d.LogEvents)-1].Timestamp != want.Time {
					t.Fatalf("document %d out of place", i)
				}
			}
			if events != w.Stats.LogEvents {
				t.Fatalf("%d events decoded, want %d", events, w.Stats.LogEvents)
			}
			p, err := workload.ParseFormat(f.String())
			if err != nil || p != f {
				t.Fatalf("ParseFormat(%q) = %v, %v", f, p, err)
			}
		})
	}
	if _, err := workload.ParseFormat("xml"); !errors.Is(err, workload.ErrInvalid) {
		t.Fatalf("ParseFormat(xml) = %v", err)
	}
}

func TestBatches(t *testing.T) {
	w := testWorkload(t)
	tests := map[string]struct{ max int }{"one": {1}, "hundred": {100}, "ten thousand": {10_000}}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			next := 0
			prevSeq := ""
			for _, b := range w.Batches(tc.max) {
				if len(b.Records) == 0 || len(b.Records) > tc.max || b.First != next {
					t.Fatalf("batch at %d: %d records (max %d), expected first %d", b.First, len(b.Records), tc.max, next)
				}
				size := 0
				for i, r := range b.Records {
					d := w.Documents()[b.First+i]
					if !bytes.Equal(r.Data, d.Gzip) || r.ID != w.SequenceNumber(b.First+i) {
						t.Fatalf("record %d is not document %d", i, b.First+i)
					}
					if r.ID <= prevSeq || len(r.ID) != 56 {
						t.Fatalf("sequence number %s after %s", r.ID, prevSeq)
					}
					prevSeq = r.ID
					size += len(r.Data)
				}
				if size > 4<<20 && len(b.Records) > 1 {
					t.Fatalf("batch of %d bytes", size)
				}
				next += len(b.Records)
			}
			if next != len(w.Documents()) {
				t.Fatalf("batches cover %d of %d documents", next, len(w.Documents()))
			}
		})
	}
	// A batch written in an envelope holds exactly that batch.
	b := w.Batches(50)[3]
	var buf bytes.Buffer
	if err := w.WriteBatch(&buf, workload.FirehoseHTTP, b); err != nil {
		t.Fatal(err)
	}
	if docs := decodeFile(t, workload.FirehoseHTTP, buf.Bytes()); len(docs) != 50 || docs[0].LogStream != w.Documents()[b.First].LogStream {
		t.Fatalf("batch body holds %d documents", len(docs))
	}
	if !strings.HasPrefix(buf.String(), `{"requestId":"`) {
		t.Fatalf("body starts %.40s", buf.String())
	}
}
