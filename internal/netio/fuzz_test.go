package netio

import (
	"strings"
	"testing"
)

// FuzzEnvPeer feeds arbitrary ucspi-tcp variables to the peer reader.
// Property: nothing with a control character (or any character a host
// name cannot have) reaches the Peer, accepted host names are copied
// unchanged, and an accepted address prints back to something parsable.
func FuzzEnvPeer(f *testing.F) {
	f.Add("192.0.2.1", "25", "mx.example.org", "client.example.net", "")
	f.Add("::ffff:127.0.0.1", "65535", "a\r\nb", "x y", "\x00")
	f.Add("fe80::1%eth0", "-1", "", strings.Repeat("a", 300), "@example.org")
	f.Fuzz(func(t *testing.T, ip, port, lhost, rhost, relay string) {
		env := map[string]string{"TCPREMOTEIP": ip, "TCPREMOTEPORT": port, "TCPLOCALIP": ip, "TCPLOCALPORT": port,
			"TCPLOCALHOST": lhost, "TCPREMOTEHOST": rhost, "RELAYCLIENT": relay}
		o := Options{LookupEnv: envMap(env), Logger: quietLogger(t)}.withDefaults()
		var p Peer
		o.env().fillPeer(&p)
		for _, h := range []struct{ got, in string }{{p.LocalHost, lhost}, {p.RemoteHost, rhost}} {
			if h.got != "" && (h.got != h.in || !validHost(h.got)) {
				t.Fatalf("host %q from %q", h.got, h.in)
			}
		}
		if p.RemoteAddr.IsValid() {
			s := p.RemoteAddr.String()
			if hasControl(s) || strings.Contains(s, "%") || p.RemoteAddr.Addr().Is4In6() {
				t.Fatalf("address %q from %q", s, ip)
			}
		} else if p.Local() && !p.Stdio {
			t.Fatal("a peer with no address is local outside stdio mode")
		}
		if p.RelayClient != (!hasControl(relay) && len(relay) <= maxEnvValue) {
			t.Fatalf("RelayClient %v for %q", p.RelayClient, relay)
		}
	})
}
