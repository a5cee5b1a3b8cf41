package store

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
)

// DocID identifies one source document (a CloudWatch Logs DATA_MESSAGE), the unit of
// idempotency: a document's contribution to an item is applied at most once.
//
// 64 bits keep ledgers compact (8 bytes an id). Two different documents touching
// the same item collide with probability about L/2^64 per document for a ledger of
// L ids (below 10^-15 at the default bound); a collision would drop the second
// document's contribution to that one item.
type DocID uint64

func (d DocID) String() string { return strconv.FormatUint(uint64(d), 16) }

// NewDocID derives a document's id from what identifies it at the source: the
// owner account, log group and stream, the ids of its first and last log events
// and its number of events. It does not allocate.
//
// It runs once per document on ingest's hot path, so it mixes eight bytes a step
// (a multiply-rotate over little-endian words of length-prefixed fields), then a
// murmur3 finalizer spreads neighbouring inputs over all bits. It is stable across
// processes and architectures: stored ledgers hold its values.
func NewDocID(owner, logGroup, logStream, firstEventID, lastEventID []byte, events int) DocID {
	const k = 0x9e3779b97f4a7c15
	h := uint64(0x6a09e667f3bcc908)
	word := func(w uint64) {
		h = bits.RotateLeft64((h^w)*k, 31)
	}
	mix := func(b []byte) {
		word(uint64(len(b)))
		for len(b) >= 8 {
			word(binary.LittleEndian.Uint64(b))
			b = b[8:]
		}
		if len(b) > 0 {
			var tail [8]byte
			copy(tail[:], b)
			word(binary.LittleEndian.Uint64(tail[:]))
		}
	}
	mix(owner)
	mix(logGroup)
	mix(logStream)
	mix(firstEventID)
	mix(lastEventID)
	word(uint64(events))
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return DocID(h)
}

// ledger is an item's list of applied document ids, oldest first, stored as a
// binary attribute of big-endian 8-byte ids.
//
// Bound: an item keeps its newest Options.LedgerLimit ids. When applying new
// documents would exceed it, the oldest ids are evicted (and a warning logged):
// a later redelivery of an evicted document would be applied again. Redeliveries
// come within minutes of the first delivery (Kinesis retries from the first failed
// record, Firehose and Lambda retry whole requests), while an item is only written
// by documents of its own minute, so the default bound of 4096 documents per
// function-minute leaves a wide margin; the price is a write of up to 32 KB (32
// WCU) for the busiest items.
type ledger struct {
	ids     []DocID
	lookups int                // has calls so far
	set     map[DocID]struct{} // built only for many lookups in a long ledger
	seen    int                // ids[:seen] are in set
}

const ledgerIDSize = 8

func decodeLedger(b []byte) (ledger, error) {
	if len(b)%ledgerIDSize != 0 {
		return ledger{}, fmt.Errorf("%w: ledger of %d bytes", ErrCorrupt, len(b))
	}
	ids := make([]DocID, len(b)/ledgerIDSize, len(b)/ledgerIDSize+16) // room for a batch's new ids
	for i := range ids {
		ids[i] = DocID(binary.BigEndian.Uint64(b[i*ledgerIDSize:]))
	}
	return ledger{ids: ids}, nil
}

func (l *ledger) encode() []byte {
	b := make([]byte, 0, len(l.ids)*ledgerIDSize)
	for _, id := range l.ids {
		b = binary.BigEndian.AppendUint64(b, uint64(id))
	}
	return b
}

// has reports whether id was applied.
func (l *ledger) has(id DocID) bool {
	// A batch usually brings a few documents per item: scanning is cheaper than
	// building a set of thousands of ids.
	l.lookups++
	if len(l.ids) <= 32 || (l.set == nil && l.lookups <= 16) {
		for _, x := range l.ids {
			if x == id {
				return true
			}
		}
		return false
	}
	if l.set == nil {
		l.set = make(map[DocID]struct{}, len(l.ids))
		l.seen = 0
	}
	for ; l.seen < len(l.ids); l.seen++ {
		l.set[l.ids[l.seen]] = struct{}{}
	}
	_, ok := l.set[id]
	return ok
}

// add records id as applied (the caller checked has first).
func (l *ledger) add(id DocID) { l.ids = append(l.ids, id) }

// trim evicts the oldest ids beyond limit and returns how many it evicted.
func (l *ledger) trim(limit int) int {
	n := len(l.ids) - limit
	if n <= 0 {
		return 0
	}
	l.ids = append(l.ids[:0:0], l.ids[n:]...)
	l.set = nil
	return n
}
