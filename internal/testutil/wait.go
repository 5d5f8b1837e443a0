package testutil

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// WaitFiles polls dir until it holds at least n regular files and returns
// their paths, sorted. It fails the test if that has not happened within
// timeout, which should be generous (seconds, not milliseconds): it bounds
// a broken test, it is not a measure of speed. Use it instead of sleeping
// before looking at what a peer such as smtp-sink wrote.
func WaitFiles(t testing.TB, dir string, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		files, err := regularFiles(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if len(files) >= n {
			return files
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d files after %v, want %d: %q", dir, len(files), timeout, n, files)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func regularFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

// ExitCode returns the exit status carried by err from exec.Cmd's Run,
// Wait or Output: 0 for nil, the process's status for an *exec.ExitError
// (-1 if it was killed by a signal), and -1 for any other error, such as
// a program that could not be started.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
