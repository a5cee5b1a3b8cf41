package integration

import (
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// SessionPrefix starts every role session name Sightline uses
// ("sightline-<purpose>"); CloudTrail records it, and drift repair recognises
// Sightline's own calls by it.
const SessionPrefix = "sightline-"

// Roles hands out SDK configurations acting as a customer's role (sts:AssumeRole
// with the integration's ExternalId), caching credentials per role and purpose.
type Roles struct {
	// Base is Sightline's own configuration (its credentials; in tests the emulator endpoint).
	Base aws.Config
	// STS overrides the STS client (default sts.NewFromConfig(Base)).
	STS stscreds.AssumeRoleAPIClient

	mu        sync.Mutex
	providers map[string]aws.CredentialsProvider
}

// Config returns an SDK configuration for region that assumes the integration's
// role with session name "sightline-<purpose>".
func (r *Roles) Config(in *Integration, purpose, region string) (aws.Config, error) {
	if in.RoleARN == "" || in.ExternalID == "" {
		return aws.Config{}, fmt.Errorf("integration %s has no role yet: %w", in.ID, ErrInvalid)
	}
	k := in.RoleARN + "|" + purpose
	r.mu.Lock()
	if r.providers == nil {
		r.providers = map[string]aws.CredentialsProvider{}
	}
	p, ok := r.providers[k]
	if !ok {
		client := r.STS
		if client == nil {
			client = sts.NewFromConfig(r.Base)
		}
		ext := in.ExternalID
		p = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, in.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.ExternalID = &ext
			o.RoleSessionName = SessionPrefix + purpose
		}))
		r.providers[k] = p
	}
	r.mu.Unlock()
	cfg := r.Base.Copy()
	cfg.Region = region
	cfg.Credentials = p
	return cfg, nil
}
