package smtp

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestBDAT(t *testing.T) {
	hello := "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\n"
	tests := []struct {
		name   string
		cfg    Config
		input  string
		want   []string
		bodies []string
	}{
		{"two chunks", Config{}, hello + "BDAT 14\r\nSubject: x\r\n\r\nBDAT 12 LAST\r\n.dot\r\nline\r\nQUIT\r\n",
			[]string{"250-CHUNKING", "250 2.0.0 14 octets received", "250 2.0.0 OK id=", "221 "},
			[]string{"Subject: x\n\n.dot\nline\n"}},
		{"CRLF split across chunks", Config{}, hello + "BDAT 3\r\na\r\r\nBDAT 2 LAST\r\n\nb\r\n",
			[]string{"250 2.0.0 3 octets", "250 2.0.0 OK"}, []string{"a\r\nb"}},
		{"empty last chunk", Config{}, hello + "BDAT 3\r\nab\nBDAT 0 LAST\r\n",
			[]string{"250 2.0.0 3 octets", "250 2.0.0 OK"}, []string{"ab\n"}},
		{"without MAIL: chunk consumed", Config{}, "EHLO x\r\nBDAT 5\r\nQUIT\r\nNOOP\r\n",
			[]string{"503 5.5.1 Need MAIL", "250 2.0.0 OK"}, nil},
		{"too big", Config{MaxSize: 10}, hello + "BDAT 8\r\n12345678BDAT 8 LAST\r\n12345678NOOP\r\n",
			[]string{"250 2.0.0 8 octets", "552 5.3.4", "250 2.0.0 OK"}, nil},
		{"rset aborts", Config{}, hello + "BDAT 4\r\nabcdRSET\r\nBDAT 4 LAST\r\nabcdNOOP\r\n",
			[]string{"250 2.0.0 4 octets", "250 2.0.0 OK", "503 5.5.1", "250 2.0.0 OK"}, nil},
		{"data after bdat", Config{}, hello + "BDAT 4\r\nabcdDATA\r\n", []string{"503 5.5.1 DATA is not allowed after BDAT"}, nil},
		{"bad size closes", Config{}, hello + "BDAT x\r\nNOOP\r\n", []string{"501 5.5.4"}, nil},
		{"loop in header", Config{}, hello + "BDAT 34 LAST\r\nDelivered-To: jones@foo.com\r\n\r\nx\r\n",
			[]string{"554 5.4.6"}, nil},
		{"connection lost mid-chunk", Config{}, hello + "BDAT 100 LAST\r\nshort", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &fakeBackend{}
			out := dialog(t, tt.cfg, be, Peer{Local: true}, tt.input)
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%q missing (in order) from:\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			if tt.name == "bad size closes" && strings.Contains(out, "250 2.0.0 OK") {
				t.Errorf("session went on after a bad BDAT:\n%s", out)
			}
			msgs := be.messages()
			if len(msgs) != len(tt.bodies) {
				t.Fatalf("%d messages, want %d:\n%s", len(msgs), len(tt.bodies), out)
			}
			for i, b := range tt.bodies {
				if msgs[i].body != b {
					t.Errorf("body %q, want %q", msgs[i].body, b)
				}
			}
		})
	}
}

// FuzzSession feeds arbitrary bytes to a whole session (commands, DATA,
// BDAT, AUTH): it never panics or hangs, and everything the server
// writes is well-formed reply lines: three digits, '-' or ' ', text
// without CR or LF, CRLF.
func FuzzSession(f *testing.F) {
	f.Add("EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n")
	f.Add("EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\nBDAT 3\r\nabcBDAT 0 LAST\r\nRSET\r\n")
	f.Add("EHLO x\r\nAUTH LOGIN\r\nam9uZXM=\r\nc2VjcmV0\r\nVRFY smith\r\nEXPN exemple-email-list\r\n")
	f.Add("LHLO x\r\nMAIL FROM:<> SIZE=1\r\nRCPT TO:<Postmaster>\r\nDATA\r\n\n.\n\r\n.\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		for _, lmtp := range []bool{false, true} {
			var out strings.Builder
			done := make(chan struct{})
			go func() {
				Serve(context.Background(), Config{Hostname: "foo.com", LMTP: lmtp, Auth: true}, &fakeBackend{}, Peer{Local: true},
					Conn{R: strings.NewReader(in), W: &out})
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("session hangs on %q", in)
			}
			for _, l := range strings.SplitAfter(out.String(), "\r\n") {
				if l == "" {
					continue
				}
				if len(l) < 6 || !strings.HasSuffix(l, "\r\n") || l[3] != ' ' && l[3] != '-' ||
					strings.ContainsAny(l[:len(l)-2], "\r\n") || strings.Trim(l[:3], "0123456789") != "" {
					t.Fatalf("malformed reply line %q", l)
				}
			}
		}
	})
}
