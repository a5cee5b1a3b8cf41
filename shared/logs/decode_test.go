package logs

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// gotEvent and gotDoc are what a handler saw, copied out of the decoder's buffers.
type gotEvent struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

type gotDoc struct {
	Type      string     `json:"messageType"`
	Owner     string     `json:"owner"`
	LogGroup  string     `json:"logGroup"`
	LogStream string     `json:"logStream"`
	Skipped   bool       `json:"skipped,omitempty"`
	Events    []gotEvent `json:"logEvents"`
}

func typeName(t MessageType) string {
	switch t {
	case MessageData:
		return "DATA_MESSAGE"
	case MessageControl:
		return "CONTROL_MESSAGE"
	}
	return "UNKNOWN"
}

// collector is a Handler that records everything and checks the call protocol.
type collector struct {
	t    testing.TB
	skip func(d *Document) bool // nil: accept every document
	docs []gotDoc
	open bool
}

func (c *collector) Document(d *Document) bool {
	if c.open {
		c.t.Errorf("Document called before EndDocument of the previous one")
	}
	c.open = true
	g := gotDoc{Type: typeName(d.Type), Owner: string(d.Owner), LogGroup: string(d.LogGroup), LogStream: string(d.LogStream), Events: []gotEvent{}}
	g.Skipped = c.skip != nil && c.skip(d)
	c.docs = append(c.docs, g)
	return !g.Skipped
}

func (c *collector) Event(d *Document, e *Event) {
	if !c.open || len(c.docs) == 0 {
		c.t.Fatalf("Event outside a document")
	}
	cur := &c.docs[len(c.docs)-1]
	if cur.Skipped {
		c.t.Errorf("Event of a skipped document")
	}
	if string(d.Owner) != cur.Owner || string(d.LogGroup) != cur.LogGroup || string(d.LogStream) != cur.LogStream {
		c.t.Errorf("Event's document header changed: %q %q %q", d.Owner, d.LogGroup, d.LogStream)
	}
	cur.Events = append(cur.Events, gotEvent{ID: string(e.ID), Timestamp: e.Timestamp, Message: string(e.Message)})
}

func (c *collector) EndDocument(d *Document) {
	if !c.open {
		c.t.Errorf("EndDocument without Document")
	}
	c.open = false
}

func decodeAll(t testing.TB, d *Decoder, data []byte) ([]gotDoc, error) {
	t.Helper()
	c := &collector{t: t}
	err := d.Decode(data, c)
	if err == nil && c.open {
		t.Errorf("Decode returned nil with a document left open")
	}
	return c.docs, err
}

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenRecord is one record of a golden file: what the decoder handed out, or
// its error.
type goldenRecord struct {
	ID    string   `json:"id,omitempty"`
	Docs  []gotDoc `json:"documents,omitempty"`
	Error string   `json:"error,omitempty"`
}

func checkGolden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, b, want)
	}
}

// TestGolden runs every real sample through its envelope and the decoder, plain
// and gzip'd, with one reused decoder.
func TestGolden(t *testing.T) {
	d := NewDecoder(Limits{})
	decodeRecords := func(t *testing.T, recs []Record) []goldenRecord {
		var out []goldenRecord
		for _, r := range recs {
			docs, err := decodeAll(t, d, r.Data)
			g := goldenRecord{ID: r.ID, Docs: docs}
			if err != nil {
				g.Docs, g.Error = nil, err.Error() // the contract: discard on error
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
					t.Errorf("record %s: error %v is neither ErrMalformed nor ErrTooLarge", r.ID, err)
				}
			}
			out = append(out, g)
		}
		return out
	}
	plain := func(name string) func(t *testing.T) []Record {
		return func(t *testing.T) []Record {
			b := readTestdata(t, name)
			return []Record{{ID: "plain", Data: b}, {ID: "gzip", Data: gz(t, b)}}
		}
	}
	tests := map[string]struct {
		records func(t *testing.T) []Record
	}{
		"08a_document":        {plain("08a_document.json")},
		"08b_document":        {plain("08b_document.json")},
		"08d_control_message": {plain("08d_control_message.json")},
		"08e_concatenated":    {plain("08e_concatenated.json")},
		"08e_truncated":       {plain("08e_truncated.txt")},
		"08c_firehose_request": {func(t *testing.T) []Record {
			req, err := ParseFirehoseRequest(readTestdata(t, "08c_firehose_request.json"), "", 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			return req.Records
		}},
		"cloudwatch-logs-event": {func(t *testing.T) []Record {
			var ev events.CloudwatchLogsEvent
			unmarshalTestdata(t, "cloudwatch-logs-event.json", &ev)
			r, err := SubscriptionRecord(ev)
			if err != nil {
				t.Fatal(err)
			}
			return []Record{r}
		}},
		"kinesis-event": {func(t *testing.T) []Record {
			var ev events.KinesisEvent
			unmarshalTestdata(t, "kinesis-event.json", &ev)
			return KinesisRecords(ev)
		}},
		"kinesis-firehose-event": {func(t *testing.T) []Record {
			var ev events.KinesisFirehoseEvent
			unmarshalTestdata(t, "kinesis-firehose-event.json", &ev)
			return FirehoseTransformRecords(ev)
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, name, decodeRecords(t, tc.records(t)))
		})
	}
}

func unmarshalTestdata(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(readTestdata(t, name), v); err != nil {
		t.Fatal(err)
	}
}

const sampleDoc = `{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/orders","logStream":"2024/05/01/[$LATEST]abc","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1714521600000,"message":"START RequestId: r1 Version: $LATEST\n"},{"id":"2","timestamp":1714521600001,"message":"REPORT RequestId: r1\tDuration: 1.00 ms\t\n"}]}`

var sampleWant = []gotDoc{{
	Type: "DATA_MESSAGE", Owner: "123456789012", LogGroup: "/aws/lambda/orders", LogStream: "2024/05/01/[$LATEST]abc",
	Events: []gotEvent{
		{ID: "1", Timestamp: 1714521600000, Message: "START RequestId: r1 Version: $LATEST\n"},
		{ID: "2", Timestamp: 1714521600001, Message: "REPORT RequestId: r1\tDuration: 1.00 ms\t\n"},
	},
}}

func TestDecodeShapes(t *testing.T) {
	pretty := func(s string) string {
		var b bytes.Buffer
		if err := json.Indent(&b, []byte(s), "", "    "); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	control := `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1680683189085,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`
	controlWant := gotDoc{Type: "CONTROL_MESSAGE", Owner: "CloudwatchLogs", Events: []gotEvent{{Timestamp: 1680683189085, Message: "CWL CONTROL MESSAGE: Checking health of destination Firehose."}}}
	two := append(append([]gotDoc{}, sampleWant...), sampleWant...)
	tests := map[string]struct {
		in   string
		want []gotDoc
	}{
		"compact":                   {sampleDoc, sampleWant},
		"pretty":                    {pretty(sampleDoc), sampleWant},
		"pretty with CRLF and tabs": {strings.ReplaceAll(pretty(sampleDoc), "\n", "\r\n\t"), sampleWant},
		"concatenated":              {sampleDoc + sampleDoc, two},
		"concatenated with space":   {" \n" + sampleDoc + "\n\n \t" + pretty(sampleDoc) + "\r\n", two},
		"control message":           {control, []gotDoc{controlWant}},
		"control then data":         {control + sampleDoc, append([]gotDoc{controlWant}, sampleWant...)},
		"unknown keys skipped": {`{"x":{"a":[1,-2.5e+3,true,false,null,{"b":"\"}"}]},"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s",` +
			`"logEvents":[{"extra":[[]],"id":"i","timestamp":5,"message":"m","more":{}}],"y":"z"}`,
			[]gotDoc{{Type: "DATA_MESSAGE", Owner: "1", LogGroup: "g", LogStream: "s", Events: []gotEvent{{ID: "i", Timestamp: 5, Message: "m"}}}}},
		"nulls read as zero": {`{"messageType":null,"owner":null,"logGroup":null,"logStream":null,"logEvents":[{"id":null,"timestamp":null,"message":null}]}`,
			[]gotDoc{{Type: "UNKNOWN", Events: []gotEvent{{}}}}},
		"null logEvents":    {`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":null}`, []gotDoc{{Type: "DATA_MESSAGE", Owner: "1", LogGroup: "g", LogStream: "s", Events: []gotEvent{}}}},
		"empty logEvents":   {`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[ ]}`, []gotDoc{{Type: "DATA_MESSAGE", Owner: "1", LogGroup: "g", LogStream: "s", Events: []gotEvent{}}}},
		"empty document":    {`{}`, []gotDoc{{Type: "UNKNOWN", Events: []gotEvent{}}}},
		"empty event":       {`{"logEvents":[{}]}`, []gotDoc{{Type: "UNKNOWN", Events: []gotEvent{{}}}}},
		"unknown type":      {`{"messageType":"OTHER","logEvents":[]}`, []gotDoc{{Type: "UNKNOWN", Events: []gotEvent{}}}},
		"negative and zero": {`{"logEvents":[{"timestamp":-0},{"timestamp":-9223372036854775808},{"timestamp":9223372036854775807}]}`, []gotDoc{{Type: "UNKNOWN", Events: []gotEvent{{}, {Timestamp: -9223372036854775808}, {Timestamp: 9223372036854775807}}}}},
		"logEvents first, header after": {`{"logEvents":[{"message":"a"},{"message":"b"}],"owner":"1","messageType":"DATA_MESSAGE","logStream":"s","logGroup":"g"}`,
			[]gotDoc{{Type: "DATA_MESSAGE", Owner: "1", LogGroup: "g", LogStream: "s", Events: []gotEvent{{Message: "a"}, {Message: "b"}}}}},
		"header key missing": {`{"messageType":"DATA_MESSAGE","owner":"1","logEvents":[{"message":"a"}]}`,
			[]gotDoc{{Type: "DATA_MESSAGE", Owner: "1", Events: []gotEvent{{Message: "a"}}}}},
		"escaped keys": {`{"message\u0054ype":"DATA_\u004dESSAGE","own\u0065r":"1","logGroup":"\/aws\/lambda\/f","logStream":"s","log\u0045vents":[{"\u0069d":"\u0031","timestamp":2,"m\u0065ssage":"x"}]}`,
			[]gotDoc{{Type: "DATA_MESSAGE", Owner: "1", LogGroup: "/aws/lambda/f", LogStream: "s", Events: []gotEvent{{ID: "1", Timestamp: 2, Message: "x"}}}}},
	}
	d := NewDecoder(Limits{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, enc := range []string{"plain", "gzip"} {
				in := []byte(tc.in)
				if enc == "gzip" {
					in = gz(t, in)
				}
				got, err := decodeAll(t, d, in)
				if err != nil {
					t.Fatalf("%s: %v", enc, err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s:\n got %+v\nwant %+v", enc, got, tc.want)
				}
			}
		})
	}
}

// TestDecodeKeyOrder decodes a document under every order of its six top-level
// keys and of its event's three keys.
func TestDecodeKeyOrder(t *testing.T) {
	top := []string{`"messageType":"DATA_MESSAGE"`, `"owner":"123456789012"`, `"logGroup":"/aws/lambda/orders"`, `"logStream":"2024/05/01/[$LATEST]abc"`, `"subscriptionFilters":["f"]`, `"logEvents":[%s]`}
	ev := []string{`"id":"%d"`, `"timestamp":%d`, `"message":"m\t%d"`}
	d := NewDecoder(Limits{})
	n := 0
	for _, tp := range permutations(len(top)) {
		for _, ep := range permutations(len(ev)) {
			var evs []string
			for i := 1; i <= 2; i++ {
				var parts []string
				for _, j := range ep {
					parts = append(parts, fmt.Sprintf(ev[j], i))
				}
				evs = append(evs, "{"+strings.Join(parts, ",")+"}")
			}
			var parts []string
			for _, j := range tp {
				p := top[j]
				if strings.Contains(p, "%s") {
					p = fmt.Sprintf(p, strings.Join(evs, ","))
				}
				parts = append(parts, p)
			}
			in := "{" + strings.Join(parts, ",") + "}"
			got, err := decodeAll(t, d, []byte(in))
			if err != nil {
				t.Fatalf("%s: %v", in, err)
			}
			want := []gotDoc{{Type: "DATA_MESSAGE", Owner: "123456789012", LogGroup: "/aws/lambda/orders", LogStream: "2024/05/01/[$LATEST]abc",
				Events: []gotEvent{{ID: "1", Timestamp: 1, Message: "m\t1"}, {ID: "2", Timestamp: 2, Message: "m\t2"}}}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s:\n got %+v\nwant %+v", in, got, want)
			}
			n++
		}
	}
	if n != 720*6 {
		t.Fatalf("ran %d orders, want %d", n, 720*6)
	}
}

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

// TestDecodeEscapes checks every JSON escape in a message against encoding/json.
func TestDecodeEscapes(t *testing.T) {
	tests := map[string]struct {
		raw  string // the message as it appears between the quotes
		want string
	}{
		"quote":                 {`a\"b`, `a"b`},
		"backslash":             {`a\\b`, `a\b`},
		"solidus":               {`a\/b`, `a/b`},
		"backspace":             {`\b`, "\b"},
		"form feed":             {`\f`, "\f"},
		"newline":               {`line\n`, "line\n"},
		"carriage return":       {`\r`, "\r"},
		"tab":                   {`REPORT\tDuration: 1 ms\t\n`, "REPORT\tDuration: 1 ms\t\n"},
		"u ascii":               {`\u0041\u0062`, "Ab"},
		"u nul":                 {`\u0000`, "\x00"},
		"u two byte":            {`caf\u00e9`, "café"},
		"u three byte":          {`\u20AC`, "€"},
		"surrogate pair":        {`\ud83d\ude00`, "😀"},
		"lone high surrogate":   {`\ud800x`, "\uFFFDx"},
		"lone low surrogate":    {`\udc00`, "\uFFFD"},
		"high then non-low":     {`\ud800\u0041`, "\uFFFDA"},
		"high then high pair":   {`\ud800\ud83d\ude00`, "\uFFFD😀"},
		"high at end":           {`\ud83d`, "\uFFFD"},
		"escaped quote at end":  {`\"`, `"`},
		"escaped backslash end": {`\\`, `\`},
		"backslashes and quote": {`\\\"\\`, `\"\`},
		"raw utf8":              {`日本語 ok`, "日本語 ok"},
		"json log line":         {`{\"level\":\"INFO\",\"msg\":\"a\\nb\"}`, `{"level":"INFO","msg":"a\nb"}`},
		"many escapes":          {strings.Repeat(`x\t`, 100), strings.Repeat("x\t", 100)},
	}
	d := NewDecoder(Limits{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var oracle string
			if err := json.Unmarshal([]byte(`"`+tc.raw+`"`), &oracle); err != nil {
				t.Fatal(err)
			}
			if oracle != tc.want {
				t.Fatalf("test case disagrees with encoding/json: %q vs %q", tc.want, oracle)
			}
			in := `{"owner":"` + tc.raw + `","logEvents":[{"id":"` + tc.raw + `","message":"` + tc.raw + `"}]}`
			got, err := decodeAll(t, d, []byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || len(got[0].Events) != 1 {
				t.Fatalf("got %+v", got)
			}
			if e := got[0].Events[0]; e.Message != tc.want || e.ID != tc.want || got[0].Owner != tc.want {
				t.Errorf("got message %q id %q owner %q, want %q", e.Message, e.ID, got[0].Owner, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	doc := func(events string) string {
		return `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[` + events + `]}`
	}
	corrupt := gz(t, []byte(sampleDoc))
	corrupt[len(corrupt)/2] ^= 0xff
	badCRC := gz(t, []byte(sampleDoc))
	badCRC[len(badCRC)-6] ^= 0xff
	tests := map[string]struct {
		in     []byte
		limits Limits
		want   error
	}{
		"empty":                   {[]byte(""), Limits{}, ErrMalformed},
		"whitespace only":         {[]byte(" \n\t"), Limits{}, ErrMalformed},
		"not json":                {[]byte("Hello World"), Limits{}, ErrMalformed},
		"array":                   {[]byte(`[` + sampleDoc + `]`), Limits{}, ErrMalformed},
		"string document":         {[]byte(`"x"`), Limits{}, ErrMalformed},
		"trailing garbage":        {[]byte(sampleDoc + "x"), Limits{}, ErrMalformed},
		"comma between documents": {[]byte(sampleDoc + "," + sampleDoc), Limits{}, ErrMalformed},
		"invalid escape":          {[]byte(doc(`{"message":"a\x"}`)), Limits{}, ErrMalformed},
		"short u escape":          {[]byte(doc(`{"message":"\u12"}`)), Limits{}, ErrMalformed},
		"bad hex":                 {[]byte(doc(`{"message":"\u12G4"}`)), Limits{}, ErrMalformed},
		"escape at end":           {[]byte(`{"message":"\`), Limits{}, ErrMalformed},
		"unterminated string":     {[]byte(doc(`{"message":"abc}`)), Limits{}, ErrMalformed},
		"missing colon":           {[]byte(`{"owner" "1"}`), Limits{}, ErrMalformed},
		"trailing comma":          {[]byte(`{"owner":"1",}`), Limits{}, ErrMalformed},
		"trailing comma in array": {[]byte(doc(`{"id":"1"},`)), Limits{}, ErrMalformed},
		"unquoted key":            {[]byte(`{owner:"1"}`), Limits{}, ErrMalformed},
		"duplicate owner":         {[]byte(`{"owner":"1","owner":"2"}`), Limits{}, ErrMalformed},
		"duplicate logEvents":     {[]byte(`{"logEvents":[],"logEvents":[]}`), Limits{}, ErrMalformed},
		"duplicate event key":     {[]byte(doc(`{"message":"a","message":"b"}`)), Limits{}, ErrMalformed},
		"owner is a number":       {[]byte(`{"owner":1}`), Limits{}, ErrMalformed},
		"logEvents is an object":  {[]byte(`{"logEvents":{}}`), Limits{}, ErrMalformed},
		"event is a string":       {[]byte(doc(`"e"`)), Limits{}, ErrMalformed},
		"event is null":           {[]byte(doc(`null`)), Limits{}, ErrMalformed},
		"timestamp fraction":      {[]byte(doc(`{"timestamp":1.5}`)), Limits{}, ErrMalformed},
		"timestamp exponent":      {[]byte(doc(`{"timestamp":1e3}`)), Limits{}, ErrMalformed},
		"timestamp string":        {[]byte(doc(`{"timestamp":"1"}`)), Limits{}, ErrMalformed},
		"timestamp leading zero":  {[]byte(doc(`{"timestamp":01}`)), Limits{}, ErrMalformed},
		"timestamp overflow":      {[]byte(doc(`{"timestamp":9223372036854775808}`)), Limits{}, ErrMalformed},
		"timestamp underflow":     {[]byte(doc(`{"timestamp":-9223372036854775809}`)), Limits{}, ErrMalformed},
		"timestamp huge":          {[]byte(doc(`{"timestamp":99999999999999999999999}`)), Limits{}, ErrMalformed},
		"timestamp minus only":    {[]byte(doc(`{"timestamp":-}`)), Limits{}, ErrMalformed},
		"message is a number":     {[]byte(doc(`{"message":5}`)), Limits{}, ErrMalformed},
		"bad literal":             {[]byte(`{"x":nul}`), Limits{}, ErrMalformed},
		"bad number in unknown":   {[]byte(`{"x":1.}`), Limits{}, ErrMalformed},
		"bad exponent in unknown": {[]byte(`{"x":1e}`), Limits{}, ErrMalformed},
		"too deep":                {[]byte(`{"x":` + strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + `}`), Limits{}, ErrMalformed},
		"gzip corrupt":            {corrupt, Limits{}, ErrMalformed},
		"gzip bad checksum":       {badCRC, Limits{}, ErrMalformed},
		"gzip header only":        {[]byte{0x1f, 0x8b}, Limits{}, ErrMalformed},
		"gzip trailing garbage":   {append(gz(t, []byte(sampleDoc)), 'x', 'y'), Limits{}, ErrMalformed},
		"record too large":        {[]byte(sampleDoc), Limits{MaxRecordBytes: 10}, ErrTooLarge},
		"plain too large":         {[]byte(sampleDoc), Limits{MaxRecordBytes: 1 << 20, MaxDecodedBytes: 10}, ErrTooLarge},
		"gzip too large":          {gz(t, []byte(sampleDoc)), Limits{MaxDecodedBytes: len(sampleDoc) - 1}, ErrTooLarge},
		"too many documents":      {[]byte(sampleDoc + sampleDoc + sampleDoc), Limits{MaxDocuments: 2}, ErrTooLarge},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := decodeAll(t, NewDecoder(tc.limits), tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeLimitsExact(t *testing.T) {
	// The limits are inclusive: a record of exactly the limit passes.
	in := []byte(sampleDoc)
	if _, err := decodeAll(t, NewDecoder(Limits{MaxRecordBytes: len(in), MaxDecodedBytes: len(in)}), in); err != nil {
		t.Errorf("plain at the limit: %v", err)
	}
	if _, err := decodeAll(t, NewDecoder(Limits{MaxDecodedBytes: len(in)}), gz(t, in)); err != nil {
		t.Errorf("gzip at the limit: %v", err)
	}
	if _, err := decodeAll(t, NewDecoder(Limits{MaxDocuments: 3}), []byte(sampleDoc+sampleDoc+sampleDoc)); err != nil {
		t.Errorf("documents at the limit: %v", err)
	}
}

func TestDecodeErrorContext(t *testing.T) {
	in := `{"owner":"1","logEvents":[{"timestamp":1.5}]}`
	_, err := decodeAll(t, NewDecoder(Limits{}), []byte(in))
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v", err)
	}
	want := fmt.Sprintf("offset %d: expected an integer for timestamp, found a fraction or exponent", strings.Index(in, ".5"))
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

// TestGzipBomb feeds a record that decompresses far beyond the default limit.
func TestGzipBomb(t *testing.T) {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for range DefaultLimits().MaxDecodedBytes>>20 + 8 {
		w.Write(chunk)
	}
	w.Close()
	bomb := b.Bytes()
	if len(bomb) > DefaultLimits().MaxRecordBytes {
		t.Fatalf("bomb of %d bytes is not small", len(bomb))
	}
	d := NewDecoder(Limits{})
	_, err := decodeAll(t, d, bomb)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if d.out != nil {
		t.Errorf("the bomb's buffer (%d bytes) was kept", cap(d.out))
	}
	// The decoder stays usable.
	if got, err := decodeAll(t, d, gz(t, []byte(sampleDoc))); err != nil || !reflect.DeepEqual(got, sampleWant) {
		t.Errorf("after the bomb: %v %+v", err, got)
	}
}

func TestDecodeMultiMemberGzip(t *testing.T) {
	in := append(gz(t, []byte(sampleDoc)), gz(t, []byte(sampleDoc))...)
	got, err := decodeAll(t, NewDecoder(Limits{}), in)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]gotDoc{}, sampleWant...), sampleWant...); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
}

func TestDecodeSkipDocument(t *testing.T) {
	in := readTestdata(t, "08d_control_message.json")
	in = append(in, []byte(`{"logEvents":[{"message":"deferred"}],"messageType":"CONTROL_MESSAGE","owner":"o","logGroup":"","logStream":""}`)...)
	in = append(in, []byte(sampleDoc)...)
	c := &collector{t: t, skip: func(d *Document) bool { return d.Type == MessageControl }}
	if err := NewDecoder(Limits{}).Decode(in, c); err != nil {
		t.Fatal(err)
	}
	if len(c.docs) != 3 || !c.docs[0].Skipped || !c.docs[1].Skipped || c.docs[2].Skipped {
		t.Fatalf("got %+v", c.docs)
	}
	if len(c.docs[0].Events)+len(c.docs[1].Events) != 0 || len(c.docs[2].Events) != 2 {
		t.Errorf("events of skipped documents were handed out: %+v", c.docs)
	}
	if c.open {
		t.Error("last document not ended")
	}
}

// TestDecodeTruncated cuts real samples at every offset: each prefix must fail
// with ErrMalformed (never panic), except prefixes that are complete documents.
func TestDecodeTruncated(t *testing.T) {
	samples := map[string][]byte{
		"08a": readTestdata(t, "08a_document.json"),
		"08b": readTestdata(t, "08b_document.json"),
		"08d": readTestdata(t, "08d_control_message.json"),
		"escapes": []byte(`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[` +
			`{"id":"1","timestamp":-12,"message":"a\t\"\\\u00e9\ud83d\ude00\/"},{"x":[1.5e-3,true,null,{}],"message":null}]}`),
	}
	d := NewDecoder(Limits{})
	for name, full := range samples {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeAll(t, d, full); err != nil {
				t.Fatalf("full sample: %v", err)
			}
			complete := bytes.LastIndexByte(full, '}') + 1
			for n := range len(full) {
				_, err := decodeAll(t, d, full[:n])
				if n >= complete {
					if err != nil {
						t.Errorf("prefix %d (complete): %v", n, err)
					}
					continue
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("prefix %d: got %v, want ErrMalformed", n, err)
				}
			}
			z := gz(t, full)
			for n := range len(z) {
				if _, err := decodeAll(t, d, z[:n]); !errors.Is(err, ErrMalformed) {
					t.Fatalf("gzip prefix %d: got %v, want ErrMalformed", n, err)
				}
			}
			// Corrupt every byte: errors must be ErrMalformed, never a panic.
			for i := range len(full) {
				c := bytes.Clone(full)
				c[i] ^= 0xA5
				if _, err := decodeAll(t, d, c); err != nil && !errors.Is(err, ErrMalformed) {
					t.Fatalf("corrupt byte %d: %v", i, err)
				}
			}
			for i := range len(z) {
				c := bytes.Clone(z)
				c[i] ^= 0xA5
				if _, err := decodeAll(t, d, c); err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("corrupt gzip byte %d: %v", i, err)
				}
			}
		})
	}
}
