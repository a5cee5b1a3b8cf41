package insights

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sightline/sightline/shared/invocation"
	"github.com/sightline/sightline/shared/metrics"
)

// end is a five-minute boundary the edge tests evaluate at.
var end = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

func minuteAt(t time.Time) metrics.Minute { return metrics.Minute(t.Unix() / 60) }

func newEvaluator(s *series, timeout time.Duration) (*Evaluator, *Collector, *memTable) {
	var sink Collector
	mt := newMemTable()
	return &Evaluator{Config: DefaultConfig(), Active: s, Windows: s, States: mt, Alerts: mt,
		Timeouts: fixedTimeout(timeout), Sink: &sink, Logger: slog.New(slog.DiscardHandler)}, &sink, mt
}

func rulesOf(as []Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.At.Format("01-02T15:04")+" "+string(a.Rule)+" "+a.Function)
	}
	return out
}

func TestApproachingTimeoutEdges(t *testing.T) {
	const timeout = 10 * time.Second
	tests := map[string]struct {
		ago      time.Duration // start of the slow invocation's minute before end
		duration float64
		timeout  time.Duration
		want     bool
	}{
		"just under 90%":             {10 * time.Minute, 8999.99, timeout, false},
		"exactly 90%":                {10 * time.Minute, 9000, timeout, false},
		"just over 90%":              {10 * time.Minute, 9000.01, timeout, true},
		"timed out (100%)":           {10 * time.Minute, 10000, timeout, true},
		"first minute of the window": {60 * time.Minute, 9500, timeout, true},
		"just before the window":     {61 * time.Minute, 9500, timeout, false},
		"last minute of the window":  {1 * time.Minute, 9500, timeout, true},
		"timeout unknown":            {10 * time.Minute, 9500, 0, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newSeries()
			for m := minuteAt(end.Add(-2 * time.Hour)); m < minuteAt(end); m++ {
				s.add(fnOrders, m, 10, 4000)
			}
			s.add(fnOrders, minuteAt(end.Add(-tc.ago)), 1, tc.duration)
			e, sink, _ := newEvaluator(s, tc.timeout)
			if _, err := e.Run(context.Background(), end.Add(90*time.Second)); err != nil {
				t.Fatal(err)
			}
			got := sink.Alerts()
			var found *Alert
			for i := range got {
				if got[i].Rule == RuleApproachingTimeout {
					found = &got[i]
				}
			}
			if (found != nil) != tc.want {
				t.Fatalf("approaching_timeout fired=%v, want %v (%v)", found != nil, tc.want, rulesOf(got))
			}
			if found != nil {
				if !found.At.Equal(end) || found.Details.DurationMs != tc.duration || found.Details.TimeoutMs != 10000 || found.Details.ThresholdMs != 9000 {
					t.Errorf("alert %+v", found)
				}
			}
		})
	}
}

func TestApproachingTimeoutDedup60Minutes(t *testing.T) {
	s := newSeries()
	for m := minuteAt(end.Add(-3 * time.Hour)); m < minuteAt(end.Add(3*time.Hour)); m++ {
		s.add(fnOrders, m, 10, 1000)
	}
	// Slow invocations 10 minutes before the first run and 56 minutes later.
	s.add(fnOrders, minuteAt(end.Add(-10*time.Minute)), 1, 2900)
	s.add(fnOrders, minuteAt(end.Add(46*time.Minute)), 1, 2900)
	e, sink, _ := newEvaluator(s, 3*time.Second)
	e.Config.MinWindowInvocations = 1 << 40 // only the rule under test
	var fired []string
	for now := end; !now.After(end.Add(2 * time.Hour)); now = now.Add(Period) {
		if _, err := e.Run(context.Background(), now); err != nil {
			t.Fatal(err)
		}
		for _, a := range sink.Drain() {
			fired = append(fired, a.At.Sub(end).String()+" "+string(a.Rule))
		}
	}
	// The first fires at +0; the second slow invocation is in every window from
	// +50m, but only +60m is 60 minutes after the first alert.
	want := []string{"0s approaching_timeout", "1h0m0s approaching_timeout"}
	if strings.Join(fired, ",") != strings.Join(want, ",") {
		t.Fatalf("fired %v, want %v", fired, want)
	}
}

func TestUnusualDurationEdges(t *testing.T) {
	tests := map[string]struct {
		slow float64
		n    int // ordinary invocations of 100ms in the window
		want bool
	}{
		"just under 2x":       {199.99, 20, false},
		"exactly 2x":          {200, 20, false},
		"just over 2x":        {200.01, 20, true},
		"far over 2x":         {5000, 20, true},
		"too few invocations": {5000, 3, false},
		"minimum invocations": {5000, 4, true}, // 4 + the slow one = MinWindowInvocations
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newSeries()
			for i := range tc.n {
				s.add(fnOrders, minuteAt(end.Add(-time.Duration(i%50+1)*time.Minute)), 1, 100)
			}
			s.add(fnOrders, minuteAt(end.Add(-30*time.Minute)), 1, tc.slow)
			e, sink, _ := newEvaluator(s, 0)
			if _, err := e.Run(context.Background(), end); err != nil {
				t.Fatal(err)
			}
			got := sink.Alerts()
			fired := len(got) == 1 && got[0].Rule == RuleUnusualDuration
			if fired != tc.want || len(got) > 1 {
				t.Fatalf("got %v, want unusual_duration=%v", rulesOf(got), tc.want)
			}
			if fired && (got[0].Details.MedianMs != 100 || got[0].Details.DurationMs != tc.slow || got[0].Details.ThresholdMs != 200) {
				t.Errorf("evidence %+v", got[0].Details)
			}
		})
	}
}

func TestUnusualDurationWindow(t *testing.T) {
	tests := map[string]struct {
		ago  time.Duration
		want bool
	}{
		"59 minutes ago":        {59 * time.Minute, true},
		"60 minutes ago":        {60 * time.Minute, true},
		"61 minutes ago":        {61 * time.Minute, false},
		"in the current minute": {0, false}, // not yet part of a complete window
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newSeries()
			for m := minuteAt(end.Add(-2 * time.Hour)); m <= minuteAt(end); m++ {
				s.add(fnOrders, m, 5, 100)
			}
			s.add(fnOrders, minuteAt(end.Add(-tc.ago)), 1, 1000)
			e, sink, _ := newEvaluator(s, 0)
			if _, err := e.Run(context.Background(), end); err != nil {
				t.Fatal(err)
			}
			if fired := len(sink.Alerts()) > 0; fired != tc.want {
				t.Fatalf("fired %v, want %v", rulesOf(sink.Alerts()), tc.want)
			}
		})
	}
}

// steady writes perMinute invocations of 100ms for every minute of [from, to).
func steady(s *series, fn metrics.Function, from, to time.Time, perMinute int) {
	for m := minuteAt(from); m < minuteAt(to); m++ {
		if perMinute > 0 {
			s.add(fn, m, perMinute, 100)
		}
	}
}

func TestEscalatedInvocationsEdges(t *testing.T) {
	last := end.Add(-5 * time.Minute) // the last five minutes: [last, end)
	tests := map[string]struct {
		lastCount int
		spikeAgo  time.Duration // a 200-invocation bucket this long before `last`; 0: none
		want      bool
	}{
		"exactly 25% above":                 {125, 0, false},
		"just over 25% above":               {126, 0, true},
		"equal to prior max":                {100, 0, false},
		"spike just under 48h before":       {230, 48 * time.Hour, false},
		"spike just over 48h before":        {230, 48*time.Hour + 5*time.Minute, true},
		"spike in the prior hour":           {230, 30 * time.Minute, false},
		"above a spike 47h55m before":       {251, 48 * time.Hour, true},
		"not above a spike 47h55m before  ": {250, 48 * time.Hour, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newSeries()
			steady(s, fnOrders, last.Add(-50*time.Hour), last, 20) // 100 per bucket
			if tc.spikeAgo > 0 {
				b := last.Add(-tc.spikeAgo)
				for i := range 5 {
					s.add(fnOrders, minuteAt(b)+metrics.Minute(i), 20, 100) // +100: 200 in the bucket
				}
			}
			for i := range tc.lastCount {
				s.add(fnOrders, minuteAt(last)+metrics.Minute(i%5), 1, 100)
			}
			e, sink, _ := newEvaluator(s, 0)
			st, err := e.Run(context.Background(), end)
			if err != nil {
				t.Fatal(err)
			}
			if st.Backfilled != 1 {
				t.Errorf("backfilled %d, want 1", st.Backfilled)
			}
			got := sink.Alerts()
			fired := len(got) == 1 && got[0].Rule == RuleEscalatedInvocations
			if fired != tc.want || len(got) > 1 {
				t.Fatalf("got %v, want escalated=%v", rulesOf(got), tc.want)
			}
			if fired {
				d := got[0].Details
				wantMax := int64(100)
				if tc.spikeAgo > 0 && tc.spikeAgo <= 48*time.Hour {
					wantMax = 200
				}
				if d.Count != int64(tc.lastCount) || d.PriorMax == nil || *d.PriorMax != wantMax {
					t.Errorf("evidence count=%d priorMax=%v, want %d/%d", d.Count, d.PriorMax, tc.lastCount, wantMax)
				}
			}
		})
	}
}

func TestEscalatedGuards(t *testing.T) {
	last := end.Add(-5 * time.Minute)
	tests := map[string]struct {
		historyStart time.Duration // data starts this long before `last`
		first        int           // invocations in the first minute of the history
		perMinute    int
		cfg          func(*Config)
		want         bool
	}{
		"brand-new function, first five minutes": {0, 0, 0, nil, false},
		"brand-new function, literal seed rule":  {0, 0, 0, func(c *Config) { *c = Config{Concurrency: 1} }, true},
		"history just under an hour":             {55 * time.Minute, 20, 1, nil, false},
		"history of an hour":                     {60 * time.Minute, 20, 1, nil, true},
		"too few prior invocations":              {2 * time.Hour, 9, 0, nil, false},
		"enough prior invocations":               {2 * time.Hour, 10, 0, nil, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newSeries()
			if tc.historyStart > 0 {
				s.add(fnOrders, minuteAt(last.Add(-tc.historyStart)), tc.first, 100)
				steady(s, fnOrders, last.Add(-tc.historyStart).Add(time.Minute), last, tc.perMinute)
			}
			steady(s, fnOrders, last, end, 60)
			e, sink, _ := newEvaluator(s, 0)
			if tc.cfg != nil {
				tc.cfg(&e.Config)
			}
			if _, err := e.Run(context.Background(), end); err != nil {
				t.Fatal(err)
			}
			fired := false
			for _, a := range sink.Alerts() {
				fired = fired || a.Rule == RuleEscalatedInvocations
			}
			if fired != tc.want {
				t.Fatalf("escalated fired=%v, want %v", fired, tc.want)
			}
		})
	}
}

// TestLateDataIsCounted: data for a minute the previous run already read arrives
// late; the next run's refresh counts it in the ring.
func TestLateDataIsCounted(t *testing.T) {
	s := newSeries()
	steady(s, fnOrders, end.Add(-3*time.Hour), end, 10)
	e, _, mt := newEvaluator(s, 0)
	ctx := context.Background()
	if _, err := e.Run(ctx, end); err != nil {
		t.Fatal(err)
	}
	s.add(fnOrders, minuteAt(end.Add(-2*time.Minute)), 7, 100) // late
	steady(s, fnOrders, end, end.Add(5*time.Minute), 10)
	if _, err := e.Run(ctx, end.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	st, _, _ := mt.LoadState(ctx, fnOrders)
	if got := st.Count(BucketOf(minuteAt(end)) - 1); got != 57 {
		t.Fatalf("bucket before end counts %d, want 57 (50 + 7 late)", got)
	}
	if got := st.Count(BucketOf(minuteAt(end))); got != 50 {
		t.Fatalf("last bucket counts %d, want 50", got)
	}
}

// TestMultiDayScenario runs the evaluator every five minutes over three and a half
// days of a function with a day/night cycle, a slow invocation and a surge, plus the
// immediate rules on the same simulated clock.
func TestMultiDayScenario(t *testing.T) {
	day0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := newSeries()
	quiet := newSeries() // a second function that never misbehaves
	for d := range 4 {
		base := day0.Add(time.Duration(d) * 24 * time.Hour)
		steady(s, fnOrders, base, base.Add(8*time.Hour), 5)                    // night: 25 per bucket
		steady(s, fnOrders, base.Add(8*time.Hour), base.Add(20*time.Hour), 20) // day: 100 per bucket
		steady(s, fnOrders, base.Add(20*time.Hour), base.Add(24*time.Hour), 5)
		steady(quiet, fnBills, base, base.Add(24*time.Hour), 3)
	}
	s.add(fnOrders, minuteAt(day0.Add(2*24*time.Hour+14*time.Hour)), 1, 2800) // 93% of 3s
	steady(s, fnOrders, day0.Add(3*24*time.Hour+9*time.Hour), day0.Add(3*24*time.Hour+9*time.Hour+5*time.Minute), 40)
	for fn, ms := range quiet.data {
		for m, ds := range ms {
			for _, d := range ds {
				s.add(fn, m, 1, d)
			}
		}
	}
	e, sink, mt := newEvaluator(s, 3*time.Second)
	ctx := context.Background()
	var got []string
	runs := 0
	for now := day0.Add(5 * time.Minute); !now.After(day0.Add(3*24*time.Hour + 12*time.Hour)); now = now.Add(Period) {
		// EventBridge's clock is never exactly on the boundary.
		st, err := e.Run(ctx, now.Add(1700*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if st.Functions != 2 || st.Evaluated != 2 {
			t.Fatalf("run at %s: %+v", now, st)
		}
		runs++
		got = append(got, rulesOf(sink.Drain())...)
	}
	want := []string{
		"03-01T08:05 escalated_invocations orders-api", // the first morning: prior max was the night
		"03-03T14:05 approaching_timeout orders-api",
		"03-03T14:05 unusual_duration orders-api",
		"03-04T09:05 escalated_invocations orders-api", // the surge: 300 against 100
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after %d runs got\n%s\nwant\n%s", runs, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Each function was backfilled exactly once: every later run used the ring.
	if s.reads != 2*runs+2 {
		t.Errorf("%d window reads for %d runs of 2 functions, want %d", s.reads, runs, 2*runs+2)
	}

	// The immediate rules on the same clock: out of memory on day 0, day 1 and day 2.
	x := &Immediate{Alerts: mt, Sink: sink}
	for _, at := range []time.Duration{10 * time.Hour, 33 * time.Hour, 58*time.Hour + 30*time.Minute} {
		if _, err := x.Evaluate(ctx, []Occurrence{{Function: fnOrders, Status: invocation.StatusOutOfMemory,
			Time: day0.Add(at), RequestID: fmt.Sprint(at)}}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.Join(rulesOf(sink.Drain()), ","), "03-01T10:00 out_of_memory orders-api,03-03T10:30 out_of_memory orders-api"; got != want {
		t.Fatalf("immediate: got %s, want %s", got, want)
	}
}

func TestRunSkipsNearDeadline(t *testing.T) {
	s := newSeries()
	steady(s, fnOrders, end.Add(-time.Hour), end, 1)
	e, _, _ := newEvaluator(s, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // < Reserve
	defer cancel()
	st, err := e.Run(ctx, end)
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 1 || st.Evaluated != 0 {
		t.Fatalf("stats %+v, want the function skipped", st)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := map[string]struct {
		mod  func(*Config)
		want bool
	}{
		"defaults":           {func(*Config) {}, true},
		"zero concurrency":   {func(c *Config) { c.Concurrency = 0 }, false},
		"negative lag":       {func(c *Config) { c.Lag = -time.Second }, false},
		"history over 48h":   {func(c *Config) { c.MinHistory = 49 * time.Hour }, false},
		"negative min count": {func(c *Config) { c.MinWindowInvocations = -1 }, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			if err := c.Validate(); (err == nil) != tc.want {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.want)
			}
		})
	}
}

// TestUnusualDurationDedup24Hours: an outlier every hour fires once a day, and
// again once 24 hours have passed since the alert.
func TestUnusualDurationDedup24Hours(t *testing.T) {
	s := newSeries()
	for m := minuteAt(end.Add(-2 * time.Hour)); m < minuteAt(end.Add(27*time.Hour)); m++ {
		s.add(fnOrders, m, 5, 100)
		if m%60 == 30 {
			s.add(fnOrders, m, 1, 1000)
		}
	}
	e, sink, _ := newEvaluator(s, 0)
	var fired []string
	for now := end; !now.After(end.Add(25 * time.Hour)); now = now.Add(Period) {
		if _, err := e.Run(context.Background(), now); err != nil {
			t.Fatal(err)
		}
		for _, a := range sink.Drain() {
			if a.Rule == RuleUnusualDuration {
				fired = append(fired, a.At.Sub(end).String())
			}
		}
	}
	if want := []string{"0s", "24h0m0s"}; strings.Join(fired, ",") != strings.Join(want, ",") {
		t.Fatalf("unusual_duration fired at %v, want %v", fired, want)
	}
}

// TestQuietRulesCostNoWrites: while a recurring condition is inside its
// de-duplication window, runs do not attempt the alert's transaction (the state
// remembers when the rule fired), and the alert comes back once the window passed.
func TestQuietRulesCostNoWrites(t *testing.T) {
	s := newSeries()
	for m := minuteAt(end.Add(-2 * time.Hour)); m < minuteAt(end.Add(27*time.Hour)); m++ {
		s.add(fnOrders, m, 5, 100)
		if m%60 == 30 {
			s.add(fnOrders, m, 1, 1000)
		}
	}
	e, sink, mt := newEvaluator(s, 0)
	runs, fired := 0, 0
	for now := end; !now.After(end.Add(24 * time.Hour)); now = now.Add(Period) {
		if _, err := e.Run(context.Background(), now); err != nil {
			t.Fatal(err)
		}
		runs++
		fired += len(sink.Drain())
	}
	// Two alerts (at +0 and +24h), and no write attempt in between.
	if fired != 2 || mt.writes != 2 {
		t.Fatalf("%d runs: %d alerts, %d alert writes attempted; want 2 and 2", runs, fired, mt.writes)
	}
}
