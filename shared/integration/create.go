package integration

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"time"
)

// Service creates integrations.
type Service struct {
	Store *Store
	// Regions is the default region list of a new integration (configuration: the
	// commercial regions Sightline supports).
	Regions []string
	Now     func() time.Time
}

// CreateRequest is what a tenant asks for.
type CreateRequest struct {
	Tenant                 string   `json:"tenant"`
	OrgID                  string   `json:"orgId"`
	Regions                []string `json:"regions,omitempty"`
	InstrumentNewFunctions bool     `json:"instrumentNewFunctions"`
}

// Created is a new integration and its access key, which is shown exactly once.
type Created struct {
	Integration *Integration
	// AccessKey is "<integration id>.<secret>"; only the secret's SHA-256 is stored.
	AccessKey string
}

// LogValue hides the access key.
func (c *Created) LogValue() slog.Value {
	return slog.GroupValue(slog.Attr{Key: "integration", Value: c.Integration.LogValue()}, slog.String("accessKey", "[redacted]"))
}

var (
	tenantRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// Commercial regions only: no us-gov-*, cn-*, iso partitions.
	regionRe = regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-[0-9]{1,2}$`)
)

// ValidRegion reports whether r looks like a commercial AWS region.
func ValidRegion(r string) bool { return regionRe.MatchString(r) }

// Create creates and stores a pending integration with a fresh ExternalId and access key.
func (s *Service) Create(ctx context.Context, req CreateRequest) (*Created, error) {
	if len(req.Regions) == 0 {
		req.Regions = s.Regions
	}
	c, err := NewPending(req, s.now())
	if err != nil {
		return nil, err
	}
	if err := s.Store.Put(ctx, c.Integration); err != nil {
		return nil, err
	}
	return c, nil
}

// NewPending builds (without storing) a pending integration: a random id, an
// ExternalId of 43 characters from crypto/rand, and an access key of which only
// the hash is kept.
func NewPending(req CreateRequest, now time.Time) (*Created, error) {
	if !tenantRe.MatchString(req.Tenant) {
		return nil, fmt.Errorf("tenant %q: %w", req.Tenant, ErrInvalid)
	}
	if len(req.Regions) == 0 {
		return nil, fmt.Errorf("no regions: %w", ErrInvalid)
	}
	for _, r := range req.Regions {
		if !ValidRegion(r) {
			return nil, fmt.Errorf("region %q is not a commercial region: %w", r, ErrInvalid)
		}
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	ext, err := newExternalID()
	if err != nil {
		return nil, err
	}
	accessKey, hash, err := newAccessKey(id)
	if err != nil {
		return nil, err
	}
	in := &Integration{
		ID: id, Tenant: req.Tenant, ExternalID: ext, AccessKeyHash: hash, Status: StatusPending,
		Regions: append([]string(nil), req.Regions...), InstrumentNewFunctions: req.InstrumentNewFunctions,
		OrgID: req.OrgID, CreatedAt: now, UpdatedAt: now,
	}
	if in.OrgID == "" {
		in.OrgID = req.Tenant
	}
	return &Created{Integration: in, AccessKey: accessKey}, nil
}

// Reissue gives a pending integration a new access key, for a new quick-create
// link when the first one expired or was lost: only the key's hash is stored, so
// a link cannot be rebuilt with the old key. An active or removed integration
// keeps its key (ErrInvalid).
func (s *Service) Reissue(ctx context.Context, id string) (*Created, error) {
	accessKey, hash, err := newAccessKey(id)
	if err != nil {
		return nil, err
	}
	in, err := s.Store.ReplacePendingAccessKey(ctx, id, hash, s.now())
	if err != nil {
		return nil, err
	}
	return &Created{Integration: in, AccessKey: accessKey}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}
