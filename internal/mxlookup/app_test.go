package mxlookup_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailtk/internal/mx/mxtest"
	"mailtk/internal/testutil"
)

// run execs the built mxlookup with args and stdin, and returns stdout,
// stderr and the exit status.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "mxlookup"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := testutil.ExitCode(err)
	if code < 0 {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestTextOutputAndExitStatus(t *testing.T) {
	srv := mxtest.Start(t)
	s := "--server=" + srv.Addr
	for _, c := range []struct {
		args   []string
		stdout string
		stderr string // substring
		code   int
	}{
		{[]string{s, "--sorted", "example.test"},
			"example.test 10 mx1.example.test 127.0.0.1 ::1\nexample.test 20 mx2.example.test 127.0.0.2\n", "", 0},
		{[]string{"--sorted", "@" + srv.Addr, "nomx.example.test", "bücher.example.test"},
			"nomx.example.test 0 nomx.example.test 127.0.0.3\nxn--bcher-kva.example.test 10 mx2.example.test 127.0.0.2\n", "", 0},
		{[]string{s, "--no-addrs", "example.test"},
			"example.test 10 mx1.example.test\nexample.test 20 mx2.example.test\n", "", 0},
		{[]string{s, "--tlsa", "dane.example.test"},
			"dane.example.test 10 mx1.example.test 127.0.0.1 ::1\ndane.example.test tlsa mx1.example.test 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", "", 0},
		{[]string{s, "cnamemx.example.test"},
			"cnamemx.example.test 10 alias.example.test 127.0.0.1 ::1\n", "alias.example.test: warning: MX target is a CNAME", 0},
		{[]string{s, "nullmx.example.test"}, "nullmx.example.test nullmx\n", "null MX, RFC 7505", 69},
		{[]string{s, "missing.example.test"}, "missing.example.test nxdomain\n", "NXDOMAIN", 69},
		{[]string{s, "txtonly.example.test"}, "txtonly.example.test nodata\n", "no MX and no address", 69},
		{[]string{s, "dangling.example.test"}, "dangling.example.test noaddress\n", "has no A or AAAA", 69},
		{[]string{s, "servfail.example.test"}, "servfail.example.test tempfail\n", "SERVFAIL from 127.0.0.1", 75},
		{[]string{s, "-q", "refused.example.test"}, "refused.example.test tempfail\n", "", 75},
		{[]string{s, "a b..c"}, "a?b..c invalid\n", "invalid domain", 65},
		{[]string{s, "missing.example.test", "a..b", "example.test", "--"}, "", "", 64},
		{[]string{s, "missing.example.test", "a..b", "--sorted", "example.test"}, "", "options come first", 64},
		{[]string{s, "-q", "missing.example.test", "a..b", "example.test"}, "", "", 65},
		{[]string{s, "-q", "missing.example.test", "servfail.example.test", "a..b"}, "", "", 75},
		{[]string{"--server", "dns.example", "example.test"}, "", "not an IP address", 64},
		{[]string{s, "--jobs", "0", "example.test"}, "", "--jobs", 64},
		{[]string{s, "--bogus"}, "", "bogus", 64},
		{[]string{"--resolv-conf", "/nonexistent/resolv.conf", "example.test"}, "", "nonexistent", 78},
	} {
		t.Run(strings.Join(c.args[1:], " "), func(t *testing.T) {
			stdout, stderr, code := run(t, "", c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, stdout, stderr)
			}
			if c.stdout != "" && stdout != c.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, c.stdout)
			}
			if c.stderr != "" && !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q does not mention %q", stderr, c.stderr)
			}
			if c.stderr == "" && c.code == 0 && stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
		})
	}
}

func TestBulkFromStdin(t *testing.T) {
	srv := mxtest.Start(t)
	names := []string{"example.test", "nullmx.example.test", "missing.example.test", "nomx.example.test",
		"spoof.example.test", "tc.example.test", "servfail.example.test", "equal.example.test"}
	var in strings.Builder
	var want []string
	for i := range 300 {
		n := names[i%len(names)]
		if i%50 == 0 {
			in.WriteString("# a comment\n\n")
		}
		in.WriteString(n + "\r\n")
		want = append(want, n)
	}
	stdout, stderr, code := run(t, in.String(), "--server", srv.Addr, "-j", "7", "--json", "--sorted")
	if code != 75 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var r struct {
			Domain, Status, Error string
			Hosts                 []struct {
				Name  string
				Pref  int
				Addrs []string
			}
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got = append(got, r.Domain)
		if r.Domain == "example.test" && (r.Status != "ok" || len(r.Hosts) != 2 || r.Hosts[0].Addrs[1] != "::1") {
			t.Errorf("example.test: %s", l)
		}
		if r.Domain == "servfail.example.test" && (r.Status != "tempfail" || !strings.Contains(r.Error, "SERVFAIL")) {
			t.Errorf("servfail: %s", l)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("output order differs from input order:\n%v", got)
	}
}

func TestConfigFile(t *testing.T) {
	srv := mxtest.Start(t)
	conf := filepath.Join(t.TempDir(), "mxlookup.conf")
	os.WriteFile(conf, fmt.Appendf(nil, "server = %s\nsorted = true\nno-addrs = true\n", srv.Addr), 0o644)
	stdout, stderr, code := run(t, "", "--config", conf, "example.test")
	if code != 0 || stdout != "example.test 10 mx1.example.test\nexample.test 20 mx2.example.test\n" {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestAgainstDig runs the binary against a real nsd and checks its text
// output against dig's answers for the same names.
func TestAgainstDig(t *testing.T) {
	server := mxtest.StartNSD(t)
	for _, name := range []string{"example.test", "equal.example.test", "nullmixed.example.test", "cnamemx.example.test", "many.example.test"} {
		stdout, stderr, code := run(t, "", "--server", server, "--sorted", "--no-addrs", "-q", "--max-time", "30s", name)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		_, lines := mxtest.Dig(t, server, name, "MX")
		var want []string
		for _, l := range lines {
			f := strings.Fields(l)
			if f[3] == "MX" && f[5] != "." {
				want = append(want, fmt.Sprintf("%s %s %s", name, f[4], strings.TrimSuffix(f[5], ".")))
			}
		}
		slices.Sort(want)
		if len(want) > 32 {
			want = want[:32]
		}
		got := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if !slices.Equal(got, want) {
			t.Errorf("%s:\nmxlookup %q\ndig      %q", name, got, want)
		}
	}
	// nsd, like any server, ends the run with the right status words.
	stdout, _, code := run(t, "", "--server", server, "-q", "nullmx.example.test", "missing.example.test", "txtonly.example.test")
	if code != 69 || stdout != "nullmx.example.test nullmx\nmissing.example.test nxdomain\ntxtonly.example.test nodata\n" {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
}

func TestHelpDocumentsExitStatus(t *testing.T) {
	stdout, _, code := run(t, "", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{"Exit status", "69", "75", "65", "64", "78", "--server", "--jobs", "--tlsa", "--json", "--no-addrs", "--sorted", "--retries", "--timeout"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("--help does not mention %s", w)
		}
	}
}

// TestManPageMatchesHelp checks that mxlookup(1) documents every option
// --help lists, and the same exit statuses.
func TestManPageMatchesHelp(t *testing.T) {
	man, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "docs", "man", "mxlookup.1.md"))
	if err != nil {
		t.Fatal(err)
	}
	help, _, _ := run(t, "", "--help")
	for _, f := range strings.Fields(help) {
		f = strings.TrimRight(f, ",.;:)")
		if strings.HasPrefix(f, "--") && len(f) > 2 && !strings.Contains(string(man), "`"+f) {
			t.Errorf("man page does not document %s", f)
		}
	}
	for _, code := range []string{"| 0 |", "| 69 |", "| 65 |", "| 75 |", "| 64 |", "| 74 |", "| 78 |"} {
		if !strings.Contains(string(man), code) {
			t.Errorf("man page EXIT STATUS lacks %s", code)
		}
		if n := strings.Trim(code, "| "); !strings.Contains(help, n) {
			t.Errorf("--help lacks exit status %s", n)
		}
	}
}
