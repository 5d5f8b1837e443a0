package userdb

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Hash checks at typical settings: these costs are the point of the
// schemes (they bound guessing), so the numbers say how many logins per
// second one core can check.
func BenchmarkVerify(b *testing.B) {
	for _, c := range []struct{ name, stored string }{
		{"SHA512-CRYPT-5000", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"SHA256-CRYPT-5000", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"PLAIN", "{PLAIN}Hello world!"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if ok, err := Verify(c.stored, "Hello world!"); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// BenchmarkLookup: a lookup in a 10,000-user file (stat + map lookup).
func BenchmarkLookup(b *testing.B) {
	var sb strings.Builder
	for i := range 10000 {
		sb.WriteString("user" + strconv.Itoa(i) + "@example.org:{PLAIN}x:1000:1000::/home/u" + strconv.Itoa(i) + "\n")
	}
	path := filepath.Join(b.TempDir(), "users")
	os.WriteFile(path, []byte(sb.String()), 0o640)
	db, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := db.Lookup("user5000@Example.org"); err != nil {
			b.Fatal(err)
		}
	}
}
