package testutil

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// FreePort returns a loopback port that was free for both TCP and UDP a
// moment ago, for peers that cannot bind port 0 and report it (smtp-sink,
// Dovecot, NSD).
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// freePort is FreePort for callers that report errors themselves.
func freePort() (int, error) {
	var err error
	for range 50 {
		var u net.PacketConn
		u, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		var l net.Listener
		l, err = net.Listen("tcp", u.LocalAddr().String())
		u.Close()
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no port free for both TCP and UDP on 127.0.0.1: %w", err)
}

// StartSMTPSink runs Postfix's smtp-sink on 127.0.0.1 with extra options
// (e.g. "-r", "RCPT" to defer every RCPT) and returns its address and the
// directory where it dumps each transaction, one file per message, with
// X-Mail-Args and X-Rcpt-Args lines giving the envelope. It is killed
// when the test ends.
func StartSMTPSink(t testing.TB, opts ...string) (addr, dump string) {
	t.Helper()
	sink := Peer(t, "smtp-sink")
	dump = UnprivDir(t)
	addr = "127.0.0.1:" + strconv.Itoa(FreePort(t))
	args := append([]string{"-u", "nobody", "-d", dump + "/%H%M%S."}, opts...)
	cmd := exec.Command(sink, append(args, addr, "16")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, dump
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("smtp-sink did not start")
	return "", ""
}
