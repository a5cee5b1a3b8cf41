package cost

import (
	"errors"
	"math"
	"testing"
)

func TestInvocation(t *testing.T) {
	tests := map[string]struct {
		prices   Prices
		billedMs float64
		memoryMB int32
		arch     Arch
		want     int64 // pico-USD
	}{
		// 0.001 s × 0.125 GB × $0.0000166667 = 2083.34 pico + $0.0000002 request.
		"1 ms at 128 MB x86":                    {DefaultPrices, 1, 128, X86, 202_083},
		"100 ms at 512 MB x86":                  {DefaultPrices, 100, 512, X86, 1_033_335},
		"1 s at 1 GB arm64":                     {DefaultPrices, 1000, 1024, ARM64, 13_533_400},
		"1 s at 1 GB x86":                       {DefaultPrices, 1000, 1024, X86, 16_866_700},
		"15 min at 10 GB x86":                   {DefaultPrices, 900_000, 10240, X86, 150_000_500_000},
		"unknown memory: request":               {DefaultPrices, 1000, 0, X86, 200_000},
		"negative duration":                     {DefaultPrices, -5, 128, X86, 200_000},
		"NaN duration":                          {DefaultPrices, math.NaN(), 128, X86, 200_000},
		"zero duration":                         {DefaultPrices, 0, 128, ARM64, 200_000},
		"overridden request fee":                {Prices{X86GBSecond: 0.0000166667, Request: 0}, 1000, 1024, X86, 16_666_700},
		"unknown arch prices x86":               {DefaultPrices, 1000, 1024, Arch(9), 16_866_700},
		"absurd input saturates":                {DefaultPrices, 1e300, 10240, X86, math.MaxInt64 / 2},
		"free (all prices zero)":                {Prices{}, 1000, 1024, ARM64, 0},
		"fractional billed (SnapStart restore)": {DefaultPrices, 0.5, 1024, X86, 208_333},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.prices.Invocation(tt.billedMs, tt.memoryMB, tt.arch); got != tt.want {
				t.Fatalf("Invocation(%v, %d, %v) = %d pico-USD, want %d", tt.billedMs, tt.memoryMB, tt.arch, got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		p    Prices
		okay bool
	}{
		"defaults":            {DefaultPrices, true},
		"all zero":            {Prices{}, true},
		"negative":            {Prices{X86GBSecond: -1e-6}, false},
		"NaN":                 {Prices{ARMGBSecond: math.NaN()}, false},
		"infinite":            {Prices{Request: math.Inf(1)}, false},
		"a dollar per second": {Prices{X86GBSecond: 1}, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := tt.p.Validate()
			if (err == nil) != tt.okay {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.okay)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    Prices
		wantErr bool
	}{
		"empty is defaults": {"", DefaultPrices, false},
		"blank is defaults": {"  ", DefaultPrices, false},
		"one override": {"arm64=0.00001", Prices{X86GBSecond: DefaultPrices.X86GBSecond, ARMGBSecond: 0.00001,
			Request: DefaultPrices.Request}, false},
		"all, with spaces": {" x86_64 = 0.00002 , arm64=0.000015,request=0.0000003 ",
			Prices{X86GBSecond: 0.00002, ARMGBSecond: 0.000015, Request: 0.0000003}, false},
		"unknown key":  {"gpu=1", Prices{}, true},
		"no equals":    {"arm64", Prices{}, true},
		"not a number": {"arm64=cheap", Prices{}, true},
		"twice":        {"arm64=0.1,arm64=0.2", Prices{}, true},
		"invalid":      {"request=-1", Prices{}, true},
		"trailing ,":   {"arm64=0.1,", Prices{}, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse(%q) error = %v, want ErrInvalid", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseArch(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    Arch
		wantErr bool
	}{
		"default": {"", X86, false},
		"x86_64":  {"x86_64", X86, false},
		"arm64":   {"arm64", ARM64, false},
		"other":   {"riscv", X86, true},
		"case":    {"ARM64", X86, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseArch(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseArch(%q) = %v, %v", tt.in, got, err)
			}
			if err == nil && got.String() != map[Arch]string{X86: "x86_64", ARM64: "arm64"}[got] {
				t.Fatalf("String() = %q", got.String())
			}
		})
	}
}

func BenchmarkInvocation(b *testing.B) {
	var sum int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sum += DefaultPrices.Invocation(float64(i&1023), 512, Arch(i&1))
	}
	_ = sum
}
