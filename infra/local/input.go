package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"

	"github.com/sightline/sightline/shared/logs"
)

// deliveryKind is the delivery path a replayed batch goes through.
type deliveryKind int

const (
	viaKinesis   deliveryKind = iota // Kinesis event -> the kinesis-consumer handler
	viaFirehose                      // Firehose HTTP endpoint request body -> the firehose-receiver handler
	viaTransform                     // Firehose transformation event -> the firehose-transform handler
)

func (k deliveryKind) String() string {
	return [...]string{"kinesis", "firehose-http", "firehose-transform"}[k]
}

// delivery is one batch as a source would deliver it.
type delivery struct {
	kind      deliveryKind
	kinesis   events.KinesisEvent
	firehose  []byte // request body
	transform events.KinesisFirehoseEvent
}

// readDeliveries reads a replay FILE and detects its format: JSON-lines (plain or
// gzip) of DATA_MESSAGE documents (grouped into Kinesis batches of batchSize
// records), Kinesis events, Firehose HTTP endpoint request bodies, Firehose
// transformation events, or direct CloudWatch Logs subscription events. A file may
// hold several JSON values one after another.
func readDeliveries(path string, batchSize int) ([]delivery, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<20)
	if br := r.(*bufio.Reader); isGzip(br) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var out []delivery
	var docs [][]byte
	flushDocs := func() {
		for len(docs) > 0 {
			n := min(batchSize, len(docs))
			out = append(out, delivery{kind: viaKinesis, kinesis: kinesisEventOf(docs[:n], len(out))})
			docs = docs[n:]
		}
	}
	for i := 0; ; i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: value %d: %w", path, i, err)
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, fmt.Errorf("%s: value %d is not a JSON object: %w", path, i, err)
		}
		switch {
		case probe["messageType"] != nil || probe["logEvents"] != nil:
			docs = append(docs, append([]byte(nil), raw...))
			continue
		case probe["awslogs"] != nil:
			var ev events.CloudwatchLogsEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("%s: value %d: subscription event: %w", path, i, err)
			}
			rec, err := logs.SubscriptionRecord(ev)
			if err != nil {
				return nil, fmt.Errorf("%s: value %d: subscription event: %w", path, i, err)
			}
			docs = append(docs, rec.Data)
			continue
		}
		flushDocs()
		switch {
		case probe["Records"] != nil:
			var ev events.KinesisEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("%s: value %d: Kinesis event: %w", path, i, err)
			}
			out = append(out, delivery{kind: viaKinesis, kinesis: ev})
		case probe["deliveryStreamArn"] != nil || probe["invocationId"] != nil:
			var ev events.KinesisFirehoseEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("%s: value %d: Firehose transformation event: %w", path, i, err)
			}
			out = append(out, delivery{kind: viaTransform, transform: ev})
		case probe["records"] != nil && probe["requestId"] != nil:
			out = append(out, delivery{kind: viaFirehose, firehose: append([]byte(nil), raw...)})
		default:
			return nil, fmt.Errorf("%s: value %d: unrecognised format (want DATA_MESSAGE documents, a Kinesis event, a Firehose HTTP request body, a Firehose transformation event or a subscription event)", path, i)
		}
	}
	flushDocs()
	return out, nil
}

func isGzip(r *bufio.Reader) bool {
	b, err := r.Peek(2)
	return err == nil && b[0] == 0x1f && b[1] == 0x8b
}

// kinesisEventOf wraps documents as the batch-th Kinesis event (plain JSON data; the
// decoder takes gzip'd or plain), with increasing sequence numbers.
func kinesisEventOf(docs [][]byte, batch int) events.KinesisEvent {
	recs := make([]logs.Record, len(docs))
	for i, d := range docs {
		recs[i] = logs.Record{ID: fmt.Sprintf("%012d%08d", batch, i), Data: bytes.Clone(d)}
	}
	return kinesisEvent(recs, "replay")
}

// kinesisEvent is records as the Lambda Kinesis event source delivers them.
func kinesisEvent(recs []logs.Record, partitionKey string) events.KinesisEvent {
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, len(recs))}
	for i, r := range recs {
		ev.Records[i] = events.KinesisEventRecord{
			EventSource: "aws:kinesis",
			EventID:     "shardId-000000000000:" + r.ID,
			Kinesis:     events.KinesisRecord{Data: r.Data, SequenceNumber: r.ID, PartitionKey: partitionKey},
		}
	}
	return ev
}
