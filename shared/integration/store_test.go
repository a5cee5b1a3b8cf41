package integration

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/store"
)

var moto struct {
	once     sync.Once
	stop     func() error
	endpoint string
	err      error
}

// testMoto starts moto_server on first use; TestMain stops it.
func testMoto(t *testing.T) string {
	t.Helper()
	moto.once.Do(func() {
		p, err := emulator.StartMoto(context.Background())
		if err != nil {
			moto.err = err
			return
		}
		moto.stop, moto.endpoint = p.Stop, p.Endpoint
	})
	if moto.err != nil {
		if errors.Is(moto.err, emulator.ErrNotInstalled) {
			t.Skipf("moto_server not installed: %v", moto.err)
		}
		t.Fatal(moto.err)
	}
	return moto.endpoint
}

var ddb struct {
	once   sync.Once
	stop   func() error
	client *dynamodb.Client
	err    error
}

// TestMain stops DynamoDB Local if a test started it (on first use, so fuzz
// workers never start it).
func TestMain(m *testing.M) {
	code := m.Run()
	if ddb.stop != nil {
		ddb.stop()
	}
	if moto.stop != nil {
		moto.stop()
	}
	os.Exit(code)
}

func testStore(t *testing.T) *Store {
	t.Helper()
	ddb.once.Do(func() {
		ctx := context.Background()
		p, err := emulator.StartDynamoDB(ctx)
		if err != nil {
			ddb.err = err
			return
		}
		ddb.stop = p.Stop
		ddb.client = dynamodb.NewFromConfig(emulator.Config(p.Endpoint, "us-east-1"))
		ddb.err = store.CreateTable(ctx, ddb.client, store.MainTable, "sightline-integration-test")
	})
	if ddb.err != nil {
		if errors.Is(ddb.err, emulator.ErrNotInstalled) {
			t.Skipf("DynamoDB Local not installed: %v", ddb.err)
		}
		t.Fatal(ddb.err)
	}
	return &Store{DB: ddb.client, Table: "sightline-integration-test"}
}
