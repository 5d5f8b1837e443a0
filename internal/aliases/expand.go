package aliases

import (
	"fmt"
	"os"
	"strings"
)

// Expand resolves name to its final targets: addresses that are not
// aliases themselves (or were marked "\name"), pipes and files. local
// maps an address to its alias key when its domain is local ("Bob@foo.com"
// -> "bob"); it may be nil, and then only bare names are aliases.
//
// Expansion is loop-safe: a name met again on the same path is
// delivered as is (as sendmail does for "bob: bob, ..."), depth is
// bounded by MaxDepth and the result by MaxTargets. Duplicates are
// removed (case-insensitively for addresses). ok is false when name is
// not an alias.
func (a *Aliases) Expand(name string, local func(addr string) (key string, ok bool)) (out []Target, ok bool, err error) {
	if a == nil {
		return nil, false, nil
	}
	key := strings.ToLower(name)
	if _, found := a.entries[key]; !found {
		return nil, false, nil
	}
	x := expander{a: a, local: local, seen: map[string]bool{}, onPath: map[string]bool{}}
	err = x.name(key, Target{Kind: Address, Value: name}, 0)
	return x.out, true, err
}

type expander struct {
	a      *Aliases
	local  func(string) (string, bool)
	out    []Target
	seen   map[string]bool // results already emitted
	onPath map[string]bool // aliases and includes being expanded (loop guard)
}

func (x *expander) emit(t Target) error {
	k := t.Kind.String() + ":" + t.Value
	if t.Kind == Address {
		k = strings.ToLower(k)
	}
	if x.seen[k] {
		return nil
	}
	if len(x.out) >= MaxTargets {
		return fmt.Errorf("alias expansion gives more than %d targets", MaxTargets)
	}
	x.seen[k] = true
	t.NoAlias = false
	x.out = append(x.out, t)
	return nil
}

// key returns the alias key for an address target, or "".
func (x *expander) key(v string) string {
	if !strings.Contains(v, "@") {
		return strings.ToLower(v)
	}
	if _, ok := x.a.entries[strings.ToLower(v)]; ok {
		return strings.ToLower(v)
	}
	if x.local != nil {
		if k, ok := x.local(v); ok {
			return strings.ToLower(k)
		}
	}
	return ""
}

func (x *expander) name(key string, self Target, depth int) error {
	e, ok := x.a.entries[key]
	if !ok || x.onPath["a:"+key] {
		return x.emit(self)
	}
	if depth >= MaxDepth {
		return fmt.Errorf("alias %q nested more than %d deep", key, MaxDepth)
	}
	x.onPath["a:"+key] = true
	defer delete(x.onPath, "a:"+key)
	return x.list(e.Targets, depth+1)
}

func (x *expander) list(ts []Target, depth int) error {
	for _, t := range ts {
		var err error
		switch {
		case t.Kind == Include:
			err = x.include(t.Value, depth)
		case t.Kind == Address && !t.NoAlias:
			if k := x.key(t.Value); k != "" {
				err = x.name(k, t, depth)
			} else {
				err = x.emit(t)
			}
		default:
			err = x.emit(t)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *expander) include(path string, depth int) error {
	if x.onPath["i:"+path] {
		return nil // an include that includes itself adds nothing
	}
	if depth >= MaxDepth {
		return fmt.Errorf(":include:%s nested more than %d deep", path, MaxDepth)
	}
	read := x.a.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	b, err := read(path)
	if err != nil {
		return fmt.Errorf(":include:%s: %w", path, err)
	}
	if len(b) > MaxEntry {
		return fmt.Errorf(":include:%s: file too large", path)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines = append(lines, l)
		}
	}
	ts, err := ParseList(strings.Join(lines, "\n"))
	if err != nil {
		return fmt.Errorf(":include:%s: %w", path, err)
	}
	x.onPath["i:"+path] = true
	defer delete(x.onPath, "i:"+path)
	return x.list(ts, depth+1)
}
