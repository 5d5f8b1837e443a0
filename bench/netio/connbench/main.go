// Command connbench measures sessions per second against a line server:
// N sequential connections, each reading the greeting, sending QUIT and
// reading to the end. It is the client of bench/netio/run.sh.
//
//	connbench ADDR N
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: connbench ADDR N")
		os.Exit(64)
	}
	addr := os.Args[1]
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "connbench: N must be a positive number")
		os.Exit(64)
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if err := session(addr); err != nil {
			fmt.Fprintf(os.Stderr, "connbench: session %d: %v\n", i, err)
			os.Exit(1)
		}
	}
	d := time.Since(t0)
	fmt.Printf("%.0f\n", float64(n)/d.Seconds())
}

func session(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	if _, err := br.ReadString('\n'); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if _, err := io.WriteString(c, "QUIT\r\n"); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, br)
	return err
}
