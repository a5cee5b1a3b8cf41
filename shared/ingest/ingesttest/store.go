// Package ingesttest provides a stand-in for the store, for tests of the Lambdas
// that wire an ingest.Pipeline (as net/http/httptest does for HTTP handlers).
package ingesttest

import (
	"context"
	"sync"

	"github.com/sightline/sightline/shared/metrics"
	"github.com/sightline/sightline/shared/store"
)

// Store keeps nothing but counts: every write succeeds, or, with Throttled, every
// aggregate write fails with store.ErrThrottled as a throttled table does.
type Store struct {
	Throttled bool

	mu          sync.Mutex
	invocations int64
}

// Invocations is the number of invocations applied so far.
func (s *Store) Invocations() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.invocations
}

// ApplyAggregates implements the pipeline's store.
func (s *Store) ApplyAggregates(_ context.Context, ups []store.AggregateUpdate) []error {
	errs := make([]error, len(ups))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, u := range ups {
		if s.Throttled {
			errs[i] = store.ErrThrottled
			continue
		}
		for _, p := range u.Parts {
			s.invocations += p.Agg.Invocations
		}
	}
	return errs
}

// ApplyErrorTypes implements the pipeline's store.
func (s *Store) ApplyErrorTypes(_ context.Context, ups []store.ErrorTypeUpdate) []store.ErrorTypeResult {
	return make([]store.ErrorTypeResult, len(ups))
}

// MarkActive implements the pipeline's store.
func (s *Store) MarkActive(context.Context, metrics.Function, int64) error { return nil }
