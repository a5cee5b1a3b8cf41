package insights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/sightline/sightline/shared/metrics"
)

// BucketMinutes is the width of a count bucket: the escalated rule compares
// five-minute counts.
const BucketMinutes = 5

// PriorBuckets is the number of five-minute buckets in the prior 48 hours.
const PriorBuckets = 48 * 60 / BucketMinutes

// ringLen holds the prior 48 hours and the last five minutes.
const ringLen = PriorBuckets + 1

const ringSpan = ringLen * BucketMinutes * time.Minute

// ErrCorruptState marks a state item that cannot be decoded; the evaluator
// rebuilds it from the minute aggregates.
var ErrCorruptState = errors.New("corrupt insights state")

// State is a function's scheduled-rule state: its invocation counts per aligned
// five-minute bucket (bucket b covers minutes [5b, 5b+5) since the epoch) for the
// last ringLen buckets, and the first bucket in which it was ever seen invoked.
type State struct {
	// Since is the first bucket with invocations (0: none yet).
	Since int64
	// Last is the newest bucket held; Counts[i] is bucket Last-len(Counts)+1+i.
	Last   int64
	Counts []uint64
	// Fired holds, per scheduled rule (scheduledRules order), when this evaluator
	// last stored an alert of it for the function (Unix seconds; 0: not known). It
	// lets a run skip a rule still inside its de-duplication window without
	// attempting (and paying for) a transaction the table would cancel; the table's
	// de-duplication item stays the authority.
	Fired [3]int64
}

// scheduledRules orders State.Fired.
var scheduledRules = [3]Rule{RuleApproachingTimeout, RuleUnusualDuration, RuleEscalatedInvocations}

func firedIndex(r Rule) int {
	for i, x := range scheduledRules {
		if x == r {
			return i
		}
	}
	return -1
}

// quiet reports whether rule r is still inside its de-duplication window at t
// according to the state.
func (s *State) quiet(r Rule, t time.Time, window time.Duration) bool {
	i := firedIndex(r)
	return i >= 0 && s.Fired[i] > 0 && t.Unix()-s.Fired[i] < int64(window/time.Second)
}

// fired records that an alert of rule r was stored at t.
func (s *State) fired(r Rule, t time.Time) {
	if i := firedIndex(r); i >= 0 {
		s.Fired[i] = t.Unix()
	}
}

// BucketOf returns the bucket of a minute.
func BucketOf(m metrics.Minute) int64 {
	b := int64(m)
	if b < 0 {
		return (b - BucketMinutes + 1) / BucketMinutes
	}
	return b / BucketMinutes
}

func bucketTime(b int64) time.Time { return time.Unix(b*BucketMinutes*60, 0).UTC() }

// Count returns the count of bucket b (0 outside the ring).
func (s *State) Count(b int64) uint64 {
	i := b - (s.Last - int64(len(s.Counts)) + 1)
	if i < 0 || i >= int64(len(s.Counts)) {
		return 0
	}
	return s.Counts[i]
}

// Refresh overwrites buckets first.. with counts (fresh from the minute
// aggregates, so late data is counted), moving the ring forward when they are
// newer than it. Buckets older than the ring are ignored.
func (s *State) Refresh(first int64, counts []uint64) {
	if len(counts) == 0 {
		return
	}
	end := first + int64(len(counts)) - 1
	last := max(s.Last, end)
	if len(s.Counts) == 0 {
		last = end
	}
	ring := make([]uint64, ringLen)
	base := last - ringLen + 1
	if len(s.Counts) > 0 {
		for i, c := range s.Counts {
			if b := s.Last - int64(len(s.Counts)) + 1 + int64(i); b >= base {
				ring[b-base] = c
			}
		}
	}
	for i, c := range counts {
		if b := first + int64(i); b >= base {
			ring[b-base] = c
			if c > 0 && (s.Since == 0 || b < s.Since) {
				s.Since = b
			}
		}
	}
	s.Last, s.Counts = last, ring
}

// Prior returns the highest count and the total of the PriorBuckets buckets
// before bucket b.
func (s *State) Prior(b int64) (maxCount, total uint64) {
	for k := b - PriorBuckets; k < b; k++ {
		c := s.Count(k)
		total += c
		maxCount = max(maxCount, c)
	}
	return maxCount, total
}

// stateVersion 2 added Fired; a version-1 state decodes as corrupt and is rebuilt
// from the minute aggregates (one backfill Query).
const stateVersion = 2

// Encode serialises s: a version byte, then uvarints Since, Last, len, counts, and
// the three Fired times.
func (s *State) Encode() []byte {
	buf := make([]byte, 0, 3*binary.MaxVarintLen64+len(s.Counts)*2)
	buf = append(buf, stateVersion)
	buf = binary.AppendUvarint(buf, uint64(s.Since))
	buf = binary.AppendUvarint(buf, uint64(s.Last))
	buf = binary.AppendUvarint(buf, uint64(len(s.Counts)))
	for _, c := range s.Counts {
		buf = binary.AppendUvarint(buf, c)
	}
	for _, f := range s.Fired {
		buf = binary.AppendUvarint(buf, uint64(f))
	}
	return buf
}

// DecodeState parses an encoded State. The bytes come from the table and are
// treated as untrusted: every length is bounded.
func DecodeState(b []byte) (State, error) {
	if len(b) == 0 || b[0] != stateVersion {
		return State{}, fmt.Errorf("%w: unknown version", ErrCorruptState)
	}
	b = b[1:]
	var vals [3]uint64
	for i := range vals {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return State{}, fmt.Errorf("%w: truncated header", ErrCorruptState)
		}
		vals[i], b = v, b[n:]
	}
	const maxBucket = 1 << 40
	if vals[0] > maxBucket || vals[1] > maxBucket || vals[2] > ringLen {
		return State{}, fmt.Errorf("%w: header out of range", ErrCorruptState)
	}
	s := State{Since: int64(vals[0]), Last: int64(vals[1]), Counts: make([]uint64, vals[2])}
	if int64(len(s.Counts)) > s.Last+1 {
		return State{}, fmt.Errorf("%w: ring before the epoch", ErrCorruptState)
	}
	for i := range s.Counts {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return State{}, fmt.Errorf("%w: truncated counts", ErrCorruptState)
		}
		s.Counts[i], b = v, b[n:]
	}
	for i := range s.Fired {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > 1<<40 {
			return State{}, fmt.Errorf("%w: truncated or out-of-range fired times", ErrCorruptState)
		}
		s.Fired[i], b = int64(v), b[n:]
	}
	if len(b) != 0 {
		return State{}, fmt.Errorf("%w: trailing bytes", ErrCorruptState)
	}
	return s, nil
}
