package mimeenc

import "io"

// prefetcher reads ahead in a goroutine for the length of one ReadFrom
// or WriteTo call, so that reading (the kernel's copy of the input)
// runs on one core while the codec runs on another. It uses a fixed
// number of buffers: memory stays constant.
//
// A call that ends before the input does (a write error, malformed
// input) leaves the goroutine behind, possibly blocked in a Read of the
// source: an idle pipe or terminal may never return. It ends when that
// Read returns, and what it read is lost; the source must not be used
// again.
type prefetcher struct {
	full chan prefetched
	free chan []byte
	stop chan struct{}
}

type prefetched struct {
	b   []byte
	err error // io.EOF or io.ErrUnexpectedEOF at the end, as io.ReadFull
}

func startPrefetch(r io.Reader, size, n int) *prefetcher {
	p := &prefetcher{
		full: make(chan prefetched, n),
		free: make(chan []byte, n),
		stop: make(chan struct{}),
	}
	for range n {
		p.free <- make([]byte, size)
	}
	go func() {
		for {
			var b []byte
			select {
			case b = <-p.free:
			case <-p.stop:
				return
			}
			k, err := io.ReadFull(r, b)
			select {
			case p.full <- prefetched{b[:k], err}:
			case <-p.stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

// next returns the next block; after one with an error there are none.
func (p *prefetcher) next() prefetched { return <-p.full }

// release gives a block's buffer back for reading.
func (p *prefetcher) release(b []byte) { p.free <- b[:cap(b)] }

// close stops reading ahead. It does not wait for the goroutine: after
// the last block (the one with an error) it has left the source, but
// before that it may be blocked in a Read that never returns, and
// waiting would hang the caller, which has an error to report.
func (p *prefetcher) close() { close(p.stop) }

// isEOF reports whether err from io.ReadFull means the input ended.
func isEOF(err error) bool { return err == io.EOF || err == io.ErrUnexpectedEOF }
