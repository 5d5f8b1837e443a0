package sendmail

import (
	"strings"
	"testing"
)

// Command lines as real callers write them.
func TestNormalize(t *testing.T) {
	tests := []struct {
		caller string
		name   string
		args   string
		want   string
		notes  int
	}{
		{"cron (Debian cronie)", "sendmail", "-FCronDaemon -i -B8BITMIME -oem root", "--fullname=CronDaemon --ignore-dots --body-type=8BITMIME -- root", 1},
		{"cron (vixie)", "/usr/sbin/sendmail", "-FCronDaemon -odi -oem -oi -t", "--fullname=CronDaemon --ignore-dots --read-recipients --", 2},
		{"mutt", "sendmail", "-oem -oi -- bob@example.org carol@example.org", "--ignore-dots -- bob@example.org carol@example.org", 1},
		{"neomutt with envelope from", "sendmail", "-oem -oi -f me@example.org -- bob@example.org", "--ignore-dots --from=me@example.org -- bob@example.org", 1},
		{"git send-email", "sendmail", "-i bob@example.org -f me@example.org", "--ignore-dots --from=me@example.org -- bob@example.org", 0},
		{"PHP mail()", "sendmail", "-t -i", "--read-recipients --ignore-dots --", 0},
		{"PHP mail() with -f", "sendmail", "-t -i -fwww@example.org", "--read-recipients --ignore-dots --from=www@example.org --", 0},
		{"-r is -f", "sendmail", "-r a@b x@y", "--from=a@b -- x@y", 0},
		{"smtp on stdin", "sendmail", "-bs", "--mode=bs --", 0},
		{"mailq", "mailq", "", "--mode bp --", 0},
		{"list queue", "sendmail", "-bp", "--mode=bp --", 0},
		{"run queue", "sendmail", "-q", "--queue-run --", 0},
		{"queue daemon", "sendmail", "-q30m", "--queue-run --queue-interval=30m --", 0},
		{"dsn", "sendmail", "-N failure,delay -R hdrs -V abc x@y", "--notify=failure,delay --ret=hdrs --envid=abc -- x@y", 0},
		{"config", "sendmail", "-C /etc/m.conf -bp", "--config=/etc/m.conf --mode=bp --", 0},
		{"long options pass", "sendmail", "--queue /var/q --json -bp", "--queue /var/q --json --mode=bp --", 0},
		{"dash-dash protects recipients", "sendmail", "-- -weird@example.org", "-- -weird@example.org", 0},
		{"ignored with value", "sendmail", "-h 3 -L mylabel x@y", "-- x@y", 2},
		{"verbose", "sendmail", "-v x@y", "--verbose -- x@y", 0},
	}
	for _, tt := range tests {
		var args []string
		if tt.args != "" {
			args = strings.Fields(tt.args)
		}
		out, notes, err := Normalize(tt.name, args)
		if err != nil {
			t.Errorf("%s: %v", tt.caller, err)
			continue
		}
		if got := strings.Join(out, " "); got != tt.want {
			t.Errorf("%s: %q\n got  %s\n want %s", tt.caller, tt.args, got, tt.want)
		}
		if len(notes) != tt.notes {
			t.Errorf("%s: notes %q, want %d", tt.caller, notes, tt.notes)
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	for _, args := range []string{"-f", "-bd", "-bz", "-qRexample.org", "-Z", "-tx"} {
		if _, _, err := Normalize("sendmail", strings.Fields(args)); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
