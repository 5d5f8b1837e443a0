package imapd

import (
	"net"
	"sync"
	"time"
)

// batchConn coalesces the server's writes. go-imap flushes its buffer
// after every response line, which costs one write(2) per message in a
// FETCH of 1:*; batchConn holds the bytes until the server reads again
// (it has answered and waits for the client), until 64 KiB are pending,
// or for at most a couple of milliseconds (responses written while the
// server is not reading, as during IDLE).
type batchConn struct {
	net.Conn
	mu    sync.Mutex
	buf   []byte
	timer *time.Timer
	err   error
}

const (
	batchSize  = 64 << 10
	batchDelay = 2 * time.Millisecond
)

func newBatchConn(c net.Conn) *batchConn { return &batchConn{Conn: c} }

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= batchSize {
		c.flushLocked()
		if c.err != nil {
			return 0, c.err
		}
	} else if c.timer == nil {
		c.timer = time.AfterFunc(batchDelay, c.flush)
	}
	return len(p), nil
}

func (c *batchConn) flush() {
	c.mu.Lock()
	c.flushLocked()
	c.mu.Unlock()
}

func (c *batchConn) flushLocked() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if len(c.buf) == 0 || c.err != nil {
		return
	}
	_, c.err = c.Conn.Write(c.buf)
	if cap(c.buf) > 4*batchSize {
		c.buf = nil
	} else {
		c.buf = c.buf[:0]
	}
}

func (c *batchConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	c.flushLocked()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *batchConn) Close() error {
	c.flush()
	return c.Conn.Close()
}
