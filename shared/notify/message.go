package notify

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sightline/sightline/shared/insights"
)

// titles are the rules' human names, as the dashboard shows them.
var titles = map[insights.Rule]string{
	insights.RuleOutOfMemory:          "Memory: Out of Memory",
	insights.RuleTimeout:              "Duration: Timeout",
	insights.RuleNewErrorType:         "Error: New Error Type Identified",
	insights.RuleApproachingTimeout:   "Duration: Approaching Timeout",
	insights.RuleUnusualDuration:      "Duration: Unusual Function Duration",
	insights.RuleEscalatedInvocations: "Invocations: Escalated Invocation Count",
}

// Title is a rule's human name.
func Title(r insights.Rule) string {
	if t, ok := titles[r]; ok {
		return t
	}
	return string(r)
}

// DashboardLink is the dashboard page of the alert's function at the alert's time.
func DashboardLink(base string, a *insights.Alert) string {
	if base == "" {
		return ""
	}
	q := url.Values{"at": {a.At.UTC().Format(time.RFC3339)}, "alert": {string(a.Rule)}}
	if a.ErrorType != "" {
		q.Set("errorType", a.ErrorType)
	}
	return strings.TrimRight(base, "/") + "/functions/" + url.PathEscape(a.Account) + "/" + url.PathEscape(a.Region) +
		"/" + url.PathEscape(a.Function) + "?" + q.Encode()
}

// Evidence is the alert's evidence as short "label: value" lines.
func Evidence(a *insights.Alert) []string {
	d := &a.Details
	var out []string
	add := func(label, format string, args ...any) { out = append(out, label+": "+fmt.Sprintf(format, args...)) }
	switch a.Rule {
	case insights.RuleOutOfMemory:
		if d.MemorySizeMB > 0 {
			add("Memory", "%d MB used of %d MB configured", d.MaxMemoryUsedMB, d.MemorySizeMB)
		}
	case insights.RuleTimeout:
		if d.TimeoutMs > 0 {
			add("Duration", "%s, configured timeout %s", ms(d.DurationMs), ms(d.TimeoutMs))
		} else if d.DurationMs > 0 {
			add("Duration", "%s", ms(d.DurationMs))
		}
	case insights.RuleNewErrorType:
		add("Error type", "%s", a.ErrorType)
		if d.PreviouslySeen != nil {
			add("Previously seen", "%s", d.PreviouslySeen.UTC().Format(time.RFC3339))
		} else {
			add("Previously seen", "never")
		}
	case insights.RuleApproachingTimeout:
		add("Slowest invocation", "%s, %.0f%% of the configured timeout %s", ms(d.DurationMs), 100*d.DurationMs/d.TimeoutMs, ms(d.TimeoutMs))
	case insights.RuleUnusualDuration:
		add("Slowest invocation", "%s, %.1fx the median %s of %d invocations in the past 60 minutes", ms(d.DurationMs), d.DurationMs/d.MedianMs, ms(d.MedianMs), d.Invocations)
	case insights.RuleEscalatedInvocations:
		prior := int64(0)
		if d.PriorMax != nil {
			prior = *d.PriorMax
		}
		add("Invocations", "%d in the last 5 minutes; the highest 5-minute count of the prior 48 hours was %d", d.Count, prior)
	}
	if d.RequestID != "" {
		add("Request id", "%s", d.RequestID)
	}
	if d.Message != "" {
		add("Message", "%s", d.Message)
	}
	return out
}

func ms(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// Subject is a one-line summary (email subject, SNS subject, Slack fallback text).
func Subject(a *insights.Alert) string {
	s := fmt.Sprintf("[Sightline] %s: %s (%s, %s)", Title(a.Rule), a.Function, a.Account, a.Region)
	if len(s) > 100 { // SNS subjects are limited to 100 characters
		s = s[:97] + "..."
	}
	return s
}

// Text is the plain-text body (email, SNS).
func Text(a *insights.Alert, link string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nFunction: %s\nAccount: %s\nRegion: %s\nAt: %s\n", Title(a.Rule), a.Function, a.Account, a.Region,
		a.At.UTC().Format(time.RFC3339))
	for _, l := range Evidence(a) {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if link != "" {
		fmt.Fprintf(&b, "\nOpen in the dashboard: %s\n", link)
	}
	return b.String()
}

// slackMessage is a Slack incoming-webhook payload with Block Kit blocks.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string       `json:"type"`
	Text     *slackText   `json:"text,omitempty"`
	Fields   []slackText  `json:"fields,omitempty"`
	Elements []slackBlock `json:"elements,omitempty"`
	// button elements
	URL string `json:"url,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// SlackPayload renders an alert as a Block Kit message: a header with the rule,
// the function's fields, the evidence, and a button to the dashboard.
func SlackPayload(a *insights.Alert, link string) any {
	m := slackMessage{Text: Subject(a)}
	m.Blocks = append(m.Blocks,
		slackBlock{Type: "header", Text: &slackText{Type: "plain_text", Text: Title(a.Rule)}},
		slackBlock{Type: "section", Fields: []slackText{
			{Type: "mrkdwn", Text: "*Function*\n" + slackEscape(a.Function)},
			{Type: "mrkdwn", Text: "*Rule*\n`" + string(a.Rule) + "`"},
			{Type: "mrkdwn", Text: "*Account / Region*\n" + slackEscape(a.Account+" / "+a.Region)},
			{Type: "mrkdwn", Text: "*At*\n" + a.At.UTC().Format(time.RFC3339)},
		}},
	)
	if ev := Evidence(a); len(ev) > 0 {
		lines := make([]string, len(ev))
		for i, l := range ev {
			label, val, _ := strings.Cut(l, ": ")
			lines[i] = "*" + slackEscape(label) + ":* " + slackEscape(val)
		}
		m.Blocks = append(m.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: strings.Join(lines, "\n")}})
	}
	if link != "" {
		m.Blocks = append(m.Blocks, slackBlock{Type: "actions", Elements: []slackBlock{
			{Type: "button", Text: &slackText{Type: "plain_text", Text: "Open in Sightline"}, URL: link},
		}})
	}
	return m
}

// WebhookBody is the JSON body of a generic webhook: the alert's JSON line, its
// tenant's dashboard link, and a delivery id (the alert's key) receivers can use
// to drop duplicates.
type WebhookBody struct {
	insights.Alert
	ID   string `json:"id"`
	Link string `json:"link,omitempty"`
}
