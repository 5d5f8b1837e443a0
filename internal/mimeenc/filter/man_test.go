package filter_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"mailtk/internal/b64mime"
	"mailtk/internal/qpenc"
	"mailtk/internal/testutil"
)

// TestManPageOptions checks that each program's man page lists the
// options its --help shows, with the same short names, in the same order.
func TestManPageOptions(t *testing.T) {
	for _, app := range []*cli.App{qpenc.NewApp(), b64mime.NewApp()} {
		t.Run(app.Name, func(t *testing.T) {
			page, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "docs", "man", app.Name+".1.md"))
			if err != nil {
				t.Fatal(err)
			}
			_, opts, ok := strings.Cut(string(page), "## OPTIONS\n")
			if !ok {
				t.Fatal("no OPTIONS section")
			}
			opts, _, _ = strings.Cut(opts, "\n## ")
			var man []string
			for _, m := range regexp.MustCompile("(?m)^(`-.*)$").FindAllStringSubmatch(opts, -1) {
				var names []string
				for _, n := range regexp.MustCompile("`-+([a-z-]+)`").FindAllStringSubmatch(m[1], -1) {
					names = append(names, n[1])
				}
				slices.Sort(names)
				man = append(man, strings.Join(names, " "))
			}
			var help []string
			for _, f := range app.Flags {
				names := slices.Clone(f.Names())
				slices.Sort(names)
				help = append(help, strings.Join(names, " "))
			}
			// cmdutil.Main adds these two to every program.
			help = append(help, "config", "h help")
			if !slices.Equal(man, help) {
				t.Errorf("man page options:\n%q\n--help options:\n%q", man, help)
			}
		})
	}
}
