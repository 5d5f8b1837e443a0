package testutil

import (
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

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

func TestWaitFiles(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "sub"), 0o755) // directories do not count
	go func() {
		for _, n := range []string{"b", "a"} {
			time.Sleep(10 * time.Millisecond)
			os.WriteFile(filepath.Join(dir, n), nil, 0o644)
		}
	}()
	got := WaitFiles(t, dir, 2, 10*time.Second)
	if want := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}; !slices.Equal(got, want) {
		t.Errorf("WaitFiles = %q, want %q", got, want)
	}
}

func TestExitCode(t *testing.T) {
	if c := ExitCode(nil); c != 0 {
		t.Errorf("nil: %d", c)
	}
	if c := ExitCode(exec.Command("sh", "-c", "exit 75").Run()); c != 75 {
		t.Errorf("exit 75: %d", c)
	}
	if c := ExitCode(exec.Command(filepath.Join(t.TempDir(), "missing")).Run()); c != -1 {
		t.Errorf("missing program: %d", c)
	}
}

func TestTLSCert(t *testing.T) {
	certFile, keyFile := TLSCert(t, t.TempDir())
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := pair.Leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if err := pair.Leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
}
