// Package store holds Sightline's DynamoDB table: its definition (shared by the CDK
// stack and the tests, so both create exactly the same table), its key layout, and the
// idempotent writes of ingest's aggregates.
//
// Key layout (single table, string keys pk/sk):
//
//	F#<tenant>#<account>#<region>#<function>   M#<unix minute, 10 digits>   per-minute aggregate (TTL)
//	F#<tenant>#<account>#<region>#<function>   E#<error type>               error type seen: first/last seen, count
//	F#<tenant>#<account>#<region>#<function>   S#<name>                     per-function state (insights, instrumentation)
//	F#<tenant>#<account>#<region>#<function>   A#<rule>                     alert de-duplication state
//	ACT#<unix hour>#<shard>                    <tenant>#<account>#<region>#<function>   functions active in that hour (TTL)
//	T#<tenant>                                 AL#<rfc3339 time>#<rule>#<account>#<region>#<function>   alerts
//	T#<tenant>                                 I#<integration id>           the tenant's integrations
//	I#<integration id>                         META                         integration record (hashed access key, role ARN ...)
//	I#<integration id>                         FN#<region>#<function>       inventory: one function's configuration and desired state
//	ACCT#<account>                             I                            which integration owns an account
//
// Tenant ids, account ids, regions and Lambda function names never contain '#'.
//
// # Exactly once
//
// Delivery is at-least-once, so the unit of idempotency is the source document (a
// DATA_MESSAGE, identified by a DocID). Every minute-aggregate and error-type item
// carries a version (ver) and a ledger (docs: the 8-byte ids of the documents
// already applied to it, newest last). A batch's writes are read-modify-write: one
// consistent BatchGetItem per 100 items, then one PutItem per item that has
// something new, conditioned on `attribute_not_exists(pk) OR ver = :v`. Only the
// parts whose DocID is not in the ledger are merged (exact sums, min and max, and
// sketch bucket counts), and their ids are appended in the same write, so the
// deltas and the ledger change atomically. A writer that loses the race re-reads
// and merges again. A replay finds every id in the ledger and writes nothing.
//
// Minute items: inv errs tmo oom cold (counts), dsum dmin dmax (µs), hist (a
// metrics.Sketch of µs), billed (ms), mem maxMem (MB, largest seen), cost
// (pico-USD), docs, ver, expiresAt. Error type items: cnt first last (ms),
// sType sMsg sFp sReq (the first sample), docs, ver.
package store

// Attribute names of the table's keys and TTL.
const (
	PartitionKey = "pk"
	SortKey      = "sk"
	TTLAttribute = "expiresAt" // epoch seconds; DynamoDB deletes expired time-series items
)

// KeyType is a DynamoDB scalar attribute type.
type KeyType string

const (
	KeyString KeyType = "S"
	KeyNumber KeyType = "N"
)

// Key is one key attribute.
type Key struct {
	Name string
	Type KeyType
}

// TableDef describes a table as both the stack and the tests create it.
type TableDef struct {
	// ID is the table's logical name: the CDK construct id, and the table name in tests.
	ID           string
	PartitionKey Key
	SortKey      Key
	TTLAttribute string
}

// MainTable is Sightline's single table.
var MainTable = TableDef{
	ID:           "Sightline",
	PartitionKey: Key{Name: PartitionKey, Type: KeyString},
	SortKey:      Key{Name: SortKey, Type: KeyString},
	TTLAttribute: TTLAttribute,
}

// Tables lists every table Sightline uses.
func Tables() []TableDef { return []TableDef{MainTable} }
