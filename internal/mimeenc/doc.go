// Package mimeenc holds the MIME content-transfer-encodings and header
// encodings as streaming codecs: quoted-printable (RFC 2045 §6.7), base64
// (RFC 2045 §6.8) and RFC 2047 encoded-words ("Q" and "B").
//
// Every encoder is an io.WriteCloser (and an io.ReaderFrom, so io.Copy
// uses its own large buffers); every decoder is an io.Reader (and an
// io.WriterTo). They use constant memory whatever the input size and do
// no per-byte allocation. A decoder reports malformed input as a
// *SyntaxError that names the position: line and column for
// quoted-printable, the byte offset for base64. Data decoded before the
// error has already been returned; a caller must not treat it as complete.
//
// ReadFrom (encoders) and WriteTo (decoders) read their source in a second
// goroutine, in blocks, so that reading and coding overlap on two cores;
// the goroutine has left the source when they return. Like Read, they may
// have read the source further than what they consumed before an error.
//
// The packages qpenc and b64mime are the command-line filters built on
// it; mimepack uses it for message parts.
package mimeenc
