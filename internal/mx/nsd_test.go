package mx_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mailtk/internal/mx"
	"mailtk/internal/mx/mxtest"
)

// digMX is what dig says about name's MX records at server: its status and
// the "pref target" pairs (targets without the final dot).
func digRecords(t *testing.T, server, name, qtype string) (string, []string) {
	st, lines := mxtest.Dig(t, server, name, qtype)
	var out []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 5 || f[3] != qtype {
			continue
		}
		v := strings.Join(f[4:], " ")
		if qtype == "MX" {
			v = f[4] + " " + strings.TrimSuffix(f[5], ".")
			if f[5] == "." {
				v = f[4] + " ."
			}
		}
		out = append(out, v)
	}
	return st, out
}

// TestAgainstNSDAndDig resolves every case of the test zone through a real
// nsd and checks each step against dig's answers for the same names: the
// MX set, the status, and each exchanger's addresses.
func TestAgainstNSDAndDig(t *testing.T) {
	server := mxtest.StartNSD(t)
	r := resolver(t, nil, server)
	names := []string{"example.test", "equal.example.test", "nomx.example.test", "nomx6.example.test",
		"nullmx.example.test", "nullmixed.example.test", "cnamemx.example.test", "dangling.example.test",
		"nowhere.example.test", "half.example.test", "iplit.example.test", "txtonly.example.test",
		"missing.example.test", "aliasdom.example.test", "aliasnx.example.test", "dane.example.test",
		"xn--bcher-kva.example.test", "outside.example.test", "many.example.test", "spoof.example.test"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			res := r.Lookup(context.Background(), name)
			st, mxs := digRecords(t, server, name, "MX")
			t.Logf("dig: %s %v; mxlookup: %v %v %v", st, mxs, res.Status, hostLines(res.Hosts), res.Err)
			if st == "NXDOMAIN" {
				if res.Status != mx.NXDomain {
					t.Fatalf("dig NXDOMAIN, we say %v", res.Status)
				}
				return
			}
			if st != "NOERROR" {
				t.Fatalf("dig status %s", st)
			}
			real := slices.DeleteFunc(slices.Clone(mxs), func(s string) bool { return strings.HasSuffix(s, " .") })
			switch {
			case len(mxs) == 0:
				checkImplicit(t, server, name, res)
				return
			case len(real) == 0:
				if res.Status != mx.NullMX {
					t.Fatalf("dig shows a null MX, we say %v", res.Status)
				}
				return
			}
			var ours []string
			for _, h := range res.Hosts {
				ours = append(ours, strconv.Itoa(int(h.Pref))+" "+h.Name)
			}
			slices.Sort(real)
			if len(real) > mx.DefaultMaxHosts {
				real = real[:mx.DefaultMaxHosts]
			}
			if !slices.Equal(ours, real) {
				t.Fatalf("exchangers %v, dig %v", ours, real)
			}
			usable, temp := false, false
			for _, h := range res.Hosts {
				if strings.HasPrefix(h.Name, "192.") {
					continue // IP literal: not looked up
				}
				want, tmp := digAddrs(t, server, h.Name)
				temp = temp || tmp
				var got []string
				for _, a := range h.Addrs {
					got = append(got, a.String())
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: addresses %v, dig %v", h.Name, got, want)
				}
				usable = usable || len(got) > 0
			}
			switch {
			case usable && res.Status != mx.OK, !usable && temp && res.Status != mx.TempFail,
				!usable && !temp && !strings.HasPrefix(res.Hosts[0].Name, "192.") && res.Status != mx.NoAddress:
				t.Errorf("status %v", res.Status)
			}
		})
	}
}

// digAddrs returns the sorted A and AAAA answers dig gets for host, and
// whether either lookup failed (REFUSED/SERVFAIL).
func digAddrs(t *testing.T, server, host string) (addrs []string, temp bool) {
	for _, q := range []string{"A", "AAAA"} {
		st, v := digRecords(t, server, host, q)
		addrs = append(addrs, v...)
		temp = temp || (st != "NOERROR" && st != "NXDOMAIN")
	}
	return addrs, temp
}

func checkImplicit(t *testing.T, server, name string, res mx.Result) {
	// dig follows no CNAME for us: ask for the canonical name's addresses.
	_, cn := digRecords(t, server, name, "CNAME")
	target := name
	if len(cn) > 0 {
		target = strings.TrimSuffix(cn[0], ".")
	}
	want, _ := digAddrs(t, server, target)
	if len(want) == 0 {
		if res.Status != mx.NoData {
			t.Fatalf("no MX, no addresses: we say %v", res.Status)
		}
		return
	}
	if res.Status != mx.OK || len(res.Hosts) != 1 || !res.Hosts[0].Implicit {
		t.Fatalf("implicit MX expected, got %v %v", res.Status, hostLines(res.Hosts))
	}
	var got []string
	for _, a := range res.Hosts[0].Addrs {
		got = append(got, a.String())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("implicit MX addresses %v, dig %v", got, want)
	}
}

// TestNSDOverTCP checks the truncation path against a real server: 100 MX
// records exceed the advertised 1232 octets, nsd sets TC and the answer
// comes over TCP.
func TestNSDOverTCP(t *testing.T) {
	server := mxtest.StartNSD(t)
	res := resolver(t, func(o *mx.Options) { o.MaxHosts = 200; o.NoAddrs = true }, server).Lookup(context.Background(), "many.example.test")
	if res.Status != mx.OK || len(res.Hosts) != 100 {
		t.Fatalf("status %v, %d hosts, err %v", res.Status, len(res.Hosts), res.Err)
	}
	_, lines := digRecords(t, server, "many.example.test", "MX")
	if len(lines) != 100 {
		t.Fatalf("dig found %d MX records", len(lines))
	}
}
