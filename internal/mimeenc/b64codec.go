package mimeenc

import (
	stdbase64 "encoding/base64"

	simdbase64 "github.com/segmentio/asm/base64"
)

// b64Codec is the block codec under the streaming base64 Writer and
// Reader: whole quanta in, whole quanta out, no line breaks. Two exist:
// the SIMD one (github.com/segmentio/asm, AVX2 on amd64, NEON on arm64,
// falling back to encoding/base64 elsewhere and for short tails) and the
// portable one (encoding/base64 alone). Tests check they agree.
type b64Codec struct {
	encode func(dst, src []byte)
	decode func(dst, src []byte) (int, error)
}

func newB64Codec(portable bool) b64Codec {
	if portable {
		return b64Codec{stdbase64.StdEncoding.Encode, stdbase64.StdEncoding.Decode}
	}
	return b64Codec{simdbase64.StdEncoding.Encode, simdbase64.StdEncoding.Decode}
}

// b64Alphabet is RFC 2045 §6.8 Table 1.
const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// Classes in b64Class beyond the 6-bit values 0..63.
const (
	b64Pad     = 0xFD // '='
	b64Space   = 0xFE // white space and line breaks, ignored (RFC 2045 §6.8)
	b64Invalid = 0xFF
)

// b64Class maps an encoded byte to its 6-bit value or its class.
var b64Class = func() (t [256]byte) {
	for i := range t {
		t[i] = b64Invalid
	}
	for i := 0; i < len(b64Alphabet); i++ {
		t[b64Alphabet[i]] = byte(i)
	}
	t['='] = b64Pad
	for _, c := range []byte(" \t\r\n\f\v") {
		t[c] = b64Space
	}
	return t
}()
