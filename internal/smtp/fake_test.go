package smtp

import (
	"context"
	"io"
	"sort"
	"strings"
	"sync"
)

// fakeBackend is an in-memory backend: local domain foo.com (and xyz.com)
// with a few users, one list, relaying to a pretend queue.
type fakeBackend struct {
	mu        sync.Mutex
	delivered []delivery
	failData  error
}

type delivery struct {
	env  Envelope
	body string
}

var fakeUsers = map[string]string{
	"jones@foo.com":      "Bill Jones",
	"brown@foo.com":      "Ann Brown",
	"admin.mrc@foo.com":  "Mark Crispin",
	"jsmith@foo.com":     "John Smith",
	"hsmith@foo.com":     "Harry Smith",
	"jones@xyz.com":      "Bill Jones",
	"postmaster@foo.com": "Postmaster",
}

func (b *fakeBackend) Mail(ctx context.Context, st *State, from Path, p MailParams) error {
	return nil
}

func (b *fakeBackend) Rcpt(ctx context.Context, st *State, env *Envelope, to Rcpt) error {
	if to.Path.IsPostmaster() {
		return nil
	}
	dom := strings.ToLower(to.Path.Domain)
	if dom == "foo.com" || (dom == "xyz.com" && st.Peer.Addr != "192.0.2.9") {
		if _, ok := fakeUsers[strings.ToLower(to.Path.Addr())]; !ok {
			return Errorf(550, "5.1.1", "No such user here")
		}
		return nil
	}
	if !st.MayRelay() {
		return Errorf(550, "5.7.1", "Relaying denied")
	}
	return nil
}

func (b *fakeBackend) Data(ctx context.Context, st *State, env *Envelope, msg io.Reader) []error {
	body, err := io.ReadAll(msg)
	if err != nil {
		return []error{err}
	}
	if b.failData != nil {
		return []error{b.failData}
	}
	b.mu.Lock()
	b.delivered = append(b.delivered, delivery{*env, string(body)})
	b.mu.Unlock()
	return nil
}

func (b *fakeBackend) Verify(ctx context.Context, st *State, arg string) ([]string, error) {
	var out []string
	for addr, name := range fakeUsers {
		local, _, _ := strings.Cut(addr, "@")
		match := strings.EqualFold(addr, arg) || strings.EqualFold(local, arg)
		for _, w := range strings.Fields(name) {
			match = match || strings.EqualFold(w, arg)
		}
		if match && strings.HasSuffix(addr, "@foo.com") {
			if addr == "admin.mrc@foo.com" {
				addr = "Admin.MRC@foo.com"
			}
			out = append(out, name+" <"+addr+">")
		}
	}
	// the seed's order: John before Harry
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	return out, nil
}

func (b *fakeBackend) Expand(ctx context.Context, st *State, arg string) ([]string, error) {
	if strings.EqualFold(arg, "exemple-email-list") {
		return []string{"John Smith <jsmith@foo.com>", "Harry Smith <hsmith@foo.com>"}, nil
	}
	return nil, nil
}

func (b *fakeBackend) Auth(ctx context.Context, st *State, user, pass string) error {
	if user == "jones" && pass == "secret" {
		return nil
	}
	return ErrAuthFailed
}

func (b *fakeBackend) messages() []delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]delivery(nil), b.delivered...)
}
