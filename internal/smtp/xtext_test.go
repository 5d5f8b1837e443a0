package smtp

import "testing"

func TestDecodeXtext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a+2Bb", "a+b"},
		{"+3D+20x", "= x"},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := DecodeXtext(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("DecodeXtext(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"+", "a+2", "+zz", "+2b"} {
		if _, err := DecodeXtext(bad); err == nil {
			t.Errorf("DecodeXtext(%q): no error", bad)
		}
	}
}

func TestEncodeXtext(t *testing.T) {
	for _, s := range []string{"", "plain", "a+b=c d\x01\xff"} {
		enc := EncodeXtext(s)
		if dec, err := DecodeXtext(enc); err != nil || dec != s {
			t.Errorf("round trip of %q via %q: %q, %v", s, enc, dec, err)
		}
	}
	if got := EncodeXtext("a+b"); got != "a+2Bb" {
		t.Errorf("EncodeXtext(a+b) = %q", got)
	}
}
