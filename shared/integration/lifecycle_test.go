package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeAdmission struct {
	mu               sync.Mutex
	admitted, revoke []string
	err              error
}

func (f *fakeAdmission) Admit(_ context.Context, a string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.admitted = append(f.admitted, a)
	return f.err
}

func (f *fakeAdmission) Revoke(_ context.Context, a string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoke = append(f.revoke, a)
	return f.err
}

// accountSeq numbers the accounts test cases claim, unique within the process
// (the table outlives a run under -count).
var accountSeq atomic.Int64

func TestStackReportsAdmitAndRevokeTheAccount(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	srv := newCFNServer(t)
	svc := &Service{Store: st, Regions: []string{"us-east-1"}}
	for name, tc := range map[string]struct {
		admissionErr error
		steps        []string // request types
		stackAccount string   // account in the StackId ("" = the role's)
		wantStatus   string   // of the last response
		wantAdmitted int
		wantRevoked  int
		wantError    string // recorded on the integration
	}{
		"create admits":                           {nil, []string{RequestCreate}, "", "SUCCESS", 1, 0, ""},
		"update admits again":                     {nil, []string{RequestCreate, RequestUpdate}, "", "SUCCESS", 2, 0, ""},
		"delete revokes":                          {nil, []string{RequestCreate, RequestDelete}, "", "SUCCESS", 1, 1, ""},
		"failed admission is recorded, not fatal": {errors.New("AccessDenied"), []string{RequestCreate}, "", "SUCCESS", 1, 0, "account admission failed"},
		"stack in another account is refused":     {nil, []string{RequestCreate}, "999999999999", "FAILED", 0, 0, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := svc.Create(ctx, CreateRequest{Tenant: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			in := c.Integration
			// Every case claims its own account (deriving it from the random id
			// collided between cases).
			account := fmt.Sprintf("4455%08d", accountSeq.Add(1)) // a range no other test of the package uses
			adm := &fakeAdmission{err: tc.admissionErr}
			rep := &Reporter{Store: st, HTTP: srv.Client(), AllowHTTPResponseURL: true, Admission: adm}
			var resp StackResponse
			for _, typ := range tc.steps {
				req := stackRequest(t, typ, srv.URL, in, in.ExternalID, account)
				req.ResourceProperties.FirehoseArn = ""
				req.ResourceProperties.DeliveryStreamArn = "arn:aws:firehose:us-east-1:" + account + ":deliverystream/sightline-logs"
				if tc.stackAccount != "" {
					req.StackID = strings.Replace(req.StackID, account, tc.stackAccount, 1)
				}
				if resp, err = rep.Handle(ctx, req); err != nil {
					t.Fatal(err)
				}
			}
			if resp.Status != tc.wantStatus {
				t.Fatalf("status %s (%s), want %s", resp.Status, resp.Reason, tc.wantStatus)
			}
			if len(adm.admitted) != tc.wantAdmitted || len(adm.revoke) != tc.wantRevoked {
				t.Fatalf("admitted %v revoked %v", adm.admitted, adm.revoke)
			}
			for _, a := range append(adm.admitted, adm.revoke...) {
				if a != account {
					t.Errorf("admission of %s, want %s", a, account)
				}
			}
			cur, err := st.Get(ctx, in.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(cur.Error, tc.wantError) || (tc.wantError == "" && cur.Error != "") {
				t.Errorf("integration error %q, want %q", cur.Error, tc.wantError)
			}
			if tc.wantStatus == "SUCCESS" && tc.steps[len(tc.steps)-1] != RequestDelete &&
				cur.FirehoseARN != "arn:aws:firehose:us-east-1:"+account+":deliverystream/sightline-logs" {
				t.Errorf("FirehoseARN %q: the template's DeliveryStreamArn was not recorded", cur.FirehoseARN)
			}
		})
	}
}

func TestResyncSyncsActiveIntegrationsAndReadmits(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	svc := &Service{Store: st, Regions: []string{"us-east-1"}}
	now := time.Unix(1_700_000_000, 0)
	mk := func(tenant, account string, status Status) *Integration {
		c, err := svc.Create(ctx, CreateRequest{Tenant: tenant})
		if err != nil {
			t.Fatal(err)
		}
		if status == StatusPending {
			return c.Integration
		}
		in, err := st.Activate(ctx, c.Integration.ID, account, "arn:aws:iam::"+account+":role/SightlineIntegrationRole", "us-east-1", "", "stack", "1", now)
		if err != nil {
			t.Fatal(err)
		}
		if status == StatusRemoved {
			if err := st.MarkRemoved(ctx, in.ID, now); err != nil {
				t.Fatal(err)
			}
		}
		return in
	}
	ok := mk("resync-a", "230000000001", StatusActive)
	broken := mk("resync-b", "230000000002", StatusActive)
	pending := mk("resync-c", "", StatusPending)
	removed := mk("resync-d", "230000000004", StatusRemoved)
	if err := st.SetError(ctx, ok.ID, "an old failure", now); err != nil {
		t.Fatal(err)
	}
	synced := map[string]bool{}
	adm := &fakeAdmission{}
	r := &Resync{Store: st, Admission: adm, Now: func() time.Time { return now }, Sync: func(_ context.Context, in *Integration) (SyncResult, error) {
		synced[in.ID] = true
		if in.ID == broken.ID {
			return SyncResult{}, errors.New("AccessDenied: not authorized to perform sts:AssumeRole")
		}
		return SyncResult{Functions: 3}, nil
	}}
	res, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Other tests of the package share the table: look only at these four.
	if !synced[ok.ID] || !synced[broken.ID] || synced[pending.ID] || synced[removed.ID] {
		t.Fatalf("synced %v", synced)
	}
	if res.Failed < 1 || res.Synced < 1 || res.Deferred != 0 {
		t.Errorf("result %+v", res)
	}
	admitted := strings.Join(adm.admitted, ",")
	if !strings.Contains(admitted, "230000000001") || strings.Contains(admitted, "230000000004") {
		t.Errorf("re-admitted %s", admitted)
	}
	if cur, _ := st.Get(ctx, ok.ID); cur.Error != "" {
		t.Errorf("a successful resync left the error %q", cur.Error)
	}
	if cur, _ := st.Get(ctx, broken.ID); !strings.Contains(cur.Error, "AssumeRole") {
		t.Errorf("failure not recorded: %q", cur.Error)
	}

	t.Run("no time left defers everything", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		r := &Resync{Store: st, Reserve: time.Minute, Sync: func(context.Context, *Integration) (SyncResult, error) {
			t.Fatal("synced without time left")
			return SyncResult{}, nil
		}}
		res, err := r.Run(dctx)
		if err != nil || res.Deferred != res.Active || res.Active < 2 {
			t.Fatalf("%+v %v", res, err)
		}
	})
}

func TestReissueGivesPendingIntegrationsANewKey(t *testing.T) {
	ctx := context.Background()
	st := testStore(t)
	svc := &Service{Store: st, Regions: []string{"us-east-1"}}
	c, err := svc.Create(ctx, CreateRequest{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	dir := NewDirectory(st, time.Nanosecond, nil)
	again, err := svc.Reissue(ctx, c.Integration.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.AccessKey == c.AccessKey || again.Integration.ExternalID != c.Integration.ExternalID {
		t.Fatal("reissue must change the key and keep the ExternalId")
	}
	if _, err := dir.Authenticate(ctx, c.AccessKey); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("the old key still authenticates: %v", err)
	}
	if _, err := dir.Authenticate(ctx, again.AccessKey); err != nil {
		t.Errorf("the new key does not authenticate: %v", err)
	}
	if _, err := st.Activate(ctx, c.Integration.ID, "240000000001", "arn:aws:iam::240000000001:role/r", "us-east-1", "", "s", "1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reissue(ctx, c.Integration.ID); !errors.Is(err, ErrInvalid) {
		t.Errorf("reissue of an active integration: %v, want ErrInvalid", err)
	}
	if _, err := svc.Reissue(ctx, "nosuchintegration"); !errors.Is(err, ErrNotFound) {
		t.Errorf("reissue of an unknown integration: %v, want ErrNotFound", err)
	}
}

func TestIntegrationLinkFillsTheTemplateParameters(t *testing.T) {
	c := &Created{Integration: &Integration{ID: "abcdefgh12345678", ExternalID: "ext_ID-1"}, AccessKey: "abcdefgh12345678.s3cr+t"}
	link, err := IntegrationLink("eu-west-1", "https://b.s3.eu-west-1.amazonaws.com/t.json?X-Amz-Signature=x", c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"param_" + ParamExternalID + "=ext_ID-1", "param_" + ParamIntegrationID + "=abcdefgh12345678",
		"param_" + ParamAccessKey + "=abcdefgh12345678.s3cr%2Bt", "stackName=" + DefaultStackName} {
		if !strings.Contains(link, want) {
			t.Errorf("link %s lacks %s", link, want)
		}
	}
	if strings.Count(link, "param_") != 3 {
		t.Errorf("link %s: want exactly three parameters", link)
	}
}
