package workload_test

import (
	"io"
	"testing"

	"github.com/sightline/sightline/shared/workload"
)

// BenchmarkGenerate measures generating the default demo workload (100k
// invocations, 24 functions, a day); bytes are the uncompressed documents.
func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	var raw int64
	for b.Loop() {
		w, err := workload.Generate(workload.Config{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		raw = w.Stats.RawBytes
	}
	b.SetBytes(raw)
}

// BenchmarkWrite measures writing the workload in each format.
func BenchmarkWrite(b *testing.B) {
	w := testWorkload(b)
	for _, f := range workload.Formats() {
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(w.Stats.RawBytes)
			for b.Loop() {
				if err := w.Write(io.Discard, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
