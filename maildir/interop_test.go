package maildir_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// imapScript is an independent IMAP client (Python's imaplib) that runs
// the actions given as JSON on stdin against INBOX and prints the results
// as JSON: UIDVALIDITY, UIDNEXT and every message's UID, flags, size and
// content as Dovecot reports them.
const imapScript = `
import imaplib, json, re, sys
req = json.load(sys.stdin)
host, port = req["addr"].rsplit(":", 1)
m = imaplib.IMAP4(host, int(port))
m.login(req["user"], req["password"])
out = {"appended": []}
for a in req.get("actions") or []:
    if a[0] == "store":
        typ, data = m.select("INBOX")
        typ, data = m.uid("STORE", a[1], a[2], "(" + a[3] + ")")
        assert typ == "OK", (typ, data)
    elif a[0] == "append":
        typ, data = m.append("INBOX", "(" + a[1] + ")", None, a[2].encode())
        assert typ == "OK", (typ, data)
        out["appended"].append(int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1)))
typ, data = m.status("INBOX", "(UIDVALIDITY UIDNEXT)")
st = data[0].decode()
out["uidvalidity"] = int(re.search(r"UIDVALIDITY (\d+)", st).group(1))
out["uidnext"] = int(re.search(r"UIDNEXT (\d+)", st).group(1))
typ, data = m.select("INBOX", readonly=True)
msgs = []
typ, data = m.fetch("1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[])") if int(data[0]) > 0 else ("OK", [])
for item in data:
    if not isinstance(item, tuple):
        continue
    meta = item[0].decode()
    flags = re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split()
    msgs.append({
        "uid": int(re.search(r"UID (\d+)", meta).group(1)),
        "flags": sorted(f for f in flags if f != "\\Recent"),
        "size": int(re.search(r"RFC822.SIZE (\d+)", meta).group(1)),
        "body": item[1].decode("latin-1"),
    })
out["messages"] = msgs
m.logout()
print(json.dumps(out))
`

type imapMessage struct {
	UID   uint32   `json:"uid"`
	Flags []string `json:"flags"`
	Size  int64    `json:"size"`
	Body  string   `json:"body"`
}

type imapResult struct {
	UIDValidity uint32        `json:"uidvalidity"`
	UIDNext     uint32        `json:"uidnext"`
	Appended    []uint32      `json:"appended"`
	Messages    []imapMessage `json:"messages"`
}

func runIMAP(t *testing.T, dv *testutil.Dovecot, actions ...[]string) imapResult {
	t.Helper()
	py := testutil.Python(t)
	req, _ := json.Marshal(map[string]any{
		"addr": dv.IMAP, "user": "testuser", "password": "testpass", "actions": actions,
	})
	cmd := exec.Command(py, "-c", imapScript)
	cmd.Stdin = strings.NewReader(string(req))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s\ndovecot log:\n%s", err, stderr.String(), dv.ReadLog())
	}
	var res imapResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("imaplib output %q: %v", out, err)
	}
	return res
}

// imapFlags turns Maildir flags into the IMAP flags Dovecot reports.
func imapFlags(flags string, kw []string) []string {
	sys := map[byte]string{'D': `\Draft`, 'F': `\Flagged`, 'R': `\Answered`, 'S': `\Seen`, 'T': `\Deleted`}
	var out []string
	for i := 0; i < len(flags); i++ {
		if f, ok := sys[flags[i]]; ok {
			out = append(out, f)
		}
	}
	out = append(out, maildir.KeywordNames(kw, flags)...)
	slices.Sort(out)
	return out
}

// TestDovecotInterop: Dovecot and this package serve the same Maildir in
// turn and agree on content, sizes, flags, keywords, UIDs and UIDVALIDITY.
func TestDovecotInterop(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte("testuser:{PLAIN}testpass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := testutil.UnprivDir(t)
	d, err := maildir.Create(filepath.Join(root, "testuser", "Maildir"))
	if err != nil {
		t.Fatal(err)
	}

	// 1. We deliver and flag; Dovecot reads.
	bodies := []string{
		"From: a@example.org\r\nSubject: one\r\n\r\nfirst\r\n",
		"From: b@example.org\r\nSubject: two\r\n\r\nsecond\r\nwith two lines\r\n",
		"From: c@example.org\nSubject: three (LF input)\n\nthird\n",
	}
	var msgs []maildir.Message
	for _, b := range bodies {
		m, err := d.Deliver(strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	label, err := d.KeywordLetters("$Label1")
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0], err = d.SetFlags(msgs[0], "S"+label); err != nil {
		t.Fatal(err)
	}
	if msgs[1], err = d.SetFlags(msgs[1], "FR"); err != nil {
		t.Fatal(err)
	}
	scan, err := d.Scan()
	if err != nil {
		t.Fatal(err)
	}
	u, err := d.SyncUIDs(scan)
	if err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, root)
	dv := testutil.StartDovecot(t, users, root)

	res := runIMAP(t, dv)
	if res.UIDValidity != u.Validity {
		t.Errorf("Dovecot UIDVALIDITY %d, ours %d", res.UIDValidity, u.Validity)
	}
	if res.UIDNext != u.Next {
		t.Errorf("Dovecot UIDNEXT %d, ours %d", res.UIDNext, u.Next)
	}
	kw, _ := d.Keywords()
	if len(res.Messages) != len(msgs) {
		t.Fatalf("Dovecot sees %d messages, want %d", len(res.Messages), len(msgs))
	}
	for i, m := range msgs {
		got := res.Messages[i]
		uid, _ := u.UID(m.Key)
		if got.UID != uid {
			t.Errorf("message %d: Dovecot UID %d, ours %d", i, got.UID, uid)
		}
		if want := imapFlags(m.Flags, kw); !slices.Equal(got.Flags, want) {
			t.Errorf("message %d: Dovecot flags %q, want %q", i, got.Flags, want)
		}
		if got.Size != m.CRLFSize {
			t.Errorf("message %d: RFC822.SIZE %d, our W= %d", i, got.Size, m.CRLFSize)
		}
		wantBody := strings.ReplaceAll(strings.ReplaceAll(bodies[i], "\r\n", "\n"), "\n", "\r\n")
		if got.Body != wantBody {
			t.Errorf("message %d: body %q, want %q", i, got.Body, wantBody)
		}
	}

	// 2. Dovecot changes flags and appends; we scan.
	res = runIMAP(t, dv,
		[]string{"store", itoa(res.Messages[0].UID), "-FLAGS", `\Seen`},
		[]string{"store", itoa(res.Messages[2].UID), "+FLAGS", `\Answered \Draft foo`},
		[]string{"append", `\Seen \Flagged`, "Subject: appended\r\n\r\nby dovecot\r\n"},
	)
	scan, err = d.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if len(scan) != 4 {
		t.Fatalf("we see %d messages after Dovecot's APPEND, want 4", len(scan))
	}
	kw, err = d.Keywords()
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]maildir.Message{}
	for _, m := range scan {
		byKey[m.Key] = m
	}
	if got := imapFlags(byKey[msgs[0].Key].Flags, kw); !slices.Equal(got, []string{"$Label1"}) {
		t.Errorf("after Dovecot's -FLAGS \\Seen we see %q", got)
	}
	if got := imapFlags(byKey[msgs[2].Key].Flags, kw); !slices.Equal(got, []string{`\Answered`, `\Draft`, "foo"}) {
		t.Errorf("after Dovecot's +FLAGS we see %q", got)
	}
	var appended maildir.Message
	for _, m := range scan {
		if _, ours := u.UID(m.Key); !ours {
			appended = m
		}
	}
	if appended.Flags != "FS" || appended.CRLFSize != int64(len("Subject: appended\r\n\r\nby dovecot\r\n")) {
		t.Errorf("Dovecot's APPEND as we scan it: %+v", appended)
	}
	// Dovecot's UIDs are the ones we read, and SyncUIDs keeps them.
	snap, err := d.UIDs()
	if err != nil {
		t.Fatal(err)
	}
	if uid, ok := snap.UID(appended.Key); !ok || len(res.Appended) != 1 || uid != res.Appended[0] {
		t.Errorf("appended message: our UID %d %v, Dovecot's APPENDUID %v", uid, ok, res.Appended)
	}
	u2, err := d.SyncUIDs(scan)
	if err != nil {
		t.Fatal(err)
	}
	if u2.Validity != u.Validity {
		t.Errorf("UIDVALIDITY changed: %d -> %d", u.Validity, u2.Validity)
	}
	for _, m := range res.Messages {
		key, ok := u2.Key(m.UID)
		if !ok {
			t.Errorf("Dovecot's UID %d unknown to us", m.UID)
			continue
		}
		if _, ok := byKey[key]; !ok {
			t.Errorf("Dovecot's UID %d maps to %s, which we don't see", m.UID, key)
		}
	}

	// 3. We deliver again, assign the next UID, remove one; Dovecot agrees.
	m5, err := d.Deliver(strings.NewReader("Subject: five\r\n\r\n5\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(byKey[msgs[1].Key]); err != nil {
		t.Fatal(err)
	}
	scan, _ = d.Scan()
	u3, err := d.SyncUIDs(scan)
	if err != nil {
		t.Fatal(err)
	}
	uid5, _ := u3.UID(m5.Key)
	if uid5 != u2.Next {
		t.Errorf("new message UID %d, want the old UIDNEXT %d", uid5, u2.Next)
	}
	testutil.ChownTree(t, root)
	res = runIMAP(t, dv)
	if len(res.Messages) != 4 {
		t.Fatalf("Dovecot sees %d messages, want 4", len(res.Messages))
	}
	last := res.Messages[len(res.Messages)-1]
	if last.UID != uid5 || !strings.Contains(last.Body, "Subject: five") {
		t.Errorf("Dovecot sees our new message as UID %d (%q), want %d", last.UID, last.Body, uid5)
	}
	if res.UIDNext != u3.Next || res.UIDValidity != u.Validity {
		t.Errorf("Dovecot UIDNEXT %d UIDVALIDITY %d, ours %d %d", res.UIDNext, res.UIDValidity, u3.Next, u.Validity)
	}
	if log := dv.ReadLog(); strings.Contains(log, "Error") || strings.Contains(log, "Warning") {
		t.Errorf("Dovecot complained:\n%s", log)
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// TestMblazeInterop: mblaze's mlist lists what we deliver, mshow reads it,
// and the flags mflag sets are the flags we scan.
func TestMblazeInterop(t *testing.T) {
	mlist := testutil.Peer(t, "mlist")
	mshow := testutil.Peer(t, "mshow")
	mflag := testutil.Peer(t, "mflag")
	minc := testutil.Peer(t, "minc")
	d, err := maildir.Create(filepath.Join(t.TempDir(), "Maildir"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, subj := range []string{"alpha", "beta", "gamma"} {
		m, err := d.Deliver(strings.NewReader("From: x@example.org\r\nSubject: " + subj + "\r\n\r\nbody " + subj + "\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, d.MessagePath(m))
	}
	out, err := exec.Command(mlist, d.Path()).Output()
	if err != nil {
		t.Fatalf("mlist: %v", err)
	}
	got := strings.Fields(string(out))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("mlist = %q, want %q", got, want)
	}
	show, err := exec.Command(mshow, want[0]).Output()
	if err != nil {
		t.Fatalf("mshow: %v", err)
	}
	if !strings.Contains(string(show), "Subject: ") || !strings.Contains(string(show), "body ") {
		t.Errorf("mshow output %q", show)
	}
	// minc moves new/ to cur/ (adding ":2,"), as SetFlags does; then mflag
	// flags by rename, which only works in cur/.
	out, err = exec.Command(minc, d.Path()).Output()
	if err != nil {
		t.Fatalf("minc: %v", err)
	}
	incd := strings.Fields(string(out))
	slices.Sort(incd)
	if len(incd) != 3 || !strings.HasSuffix(incd[1], ":2,") {
		t.Fatalf("minc = %q", incd)
	}
	// Compare as sets: minc's output is in text order, Scan's in time
	// order (usec is not zero-padded, so the two differ).
	var scanned []string
	scan, err := d.Scan()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range scan {
		if m.Subdir != maildir.SubCur {
			t.Errorf("after minc, %s is in %s/", m.Name, m.Subdir)
		}
		scanned = append(scanned, d.MessagePath(m))
	}
	slices.Sort(scanned)
	if !slices.Equal(scanned, incd) {
		t.Errorf("after minc we scan %q, minc says %q", scanned, incd)
	}
	if out, err := exec.Command(mflag, "-S", "-F", incd[1]).CombinedOutput(); err != nil {
		t.Fatalf("mflag: %v %s", err, out)
	}
	scan, err = d.Scan()
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for _, m := range scan {
		if m.Flags == "FS" && m.Subdir == maildir.SubCur {
			flagged++
		}
	}
	if flagged != 1 {
		t.Errorf("after mflag -S -F: %+v", scan)
	}
	// And mlist -S (only seen) finds the one we flag.
	m, err := d.SetFlags(scan[0], "S")
	if err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(mlist, "-S", d.Path()).Output()
	if err != nil {
		t.Fatalf("mlist -S: %v", err)
	}
	if seen := strings.Fields(string(out)); !slices.Contains(seen, d.MessagePath(m)) {
		t.Errorf("mlist -S = %q, missing %s", seen, d.MessagePath(m))
	}
}
