package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sightline/sightline/shared/instrument"
	"github.com/sightline/sightline/shared/integration"
)

// catalog is the part of integration.Store the API reads and writes.
type catalog interface {
	Get(ctx context.Context, id string) (*integration.Integration, error)
	List(ctx context.Context, tenant string) ([]*integration.Integration, error)
	Functions(ctx context.Context, id string) ([]*integration.Function, error)
	SetDesired(ctx context.Context, id, region, name string, on bool) error
}

// handler serves the integration API on an IAM-authorized function URL. Who may
// act for which tenant is decided by the caller (Sightline's dashboard backend,
// which signs with SigV4 and passes ?tenant=); this API only checks that an
// integration belongs to the tenant named in the request.
type handler struct {
	create  func(ctx context.Context, req integration.CreateRequest) (*integration.Created, error)
	reissue func(ctx context.Context, id string) (*integration.Created, error)
	link    func(ctx context.Context, c *integration.Created) (string, error)
	store   catalog
	sync    func(ctx context.Context, in *integration.Integration) (integration.SyncResult, error)
	apply   func(ctx context.Context, in *integration.Integration, region, name string) (instrument.Result, error)
	remove  func(ctx context.Context, in *integration.Integration) (instrument.RemoveResult, error)
	// revoke takes a removed integration's account off the vendor bus and log
	// destination policies.
	revoke func(ctx context.Context, account string) error
	// resync is the scheduled inventory resync of every active integration.
	resync func(ctx context.Context) (integration.ResyncResult, error)
}

// invocation tells the schedule's input from a function URL request.
type invocation struct {
	Sightline string `json:"sightline"`
}

// invoke is the Lambda entry point: the resync schedule or a function URL request.
func (h *handler) invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var inv invocation
	if err := json.Unmarshal(raw, &inv); err == nil && inv.Sightline != "" {
		// The resync schedule's constant input (infra/stack); a function URL
		// request never has this field.
		if inv.Sightline != integration.ResyncInput {
			slog.WarnContext(ctx, "unknown scheduled invocation dropped", "input", inv.Sightline)
			return nil, nil
		}
		res, err := h.resync(ctx)
		if err != nil {
			return nil, err
		}
		slog.InfoContext(ctx, "inventory resync done", "active", res.Active, "synced", res.Synced, "failed", res.Failed, "deferred", res.Deferred)
		return res, nil
	}
	var req events.LambdaFunctionURLRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return reply(http.StatusBadRequest, map[string]string{"error": "not a function URL request"})
	}
	return h.handle(ctx, req)
}

type createResponse struct {
	Integration    *integration.Integration `json:"integration"`
	AccessKey      string                   `json:"accessKey"`
	QuickCreateURL string                   `json:"quickCreateUrl"`
}

// Routes:
//
//	POST   /integrations                                    create (body: CreateRequest)
//	GET    /integrations?tenant=T                           list
//	GET    /integrations/{id}/functions?tenant=T            inventory
//	POST   /integrations/{id}/sync?tenant=T                 inventory sync
//	PUT    /integrations/{id}/functions/{region}/{name}?tenant=T   body {"instrument":bool}
//	POST   /integrations/{id}/link?tenant=T                 new link (and access key) for a pending integration
//	DELETE /integrations/{id}?tenant=T                      remove
func (h *handler) handle(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	method := req.RequestContext.HTTP.Method
	parts := strings.Split(strings.Trim(req.RawPath, "/"), "/")
	tenant := req.QueryStringParameters["tenant"]
	if len(parts) == 0 || parts[0] != "integrations" {
		return reply(http.StatusNotFound, map[string]string{"error": "not found"})
	}
	switch {
	case len(parts) == 1 && method == http.MethodPost:
		var cr integration.CreateRequest
		if err := json.Unmarshal([]byte(req.Body), &cr); err != nil {
			return reply(http.StatusBadRequest, map[string]string{"error": "body must be JSON: " + err.Error()})
		}
		created, err := h.create(ctx, cr)
		if err != nil {
			return failure(ctx, err)
		}
		link, err := h.link(ctx, created)
		if err != nil {
			return failure(ctx, err)
		}
		return reply(http.StatusCreated, createResponse{Integration: created.Integration, AccessKey: created.AccessKey, QuickCreateURL: link})
	case len(parts) == 1 && method == http.MethodGet:
		if tenant == "" {
			return reply(http.StatusBadRequest, map[string]string{"error": "tenant is required"})
		}
		list, err := h.store.List(ctx, tenant)
		if err != nil {
			return failure(ctx, err)
		}
		return reply(http.StatusOK, list)
	}
	in, err := h.tenantIntegration(ctx, parts[1], tenant)
	if err != nil {
		return failure(ctx, err)
	}
	switch {
	case len(parts) == 2 && method == http.MethodDelete:
		res, err := h.remove(ctx, in)
		if err != nil {
			return failure(ctx, err)
		}
		// Removed: revoke its accounts (a retried DELETE repeats this idempotently).
		for _, a := range in.Accounts {
			if err := h.revoke(ctx, a); err != nil {
				return failure(ctx, err)
			}
		}
		return reply(http.StatusOK, res)
	case len(parts) == 3 && parts[2] == "link" && method == http.MethodPost:
		created, err := h.reissue(ctx, in.ID)
		if err != nil {
			return failure(ctx, err)
		}
		link, err := h.link(ctx, created)
		if err != nil {
			return failure(ctx, err)
		}
		return reply(http.StatusOK, createResponse{Integration: created.Integration, AccessKey: created.AccessKey, QuickCreateURL: link})
	case len(parts) == 3 && parts[2] == "sync" && method == http.MethodPost:
		res, err := h.sync(ctx, in)
		if err != nil {
			return failure(ctx, err)
		}
		return reply(http.StatusOK, res)
	case len(parts) == 3 && parts[2] == "functions" && method == http.MethodGet:
		fns, err := h.store.Functions(ctx, in.ID)
		if err != nil {
			return failure(ctx, err)
		}
		return reply(http.StatusOK, fns)
	case len(parts) == 5 && parts[2] == "functions" && method == http.MethodPut:
		var body struct {
			Instrument *bool `json:"instrument"`
		}
		if err := json.Unmarshal([]byte(req.Body), &body); err != nil || body.Instrument == nil {
			return reply(http.StatusBadRequest, map[string]string{"error": `body must be {"instrument": true|false}`})
		}
		region, name := parts[3], parts[4]
		if err := h.store.SetDesired(ctx, in.ID, region, name, *body.Instrument); err != nil {
			return failure(ctx, err)
		}
		res, err := h.apply(ctx, in, region, name)
		if err != nil {
			return failure(ctx, err)
		}
		return reply(http.StatusOK, res)
	}
	return reply(http.StatusNotFound, map[string]string{"error": "not found"})
}

func (h *handler) tenantIntegration(ctx context.Context, id, tenant string) (*integration.Integration, error) {
	in, err := h.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if tenant == "" || in.Tenant != tenant {
		return nil, integration.ErrNotFound
	}
	return in, nil
}

func failure(ctx context.Context, err error) (events.LambdaFunctionURLResponse, error) {
	var le *instrument.LimitError
	switch {
	case errors.As(err, &le):
		return reply(http.StatusConflict, map[string]string{"error": le.Message, "code": le.Code})
	case errors.Is(err, integration.ErrInvalid):
		return reply(http.StatusBadRequest, map[string]string{"error": err.Error()})
	case errors.Is(err, integration.ErrNotFound), errors.Is(err, integration.ErrUnknownFunction):
		return reply(http.StatusNotFound, map[string]string{"error": "not found"})
	}
	slog.ErrorContext(ctx, "integration api request failed", "err", err)
	if instrument.IsTransient(err) {
		return reply(http.StatusServiceUnavailable, map[string]string{"error": "AWS is busy; retry"})
	}
	return reply(http.StatusInternalServerError, map[string]string{"error": "internal error"})
}

func reply(status int, v any) (events.LambdaFunctionURLResponse, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return events.LambdaFunctionURLResponse{StatusCode: http.StatusInternalServerError}, nil
	}
	return events.LambdaFunctionURLResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}, nil
}
