package smtp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"mailtk/internal/lineio"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in, verb, arg string
		code          int
	}{
		{"EHLO bar.com", "EHLO", "bar.com", 0},
		{"ehlo bar.com", "EHLO", "bar.com", 0},
		{"MaIl FROM:<a@b>", "MAIL", "FROM:<a@b>", 0},
		{"QUIT", "QUIT", "", 0},
		{"RSET ", "RSET", "", 0},          // QUIRK: trailing space
		{"NOOP  x ", "NOOP", " x", 0},     // argument kept as sent, trailing space trimmed
		{"", "", "", 500},                 // empty line
		{" NOOP", "", "", 500},            // leading space
		{"NO\x00OP", "", "", 500},         // NUL
		{"NOOP\x1b[2J", "", "", 500},      // escape sequence
		{"MAIL\tFROM:<a@b>", "", "", 500}, // tab inside the verb
		{"AVERYVERYLONGVERBINDEED", "", "", 500},
		{"DA;TA", "", "", 500},
		{"VRFY \xff", "", "", 500}, // invalid UTF-8
		{"VRFY Ünïcode", "VRFY", "Ünïcode", 0},
	}
	for _, tt := range tests {
		c, err := ParseCommand([]byte(tt.in))
		if tt.code != 0 {
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Errorf("ParseCommand(%q) = %v, %v; want %d", tt.in, c, err, tt.code)
			}
			continue
		}
		if err != nil || c.Verb != tt.verb || c.Arg != tt.arg {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %s %q", tt.in, c, err, tt.verb, tt.arg)
		}
	}
}

func TestParsePathArg(t *testing.T) {
	tests := []struct {
		arg, kw string
		addr    string // Addr() of the result
		route   string
		params  string // "K=V K2" rendering
		code    int
	}{
		{"FROM:<Smith@bar.com>", "FROM", "Smith@bar.com", "", "", 0},
		{"from:<Smith@bar.com>", "FROM", "Smith@bar.com", "", "", 0},
		{"FROM: <Smith@bar.com>", "FROM", "Smith@bar.com", "", "", 0}, // QUIRK: space after colon
		{"FROM:<>", "FROM", "", "", "", 0},
		{"FROM:<> SIZE=100 BODY=8BITMIME", "FROM", "", "", "SIZE=100 BODY=8BITMIME", 0},
		{"TO:Brown@foo.com", "TO", "Brown@foo.com", "", "", 0}, // QUIRK: no brackets
		{"TO:Brown@foo.com NOTIFY=NEVER", "TO", "Brown@foo.com", "", "NOTIFY=NEVER", 0},
		{"TO:<@foo.com:Jones@XYZ.COM>", "TO", "Jones@XYZ.COM", "foo.com", "", 0},
		{"TO:<@a.org,@b.org:x@c.org>", "TO", "x@c.org", "a.org,b.org", "", 0},
		{"FROM:<@foo.com:JQP@bar.com>", "FROM", "JQP@bar.com", "foo.com", "", 0},
		{"TO:<Postmaster>", "TO", "Postmaster", "", "", 0},
		{"TO:<postmaster>", "TO", "postmaster", "", "", 0},
		{`TO:<"john doe"@foo.com>`, "TO", `"john doe"@foo.com`, "", "", 0},
		{`TO:<"a\"b"@foo.com>`, "TO", `"a\"b"@foo.com`, "", "", 0},
		{`TO:<"x>y"@foo.com>`, "TO", `"x>y"@foo.com`, "", "", 0},
		{"TO:<x@[192.0.2.1]>", "TO", "x@[192.0.2.1]", "", "", 0},
		{"TO:<x@[IPv6:2001:db8::1]>", "TO", "x@[IPv6:2001:db8::1]", "", "", 0},
		{"TO:<x@foo.com.>", "TO", "x@foo.com", "", "", 0}, // QUIRK: trailing dot
		{"TO:<user%remote.org@foo.com>", "TO", "user%remote.org@foo.com", "", "", 0},
		{"TO:<remote.org!user@foo.com>", "TO", "remote.org!user@foo.com", "", "", 0},
		{"TO:<jöhn@exämple.org>", "TO", "jöhn@exämple.org", "", "", 0},
		{"TO:<a.b.c@d-e.f_g>", "TO", "a.b.c@d-e.f_g", "", "", 0},
		// errors
		{"FROM<a@b.c>", "FROM", "", "", "", 501},
		{"TO:<a@b.c>", "FROM", "", "", "", 501},
		{"FROM:<a@b.c", "FROM", "", "", "", 501},
		{"FROM:<a@b.c>x", "FROM", "", "", "", 501},
		{"FROM:", "FROM", "", "", "", 501},
		{"TO:<jones>", "TO", "", "", "", 501}, // no domain, not postmaster
		{"TO:<a..b@c.d>", "TO", "", "", "", 501},
		{"TO:<.a@c.d>", "TO", "", "", "", 501},
		{"TO:<a@>", "TO", "", "", "", 501},
		{"TO:<a@b..c>", "TO", "", "", "", 501},
		{"TO:<a@-b.c>", "TO", "", "", "", 501},
		{"TO:<a@b.c..>", "TO", "", "", "", 501},
		{"TO:<a@[300.1.1.1]>", "TO", "", "", "", 501},
		{"TO:<a@[1.2.3.4>", "TO", "", "", "", 501},
		{"TO:<a b@c.d>", "TO", "", "", "", 501},
		{"TO:<a@b@c.d>", "TO", "", "", "", 501},
		{`TO:<"unterminated@c.d>`, "TO", "", "", "", 501},
		{"TO:<@foo.com,Jones@XYZ.COM>", "TO", "", "", "", 501},
		{"TO:<@:Jones@XYZ.COM>", "TO", "", "", "", 501},
		{"TO:<" + strings.Repeat("a", 65) + "@b.c>", "TO", "", "", "", 501},
		{"TO:<a@" + strings.Repeat("b", 64) + ".c>", "TO", "", "", "", 501},
		{"TO:<a@" + strings.Repeat("bbbbbbbbb.", 26) + "c>", "TO", "", "", "", 501},
		{"FROM:<a@b.c> =x", "FROM", "", "", "", 501},
		{"FROM:<a@b.c> X=", "FROM", "", "", "", 501},
		{"FROM:<a@b.c> X=a=b", "FROM", "", "", "", 501},
	}
	for _, tt := range tests {
		p, ps, err := ParsePathArg(tt.arg, tt.kw)
		if tt.code != 0 {
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Errorf("ParsePathArg(%q) = %+v, %v; want %d", tt.arg, p, err, tt.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePathArg(%q): %v", tt.arg, err)
			continue
		}
		var pr []string
		for _, x := range ps {
			if x.Value != "" {
				pr = append(pr, x.Key+"="+x.Value)
			} else {
				pr = append(pr, x.Key)
			}
		}
		if p.Addr() != tt.addr || strings.Join(p.Route, ",") != tt.route || strings.Join(pr, " ") != tt.params {
			t.Errorf("ParsePathArg(%q) = %q route %q params %q; want %q %q %q", tt.arg, p.Addr(), p.Route, pr, tt.addr, tt.route, tt.params)
		}
	}
}

func TestMailParams(t *testing.T) {
	good := []string{"SIZE=0", "BODY=7bit", "BODY=8BITMIME", "SMTPUTF8", "RET=FULL", "ENVID=abc+2B", "AUTH=<>"}
	for _, g := range good {
		k, v, _ := strings.Cut(g, "=")
		if _, err := ParseMailParams([]Param{{Key: k, Value: v}}); err != nil {
			t.Errorf("%s: %v", g, err)
		}
	}
	bad := []string{"SIZE=-1", "SIZE=x", "BODY=BINARYMIME", "RET=ALL", "ENVID=a+zz", "SMTPUTF8=1", "XFOO=1"}
	for _, b := range bad {
		k, v, _ := strings.Cut(b, "=")
		if _, err := ParseMailParams([]Param{{Key: k, Value: v}}); err == nil {
			t.Errorf("%s accepted", b)
		}
	}
	if _, err := ParseMailParams([]Param{{Key: "SIZE", Value: "1"}, {Key: "SIZE", Value: "2"}}); err == nil {
		t.Error("duplicate SIZE accepted")
	}
}

func TestReplyFormat(t *testing.T) {
	tests := []struct {
		r    Reply
		want string
	}{
		{R(250, "2.0.0", "OK"), "250 2.0.0 OK\r\n"},
		{R(220, "", "foo.com ready"), "220 foo.com ready\r\n"},
		{R(334, ""), "334 \r\n"},
		{Reply{Code: 250, Lines: []string{"a", "b", "c"}}, "250-a\r\n250-b\r\n250 c\r\n"},
		{Reply{Code: 553, Enhanced: "5.1.4", Lines: []string{"x", "y"}}, "553-5.1.4 x\r\n553 5.1.4 y\r\n"},
		{R(550, "5.1.1", "evil\r\n250 injected"), "550 5.1.1 evil??250 injected\r\n"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.r, got, tt.want)
		}
	}
}

// readData runs a DataReader over raw and returns what it produced, its
// error and what is left for the command reader.
func readData(raw string, max int64) (string, error, string) {
	lr := lineio.NewReader(strings.NewReader(raw), DataLineMax)
	d := NewDataReader(lr, max, 0, []string{"rcpt@foo.com"})
	out, err := io.ReadAll(d)
	if d.Drain() != nil && err == nil {
		err = io.ErrUnexpectedEOF
	}
	rest, _ := io.ReadAll(lr)
	return string(out), err, string(rest)
}

func TestDataReader(t *testing.T) {
	tests := []struct {
		raw, want, rest string
		err             error
	}{
		{"a\r\nb\r\n.\r\nQUIT\r\n", "a\nb\n", "QUIT\r\n", nil},
		{".\r\n", "", "", nil},
		{"..\r\n.\r\n", ".\n", "", nil},
		{"...x\r\n.\r\n", "..x\n", "", nil},
		{".x\r\n.\r\n", "x\n", "", nil},
		{"\r\n\r\n.\r\n", "\n\n", "", nil},
		{"a\nb\r\n.\r\nNOOP\r\n", "", "NOOP\r\n", ErrBareLF},
		{"a\n.\r\nMAIL\r\n.\r\nNOOP\r\n", "", "NOOP\r\n", ErrBareLF}, // the smuggling case
		{"a\r\n.\nMAIL\r\n.\r\nNOOP\r\n", "", "NOOP\r\n", ErrBareLF},
		{"a\r.\r\nMAIL\r\n.\r\nNOOP\r\n", "", "NOOP\r\n", ErrBareCR},
		{"a\r\n.\r", "", "", io.ErrUnexpectedEOF},
		{"a\r\n", "", "", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		got, err, rest := readData(tt.raw, 0)
		if !errors.Is(err, tt.err) && !(tt.err == io.ErrUnexpectedEOF && err != nil) {
			t.Errorf("%q: err %v, want %v", tt.raw, err, tt.err)
		}
		if tt.err == nil && got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.raw, got, tt.want)
		}
		if rest != tt.rest {
			t.Errorf("%q: rest %q, want %q", tt.raw, rest, tt.rest)
		}
	}
	// size limit: counted on the wire, drained to the end
	_, err, rest := readData(strings.Repeat("12345678\r\n", 100)+".\r\nQUIT\r\n", 500)
	if !errors.Is(err, ErrTooBig) || rest != "QUIT\r\n" {
		t.Errorf("size: %v %q", err, rest)
	}
	_, err, _ = readData(strings.Repeat("12345678\r\n", 50)+".\r\n", 500)
	if err != nil {
		t.Errorf("exactly the limit refused: %v", err)
	}
}

// FuzzParseCommand: the parser never panics, a parsed verb is upper-case
// letters, digits or '-', and no parsed part holds a control character.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"EHLO bar.com", "MAIL FROM:<a@b>", "", "QUIT ", "x\x00y", "VRFY Ünï", "RCPT TO:<@a:b@c> NOTIFY=NEVER"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := ParseCommand(line)
		if err != nil {
			return
		}
		if c.Verb != strings.ToUpper(c.Verb) || c.Verb == "" {
			t.Fatalf("verb %q", c.Verb)
		}
		for _, r := range c.Verb + c.Arg {
			if r < ' ' && r != '\t' || r == 0x7f {
				t.Fatalf("control character in %+v", c)
			}
		}
		if !utf8.ValidString(c.Arg) {
			t.Fatalf("invalid UTF-8 in %q", c.Arg)
		}
	})
}

// FuzzParsePath: parse∘format is the identity on the mailbox: a parsed
// path, rendered with Addr and parsed again, gives the same local part and
// domain; and no rendered address holds a control character or '>'
// outside quotes (it could not break out of a header or a reply).
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"FROM:<a@b.c>", "TO:<@foo.com:Jones@XYZ.COM>", `TO:<"a b\"c"@d.e>`, "TO:Brown@foo.com", "TO:<Postmaster>",
		"TO:<x@[IPv6:::1]>", "FROM:<> SIZE=1", "TO:<x@foo.com.>", "TO:<jöhn@exämple.org>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		kw := "TO"
		if strings.HasPrefix(strings.ToUpper(arg), "FROM") {
			kw = "FROM"
		}
		p, _, err := ParsePathArg(arg, kw)
		if err != nil {
			return
		}
		if p.Null {
			return
		}
		a := p.Addr()
		for _, r := range a {
			if r < ' ' || r == 0x7f {
				t.Fatalf("control character in %q", a)
			}
		}
		q, err := ParsePath(a)
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", a, arg, err)
		}
		if q.Local != p.Local || q.Domain != p.Domain {
			t.Fatalf("round trip %q -> %+v -> %+v", arg, p, q)
		}
	})
}

// FuzzDataReader: the reader never panics; what it returns for a valid
// message, dot-stuffed again and sent with CRLF, reads back identically
// (unstuff∘stuff is the identity); and whatever the input, the reader
// never consumes past the first CRLF.CRLF that follows a CRLF-ended line.
func FuzzDataReader(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "..\r\n.\r\n", "a\n.\r\n", "a\r.\r\n", "x\r\n.\n.\r\n", "Received: x\r\n\r\nb\r\n.\r\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		raw = append(raw, "\r\n.\r\nQUIT\r\n"...)
		got, err, rest := readData(string(raw), 1<<20)
		if err != nil {
			if !strings.HasSuffix(rest, "QUIT\r\n") && !errors.Is(err, ErrLineTooLong) {
				t.Fatalf("lost sync after %v: rest %q", err, rest)
			}
			return
		}
		if !strings.HasSuffix(rest, "QUIT\r\n") {
			t.Fatalf("rest %q", rest)
		}
		var stuffed bytes.Buffer
		for _, l := range strings.SplitAfter(got, "\n") {
			if l == "" {
				continue
			}
			if strings.HasPrefix(l, ".") {
				stuffed.WriteByte('.')
			}
			stuffed.WriteString(strings.TrimSuffix(l, "\n") + "\r\n")
		}
		stuffed.WriteString(".\r\n")
		again, err, _ := readData(stuffed.String(), 1<<20)
		if err != nil || again != got {
			t.Fatalf("round trip: %q -> %q -> %q (%v)", raw, got, again, err)
		}
	})
}
