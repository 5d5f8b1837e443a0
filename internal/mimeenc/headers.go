package mimeenc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxHeaderLine bounds one input line (encoding) or one unfolded header
// (decoding) for the header filters.
const MaxHeaderLine = 64 * 1024

// EncodeWordLines encodes every line of r as one header value with
// EncodeWords and writes it to w, each followed by a line break. A
// *SyntaxError names the input line.
func EncodeWordLines(w io.Writer, r io.Reader, opt WordOptions) error {
	br := bufio.NewReaderSize(r, MaxHeaderLine+2)
	bw := bufio.NewWriter(w)
	eol := "\n"
	if opt.CRLF {
		eol = "\r\n"
	}
	for n := int64(1); ; n++ {
		line, err := readLine(br, n)
		if err == io.EOF {
			break
		}
		if err != nil {
			bw.Flush()
			return err
		}
		out, err := EncodeWords(string(line), opt)
		if err != nil {
			bw.Flush() // what came before stays written
			return atLine(err, n)
		}
		bw.WriteString(out)
		bw.WriteString(eol)
	}
	return bw.Flush()
}

// DecodeWordLines unfolds the header lines of r, decodes their
// encoded-words with DecodeWords and writes one line per unfolded
// header to w. A *SyntaxError names the first line of the header and
// the column in the unfolded text.
func DecodeWordLines(w io.Writer, r io.Reader, lenient bool) error {
	br := bufio.NewReaderSize(r, MaxHeaderLine+2)
	bw := bufio.NewWriter(w)
	var cur []byte
	start, have := int64(0), false
	emit := func() error {
		if !have {
			return nil
		}
		out, err := DecodeWords(string(cur), lenient)
		if err != nil {
			bw.Flush() // what came before stays written
			return atLine(err, start)
		}
		bw.WriteString(out)
		bw.WriteByte('\n')
		return nil
	}
	for n := int64(1); ; n++ {
		line, err := readLine(br, n)
		if err == io.EOF {
			break
		}
		if err != nil {
			bw.Flush()
			return err
		}
		if have && len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if len(cur)+len(line) > MaxHeaderLine {
				return lineError(start, 1, "header longer than %d bytes", MaxHeaderLine)
			}
			cur = append(cur, line...) // RFC 5322 §2.2.3: unfolding
			continue
		}
		if err := emit(); err != nil {
			return err
		}
		cur, start, have = append(cur[:0], line...), n, true
	}
	if err := emit(); err != nil {
		return err
	}
	return bw.Flush()
}

// readLine returns the next line without its LF or CR LF.
func readLine(br *bufio.Reader, n int64) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, lineError(n, MaxHeaderLine+1, "line longer than %d bytes", MaxHeaderLine)
	}
	if err == io.EOF && len(line) > 0 {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

// atLine moves a line-1 *SyntaxError to line n.
func atLine(err error, n int64) error {
	var se *SyntaxError
	if errors.As(err, &se) && se.Line <= 1 {
		se.Line = n
		if se.Column == 0 {
			se.Column = 1
		}
	}
	return err
}
