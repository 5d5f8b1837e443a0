package netio

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestPenalty(t *testing.T) {
	clk := &fakeClock{time.Unix(1_000_000, 0)}
	p := NewPenalty(PenaltyOptions{Base: time.Second, Max: 5 * time.Second, Forget: time.Minute, Size: 3, Now: clk.now})
	a := netip.MustParseAddr("192.0.2.1")
	var got []time.Duration
	for range 5 {
		got = append(got, p.Fail(a))
	}
	if fmt.Sprint(got) != "[1s 2s 4s 5s 5s]" {
		t.Fatalf("delays %v", got)
	}
	if d := p.Delay(a); d != 5*time.Second {
		t.Fatalf("Delay %v", d)
	}
	if d := p.Delay(netip.MustParseAddr("192.0.2.2")); d != 0 {
		t.Fatalf("Delay of a stranger %v", d)
	}
	// A good login halves the count (5, 2, 1, 0) rather than clearing
	// it, so one valid account cannot reset the penalty between guesses.
	for _, want := range []time.Duration{2 * time.Second, time.Second, 0} {
		p.Success(a)
		if d := p.Delay(a); d != want {
			t.Fatalf("after Success: %v, want %v", d, want)
		}
	}
	if n := p.Len(); n != 0 {
		t.Fatalf("Len %d after the count reached zero, want 0", n)
	}

	// Forgotten after Forget.
	p.Fail(a)
	p.Fail(a)
	clk.t = clk.t.Add(59 * time.Second)
	if d := p.Delay(a); d != 2*time.Second {
		t.Fatalf("before Forget: %v", d)
	}
	clk.t = clk.t.Add(time.Second)
	if d := p.Delay(a); d != 0 {
		t.Fatalf("after Forget: %v", d)
	}
	if d := p.Fail(a); d != time.Second {
		t.Fatalf("first failure after forgetting: %v", d)
	}

	// IPv6 counts per /64; a mapped IPv4 address is the IPv4 address.
	p.Fail(netip.MustParseAddr("2001:db8:1:2::1"))
	if d := p.Fail(netip.MustParseAddr("2001:db8:1:2:ffff::9")); d != 2*time.Second {
		t.Fatalf("same /64: %v", d)
	}
	if d := p.Fail(netip.MustParseAddr("::ffff:192.0.2.1")); d != 2*time.Second {
		t.Fatalf("mapped v4: %v", d)
	}

	// Memory is bounded: the least recently failed address goes first.
	for i := range 10 {
		p.Fail(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
	}
	if p.Len() != 3 {
		t.Fatalf("Len %d, want 3", p.Len())
	}
	if d := p.Delay(a); d != 0 {
		t.Fatalf("evicted address still remembered: %v", d)
	}
	if d := p.Delay(netip.AddrFrom4([4]byte{198, 51, 100, 9})); d != time.Second {
		t.Fatalf("newest address: %v", d)
	}
}

func TestPenaltyDefaults(t *testing.T) {
	p := NewPenalty(PenaltyOptions{})
	a := netip.MustParseAddr("192.0.2.1")
	var d time.Duration
	for range 20 {
		d = p.Fail(a)
	}
	if d != DefaultPenaltyMax {
		t.Fatalf("cap %v", d)
	}
	if p.Fail(netip.Addr{}) != DefaultPenaltyBase {
		t.Fatal("unknown address gets the base delay")
	}
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) == nil {
		t.Fatal("Sleep ignored a cancelled context")
	}
	if Sleep(context.Background(), time.Nanosecond) != nil {
		t.Fatal("Sleep failed")
	}
}

// TestDropPrivileges runs in a child process: the switch is for good.
func TestDropPrivileges(t *testing.T) {
	if os.Getenv("NETIO_DROP_CHILD") != "" {
		if err := DropPrivileges(65534, 65534); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		gs, _ := os.Getgroups()
		fmt.Printf("uid=%d euid=%d gid=%d groups=%v\n", os.Getuid(), os.Geteuid(), os.Getgid(), gs)
		os.Exit(0)
	}
	for _, ids := range [][2]int{{0, 0}, {0, 100}, {100, 0}, {-1, 5}} {
		if err := DropPrivileges(ids[0], ids[1]); err == nil {
			t.Fatalf("DropPrivileges(%d, %d) succeeded", ids[0], ids[1])
		}
	}
	if os.Geteuid() != 0 {
		if err := DropPrivileges(os.Getuid()+1, os.Getgid()+1); err == nil {
			t.Fatal("an unprivileged process switched users")
		}
		testutil.Root(t) // switching users needs root
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDropPrivileges$")
	cmd.Env = append(os.Environ(), "NETIO_DROP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "uid=65534 euid=65534 gid=65534 groups=[65534]") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
