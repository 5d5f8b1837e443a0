package imapd

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	envs := []*imap.Envelope{
		{},
		{
			Date:      time.Date(1996, 7, 17, 2, 23, 25, 0, time.FixedZone("", -7*3600)),
			Subject:   "IMAP4rev1 WG mtg summary and minutes",
			From:      []imap.Address{{Name: "Terry Gray", Mailbox: "gray", Host: "cac.washington.edu"}},
			To:        []imap.Address{{Mailbox: "imap", Host: "cac.washington.edu"}},
			Cc:        []imap.Address{{Mailbox: "minutes", Host: "CNRI.Reston.VA.US"}, {Name: "John Klensin", Mailbox: "KLENSIN", Host: "MIT.EDU"}},
			InReplyTo: []string{"a@b", "c@d"},
			MessageID: "B27397-0100000@cac.washington.edu",
		},
		{Subject: "Grüße aus Köln", From: []imap.Address{{Name: "Jürgen", Mailbox: "j", Host: "example.org"}}},
	}
	for _, env := range envs {
		got, err := decodeEnvelope(encodeEnvelope(env))
		if err != nil {
			t.Fatalf("%+v: %v", env, err)
		}
		if !got.Date.Equal(env.Date) || got.Subject != env.Subject || got.MessageID != env.MessageID ||
			len(got.From) != len(env.From) || len(got.Cc) != len(env.Cc) || !reflect.DeepEqual(got.InReplyTo, env.InReplyTo) {
			t.Errorf("round trip: got %+v, want %+v", got, env)
		}
		if _, off := got.Date.Zone(); !env.Date.IsZero() {
			if _, want := env.Date.Zone(); off != want {
				t.Errorf("zone %d, want %d", off, want)
			}
		}
	}
	for _, bad := range [][]byte{nil, {0}, {0, 0, 5, 'a'}, bytes.Repeat([]byte{0xff}, 20)} {
		if _, err := decodeEnvelope(bad); err == nil {
			t.Errorf("decodeEnvelope(%q) succeeded", bad)
		}
	}
}

// FuzzDecodeEnvelope: any bytes (a damaged cache file) decode without a
// panic, and what decodes re-encodes to something that decodes the same.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(encodeEnvelope(&imap.Envelope{Subject: "x", From: []imap.Address{{Name: "n", Mailbox: "m", Host: "h"}}}))
	f.Add(encodeEnvelope(&imap.Envelope{}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		again, err := decodeEnvelope(encodeEnvelope(env))
		if err != nil || again.Subject != env.Subject || !again.Date.Equal(env.Date) || len(again.To) != len(env.To) {
			t.Fatalf("re-encoding changed %+v into %+v (%v)", env, again, err)
		}
	})
}

// FuzzCacheFile: a damaged imapd-cache never crashes the reader, and
// every record it accepts has a key and an envelope.
func FuzzCacheFile(f *testing.F) {
	c := &headerCache{}
	c.put("1.M1P1.host,S=5", &imap.Envelope{Subject: "s"})
	f.Add(c.pending.Bytes())
	f.Add([]byte("R\x01k\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for off := 0; off < len(b); {
			key, hoff, hlen, next, ok := parseRecord(b, off)
			_ = key
			if !ok {
				break
			}
			if next <= off || hoff+hlen > len(b) {
				t.Fatalf("bad record bounds")
			}
			decodeEnvelope(b[hoff : hoff+hlen])
			off = next
		}
	})
}
