package emulator_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sightline/sightline/shared/emulator"
	"github.com/sightline/sightline/shared/store"
)

func TestDynamoDBLocalStartsCreatesTableAndStops(t *testing.T) {
	ctx := context.Background()
	p, err := emulator.StartDynamoDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := p.PID()
	db := dynamodb.NewFromConfig(emulator.Config(p.Endpoint, "us-east-1"))
	if err := store.CreateTable(ctx, db, store.MainTable, "sightline-test"); err != nil {
		t.Fatal(err)
	}
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("sightline-test")})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(out.Table.KeySchema); got != 2 {
		t.Fatalf("key schema has %d elements, want 2", got)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("DynamoDB Local (pid %d) still running after Stop", pid)
	}
}
