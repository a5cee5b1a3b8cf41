package logs

import "github.com/aws/aws-lambda-go/events"

// KinesisRecords returns the records of a Kinesis event (a CloudWatch Logs
// subscription to a Kinesis data stream): ID is the record's sequence number and
// Data its data (the Lambda runtime has already base64-decoded it; CloudWatch
// Logs gzips it). Data aliases the event.
func KinesisRecords(ev events.KinesisEvent) []Record {
	recs := make([]Record, len(ev.Records))
	for i, r := range ev.Records {
		recs[i] = Record{ID: r.Kinesis.SequenceNumber, Data: r.Kinesis.Data}
	}
	return recs
}
