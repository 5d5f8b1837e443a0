package mimeenc

import (
	"encoding/binary"
	"math/bits"
)

// Eight bytes at a time: the quoted-printable loops copy runs of plain
// characters a word at a time, as most of a text is plain.
const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// load8 reads 8 bytes as a little-endian word (one instruction on amd64
// and arm64).
func load8(p []byte) uint64 { return binary.LittleEndian.Uint64(p) }

// qpPlain8 reports whether all 8 bytes of x stand for themselves in
// quoted-printable (RFC 2045 §6.7 rules 2 and 3): printable ASCII or
// space, and no '='. Tab and the rest take the byte-by-byte path.
//
// Each test is the exact "has a byte ..." bit trick: below 0x20
// ((x-0x20..)&^x), at or above 0x7F ((x+0x01..)|x) and equal to '='
// (a zero byte in x^0x3D..); the carries they make can only set high
// bits in bytes above one that already matched.
func qpPlain8(x uint64) bool {
	y := x ^ ('=' * swarOnes)
	low := (x - 0x20*swarOnes) &^ x
	high := (x + swarOnes) | x
	eq := (y - swarOnes) &^ y
	return (low|high|eq)&swarHigh == 0
}

// qpSpecial8 returns a word whose lowest set bit is the high bit of the
// first byte of x (in memory order) that is not plain in quoted-printable
// text: below 0x20 (tab, CR, LF included), at or above 0x7F, or '='. It
// is 0 if all 8 are plain. Bits above the first match may be false.
func qpSpecial8(x uint64) uint64 {
	y := x ^ ('=' * swarOnes)
	low := (x - 0x20*swarOnes) &^ x
	high := (x + swarOnes) | x
	eq := (y - swarOnes) &^ y
	return (low | high | eq) & swarHigh
}

// firstByte is the index of the byte that qpSpecial8's result points at.
func firstByte(m uint64) int { return bits.TrailingZeros64(m) >> 3 }
