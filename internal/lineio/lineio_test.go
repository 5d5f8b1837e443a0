package lineio

import (
	"errors"
	"io"
	"strings"
	"testing"
)

type result struct {
	line string
	end  Ending
	err  error
}

func readAll(in string, max int) []result {
	r := NewReader(strings.NewReader(in), max)
	var out []result
	for {
		l, end, err := r.ReadLine()
		if errors.Is(err, io.EOF) {
			return out
		}
		out = append(out, result{string(l), end, err})
		if err != nil && !errors.Is(err, ErrTooLong) {
			return out
		}
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 10000)
	tests := []struct {
		name string
		in   string
		max  int
		want []result
	}{
		{"crlf", "HELO a\r\nQUIT\r\n", 512, []result{{"HELO a", CRLF, nil}, {"QUIT", CRLF, nil}}},
		{"bare lf", "HELO a\nQUIT\r\n", 512, []result{{"HELO a", LF, nil}, {"QUIT", CRLF, nil}}},
		{"bare cr stays in line", "A\rB\r\n", 512, []result{{"A\rB", CRLF, nil}}},
		{"unterminated", "QUIT", 512, []result{{"QUIT", EOF, nil}}},
		{"empty line", "\r\n", 512, []result{{"", CRLF, nil}}},
		{"exactly max", "abcd\r\n", 4, []result{{"abcd", CRLF, nil}}},
		{"one over max", "abcde\r\nok\r\n", 4, []result{{"", CRLF, ErrTooLong}, {"ok", CRLF, nil}}},
		{"far over max stays in sync", long + "\r\nNOOP\r\n", 512, []result{{"", CRLF, ErrTooLong}, {"NOOP", CRLF, nil}}},
		{"over max at eof", long, 512, []result{{"", CRLF, ErrTooLong}}},
	}
	for _, tt := range tests {
		got := readAll(tt.in, tt.max)
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %d lines %+v, want %+v", tt.name, len(got), got, tt.want)
			continue
		}
		for i := range got {
			if got[i].line != tt.want[i].line || got[i].end != tt.want[i].end || !errors.Is(got[i].err, tt.want[i].err) {
				t.Errorf("%s: line %d = %+v, want %+v", tt.name, i, got[i], tt.want[i])
			}
		}
	}
}

func TestBufferedAfterPipelining(t *testing.T) {
	r := NewReader(strings.NewReader("STARTTLS\r\nMAIL FROM:<evil>\r\n"), 512)
	if l, _, _ := r.ReadLine(); string(l) != "STARTTLS" {
		t.Fatal(string(l))
	}
	if r.Buffered() == 0 {
		t.Fatal("pipelined plaintext not visible as buffered")
	}
	r.Reset(strings.NewReader("EHLO x\r\n"))
	if l, _, _ := r.ReadLine(); string(l) != "EHLO x" {
		t.Fatalf("after Reset: %q", l)
	}
}

// FuzzReadLine checks the invariants: no line exceeds the bound or holds
// a LF, and the lines plus their terminators account for the input
// unless a line was dropped as too long.
func FuzzReadLine(f *testing.F) {
	for _, s := range []string{"", "a\r\n", "a\nb\r\n", "\r\r\n", strings.Repeat("y", 300) + "\n"} {
		f.Add(s, 16)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		if max < 1 || max > 1<<16 {
			return
		}
		r := NewReader(strings.NewReader(in), max)
		total, dropped := 0, false
		for i := 0; i <= len(in); i++ {
			l, end, err := r.ReadLine()
			if errors.Is(err, io.EOF) {
				break
			}
			if errors.Is(err, ErrTooLong) {
				dropped = true
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(l) > max || strings.Contains(string(l), "\n") {
				t.Fatalf("bad line %q (max %d)", l, max)
			}
			total += len(l) + [...]int{CRLF: 2, LF: 1, EOF: 0}[end]
		}
		if !dropped && total != len(in) {
			t.Fatalf("read %d of %d octets", total, len(in))
		}
	})
}
