package mimeenc

import "fmt"

// SyntaxError reports malformed encoded input. For quoted-printable and
// header words Line and Column are set (both from 1, columns counted in
// bytes); for base64 Offset is (from 0, in bytes of the encoded input).
type SyntaxError struct {
	Line, Column int64 // quoted-printable and encoded words; 0 if unused
	Offset       int64 // base64; -1 if unused
	Msg          string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("byte offset %d: %s", e.Offset, e.Msg)
}

func lineError(line, col int64, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: line, Column: col, Offset: -1, Msg: fmt.Sprintf(format, args...)}
}

func offsetError(off int64, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// quoteByte shows a byte in an error message: printable ASCII as itself,
// anything else as hex.
func quoteByte(c byte) string {
	if c > ' ' && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("0x%02X", c)
}
