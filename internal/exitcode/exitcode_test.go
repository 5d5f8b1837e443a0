package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"unclassified", base, Software},
		{"classified", New(DataErr, base), DataErr},
		{"wrapped", fmt.Errorf("reading: %w", New(TempFail, base)), TempFail},
		{"outermost wins", New(Usage, New(TempFail, base)), Usage},
		{"errorf", Errorf(Config, "bad %s", "x"), Config},
	}
	for _, tt := range tests {
		if got := Of(tt.err); got != tt.want {
			t.Errorf("%s: Of = %d, want %d", tt.name, got, tt.want)
		}
	}
	if New(DataErr, nil) != nil {
		t.Error("New(code, nil) must be nil")
	}
}
