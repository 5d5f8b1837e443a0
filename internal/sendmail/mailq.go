package sendmail

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"mailtk/internal/queue"
)

// listQueue prints the queue in the classic mailq layout that
// postmasters read and scripts grep (Postfix's, which follows
// sendmail's): one block per entry with the ID, size, arrival time and
// sender, then each pending recipient under its last error.
func listQueue(w io.Writer, entries []queue.Envelope, now time.Time) {
	if len(entries) == 0 {
		fmt.Fprintln(w, "Mail queue is empty")
		return
	}
	fmt.Fprintln(w, "-Queue ID-                                      --Size-- ----Arrival Time---- -Sender/Recipient-------")
	var total int64
	for _, e := range entries {
		total += e.Size
		sender := e.From
		if sender == "" {
			sender = "MAILER-DAEMON"
		}
		mark := " "
		if !e.NextTry.After(now) {
			mark = "*" // due now (Postfix marks the active queue the same way)
		}
		fmt.Fprintf(w, "%-47s%s %8d %s  %s\n", e.ID, mark, e.Size, e.Created.Local().Format("Mon Jan _2 15:04:05"), sender)
		for _, rc := range e.Recipients {
			if rc.State != queue.Pending {
				continue
			}
			if rc.LastError != "" {
				fmt.Fprintf(w, "%75s(%s)\n", "", rc.LastError)
			}
			fmt.Fprintf(w, "%75s%s\n", "", rc.Addr)
		}
		fmt.Fprintln(w)
	}
	n := len(entries)
	req := "Requests"
	if n == 1 {
		req = "Request"
	}
	fmt.Fprintf(w, "-- %d Kbytes in %d %s.\n", (total+1023)/1024, n, req)
}

// listQueueJSON prints one JSON object per entry per line, for scripts.
func listQueueJSON(w io.Writer, entries []queue.Envelope) error {
	enc := json.NewEncoder(w)
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return err
		}
	}
	return nil
}
