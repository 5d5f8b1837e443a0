package mimeenc

import (
	"bytes"
	stdbase64 "encoding/base64"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"testing"
)

// The benchmarks stream 8 MiB through each codec and the stdlib
// equivalent; bench/mimeenc/run.sh compares the programs with GNU
// base64 and qprint on 256 MiB.

const benchSize = 8 << 20

func benchRandom() []byte {
	rng := rand.New(rand.NewPCG(5, 6))
	b := make([]byte, benchSize)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// benchText is word lines with some 2-byte UTF-8, '=', tabs and trailing
// spaces, like the project's text corpus.
func benchText() []byte {
	rng := rand.New(rand.NewPCG(7, 8))
	words := []string{"the", "mail", "toolkit", "é", "naïve", "a=b", "message", "\t", "quoted", "printable", "of", "and"}
	var b bytes.Buffer
	for b.Len() < benchSize {
		n := 4 + rng.IntN(12)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
		}
		if rng.IntN(10) == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()[:benchSize]
}

type sink struct{}

func (sink) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkB64Encode(b *testing.B) {
	src := benchRandom()
	for _, portable := range []bool{false, true} {
		name := map[bool]string{false: "simd", true: "portable"}[portable]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				w := NewB64Writer(sink{}, B64Options{Portable: portable})
				w.ReadFrom(bytes.NewReader(src))
				w.Close()
			}
		})
	}
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			w := stdbase64.NewEncoder(stdbase64.StdEncoding, sink{})
			w.Write(src)
			w.Close()
		}
	})
}

func BenchmarkB64Decode(b *testing.B) {
	src := benchRandom()
	var enc bytes.Buffer
	w := NewB64Writer(&enc, B64Options{})
	w.Write(src)
	w.Close()
	for _, portable := range []bool{false, true} {
		name := map[bool]string{false: "simd", true: "portable"}[portable]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				NewB64Reader(bytes.NewReader(enc.Bytes()), B64Options{Portable: portable}).WriteTo(sink{})
			}
		})
	}
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			io.Copy(sink{}, stdbase64.NewDecoder(stdbase64.StdEncoding, bytes.NewReader(enc.Bytes())))
		}
	})
}

func BenchmarkQPEncode(b *testing.B) {
	for _, in := range []struct {
		name   string
		src    []byte
		binary bool
	}{{"text", benchText(), false}, {"binary", benchRandom(), true}} {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.src)))
			for b.Loop() {
				w := NewQPWriter(sink{}, QPOptions{Binary: in.binary})
				w.ReadFrom(bytes.NewReader(in.src))
				w.Close()
			}
		})
		b.Run(in.name+"/stdlib", func(b *testing.B) {
			b.SetBytes(int64(len(in.src)))
			for b.Loop() {
				w := quotedprintable.NewWriter(sink{})
				w.Binary = in.binary
				w.Write(in.src)
				w.Close()
			}
		})
	}
}

func BenchmarkQPDecode(b *testing.B) {
	for _, in := range []struct {
		name   string
		src    []byte
		binary bool
	}{{"text", benchText(), false}, {"binary", benchRandom(), true}} {
		var enc bytes.Buffer
		w := NewQPWriter(&enc, QPOptions{Binary: in.binary})
		w.Write(in.src)
		w.Close()
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.src)))
			for b.Loop() {
				NewQPReader(bytes.NewReader(enc.Bytes()), QPOptions{}).WriteTo(sink{})
			}
		})
		b.Run(in.name+"/stdlib", func(b *testing.B) {
			b.SetBytes(int64(len(in.src)))
			for b.Loop() {
				io.Copy(sink{}, quotedprintable.NewReader(bytes.NewReader(enc.Bytes())))
			}
		})
	}
}
