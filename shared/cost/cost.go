// Package cost estimates what a Lambda invocation costs: compute (GB-seconds of
// billed duration at the function's architecture's price) plus the request fee, in
// pico-dollars (10^-12 USD) so that sums over millions of invocations stay exact
// integers.
//
// Prices are configuration: DefaultPrices holds today's us-east-1 on-demand list
// prices (first pricing tier; volume tiers, Savings Plans, the free tier, ephemeral
// storage above 512 MB and provisioned concurrency are not modelled), and the local
// runner and the Lambdas may override them with Parse.
package cost

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Arch is a Lambda instruction set architecture.
type Arch uint8

const (
	X86 Arch = iota // the default
	ARM64
)

func (a Arch) String() string {
	switch a {
	case X86:
		return "x86_64"
	case ARM64:
		return "arm64"
	}
	return "Arch(" + strconv.Itoa(int(a)) + ")"
}

// ParseArch parses a Lambda Architectures value; "" is x86_64, Lambda's default.
func ParseArch(s string) (Arch, error) {
	switch s {
	case "", "x86_64":
		return X86, nil
	case "arm64":
		return ARM64, nil
	}
	return X86, fmt.Errorf("%w: architecture %q (want x86_64 or arm64)", ErrInvalid, s)
}

// Prices are Lambda's on-demand prices in USD.
type Prices struct {
	X86GBSecond float64 // per GB-second of billed duration on x86_64
	ARMGBSecond float64 // per GB-second of billed duration on arm64
	Request     float64 // per request
}

// DefaultPrices are us-east-1 list prices (first tier): $0.0000166667 per GB-second
// on x86_64, $0.0000133334 on arm64, $0.20 per million requests.
var DefaultPrices = Prices{
	X86GBSecond: 0.0000166667,
	ARMGBSecond: 0.0000133334,
	Request:     0.20 / 1e6,
}

// ErrInvalid reports a price or architecture that is not acceptable.
var ErrInvalid = errors.New("invalid price configuration")

// maxPrice bounds every price: a GB-second or a request costing a dollar or more
// is a configuration mistake (e.g. a price per million entered per request).
const maxPrice = 1.0

// Validate checks that every price is finite, not negative and below $1.
func (p Prices) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"x86_64", p.X86GBSecond}, {"arm64", p.ARMGBSecond}, {"request", p.Request}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 || f.v >= maxPrice {
			return fmt.Errorf("%w: %s price %v (want 0 ≤ price < %v USD)", ErrInvalid, f.name, f.v, maxPrice)
		}
	}
	return nil
}

// Invocation is the estimated cost of one invocation in pico-USD: billedMs of
// memoryMB at arch's GB-second price (memory in GB is MB/1024, as Lambda bills it),
// plus the request fee, rounded to the nearest pico-dollar. A negative or NaN
// duration counts as 0; memory ≤ 0 (unknown) leaves only the request fee.
func (p Prices) Invocation(billedMs float64, memoryMB int32, arch Arch) int64 {
	perGBs := p.X86GBSecond
	if arch == ARM64 {
		perGBs = p.ARMGBSecond
	}
	usd := p.Request
	if billedMs > 0 && memoryMB > 0 {
		usd += billedMs / 1000 * float64(memoryMB) / 1024 * perGBs
	}
	pico := math.Round(usd * 1e12)
	if pico >= math.MaxInt64/2 { // absurd inputs must not wrap around
		return math.MaxInt64 / 2
	}
	return int64(pico)
}

// Parse reads price overrides from a comma-separated list of key=USD pairs, keys
// x86_64 and arm64 (per GB-second) and request (per request), starting from
// DefaultPrices: "arm64=0.0000133334,request=0.0000002". An empty string gives
// DefaultPrices. The result is validated.
func Parse(s string) (Prices, error) {
	p := DefaultPrices
	s = strings.TrimSpace(s)
	if s == "" {
		return p, nil
	}
	seen := map[string]bool{}
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return Prices{}, fmt.Errorf("%w: %q is not key=value", ErrInvalid, kv)
		}
		k = strings.TrimSpace(k)
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return Prices{}, fmt.Errorf("%w: %s: %v", ErrInvalid, k, err)
		}
		if seen[k] {
			return Prices{}, fmt.Errorf("%w: %s given twice", ErrInvalid, k)
		}
		seen[k] = true
		switch k {
		case "x86_64":
			p.X86GBSecond = f
		case "arm64":
			p.ARMGBSecond = f
		case "request":
			p.Request = f
		default:
			return Prices{}, fmt.Errorf("%w: unknown price %q (want x86_64, arm64 or request)", ErrInvalid, k)
		}
	}
	if err := p.Validate(); err != nil {
		return Prices{}, err
	}
	return p, nil
}
