package insights

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/sightline/sightline/shared/metrics"
)

// memTable is the in-memory twin of Table: the same de-duplication and state
// semantics, for unit tests. The behaviour suite in table_test.go runs against both.
type memTable struct {
	mu     sync.Mutex
	last   map[string]time.Time // function key + dedup key -> last fired
	alerts map[string]Alert     // tenant key + alert key
	queued map[string]bool
	states map[string]State
	order  []string
	writes int // Record calls: each is a (possibly cancelled) transaction in DynamoDB
}

func newMemTable() *memTable {
	return &memTable{last: map[string]time.Time{}, alerts: map[string]Alert{},
		queued: map[string]bool{}, states: map[string]State{}}
}

func (m *memTable) Record(_ context.Context, a Alert, window time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	dk := FunctionKey(a.Func()) + "|" + dedupKey(a.Rule, a.ErrorType)
	ak := TenantKey(a.Tenant) + "|" + a.Key()
	last, seen := m.last[dk]
	_, exists := m.alerts[ak]
	if (!seen || !last.After(a.At.Add(-window))) && !exists {
		m.last[dk] = a.At
		m.alerts[ak] = a
		m.order = append(m.order, ak)
		return true, nil
	}
	return exists && !m.queued[ak], nil
}

func (m *memTable) MarkQueued(_ context.Context, a Alert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queued[TenantKey(a.Tenant)+"|"+a.Key()] = true
	return nil
}

func (m *memTable) LoadState(_ context.Context, fn metrics.Function) (State, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.states[FunctionKey(fn)]
	if !ok {
		return State{}, false, nil
	}
	// Round-trip through the encoding, as the table does.
	d, err := DecodeState(s.Encode())
	return d, true, err
}

func (m *memTable) SaveState(_ context.Context, fn metrics.Function, s State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.states[FunctionKey(fn)]; ok && old.Last > s.Last {
		return nil
	}
	m.states[FunctionKey(fn)] = s
	return nil
}

// series is a fake store of minute aggregates: per function, per minute, every
// invocation's duration, so the fake median is exact.
type series struct {
	mu    sync.Mutex
	data  map[metrics.Function]map[metrics.Minute][]float64
	reads int
}

func newSeries() *series { return &series{data: map[metrics.Function]map[metrics.Minute][]float64{}} }

// add records n invocations of duration d (ms) at minute m.
func (s *series) add(fn metrics.Function, m metrics.Minute, n int, d float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data[fn] == nil {
		s.data[fn] = map[metrics.Minute][]float64{}
	}
	for range n {
		s.data[fn][m] = append(s.data[fn][m], d)
	}
}

func (s *series) ReadWindow(_ context.Context, fn metrics.Function, from, to metrics.Minute, withMedian bool) (Window, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	var w Window
	var all []float64
	for m, ds := range s.data[fn] {
		if m < from || m > to || len(ds) == 0 {
			continue
		}
		st := MinuteStats{Minute: m, Invocations: int64(len(ds))}
		for _, d := range ds {
			st.MaxDurationMs = max(st.MaxDurationMs, d)
		}
		w.Minutes = append(w.Minutes, st)
		all = append(all, ds...)
	}
	sort.Slice(w.Minutes, func(i, j int) bool { return w.Minutes[i].Minute < w.Minutes[j].Minute })
	if withMedian && len(all) > 0 {
		sort.Float64s(all)
		w.MedianMs = all[(len(all)-1)/2]
	}
	return w, nil
}

// ActiveFunctions lists the functions with data in the hours.
func (s *series) ActiveFunctions(_ context.Context, fromHour, toHour int64) ([]metrics.Function, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []metrics.Function
	for fn, ms := range s.data {
		for m := range ms {
			if h := int64(m) / 60; h >= fromHour && h <= toHour {
				out = append(out, fn)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func fixedTimeout(d time.Duration) TimeoutFunc {
	return func(context.Context, metrics.Function) (time.Duration, error) { return d, nil }
}

// flakySink fails the first n sends.
type flakySink struct {
	Collector
	fail int
}

func (f *flakySink) Send(ctx context.Context, a Alert) error {
	if f.fail > 0 {
		f.fail--
		return errors.New("queue unavailable")
	}
	return f.Collector.Send(ctx, a)
}
