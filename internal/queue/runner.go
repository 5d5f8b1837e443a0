package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Result is the outcome of one delivery attempt for one recipient.
type Result struct {
	OK        bool   // the next hop accepted the recipient and the message
	Temporary bool   // a 4xx reply or a connection failure: try again later
	Status    string // RFC 3463 enhanced status code, e.g. "5.1.1"
	Text      string // the reply or error, for mailq and the DSN
	RemoteMTA string // the host that answered, if any
}

// Transport delivers a queued message. Deliver gets the recipients still
// pending and returns one Result per recipient, in the same order.
type Transport interface {
	Deliver(ctx context.Context, env *Envelope, rcpts []*Recipient, msg io.ReaderAt, size int64) []Result
}

// Runner delivers what is due in a queue.
type Runner struct {
	Queue     *Queue
	Transport Transport
	// Retry is the wait after the n-th failed attempt; the last entry
	// repeats. Default: 1m, 5m, 15m, 30m, 1h, 2h, 4h (the first retry
	// within minutes, then growing, as RFC 5321 §4.5.4.1 advises).
	Retry []time.Duration
	// Expire is how long a message may stay queued (RFC 5321 §4.5.4.1
	// suggests 4-5 days). Default 5 days.
	Expire time.Duration
	// WarnAfter sends a "delayed" DSN once; 0 disables. Default 4h.
	WarnAfter time.Duration
	// Hostname names this MTA in DSNs.
	Hostname string
	// Postmaster receives double bounces; default "postmaster".
	Postmaster string
	Logger     *slog.Logger
	Now        func() time.Time
	// Workers is how many entries are delivered at once; default 8.
	// Each entry is locked, so runners in other processes never take
	// the same one.
	Workers int
}

// DefaultRetry returns the default retry schedule.
func DefaultRetry() []time.Duration {
	return []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}
}

// withDefaults returns a copy of r with its zero fields filled in, so
// that a run never writes to the Runner its caller holds.
func (r Runner) withDefaults() *Runner {
	if len(r.Retry) == 0 {
		r.Retry = DefaultRetry()
	}
	if r.Expire == 0 {
		r.Expire = 5 * 24 * time.Hour
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Postmaster == "" {
		r.Postmaster = "postmaster"
	}
	if r.Hostname == "" {
		r.Hostname = r.Queue.hostname
	}
	if r.Workers <= 0 {
		r.Workers = 8
	}
	return &r
}

// Stats counts what a run did.
type Stats struct {
	Tried, Delivered, Deferred, Failed, Bounces int
}

// RunOnce tries every entry that is due (all of them when force is set,
// as "sendmail -q" does by hand) and returns what happened.
func (r *Runner) RunOnce(ctx context.Context, force bool) (Stats, error) {
	return r.withDefaults().runOnce(ctx, force)
}

func (r *Runner) runOnce(ctx context.Context, force bool) (Stats, error) {
	ids, err := r.Queue.ids()
	if err != nil {
		return Stats{}, err
	}
	work := make(chan string)
	results := make(chan Stats)
	for w := 0; w < r.Workers; w++ {
		go func() {
			var st Stats
			for id := range work {
				r.tryEntry(ctx, id, force, &st)
			}
			results <- st
		}()
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		work <- id
	}
	close(work)
	var total Stats
	for w := 0; w < r.Workers; w++ {
		st := <-results
		total.Tried += st.Tried
		total.Delivered += st.Delivered
		total.Deferred += st.Deferred
		total.Failed += st.Failed
		total.Bounces += st.Bounces
	}
	return total, ctx.Err()
}

// tryEntry delivers one entry if it is due and no other runner has it.
func (r *Runner) tryEntry(ctx context.Context, id string, force bool, st *Stats) {
	e, err := r.Queue.Lock(id)
	if errors.Is(err, ErrLocked) || errors.Is(err, ErrGone) {
		return
	}
	if err != nil {
		r.Logger.Error("queue entry unreadable", "id", id, "err", err)
		return
	}
	defer e.Close()
	if force || !r.Now().Before(e.Env.NextTry) {
		if err := r.runEntry(ctx, e, st); err != nil {
			r.Logger.Error("queue entry", "id", id, "err", err)
		}
	}
}

func (r *Runner) runEntry(ctx context.Context, e *Entry, st *Stats) error {
	env := e.Env
	now := r.Now().UTC()
	pending := env.Pending()
	st.Tried++
	if len(pending) > 0 {
		msg, err := e.Message()
		if err != nil {
			return err
		}
		results := r.Transport.Deliver(ctx, env, pending, msg, msg.Size())
		if len(results) != len(pending) {
			return fmt.Errorf("transport returned %d results for %d recipients", len(results), len(pending))
		}
		for i, rc := range pending {
			res := results[i]
			rc.Attempts++
			rc.LastTry = now
			rc.Status = res.Status
			rc.LastError = res.Text
			rc.RemoteMTA = res.RemoteMTA
			switch {
			case res.OK:
				rc.State = Delivered
				rc.LastError = ""
				st.Delivered++
				r.Logger.Info("delivered", "id", env.ID, "rcpt", rc.Addr, "relay", res.RemoteMTA, "reply", res.Text)
			case res.Temporary:
				st.Deferred++
				r.Logger.Info("deferred", "id", env.ID, "rcpt", rc.Addr, "relay", res.RemoteMTA, "reply", res.Text)
			default:
				rc.State = Failed
				st.Failed++
				r.Logger.Info("failed", "id", env.ID, "rcpt", rc.Addr, "relay", res.RemoteMTA, "reply", res.Text)
			}
		}
	}
	// Expiry: RFC 5321 §4.5.4.1; status 4.4.7 "delivery time expired".
	expired := now.Sub(env.Created) >= r.Expire
	var newlyFailed []*Recipient
	for i := range env.Recipients {
		rc := &env.Recipients[i]
		if rc.State == Pending && expired {
			rc.State = Failed
			rc.Status = "4.4.7"
			rc.LastError = "message expired after " + r.Expire.String() + "; last error: " + rc.LastError
			st.Failed++
		}
	}
	for i := range env.Recipients {
		rc := &env.Recipients[i]
		if rc.State == Failed && !rc.Reported {
			newlyFailed = append(newlyFailed, rc)
		}
	}
	if len(newlyFailed) > 0 {
		sent, err := r.bounce(e, newlyFailed, Failed)
		if err != nil {
			return err
		}
		if sent {
			st.Bounces++
		}
		for _, rc := range newlyFailed {
			rc.Reported = true
		}
	}
	if len(env.Pending()) == 0 {
		return e.Remove()
	}
	if r.WarnAfter > 0 && !env.WarnSent && now.Sub(env.Created) >= r.WarnAfter {
		if _, err := r.bounce(e, env.Pending(), Pending); err != nil {
			return err
		}
		env.WarnSent = true
	}
	attempts := 0
	for _, rc := range env.Pending() {
		attempts = max(attempts, rc.Attempts)
	}
	wait := r.Retry[min(max(attempts-1, 0), len(r.Retry)-1)]
	env.NextTry = now.Add(wait)
	return e.Save()
}

// bounce queues a DSN about rcpts to the sender of e. A message with the
// null sender is never bounced (RFC 5321 §4.5.5); its failure goes to the
// postmaster instead (a double bounce), and a failed double bounce is
// only logged.
func (r *Runner) bounce(e *Entry, rcpts []*Recipient, action State) (sent bool, err error) {
	env := e.Env
	to := env.From
	double := false
	if to == "" {
		if action != Failed || strings.HasPrefix(env.Received, "double-bounce") {
			r.Logger.Warn("not bouncing a bounce", "id", env.ID)
			return false, nil
		}
		to, double = r.Postmaster, true
	}
	var want []*Recipient
	for _, rc := range rcpts {
		if notifies(rc.Notify, action) {
			want = append(want, rc)
		}
	}
	if len(want) == 0 {
		return false, nil
	}
	msg, err := e.Message()
	if err != nil {
		return false, err
	}
	report, err := BuildDSN(DSN{
		Reporter:   r.Hostname,
		Env:        env,
		Recipients: want,
		Action:     action,
		To:         to,
		Now:        r.Now(),
		Original:   msg,
	})
	if err != nil {
		return false, err
	}
	received := "bounce of " + env.ID
	if double {
		received = "double-bounce of " + env.ID
	}
	id, err := r.Queue.Enqueue(Envelope{From: "", Recipients: []Recipient{{Addr: to}}, Received: received}, report)
	if err != nil {
		return false, err
	}
	r.Logger.Info("dsn queued", "id", env.ID, "dsn", id, "to", to, "action", string(action))
	return true, nil
}

// notifies applies a recipient's NOTIFY parameter (RFC 3461 §4.1). With
// none, failures are reported and delays too, as most MTAs do.
func notifies(notify string, action State) bool {
	if notify == "" {
		return true
	}
	n := strings.ToUpper(notify)
	if strings.Contains(n, "NEVER") {
		return false
	}
	switch action {
	case Failed:
		return strings.Contains(n, "FAILURE")
	case Pending:
		return strings.Contains(n, "DELAY")
	}
	return false
}
