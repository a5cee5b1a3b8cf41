package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type cfnServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []StackResponse
	ctypes []string
	status int
}

func newCFNServer(t *testing.T) *cfnServer {
	s := &cfnServer{status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			http.Error(w, "want PUT", http.StatusMethodNotAllowed)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var resp StackResponse
		if err := json.Unmarshal(b, &resp); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, resp)
		s.ctypes = append(s.ctypes, r.Header.Get("Content-Type"))
		st := s.status
		s.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(s.Close)
	return s
}

func stackRequest(t *testing.T, typ, url string, in *Integration, ext, roleAccount string) *StackRequest {
	t.Helper()
	body := `{"RequestType":"` + typ + `","ServiceToken":"arn:aws:sns:us-east-1:999999999999:sightline-integration-events",
	"ResponseURL":"` + url + `/cloudformation-custom-resource-response-useast1/arn%3Aaws%3Acloudformation?X-Amz-Signature=abc",
	"StackId":"arn:aws:cloudformation:us-east-1:` + roleAccount + `:stack/Sightline-Integration/5b7c2f40-0000-11ef-8a11-0a1b2c3d4e5f",
	"RequestId":"c1a2b3d4-0000-4000-8000-000000000001","LogicalResourceId":"SightlineReport","ResourceType":"Custom::SightlineIntegration",
	"ResourceProperties":{"ServiceToken":"arn:aws:sns:us-east-1:999999999999:sightline-integration-events",
	"RoleArn":"arn:aws:iam::` + roleAccount + `:role/SightlineIntegrationRole","FirehoseArn":"arn:aws:firehose:us-east-1:` + roleAccount + `:deliverystream/sightline-logs",
	"Region":"us-east-1","StackVersion":"3","ExternalId":"` + ext + `","IntegrationId":"` + in.ID + `"}}`
	r, err := ParseStackRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if typ != RequestCreate {
		r.PhysicalResourceID = "sightline-integration-" + in.ID
	}
	return r
}

func TestStackReports(t *testing.T) {
	st := testStore(t)
	ctx := context.Background()
	srv := newCFNServer(t)
	svc := &Service{Store: st, Regions: []string{"us-east-1"}}
	rep := &Reporter{Store: st, HTTP: srv.Client(), AllowHTTPResponseURL: true, Now: func() time.Time { return time.Unix(1_700_000_000, 0) }}
	a, err := svc.Create(ctx, CreateRequest{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Create(ctx, CreateRequest{Tenant: "other"})
	if err != nil {
		t.Fatal(err)
	}
	in := a.Integration
	steps := []struct {
		name       string
		req        *StackRequest
		wantStatus string
		wantState  Status
		reason     string
	}{
		{"wrong external id", stackRequest(t, RequestCreate, srv.URL, in, "not-the-id", "210000000001"), "FAILED", StatusPending, "ExternalId"},
		{"create", stackRequest(t, RequestCreate, srv.URL, in, in.ExternalID, "210000000001"), "SUCCESS", StatusActive, ""},
		{"update", stackRequest(t, RequestUpdate, srv.URL, in, in.ExternalID, "210000000001"), "SUCCESS", StatusActive, ""},
		{"another integration claims the account", stackRequest(t, RequestCreate, srv.URL, b.Integration, b.Integration.ExternalID, "210000000001"), "FAILED", StatusActive, "another"},
		{"delete with a wrong external id changes nothing", stackRequest(t, RequestDelete, srv.URL, in, "nope", "210000000001"), "SUCCESS", StatusActive, ""},
		{"delete", stackRequest(t, RequestDelete, srv.URL, in, in.ExternalID, "210000000001"), "SUCCESS", StatusRemoved, ""},
		{"create after removal", stackRequest(t, RequestCreate, srv.URL, in, in.ExternalID, "210000000001"), "FAILED", StatusRemoved, "removed"},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			resp, err := rep.Handle(ctx, s.req)
			if err != nil {
				t.Fatal(err)
			}
			srv.mu.Lock()
			if len(srv.bodies) != i+1 {
				t.Fatalf("%d responses delivered, want %d", len(srv.bodies), i+1)
			}
			got, ctype := srv.bodies[i], srv.ctypes[i]
			srv.mu.Unlock()
			if got != resp || got.Status != s.wantStatus || got.RequestID != s.req.RequestID || got.StackID != s.req.StackID ||
				got.LogicalResourceID != "SightlineReport" || got.PhysicalResourceID != "sightline-integration-"+s.req.ResourceProperties.IntegrationID {
				t.Fatalf("response %+v", got)
			}
			if !strings.Contains(got.Reason, s.reason) {
				t.Fatalf("reason %q, want %q", got.Reason, s.reason)
			}
			if ctype != "" {
				t.Fatalf("Content-Type %q sent to a presigned URL", ctype)
			}
			cur, err := st.Get(ctx, in.ID)
			if err != nil || cur.Status != s.wantState {
				t.Fatalf("status %v %v, want %v", cur.Status, err, s.wantState)
			}
		})
	}
	cur, _ := st.Get(ctx, in.ID)
	if cur.RoleARN != "arn:aws:iam::210000000001:role/SightlineIntegrationRole" || cur.StackVersion != "3" || cur.HomeRegion != "us-east-1" {
		t.Fatalf("recorded %+v", cur)
	}
}

func TestStackReportResponseFailureIsAnError(t *testing.T) {
	st := testStore(t)
	srv := newCFNServer(t)
	srv.status = http.StatusForbidden
	a, err := (&Service{Store: st, Regions: []string{"us-east-1"}}).Create(context.Background(), CreateRequest{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	rep := &Reporter{Store: st, HTTP: srv.Client(), AllowHTTPResponseURL: true}
	if _, err := rep.Handle(context.Background(), stackRequest(t, RequestCreate, srv.URL, a.Integration, a.Integration.ExternalID, "210000000002")); err == nil {
		t.Fatal("an undelivered response must be an error (the message is retried)")
	}
	rep.AllowHTTPResponseURL = false
	if _, err := rep.Handle(context.Background(), stackRequest(t, RequestCreate, srv.URL, a.Integration, a.Integration.ExternalID, "210000000002")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("http ResponseURL accepted: %v", err)
	}
}

func TestParseStackRequestRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":     `{`,
		"bad type":     `{"RequestType":"Destroy","ResponseURL":"https://x","StackId":"s","RequestId":"r","LogicalResourceId":"l"}`,
		"no response":  `{"RequestType":"Create","StackId":"s","RequestId":"r","LogicalResourceId":"l"}`,
		"wrong shapes": `{"RequestType":"Create","ResponseURL":"https://x","StackId":"s","RequestId":"r","LogicalResourceId":"l","ResourceProperties":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseStackRequest([]byte(in)); !errors.Is(err, ErrMalformedRequest) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func FuzzParseStackRequest(f *testing.F) {
	f.Add([]byte(`{"RequestType":"Create","ResponseURL":"https://x","StackId":"s","RequestId":"r","LogicalResourceId":"l","ResourceProperties":{"IntegrationId":"i"}}`))
	f.Add([]byte(`{"RequestType":"Delete"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseStackRequest(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedRequest) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if r.ResponseURL == "" || r.RequestID == "" {
			t.Fatalf("accepted incomplete request %+v", r)
		}
		_ = sanitizeID(r.ResourceProperties.IntegrationID)
	})
}

func TestRoleAccount(t *testing.T) {
	for arn, ok := range map[string]bool{
		"arn:aws:iam::111122223333:role/SightlineIntegrationRole":      true,
		"arn:aws:iam::111122223333:role/path/SightlineIntegrationRole": true,
		"arn:aws-us-gov:iam::111122223333:role/x":                      false,
		"arn:aws:iam::1111:role/x":                                     false,
		"arn:aws:iam::111122223333:user/x":                             false,
		"":                                                             false,
	} {
		if _, err := roleAccount(arn); (err == nil) != ok {
			t.Errorf("roleAccount(%q): %v", arn, err)
		}
	}
}
