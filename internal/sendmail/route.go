package sendmail

import (
	"log/slog"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
	"mailtk/internal/queue"
)

// router decides, per recipient, between local delivery and the queue.
type router struct {
	hostname string
	q        *queue.Queue
}

func newRouter(c *cli.Context, hostname string) (*router, error) {
	q, err := openQueue(c)
	if err != nil {
		return nil, err
	}
	return &router{hostname: hostname, q: q}, nil
}

// route delivers the local recipients of env and queues the others. The
// message is read once.
func (r *router) route(c *cli.Context, log *slog.Logger, env queue.Envelope, p *Prepared) error {
	id, err := r.q.Enqueue(env, p.Message())
	if err != nil {
		if exitcode.Of(err) != exitcode.Software {
			return err // a data error from the message itself
		}
		return exitcode.New(exitcode.TempFail, err)
	}
	log.Info("queued", "id", id, "from", env.From, "rcpts", len(env.Recipients))
	return nil
}
