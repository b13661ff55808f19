package connect

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/nango-go/nango/internal/secret"
)

// hmacHashes maps the NANGO_HMAC_ALGORITHM names (config.HMACAlgorithms) to
// their hash constructors.
var hmacHashes = map[string]func() hash.Hash{
	"sha1":       sha1.New,
	"sha224":     sha256.New224,
	"sha256":     sha256.New,
	"sha384":     sha512.New384,
	"sha512":     sha512.New,
	"sha512-224": sha512.New512_224,
	"sha512-256": sha512.New512_256,
	"md5":        md5.New,
}

// HMACDigest returns the digest the browser SDK must send as hmac for a
// connection: the lowercase hex HMAC, with key and the hash named by
// algorithm, of the UTF-8 text "<providerConfigKey>:<connectionID>" (SPEC
// §3.10). App backends compute the same value; tests use it too.
func HMACDigest(algorithm string, key secret.String, providerConfigKey, connectionID string) (string, error) {
	newHash, ok := hmacHashes[algorithm]
	if !ok {
		return "", fmt.Errorf("connect: unsupported HMAC algorithm %q", algorithm)
	}
	m := hmac.New(newHash, []byte(key.Reveal()))
	m.Write([]byte(providerConfigKey + ":" + connectionID))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// checkHMAC reports whether given is the digest of the connection, compared
// in constant time. The error is a configuration fault (unknown algorithm).
func checkHMAC(algorithm string, key secret.String, providerConfigKey, connectionID, given string) (bool, error) {
	want, err := HMACDigest(algorithm, key, providerConfigKey, connectionID)
	if err != nil {
		return false, err
	}
	return secret.Equal(want, given), nil
}
