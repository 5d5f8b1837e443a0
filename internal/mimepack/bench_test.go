package mimepack

import (
	"bytes"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchFile writes size random bytes to a file.
func benchFile(b *testing.B, size int) string {
	r := mrand.New(mrand.NewPCG(5, 6))
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	p := filepath.Join(b.TempDir(), "data.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkBuild: a message with one 16 MiB binary attachment.
func BenchmarkBuild(b *testing.B) {
	p := benchFile(b, 16<<20)
	a, _ := testApp(b)
	b.SetBytes(16 << 20)
	for b.Loop() {
		if err := a.Build(io.Discard, &Message{BodyText: "x", HasText: true, Files: []string{p}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnpack: decoding that message's attachment.
func BenchmarkUnpack(b *testing.B) {
	p := benchFile(b, 16<<20)
	a, out := testApp(b)
	if err := a.Build(out, &Message{BodyText: "x", HasText: true, Files: []string{p}}); err != nil {
		b.Fatal(err)
	}
	msg := out.Bytes()
	b.SetBytes(16 << 20)
	for b.Loop() {
		err := Walk(bytes.NewReader(msg), DefaultLimits(), func(p *Part) error {
			if !p.Container {
				_, err := io.Copy(io.Discard, p.Decoded())
				return err
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildSmall: the fixed cost of one small message.
func BenchmarkBuildSmall(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "a.txt")
	os.WriteFile(p, []byte("hello\n"), 0o644)
	a, _ := testApp(b)
	for b.Loop() {
		if err := a.Build(io.Discard, &Message{BodyText: "x", HasText: true, Files: []string{p}}); err != nil {
			b.Fatal(err)
		}
	}
}
