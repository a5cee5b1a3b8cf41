package logs

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"unicode/utf8"
)

// The reference decoder: the decoder's rules written with encoding/json, which
// does the lexing (strings, escapes, numbers). Keys match exactly (encoding/json
// struct matching is case-insensitive, so objects are walked member by member).

type member struct {
	key string
	val json.RawMessage
}

// refObject returns the members of a JSON object, in order.
func refObject(raw json.RawMessage) ([]member, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("not an object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{key: tok.(string), val: v})
	}
	_, err := dec.Token()
	return ms, err
}

// refFields sets the known keys of an object, rejecting duplicates.
func refFields(raw json.RawMessage, known map[string]func(json.RawMessage) error) error {
	ms, err := refObject(raw)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, m := range ms {
		set, ok := known[m.key]
		if !ok {
			continue
		}
		if seen[m.key] {
			return fmt.Errorf("duplicate %q", m.key)
		}
		seen[m.key] = true
		if err := set(m.val); err != nil {
			return err
		}
	}
	return nil
}

func refDocument(raw json.RawMessage) (gotDoc, error) {
	doc := gotDoc{Type: "UNKNOWN", Events: []gotEvent{}}
	str := func(dst *string) func(json.RawMessage) error {
		return func(v json.RawMessage) error { return json.Unmarshal(v, dst) }
	}
	err := refFields(raw, map[string]func(json.RawMessage) error{
		"messageType": func(v json.RawMessage) error {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			if s == "DATA_MESSAGE" || s == "CONTROL_MESSAGE" {
				doc.Type = s
			}
			return nil
		},
		"owner":     str(&doc.Owner),
		"logGroup":  str(&doc.LogGroup),
		"logStream": str(&doc.LogStream),
		"logEvents": func(v json.RawMessage) error {
			var evs []json.RawMessage
			if err := json.Unmarshal(v, &evs); err != nil {
				return err
			}
			for _, e := range evs {
				var ev gotEvent
				err := refFields(e, map[string]func(json.RawMessage) error{
					"id":        str(&ev.ID),
					"message":   str(&ev.Message),
					"timestamp": func(v json.RawMessage) error { return json.Unmarshal(v, &ev.Timestamp) },
				})
				if err != nil {
					return err
				}
				doc.Events = append(doc.Events, ev)
			}
			return nil
		},
	})
	return doc, err
}

// refDecode decodes plain or gzip'd documents the slow, obviously right way.
func refDecode(data []byte) ([]gotDoc, error) {
	if isGzip(data) {
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if data, err = io.ReadAll(r); err != nil {
			return nil, err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []gotDoc
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		doc, err := refDocument(raw)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		return nil, errors.New("no document")
	}
	return docs, nil
}

func equalDocs(a, b []gotDoc) bool { return reflect.DeepEqual(a, b) }

// hasControl reports whether data holds a byte below 0x20: inside a string the
// decoder passes it through where encoding/json rejects it (documented leniency).
func hasControl(data []byte) bool {
	for _, c := range data {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func addDecodeSeeds(f *testing.F) {
	for _, name := range []string{"08a_document.json", "08b_document.json", "08d_control_message.json", "08e_concatenated.json", "08e_truncated.txt"} {
		b := readTestdata(f, name)
		f.Add(b)
		f.Add(gz(f, b))
	}
	f.Add([]byte(sampleDoc))
	f.Add([]byte(`{"logEvents":[{"message":"a\t\"\\\u00e9\ud83d\ude00\ud800\/","timestamp":-1,"x":[1.5e-3,{}]}],"owner":"o","messageType":"CONTROL_MESSAGE"}`))
	f.Add(benchRecords(1)[0])
}

// FuzzDecode checks that the decoder never panics, fails only with its error
// kinds, and agrees with the reference decoder on every input the reference
// accepts (and rejects what it rejects, within the documented leniency).
func FuzzDecode(f *testing.F) {
	addDecodeSeeds(f)
	d := NewDecoder(Limits{MaxDecodedBytes: 1 << 20})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeAll(t, d, data)
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error of no kind: %v", err)
		}
		if errors.Is(err, ErrTooLarge) {
			return
		}
		plain := data
		if isGzip(data) {
			r, zerr := gzip.NewReader(bytes.NewReader(data))
			if zerr == nil {
				plain, zerr = io.ReadAll(r)
			}
			if zerr != nil {
				if err == nil {
					t.Fatalf("accepted corrupt gzip (%v)", zerr)
				}
				return
			}
		}
		if !utf8.Valid(plain) {
			return // encoding/json replaces invalid UTF-8; the decoder passes bytes through
		}
		want, refErr := refDecode(plain)
		switch {
		case refErr == nil && err != nil:
			t.Fatalf("rejected valid input: %v\n%q", err, plain)
		case refErr == nil && !equalDocs(got, want):
			t.Fatalf("decoded differently:\n got %+v\nwant %+v", got, want)
		case refErr != nil && err == nil && !hasControl(plain):
			t.Fatalf("accepted what encoding/json rejects (%v):\n%q", refErr, plain)
		}
	})
}

// refFirehose is the reference for ParseFirehoseRequest.
func refFirehose(body []byte) (*FirehoseRequest, error) {
	if !json.Valid(body) {
		return nil, errors.New("not JSON")
	}
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return nil, errors.New("not an object")
	}
	req := &FirehoseRequest{}
	err := refFields(body, map[string]func(json.RawMessage) error{
		"requestId": func(v json.RawMessage) error { return json.Unmarshal(v, &req.RequestID) },
		"timestamp": func(v json.RawMessage) error { return json.Unmarshal(v, &req.Timestamp) },
		"records": func(v json.RawMessage) error {
			var recs []json.RawMessage
			if err := json.Unmarshal(v, &recs); err != nil {
				return err
			}
			for i, r := range recs {
				var data []byte
				if err := refFields(r, map[string]func(json.RawMessage) error{
					"data": func(v json.RawMessage) error { return json.Unmarshal(v, &data) },
				}); err != nil {
					return err
				}
				req.Records = append(req.Records, Record{ID: fmt.Sprintf("%s:%d", req.RequestID, i), Data: data})
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	if req.RequestID == "" {
		return nil, errors.New("no requestId")
	}
	// IDs use the final requestId, wherever the key came.
	for i := range req.Records {
		req.Records[i].ID = fmt.Sprintf("%s:%d", req.RequestID, i)
	}
	return req, nil
}

func FuzzParseFirehoseRequest(f *testing.F) {
	b := readTestdata(f, "08c_firehose_request.json")
	f.Add(b, false)
	f.Add(gz(f, b), true)
	f.Add([]byte(`{"requestId":"r","timestamp":1,"records":[{"data":"e30="},{"data":""},{}],"x":[null]}`), false)
	f.Add([]byte(`{"records":null,"requestId":"r\u0031"}`), false)
	f.Fuzz(func(t *testing.T, body []byte, gzipped bool) {
		enc := ""
		if gzipped {
			enc = "gzip"
		}
		req, err := ParseFirehoseRequest(body, enc, 1<<20)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of no kind: %v", err)
			}
			if !gzipped && utf8.Valid(body) {
				if _, refErr := refFirehose(body); refErr == nil && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("rejected valid body: %v\n%q", err, body)
				}
			}
			return
		}
		for i, r := range req.Records {
			if want := fmt.Sprintf("%s:%d", req.RequestID, i); r.ID != want {
				t.Fatalf("record %d ID %q, want %q", i, r.ID, want)
			}
		}
		if gzipped || !utf8.Valid(body) {
			return
		}
		want, refErr := refFirehose(body)
		if refErr != nil {
			if !hasControl(body) {
				t.Fatalf("accepted what encoding/json rejects (%v):\n%q", refErr, body)
			}
			return
		}
		if req.RequestID != want.RequestID || req.Timestamp != want.Timestamp || len(req.Records) != len(want.Records) {
			t.Fatalf("got %+v, want %+v", req, want)
		}
		for i := range req.Records {
			if !bytes.Equal(req.Records[i].Data, want.Records[i].Data) {
				t.Fatalf("record %d: data %q, want %q", i, req.Records[i].Data, want.Records[i].Data)
			}
		}
	})
}
