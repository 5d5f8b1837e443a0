package filter_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime/quotedprintable"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

// TestOutputClosedInputIdle runs each program with an input pipe that
// delivers some data and then stays open and silent, and an output pipe
// whose reader goes away after the first bytes. The program must give up
// on the write error and exit non-zero, not wait for the input.
func TestOutputClosedInputIdle(t *testing.T) {
	// About one and a half of each codec's rounds, so that the
	// program has output to write while it waits for more input.
	line := []byte("Now's the time for all good folk, café = naïve.\n")
	text := bytes.Repeat(line, 600000/len(line))
	short := text[:200000]
	var qp bytes.Buffer
	qw := quotedprintable.NewWriter(&qp)
	qw.Write(short)
	qw.Close()
	b64 := []byte(base64.StdEncoding.EncodeToString(text))
	cases := []struct {
		prog  string
		args  []string
		input []byte
	}{
		{"b64mime", nil, text},
		{"b64mime", []string{"-d"}, b64},
		{"qpenc", nil, short},
		{"qpenc", []string{"-d"}, qp.Bytes()},
	}
	for _, tc := range cases {
		for _, viaFile := range []bool{false, true} {
			name := tc.prog + strings.Join(tc.args, "") + map[bool]string{false: " stdout", true: " -o"}[viaFile]
			t.Run(name, func(t *testing.T) {
				runClosedOutput(t, testutil.Binary(t, tc.prog), tc.args, tc.input, viaFile)
			})
		}
	}
}

// runClosedOutput is one case of TestOutputClosedInputIdle. With
// viaFile the output pipe is -o /dev/fd/3, where a write error is
// returned rather than raising SIGPIPE as on standard output.
func runClosedOutput(t *testing.T, bin string, args []string, input []byte, viaFile bool) {
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inW.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin = inR
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if viaFile {
		cmd.Args = append(cmd.Args, "-o", "/dev/fd/3")
		cmd.ExtraFiles = []*os.File{outW}
	} else {
		cmd.Stdout = outW
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	// Feed the input and keep the pipe open: the program sees no EOF.
	go inW.Write(input)
	if _, err := io.ReadFull(outR, make([]byte, 100)); err != nil {
		t.Fatalf("reading the first output: %v\n%s", err, stderr.Bytes())
	}
	outR.Close()

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute): // a hang, not a speed limit
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running with its output closed\n%s", stderr.Bytes())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("exit: %v, want a failure\n%s", err, stderr.Bytes())
	}
	if viaFile && ee.ExitCode() != 74 {
		t.Errorf("exit status %d, want 74\n%s", ee.ExitCode(), stderr.Bytes())
	}
}
