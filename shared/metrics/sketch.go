package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Sketch is a mergeable histogram of non-negative integer values (Sightline stores
// durations in microseconds) with logarithmic buckets, after DDSketch (Masson,
// Rim, Lee, VLDB 2019).
//
// Bucket i > 0 holds the values v with γ^(i-1) < v ≤ γ^i, where γ = (1+α)/(1-α) and
// α = RelativeAccuracy; bucket 0 holds 1 (the smallest positive integer), and a
// separate zero bucket holds 0 (and negative values, which are clamped to 0). A
// quantile is answered with the representative 2γ^i/(γ+1) of the bucket that holds
// the value of that rank, so it is within α relative error of the exact value of
// the rank ⌊q·(n-1)⌋ in the sorted data, whatever the distribution and however many
// sketches were merged: merging adds bucket counts, so the merge of sketches of
// parts is identical to the sketch of the whole.
//
// The size is bounded: values above MaxSketchValue land in the top bucket (they lose
// their accuracy guarantee; a Lambda invocation lasts at most 15 minutes, 9·10^8 µs,
// far below the bound), so a sketch never holds more than MaxSketchIndex+1 buckets.
//
// The zero value is an empty sketch ready to use. Add does not allocate once the
// sketch's bucket array spans the values seen.
type Sketch struct {
	zero   uint64   // count of values ≤ 0
	total  uint64   // count of all values, zero bucket included
	offset int32    // bucket index of counts[0]
	counts []uint64 // dense bucket counts from offset
}

const (
	// RelativeAccuracy α of a Sketch's quantiles. 1% leaves a margin under the 2%
	// that Sightline promises for p50/p95/p99.
	RelativeAccuracy = 0.01
	// MaxSketchValue is the largest value a Sketch keeps with full accuracy: 2^40 µs,
	// about 12.7 days.
	MaxSketchValue = 1 << 40
)

var (
	gamma      = (1 + RelativeAccuracy) / (1 - RelativeAccuracy)
	invLnGamma = 1 / math.Log(gamma)
	// MaxSketchIndex is the index of a Sketch's top bucket.
	MaxSketchIndex = bucketIndexUnclamped(MaxSketchValue)
)

func bucketIndexUnclamped(v int64) int32 {
	return int32(math.Ceil(math.Log(float64(v)) * invLnGamma))
}

// bucketIndex maps a positive value to its bucket.
func bucketIndex(v int64) int32 {
	if v >= MaxSketchValue {
		return MaxSketchIndex
	}
	i := bucketIndexUnclamped(v)
	if i < 0 { // v == 1 gives 0; guard against rounding
		i = 0
	}
	return i
}

// bucketValue is the representative of bucket i: within α of every value in it.
func bucketValue(i int32) float64 {
	if i == 0 {
		return 1
	}
	return 2 * math.Pow(gamma, float64(i)) / (gamma + 1)
}

// Add records one value.
func (s *Sketch) Add(v int64) {
	s.total++
	if v <= 0 {
		s.zero++
		return
	}
	i := bucketIndex(v)
	if j := i - s.offset; len(s.counts) > 0 && j >= 0 && int(j) < len(s.counts) {
		s.counts[j]++
		return
	}
	s.grow(i, i)
	s.counts[i-s.offset]++
}

// AddCount records n copies of a value.
func (s *Sketch) AddCount(v int64, n uint64) {
	if n == 0 {
		return
	}
	s.total += n
	if v <= 0 {
		s.zero += n
		return
	}
	i := bucketIndex(v)
	s.grow(i, i)
	s.counts[i-s.offset] += n
}

// grow makes counts span bucket indexes lo..hi (both within 0..MaxSketchIndex).
func (s *Sketch) grow(lo, hi int32) {
	if len(s.counts) > 0 {
		top := s.offset + int32(len(s.counts)) - 1
		if lo >= s.offset && hi <= top {
			return
		}
		lo = min(lo, s.offset)
		hi = max(hi, top)
	}
	// Leave some slack on both sides so neighbouring values don't regrow the array.
	const slack = 32
	newLo := max(lo-slack, 0)
	newHi := min(hi+slack, MaxSketchIndex)
	counts := make([]uint64, newHi-newLo+1)
	if len(s.counts) > 0 {
		copy(counts[s.offset-newLo:], s.counts)
	}
	s.counts = counts
	s.offset = newLo
}

// Count is the number of values recorded.
func (s *Sketch) Count() uint64 { return s.total }

// Merge adds every value of o to s. The result is exactly the sketch of both
// value sets together.
func (s *Sketch) Merge(o *Sketch) {
	if o.total == 0 {
		return
	}
	s.total += o.total
	s.zero += o.zero
	lo, hi, ok := o.span()
	if !ok {
		return
	}
	s.grow(lo, hi)
	for i := lo; i <= hi; i++ {
		s.counts[i-s.offset] += o.counts[i-o.offset]
	}
}

// span is the range of non-empty bucket indexes.
func (s *Sketch) span() (lo, hi int32, ok bool) {
	first, last := -1, -1
	for j, c := range s.counts {
		if c != 0 {
			if first < 0 {
				first = j
			}
			last = j
		}
	}
	if first < 0 {
		return 0, 0, false
	}
	return s.offset + int32(first), s.offset + int32(last), true
}

// Quantile returns the value at quantile q (0 ≤ q ≤ 1) within RelativeAccuracy of
// the exact value of rank ⌊q·(n-1)⌋; 0 for an empty sketch. q is clamped to [0, 1].
func (s *Sketch) Quantile(q float64) float64 {
	if s.total == 0 {
		return 0
	}
	if !(q > 0) { // also NaN
		q = 0
	}
	if q > 1 {
		q = 1
	}
	rank := uint64(q * float64(s.total-1))
	if rank < s.zero {
		return 0
	}
	cum := s.zero
	for j, c := range s.counts {
		cum += c
		if cum > rank {
			return bucketValue(s.offset + int32(j))
		}
	}
	// Unreachable while counts are consistent with total.
	if _, hi, ok := s.span(); ok {
		return bucketValue(hi)
	}
	return 0
}

// Equal reports whether two sketches hold the same counts.
func (s *Sketch) Equal(o *Sketch) bool {
	if s.total != o.total || s.zero != o.zero {
		return false
	}
	lo1, hi1, ok1 := s.span()
	lo2, hi2, ok2 := o.span()
	if ok1 != ok2 {
		return false
	}
	if !ok1 {
		return true
	}
	if lo1 != lo2 || hi1 != hi2 {
		return false
	}
	for i := lo1; i <= hi1; i++ {
		if s.counts[i-s.offset] != o.counts[i-o.offset] {
			return false
		}
	}
	return true
}

// Reset empties the sketch, keeping its bucket array.
func (s *Sketch) Reset() {
	s.zero, s.total = 0, 0
	clear(s.counts)
}

// Clone returns an independent copy.
func (s *Sketch) Clone() Sketch {
	c := *s
	if s.counts != nil {
		c.counts = append([]uint64(nil), s.counts...)
	}
	return c
}

// Encoding, version 1:
//
//	byte     version (1)
//	uvarint  zero-bucket count
//	uvarint  number of non-empty buckets k
//	k times: uvarint index delta, uvarint count (> 0)
//
// The first delta is the first bucket's index itself; each later delta is the gap
// to the previous bucket's index (≥ 1). Buckets appear in increasing index order, so the encoding is
// canonical: equal sketches encode to equal bytes.
const sketchVersion = 1

// ErrBadSketch reports bytes that are not a valid Sketch encoding.
var ErrBadSketch = errors.New("bad sketch encoding")

// MarshalBinary encodes the sketch compactly (see AppendBinary).
func (s *Sketch) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, 8+3*s.nonEmpty()))
}

func (s *Sketch) nonEmpty() int {
	n := 0
	for _, c := range s.counts {
		if c != 0 {
			n++
		}
	}
	return n
}

// AppendBinary appends the sketch's encoding to b.
func (s *Sketch) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, sketchVersion)
	b = binary.AppendUvarint(b, s.zero)
	b = binary.AppendUvarint(b, uint64(s.nonEmpty()))
	prev := int64(-1)
	for j, c := range s.counts {
		if c == 0 {
			continue
		}
		i := int64(s.offset) + int64(j)
		if prev < 0 {
			b = binary.AppendUvarint(b, uint64(i))
		} else {
			b = binary.AppendUvarint(b, uint64(i-prev))
		}
		b = binary.AppendUvarint(b, c)
		prev = i
	}
	return b, nil
}

// UnmarshalBinary decodes an encoding made by MarshalBinary, replacing s. It
// rejects anything else with an error wrapping ErrBadSketch: unknown versions,
// truncated or trailing bytes, overlong varints, indexes out of range or out of
// order, zero counts, and totals that overflow. s is unchanged on error.
func (s *Sketch) UnmarshalBinary(data []byte) error {
	// First pass: validate and find the index range; second: fill the counts.
	var out Sketch
	lo, hi := int32(-1), int32(-1)
	zero, err := decodeSketch(data, func(i int32, c uint64) {
		if lo < 0 {
			lo = i
		}
		hi = i
	})
	if err != nil {
		return err
	}
	out.zero, out.total = zero, zero
	if lo >= 0 {
		out.offset = lo
		out.counts = make([]uint64, hi-lo+1)
		_, _ = decodeSketch(data, func(i int32, c uint64) {
			out.counts[i-lo] = c
			out.total += c
		})
	}
	*s = out
	return nil
}

// decodeSketch parses an encoding, calling bucket for each bucket in index order,
// and returns the zero-bucket count.
func decodeSketch(data []byte, bucket func(i int32, c uint64)) (uint64, error) {
	if len(data) == 0 {
		return 0, fmt.Errorf("%w: empty", ErrBadSketch)
	}
	if data[0] != sketchVersion {
		return 0, fmt.Errorf("%w: version %d", ErrBadSketch, data[0])
	}
	p := data[1:]
	next := func(what string) (uint64, error) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, fmt.Errorf("%w: truncated %s", ErrBadSketch, what)
		}
		if n > 1 && p[n-1] == 0 {
			return 0, fmt.Errorf("%w: overlong varint %s", ErrBadSketch, what)
		}
		p = p[n:]
		return v, nil
	}
	zero, err := next("zero count")
	if err != nil {
		return 0, err
	}
	k, err := next("bucket count")
	if err != nil {
		return 0, err
	}
	if k > uint64(MaxSketchIndex)+1 {
		return 0, fmt.Errorf("%w: %d buckets", ErrBadSketch, k)
	}
	total := zero
	prev := int64(-1)
	for range k {
		d, err := next("index")
		if err != nil {
			return 0, err
		}
		c, err := next("count")
		if err != nil {
			return 0, err
		}
		if d > uint64(MaxSketchIndex) {
			return 0, fmt.Errorf("%w: index delta %d", ErrBadSketch, d)
		}
		i := int64(d)
		if prev >= 0 {
			if d == 0 {
				return 0, fmt.Errorf("%w: bucket index not increasing", ErrBadSketch)
			}
			i = prev + int64(d)
		}
		if i > int64(MaxSketchIndex) {
			return 0, fmt.Errorf("%w: bucket index %d", ErrBadSketch, i)
		}
		if c == 0 {
			return 0, fmt.Errorf("%w: empty bucket %d", ErrBadSketch, i)
		}
		if total+c < total {
			return 0, fmt.Errorf("%w: count overflow", ErrBadSketch)
		}
		total += c
		bucket(int32(i), c)
		prev = i
	}
	if len(p) != 0 {
		return 0, fmt.Errorf("%w: %d trailing bytes", ErrBadSketch, len(p))
	}
	return zero, nil
}
