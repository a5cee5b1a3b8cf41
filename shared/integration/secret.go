package integration

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// newID returns a random integration id: 16 lowercase base32 characters (never
// '#' or '.', so it fits both the key layout and the access key format).
func newID() (string, error) {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random integration id: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}

// newExternalID returns 43 URL-safe characters from 32 random bytes. The characters
// ([A-Za-z0-9_-]) are all valid in sts:ExternalId ([\w+=,.@:\/-]*).
func newExternalID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random external id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// newAccessKey returns the access key "<id>.<secret>" and the hash to store.
func newAccessKey(id string) (key, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("random access key: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	return id + "." + secret, hashSecret(secret), nil
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// splitAccessKey splits "<id>.<secret>"; ok is false for anything else.
func splitAccessKey(key string) (id, secret string, ok bool) {
	id, secret, ok = strings.Cut(key, ".")
	if !ok || id == "" || secret == "" || strings.ContainsAny(id, "#/") || len(key) > 256 {
		return "", "", false
	}
	return id, secret, true
}

// secretMatches compares the secret's hash with the stored hash in constant time.
func secretMatches(secret, storedHash string) bool {
	got := hashSecret(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(storedHash)) == 1 && storedHash != ""
}

// externalIDMatches compares two external ids in constant time.
func externalIDMatches(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
