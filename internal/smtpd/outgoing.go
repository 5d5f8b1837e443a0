package smtpd

import (
	"context"
	"io"
	"strings"

	"mailtk/internal/queue"
	"mailtk/internal/smtp"
)

// Outgoing is the Queue that smtpd and sendmail use: the durable
// outgoing queue of internal/queue, run by "sendmail -q". Enqueue returns
// only once message and envelope are fsynced, so the 250 reply to DATA
// is never a promise the disk has not kept.
type Outgoing struct {
	Queue *queue.Queue
	// Received says where queued mail came from, for mailq and logs.
	Received string
}

// Enqueue implements Queue, carrying the DSN parameters (RFC 3461) into
// the queue's envelope.
func (o Outgoing) Enqueue(ctx context.Context, env *smtp.Envelope, rcpts []string, msg io.Reader) (string, error) {
	// The queue keeps DSN values decoded; the SMTP client encodes them
	// again for the next hop.
	envID, err := smtp.DecodeXtext(env.MailParams.EnvID)
	if err != nil {
		envID = ""
	}
	qe := queue.Envelope{
		From:     env.From.Addr(),
		RET:      strings.ToUpper(env.MailParams.Ret),
		EnvID:    envID,
		Body:     strings.ToUpper(env.MailParams.Body),
		SMTPUTF8: env.MailParams.SMTPUTF8,
		Received: o.Received + " " + env.ID,
	}
	for _, addr := range rcpts {
		r := queue.Recipient{Addr: addr}
		// A recipient reached through an alias has no RCPT parameters
		// of its own; one named in RCPT TO keeps them.
		for _, rc := range env.Rcpts {
			if strings.EqualFold(rc.Path.Addr(), addr) {
				r.Notify = rc.Params.Notify
				if typ, addr, ok := strings.Cut(rc.Params.ORcpt, ";"); ok {
					if dec, err := smtp.DecodeXtext(addr); err == nil {
						r.ORCPT = typ + ";" + dec
					}
				}
				break
			}
		}
		qe.Recipients = append(qe.Recipients, r)
	}
	return o.Queue.Enqueue(qe, msg)
}
