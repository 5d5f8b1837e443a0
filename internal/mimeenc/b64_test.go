package mimeenc

import (
	"bytes"
	stdbase64 "encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

func encodeB64(t testing.TB, src []byte, opt B64Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewB64Writer(&buf, opt)
	if _, err := w.Write(src); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeB64(src []byte, opt B64Options) ([]byte, error) {
	var buf bytes.Buffer
	_, err := NewB64Reader(bytes.NewReader(src), opt).WriteTo(&buf)
	return buf.Bytes(), err
}

// stdWrapped is the reference encoding: encoding/base64 cut into lines,
// byte-identical to GNU base64 -w N.
func stdWrapped(src []byte, wrap int, eol string) string {
	s := stdbase64.StdEncoding.EncodeToString(src)
	if wrap < 0 {
		return s
	}
	var b strings.Builder
	for len(s) > wrap {
		b.WriteString(s[:wrap] + eol)
		s = s[wrap:]
	}
	if s != "" {
		b.WriteString(s + eol)
	}
	return b.String()
}

func TestB64EncodeTable(t *testing.T) {
	tests := []struct {
		in   string
		opt  B64Options
		want string
	}{
		{"", B64Options{}, ""},
		{"#\\", B64Options{}, "I1w=\n"}, // the seed course's example: 0x23 0x5C
		{"f", B64Options{}, "Zg==\n"},
		{"fo", B64Options{}, "Zm8=\n"},
		{"foo", B64Options{}, "Zm9v\n"},
		{"foobar", B64Options{Wrap: 4}, "Zm9v\nYmFy\n"},
		{"foobar", B64Options{Wrap: 3, CRLF: true}, "Zm9\r\nvYm\r\nFy\r\n"},
		{"foobar", B64Options{Wrap: -1}, "Zm9vYmFy"},
	}
	for _, tt := range tests {
		for _, portable := range []bool{false, true} {
			tt.opt.Portable = portable
			if got := encodeB64(t, []byte(tt.in), tt.opt); string(got) != tt.want {
				t.Errorf("encode(%q, %+v) = %q, want %q", tt.in, tt.opt, got, tt.want)
			}
		}
	}
}

func TestB64EncodeMatchesStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 56, 57, 58, 1000, b64Block - 1, b64Block, b64Block + 1, 3*b64Block + 17} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		for _, wrap := range []int{76, 64, 70, 1, -1} {
			for _, portable := range []bool{false, true} {
				opt := B64Options{Wrap: wrap, Portable: portable}
				got := encodeB64(t, src, opt)
				if want := stdWrapped(src, wrap, "\n"); string(got) != want {
					t.Fatalf("n=%d %+v: output differs from encoding/base64", n, opt)
				}
				// Through ReadFrom, with a reader that gives odd sizes.
				var buf bytes.Buffer
				w := NewB64Writer(&buf, opt)
				if _, err := w.ReadFrom(io.LimitReader(&oddReader{src: src}, int64(n))); err != nil {
					t.Fatal(err)
				}
				w.Close()
				if buf.String() != string(got) {
					t.Fatalf("n=%d %+v: ReadFrom differs from Write", n, opt)
				}
				dec, err := decodeB64(got, opt)
				if err != nil || !bytes.Equal(dec, src) {
					t.Fatalf("n=%d %+v: round trip failed: %v", n, opt, err)
				}
			}
		}
	}
}

// oddReader returns its data in reads of varying small sizes.
type oddReader struct {
	src []byte
	k   int
}

func (r *oddReader) Read(p []byte) (int, error) {
	if len(r.src) == 0 {
		return 0, io.EOF
	}
	r.k = r.k%7919 + 1
	n := min(len(p), len(r.src), r.k)
	copy(p, r.src[:n])
	r.src = r.src[n:]
	return n, nil
}

func TestB64DecodeTable(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		errOff  int64 // -1: no error
		lenient string
	}{
		{"I1w=", "#\\", -1, "#\\"},
		{"I1w=\n", "#\\", -1, "#\\"},
		{"Zm9v\r\nYmFy\r\n", "foobar", -1, "foobar"},
		{" Zm 9v\tYm\fFy ", "foobar", -1, "foobar"},
		{"Zm9v!YmFy", "foo", 4, "foobar"},
		{"Zm9vYmFy\x00", "foobar", 8, "foobar"},
		{"Zg", "", 2, "f"},
		{"Zg=", "", 3, "f"},
		{"Zg==", "f", -1, "f"},
		{"Zm8", "", 3, "fo"},
		{"Z", "", 1, ""},
		{"Zg==Zm8=", "f", 4, "ffo"},
		{"Zg==\n\nZm8=", "f", 6, "ffo"},
		{"Zg=a", "", 3, "f"},
		{"=Zg==", "", 0, "f"},
		{"Zg===", "f", 4, "f"},
		{"QR==", "A", -1, "A"}, // non-zero pad bits: accepted
		{"Zm9v\xc3\xa9", "foo", 4, "foo"},
	}
	for _, tt := range tests {
		for _, portable := range []bool{false, true} {
			got, err := decodeB64([]byte(tt.in), B64Options{Portable: portable})
			var se *SyntaxError
			switch {
			case tt.errOff < 0 && err != nil:
				t.Errorf("decode(%q): unexpected error %v", tt.in, err)
			case tt.errOff >= 0 && !errors.As(err, &se):
				t.Errorf("decode(%q): error %v, want a SyntaxError at %d", tt.in, err, tt.errOff)
			case tt.errOff >= 0 && se.Offset != tt.errOff:
				t.Errorf("decode(%q): error at %d (%v), want %d", tt.in, se.Offset, se, tt.errOff)
			}
			if string(got) != tt.want {
				t.Errorf("decode(%q) = %q, want %q", tt.in, got, tt.want)
			}
			got, err = decodeB64([]byte(tt.in), B64Options{Portable: portable, Lenient: true})
			if err != nil || string(got) != tt.lenient {
				t.Errorf("lenient decode(%q) = %q, %v; want %q", tt.in, got, err, tt.lenient)
			}
		}
	}
}

// TestB64DecodeErrorOffsetLate puts a bad byte deep in a large input,
// past the first rounds, so the offset crosses round boundaries.
func TestB64DecodeErrorOffsetLate(t *testing.T) {
	src := make([]byte, 3*b64ReadBlock)
	for i := range src {
		src[i] = byte(i * 7)
	}
	enc := encodeB64(t, src, B64Options{})
	for _, pos := range []int{0, 77, b64ReadBlock - 1, b64ReadBlock, b64ReadBlock + 5, len(enc) - 3} {
		bad := bytes.Clone(enc)
		if bad[pos] == '\n' {
			pos++
		}
		bad[pos] = '*'
		got, err := decodeB64(bad, B64Options{})
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != int64(pos) {
			t.Fatalf("bad byte at %d: got error %v", pos, err)
		}
		// What came before the error is a prefix of the right output.
		if !bytes.HasPrefix(src, got) {
			t.Fatalf("bad byte at %d: output is not a prefix of the data", pos)
		}
	}
}

// TestB64ReadSmall reads through Read with a small buffer.
func TestB64ReadSmall(t *testing.T) {
	src := []byte(strings.Repeat("all 256 byte values, and some more. ", 5000))
	enc := encodeB64(t, src, B64Options{CRLF: true})
	got, err := io.ReadAll(io.LimitReader(NewB64Reader(&oddReader{src: enc}, B64Options{}), 1<<30))
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("round trip via Read: %v", err)
	}
}

// TestB64WriteThenReadFrom mixes the two ways in.
func TestB64WriteThenReadFrom(t *testing.T) {
	src := make([]byte, 3*b64Block+100)
	for i := range src {
		src[i] = byte(i * 13)
	}
	for _, cut := range []int{1, 2, 100, b64Block - 1, b64Block + 2} {
		var buf bytes.Buffer
		w := NewB64Writer(&buf, B64Options{})
		w.Write(src[:cut])
		w.ReadFrom(bytes.NewReader(src[cut:]))
		w.Close()
		if buf.String() != stdWrapped(src, 76, "\n") {
			t.Fatalf("cut %d: output differs", cut)
		}
	}
}
