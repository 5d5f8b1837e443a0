package mimeenc

import "io"

// decoder is the streaming half that B64Reader and QPReader share: Read,
// WriteTo and their buffers. The codecs differ only in how they decode
// one round of input, which they pass in as a rounder.
type decoder struct {
	r    io.Reader
	in   []byte // one round of input, for Read
	out  []byte // decoded output of the current round
	opos int    // next byte of out to hand out
	err  error  // sticky (io.EOF at the end), returned once out is drained
}

// rounder decodes raw, one round of input, appending to the decoder's
// out, and takes note of the read error that came with it: at the end
// of the input or on an error it sets the decoder's err.
type rounder interface {
	round(raw []byte, rerr error)
}

// read hands out decoded bytes, decoding a round when out is drained.
func (d *decoder) read(p []byte, c rounder) (int, error) {
	for d.opos == len(d.out) {
		if d.err != nil {
			return 0, d.err
		}
		n, err := io.ReadFull(d.r, d.in)
		d.out, d.opos = d.out[:0], 0
		c.round(d.in[:n], err)
	}
	n := copy(p, d.out[d.opos:])
	d.opos += n
	return n, nil
}

// writeTo decodes everything to w, without the copy read makes, reading
// ahead in a second goroutine (see prefetcher for what an error leaves
// behind).
func (d *decoder) writeTo(w io.Writer, c rounder) (int64, error) {
	var total int64
	var pf *prefetcher
	defer func() {
		if pf != nil {
			pf.close()
		}
	}()
	for {
		if d.opos < len(d.out) {
			n, err := w.Write(d.out[d.opos:])
			total += int64(n)
			d.opos += n
			if err != nil {
				return total, err
			}
		}
		if d.err == io.EOF {
			return total, nil
		}
		if d.err != nil {
			return total, d.err
		}
		if pf == nil {
			pf = startPrefetch(d.r, len(d.in), 2)
		}
		b := pf.next()
		d.out, d.opos = d.out[:0], 0
		c.round(b.b, b.err)
		pf.release(b.b)
	}
}

// readFrom is the ReadFrom loop that B64Writer and QPWriter share: it
// hands encode each block of up to size bytes that r gives, reading
// ahead in a second goroutine, until r ends or *errp (encode's write
// error) is set.
func readFrom(r io.Reader, size int, errp *error, encode func(p []byte)) (int64, error) {
	pf := startPrefetch(r, size, 2)
	defer pf.close()
	var total int64
	for *errp == nil {
		b := pf.next()
		total += int64(len(b.b))
		if len(b.b) > 0 {
			encode(b.b)
		}
		pf.release(b.b)
		if isEOF(b.err) {
			break
		}
		if b.err != nil {
			return total, b.err
		}
	}
	return total, *errp
}
