package mimeenc

import (
	"errors"
	"mime"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkWords checks RFC 2047 §2's limits on an encoded header value.
func checkWords(t testing.TB, enc string) {
	t.Helper()
	for _, line := range strings.Split(strings.ReplaceAll(enc, "\r\n", "\n"), "\n") {
		if len(line) > MaxLineLen {
			t.Fatalf("line of %d characters: %q", len(line), line)
		}
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "=?") && len(f) > MaxWordLen {
				t.Fatalf("encoded-word of %d characters: %q", len(f), f)
			}
		}
	}
}

func TestEncodeWordsTable(t *testing.T) {
	tests := []struct {
		in   string
		opt  WordOptions
		want string
	}{
		{"plain ASCII", WordOptions{Encoding: 'Q'}, "plain ASCII"},
		{"Café", WordOptions{Encoding: 'Q'}, "=?UTF-8?Q?Caf=C3=A9?="},
		{"Re: Café au lait", WordOptions{Encoding: 'Q'}, "Re: =?UTF-8?Q?Caf=C3=A9?= au lait"},
		{"Café crème", WordOptions{Encoding: 'Q'}, "=?UTF-8?Q?Caf=C3=A9_cr=C3=A8me?="},
		{"Café", WordOptions{Encoding: 'B'}, "=?UTF-8?B?Q2Fmw6k=?="},
		{"Café", WordOptions{Encoding: 'Q', Charset: "ISO-8859-1"}, "=?ISO-8859-1?Q?Caf=E9?="},
		{"Café", WordOptions{Encoding: 'Q', Field: "Subject"}, "Subject: =?UTF-8?Q?Caf=C3=A9?="},
		{"a_b=c?d é", WordOptions{Encoding: 'Q'}, "a_b=c?d =?UTF-8?Q?=C3=A9?="},
		{"=?x?Q?y?=", WordOptions{Encoding: 'Q'}, "=?UTF-8?Q?=3D=3Fx=3FQ=3Fy=3F=3D?="},
		{strings.Repeat("é", 30), WordOptions{Encoding: 'Q'},
			"=?UTF-8?Q?" + strings.Repeat("=C3=A9", 10) + "?=\n =?UTF-8?Q?" + strings.Repeat("=C3=A9", 10) +
				"?=\n =?UTF-8?Q?" + strings.Repeat("=C3=A9", 10) + "?="},
	}
	for _, tt := range tests {
		got, err := EncodeWords(tt.in, tt.opt)
		if err != nil || got != tt.want {
			t.Errorf("EncodeWords(%q, %+v) = %q, %v; want %q", tt.in, tt.opt, got, err, tt.want)
		}
		checkWords(t, got)
	}
}

func TestEncodeWordsErrors(t *testing.T) {
	for _, tt := range []struct {
		in  string
		opt WordOptions
	}{
		{"a\nb", WordOptions{Encoding: 'Q'}},
		{"bad \xff", WordOptions{Encoding: 'Q'}},
		{"漢字", WordOptions{Encoding: 'Q', Charset: "ISO-8859-1"}},
		{"x", WordOptions{Encoding: 'Q', Charset: "no-such-charset"}},
		{"x", WordOptions{Encoding: 'X'}},
	} {
		if got, err := EncodeWords(tt.in, tt.opt); err == nil {
			t.Errorf("EncodeWords(%q, %+v) = %q, want an error", tt.in, tt.opt, got)
		}
	}
}

func TestEncodeWordsNeverSplitsCharacters(t *testing.T) {
	for _, s := range []string{strings.Repeat("漢字かな", 40), strings.Repeat("a😀", 50), strings.Repeat("é ", 100)} {
		for _, e := range []byte{'Q', 'B'} {
			enc, err := EncodeWords(s, WordOptions{Encoding: e, Field: "Subject"})
			if err != nil {
				t.Fatal(err)
			}
			checkWords(t, enc)
			// Each word decodes to valid UTF-8 on its own.
			for _, f := range strings.Fields(enc) {
				if !strings.HasPrefix(f, "=?") {
					continue
				}
				d, err := new(mime.WordDecoder).Decode(f)
				if err != nil || !utf8.ValidString(d) {
					t.Fatalf("word %q: %q, %v", f, d, err)
				}
			}
			dec, err := DecodeWords(Unfold(enc), false)
			if err != nil || dec != "Subject: "+s {
				t.Fatalf("round trip of %q: %q, %v", s, dec, err)
			}
		}
	}
}

func TestDecodeWordsTable(t *testing.T) {
	tests := []struct {
		in, want string
		errCol   int64 // 0: no error
		lenient  string
	}{
		{"plain", "plain", 0, ""},
		{"=?UTF-8?Q?Caf=C3=A9?=", "Café", 0, ""},
		{"=?utf-8?q?caf=c3=a9?=", "café", 0, ""},
		{"=?ISO-8859-1?Q?Caf=E9?= au lait", "Café au lait", 0, ""},
		{"=?ISO-8859-1?B?Q2Fm6Q==?=", "Café", 0, ""},
		{"=?UTF-8?B?Q2Fmw6k?=", "Café", 0, ""}, // padding missing
		{"=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab", 0, ""},
		{"=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=", "ab", 0, ""},
		{"=?UTF-8?Q?a?= x =?UTF-8?Q?b?=", "a x b", 0, ""},
		{"=?UTF-8?Q?a_b?=", "a b", 0, ""},
		{"=?UTF-8?Q?=C3?= =?UTF-8?Q?=A9?=", "é", 0, ""}, // a character split across words
		{"=?UTF-8*fr?Q?=C3=A9?=", "é", 0, ""},           // RFC 2231 language
		{"=?windows-1252?Q?=80?=", "€", 0, ""},
		{"=?KOI8-R?B?8NLJ18XU?=", "Привет", 0, ""},
		{"=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=", 0, ""},
		{"a =?bogus?Q?x?= b", "", 3, "a =?bogus?Q?x?= b"},
		{"=?UTF-8?Q?=ZZ?=", "", 1, "=?UTF-8?Q?=ZZ?="},
		{"x=?UTF-8?B?!!!!?=", "", 2, "x=?UTF-8?B?!!!!?="},
	}
	for _, tt := range tests {
		got, err := DecodeWords(Unfold(tt.in), false)
		var se *SyntaxError
		switch {
		case tt.errCol == 0 && (err != nil || got != tt.want):
			t.Errorf("DecodeWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		case tt.errCol != 0 && (!errors.As(err, &se) || se.Column != tt.errCol):
			t.Errorf("DecodeWords(%q): error %v, want one at column %d", tt.in, err, tt.errCol)
		}
		if tt.errCol != 0 {
			got, err = DecodeWords(tt.in, true)
			if err != nil || got != tt.lenient {
				t.Errorf("lenient DecodeWords(%q) = %q, %v; want %q", tt.in, got, err, tt.lenient)
			}
		}
	}
}

func TestUnfold(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\n b":    "a b",
		"a\n\tb\nc":  "a\tb\nc",
		"a\n":        "a\n",
		"a\r\n\r\n ": "a\r\n ",
	} {
		if got := Unfold(in); got != want {
			t.Errorf("Unfold(%q) = %q, want %q", in, got, want)
		}
	}
}
