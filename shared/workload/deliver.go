package workload

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"

	"github.com/sightline/sightline/shared/logs"
)

// Format is a delivery format the replay accepts.
type Format uint8

const (
	// JSONLines is one plain JSON document per line.
	JSONLines Format = iota
	// JSONLinesGzip is JSONLines, gzip'd as a whole.
	JSONLinesGzip
	// Kinesis is a Lambda Kinesis event (events.KinesisEvent): one record per
	// document, its data the gzip'd document.
	Kinesis
	// FirehoseHTTP is a Firehose HTTP endpoint request body:
	// {"requestId","timestamp","records":[{"data": base64(gzip(document))}]}.
	FirehoseHTTP
	// FirehoseTransform is a Firehose data-transformation event
	// (events.KinesisFirehoseEvent).
	FirehoseTransform
)

var formatNames = [...]string{"jsonl", "jsonl.gz", "kinesis", "firehose-http", "firehose-transform"}

// Formats lists every Format.
func Formats() []Format {
	return []Format{JSONLines, JSONLinesGzip, Kinesis, FirehoseHTTP, FirehoseTransform}
}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat is the inverse of Format.String.
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if n == s {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("%w format %q (want one of %v)", ErrInvalid, s, formatNames)
}

// Delivery identities used in the envelopes.
const (
	// VendorAccount owns the delivery stream in the envelopes' ARNs.
	VendorAccount = "444455556666"
	// StreamName is the Kinesis stream / Firehose delivery stream in the envelopes.
	StreamName = "sightline-logs"
	// ShardID is the one shard the Kinesis records come from.
	ShardID = "shardId-000000000000"
)

// maxBatchBytes bounds a batch's gzip'd data: Lambda's 6 MB invocation payload
// limit, less the base64 growth and the envelope.
const maxBatchBytes = 4 << 20

// Batch is a time-ordered run of records as a source delivers them in one
// invocation.
type Batch struct {
	// Records: ID is the Kinesis sequence number, Data the gzip'd document
	// (shared with the workload, never modify it).
	Records []logs.Record
	// First is the index in Documents() of the batch's first record.
	First int
	// Arrival is the approximate arrival of the batch's last record (ms).
	Arrival int64
}

// SequenceNumber is the Kinesis sequence number of document i: 56 digits,
// increasing.
func (w *Workload) SequenceNumber(i int) string {
	s := strconv.FormatUint(w.seqBase*1_000_000_000+uint64(i), 10)
	const width = 54
	pad := width - len(s)
	b := make([]byte, 0, 56)
	b = append(b, "49"...)
	for ; pad > 0; pad-- {
		b = append(b, '0')
	}
	return string(append(b, s...))
}

// Batches returns every document, in delivery order, as batches of at most
// maxRecords records (and about 4 MB of data), as Kinesis delivers them to Lambda.
func (w *Workload) Batches(maxRecords int) []Batch {
	if maxRecords < 1 {
		maxRecords = 1
	}
	var out []Batch
	for i := 0; i < len(w.docs); {
		b := Batch{First: i}
		size := 0
		for ; i < len(w.docs) && len(b.Records) < maxRecords; i++ {
			d := &w.docs[i]
			if size+len(d.Gzip) > maxBatchBytes && len(b.Records) > 0 {
				break
			}
			size += len(d.Gzip)
			b.Records = append(b.Records, logs.Record{ID: w.SequenceNumber(i), Data: d.Gzip})
			b.Arrival = d.Time + 200
		}
		out = append(out, b)
	}
	return out
}

// all is every document as one batch.
func (w *Workload) all() Batch {
	b := Batch{Records: make([]logs.Record, len(w.docs))}
	for i := range w.docs {
		b.Records[i] = logs.Record{ID: w.SequenceNumber(i), Data: w.docs[i].Gzip}
		b.Arrival = w.docs[i].Time + 200
	}
	return b
}

// Write writes the whole workload as one file in format f.
func (w *Workload) Write(out io.Writer, f Format) error {
	return w.WriteBatch(out, f, w.all())
}

// WriteBatch writes batch b in format f.
func (w *Workload) WriteBatch(out io.Writer, f Format, b Batch) error {
	bw := bufio.NewWriterSize(out, 256<<10)
	var err error
	switch f {
	case JSONLines:
		err = writeJSONLines(bw, b)
	case JSONLinesGzip:
		zw := gzip.NewWriter(bw)
		if err = writeJSONLines(zw, b); err == nil {
			err = zw.Close()
		}
	case Kinesis:
		err = w.writeKinesis(bw, b)
	case FirehoseHTTP:
		err = w.writeFirehoseHTTP(bw, b)
	case FirehoseTransform:
		err = w.writeFirehoseTransform(bw, b)
	default:
		return fmt.Errorf("%w format %d", ErrInvalid, f)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", f, err)
	}
	return nil
}

// Inflate returns the plain JSON of a gzip'd document.
func Inflate(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("inflate document: %w", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("inflate document: %w", err)
	}
	return b, nil
}

func writeJSONLines(out io.Writer, b Batch) error {
	var zr gzip.Reader
	var rd bytes.Reader
	for _, r := range b.Records {
		rd.Reset(r.Data)
		if err := zr.Reset(&rd); err != nil {
			return fmt.Errorf("record %s: %w", r.ID, err)
		}
		if _, err := io.Copy(out, &zr); err != nil {
			return fmt.Errorf("record %s: %w", r.ID, err)
		}
		if _, err := out.Write([]byte{'\n'}); err != nil {
			return err
		}
	}
	return nil
}

// envelopeID derives a deterministic UUID for an envelope from the workload and
// the batch.
func (w *Workload) envelopeID(b Batch, salt uint64) string {
	x := w.idSource ^ uint64(b.First)*0x9E3779B97F4A7C15 ^ salt
	next := func() uint64 { // splitmix64
		x += 0x9E3779B97F4A7C15
		z := x
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		return z ^ (z >> 31)
	}
	hi, lo := next(), next()
	s := fmt.Sprintf("%016x%016x", hi, lo)
	return s[0:8] + "-" + s[8:12] + "-4" + s[13:16] + "-a" + s[17:20] + "-" + s[20:32]
}

func (w *Workload) writeKinesis(out io.Writer, b Batch) error {
	region := w.Config.Region
	arn := "arn:aws:kinesis:" + region + ":" + VendorAccount + ":stream/" + StreamName
	if _, err := io.WriteString(out, `{"Records":[`); err != nil {
		return err
	}
	for i, r := range b.Records {
		d := &w.docs[b.First+i]
		rec := events.KinesisEventRecord{
			AwsRegion: region, EventID: ShardID + ":" + r.ID, EventName: "aws:kinesis:record",
			EventSource: "aws:kinesis", EventSourceArn: arn, EventVersion: "1.0",
			InvokeIdentityArn: "arn:aws:iam::" + VendorAccount + ":role/sightline-kinesis-consumer",
			Kinesis: events.KinesisRecord{
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: time.UnixMilli(d.Time + 150).UTC()},
				Data:                        r.Data,
				PartitionKey:                partitionKey(d),
				SequenceNumber:              r.ID,
				KinesisSchemaVersion:        "1.0",
			},
		}
		if err := writeElem(out, i, rec); err != nil {
			return err
		}
	}
	_, err := io.WriteString(out, "]}\n")
	return err
}

func partitionKey(d *Document) string {
	var h uint32 = 2166136261
	for i := 0; i < len(d.LogStream); i++ {
		h = (h ^ uint32(d.LogStream[i])) * 16777619
	}
	return strconv.FormatUint(uint64(h), 16)
}

func writeElem(out io.Writer, i int, v any) error {
	if i > 0 {
		if _, err := out.Write([]byte{','}); err != nil {
			return err
		}
	}
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = out.Write(j)
	return err
}

func (w *Workload) writeFirehoseHTTP(out io.Writer, b Batch) error {
	head := `{"requestId":"` + w.envelopeID(b, 1) + `","timestamp":` + strconv.FormatInt(b.Arrival, 10) + `,"records":[`
	if _, err := io.WriteString(out, head); err != nil {
		return err
	}
	var buf []byte
	for i, r := range b.Records {
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"data":"`...)
		buf = base64.StdEncoding.AppendEncode(buf, r.Data)
		buf = append(buf, `"}`...)
		if _, err := out.Write(buf); err != nil {
			return err
		}
	}
	_, err := io.WriteString(out, "]}\n")
	return err
}

// firehoseRecord is events.KinesisFirehoseEventRecord for a Direct PUT delivery
// stream, which carries no Kinesis record metadata.
type firehoseRecord struct {
	RecordID                    string                       `json:"recordId"`
	ApproximateArrivalTimestamp events.MilliSecondsEpochTime `json:"approximateArrivalTimestamp"`
	Data                        []byte                       `json:"data"`
}

func (w *Workload) writeFirehoseTransform(out io.Writer, b Batch) error {
	region := w.Config.Region
	head := `{"invocationId":"` + w.envelopeID(b, 2) + `","deliveryStreamArn":"arn:aws:firehose:` + region + `:` +
		VendorAccount + `:deliverystream/` + StreamName + `","region":"` + region + `","records":[`
	if _, err := io.WriteString(out, head); err != nil {
		return err
	}
	for i, r := range b.Records {
		d := &w.docs[b.First+i]
		rec := firehoseRecord{
			RecordID:                    r.ID,
			ApproximateArrivalTimestamp: events.MilliSecondsEpochTime{Time: time.UnixMilli(d.Time + 150).UTC()},
			Data:                        r.Data,
		}
		if err := writeElem(out, i, rec); err != nil {
			return err
		}
	}
	_, err := io.WriteString(out, "]}\n")
	return err
}
