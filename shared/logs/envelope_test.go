package logs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// decodeEvent feeds raw JSON through aws-lambda-go's own handler decoding, as the
// Lambda runtime does, and returns the typed event.
func decodeEvent[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var got T
	h := lambda.NewHandler(func(ev T) error { got = ev; return nil })
	if _, err := h.Invoke(t.Context(), raw); err != nil {
		t.Fatalf("runtime decoding: %v", err)
	}
	return got
}

func TestKinesisRecords(t *testing.T) {
	doc := gz(t, []byte(sampleDoc))
	generated := []byte(`{"Records":[{"kinesis":{"sequenceNumber":"4956","data":"` + base64.StdEncoding.EncodeToString(doc) + `"},"eventSource":"aws:kinesis"}]}`)
	tests := map[string]struct {
		raw  []byte
		want []Record
	}{
		"aws sample": {readTestdata(t, "kinesis-event.json"), []Record{
			{ID: "49568167373333333333333333333333333333333333333333333333", Data: []byte("Hello World")},
			{ID: "49568167373333333334444444444444444444444444444444444444", Data: []byte("Hello World")},
		}},
		"gzip'd document": {generated, []Record{{ID: "4956", Data: doc}}},
		"no records":      {[]byte(`{"Records":[]}`), []Record{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := KinesisRecords(decodeEvent[events.KinesisEvent](t, tc.raw))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFirehoseTransformRecords(t *testing.T) {
	tests := map[string]struct {
		raw  []byte
		want []Record
	}{
		"aws sample": {readTestdata(t, "kinesis-firehose-event.json"), []Record{
			{ID: "record1", Data: []byte("Hello World")},
			{ID: "record2", Data: []byte("Hello World")},
		}},
		"control message": {[]byte(`{"invocationId":"i","records":[{"recordId":"r-0","data":"` +
			base64.StdEncoding.EncodeToString(readTestdata(t, "08d_control_message.json")) + `"}]}`),
			[]Record{{ID: "r-0", Data: readTestdata(t, "08d_control_message.json")}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := FirehoseTransformRecords(decodeEvent[events.KinesisFirehoseEvent](t, tc.raw))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSubscriptionRecord(t *testing.T) {
	sample := readTestdata(t, "cloudwatch-logs-event.json")
	doc := gz(t, []byte(sampleDoc))
	tests := map[string]struct {
		raw     []byte
		want    []byte // record data
		wantErr error
	}{
		"aws sample":   {sample, nil, nil},
		"generated":    {[]byte(`{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(doc) + `"}}`), doc, nil},
		"no data":      {[]byte(`{"awslogs":{}}`), nil, ErrMalformed},
		"not base64":   {[]byte(`{"awslogs":{"data":"!!!"}}`), nil, ErrMalformed},
		"url encoding": {[]byte(`{"awslogs":{"data":"` + base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff}) + `"}}`), nil, ErrMalformed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ev := decodeEvent[events.CloudwatchLogsEvent](t, tc.raw)
			r, err := SubscriptionRecord(ev)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if tc.want != nil && !bytes.Equal(r.Data, tc.want) {
				t.Errorf("data differs")
			}
			if !strings.HasPrefix(r.ID, "sha256:") || len(r.ID) != len("sha256:")+32 {
				t.Errorf("ID %q", r.ID)
			}
			again, _ := SubscriptionRecord(ev)
			if again.ID != r.ID {
				t.Errorf("ID not stable: %q vs %q", again.ID, r.ID)
			}
			if _, err := refDecode(r.Data); err != nil {
				t.Errorf("record data does not decode: %v", err)
			}
		})
	}
	// Different data, different IDs.
	a, _ := SubscriptionRecord(events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: base64.StdEncoding.EncodeToString([]byte("a"))}})
	b, _ := SubscriptionRecord(events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: base64.StdEncoding.EncodeToString([]byte("b"))}})
	if a.ID == b.ID {
		t.Error("different data got the same ID")
	}
}

func TestParseFirehoseRequest(t *testing.T) {
	sample := readTestdata(t, "08c_firehose_request.json")
	control := readTestdata(t, "08d_control_message.json")
	doc := gz(t, []byte(sampleDoc))
	b64 := base64.StdEncoding.EncodeToString
	tests := map[string]struct {
		body     []byte
		encoding string
		max      int64
		want     *FirehoseRequest
		wantErr  error
	}{
		"real sample": {sample, "", 1 << 20, &FirehoseRequest{RequestID: "9ec6b6f8-8b93-4734-8521-3e78a9517f5f", Timestamp: 1680683311507,
			Records: []Record{{ID: "9ec6b6f8-8b93-4734-8521-3e78a9517f5f:0", Data: gz(t, control)}}}, nil},
		"gzip body": {gz(t, sample), "gzip", 1 << 20, &FirehoseRequest{RequestID: "9ec6b6f8-8b93-4734-8521-3e78a9517f5f", Timestamp: 1680683311507,
			Records: []Record{{ID: "9ec6b6f8-8b93-4734-8521-3e78a9517f5f:0", Data: gz(t, control)}}}, nil},
		"gzip header value case": {gz(t, []byte(`{"requestId":"r","timestamp":1,"records":[]}`)), " GZIP ", 1 << 20,
			&FirehoseRequest{RequestID: "r", Timestamp: 1, Records: []Record{}}, nil},
		"several records, any key order, escaped slash": {[]byte(`{"records":[{"data":"` + b64(doc) + `"},{"x":1,"data":"` + strings.ReplaceAll(b64([]byte("??>")), "/", `\/`) + `"},{}],"timestamp":5,"requestId":"r"}`), "", 1 << 20,
			&FirehoseRequest{RequestID: "r", Timestamp: 5, Records: []Record{{ID: "r:0", Data: doc}, {ID: "r:1", Data: []byte("??>")}, {ID: "r:2", Data: []byte{}}}}, nil},
		"pretty printed": {[]byte("{\n  \"requestId\": \"r\",\n  \"timestamp\": 7,\n  \"records\": [\n    { \"data\": \"" + b64([]byte("x")) + "\" }\n  ]\n}\n"), "", 1 << 20,
			&FirehoseRequest{RequestID: "r", Timestamp: 7, Records: []Record{{ID: "r:0", Data: []byte("x")}}}, nil},
		"body too large":          {sample, "", 100, nil, ErrTooLarge},
		"gzip bomb":               {gz(t, []byte(`{"requestId":"r","records":[],"pad":"`+strings.Repeat("a", 1<<20)+`"}`)), "gzip", 64 << 10, nil, ErrTooLarge},
		"corrupt gzip":            {[]byte{0x1f, 0x8b, 8, 0, 0, 0}, "gzip", 1 << 20, nil, ErrMalformed},
		"gzip header, plain body": {sample, "gzip", 1 << 20, nil, ErrMalformed},
		"unsupported encoding":    {sample, "br", 1 << 20, nil, ErrMalformed},
		"missing requestId":       {[]byte(`{"timestamp":1,"records":[]}`), "", 1 << 20, nil, ErrMalformed},
		"bad base64":              {[]byte(`{"requestId":"r","records":[{"data":"!!"}]}`), "", 1 << 20, nil, ErrMalformed},
		"data not a string":       {[]byte(`{"requestId":"r","records":[{"data":5}]}`), "", 1 << 20, nil, ErrMalformed},
		"records not an array":    {[]byte(`{"requestId":"r","records":{}}`), "", 1 << 20, nil, ErrMalformed},
		"record not an object":    {[]byte(`{"requestId":"r","records":["x"]}`), "", 1 << 20, nil, ErrMalformed},
		"duplicate requestId":     {[]byte(`{"requestId":"r","requestId":"s"}`), "", 1 << 20, nil, ErrMalformed},
		"trailing data":           {[]byte(`{"requestId":"r"}{}`), "", 1 << 20, nil, ErrMalformed},
		"not json":                {[]byte(`requestId=r`), "", 1 << 20, nil, ErrMalformed},
		"truncated":               {sample[:len(sample)/2], "", 1 << 20, nil, ErrMalformed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseFirehoseRequest(tc.body, tc.encoding, tc.max)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if tc.want == nil {
				return
			}
			if got.RequestID != tc.want.RequestID || got.Timestamp != tc.want.Timestamp || len(got.Records) != len(tc.want.Records) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got.Records {
				g, w := got.Records[i], tc.want.Records[i]
				if g.ID != w.ID {
					t.Errorf("record %d ID %q, want %q", i, g.ID, w.ID)
				}
				// gzip output differs by header fields between writers: compare content
				if isGzip(w.Data) {
					gd, _ := refDecode(g.Data)
					wd, _ := refDecode(w.Data)
					if gd == nil || !equalDocs(gd, wd) {
						t.Errorf("record %d decodes to %+v, want %+v", i, gd, wd)
					}
				} else if !bytes.Equal(g.Data, w.Data) {
					t.Errorf("record %d data %q, want %q", i, g.Data, w.Data)
				}
			}
		})
	}
}

// Every record error at every truncation of the real sample is ErrMalformed.
func TestParseFirehoseRequestTruncated(t *testing.T) {
	sample := readTestdata(t, "08c_firehose_request.json")
	end := bytes.LastIndexByte(sample, '}') + 1
	for n := range end {
		if _, err := ParseFirehoseRequest(sample[:n], "", 1<<20); !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix %d: got %v", n, err)
		}
	}
}

func TestFirehoseCommonAttributes(t *testing.T) {
	tests := map[string]struct {
		header  string
		want    map[string]string
		wantErr error
	}{
		"absent":         {"", map[string]string{}, nil},
		"region":         {`{"commonAttributes":{"region":"eu-west-1","tenant":"t1"}}`, map[string]string{"region": "eu-west-1", "tenant": "t1"}, nil},
		"empty":          {`{"commonAttributes":{}}`, map[string]string{}, nil},
		"no attributes":  {`{}`, map[string]string{}, nil},
		"not json":       {`region=eu-west-1`, nil, ErrMalformed},
		"value a number": {`{"commonAttributes":{"n":1}}`, nil, ErrMalformed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := FirehoseCommonAttributes(tc.header)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFirehoseResponse(t *testing.T) {
	tests := map[string]struct {
		id     string
		ts     int64
		errMsg string
		want   string
	}{
		"ok":       {"9ec6b6f8-8b93-4734-8521-3e78a9517f5f", 1680683311507, "", `{"requestId":"9ec6b6f8-8b93-4734-8521-3e78a9517f5f","timestamp":1680683311507}`},
		"error":    {"r", 1, "payload too large", `{"requestId":"r","timestamp":1,"errorMessage":"payload too large"}`},
		"escaping": {`a"b\c`, 0, "line\n\ttab \x01 é <>", `{"requestId":"a\"b\\c","timestamp":0,"errorMessage":"line\n\ttab \u0001 é <>"}`},
		"bad utf8": {"r", 2, "x\xffy", `{"requestId":"r","timestamp":2,"errorMessage":"x\ufffdy"}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := FirehoseResponse(tc.id, tc.ts, tc.errMsg)
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			var back struct {
				RequestID    string `json:"requestId"`
				Timestamp    int64  `json:"timestamp"`
				ErrorMessage string `json:"errorMessage"`
			}
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if back.RequestID != strings.ToValidUTF8(tc.id, "\uFFFD") || back.Timestamp != tc.ts || back.ErrorMessage != strings.ToValidUTF8(tc.errMsg, "\uFFFD") {
				t.Errorf("round trip: %+v", back)
			}
		})
	}
}
