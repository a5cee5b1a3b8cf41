package ingest_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/store"
)

// ddb is DynamoDB Local, started once for the package's integration tests.
var ddb *dynamodb.Client

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	p, err := emulator.StartDynamoDB(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start DynamoDB Local:", err)
		return 1
	}
	defer p.Stop()
	ddb = dynamodb.NewFromConfig(emulator.Config(p.Endpoint, "us-east-1"))
	return m.Run()
}

var tables atomic.Int64

// newTable creates a fresh table exactly as the stack does.
func newTable(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("ingest-test-%d", tables.Add(1))
	if err := store.CreateTable(context.Background(), ddb, store.MainTable, name); err != nil {
		t.Fatal(err)
	}
	return name
}
