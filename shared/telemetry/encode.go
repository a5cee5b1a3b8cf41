package telemetry

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Encode writes p as SERVERLESS_TELEMETRY lines of at most maxLine bytes each
// (DefaultMaxLine when maxLine <= 0): one line when it fits, numbered chunks
// otherwise. Encoding is deterministic: the payload id is a hash of the
// compressed bytes.
func Encode(p *Payload, maxLine int) ([]string, error) {
	if p == nil {
		return nil, errors.New("telemetry: encode: nil payload")
	}
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	if maxLine < MinLine || maxLine > MaxLine {
		return nil, fmt.Errorf("telemetry: encode: maxLine %d outside [%d, %d]", maxLine, MinLine, MaxLine)
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("telemetry: encode: invalid payload: %w", err)
	}
	js, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("telemetry: encode: marshal: %w", err)
	}
	if len(js) > MaxPayloadBytes {
		return nil, fmt.Errorf("telemetry: encode: %d bytes of JSON, limit %d: %w", len(js), MaxPayloadBytes, ErrTooLarge)
	}
	var z bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&z)
	if _, err := zw.Write(js); err != nil {
		return nil, fmt.Errorf("telemetry: encode: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("telemetry: encode: gzip: %w", err)
	}
	b64 := base64.StdEncoding.EncodeToString(z.Bytes())
	if len(b64) > MaxEncodedBytes {
		return nil, fmt.Errorf("telemetry: encode: %d bytes encoded, limit %d: %w", len(b64), MaxEncodedBytes, ErrTooLarge)
	}

	head := Prefix + strconv.Itoa(Version) + "."
	if len(head)+len(b64) <= maxLine {
		return []string{head + b64}, nil
	}

	h := fnv.New64a()
	h.Write(z.Bytes())
	id := fmt.Sprintf("%016x", h.Sum64())
	// Size the chunks for the longest header: count digits for index and count.
	for count := 2; ; count++ {
		digits := len(strconv.Itoa(count))
		header := len(head) + len(id) + 1 + digits + 1 + digits + 1
		room := maxLine - header
		if room <= 0 {
			return nil, fmt.Errorf("telemetry: encode: maxLine %d too short for chunk headers", maxLine)
		}
		need := (len(b64) + room - 1) / room
		if need > MaxChunks {
			return nil, fmt.Errorf("telemetry: encode: %d chunks needed, limit %d: %w", need, MaxChunks, ErrTooLarge)
		}
		if need > count {
			continue
		}
		lines := make([]string, 0, need)
		for i := 0; i < need; i++ {
			part := b64[i*room : min((i+1)*room, len(b64))]
			lines = append(lines, head+id+"."+strconv.Itoa(i+1)+"."+strconv.Itoa(need)+"."+part)
		}
		return lines, nil
	}
}

// gzipWriters reuses compressors: a gzip.Writer holds about a megabyte of state,
// too much to build for every invocation's payload.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return zw
}}
