package mimeenc

import (
	"bytes"
	stdbase64 "encoding/base64"
	"errors"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seeds live in testdata/fuzz/FuzzXxx/; run one with
// go test -fuzz FuzzB64RoundTrip -fuzztime 30s ./internal/mimeenc/

// FuzzB64RoundTrip: decode∘encode = identity for every wrap width and
// codec, output identical to encoding/base64 cut into lines, lines no
// longer than the wrap width.
func FuzzB64RoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, wrap uint8, crlf bool) {
		w := int(wrap) - 1 // -1: no line breaks
		if w == 0 {
			w = 76
		}
		eol := "\n"
		if crlf {
			eol = "\r\n"
		}
		var simd []byte
		for _, portable := range []bool{false, true} {
			opt := B64Options{Wrap: w, CRLF: crlf, Portable: portable}
			enc := encodeB64(t, data, opt)
			if string(enc) != stdWrapped(data, w, eol) {
				t.Fatalf("encoding differs from encoding/base64 (wrap %d)", w)
			}
			if simd != nil && !bytes.Equal(simd, enc) {
				t.Fatal("SIMD and portable encodings differ")
			}
			simd = enc
			for _, l := range strings.Split(string(enc), eol) {
				if w > 0 && len(l) > w {
					t.Fatalf("line of %d > %d characters", len(l), w)
				}
			}
			dec, err := decodeB64(enc, opt)
			if err != nil || !bytes.Equal(dec, data) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}

// FuzzB64Decode: on any input the strict decoder agrees with
// encoding/base64 (after removing white space), SIMD and portable paths
// agree, and lenient decoding never fails.
func FuzzB64Decode(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		stripped := bytes.Map(func(r rune) rune {
			if strings.ContainsRune(" \t\r\n\f\v", r) {
				return -1
			}
			return r
		}, in)
		want, wantErr := stdbase64.StdEncoding.DecodeString(string(stripped))
		if !utf8.Valid(in) {
			// bytes.Map replaced invalid UTF-8: compare raw bytes instead.
			want, wantErr = nil, nil
		}
		var got [2][]byte
		var errs [2]error
		for i, portable := range []bool{false, true} {
			got[i], errs[i] = decodeB64(in, B64Options{Portable: portable})
			if errs[i] != nil && !errors.As(errs[i], new(*SyntaxError)) {
				t.Fatalf("error of the wrong type: %v", errs[i])
			}
		}
		if se := (*SyntaxError)(nil); errors.As(errs[0], &se) {
			if se.Offset < 0 || se.Offset > int64(len(in)) ||
				se.Offset < int64(len(in)) && b64Class[in[se.Offset]] == b64Space {
				t.Fatalf("error %v points at white space or outside the input", se)
			}
		}
		if !bytes.Equal(got[0], got[1]) || (errs[0] == nil) != (errs[1] == nil) {
			t.Fatalf("SIMD %q, %v; portable %q, %v", got[0], errs[0], got[1], errs[1])
		}
		if utf8.Valid(in) {
			if (wantErr == nil) != (errs[0] == nil) {
				t.Fatalf("encoding/base64 says %v, we say %v", wantErr, errs[0])
			}
			if wantErr == nil && !bytes.Equal(want, got[0]) {
				t.Fatalf("encoding/base64 decodes to %q, we to %q", want, got[0])
			}
		}
		if _, err := decodeB64(in, B64Options{Lenient: true}); err != nil {
			t.Fatalf("lenient decoding failed: %v", err)
		}
	})
}

// FuzzQPRoundTrip: decode∘encode = identity in binary mode and in text
// mode (line breaks normalised to LF), encoded lines at most 76
// characters and never ending in white space, and encoding/quotedprintable
// reads our output the same.
func FuzzQPRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, crlf bool) {
		enc := encodeQP(t, data, QPOptions{Binary: true, CRLF: crlf})
		checkQPLines(t, enc)
		if got, err := decodeQP(enc, QPOptions{}); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("binary round trip: %q, %v", got, err)
		}
		std, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(enc)))
		if err != nil || !bytes.Equal(std, data) {
			t.Fatalf("encoding/quotedprintable reads %q, %v", std, err)
		}
		enc = encodeQP(t, data, QPOptions{CRLF: crlf})
		checkQPLines(t, enc)
		want := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		if got, err := decodeQP(enc, QPOptions{}); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("text round trip: %q, %v", got, err)
		}
		// Our decoder reads encoding/quotedprintable's binary output.
		var buf bytes.Buffer
		sw := quotedprintable.NewWriter(&buf)
		sw.Binary = true
		sw.Write(data)
		sw.Close()
		if got, err := decodeQP(buf.Bytes(), QPOptions{}); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("decoding encoding/quotedprintable's output: %q, %v", got, err)
		}
	})
}

// FuzzQPDecode: on any input, no panic; the error is a *SyntaxError
// with a position; what strict decoding accepts, lenient decoding and
// encoding/quotedprintable decode the same (modulo its CR LF).
func FuzzQPDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := decodeQP(in, QPOptions{})
		var se *SyntaxError
		if err != nil && (!errors.As(err, &se) || se.Line < 1 || se.Column < 1) {
			t.Fatalf("bad error: %v", err)
		}
		lgot, lerr := decodeQP(in, QPOptions{Lenient: true})
		if lerr != nil {
			t.Fatalf("lenient decoding failed: %v", lerr)
		}
		if err != nil {
			// The position names the '=' or the byte at fault.
			idx, line := 0, int64(1)
			for ; line < se.Line && idx < len(in); idx++ {
				if in[idx] == '\n' {
					line++
				}
			}
			idx += int(se.Column) - 1
			if idx >= len(in) {
				t.Fatalf("error %v points past the input", err)
			}
			if c := in[idx]; c == ' ' || (c > ' ' && c < 0x7f && c != '=') {
				t.Fatalf("error %v points at %q", err, c)
			}
			if !bytes.HasPrefix(lgot, got) {
				t.Fatalf("strict output %q before the error is not a prefix of lenient %q", got, lgot)
			}
			return
		}
		if !bytes.Equal(got, lgot) {
			t.Fatalf("strict %q, lenient %q", got, lgot)
		}
		std, serr := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(in)))
		if serr == nil && !bytes.Equal(bytes.ReplaceAll(std, []byte("\r\n"), []byte("\n")), got) {
			t.Fatalf("encoding/quotedprintable %q, we %q", std, got)
		}
	})
}

// FuzzWords: decode∘encode = identity for header values, words at most
// 75 characters, lines at most 76.
func FuzzWords(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string, b bool, field bool) {
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n") {
			return
		}
		opt := WordOptions{Encoding: 'Q'}
		if b {
			opt.Encoding = 'B'
		}
		want := s
		if field {
			opt.Field = "Subject"
			want = "Subject: " + s
		}
		enc, err := EncodeWords(s, opt)
		if err != nil {
			t.Fatal(err)
		}
		checkWords(t, enc)
		dec, err := DecodeWords(Unfold(enc), false)
		if err != nil || dec != want {
			t.Fatalf("round trip: %q -> %q -> %q, %v", s, enc, dec, err)
		}
	})
}

// FuzzDecodeWords: any text decodes without panic; lenient never fails.
func FuzzDecodeWords(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := DecodeWords(s, false); err != nil && !errors.As(err, new(*SyntaxError)) {
			t.Fatalf("bad error: %v", err)
		}
		if _, err := DecodeWords(s, true); err != nil {
			t.Fatalf("lenient: %v", err)
		}
	})
}
