package relay

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"mailtk/internal/queue"
	"mailtk/internal/testutil"
)

func TestTimeoutsFollowRFC5321(t *testing.T) {
	got := (&Transport{}).timeouts()
	want := timeouts{command: 5 * time.Minute, block: 3 * time.Minute, final: 10 * time.Minute}
	if got != want {
		t.Errorf("default timeouts %+v, want %+v", got, want)
	}
	got = (&Transport{Timeout: 10 * time.Second}).timeouts()
	want = timeouts{command: 10 * time.Second, block: 6 * time.Second, final: 20 * time.Second}
	if got != want {
		t.Errorf("timeouts for 10s %+v, want %+v", got, want)
	}
}

// deadlineConn records the write deadlines set on a connection.
type deadlineConn struct {
	net.Conn
	mu    sync.Mutex
	write []time.Duration // each write deadline, as time left when set
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.write = append(c.write, time.Until(t))
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

// TestDataDeadlinePerBlock: a message of many blocks is sent with the
// write deadline moved ahead for every block, never one deadline for the
// whole transfer, so a large message over a slow link is not cut off.
func TestDataDeadlinePerBlock(t *testing.T) {
	addr, dump := testutil.StartSMTPSink(t)
	var conns []*deadlineConn
	var mu sync.Mutex
	tr := &Transport{Smarthost: addr, Insecure: true, Hostname: "c", Timeout: time.Minute,
		Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, a)
			if err != nil {
				return nil, err
			}
			dc := &deadlineConn{Conn: c}
			mu.Lock()
			conns = append(conns, dc)
			mu.Unlock()
			return dc, nil
		}}
	line := strings.Repeat("x", 75) + "\n"
	big := "Subject: big\n\n" + strings.Repeat(line, 1<<20/len(line)) // 1 MiB: 32 blocks and more
	env := &queue.Envelope{From: "a@example.org", Size: int64(len(big))}
	res := tr.Deliver(context.Background(), env, []*queue.Recipient{{Addr: "b@example.net"}}, strings.NewReader(big), int64(len(big)))
	if !res[0].OK {
		t.Fatalf("%+v", res[0])
	}
	files := testutil.WaitFiles(t, dump, 1, 10*time.Second)
	if b, _ := os.ReadFile(files[0]); !strings.Contains(string(b), big[len(big)-200:]) {
		t.Error("message incomplete at the sink")
	}
	block := tr.timeouts().block
	n := 0
	for _, c := range conns {
		c.mu.Lock()
		for _, d := range c.write {
			if d > 0 && d <= block {
				n++
			}
		}
		c.mu.Unlock()
	}
	if want := len(big) / (32 << 10); n < want {
		t.Errorf("%d block deadlines set for a message of %d bytes, want at least %d", n, len(big), want)
	}
}
