package testutil

import "testing"

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"250 OK", "250 OK", true},
		{"250 OK", "250 2.0.0 OK", false},
		{"250 *OK", "250 2.0.0 OK", true},
		{"220 * ESMTP*", "220 mx.example.org ESMTP ready", true},
		{"*", "", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"a*a", "a", false},
	}
	for _, tt := range tests {
		if got := Glob(tt.pat, tt.s); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v", tt.pat, tt.s, got)
		}
	}
}

func TestParseTranscript(t *testing.T) {
	steps := ParseTranscript("S: 220 hi\nC: EHLO x\r\n# comment\nC:\nS: 250 *\n")
	if len(steps) != 4 || !steps[1].Client || steps[1].Text != "EHLO x" || steps[2].Text != "" || steps[3].Line != 5 {
		t.Fatalf("%+v", steps)
	}
}
