package imapd

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/emersion/go-imap/v2"
)

// The header cache stores each message's ENVELOPE in a compact binary
// form, so that FETCH ENVELOPE and SEARCH FROM/TO/CC/BCC/SUBJECT/SENT*
// read neither the message nor its header:
//
//	date: varint unix seconds, varint zone offset seconds (0, 0 = none)
//	subject, message-id: uvarint length + bytes
//	6 address lists (From, Sender, Reply-To, To, Cc, Bcc): uvarint count,
//	  then name, mailbox, host as strings
//	in-reply-to: uvarint count, strings

var errBadEnvelope = errors.New("bad cached envelope")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeEnvelope(env *imap.Envelope) []byte {
	b := make([]byte, 0, 256)
	if env.Date.IsZero() {
		b = binary.AppendVarint(b, 0)
		b = binary.AppendVarint(b, 0)
	} else {
		_, off := env.Date.Zone()
		b = binary.AppendVarint(b, env.Date.Unix())
		b = binary.AppendVarint(b, int64(off))
	}
	b = appendString(b, env.Subject)
	b = appendString(b, env.MessageID)
	for _, l := range [][]imap.Address{env.From, env.Sender, env.ReplyTo, env.To, env.Cc, env.Bcc} {
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, a := range l {
			b = appendString(b, a.Name)
			b = appendString(b, a.Mailbox)
			b = appendString(b, a.Host)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(env.InReplyTo)))
	for _, s := range env.InReplyTo {
		b = appendString(b, s)
	}
	return b
}

type envDecoder struct {
	b   []byte
	err bool
}

func (d *envDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *envDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *envDecoder) str() string {
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		d.err = true
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func decodeEnvelope(b []byte) (*imap.Envelope, error) {
	d := &envDecoder{b: b}
	env := &imap.Envelope{}
	sec, off := d.varint(), d.varint()
	if sec != 0 || off != 0 {
		env.Date = time.Unix(sec, 0).In(time.FixedZone("", int(off)))
	}
	env.Subject = d.str()
	env.MessageID = d.str()
	lists := []*[]imap.Address{&env.From, &env.Sender, &env.ReplyTo, &env.To, &env.Cc, &env.Bcc}
	for _, l := range lists {
		n := d.uvarint()
		if d.err || n > uint64(len(d.b)) {
			return nil, errBadEnvelope
		}
		for i := uint64(0); i < n; i++ {
			*l = append(*l, imap.Address{Name: d.str(), Mailbox: d.str(), Host: d.str()})
		}
	}
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		return nil, errBadEnvelope
	}
	for i := uint64(0); i < n; i++ {
		env.InReplyTo = append(env.InReplyTo, d.str())
	}
	if d.err || len(d.b) != 0 {
		return nil, errBadEnvelope
	}
	return env, nil
}
