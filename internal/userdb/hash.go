package userdb

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Schemes are Dovecot's names (doveadm pw -l), written "{SCHEME}" before
// the hash in the users file.
const (
	SchemeBlowfish  = "BLF-CRYPT"    // bcrypt, $2y$ (also $2a$, $2b$)
	SchemeArgon2ID  = "ARGON2ID"     // $argon2id$v=19$m=…,t=…,p=…$salt$hash
	SchemeArgon2I   = "ARGON2I"      // $argon2i$…
	SchemeSHA512    = "SHA512-CRYPT" // $6$
	SchemeSHA256    = "SHA256-CRYPT" // $5$
	SchemeCrypt     = "CRYPT"        // crypt(3): recognised by the hash's $id$ prefix
	SchemePlain     = "PLAIN"        // the password itself: for tests only
	schemeClear     = "CLEAR"        // Dovecot's aliases of PLAIN
	schemeCleartext = "CLEARTEXT"
)

// ErrScheme is wrapped by errors about a hash this package cannot check:
// an unknown scheme or a malformed hash. It is a configuration error of
// the users file, not a failed login.
var ErrScheme = errors.New("unsupported or malformed password hash")

// bcryptMaxPassword is bcrypt's input limit.
const bcryptMaxPassword = 72

// Bounds on argon2 parameters, so that one users-file line cannot make a
// login allocate gigabytes or spin for minutes.
const (
	argonMaxMemoryKiB = 1 << 20 // 1 GiB
	argonMaxTime      = 64
	argonMaxThreads   = 64
	argonMaxKeyLen    = 1024
)

// SplitScheme splits "{SCHEME}hash" into its upper-cased scheme and the
// hash. Without braces the scheme is "" and hash is stored unchanged.
func SplitScheme(stored string) (scheme, hash string) {
	if strings.HasPrefix(stored, "{") {
		if i := strings.IndexByte(stored, '}'); i > 0 {
			return strings.ToUpper(stored[1:i]), stored[i+1:]
		}
	}
	return "", stored
}

// Verify reports whether password matches the stored hash, in constant
// time for a given hash. stored is "{SCHEME}hash" or a bare crypt(3) hash
// recognised by its prefix ($2y$, $2a$, $2b$, $5$, $6$, $argon2id$,
// $argon2i$). A bare hash beginning with "!" or "*" is a locked account
// (passwd(5) convention): it never matches and is no error. An unknown
// scheme or a malformed hash gives an error wrapping ErrScheme.
func Verify(stored, password string) (bool, error) {
	scheme, h := SplitScheme(stored)
	switch scheme {
	case "", SchemeCrypt:
		if strings.HasPrefix(h, "!") || strings.HasPrefix(h, "*") {
			return false, nil
		}
		return verifyCrypt(h, password)
	case SchemeBlowfish:
		return verifyBcrypt(h, password)
	case SchemeSHA512:
		if !strings.HasPrefix(h, "$6$") {
			return false, fmt.Errorf("%w: {%s} hash does not start with $6$", ErrScheme, scheme)
		}
		return verifyShaCrypt(h, password)
	case SchemeSHA256:
		if !strings.HasPrefix(h, "$5$") {
			return false, fmt.Errorf("%w: {%s} hash does not start with $5$", ErrScheme, scheme)
		}
		return verifyShaCrypt(h, password)
	case SchemeArgon2ID, SchemeArgon2I:
		want := "$" + strings.ToLower(scheme) + "$"
		if !strings.HasPrefix(h, want) {
			return false, fmt.Errorf("%w: {%s} hash does not start with %s", ErrScheme, scheme, want)
		}
		return verifyArgon2(h, password)
	case SchemePlain, schemeClear, schemeCleartext:
		return subtle.ConstantTimeCompare([]byte(h), []byte(password)) == 1, nil
	}
	return false, fmt.Errorf("%w: unknown scheme {%s} (supported: BLF-CRYPT, ARGON2ID, ARGON2I, SHA512-CRYPT, SHA256-CRYPT, CRYPT with those hashes, PLAIN)", ErrScheme, scheme)
}

// verifyCrypt dispatches a crypt(3)-style hash on its prefix.
func verifyCrypt(h, password string) (bool, error) {
	switch {
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		return verifyBcrypt(h, password)
	case strings.HasPrefix(h, "$6$"), strings.HasPrefix(h, "$5$"):
		return verifyShaCrypt(h, password)
	case strings.HasPrefix(h, "$argon2id$"), strings.HasPrefix(h, "$argon2i$"):
		return verifyArgon2(h, password)
	case h == "":
		return false, fmt.Errorf("%w: empty hash", ErrScheme)
	}
	// DES and MD5 crypt ($1$) are broken; Dovecot's default CRYPT would
	// accept them, we do not.
	return false, fmt.Errorf("%w: a hash without {SCHEME} must be $2y$ (bcrypt), $6$/$5$ (SHA-crypt) or $argon2id$; DES and MD5 crypt are not supported", ErrScheme)
}

func verifyBcrypt(h, password string) (bool, error) {
	// QUIRK: bcrypt uses only the first 72 octets of a password; Go's
	// bcrypt refuses longer ones, while Dovecot, libxcrypt and htpasswd
	// truncate. Truncate too, so the same file behaves the same.
	if len(password) > bcryptMaxPassword {
		password = password[:bcryptMaxPassword]
	}
	err := bcrypt.CompareHashAndPassword([]byte(h), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, fmt.Errorf("%w: bcrypt: %v", ErrScheme, err)
}

func verifyShaCrypt(h, password string) (bool, error) {
	ok, err := shaCryptVerify(h, password)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrScheme, err)
	}
	return ok, nil
}

// verifyArgon2 checks the PHC string format that Dovecot (libsodium) and
// the argon2 reference tool write: $argon2id$v=19$m=K,t=T,p=P$salt$hash
// with unpadded standard base64.
func verifyArgon2(h, password string) (bool, error) {
	bad := func(why string) (bool, error) {
		return false, fmt.Errorf("%w: argon2: %s", ErrScheme, why)
	}
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	variant := parts[1]
	if parts[2] != "v=19" {
		return bad("only version 19 (v=19) is supported")
	}
	var m, t, p uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter " + kv)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		default:
			return bad("unknown parameter " + k)
		}
	}
	if m == 0 || t == 0 || p == 0 || m > argonMaxMemoryKiB || t > argonMaxTime || p > argonMaxThreads {
		return bad(fmt.Sprintf("parameters m=%d,t=%d,p=%d out of range", m, t, p))
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return bad("salt")
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) < 4 || len(want) > argonMaxKeyLen {
		return bad("hash")
	}
	var got []byte
	switch variant {
	case "argon2id":
		got = argon2.IDKey([]byte(password), salt, uint32(t), uint32(m), uint8(p), uint32(len(want)))
	case "argon2i":
		got = argon2.Key([]byte(password), salt, uint32(t), uint32(m), uint8(p), uint32(len(want)))
	default:
		return bad("variant " + variant)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Supported reports whether Verify knows stored's scheme (without checking
// that the hash itself is well-formed).
func Supported(stored string) bool {
	scheme, h := SplitScheme(stored)
	switch scheme {
	case SchemeBlowfish, SchemeSHA512, SchemeSHA256, SchemeArgon2ID, SchemeArgon2I, SchemePlain, schemeClear, schemeCleartext:
		return true
	case "", SchemeCrypt:
		for _, p := range []string{"$2a$", "$2b$", "$2y$", "$5$", "$6$", "$argon2id$", "$argon2i$"} {
			if strings.HasPrefix(h, p) {
				return true
			}
		}
	}
	return false
}
