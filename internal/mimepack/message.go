package mimepack

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"mailtk/internal/exitcode"
)

// Build writes the message m to w: RFC 5322 header fields (Date,
// Message-ID, From, To, Cc, Subject, RFC 2047 where needed), MIME-Version
// and the MIME body (RFC 2045, 2046), streaming every part.
func (a *App) Build(w io.Writer, m *Message) error {
	b := &builder{app: a, msg: m}
	defer b.cleanup()
	secure := m.SignCmd != "" || m.EncryptCmd != ""
	if secure {
		// RFC 1847 §2.1 / RFC 3156 §3: the protected part must survive
		// any transport unchanged, so 7bit only.
		cp := *m
		cp.SevenBit = true
		b.msg = &cp
	}
	head, err := a.topHeader(m)
	if err != nil {
		return err
	}
	root, err := b.tree()
	if err != nil {
		return err
	}
	if err := b.assignBoundaries(root); err != nil {
		return err
	}
	var dst io.Writer = w
	if m.CRLF {
		dst = lfToCRLF{w}
	}
	out := bufio.NewWriterSize(dst, 64<<10)
	if _, err := out.WriteString(head); err != nil {
		return err
	}
	if secure {
		err = b.writeSecure(out, root)
	} else {
		err = writeNode(out, root, nil)
	}
	if err != nil {
		return err
	}
	return out.Flush()
}

// topHeader returns the message's own header fields, MIME-Version last.
func (a *App) topHeader(m *Message) (string, error) {
	var h strings.Builder
	h.WriteString("Date: " + a.Now().Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\n")
	if m.From != "" {
		from, err := addressList("from", []string{m.From})
		if err != nil {
			return "", exitcode.New(exitcode.Usage, err)
		}
		h.WriteString(foldList("From", from))
	}
	for _, f := range []struct {
		name, opt string
		v         []string
	}{{"To", "to", m.To}, {"Cc", "cc", m.Cc}} {
		if len(f.v) == 0 {
			continue
		}
		list, err := addressList(f.opt, f.v)
		if err != nil {
			return "", exitcode.New(exitcode.Usage, err)
		}
		h.WriteString(foldList(f.name, list))
	}
	if m.Subject != "" {
		if strings.ContainsAny(m.Subject, "\r\n\x00") {
			return "", exitcode.Errorf(exitcode.Usage, "--subject: line break or NUL")
		}
		h.WriteString(fold("Subject", encodeText(m.Subject)))
	}
	id, err := a.messageID()
	if err != nil {
		return "", err
	}
	h.WriteString("Message-ID: " + id + "\n")
	for _, x := range m.Headers {
		f, err := extraHeader(x)
		if err != nil {
			return "", exitcode.New(exitcode.Usage, err)
		}
		h.WriteString(f)
	}
	h.WriteString("MIME-Version: 1.0\n")
	return h.String(), nil
}

// messageID makes a unique Message-ID (RFC 5322 §3.6.4): time, 96 random
// bits, and the host name.
func (a *App) messageID() (string, error) {
	var r [12]byte
	if _, err := io.ReadFull(a.Rand, r[:]); err != nil {
		return "", exitcode.New(exitcode.OSErr, err)
	}
	host := a.Hostname
	if host == "" || strings.ContainsAny(host, "<>@ \t") {
		host = "localhost"
	}
	return fmt.Sprintf("<%d.%s@%s>", a.Now().Unix(), hex.EncodeToString(r[:]), host), nil
}
