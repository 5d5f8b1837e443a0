package queue

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// MaxReturnedBody is the largest original message a DSN carries whole;
// beyond it only the header is returned, as if RET=HDRS.
const MaxReturnedBody = 1 << 20

// DSN describes a delivery status notification to build.
type DSN struct {
	Reporter   string // this MTA's host name (Reporting-MTA)
	Env        *Envelope
	Recipients []*Recipient
	Action     State // Failed ("failed") or Pending ("delayed")
	To         string
	Now        time.Time
	Original   io.ReaderAt
}

// BuildDSN returns an RFC 3464 delivery status notification: a
// multipart/report (RFC 6522) with a human-readable part, the
// message/delivery-status part and the original message or its header
// (RFC 3461 §4.3 RET).
func BuildDSN(d DSN) (io.Reader, error) {
	var rnd [12]byte
	rand.Read(rnd[:])
	boundary := "=_dsn_" + hex.EncodeToString(rnd[:])
	date := d.Now.Format(time.RFC1123Z)
	failed := d.Action == Failed

	var b bytes.Buffer
	subject := "Undelivered Mail Returned to Sender"
	if !failed {
		subject = "Delayed Mail (still being retried)"
	}
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\n", d.Reporter)
	fmt.Fprintf(&b, "To: <%s>\n", d.To)
	fmt.Fprintf(&b, "Subject: %s\n", subject)
	fmt.Fprintf(&b, "Date: %s\n", date)
	fmt.Fprintf(&b, "Message-ID: <%d.%s.dsn@%s>\n", d.Now.Unix(), hex.EncodeToString(rnd[:6]), d.Reporter)
	// RFC 3834 §5: automatic responses must say so, so that
	// autoresponders do not answer them.
	b.WriteString("Auto-Submitted: auto-replied\n")
	b.WriteString("MIME-Version: 1.0\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"%s\"\n\n", boundary)
	b.WriteString("This is a MIME-encapsulated message.\n\n")

	fmt.Fprintf(&b, "--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n", boundary)
	fmt.Fprintf(&b, "This is the mail system at host %s.\n\n", d.Reporter)
	if failed {
		b.WriteString("Your message could not be delivered to one or more recipients.\nIt is attached below.\n\n")
	} else {
		b.WriteString("Your message could not be delivered yet to one or more recipients.\nThe mail system will keep trying; you do not need to send it again.\n\n")
	}
	for _, rc := range d.Recipients {
		fmt.Fprintf(&b, "<%s>: %s\n", rc.Addr, oneLine(rc.LastError))
	}
	b.WriteString("\n")

	fmt.Fprintf(&b, "--%s\nContent-Type: message/delivery-status\n\n", boundary)
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\n", d.Reporter)
	if d.Env.EnvID != "" {
		fmt.Fprintf(&b, "Original-Envelope-Id: %s\n", oneLine(d.Env.EnvID))
	}
	fmt.Fprintf(&b, "Arrival-Date: %s\n", d.Env.Created.Format(time.RFC1123Z))
	for _, rc := range d.Recipients {
		b.WriteString("\n")
		fmt.Fprintf(&b, "Final-Recipient: rfc822; %s\n", rc.Addr)
		if rc.ORCPT != "" {
			fmt.Fprintf(&b, "Original-Recipient: %s\n", oneLine(rc.ORCPT))
		}
		status := rc.Status
		if failed {
			b.WriteString("Action: failed\n")
			if status == "" {
				status = "5.0.0"
			}
		} else {
			b.WriteString("Action: delayed\n")
			if status == "" || status[0] != '4' {
				status = "4.0.0"
			}
		}
		fmt.Fprintf(&b, "Status: %s\n", status)
		if rc.RemoteMTA != "" {
			fmt.Fprintf(&b, "Remote-MTA: dns; %s\n", oneLine(rc.RemoteMTA))
		}
		if rc.LastError != "" {
			fmt.Fprintf(&b, "Diagnostic-Code: smtp; %s\n", oneLine(rc.LastError))
		}
		if !rc.LastTry.IsZero() {
			fmt.Fprintf(&b, "Last-Attempt-Date: %s\n", rc.LastTry.Format(time.RFC1123Z))
		}
	}
	b.WriteString("\n")

	orig := io.NewSectionReader(d.Original, 0, d.Env.Size)
	full := !strings.EqualFold(d.Env.RET, "HDRS") && d.Env.Size <= MaxReturnedBody
	if full {
		fmt.Fprintf(&b, "--%s\nContent-Type: message/rfc822\n\n", boundary)
		if _, err := io.Copy(&b, orig); err != nil {
			return nil, err
		}
		if b.Len() > 0 && b.Bytes()[b.Len()-1] != '\n' {
			b.WriteByte('\n')
		}
	} else {
		fmt.Fprintf(&b, "--%s\nContent-Type: text/rfc822-headers\n\n", boundary)
		sc := bufio.NewScanner(orig)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() && sc.Text() != "" {
			b.WriteString(sc.Text())
			b.WriteByte('\n')
		}
	}
	fmt.Fprintf(&b, "\n--%s--\n", boundary)
	return &b, nil
}

// oneLine keeps a diagnostic on one header line: no CR, LF or other
// control characters from a remote reply reach the DSN's structure.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
