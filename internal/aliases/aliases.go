// Package aliases reads an aliases(5) file, the sendmail/Postfix format
// that gives mailing lists (EXPN), forwarding and VRFY answers:
//
//	# comment
//	postmaster: root
//	staff:      alice, bob@example.org,
//	            :include:/etc/mail/staff.list
//	bob:        \bob, "|/usr/bin/vacation bob"
//
// A line that starts with white space continues the previous entry.
// Names are case-insensitive. Targets are local names, addresses,
// ":include:" files (one target per line or comma-separated), "|command"
// pipes and "/file" paths; pipes and files are only flagged here, the
// program decides whether it may run them. Expansion is loop-safe.
package aliases

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Kind says what a target is.
type Kind int

const (
	Address Kind = iota // a local name ("alice") or an address ("a@b")
	Pipe                // "|command": deliver to a program's stdin
	File                // "/path": append to a file
	Include             // ":include:/path": a list read from a file
)

func (k Kind) String() string {
	return [...]string{"address", "pipe", "file", "include"}[k]
}

// Target is one member of an alias's list.
type Target struct {
	Kind  Kind
	Value string // the address, the command (without '|'), the path
	// NoAlias marks "\name": deliver to the user, do not expand again.
	NoAlias bool
}

// String renders the target as it is written in the file.
func (t Target) String() string {
	var s string
	switch t.Kind {
	case Pipe:
		s = "|" + t.Value
	case Include:
		s = ":include:" + t.Value
	default:
		s = t.Value
	}
	if t.NoAlias {
		s = `\` + s
	}
	if strings.ContainsAny(s, ", \t\"#") || t.Kind == Pipe {
		s = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return s
}

// Entry is one "name: targets" line.
type Entry struct {
	Name    string // lower case
	Targets []Target
	Line    int // where it starts, for error messages
}

// Aliases is a parsed aliases file.
type Aliases struct {
	Path    string
	entries map[string]Entry
	// ReadFile reads :include: files; nil means os.ReadFile.
	ReadFile func(path string) ([]byte, error)
}

// Limits against hostile or broken files.
const (
	MaxLine    = 64 << 10 // one physical line
	MaxEntry   = 1 << 20  // one entry with its continuation lines
	MaxDepth   = 16       // nested aliases and includes
	MaxTargets = 10000    // targets one expansion may produce
)

// Load reads and parses the aliases file at path.
func Load(path string) (*Aliases, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads an aliases file; name is used in error messages
// ("file:line: ...").
func Parse(r io.Reader, name string) (*Aliases, error) {
	a := &Aliases{Path: name, entries: map[string]Entry{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), MaxLine)
	var cur strings.Builder
	start, lineNo := 0, 0
	flush := func() error {
		if cur.Len() == 0 {
			return nil
		}
		e, err := parseEntry(cur.String())
		cur.Reset()
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, start, err)
		}
		if prev, dup := a.entries[e.Name]; dup {
			return fmt.Errorf("%s:%d: alias %q already defined at line %d", name, start, e.Name, prev.Line)
		}
		e.Line = start
		a.entries[e.Name] = e
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "#"):
			continue
		case strings.TrimSpace(line) == "":
			if err := flush(); err != nil {
				return nil, err
			}
		case line[0] == ' ' || line[0] == '\t':
			if cur.Len() == 0 {
				return nil, fmt.Errorf("%s:%d: continuation line without an alias", name, lineNo)
			}
			if cur.Len()+len(line) > MaxEntry {
				return nil, fmt.Errorf("%s:%d: alias entry too long", name, lineNo)
			}
			cur.WriteString(" ")
			cur.WriteString(strings.TrimSpace(line))
		default:
			if err := flush(); err != nil {
				return nil, err
			}
			start = lineNo
			cur.WriteString(line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, lineNo+1, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return a, nil
}

// parseEntry parses "name: target, target...".
func parseEntry(s string) (Entry, error) {
	name, list, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return Entry{}, fmt.Errorf("expected \"name: targets\"")
	}
	if strings.ContainsAny(name, " \t\",") || hasControl(name) {
		return Entry{}, fmt.Errorf("bad alias name %q", name)
	}
	targets, err := ParseList(list)
	if err != nil {
		return Entry{}, fmt.Errorf("alias %q: %w", name, err)
	}
	if len(targets) == 0 {
		return Entry{}, fmt.Errorf("alias %q has no targets", name)
	}
	return Entry{Name: strings.ToLower(name), Targets: targets}, nil
}

// ParseList splits a comma-separated target list (commas inside double
// quotes do not split; newlines separate too, as in :include: files).
func ParseList(s string) ([]Target, error) {
	var out []Target
	var cur strings.Builder
	quoted := false
	add := func() error {
		v := strings.TrimSpace(cur.String())
		cur.Reset()
		if v == "" {
			return nil
		}
		t, err := parseTarget(v)
		if err != nil {
			return err
		}
		out = append(out, t)
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && quoted && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			cur.WriteByte(s[i+1])
			i++
		case c == '"':
			quoted = !quoted
		case (c == ',' || c == '\n') && !quoted:
			if err := add(); err != nil {
				return nil, err
			}
		case c == '\r' && !quoted:
		default:
			cur.WriteByte(c)
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote")
	}
	if err := add(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseTarget(v string) (Target, error) {
	if hasControl(v) {
		return Target{}, fmt.Errorf("control character in target %q", v)
	}
	var t Target
	if strings.HasPrefix(v, `\`) {
		t.NoAlias = true
		v = v[1:]
	}
	switch {
	case strings.HasPrefix(v, "|"):
		t.Kind, t.Value = Pipe, strings.TrimSpace(v[1:])
		if t.Value == "" {
			return t, fmt.Errorf("empty pipe command")
		}
	case len(v) >= 9 && strings.EqualFold(v[:9], ":include:"):
		t.Kind, t.Value = Include, strings.TrimSpace(v[9:])
		if !filepath.IsAbs(t.Value) {
			return t, fmt.Errorf(":include: needs an absolute path, not %q", t.Value)
		}
	case strings.HasPrefix(v, "/"):
		t.Kind, t.Value = File, v
	default:
		v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
		if v == "" || strings.ContainsAny(v, " \t<>") {
			return t, fmt.Errorf("bad address %q", v)
		}
		t.Kind, t.Value = Address, v
	}
	return t, nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' && s[i] != '\t' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// Lookup returns the targets of name (case-insensitive), as written.
func (a *Aliases) Lookup(name string) ([]Target, bool) {
	if a == nil {
		return nil, false
	}
	e, ok := a.entries[strings.ToLower(name)]
	return e.Targets, ok
}

// Names returns every alias name, sorted.
func (a *Aliases) Names() []string {
	if a == nil {
		return nil
	}
	out := make([]string, 0, len(a.entries))
	for n := range a.entries {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Entries returns the entries in file order.
func (a *Aliases) Entries() []Entry {
	if a == nil {
		return nil
	}
	out := make([]Entry, 0, len(a.entries))
	for _, e := range a.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// Format writes entries back in aliases(5) syntax.
func Format(w io.Writer, entries []Entry) error {
	for _, e := range entries {
		parts := make([]string, len(e.Targets))
		for i, t := range e.Targets {
			parts[i] = t.String()
		}
		if _, err := fmt.Fprintf(w, "%s: %s\n", e.Name, strings.Join(parts, ", ")); err != nil {
			return err
		}
	}
	return nil
}
