package netio

import (
	"log/slog"
	"net/netip"
	"strconv"
)

// The ucspi-tcp environment (tcp-environ(5)), set by tcpserver, sslserver,
// s6-tcpserver and tcpsvd for the program they run per connection.
const (
	envRemoteIP   = "TCPREMOTEIP"
	envRemotePort = "TCPREMOTEPORT"
	envRemoteHost = "TCPREMOTEHOST"
	envLocalIP    = "TCPLOCALIP"
	envLocalPort  = "TCPLOCALPORT"
	envLocalHost  = "TCPLOCALHOST"
	envRelay      = "RELAYCLIENT"
)

// maxEnvValue bounds what we accept from one environment variable.
const maxEnvValue = 1024

// env reads environment variables, refusing values that hold control
// characters: they would let whoever set them forge header or log lines.
type env struct {
	lookup func(string) (string, bool)
	log    *slog.Logger
}

// get returns the variable's value and whether it is set and clean. A
// value with a control character (CR, LF, NUL, any C0 or DEL) or longer
// than maxEnvValue is logged by name only and treated as unset.
func (e env) get(name string) (string, bool) {
	v, ok := e.lookup(name)
	if !ok {
		return "", false
	}
	if len(v) > maxEnvValue || hasControl(v) {
		e.log.Warn("ignoring environment variable with control characters or over-long value",
			"var", name, "len", len(v))
		return "", false
	}
	return v, true
}

// hasControl reports whether s holds an ASCII control character.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// validHost reports whether s looks like a host name: 1–253 octets of
// letters, digits, '-', '.', '_'. It is deliberately strict: the value is
// written into Received: headers and logs.
func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '.' || c == '_':
		default:
			return false
		}
	}
	return true
}

// addrFromEnv reads an IP and a port variable. A missing or bad port gives
// port 0; a bad IP gives the zero AddrPort (logged).
func (e env) addrFromEnv(ipVar, portVar string) netip.AddrPort {
	s, ok := e.get(ipVar)
	if !ok {
		return netip.AddrPort{}
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		e.log.Warn("ignoring unparsable address in environment", "var", ipVar)
		return netip.AddrPort{}
	}
	ip = ip.Unmap().WithZone("")
	var port uint16
	if ps, ok := e.get(portVar); ok {
		if n, err := strconv.ParseUint(ps, 10, 16); err == nil {
			port = uint16(n)
		} else {
			e.log.Warn("ignoring unparsable port in environment", "var", portVar)
		}
	}
	return netip.AddrPortFrom(ip, port)
}

// host reads a host-name variable, dropping implausible values.
func (e env) host(name string) string {
	s, ok := e.get(name)
	if !ok || s == "" {
		return ""
	}
	if !validHost(s) {
		e.log.Warn("ignoring environment host name with unexpected characters", "var", name, "len", len(s))
		return ""
	}
	return s
}

// fillPeer completes p from the environment: addresses only where the
// socket gave none, host names and RELAYCLIENT always.
func (e env) fillPeer(p *Peer) {
	if !p.RemoteAddr.IsValid() {
		p.RemoteAddr = e.addrFromEnv(envRemoteIP, envRemotePort)
		if _, set := e.lookup(envRemoteIP); set && !p.RemoteAddr.IsValid() {
			p.envRejected = true
		}
	}
	if !p.LocalAddr.IsValid() {
		p.LocalAddr = e.addrFromEnv(envLocalIP, envLocalPort)
	}
	p.RemoteHost = e.host(envRemoteHost)
	p.LocalHost = e.host(envLocalHost)
	_, p.RelayClient = e.get(envRelay)
}
