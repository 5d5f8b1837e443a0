package mxlookup

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"mailtk/internal/exitcode"
	"mailtk/internal/mx"
)

// printer writes results to stdout (text or JSON), reasons and warnings
// to stderr, and remembers the exit status they add up to.
type printer struct {
	w      *bufio.Writer
	errw   io.Writer
	json   bool
	quiet  bool
	line   []byte
	temp   bool // some lookup failed temporarily
	bad    bool // some input was not a domain name
	nomail bool // some domain has no mail service
}

func newPrinter(w, errw io.Writer, asJSON, quiet bool) *printer {
	return &printer{w: bufio.NewWriterSize(w, 64<<10), errw: errw, json: asJSON, quiet: quiet}
}

func (p *printer) flush() error { return p.w.Flush() }

// status is the exit status for everything printed so far: 75 beats 65
// beats 69 beats 0 (see the EXIT STATUS section of mxlookup(1)).
func (p *printer) status() error {
	switch {
	case p.temp:
		return exitcode.New(exitcode.TempFail, silent{})
	case p.bad:
		return exitcode.New(exitcode.DataErr, silent{})
	case p.nomail:
		return exitcode.New(exitcode.Unavailable, silent{})
	}
	return nil
}

// silent is an error with nothing to print: each domain's reason has been
// printed already.
type silent struct{}

func (silent) Error() string { return "" }

func (p *printer) print(res mx.Result) error {
	switch {
	case res.Status == mx.TempFail:
		p.temp = true
	case res.Status == mx.Invalid:
		p.bad = true
	case res.Status.NoService():
		p.nomail = true
	}
	if !p.quiet {
		p.warn(res)
	}
	if p.json {
		return p.printJSON(res)
	}
	return p.printText(res)
}

// printText writes the lines documented in mxlookup(1):
//
//	DOMAIN PREF HOST [ADDR...]
//	DOMAIN tlsa HOST USAGE SELECTOR MATCHING-TYPE DATA
//	DOMAIN STATUS
func (p *printer) printText(res mx.Result) error {
	dom := res.Domain
	if dom == "" {
		dom = field(res.Input)
	}
	b := p.line[:0]
	if res.Status != mx.OK {
		b = append(b, dom...)
		b = append(b, ' ')
		b = append(b, res.Status.String()...)
		b = append(b, '\n')
	} else {
		for _, h := range res.Hosts {
			b = append(b, dom...)
			b = append(b, ' ')
			b = strconv.AppendUint(b, uint64(h.Pref), 10)
			b = append(b, ' ')
			b = append(b, h.Name...)
			for _, a := range h.Addrs {
				b = append(b, ' ')
				b = a.AppendTo(b)
			}
			b = append(b, '\n')
		}
		for _, h := range res.Hosts {
			for _, t := range h.TLSA {
				b = fmt.Appendf(b, "%s tlsa %s %d %d %d %s\n", dom, h.Name, t.Usage, t.Selector, t.MatchingType, t.Data)
			}
		}
	}
	p.line = b
	_, err := p.w.Write(b)
	return err
}

// jsonResult is the JSON form of a result: mx.Result plus its error text.
type jsonResult struct {
	mx.Result
	Error string `json:"error,omitempty"`
}

func (p *printer) printJSON(res mx.Result) error {
	j := jsonResult{Result: res}
	if res.Err != nil {
		j.Error = res.Err.Error()
	}
	if j.Input == j.Domain {
		j.Input = ""
	}
	if !utf8.ValidString(j.Input) {
		j.Input = strings.ToValidUTF8(j.Input, "\uFFFD")
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = p.w.Write(b)
	return err
}

// warn prints why a domain is not usable and what is wrong with it.
func (p *printer) warn(res mx.Result) {
	dom := res.Domain
	if dom == "" {
		dom = field(res.Input)
	}
	if res.Err != nil {
		fmt.Fprintf(p.errw, "mxlookup: %s: %s: %v\n", dom, res.Status, res.Err)
	}
	for _, pr := range res.Problems {
		fmt.Fprintf(p.errw, "mxlookup: %s: warning: %s\n", dom, pr)
	}
	for _, h := range res.Hosts {
		for _, pr := range h.Problems {
			fmt.Fprintf(p.errw, "mxlookup: %s: %s: warning: %s\n", dom, h.Name, pr)
		}
	}
}

// field makes raw input safe as one whitespace-separated output field:
// "-" when empty, '?' for blanks, control characters and invalid UTF-8,
// and at most 256 octets.
func field(s string) string {
	if s == "" {
		return "-"
	}
	if len(s) > 256 {
		s = s[:256]
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "?") {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
