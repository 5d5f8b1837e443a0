package mimepack

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// Entry is one line of the part list (-l), and one object of --json.
type Entry struct {
	Path        string `json:"path"`
	Depth       int    `json:"depth"`
	Type        string `json:"type"`
	Charset     string `json:"charset,omitempty"`
	Encoding    string `json:"encoding,omitempty"`
	Disposition string `json:"disposition,omitempty"`
	Filename    string `json:"filename,omitempty"`
	// Size is the decoded size in bytes, for leaves; containers have -1
	// in text output and no "size" in JSON.
	Size     *int64 `json:"size,omitempty"`
	Protocol string `json:"protocol,omitempty"` // multipart/signed, multipart/encrypted
	Micalg   string `json:"micalg,omitempty"`
}

// ListParts walks the message and returns one Entry per part, calling
// fn for each as soon as it is complete.
func ListParts(r io.Reader, lim Limits, fn func(Entry) error) error {
	return Walk(r, lim, func(p *Part) error {
		e := Entry{
			Path:        p.Path,
			Depth:       p.Depth,
			Type:        p.Type,
			Charset:     p.Params["charset"],
			Encoding:    p.Encoding,
			Disposition: p.Disposition,
			Filename:    p.Filename,
			Protocol:    p.Params["protocol"],
			Micalg:      p.Params["micalg"],
		}
		if !p.Container {
			n, err := io.Copy(io.Discard, p.Decoded())
			if err != nil {
				return err
			}
			e.Size = &n
		}
		return fn(e)
	})
}

// List writes the part tree of the message read from r.
func (a *App) List(r io.Reader, asJSON bool) error {
	w := a.Stdout
	if asJSON {
		io.WriteString(w, "[")
		n := 0
		err := ListParts(r, a.Limits, func(e Entry) error {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if n > 0 {
				io.WriteString(w, ",")
			}
			n++
			_, err = fmt.Fprintf(w, "\n%s", b)
			return err
		})
		// The array is closed even after an error, so what was listed
		// stays readable; the exit status tells it is incomplete.
		io.WriteString(w, "\n]\n")
		return err
	}
	return ListParts(r, a.Limits, func(e Entry) error {
		t := e.Type
		if e.Protocol != "" {
			t += "; protocol=" + e.Protocol
		}
		size := "-"
		if e.Size != nil {
			size = strconv.FormatInt(*e.Size, 10)
		}
		_, err := fmt.Fprintf(w, "%-10s %-28s %-10s %-16s %10s %s\n",
			e.Path, t, dash(e.Charset), dash(e.Encoding), size, safeName(e.Filename))
		return err
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return safeName(s)
}

// safeName quotes a name from a message when it holds anything that a
// terminal could take for a control sequence, or white space.
func safeName(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) && r != ' ' {
			return strconv.Quote(s)
		}
	}
	if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		return strconv.Quote(s)
	}
	return s
}
