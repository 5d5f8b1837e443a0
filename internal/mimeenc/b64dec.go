package mimeenc

import (
	"bytes"
	"io"
)

// b64ReadBlock is how many encoded bytes the Reader takes per round.
const b64ReadBlock = 512 * 1024

// B64Reader decodes base64 (RFC 2045 §6.8). Line breaks and white space
// are ignored anywhere. Unless Lenient is set, any other character
// outside the alphabet, padding that is misplaced or missing, and data
// after the final padding are a *SyntaxError naming the byte offset;
// the bytes decoded before it have already been returned by Read.
//
// QUIRK: pad bits that are not zero ("QR==") are accepted, as GNU
// base64 and encoding/base64 do; RFC 4648 §3.5 allows either.
//
// Each round takes the fast path first: strip the line breaks of
// fixed-width lines, then decode the block with the SIMD codec. If that
// meets anything unusual the round is decoded again byte by byte by the
// exact path, which knows offsets, leniency and padding.
type B64Reader struct {
	decoder
	codec   b64Codec
	lenient bool

	q []byte // compacted characters of this round

	base    int64 // stream offset of in[0]
	lineLen int   // guessed width of the input's lines, 0 if unknown

	// Decoder state between rounds. Carried characters are always in
	// the alphabet: anything else goes through the exact path.
	quad   [4]byte // pending characters (not values)
	nq     int
	npad   int  // '=' seen in the current quantum
	padded bool // a quantum with padding has ended (end of data)
	eof    bool
}

// NewB64Reader returns a base64 decoder reading from r.
func NewB64Reader(r io.Reader, opt B64Options) *B64Reader {
	return &B64Reader{
		decoder: decoder{
			r:   r,
			in:  make([]byte, b64ReadBlock),
			out: make([]byte, 0, b64ReadBlock/4*3+8),
		},
		codec:   newB64Codec(opt.Portable),
		lenient: opt.Lenient,
		q:       make([]byte, 0, b64ReadBlock+4),
	}
}

// Read decodes into p.
func (d *B64Reader) Read(p []byte) (int, error) { return d.read(p, d) }

// WriteTo decodes everything to w, without the copy Read makes, reading
// ahead in a second goroutine.
// On an error the read-ahead may still be blocked in a Read of the
// source; neither the source nor this Reader may be used again.
func (d *B64Reader) WriteTo(w io.Writer) (int64, error) { return d.writeTo(w, d) }

// round decodes raw, the input of one round, and takes note of the read
// error that came with it.
func (d *B64Reader) round(raw []byte, rerr error) {
	if isEOF(rerr) {
		d.eof, rerr = true, nil
	}
	if !d.fast(raw) {
		d.exact(raw)
	}
	d.base += int64(len(raw))
	switch {
	case d.err != nil:
	case rerr != nil:
		d.err = rerr
	case d.eof:
		d.finish()
	}
}

// fast decodes raw by stripping line breaks and decoding the block in
// one call. It reports false, having changed nothing, when raw needs the
// exact path.
func (d *B64Reader) fast(raw []byte) bool {
	if d.npad > 0 || d.padded {
		return false
	}
	q := append(d.q[:0], d.quad[:d.nq]...)
	q = d.compact(q, raw)
	n4 := len(q) / 4 * 4
	if d.eof && n4 != len(q) {
		return false // an unpadded tail: let the exact path judge it
	}
	for _, c := range q[n4:] {
		if b64Class[c] >= 64 {
			return false
		}
	}
	out := d.out[:n4/4*3]
	m, err := d.codec.decode(out, q[:n4])
	if err != nil {
		return false
	}
	// encoding/base64 skips stray CR and LF, so look past them for the
	// padding that ends the data.
	if t := bytes.TrimRight(q[:n4], "\r\n"); len(t) > 0 && t[len(t)-1] == '=' {
		if n4 < len(q) {
			return false // data after padding
		}
		d.padded = true
	}
	d.out = out[:m]
	d.nq = copy(d.quad[:], q[n4:])
	d.q = q
	return true
}

// compact appends the characters of raw to q without its line breaks.
// Lines of the width seen last are copied whole; anything else is
// copied line by line. Other white space stays in, to fail the decode.
func (d *B64Reader) compact(q, raw []byte) []byte {
	i, L := 0, d.lineLen
	for i < len(raw) {
		if L > 0 && i+L+1 < len(raw) {
			if raw[i+L] == '\n' {
				q = append(q, raw[i:i+L]...)
				i += L + 1
				continue
			}
			if raw[i+L] == '\r' && raw[i+L+1] == '\n' {
				q = append(q, raw[i:i+L]...)
				i += L + 2
				continue
			}
		}
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			q = append(q, raw[i:]...)
			break
		}
		line := raw[i : i+j]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		q = append(q, line...)
		if len(line) > 0 {
			L = len(line)
		}
		i += j + 1
	}
	d.lineLen = L
	return q
}

// exact decodes raw byte by byte from the state left by the last round.
func (d *B64Reader) exact(raw []byte) {
	out := d.out[:0]
	for i, c := range raw {
		v := b64Class[c]
		switch {
		case v < 64:
			if d.npad > 0 || d.padded {
				if !d.lenient {
					d.err = offsetError(d.base+int64(i), "data after the final padding")
					d.out = out
					return
				}
				// QUIRK: lenient: end the padded quantum here and go on,
				// as concatenated base64 texts need.
				out = d.endQuantum(out)
				d.padded = false
			}
			d.quad[d.nq] = c
			d.nq++
			if d.nq == 4 {
				out = d.endQuantum(out)
			}
		case v == b64Space:
		case v == b64Pad:
			if d.nq < 2 || d.padded {
				if !d.lenient {
					d.err = offsetError(d.base+int64(i), "misplaced padding '='")
					d.out = out
					return
				}
				continue // QUIRK: lenient: skipped
			}
			d.npad++
			if d.nq+d.npad == 4 {
				out = d.endQuantum(out)
				d.padded = true
			}
		default:
			if !d.lenient {
				d.err = offsetError(d.base+int64(i), "invalid character %s", quoteByte(c))
				d.out = out
				return
			}
			// QUIRK: lenient: skipped, as RFC 2045 §6.8 allows.
		}
	}
	d.out = out
}

// endQuantum decodes the pending 2, 3 or 4 characters (fewer than 2
// hold no whole byte and are dropped) and resets the quantum.
func (d *B64Reader) endQuantum(out []byte) []byte {
	var v uint32
	for i := 0; i < 4; i++ {
		v <<= 6
		if i < d.nq {
			v |= uint32(b64Class[d.quad[i]])
		}
	}
	b := [3]byte{byte(v >> 16), byte(v >> 8), byte(v)}
	if d.nq >= 2 {
		out = append(out, b[:d.nq-1]...)
	}
	d.nq, d.npad = 0, 0
	return out
}

// finish checks the end of the input: a quantum left open is an error
// unless lenient.
func (d *B64Reader) finish() {
	if d.nq > 0 || d.npad > 0 {
		if !d.lenient && (d.nq == 1 || d.nq+d.npad < 4) {
			what := "missing padding"
			if d.nq == 1 {
				what = "a lone character in the last quantum"
			}
			d.err = offsetError(d.base, "truncated input: %s", what)
			return
		}
		d.out = d.endQuantum(d.out)
	}
	d.err = io.EOF
}
