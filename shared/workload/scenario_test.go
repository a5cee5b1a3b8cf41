package workload_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sightline/sightline/shared/workload"
)

// These tests evaluate the six alert rules naively, as the seed states them, on
// the per-invocation truth, and check that each built-in scenario makes its rule
// fire (and, where the scenario is the only cause, only there).

const fiveMin = int64(5 * time.Minute / time.Millisecond)

func invocationsOf(w *workload.Workload, name string) (workload.Function, []workload.Invocation) {
	for i, f := range w.Functions {
		if f.Name == name {
			var out []workload.Invocation
			for _, inv := range w.Invocations {
				if inv.Function == i {
					out = append(out, inv)
				}
			}
			slices.SortFunc(out, func(a, b workload.Invocation) int { return int(a.End() - b.End()) })
			return f, out
		}
	}
	return workload.Function{}, nil
}

func median(us []int64) float64 {
	s := slices.Clone(us)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return float64(s[n/2-1]+s[n/2]) / 2
}

// unusualFires returns the 5-minute evaluation times at which some invocation of
// the past 60 minutes took more than twice that window's median.
func unusualFires(invs []workload.Invocation, from, to int64) []int64 {
	var fires []int64
	for t := from / fiveMin * fiveMin; t <= to; t += fiveMin {
		var win []int64
		var peak int64
		for _, inv := range invs {
			if e := inv.End(); e > t-12*fiveMin && e <= t {
				win = append(win, inv.DurationUs)
				peak = max(peak, inv.DurationUs)
			}
		}
		if len(win) > 0 && float64(peak) > 2*median(win) {
			fires = append(fires, t)
		}
	}
	return fires
}

// escalatedFires returns the evaluation times at which the last five minutes'
// count exceeded the highest earlier five-minute count by more than 25%, with at
// least an hour of history.
func escalatedFires(invs []workload.Invocation, start, end int64) []int64 {
	counts := map[int64]int{}
	for _, inv := range invs {
		counts[inv.End()/fiveMin]++
	}
	var fires []int64
	highest := 0
	first := start / fiveMin
	for b := first; b*fiveMin < end; b++ {
		c := counts[b]
		if b-first >= 12 && float64(c) > 1.25*float64(highest) {
			fires = append(fires, (b+1)*fiveMin)
		}
		highest = max(highest, c)
	}
	return fires
}

func TestEveryAlertScenarioFires(t *testing.T) {
	w := testWorkload(t)
	rules := map[string]int{}
	start := w.Config.Start.UnixMilli()
	end := start + w.Config.Duration.Milliseconds()
	for _, sc := range w.Scenarios {
		rules[sc.Rule]++
		t.Run(sc.Rule+"/"+sc.Function, func(t *testing.T) {
			fn, invs := invocationsOf(w, sc.Function)
			if len(invs) == 0 {
				t.Fatalf("no invocations of %s", sc.Function)
			}
			timeoutUs := int64(fn.TimeoutSeconds) * 1_000_000
			from, to := sc.From.UnixMilli(), sc.To.UnixMilli()
			switch sc.Rule {
			case "out_of_memory":
				n := 0
				for _, inv := range invs {
					if inv.Status == workload.StatusOutOfMemory {
						n++
					}
				}
				if n == 0 {
					t.Fatal("no out-of-memory invocation")
				}
			case "timeout":
				n := 0
				for _, inv := range invs {
					if inv.DurationUs > timeoutUs {
						n++
						if inv.Status != workload.StatusTimeout {
							t.Fatalf("invocation %s ran past its timeout with status %s", inv.RequestID, inv.Status)
						}
					}
				}
				if n == 0 {
					t.Fatal("no invocation ran longer than the timeout")
				}
			case "new_error_type":
				var before, after int
				other := false
				for _, inv := range invs {
					if inv.Status != workload.StatusError {
						continue
					}
					switch {
					case inv.ErrorType == sc.ErrorType && inv.Start < from:
						before++
					case inv.ErrorType == sc.ErrorType:
						after++
					case inv.Start < from:
						other = true
					}
				}
				if before != 0 || after == 0 || !other {
					t.Fatalf("%s: %d before, %d from %s; other types before: %v", sc.ErrorType, before, after, sc.From, other)
				}
			case "approaching_timeout":
				inWindow := 0
				for _, inv := range invs {
					d := inv.DurationUs
					if d >= timeoutUs {
						t.Fatalf("invocation %s timed out", inv.RequestID)
					}
					if 10*d > 9*timeoutUs {
						if inv.Start < from || inv.Start >= to {
							t.Fatalf("invocation %s above 90%% outside the scenario", inv.RequestID)
						}
						inWindow++
					}
				}
				if inWindow < 5 {
					t.Fatalf("%d invocations above 90%% of the timeout", inWindow)
				}
			case "unusual_duration":
				fires := unusualFires(invs, start, end)
				if len(fires) == 0 {
					t.Fatal("the rule never fires")
				}
				for _, at := range fires {
					if at < from || at > to+12*fiveMin+fiveMin {
						t.Fatalf("fires at %s, outside the scenario %s..%s", time.UnixMilli(at).UTC(), sc.From, sc.To)
					}
				}
			case "escalated_invocations":
				fires := escalatedFires(invs, start, end)
				if !slices.Contains(fires, to/fiveMin*fiveMin) && !slices.Contains(fires, to/fiveMin*fiveMin+fiveMin) {
					t.Fatalf("does not fire at the end of the burst %s; fires at %v", sc.To, fires)
				}
			default:
				t.Fatalf("unknown rule %q", sc.Rule)
			}
		})
	}
	for _, rule := range []string{"out_of_memory", "timeout", "new_error_type", "approaching_timeout", "unusual_duration", "escalated_invocations"} {
		if rules[rule] == 0 {
			t.Errorf("no scenario for %s", rule)
		}
	}
}

// TestTrafficFollowsTheDay checks the daily curve: the busiest hour carries well
// over twice the quietest.
func TestTrafficFollowsTheDay(t *testing.T) {
	w := testWorkload(t)
	var hours [24]int
	for _, inv := range w.Invocations {
		hours[time.UnixMilli(inv.Start).UTC().Hour()]++
	}
	lo, hi := slices.Min(hours[:]), slices.Max(hours[:])
	if hi < 2*lo {
		t.Fatalf("hourly invocations from %d to %d: no day/night curve (%v)", lo, hi, hours)
	}
	cold := 0
	for _, tr := range w.Truth {
		cold += int(tr.ColdStarts)
		if tr.ColdStarts == 0 {
			t.Errorf("%s has no cold start", tr.Function)
		}
	}
	if cold > len(w.Invocations)/10 {
		t.Errorf("%d cold starts in %d invocations", cold, len(w.Invocations))
	}
}
