package mx

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"example.org", "example.org", ""},
		{"Example.ORG.", "example.org", ""},
		{"  example.org\t", "example.org", ""},
		{"bücher.example", "xn--bcher-kva.example", ""},
		{"BÜCHER.example", "xn--bcher-kva.example", ""},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", ""},
		{"例え.テスト", "xn--r8jz45g.xn--zckzah", ""},
		{"localhost", "localhost", ""},
		{"", "", "empty domain"},
		{".", "", "empty domain"},
		{"a..b", "", "invalid domain"},
		{".a", "", "invalid domain"},
		{"under_score.example", "", "invalid domain"},
		{"sp ace.example", "", "invalid domain"},
		{"-lead.example", "", "invalid domain"},
		{"[192.0.2.1]", "", "address literal"},
		{"[IPv6:2001:db8::1]", "", "address literal"},
		{"192.0.2.1", "", "address literal"},
		{"2001:db8::1", "", "address literal"},
		{strings.Repeat("a", 63) + ".example", strings.Repeat("a", 63) + ".example", ""},
		{strings.Repeat("a", 64) + ".example", "", "label longer than 63"},
		{strings.Repeat("a.", 126) + "a", strings.Repeat("a.", 126) + "a", ""},
		{strings.Repeat("a.", 127) + "a", "", "longer than 253"},
	} {
		got, err := Normalize(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Normalize(%q) = %q, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestServerAddr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"127.0.0.1", "127.0.0.1:53"},
		{"127.0.0.1:5353", "127.0.0.1:5353"},
		{"::1", "[::1]:53"},
		{"[::1]", "[::1]:53"},
		{"[::1]:5353", "[::1]:5353"},
		{"ns.example", ""},
		{"127.0.0.1:99999", ""},
		{"", ""},
	} {
		got, err := ServerAddr(c.in)
		if (err != nil) != (c.want == "") || got != c.want {
			t.Errorf("ServerAddr(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestParseResolvConf(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     ResolvConf
	}{
		{"empty gives the local server", "", ResolvConf{Servers: []string{"127.0.0.1:53"}}},
		{"servers, search and ndots ignored",
			"# comment\nsearch corp.example\ndomain corp.example\nnameserver 192.0.2.53\nnameserver 2001:db8::53 ; trailing\noptions ndots:5\n",
			ResolvConf{Servers: []string{"192.0.2.53:53", "[2001:db8::53]:53"}}},
		{"at most three servers", "nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nnameserver 192.0.2.4\n",
			ResolvConf{Servers: []string{"192.0.2.1:53", "192.0.2.2:53", "192.0.2.3:53"}}},
		{"bad server lines skipped", "nameserver dns.example\nnameserver\nnameserver 192.0.2.9\n",
			ResolvConf{Servers: []string{"192.0.2.9:53"}}},
		{"options", "nameserver 192.0.2.1\noptions timeout:3 attempts:4 rotate edns0\n",
			ResolvConf{Servers: []string{"192.0.2.1:53"}, Timeout: 3 * time.Second, Attempts: 4, Rotate: true}},
		{"options capped", "options timeout:99 attempts:99\n",
			ResolvConf{Servers: []string{"127.0.0.1:53"}, Timeout: 30 * time.Second, Attempts: 5}},
		{"bad options ignored", "options timeout:x attempts:0 timeout:-1\n",
			ResolvConf{Servers: []string{"127.0.0.1:53"}}},
		{"CRLF and no final newline", "nameserver 192.0.2.1\r\noptions attempts:1",
			ResolvConf{Servers: []string{"192.0.2.1:53"}, Attempts: 1}},
		{"over-long line skipped", strings.Repeat("x", 10000) + "\nnameserver 192.0.2.1\n",
			ResolvConf{Servers: []string{"192.0.2.1:53"}}},
	} {
		got := ParseResolvConf(strings.NewReader(c.in))
		if strings.Join(got.Servers, ",") != strings.Join(c.want.Servers, ",") || got.Timeout != c.want.Timeout ||
			got.Attempts != c.want.Attempts || got.Rotate != c.want.Rotate {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"example.org", "Bücher.example.", "[192.0.2.1]", "a..b", "xn--bcher-kva.example", "x\u200d.example", "é." + strings.Repeat("a", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s)
		if err != nil {
			return
		}
		// The result is a lower-case A-label name within DNS limits, and
		// normalizing it again changes nothing.
		if got != strings.ToLower(got) || checkLength(got) != nil {
			t.Fatalf("Normalize(%q) = %q", s, got)
		}
		for _, c := range []byte(got) {
			if c >= 0x80 || !(c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
				t.Fatalf("Normalize(%q) = %q: not LDH", s, got)
			}
		}
		if again, err := Normalize(got); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, again %q %v", s, got, again, err)
		}
	})
}

func FuzzParseResolvConf(f *testing.F) {
	f.Add("nameserver 192.0.2.1\noptions timeout:2 attempts:3 rotate\nsearch a.example\n")
	f.Add("nameserver fe80::1%eth0\n# x\n;y\n")
	f.Fuzz(func(t *testing.T, s string) {
		c := ParseResolvConf(strings.NewReader(s))
		if len(c.Servers) == 0 || len(c.Servers) > 3 || c.Timeout > 30*time.Second || c.Attempts > 5 || c.Attempts < 0 {
			t.Fatalf("%+v", c)
		}
		for _, a := range c.Servers {
			if _, err := ServerAddr(a); err != nil {
				t.Fatalf("server %q: %v", a, err)
			}
		}
	})
}

func TestNewResolverReadsResolvConf(t *testing.T) {
	path := t.TempDir() + "/resolv.conf"
	if err := os.WriteFile(path, []byte("search corp.example\nnameserver 192.0.2.53\noptions timeout:1 attempts:3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := NewResolver(Options{ResolvConf: path})
	if err != nil {
		t.Fatal(err)
	}
	if s := r.Servers(); len(s) != 1 || s[0] != "192.0.2.53:53" || r.timeout != time.Second || r.attempts != 3 {
		t.Fatalf("servers %v timeout %v attempts %d", s, r.timeout, r.attempts)
	}
	// Explicit settings win over the file.
	r, _ = NewResolver(Options{ResolvConf: path, Servers: []string{"127.0.0.1:5353"}, Attempts: 1})
	if s := r.Servers(); s[0] != "127.0.0.1:5353" || r.attempts != 1 || r.timeout != time.Second {
		t.Fatalf("servers %v timeout %v attempts %d", s, r.timeout, r.attempts)
	}
	if _, err := NewResolver(Options{ResolvConf: "/nonexistent/resolv.conf"}); err == nil {
		t.Fatal("missing explicit resolv.conf accepted")
	}
}
