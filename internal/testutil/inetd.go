package testutil

import (
	"bufio"
	"errors"
	"net"
	"os/exec"
	"testing"
	"time"
)

// InetdSession runs cmd as inetd runs a "nowait" service, with fds 0, 1
// and 2 all one end of a socketpair, sends input, and returns every line
// the program wrote, up to EOF. It fails the test when EOF does not come
// within a minute: a server must close the connection after its QUIT or
// LOGOUT even though fd 2 was the socket too. cmd is started here and
// waited for.
func InetdSession(t testing.TB, cmd *exec.Cmd, input string) []string {
	t.Helper()
	srv, cli := SocketPairFiles(t)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = srv, srv, srv
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	srv.Close()
	nc, err := net.FileConn(cli)
	cli.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(time.Minute))
	if _, err := nc.Write([]byte(input)); err != nil {
		t.Fatal(err)
	}
	var lines []string
	r := bufio.NewReader(nc)
	for {
		l, err := r.ReadString('\n')
		if l != "" {
			lines = append(lines, l)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("no EOF after the session; read %q", lines)
		}
		if err != nil {
			return lines
		}
	}
}
