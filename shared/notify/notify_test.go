package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sightline/sightline/shared/insights"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	at      = time.Date(2026, 3, 4, 1, 5, 0, 0, time.UTC)
	timeout = insights.Alert{Rule: insights.RuleTimeout, Tenant: "acme", Account: "123456789012", Region: "us-east-1",
		Function: "orders-api", At: at, Details: insights.Details{RequestID: "8f5c-11", DurationMs: 3000.52, TimeoutMs: 3000,
			Message: "Task timed out after 3.00 seconds"}}
	newType = insights.Alert{Rule: insights.RuleNewErrorType, Tenant: "acme", Account: "123456789012", Region: "us-east-1",
		Function: "orders-api", At: at, ErrorType: "KeyError", Details: insights.Details{RequestID: "r-2", Message: "KeyError: 'sku' <b>"}}
	noSleep = Retry{Attempts: 4, Base: time.Millisecond, Max: time.Millisecond,
		Sleep: func(context.Context, time.Duration) error { return nil }}
)

func TestSignVerify(t *testing.T) {
	key := []byte("k3y")
	body := []byte(`{"alert":"timeout"}`)
	now := time.Unix(1_772_000_000, 0)
	ts := now.Unix()
	good := Sign(key, ts, body)
	tests := map[string]struct {
		key  []byte
		ts   string
		sig  string
		body []byte
		want error
	}{
		"valid":                 {key, fmt.Sprint(ts), good, body, nil},
		"4m59s old":             {key, fmt.Sprint(ts), good, body, nil},
		"5m01s old (replay)":    {key, fmt.Sprint(ts - 301), Sign(key, ts-301, body), body, ErrStale},
		"from the future":       {key, fmt.Sprint(ts + 301), Sign(key, ts+301, body), body, ErrStale},
		"tampered body":         {key, fmt.Sprint(ts), good, []byte(`{"alert":"oom"}`), ErrBadSignature},
		"wrong key":             {[]byte("other"), fmt.Sprint(ts), good, body, ErrBadSignature},
		"timestamp not signed":  {key, fmt.Sprint(ts - 1), good, body, ErrBadSignature},
		"non-numeric timestamp": {key, "yesterday", good, body, ErrBadSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			n := now
			if name == "4m59s old" {
				n = now.Add(299 * time.Second)
			}
			if err := Verify(tc.key, tc.ts, tc.sig, tc.body, n, ReplayTolerance); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	if !strings.HasPrefix(good, "v1=") || len(good) != 3+64 {
		t.Fatalf("signature %q", good)
	}
}

func TestRetry(t *testing.T) {
	tests := map[string]struct {
		errs      []error // returned by successive attempts; nil after the list
		wantCalls int
		wantKind  error
	}{
		"success":                  {nil, 1, nil},
		"transient then success":   {[]error{ErrTransient, ErrTransient}, 3, nil},
		"permanent is not retried": {[]error{ErrPermanent}, 1, ErrPermanent},
		"transient exhausted": {[]error{ErrTransient, ErrTransient, ErrTransient, ErrTransient, ErrTransient}, 4,
			ErrTransient},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var sleeps []time.Duration
			r := Retry{Attempts: 4, Base: 100 * time.Millisecond, Max: 250 * time.Millisecond,
				Sleep: func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil }}
			calls := 0
			err := r.Do(context.Background(), func(context.Context) error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if calls != tc.wantCalls || (tc.wantKind == nil) != (err == nil) || (tc.wantKind != nil && !errors.Is(err, tc.wantKind)) {
				t.Fatalf("calls=%d err=%v, want %d calls, %v", calls, err, tc.wantCalls, tc.wantKind)
			}
			ceil := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond}
			for i, d := range sleeps {
				if d < 0 || d >= ceil[i] {
					t.Errorf("sleep %d = %v, want in [0, %v)", i, d, ceil[i])
				}
			}
		})
	}
}

func TestHTTPStatusKinds(t *testing.T) {
	tests := map[string]struct {
		status int
		want   error
	}{
		"200": {200, nil}, "204": {204, nil},
		"400": {400, ErrPermanent}, "403": {403, ErrPermanent}, "404": {404, ErrPermanent}, "410": {410, ErrPermanent},
		"408": {408, ErrTransient}, "429": {429, ErrTransient}, "500": {500, ErrTransient}, "503": {503, ErrTransient},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := httpStatusError(tc.status, "")
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n got %s\nwant %s", name, got, want)
	}
}

func TestMessagesGolden(t *testing.T) {
	const dash = "https://app.sightline.dev"
	for name, a := range map[string]insights.Alert{"timeout": timeout, "new_error_type": newType} {
		t.Run(name, func(t *testing.T) {
			link := DashboardLink(dash, &a)
			slack, err := json.MarshalIndent(SlackPayload(&a, link), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".slack.json", slack)
			hook, err := json.MarshalIndent(WebhookBody{Alert: a, ID: a.Key(), Link: link}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".webhook.json", hook)
			golden(t, name+".txt", []byte(Subject(&a)+"\n\n"+Text(&a, link)))
		})
	}
}

// memStore is an in-memory outcome store.
type memStore struct {
	mu        sync.Mutex
	channels  []Channel
	delivered map[string]map[string]bool
	failures  map[string]map[string]string
}

func newMemStore(ch ...Channel) *memStore {
	return &memStore{channels: ch, delivered: map[string]map[string]bool{}, failures: map[string]map[string]string{}}
}

func (m *memStore) Channels(_ context.Context, tenant string) ([]Channel, error) {
	var out []Channel
	for _, c := range m.channels {
		if c.Tenant == tenant {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memStore) Done(_ context.Context, a insights.Alert) (map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]bool{}
	for k := range m.delivered[a.Key()] {
		out[k] = true
	}
	for k := range m.failures[a.Key()] {
		out[k] = true
	}
	return out, nil
}

func (m *memStore) RecordDelivered(_ context.Context, a insights.Alert, ch string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.delivered[a.Key()] == nil {
		m.delivered[a.Key()] = map[string]bool{}
	}
	m.delivered[a.Key()][ch] = true
	return nil
}

func (m *memStore) RecordFailure(_ context.Context, a insights.Alert, ch, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failures[a.Key()] == nil {
		m.failures[a.Key()] = map[string]string{}
	}
	m.failures[a.Key()][ch] = reason
	return nil
}

type staticSecrets map[string]Secret

func (s staticSecrets) Get(_ context.Context, ref string) (Secret, error) {
	if v, ok := s[ref]; ok {
		return v, nil
	}
	return Secret{}, fmt.Errorf("%w: no secret %s", ErrPermanent, ref)
}

// recorder is an HTTP receiver that answers with the statuses given, in order
// (then 200), and keeps every request.
type recorder struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	headers  []http.Header
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.headers = append(r.headers, req.Header.Clone())
	status := 200
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	r.mu.Unlock()
	w.WriteHeader(status)
	fmt.Fprint(w, map[int]string{200: "ok", 404: "no_service", 503: "busy"}[status])
}

func TestNotifierSlackAndWebhook(t *testing.T) {
	slack := &recorder{statuses: []int{503}} // one transient failure, then ok
	hook := &recorder{}
	slackSrv := httptest.NewServer(slack)
	defer slackSrv.Close()
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	const key = "whsec_test"
	store := newMemStore(
		Channel{Tenant: "acme", ID: "slack-ops", Kind: KindSlack, SecretRef: "secretsmanager:slack"},
		Channel{Tenant: "acme", ID: "hook", Kind: KindWebhook, SecretRef: "ssm:/hook"},
		Channel{Tenant: "acme", ID: "errors-only", Kind: KindWebhook, SecretRef: "ssm:/hook", Rules: []insights.Rule{insights.RuleNewErrorType}},
		Channel{Tenant: "other", ID: "theirs", Kind: KindWebhook, SecretRef: "ssm:/hook"},
	)
	now := time.Now()
	n := &Notifier{Store: store, Retry: noSleep, DashboardURL: "https://app.sightline.dev", Logger: slog.New(slog.DiscardHandler),
		Senders: &Senders{HTTP: slackSrv.Client(), Now: func() time.Time { return now }, Secrets: staticSecrets{
			"secretsmanager:slack": {URL: slackSrv.URL + "/services/T0/B0/XXXX"},
			"ssm:/hook":            {URL: hookSrv.URL + "/sightline", SigningKey: key},
		}}}
	res, err := n.Deliver(context.Background(), insights.QueueMessage{Tenant: "acme", Alert: timeout})
	if err != nil {
		t.Fatal(err)
	}
	if res != (Result{Delivered: 2, Skipped: 1}) {
		t.Fatalf("result %+v", res)
	}
	// Slack: retried once, the Block Kit message names the function, rule, evidence and link.
	if len(slack.bodies) != 2 {
		t.Fatalf("slack got %d requests, want 2 (503, then ok)", len(slack.bodies))
	}
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type     string `json:"type"`
			Text     *struct{ Text string }
			Fields   []struct{ Text string }
			Elements []struct {
				URL string `json:"url"`
			}
		}
	}
	if err := json.Unmarshal(slack.bodies[1], &msg); err != nil {
		t.Fatal(err)
	}
	all := string(slack.bodies[1])
	for _, want := range []string{"orders-api", "`timeout`", "Duration: Timeout", "3.00 s, configured timeout 3.00 s", "8f5c-11",
		"https://app.sightline.dev/functions/123456789012/us-east-1/orders-api?alert=timeout"} {
		if !strings.Contains(all, want) {
			t.Errorf("slack message lacks %q: %s", want, all)
		}
	}
	if len(msg.Blocks) != 4 || msg.Blocks[0].Type != "header" || msg.Blocks[3].Elements[0].URL == "" {
		t.Errorf("blocks %+v", msg.Blocks)
	}
	// Webhook: one delivery, signed over timestamp.body, verifiable by a receiver.
	if len(hook.bodies) != 1 {
		t.Fatalf("webhook got %d requests, want 1", len(hook.bodies))
	}
	h := hook.headers[0]
	if err := Verify([]byte(key), h.Get(HeaderTimestamp), h.Get(HeaderSignature), hook.bodies[0], now, ReplayTolerance); err != nil {
		t.Fatalf("receiver rejects the delivery: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(hook.bodies[0], &body); err != nil {
		t.Fatal(err)
	}
	if body["alert"] != "timeout" || body["function"] != "orders-api" || body["id"] != timeout.Key() || body["at"] != "2026-03-04T01:05:00Z" {
		t.Errorf("webhook body %s", hook.bodies[0])
	}
	if h.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", h.Get("Content-Type"))
	}

	// A redelivered message sends nothing again.
	res, err = n.Deliver(context.Background(), insights.QueueMessage{Tenant: "acme", Alert: timeout})
	if err != nil || res.Delivered != 0 || len(slack.bodies) != 2 || len(hook.bodies) != 1 {
		t.Fatalf("redelivery: %+v %v, slack %d, hook %d", res, err, len(slack.bodies), len(hook.bodies))
	}
}

func TestNotifierFailures(t *testing.T) {
	gone := &recorder{statuses: []int{404}}
	down := &recorder{statuses: []int{503, 503, 503, 503, 503}}
	goneSrv, downSrv := httptest.NewServer(gone), httptest.NewServer(down)
	defer goneSrv.Close()
	defer downSrv.Close()
	store := newMemStore(
		Channel{Tenant: "acme", ID: "gone", Kind: KindSlack, SecretRef: "ssm:gone"},
		Channel{Tenant: "acme", ID: "down", Kind: KindSlack, SecretRef: "ssm:down"},
		Channel{Tenant: "acme", ID: "nosecret", Kind: KindSlack, SecretRef: "ssm:missing"},
	)
	var logs bytes.Buffer
	n := &Notifier{Store: store, Retry: noSleep, Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Senders: &Senders{HTTP: http.DefaultClient, Secrets: staticSecrets{
			"ssm:gone": {URL: goneSrv.URL + "/services/SECRET-TOKEN-1"},
			"ssm:down": {URL: downSrv.URL + "/services/SECRET-TOKEN-2"},
		}}}
	res, err := n.Deliver(context.Background(), insights.QueueMessage{Tenant: "acme", Alert: newType})
	if !errors.Is(err, ErrTransient) {
		t.Fatalf("err %v, want ErrTransient for the channel that stayed down", err)
	}
	if res != (Result{Permanent: 2, Transient: 1}) {
		t.Fatalf("result %+v", res)
	}
	if len(down.bodies) != 4 || len(gone.bodies) != 1 {
		t.Fatalf("attempts: down %d (want 4), gone %d (want 1)", len(down.bodies), len(gone.bodies))
	}
	f := store.failures[newType.Key()]
	if !strings.Contains(f["gone"], "HTTP 404") || !strings.Contains(f["nosecret"], "no secret") || f["down"] != "" {
		t.Fatalf("failures recorded %v", f)
	}
	if s := logs.String() + err.Error(); strings.Contains(s, "SECRET-TOKEN") || strings.Contains(s, "orders-api") {
		t.Fatalf("secret or function name leaked into logs/errors: %s", s)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret{URL: "https://hooks.slack.com/services/T/B/TOKEN", SigningKey: "KEY"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "secret", s)
	out := buf.String() + fmt.Sprintf("%v %+v %#v %s", s, s, s, s)
	if strings.Contains(out, "TOKEN") || strings.Contains(out, "KEY") {
		t.Fatalf("secret printed: %s", out)
	}
}

func TestParseSecret(t *testing.T) {
	tests := map[string]struct {
		in      string
		url     string
		key     string
		wantErr bool
	}{
		"bare url":    {"https://hooks.slack.com/services/T/B/X\n", "https://hooks.slack.com/services/T/B/X", "", false},
		"json":        {`{"url":"https://example.com/h","signingKey":"k"}`, "https://example.com/h", "k", false},
		"not a url":   {"hunter2", "", "", true},
		"broken json": {`{"url":`, "", "", true},
		"ftp":         {`{"url":"ftp://x"}`, "", "", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := ParseSecret(tc.in)
			if (err != nil) != tc.wantErr || s.URL != tc.url || s.SigningKey != tc.key {
				t.Fatalf("ParseSecret = %q %q %v", s.URL, s.SigningKey, err)
			}
			if err != nil && (!errors.Is(err, ErrPermanent) || strings.Contains(err.Error(), "hunter2")) {
				t.Fatalf("error %v", err)
			}
		})
	}
}

func FuzzParseSecret(f *testing.F) {
	f.Add(`{"url":"https://example.com/h","signingKey":"k"}`)
	f.Add("https://hooks.slack.com/services/T/B/X")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := ParseSecret(v)
		if err == nil && !strings.HasPrefix(s.URL, "http") {
			t.Fatalf("accepted %q", s.URL)
		}
	})
}
