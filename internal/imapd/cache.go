package imapd

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/emersion/go-imap/v2"
)

// The header cache.
//
// FETCH ENVELOPE and SEARCH on the envelope header fields would otherwise
// open every message. A per-folder file, imapd-cache beside
// dovecot-uidlist, holds the ENVELOPE of each message, keyed by the
// message's unique key. A key never changes and a message's content
// never changes, so a record is valid for as long as its message exists:
// the cache never goes stale, it only collects records of deleted
// messages, and is rewritten without them when they are the majority.
//
// The file is a sequence of records, each appended with one write(2) on
// an O_APPEND descriptor so that concurrent imapd processes can share it:
//
//	'R' uvarint(len key) key uvarint(len env) env crc32(key+env)
//
// with env as encodeEnvelope writes it.
//
// Reading stops at the first damaged record (a crash mid-write, another
// program's garbage); the cache is advisory, so the worst case is reading
// messages again.

const (
	cacheFile    = "imapd-cache"
	maxCacheFile = 256 << 20
	maxCacheHdr  = 16 << 10
)

// envelopeFields are the header fields SEARCH answers from the cached
// envelope.
var envelopeFields = map[string]bool{"subject": true, "from": true, "to": true, "cc": true, "bcc": true}

type headerCache struct {
	path    string
	loaded  bool
	data    []byte
	index   map[string][2]int // key -> offset, length in data
	pending bytes.Buffer
}

func openHeaderCache(dir string) *headerCache {
	return &headerCache{path: filepath.Join(dir, cacheFile)}
}

func (c *headerCache) load() {
	if c.loaded {
		return
	}
	c.loaded = true
	c.index = map[string][2]int{}
	f, err := os.Open(c.path)
	if err != nil {
		return
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCacheFile))
	if err != nil {
		return
	}
	c.data = b
	for off := 0; off < len(b); {
		key, hoff, hlen, next, ok := parseRecord(b, off)
		if !ok {
			break
		}
		c.index[key] = [2]int{hoff, hlen}
		off = next
	}
}

func parseRecord(b []byte, off int) (key string, hoff, hlen, next int, ok bool) {
	if off >= len(b) || b[off] != 'R' {
		return
	}
	p := off + 1
	kl, n := binary.Uvarint(b[p:])
	if n <= 0 || kl > 4096 || p+n+int(kl) > len(b) {
		return
	}
	p += n
	key = string(b[p : p+int(kl)])
	kstart := p
	p += int(kl)
	hl, n := binary.Uvarint(b[p:])
	if n <= 0 || hl > maxCacheHdr || p+n+int(hl)+4 > len(b) {
		return
	}
	p += n
	hoff, hlen = p, int(hl)
	p += int(hl)
	sum := crc32.NewIEEE()
	sum.Write(b[kstart : kstart+int(kl)])
	sum.Write(b[hoff : hoff+hlen])
	if binary.BigEndian.Uint32(b[p:]) != sum.Sum32() {
		return
	}
	return key, hoff, hlen, p + 4, true
}

// get returns the cached envelope of key.
func (c *headerCache) get(key string) (*imap.Envelope, bool) {
	c.load()
	loc, ok := c.index[key]
	if !ok {
		return nil, false
	}
	env, err := decodeEnvelope(c.data[loc[0] : loc[0]+loc[1]])
	return env, err == nil
}

// put records the envelope of key; flush writes it.
func (c *headerCache) put(key string, env *imap.Envelope) {
	eb := encodeEnvelope(env)
	if len(eb) > maxCacheHdr || len(key) > 4096 {
		return
	}
	var rec bytes.Buffer
	rec.WriteByte('R')
	rec.Write(binary.AppendUvarint(nil, uint64(len(key))))
	rec.WriteString(key)
	rec.Write(binary.AppendUvarint(nil, uint64(len(eb))))
	rec.Write(eb)
	sum := crc32.NewIEEE()
	sum.Write([]byte(key))
	sum.Write(eb)
	rec.Write(binary.BigEndian.AppendUint32(nil, sum.Sum32()))
	c.pending.Write(rec.Bytes())
	if c.pending.Len() > 1<<20 {
		c.flush()
	}
}

// flush appends the pending records in one write.
func (c *headerCache) flush() {
	if c.pending.Len() == 0 {
		return
	}
	defer c.pending.Reset()
	if fi, err := os.Stat(c.path); err == nil && fi.Size() > maxCacheFile {
		return
	}
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	f.Write(c.pending.Bytes())
	f.Close()
}

// compact rewrites the file without records of messages not in live,
// when those are most of it.
func (c *headerCache) compact(live map[string]*entry) {
	c.load()
	dead := 0
	for k := range c.index {
		if _, ok := live[k]; !ok {
			dead++
		}
	}
	if dead < 1000 || dead*2 < len(c.index) {
		return
	}
	var out bytes.Buffer
	for off := 0; off < len(c.data); {
		key, _, _, next, ok := parseRecord(c.data, off)
		if !ok {
			break
		}
		if _, ok := live[key]; ok {
			out.Write(c.data[off:next])
		}
		off = next
	}
	// A failure leaves the old file, which is still correct, only larger.
	_ = writeFileAtomic(c.path, out.Bytes())
	c.loaded = false
	c.data = nil
}
