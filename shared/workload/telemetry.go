package workload

import (
	"strconv"
	"strings"

	"github.com/sightline/sightline/shared/telemetry"
)

// TelemetryLines is the default Config.Telemetry: the invocation's trace as the
// instrumented functions' SDK writes it, encoded by telemetry.Encode. About one
// payload in sixteen (request ids starting with '0') is written in chunks of at
// most 256 bytes, so the chunk re-joining is exercised too. A payload that fails
// to encode is left out (no lines), and the truth counts only what was written.
func TelemetryLines(t Trace) []string {
	startUs := t.Start.UnixMicro()
	endUs := startUs + t.Duration.Microseconds()
	spanID := func(n int) string { return strings.ReplaceAll(t.RequestID, "-", "")[n : n+16] }
	root := telemetry.Span{ID: spanID(0), Name: "aws.lambda.invocation", Start: startUs, End: endUs,
		Tags: map[string]string{"aws.lambda.name": t.Function, "aws.lambda.runtime": t.Runtime,
			"aws.lambda.coldStart": strconv.FormatBool(t.ColdStart), "aws.lambda.status": t.Status.String()}}
	child := telemetry.Span{ID: spanID(16), ParentID: root.ID, Name: "aws.sdk.dynamodb.query",
		Start: startUs + (endUs-startUs)/5, End: startUs + (endUs-startUs)*3/5}
	p := &telemetry.Payload{
		TraceID: t.TraceID, RequestID: t.RequestID, Function: t.Function, Sampled: true,
		Tags:  map[string]string{"aws.account": t.Account, "aws.region": t.Region},
		Spans: []telemetry.Span{root, child},
	}
	if t.ErrorType != "" {
		p.Errors = []telemetry.ErrorEvent{{SpanID: root.ID, Time: endUs, Type: t.ErrorType, Message: t.ErrorMessage}}
	}
	maxLine := telemetry.DefaultMaxLine
	if strings.HasPrefix(t.RequestID, "0") {
		maxLine = 2 * telemetry.MinLine
	}
	lines, err := telemetry.Encode(p, maxLine)
	if err != nil {
		return nil
	}
	return lines
}
