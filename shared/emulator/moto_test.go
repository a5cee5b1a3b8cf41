package emulator_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/sightline/sightline/shared/emulator"
)

// moto_server answers STS (AssumeRole maps the session into the role's account,
// which the instrumentation tests rely on) on loopback, and Stop ends it.
func TestMotoStartsAssumesRoleAndStops(t *testing.T) {
	ctx := context.Background()
	p, err := emulator.StartMoto(ctx)
	if errors.Is(err, emulator.ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	pid := p.PID()
	t.Cleanup(func() { p.Stop() })
	client := sts.NewFromConfig(emulator.Config(p.Endpoint, "us-east-1"))
	out, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/SightlineIntegrationRole"),
		RoleSessionName: aws.String("sightline-test"), ExternalId: aws.String("external-id-of-at-least-32-characters")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::111122223333:assumed-role/SightlineIntegrationRole/sightline-test" {
		t.Fatalf("assumed role ARN %s", got)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("moto_server (pid %d) still running after Stop", pid)
	}
}
