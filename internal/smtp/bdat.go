package smtp

import (
	"errors"
	"io"
	"strconv"
	"strings"
)

// bdatTx is a message arriving in BDAT chunks (RFC 3030): the backend
// reads it from a pipe in its own goroutine while the session feeds each
// chunk and answers the commands in between.
type bdatTx struct {
	env  *Envelope
	pw   *io.PipeWriter
	body *bdatBody
	done chan []error
	size int64
}

var errTxAborted = errors.New("smtp: transaction aborted")

// resetTx forgets the current transaction, stopping a BDAT transfer:
// the backend's reader fails, so it commits nothing.
func (s *session) resetTx() {
	s.env = nil
	if tx := s.bdat; tx != nil {
		tx.pw.CloseWithError(errTxAborted)
		<-tx.done
		s.bdat = nil
	}
}

// cmdBdat answers BDAT (RFC 3030 §2). The chunk is always read, even
// when the command is refused, so that the session stays in sync.
func (s *session) cmdBdat(arg string) Reply {
	f := strings.Fields(arg)
	var n int64 = -1
	if len(f) >= 1 && len(f) <= 2 && len(f[0]) <= 18 {
		n, _ = strconv.ParseInt(f[0], 10, 64)
		if strings.Trim(f[0], "0123456789") != "" {
			n = -1
		}
	}
	if n < 0 || len(f) == 2 && !strings.EqualFold(f[1], "LAST") {
		// Without a size we cannot find the next command: end here.
		s.closed = true
		return R(501, "5.5.4", "Syntax: BDAT size [LAST]; closing connection")
	}
	last := len(f) == 2
	var refuse Reply
	switch {
	case s.env == nil:
		refuse = R(503, "5.5.1", "Need MAIL command first")
	case len(s.env.Rcpts) == 0:
		refuse = R(554, "5.5.1", "No valid recipients")
	case s.bdat != nil && s.bdat.size+n > s.cfg.MaxSize || s.bdat == nil && n > s.cfg.MaxSize:
		refuse = ReplyOf(ErrTooBig)
	}
	if refuse.Code != 0 {
		if !s.discard(n) {
			return Reply{}
		}
		s.resetTx()
		return refuse
	}
	tx := s.bdat
	if tx == nil {
		env := s.env
		env.Received = s.st.received(s.cfg, env)
		pr, pw := io.Pipe()
		tx = &bdatTx{env: env, pw: pw, done: make(chan []error, 1)}
		tx.body = newBdatBody(pr, s.cfg.MaxHops, env.rcptAddrs())
		st := s.st // the backend gets its own copy: the session goes on
		go func() {
			errs := s.be.Data(s.ctx, &st, env, tx.body)
			pr.CloseWithError(errTxAborted) // unblock a writer if the backend stopped early
			tx.done <- errs
		}()
		s.bdat = tx
	}
	tx.size += n
	if !s.copyChunk(tx.pw, n) {
		return Reply{}
	}
	if !last {
		return R(250, "2.0.0", strconv.FormatInt(n, 10)+" octets received")
	}
	tx.pw.Close()
	errs := <-tx.done
	s.bdat, s.env = nil, nil
	tx.env.Size = tx.size
	s.finish(tx.env, errs, tx.body.err)
	return Reply{}
}

// copyChunk moves n octets from the client to w. When w stops taking
// them (the backend failed early), the rest is read and dropped. It
// reports false when the connection failed.
func (s *session) copyChunk(w io.Writer, n int64) bool {
	buf := make([]byte, min(n, 32<<10))
	sink := w
	for n > 0 {
		s.deadline(s.cfg.DataTimeout)
		k, err := s.lr.Read(buf[:min(int64(len(buf)), n)])
		n -= int64(k)
		if k > 0 && sink != io.Discard {
			if _, werr := sink.Write(buf[:k]); werr != nil {
				sink = io.Discard
			}
		}
		if err != nil && n > 0 {
			s.resetTx()
			s.lost(err)
			return false
		}
	}
	return true
}

// discard reads and drops n octets of a refused chunk.
func (s *session) discard(n int64) bool { return s.copyChunk(io.Discard, n) }

// bdatBody turns the raw octets of the chunks into the message the
// backend reads: CRLF becomes LF (the form a Maildir stores; BDAT has no
// dot-stuffing and no end marker), and the header is checked for loops as
// DATA's is.
type bdatBody struct {
	pr   *io.PipeReader
	hs   *DataReader // used only for its header checks
	cr   bool        // the last octet read was a CR
	line []byte      // the header line being collected
	buf  [16 << 10]byte
	out  []byte
	err  error // the header checks' verdict (an *Error), sticky
	rerr error // the pipe's error
}

func newBdatBody(pr *io.PipeReader, maxHops int, rcpts []string) *bdatBody {
	return &bdatBody{pr: pr, hs: NewDataReader(nil, 0, maxHops, rcpts)}
}

func (b *bdatBody) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if b.rerr != nil {
			return 0, b.rerr
		}
		n, err := b.pr.Read(b.buf[:])
		b.out = b.out[:0]
		b.convert(b.buf[:n])
		if err != nil {
			if b.cr {
				b.out = append(b.out, '\r')
				b.cr = false
			}
			if errors.Is(err, io.EOF) && b.hs.inHeader {
				b.hs.endHeader()
			}
			b.rerr = err
		}
		if b.hs.err != nil {
			b.err, b.out = b.hs.err, nil
		}
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// convert appends data to out with CRLF turned into LF, feeding header
// lines to the loop checks.
func (b *bdatBody) convert(data []byte) {
	for _, c := range data {
		if b.cr {
			b.cr = false
			if c != '\n' {
				b.emit('\r')
			}
		}
		if c == '\r' {
			b.cr = true
			continue
		}
		b.emit(c)
	}
}

func (b *bdatBody) emit(c byte) {
	b.out = append(b.out, c)
	if !b.hs.inHeader {
		return
	}
	if c != '\n' {
		if len(b.line) < DataLineMax {
			b.line = append(b.line, c)
		}
		return
	}
	b.hs.scanHeader(b.line)
	b.line = b.line[:0]
}
