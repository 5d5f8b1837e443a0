//go:build !linux

package maildir

import "os"

// readNames reads all names in a directory, unsorted, without stat.
func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// eachName calls fn for every name in dir, unsorted, without stat.
func eachName(dir string, fn func(string)) error {
	names, err := readNames(dir)
	for _, n := range names {
		fn(n)
	}
	return err
}
