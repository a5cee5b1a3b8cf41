package workload

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

const (
	fiveMinutes = int64(5 * time.Minute / time.Millisecond)
	hourMs      = int64(time.Hour / time.Millisecond)
	minuteMs    = int64(time.Minute / time.Millisecond)
)

// container is one execution environment: one log stream.
type container struct {
	fn        int
	stream    string
	busyUntil int64
	lastEnd   int64
	idleTTL   int64
	dies      int64
	retired   bool
	invs      []int32 // indices into Workload.Invocations, in start order
}

type generator struct {
	cfg     Config
	w       *Workload
	start   int64 // ms
	span    int64 // ms
	arch    []archetype
	conts   []*container
	seq     uint64 // event id low bits
	order   int    // document creation order, the tie-break of the sort
	builder *docBuilder
}

func newGenerator(cfg Config) *generator {
	return &generator{
		cfg:   cfg,
		w:     &Workload{Config: cfg},
		start: cfg.Start.UnixMilli(),
		span:  cfg.Duration.Milliseconds(),
	}
}

func (g *generator) rng(stream, fn int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(g.cfg.Seed), uint64(stream)<<32|uint64(fn)))
}

func (g *generator) run() error {
	top := g.rng(0, 0)
	g.seq = top.Uint64() >> 8
	g.w.seqBase = top.Uint64() % 1e15
	g.w.idSource = top.Uint64()

	g.defineFunctions()
	counts := allocate(g.cfg.Invocations, g.arch)
	for fi := range g.arch {
		if err := g.simulate(fi, counts[fi]); err != nil {
			return err
		}
	}
	if err := g.render(); err != nil {
		return err
	}
	computeTruth(g.w) // after rendering: it counts the telemetry events written
	return nil
}

func (g *generator) defineFunctions() {
	n := g.cfg.Functions
	g.arch = make([]archetype, n)
	g.w.Functions = make([]Function, n)
	for i := 0; i < n; i++ {
		a, name := archetypeFor(i)
		a.name = name
		g.arch[i] = a
		lg := a.logGroup
		if lg == "" {
			lg = "/aws/lambda/" + name
		}
		format := "Text"
		if a.json {
			format = "JSON"
		}
		g.w.Functions[i] = Function{
			Account: g.cfg.Accounts[i%len(g.cfg.Accounts)], Region: g.cfg.Region, Name: name,
			Runtime: a.runtime, Architecture: a.arch, TimeoutSeconds: a.timeoutS, MemorySizeMB: a.memMB,
			LogGroup: lg, LogFormat: format,
		}
	}
}

// allocate splits total over the functions by weight (largest remainder).
func allocate(total int, arch []archetype) []int {
	var sum float64
	for _, a := range arch {
		sum += a.weight
	}
	counts := make([]int, len(arch))
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(arch))
	used := 0
	for i, a := range arch {
		exact := float64(total) * a.weight / sum
		counts[i] = int(exact)
		used += counts[i]
		rems[i] = rem{i, exact - float64(counts[i])}
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return cmp.Compare(b.r, a.r) })
	for k := 0; used < total; k++ {
		counts[rems[k%len(rems)].i]++
		used++
	}
	return counts
}

// traffic is the daily curve: night low, afternoon (UTC) high, per-function phase.
func traffic(hourOfDay, peak float64) float64 {
	d := math.Abs(hourOfDay - peak)
	if d > 12 {
		d = 24 - d
	}
	return 0.12 + 0.88*math.Exp(-(d*d)/(2*4.0*4.0))
}

func (g *generator) at(frac float64) int64 { return g.start + int64(frac*float64(g.span)) }

func (g *generator) simulate(fi, n int) error {
	a := &g.arch[fi]
	fn := g.w.Functions[fi]
	r := g.rng(1, fi)

	// Arrivals along the daily curve (rejection sampling).
	arrivals := make([]int64, 0, n)
	peak := 14 + (r.Float64()*6 - 3)
	dayStart := g.cfg.Start.Truncate(24 * time.Hour).UnixMilli()
	for len(arrivals) < n {
		t := g.start + r.Int64N(g.span)
		if !a.flat {
			h := float64((t-dayStart)%(24*hourMs)) / float64(hourMs)
			if r.Float64() > traffic(h, peak) {
				continue
			}
		}
		arrivals = append(arrivals, t)
	}
	slices.Sort(arrivals)

	// Scenario windows that need traffic in them.
	var winFrom, winTo int64
	switch a.scenario {
	case scApproaching:
		winFrom = g.at(0.62)
		winTo = winFrom + 45*minuteMs
		ensureIn(r, arrivals, winFrom, winTo, 12)
	case scUnusual:
		winFrom = g.at(0.42)
		winTo = winFrom + 20*minuteMs
		ensureIn(r, arrivals, winFrom, winTo, 12)
	case scBurst:
		winFrom = g.at(0.80) / fiveMinutes * fiveMinutes
		winTo = winFrom + fiveMinutes
		if err := burst(r, arrivals, winFrom, winTo); err != nil {
			return fmt.Errorf("function %s: %w", fn.Name, err)
		}
	}
	slices.Sort(arrivals)

	// Invocations with their durations and memory.
	base := len(g.w.Invocations)
	timeoutUs := int64(a.timeoutS) * 1_000_000
	for _, t := range arrivals {
		inv := Invocation{Function: fi, RequestID: uuid(r), Start: t}
		ms := a.medianMs * math.Exp(a.sigma*r.NormFloat64())
		if a.tight {
			ms = min(max(ms, 0.75*a.medianMs), 1.5*a.medianMs)
		}
		ms = min(max(ms, 0.8), 0.8*float64(a.timeoutS)*1000)
		inv.DurationUs = roundUs(ms * 1000)
		inv.MaxMemoryMB = int32(float64(a.memMB) * a.memUse * (0.85 + 0.3*r.Float64()))
		inv.MaxMemoryMB = min(max(inv.MaxMemoryMB, 20), a.memMB-3)
		inv.xray = a.xray != xrayNone
		if inv.xray || a.telemetry {
			inv.traceID = traceID(r, t)
		}
		g.w.Invocations = append(g.w.Invocations, inv)
	}
	invs := g.w.Invocations[base:]

	// Failures: timeouts, out-of-memory, then errors.
	pick := func(k int, from, to int64, set func(*Invocation)) []int {
		var cand []int
		for i := range invs {
			if invs[i].Status == StatusSuccess && invs[i].Start >= from && invs[i].Start < to {
				cand = append(cand, i)
			}
		}
		r.Shuffle(len(cand), func(i, j int) { cand[i], cand[j] = cand[j], cand[i] })
		cand = cand[:min(k, len(cand))]
		slices.Sort(cand)
		for _, i := range cand {
			set(&invs[i])
		}
		return cand
	}
	end := g.start + g.span
	if a.toPer10k > 0 {
		k := max(2, int(math.Round(float64(n)*a.toPer10k/10000)))
		got := pick(k, g.start, end, func(inv *Invocation) {
			inv.Status = StatusTimeout
			inv.DurationUs = timeoutUs + roundUs(float64(1000+r.IntN(120_000)))
			inv.Signal = "Task timed out"
			if a.json {
				inv.Signal = "platform.report status timeout"
			}
		})
		if len(got) > 0 {
			g.scenario("timeout", fi, invs[got[0]].Start, invs[got[0]].End(), "", fmt.Sprintf("%d invocations ran into the %ds timeout", len(got), a.timeoutS))
		}
	}
	if a.oom != oomNone {
		k := max(2, int(math.Round(float64(n)*a.oomPer10k/10000)))
		got := pick(k, g.start, end, func(inv *Invocation) {
			inv.Status = StatusOutOfMemory
			inv.Signal = oomSignal[a.oom]
			inv.MaxMemoryMB = a.memMB
			if a.oom == oomJava {
				inv.MaxMemoryMB = a.memMB * 93 / 100 // the heap ran out first
			}
		})
		if len(got) > 0 {
			g.scenario("out_of_memory", fi, invs[got[0]].Start, invs[got[0]].End(), "", fmt.Sprintf("%d invocations ran out of memory (%s)", len(got), oomSignal[a.oom]))
		}
	}
	if len(a.errors) > 0 {
		for i := range invs {
			inv := &invs[i]
			if inv.Status != StatusSuccess || r.Float64() >= a.errRate {
				continue
			}
			frac := float64(inv.Start-g.start) / float64(g.span)
			var avail []*failure
			for _, f := range a.errors {
				if f.from <= frac {
					avail = append(avail, f)
				}
			}
			f := avail[0]
			if len(avail) > 1 && r.Float64() < 0.4 {
				f = avail[1+r.IntN(len(avail)-1)]
			}
			setError(inv, f)
		}
		// Every error type occurs: the first ones before any new type appears,
		// a new type at least twice once it has.
		for _, f := range a.errors {
			from, to, need := g.start, g.at(0.5), 1
			if f.from > 0 {
				from, to, need = g.at(f.from), end, 2
			}
			have := 0
			for i := range invs {
				if invs[i].fail == f && invs[i].Start >= from && invs[i].Start < to {
					have++
				}
			}
			if have < need {
				pick(need-have, from, to, func(inv *Invocation) { setError(inv, f) })
			}
			if f.from > 0 && a.scenario == scNewError {
				first := int64(math.MaxInt64)
				for i := range invs {
					if invs[i].fail == f {
						first = min(first, invs[i].Start)
					}
				}
				g.scenario("new_error_type", fi, first, first+1, f.typ, "a new error type appears mid-period: "+f.typ)
			}
		}
	}

	// Duration scenarios.
	switch a.scenario {
	case scApproaching:
		lo, hi := 0.905*float64(timeoutUs), 0.985*float64(timeoutUs)
		k := max(5, countIn(invs, winFrom, winTo)/6)
		pick(k, winFrom, winTo, func(inv *Invocation) { inv.DurationUs = roundUs(lo + (hi-lo)*r.Float64()) })
		g.scenario("approaching_timeout", fi, winFrom, winTo, "", fmt.Sprintf("%d invocations between 90%% and 99%% of the %ds timeout", k, a.timeoutS))
	case scUnusual:
		k := max(3, countIn(invs, winFrom, winTo)/20)
		pick(k, winFrom, winTo, func(inv *Invocation) { inv.DurationUs = roundUs(a.medianMs * 1000 * (3 + 2*r.Float64())) })
		g.scenario("unusual_duration", fi, winFrom, winTo, "", fmt.Sprintf("%d invocations at 3-5x the median duration", k))
	case scBurst:
		g.scenario("escalated_invocations", fi, winFrom, winTo, "", fmt.Sprintf("%d invocations in five minutes", countIn(invs, winFrom, winTo)))
	}

	// Billing.
	for i := range invs {
		inv := &invs[i]
		inv.BilledMs = max(1, (inv.DurationUs+999)/1000)
		if inv.Status == StatusTimeout {
			inv.BilledMs = int64(a.timeoutS) * 1000
		}
	}

	g.assignContainers(fi, base, r)
	return nil
}

func setError(inv *Invocation, f *failure) {
	inv.Status = StatusError
	inv.ErrorType = f.typ
	inv.fail = f
}

func countIn(invs []Invocation, from, to int64) int {
	n := 0
	for i := range invs {
		if invs[i].Start >= from && invs[i].Start < to {
			n++
		}
	}
	return n
}

// ensureIn moves arrivals into [from, to) until at least k are there.
func ensureIn(r *rand.Rand, arrivals []int64, from, to int64, k int) {
	have := 0
	for _, t := range arrivals {
		if t >= from && t < to {
			have++
		}
	}
	for i := 0; have < k && i < 10*len(arrivals); i++ {
		j := r.IntN(len(arrivals))
		if arrivals[j] >= from && arrivals[j] < to {
			continue
		}
		arrivals[j] = from + r.Int64N(to-from)
		have++
	}
}

// burst moves arrivals into the five-minute bucket [from, to) until it holds 60%
// more than the busiest earlier bucket, plus ten.
func burst(r *rand.Rand, arrivals []int64, from, to int64) error {
	buckets := map[int64]int{}
	in := 0
	for _, t := range arrivals {
		if t >= from && t < to {
			in++
		} else if t < from {
			buckets[t/fiveMinutes]++
		}
	}
	peak := 0
	for _, c := range buckets {
		peak = max(peak, c)
	}
	want := int(math.Ceil(1.6*float64(peak))) + 10
	if want-in > len(arrivals)/3 {
		return fmt.Errorf("%w: too few invocations for the burst scenario", ErrInvalid)
	}
	for i := 0; in < want && i < 100*len(arrivals); i++ {
		j := r.IntN(len(arrivals))
		if arrivals[j] >= from && arrivals[j] < to {
			continue
		}
		arrivals[j] = from + r.Int64N(to-from)
		in++
	}
	return nil
}

func (g *generator) scenario(rule string, fi int, from, to int64, errType, detail string) {
	f := g.w.Functions[fi]
	g.w.Scenarios = append(g.w.Scenarios, Scenario{
		Rule: rule, Account: f.Account, Region: f.Region, Function: f.Name,
		From: time.UnixMilli(from).UTC(), To: time.UnixMilli(to).UTC(), ErrorType: errType, Detail: detail,
	})
}

// initMs is a cold start's init duration range per runtime.
var initMs = [...][2]float64{
	rtNode: {120, 350}, rtPython: {90, 260}, rtJava: {380, 1100}, rtGo: {40, 110},
	rtRuby: {140, 300}, rtDotnet: {180, 650}, rtCustom: {25, 70},
}

// assignContainers runs function fi's invocations through a pool of execution
// environments: a warm, idle one is reused (most recently used first); otherwise a
// new one starts cold with a new log stream. Environments expire after an idle
// time and a maximum lifetime, and are recycled after a timeout, an
// out-of-memory kill or a crash.
func (g *generator) assignContainers(fi, base int, r *rand.Rand) {
	a := &g.arch[fi]
	var active []*container
	for k := base; k < len(g.w.Invocations); k++ {
		inv := &g.w.Invocations[k]
		var best *container
		live := active[:0]
		for _, c := range active {
			if c.retired || inv.Start-c.lastEnd > c.idleTTL || inv.Start >= c.dies {
				continue // gone for good
			}
			live = append(live, c)
			if c.busyUntil <= inv.Start && (best == nil || c.lastEnd > best.lastEnd) {
				best = c
			}
		}
		active = live
		if best == nil {
			rng := initMs[a.kind]
			inv.InitUs = roundUs(1000 * (rng[0] + (rng[1]-rng[0])*r.Float64()))
			created := inv.Start - (inv.InitUs+999)/1000
			var id [16]byte
			for i := range id {
				id[i] = byte(r.Uint32())
			}
			best = &container{
				fn:      fi,
				stream:  time.UnixMilli(created).UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(id[:]),
				idleTTL: int64(5+r.IntN(20)) * minuteMs,
				dies:    inv.Start + int64(2*60+r.IntN(4*60))*minuteMs,
			}
			active = append(active, best)
			g.conts = append(g.conts, best)
		}
		best.invs = append(best.invs, int32(k))
		best.busyUntil = inv.End() + 1
		best.lastEnd = inv.End()
		if fatal(inv, a) {
			best.retired = true
		}
	}
}

// fatal reports whether the invocation ends its execution environment.
func fatal(inv *Invocation, a *archetype) bool {
	switch inv.Status {
	case StatusTimeout, StatusOutOfMemory:
		return true
	case StatusError:
		return inv.fail.crash || inv.fail.panic
	}
	return false
}

func roundUs(us float64) int64 {
	v := int64(math.Round(us/10)) * 10
	return max(v, 10)
}

func uuid(r *rand.Rand) string {
	var b [16]byte
	x, y := r.Uint64(), r.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(x >> (8 * i))
		b[8+i] = byte(y >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func traceID(r *rand.Rand, ms int64) string {
	var b [12]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return fmt.Sprintf("1-%08x-%s", ms/1000, hex.EncodeToString(b[:]))
}
