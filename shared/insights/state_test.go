package insights

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestStateRefresh(t *testing.T) {
	var s State
	s.Refresh(1000, []uint64{0, 0, 3, 4})
	if s.Since != 1002 || s.Last != 1003 || s.Count(1002) != 3 || s.Count(1003) != 4 || s.Count(999) != 0 {
		t.Fatalf("first refresh: %+v", s)
	}
	// Overlapping refresh: later counts overwrite, the ring moves forward.
	s.Refresh(1002, []uint64{5, 6, 7})
	if s.Last != 1004 || s.Count(1002) != 5 || s.Count(1003) != 6 || s.Count(1004) != 7 {
		t.Fatalf("second refresh: last=%d counts %d %d %d", s.Last, s.Count(1002), s.Count(1003), s.Count(1004))
	}
	// An older refresh (an overlapping run with an earlier clock) never moves it back.
	s.Refresh(1001, []uint64{1})
	if s.Last != 1004 || s.Count(1001) != 1 || s.Since != 1001 {
		t.Fatalf("older refresh: %+v", s)
	}
	// A jump beyond the ring forgets everything older than 48h05m.
	s.Refresh(1004+ringLen, []uint64{9})
	if s.Count(1004) != 0 || s.Count(1004+ringLen) != 9 || len(s.Counts) != ringLen {
		t.Fatalf("jump: count(1004)=%d len=%d", s.Count(1004), len(s.Counts))
	}
	if s.Since != 1001 {
		t.Fatalf("since forgotten: %d", s.Since)
	}
	max, total := s.Prior(1004 + ringLen)
	if max != 0 || total != 0 {
		t.Fatalf("prior after a jump = %d/%d", max, total)
	}
}

func TestStateEncodeRoundTrip(t *testing.T) {
	var s State
	counts := make([]uint64, 40)
	for i := range counts {
		counts[i] = uint64(i * i * 1000)
	}
	s.Refresh(5_900_000, counts)
	b := s.Encode()
	if len(b) > 4096 {
		t.Fatalf("encoded state is %d bytes, want one 4 KB read unit", len(b))
	}
	d, err := DecodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Since != s.Since || d.Last != s.Last || len(d.Counts) != len(s.Counts) || !bytes.Equal(d.Encode(), b) {
		t.Fatalf("round trip: %+v", d)
	}
}

func TestDecodeStateRejects(t *testing.T) {
	good := (&State{Since: 10, Last: 20, Counts: []uint64{1, 2}}).Encode()
	tests := map[string][]byte{
		"empty":          nil,
		"bad version":    append([]byte{9}, good[1:]...),
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(append([]byte{}, good...), 0),
		"ring too long":  {1, 1, 2, 0xff, 0xff, 0x03},
		"before epoch":   {1, 0, 0, 2, 1, 1},
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeState(b); !errors.Is(err, ErrCorruptState) {
				t.Fatalf("DecodeState = %v, want ErrCorruptState", err)
			}
		})
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add((&State{Since: 10, Last: 20, Counts: []uint64{1, 2}}).Encode())
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeState(b)
		if err != nil {
			return
		}
		if len(s.Counts) > ringLen {
			t.Fatalf("ring of %d buckets", len(s.Counts))
		}
		if !bytes.Equal(s.Encode(), b) {
			// Uvarints have one canonical form; overlong encodings may decode, so
			// only require that re-encoding decodes to the same state.
			d, err := DecodeState(s.Encode())
			if err != nil || d.Last != s.Last || d.Since != s.Since || len(d.Counts) != len(s.Counts) {
				t.Fatalf("re-encode: %v", err)
			}
		}
		s.Refresh(s.Last, []uint64{1})
	})
}

func TestStateKeepsFiredTimes(t *testing.T) {
	s := State{Since: 10, Last: 20, Counts: []uint64{1, 2}}
	at := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	s.fired(RuleUnusualDuration, at)
	d, err := DecodeState(s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if d.Fired != s.Fired {
		t.Fatalf("fired %v, want %v", d.Fired, s.Fired)
	}
	tests := map[string]struct {
		rule Rule
		at   time.Time
		want bool
	}{
		"inside the window": {RuleUnusualDuration, at.Add(RecurringDedup - time.Second), true},
		"window passed":     {RuleUnusualDuration, at.Add(RecurringDedup), false},
		"another rule":      {RuleEscalatedInvocations, at.Add(time.Minute), false},
		"an immediate rule": {RuleTimeout, at.Add(time.Minute), false},
	}
	for name, tc := range tests {
		if got := d.quiet(tc.rule, tc.at, DedupWindow(tc.rule)); got != tc.want {
			t.Errorf("%s: quiet = %v, want %v", name, got, tc.want)
		}
	}
}
