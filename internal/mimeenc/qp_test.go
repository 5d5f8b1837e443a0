package mimeenc

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"strings"
	"testing"
	"testing/iotest"
)

func encodeQP(t testing.TB, src []byte, opt QPOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewQPWriter(&buf, opt)
	if _, err := w.Write(src); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeQP(src []byte, opt QPOptions) ([]byte, error) {
	var buf bytes.Buffer
	_, err := NewQPReader(bytes.NewReader(src), opt).WriteTo(&buf)
	return buf.Bytes(), err
}

// checkQPLines fails if an encoded line is longer than RFC 2045 §6.7
// rule 5 allows, or ends in white space (rule 3).
func checkQPLines(t testing.TB, enc []byte) {
	t.Helper()
	for i, l := range bytes.Split(enc, []byte("\n")) {
		l = bytes.TrimSuffix(l, []byte("\r"))
		if len(l) > 76 {
			t.Fatalf("line %d has %d characters: %q", i+1, len(l), l)
		}
		if n := len(l); n > 0 && (l[n-1] == ' ' || l[n-1] == '\t') {
			t.Fatalf("line %d ends in white space: %q", i+1, l)
		}
	}
}

const nowsTheTime = "Now's the time for all folk to come to the aid of their country."

func TestQPEncodeTable(t *testing.T) {
	long := strings.Repeat("a", 100)
	tests := []struct {
		name, in string
		opt      QPOptions
		want     string
	}{
		{"seed example fits one line", nowsTheTime + "\n", QPOptions{}, nowsTheTime + "\n"},
		{"form feed (seed course)", "page\fbreak", QPOptions{}, "page=0Cbreak"},
		{"equals sign", "a=b", QPOptions{}, "a=3Db"},
		{"8-bit", "café\n", QPOptions{}, "caf=C3=A9\n"},
		{"space before line break", "end \nnext", QPOptions{}, "end=20\nnext"},
		{"tab before CR LF", "end\t\r\nnext", QPOptions{}, "end=09\nnext"},
		{"space at the end", "end ", QPOptions{}, "end=20"},
		{"inner white space", "a b\tc", QPOptions{}, "a b\tc"},
		{"CR LF in, LF out", "x\r\ny\r\n", QPOptions{}, "x\ny\n"},
		{"LF in, CR LF out", "x\ny\n", QPOptions{CRLF: true}, "x\r\ny\r\n"},
		{"bare CR is data", "a\rb\r", QPOptions{}, "a=0Db=0D"},
		{"binary", "a\r\nb\n", QPOptions{Binary: true}, "a=0D=0Ab=0A"},
		{"binary space before CR", "a \r", QPOptions{Binary: true}, "a =0D"},
		{"soft break", long, QPOptions{}, long[:75] + "=\n" + long[75:]},
		{"soft break CRLF", long, QPOptions{CRLF: true}, long[:75] + "=\r\n" + long[75:]},
		{"escape never split", long[:74] + "é", QPOptions{}, long[:74] + "=\n=C3=A9"},
		{"75 fits, hard break", long[:75] + "\n", QPOptions{}, long[:75] + "\n"},
		{"empty", "", QPOptions{}, ""},
	}
	for _, tt := range tests {
		got := encodeQP(t, []byte(tt.in), tt.opt)
		if string(got) != tt.want {
			t.Errorf("%s: encode(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
		checkQPLines(t, got)
		// Byte by byte, to hit every held-back case.
		var buf bytes.Buffer
		w := NewQPWriter(&buf, tt.opt)
		for i := range len(tt.in) {
			w.Write([]byte{tt.in[i]})
		}
		w.Close()
		if buf.String() != tt.want {
			t.Errorf("%s: byte-wise encode(%q) = %q, want %q", tt.name, tt.in, buf.String(), tt.want)
		}
	}
}

func TestQPDecodeTable(t *testing.T) {
	tests := []struct {
		name, in string
		opt      QPOptions
		want     string
		errPos   [2]int64 // line, column; zero: no error
		lenient  string
	}{
		{"RFC 2045 §6.7 example", "Now's the time =\r\nfor all folk to come=\r\n to the aid of their country.", QPOptions{}, nowsTheTime, [2]int64{}, nowsTheTime},
		{"seed course layout, padding after '='", "Now's the time =  \nfor all folk to come=  \nto the aid of their country.", QPOptions{},
			"Now's the time for all folk to cometo the aid of their country.", [2]int64{}, ""},
		{"form feed", "page=0Cbreak", QPOptions{}, "page\fbreak", [2]int64{}, ""},
		{"lower-case hex", "caf=c3=a9", QPOptions{}, "café", [2]int64{}, ""},
		{"soft break LF", "a=\nb", QPOptions{}, "ab", [2]int64{}, ""},
		{"soft break CRLF", "a=\r\nb", QPOptions{}, "ab", [2]int64{}, ""},
		{"padded soft break", "a= \t\r\nb", QPOptions{}, "ab", [2]int64{}, ""},
		{"trailing white space dropped", "a \t \nb  \r\nc ", QPOptions{}, "a\nb\nc", [2]int64{}, ""},
		{"inner white space kept", "a \tb =\n c", QPOptions{}, "a \tb  c", [2]int64{}, ""},
		{"CR LF out", "a\nb\r\n", QPOptions{CRLF: true}, "a\r\nb\r\n", [2]int64{}, ""},
		{"soft break at the end", "abc=", QPOptions{}, "abc", [2]int64{}, ""},
		{"soft break at the end, padded", "abc= \r\n", QPOptions{}, "abc", [2]int64{}, ""},
		{"long line", strings.Repeat("x", 200), QPOptions{}, strings.Repeat("x", 200), [2]int64{}, ""},
		{"bad hex", "ab=G1", QPOptions{}, "ab", [2]int64{1, 3}, "ab=G1"},
		{"bad second digit", "ab\ncd=4x", QPOptions{}, "ab\ncd", [2]int64{2, 3}, "ab\ncd=4x"},
		{"half escape at the end", "ab=4", QPOptions{}, "ab", [2]int64{1, 3}, "ab=4"},
		{"white space after '=' in a line", "a= b", QPOptions{}, "a", [2]int64{1, 2}, "a= b"},
		{"CR alone after '='", "a=\rb", QPOptions{}, "a", [2]int64{1, 2}, "a=\rb"},
		{"control character", "x\ny\x01z", QPOptions{}, "x\ny", [2]int64{2, 2}, "x\ny\x01z"},
		{"8-bit byte", "caf\xc3\xa9", QPOptions{}, "caf", [2]int64{1, 4}, "caf\xc3\xa9"},
		{"bare CR", "a \rb", QPOptions{}, "a", [2]int64{1, 3}, "a \rb"},
		{"bare CR at the end", "a\r", QPOptions{}, "a", [2]int64{1, 2}, "a\r"},
		{"error after fast path", "0123456789abcdef=ZZ", QPOptions{}, "0123456789abcdef", [2]int64{1, 17}, "0123456789abcdef=ZZ"},
		{"error after soft breaks", "abcdefghijk=\ndefghijklmn=\r\nxyzxyzxyzxyz=ZZ", QPOptions{}, "abcdefghijkdefghijklmnxyzxyzxyzxyz", [2]int64{3, 13},
			"abcdefghijkdefghijklmnxyzxyzxyzxyz=ZZ"},
	}
	for _, tt := range tests {
		got, err := decodeQP([]byte(tt.in), tt.opt)
		var se *SyntaxError
		switch {
		case tt.errPos == [2]int64{} && err != nil:
			t.Errorf("%s: unexpected error %v", tt.name, err)
		case tt.errPos != [2]int64{} && !errors.As(err, &se):
			t.Errorf("%s: error %v, want one at %v", tt.name, err, tt.errPos)
		case tt.errPos != [2]int64{} && [2]int64{se.Line, se.Column} != tt.errPos:
			t.Errorf("%s: error %v, want one at %v", tt.name, err, tt.errPos)
		}
		if string(got) != tt.want {
			t.Errorf("%s: decode(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
		lopt := tt.opt
		lopt.Lenient = true
		wantL := tt.lenient
		if tt.errPos == [2]int64{} {
			wantL = tt.want
		}
		got, err = decodeQP([]byte(tt.in), lopt)
		if err != nil || string(got) != wantL {
			t.Errorf("%s: lenient decode(%q) = %q, %v; want %q", tt.name, tt.in, got, err, wantL)
		}
		// Byte by byte through Read.
		got, err = io.ReadAll(NewQPReader(iotestOneByte(tt.in), lopt))
		if err != nil || string(got) != wantL {
			t.Errorf("%s: byte-wise lenient decode(%q) = %q, %v; want %q", tt.name, tt.in, got, err, wantL)
		}
	}
}

func iotestOneByte(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }

func randomText(rng *rand.Rand, n int) []byte {
	const alpha = "abcdefghij ABC=\t.,;:!?-_0123456789\xc3\xa9\f \n\n"
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[rng.IntN(len(alpha))]
	}
	return b
}

func TestQPRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 75, 76, 77, 1000, qpBlock - 1, qpBlock + 1, 5*qpBlock + 3} {
		bin := make([]byte, n)
		for i := range bin {
			bin[i] = byte(rng.Uint32())
		}
		text := randomText(rng, n)
		for _, crlf := range []bool{false, true} {
			enc := encodeQP(t, bin, QPOptions{Binary: true, CRLF: crlf})
			checkQPLines(t, enc)
			if got, err := decodeQP(enc, QPOptions{}); err != nil || !bytes.Equal(got, bin) {
				t.Fatalf("binary n=%d crlf=%v: round trip failed: %v", n, crlf, err)
			}
			enc = encodeQP(t, text, QPOptions{CRLF: crlf})
			checkQPLines(t, enc)
			got, err := decodeQP(enc, QPOptions{CRLF: crlf})
			want := text
			if crlf {
				want = bytes.ReplaceAll(text, []byte("\n"), []byte("\r\n"))
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("text n=%d crlf=%v: round trip failed: %v", n, crlf, err)
			}
			// encoding/quotedprintable reads our output.
			std, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(enc)))
			if err != nil || !bytes.Equal(bytes.ReplaceAll(std, []byte("\r\n"), []byte("\n")), text) {
				t.Fatalf("text n=%d: encoding/quotedprintable disagrees: %v", n, err)
			}
		}
		// We read encoding/quotedprintable's output.
		var buf bytes.Buffer
		sw := quotedprintable.NewWriter(&buf)
		sw.Binary = true
		sw.Write(bin)
		sw.Close()
		if got, err := decodeQP(buf.Bytes(), QPOptions{}); err != nil || !bytes.Equal(got, bin) {
			t.Fatalf("n=%d: decoding encoding/quotedprintable's output failed: %v", n, err)
		}
	}
}

// TestQPWriteSizes: the output does not depend on how the input is cut
// into Writes (held-back white space and CR at every boundary).
func TestQPWriteSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	text := randomText(rng, 50000)
	text = append(text, []byte(" \r\n \r\r\n\t\n  x \r")...)
	for _, opt := range []QPOptions{{}, {Binary: true}, {CRLF: true}} {
		want := encodeQP(t, text, opt)
		for round := 0; round < 20; round++ {
			var buf bytes.Buffer
			w := NewQPWriter(&buf, opt)
			for p := text; len(p) > 0; {
				n := min(len(p), 1+rng.IntN(40))
				w.Write(p[:n])
				p = p[n:]
			}
			w.Close()
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("%+v: output depends on the Write sizes", opt)
			}
		}
	}
}
