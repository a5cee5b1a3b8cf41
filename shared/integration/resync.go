package integration

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// ResyncInput is the "sightline" field of the constant input the vendor stack's
// resync schedule sends the integration API: {"sightline":"resync-inventory"}.
const ResyncInput = "resync-inventory"

// Resync is the periodic pass over every active integration: it re-reads the
// inventory through the customer role and re-admits the account to the vendor's
// bus and log destination (idempotent; repairs an admission that failed when the
// stack reported).
type Resync struct {
	Store *Store
	// Sync is the inventory sync (Inventory.Sync).
	Sync func(ctx context.Context, in *Integration) (SyncResult, error)
	// Admission is optional.
	Admission AccountAdmission
	// Reserve: no integration is started when the invocation's deadline is closer
	// than this (default 30 s); the rest wait for the next run.
	Reserve time.Duration
	Now     func() time.Time
}

// ResyncResult summarises one run.
type ResyncResult struct {
	Active    int `json:"active"`
	Synced    int `json:"synced"`
	Failed    int `json:"failed"`
	Deferred  int `json:"deferred"`
	Functions int `json:"functions"`
}

// Run resyncs every active integration, one after the other. A failing
// integration (e.g. its role was deleted) is recorded on it and counted; the
// error is non-nil only when the list of integrations could not be read.
func (r *Resync) Run(ctx context.Context) (ResyncResult, error) {
	var res ResyncResult
	all, err := r.Store.All(ctx)
	if err != nil {
		return res, fmt.Errorf("resync: %w", err)
	}
	reserve := r.Reserve
	if reserve <= 0 {
		reserve = 30 * time.Second
	}
	for _, in := range all {
		if in.Status != StatusActive {
			continue
		}
		res.Active++
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < reserve {
			res.Deferred++
			continue
		}
		sr, err := r.one(ctx, in)
		if err != nil {
			res.Failed++
			slog.WarnContext(ctx, "resync of an integration failed", "integration", in, "err", err)
			if serr := r.Store.SetError(ctx, in.ID, "inventory resync failed: "+err.Error(), r.now()); serr != nil {
				slog.ErrorContext(ctx, "recording the resync failure failed", "integration", in, "err", serr)
			}
			continue
		}
		res.Synced++
		res.Functions += sr.Functions
		if in.Error != "" {
			if err := r.Store.ClearError(ctx, in.ID, r.now()); err != nil {
				slog.WarnContext(ctx, "clearing the integration's error failed", "integration", in, "err", err)
			}
		}
	}
	if res.Deferred > 0 {
		slog.WarnContext(ctx, "resync ran out of time; the rest waits for the next run", "deferred", res.Deferred)
	}
	return res, nil
}

func (r *Resync) one(ctx context.Context, in *Integration) (SyncResult, error) {
	if r.Admission != nil {
		for _, a := range in.Accounts {
			if err := r.Admission.Admit(ctx, a); err != nil {
				return SyncResult{}, fmt.Errorf("account admission: %w", err)
			}
		}
	}
	return r.Sync(ctx, in)
}

func (r *Resync) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}
