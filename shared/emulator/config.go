package emulator

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Config is an SDK configuration for an emulator: dummy static credentials, the
// region, and the emulator's endpoint for every service.
func Config(endpoint, region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSIGHTLINELOCAL", "local-secret", ""),
		BaseEndpoint: aws.String(endpoint),
		// Emulators answer fast or not at all; don't let the SDK's default retryer
		// hide a test's real failure behind long back-offs.
		RetryMaxAttempts: 3,
	}
}
