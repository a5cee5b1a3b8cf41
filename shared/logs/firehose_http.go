package logs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// Firehose HTTP endpoint delivery ("Appendix - HTTP Endpoint Delivery Request and
// Response Specifications" of the Amazon Data Firehose developer guide).
//
// The receiver answers every request with Content-Type application/json and the
// body FirehoseResponse builds, and with these status codes:
//
//	200  delivered (the only code Firehose counts as success)
//	400  malformed body or record (ErrMalformed): permanent
//	401  missing or wrong X-Amz-Firehose-Access-Key
//	413  body over the size limit (ErrTooLarge)
//	500  / 503  transient failure (e.g. DynamoDB throttling): Firehose retries
//
// Firehose retries any non-200 answer until the stream's retry duration ends,
// then backs the data up to S3; the 4xx codes and errorMessage say why in its
// error logs. When the body cannot be parsed, answer with the requestId of the
// X-Amz-Firehose-Request-Id header (the same across retries of a request).
const (
	FirehoseRequestIDHeader        = "X-Amz-Firehose-Request-Id"
	FirehoseAccessKeyHeader        = "X-Amz-Firehose-Access-Key"
	FirehoseCommonAttributesHeader = "X-Amz-Firehose-Common-Attributes"
)

// FirehoseRequest is the body of a Firehose HTTP endpoint delivery request.
type FirehoseRequest struct {
	RequestID string
	Timestamp int64 // ms since the Unix epoch, when Firehose sent the request
	// Records hold the base64-decoded data of each record. Record.ID is
	// "<requestId>:<index>", stable across Firehose's retries of the request.
	Records []Record
}

// ParseFirehoseRequest parses a delivery request body. contentEncoding is the
// request's Content-Encoding header: "" (or "identity") or "gzip", which applies
// to the whole body. maxBytes bounds the body both as received and after
// decompression (<= 0: DefaultLimits().MaxDecodedBytes). Errors wrap ErrTooLarge
// or ErrMalformed (bad gzip, bad JSON, missing requestId, bad base64, unsupported
// encoding). Unknown keys are skipped.
func ParseFirehoseRequest(body []byte, contentEncoding string, maxBytes int64) (*FirehoseRequest, error) {
	if maxBytes <= 0 {
		maxBytes = int64(DefaultLimits().MaxDecodedBytes)
	}
	if int64(len(body)) > maxBytes {
		return nil, fmt.Errorf("logs: firehose body of %d bytes exceeds %d: %w", len(body), maxBytes, ErrTooLarge)
	}
	switch enc := strings.ToLower(strings.TrimSpace(contentEncoding)); enc {
	case "", "identity":
	case "gzip":
		var err error
		if body, err = gunzipBody(body, maxBytes); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("logs: firehose body: unsupported Content-Encoding %q: %w", enc, ErrMalformed)
	}
	req, err := parseFirehoseBody(body)
	if err != nil {
		return nil, fmt.Errorf("logs: firehose body: %w", err)
	}
	return req, nil
}

var gzipReaders sync.Pool // of *gzip.Reader

func gunzipBody(body []byte, limit int64) ([]byte, error) {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	if zr == nil {
		zr = new(gzip.Reader)
	}
	defer gzipReaders.Put(zr)
	if err := zr.Reset(bytes.NewReader(body)); err != nil {
		return nil, fmt.Errorf("logs: firehose body: gzip header: %v: %w", err, ErrMalformed)
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("logs: firehose body decompresses to more than %d bytes: %w", limit, ErrTooLarge)
	}
	if err != nil {
		return nil, fmt.Errorf("logs: firehose body: gunzip: %v: %w", err, ErrMalformed)
	}
	return out, nil
}

func parseFirehoseBody(body []byte) (*FirehoseRequest, error) {
	s := &scanner{data: body}
	s.skipSpace()
	if s.peek() != '{' {
		return nil, s.expected("'{' starting the request")
	}
	s.pos++
	req := &FirehoseRequest{}
	var (
		seen uint8
		val  []byte // unescape buffer
		data []byte // all records' decoded data, back to back
		ends []int  // end of each record's data in data
	)
	if !s.consume('}') {
		for {
			k, err := s.key()
			if err != nil {
				return nil, err
			}
			var bit uint8
			switch string(k) {
			case "requestId":
				bit = 1
			case "timestamp":
				bit = 2
			case "records":
				bit = 4
			}
			if seen&bit != 0 {
				return nil, s.errorf(ErrMalformed, "duplicate key %q", k)
			}
			seen |= bit
			switch bit {
			case 1:
				var v []byte
				if v, err = s.stringOrNull(&val, "requestId"); err == nil {
					req.RequestID = string(v)
				}
			case 2:
				req.Timestamp, err = s.int64OrNull("timestamp")
			case 4:
				data, ends, err = firehoseRecords(s, &val, data, ends)
			default:
				err = s.skipValue(1)
			}
			if err != nil {
				return nil, err
			}
			more, err := s.more('}')
			if err != nil {
				return nil, err
			}
			if !more {
				break
			}
		}
	}
	s.skipSpace()
	if s.pos != len(body) {
		return nil, s.expected("the end of the body")
	}
	if req.RequestID == "" {
		return nil, fmt.Errorf("missing requestId: %w", ErrMalformed)
	}
	req.Records = make([]Record, len(ends))
	start := 0
	for i, end := range ends {
		req.Records[i] = Record{ID: req.RequestID + ":" + strconv.Itoa(i), Data: data[start:end:end]}
		start = end
	}
	return req, nil
}

// firehoseRecords scans the records array (or null), appending each record's
// base64-decoded data to data and its end offset to ends.
func firehoseRecords(s *scanner, val *[]byte, data []byte, ends []int) ([]byte, []int, error) {
	if s.peek() == 'n' {
		return data, ends, s.literal("null")
	}
	if s.peek() != '[' {
		return data, ends, s.expected("an array for records")
	}
	s.pos++
	if s.consume(']') {
		return data, ends, nil
	}
	for {
		s.skipSpace()
		if s.peek() != '{' {
			return data, ends, s.expected("'{' starting a record")
		}
		s.pos++
		hasData := false
		if !s.consume('}') {
			for {
				k, err := s.key()
				if err != nil {
					return data, ends, err
				}
				if string(k) == "data" {
					if hasData {
						return data, ends, s.errorf(ErrMalformed, "duplicate key \"data\" in record %d", len(ends))
					}
					hasData = true
					v, err := s.stringOrNull(val, "data")
					if err != nil {
						return data, ends, err
					}
					if data, err = base64.StdEncoding.AppendDecode(data, v); err != nil {
						return data, ends, s.errorf(ErrMalformed, "record %d: base64 data: %v", len(ends), err)
					}
				} else if err := s.skipValue(3); err != nil { // body, records, record
					return data, ends, err
				}
				more, err := s.more('}')
				if err != nil {
					return data, ends, err
				}
				if !more {
					break
				}
			}
		}
		ends = append(ends, len(data))
		more, err := s.more(']')
		if err != nil || !more {
			return data, ends, err
		}
	}
}

// FirehoseCommonAttributes parses the X-Amz-Firehose-Common-Attributes header,
// {"commonAttributes":{"name":"value",...}}. An absent (empty) header gives an
// empty map; anything else that is not that shape wraps ErrMalformed.
func FirehoseCommonAttributes(header string) (map[string]string, error) {
	if strings.TrimSpace(header) == "" {
		return map[string]string{}, nil
	}
	var v struct {
		CommonAttributes map[string]string `json:"commonAttributes"`
	}
	if err := json.Unmarshal([]byte(header), &v); err != nil {
		return nil, fmt.Errorf("logs: %s header: %v: %w", FirehoseCommonAttributesHeader, err, ErrMalformed)
	}
	if v.CommonAttributes == nil {
		return map[string]string{}, nil
	}
	return v.CommonAttributes, nil
}

// FirehoseResponse builds the response body Firehose expects:
// {"requestId":"...","timestamp":N} and, when errMsg is not empty,
// "errorMessage":"...". requestID is the request's; timestamp is when the
// receiver processed it, in ms since the Unix epoch. See the status codes above.
func FirehoseResponse(requestID string, timestamp int64, errMsg string) []byte {
	b := make([]byte, 0, 64+len(requestID)+len(errMsg))
	b = append(b, `{"requestId":`...)
	b = appendJSONString(b, requestID)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, timestamp, 10)
	if errMsg != "" {
		b = append(b, `,"errorMessage":`...)
		b = appendJSONString(b, errMsg)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
