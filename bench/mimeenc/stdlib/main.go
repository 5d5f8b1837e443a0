// Command stdlib is the Go standard library baseline for bench/mimeenc:
// encoding/base64 (76-column lines, the same output as base64 -w 76) and
// mime/quotedprintable, reading stdin and writing stdout with 1 MiB
// buffers. It is only a benchmark peer.
//
//	stdlib b64 [-d] < in > out
//	stdlib qp [-b] [-d] < in > out
package main

import (
	"bufio"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"os"
	"slices"
)

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: stdlib b64|qp [-b] [-d]\n")
		os.Exit(64)
	}
	dec := slices.Contains(os.Args[2:], "-d")
	bin := slices.Contains(os.Args[2:], "-b")
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	var err error
	switch {
	case os.Args[1] == "b64" && dec:
		_, err = io.Copy(out, base64.NewDecoder(base64.StdEncoding, in)) // skips CR and LF
	case os.Args[1] == "b64":
		err = b64Encode(in, out)
	case dec:
		_, err = io.Copy(out, quotedprintable.NewReader(in))
	default:
		w := quotedprintable.NewWriter(out)
		w.Binary = bin
		if _, err = io.Copy(w, in); err == nil {
			err = w.Close()
		}
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		os.Stderr.WriteString("stdlib: " + err.Error() + "\n")
		os.Exit(1)
	}
}

// b64Encode writes 76-column lines: 57 input bytes per line.
func b64Encode(r io.Reader, w io.Writer) error {
	const lines = 4096
	in := make([]byte, 57*lines)
	out := make([]byte, 77*lines)
	for {
		n, err := io.ReadFull(r, in)
		o := 0
		for i := 0; i < n; i += 57 {
			j := min(i+57, n)
			base64.StdEncoding.Encode(out[o:], in[i:j])
			o += base64.StdEncoding.EncodedLen(j - i)
			out[o] = '\n'
			o++
		}
		if _, werr := w.Write(out[:o]); werr != nil {
			return werr
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
