package testutil

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// Step is one line of a transcript: a line the client sends ("C: ...")
// or a line the server is expected to send ("S: ...").
type Step struct {
	Client bool
	Text   string
	Line   int // line number in the transcript, for error messages
}

// ParseTranscript reads a dialogue in the notation of RFC 5321 and the
// seed course: "C: " lines are sent by the client, "S: " lines are
// expected from the server. Other lines (comments, blank lines) are
// ignored, except that a line "C:" alone sends an empty line. Expected
// server lines are patterns: '*' matches any run of characters, and
// everything else must match exactly.
func ParseTranscript(text string) []Step {
	var steps []Step
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case line == "C:":
			steps = append(steps, Step{Client: true, Text: "", Line: i + 1})
		case strings.HasPrefix(line, "C: "):
			steps = append(steps, Step{Client: true, Text: line[3:], Line: i + 1})
		case line == "S:":
			steps = append(steps, Step{Text: "", Line: i + 1})
		case strings.HasPrefix(line, "S: "):
			steps = append(steps, Step{Text: line[3:], Line: i + 1})
		}
	}
	return steps
}

// RunTranscript plays steps against a server reached through r (what the
// server writes) and w (what the client sends). Client lines are written
// with CRLF as soon as they come; consecutive client lines are sent
// together, as a pipelining client would. Each expected line gets timeout
// to arrive. It fails the test at the first mismatch, naming the line.
func RunTranscript(t testing.TB, steps []Step, r io.Reader, w io.Writer, timeout time.Duration) {
	t.Helper()
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		br := bufio.NewReader(r)
		for {
			l, err := br.ReadString('\n')
			if l != "" {
				lines <- strings.TrimRight(l, "\r\n")
			}
			if err != nil {
				errc <- err
				close(lines)
				return
			}
		}
	}()
	for _, s := range steps {
		if s.Client {
			if _, err := io.WriteString(w, s.Text+"\r\n"); err != nil {
				t.Fatalf("transcript line %d: sending %q: %v", s.Line, s.Text, err)
			}
			continue
		}
		select {
		case got, ok := <-lines:
			if !ok {
				t.Fatalf("transcript line %d: connection closed (%v), want %q", s.Line, <-errc, s.Text)
			}
			if !Glob(s.Text, got) {
				t.Fatalf("transcript line %d:\n got  %q\n want %q", s.Line, got, s.Text)
			}
		case <-time.After(timeout):
			t.Fatalf("transcript line %d: no reply within %v, want %q", s.Line, timeout, s.Text)
		}
	}
}

// RunTranscriptFile is RunTranscript on the steps of a file.
func RunTranscriptFile(t testing.TB, path string, r io.Reader, w io.Writer) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	RunTranscript(t, ParseTranscript(string(b)), r, w, 10*time.Second)
}

// Glob reports whether s matches pattern, where '*' matches any run of
// characters (including none) and every other character matches itself.
func Glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// String renders steps back into transcript notation (for golden files).
func String(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		who := "S"
		if s.Client {
			who = "C"
		}
		fmt.Fprintf(&b, "%s: %s\n", who, s.Text)
	}
	return b.String()
}
