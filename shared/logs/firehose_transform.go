package logs

import "github.com/aws/aws-lambda-go/events"

// FirehoseTransformRecords returns the records of a Firehose data-transformation
// event: ID is the recordId (the response must echo it with Ok, Dropped or
// ProcessingFailed) and Data the record's data (already base64-decoded by the
// Lambda runtime). Data aliases the event.
func FirehoseTransformRecords(ev events.KinesisFirehoseEvent) []Record {
	recs := make([]Record, len(ev.Records))
	for i, r := range ev.Records {
		recs[i] = Record{ID: r.RecordID, Data: r.Data}
	}
	return recs
}
