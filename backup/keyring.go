package backup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/orocloud/orocloud-go/internal/crypto"
	"github.com/orocloud/orocloud-go/providers"
)

// WrappedKey is a data key encrypted under a key-encryption key (KEK).
type WrappedKey struct {
	// KeyID names the KEK.
	KeyID string `json:"keyId"`
	// Fingerprint identifies the KEK's material without revealing it, so
	// that a wrong key is told apart from corrupt data.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Ciphertext is the wrapped data key.
	Ciphertext []byte `json:"ciphertext"`
}

// Keyring wraps and unwraps per-point data keys with key-encryption keys. A
// cloud KMS can implement it; LocalKeyring holds keys in memory (from a key
// file or an environment variable).
type Keyring interface {
	// Wrap encrypts dataKey under the current KEK, binding aad.
	Wrap(ctx context.Context, dataKey, aad []byte) (WrappedKey, error)
	// Unwrap decrypts w. A KEK the keyring does not hold, or one that does
	// not match w's fingerprint, returns an error with code
	// PermissionDenied; a wrapped key that fails authentication under the
	// right KEK returns crypto.ErrUnwrap.
	Unwrap(ctx context.Context, w WrappedKey, aad []byte) ([]byte, error)
	// CurrentKeyID names the KEK that Wrap uses.
	CurrentKeyID() string
}

// KEK is a named 256-bit key-encryption key. Its String and GoString never
// show the key.
type KEK struct {
	ID  string
	key []byte
}

// NewKEK returns a KEK named id with the 32-byte key.
func NewKEK(id string, key []byte) (KEK, error) {
	var errs []string
	if id == "" || strings.ContainsAny(id, " \t\n:,") {
		errs = append(errs, "id: must be non-empty without spaces, ':' or ','")
	}
	if len(key) != crypto.KeySize {
		errs = append(errs, fmt.Sprintf("key: must be %d bytes, got %d", crypto.KeySize, len(key)))
	}
	if len(errs) > 0 {
		return KEK{}, invalid("backup.NewKEK", errs)
	}
	return KEK{ID: id, key: bytes.Clone(key)}, nil
}

// GenerateKEK returns a new random KEK named id.
func GenerateKEK(id string) (KEK, error) {
	k, err := crypto.NewDataKey()
	if err != nil {
		return KEK{}, err
	}
	return NewKEK(id, k)
}

// String returns the key's ID only.
func (k KEK) String() string { return "KEK(" + k.ID + ", [REDACTED])" }

// GoString returns the key's ID only.
func (k KEK) GoString() string { return k.String() }

// Encode returns the key file line of k: "<id> <64 hex digits>". Handle it
// as a secret.
func (k KEK) Encode() providers.Secret {
	return providers.Secret(k.ID + " " + hex.EncodeToString(k.key))
}

// LocalKeyring is a Keyring of KEKs held in memory. The first key wraps; all
// unwrap (older keys stay until every point has been rotated off them).
type LocalKeyring struct {
	keys []KEK
}

// NewLocalKeyring returns a keyring whose current key is current.
func NewLocalKeyring(current KEK, older ...KEK) (*LocalKeyring, error) {
	keys := append([]KEK{current}, older...)
	seen := map[string]bool{}
	var errs []string
	for i, k := range keys {
		if len(k.key) != crypto.KeySize {
			errs = append(errs, fmt.Sprintf("key %d: not created with NewKEK or GenerateKEK", i))
		}
		if seen[k.ID] {
			errs = append(errs, fmt.Sprintf("key %d: id %q appears twice", i, k.ID))
		}
		seen[k.ID] = true
	}
	if len(errs) > 0 {
		return nil, invalid("backup.NewLocalKeyring", errs)
	}
	return &LocalKeyring{keys: keys}, nil
}

// CurrentKeyID implements Keyring.
func (r *LocalKeyring) CurrentKeyID() string { return r.keys[0].ID }

// Wrap implements Keyring.
func (r *LocalKeyring) Wrap(_ context.Context, dataKey, aad []byte) (WrappedKey, error) {
	k := r.keys[0]
	ct, err := crypto.Wrap(k.key, dataKey, aad)
	if err != nil {
		return WrappedKey{}, providers.Wrap(err, providers.Internal, "backup.LocalKeyring.Wrap", k.ID)
	}
	return WrappedKey{KeyID: k.ID, Fingerprint: crypto.Fingerprint(k.key), Ciphertext: ct}, nil
}

// Unwrap implements Keyring.
func (r *LocalKeyring) Unwrap(_ context.Context, w WrappedKey, aad []byte) ([]byte, error) {
	const op = "backup.LocalKeyring.Unwrap"
	for _, k := range r.keys {
		if k.ID != w.KeyID {
			continue
		}
		if w.Fingerprint != "" && crypto.Fingerprint(k.key) != w.Fingerprint {
			return nil, &providers.Error{Code: providers.PermissionDenied, Op: op, Resource: w.KeyID,
				Msg: "wrong key: the keyring's key " + k.ID + " is not the key that encrypted this recovery point"}
		}
		return crypto.Unwrap(k.key, w.Ciphertext, aad)
	}
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.ID
	}
	return nil, &providers.Error{Code: providers.PermissionDenied, Op: op, Resource: w.KeyID,
		Msg: fmt.Sprintf("wrong key: the recovery point is encrypted with key %q, the keyring holds %s", w.KeyID, strings.Join(ids, ", "))}
}

// LoadKeyFile reads a keyring from a key file: one key per line, "<id>
// <key>", where key is 64 hex digits or the base64 of 32 bytes; blank lines
// and lines starting with # are ignored; the first key is current. The file
// must not be readable or writable by group or others (mode 0600 or
// stricter): a looser file is refused.
func LoadKeyFile(path string) (*LocalKeyring, error) {
	const op = "backup.LoadKeyFile"
	st, err := os.Stat(path)
	if err != nil {
		code := providers.Internal
		if errors.Is(err, os.ErrNotExist) {
			code = providers.NotFound
		}
		return nil, providers.Wrap(err, code, op, path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, &providers.Error{Code: providers.PermissionDenied, Op: op, Resource: path,
			Msg: fmt.Sprintf("key file mode is %04o: it must not be accessible by group or others (chmod 600)", st.Mode().Perm())}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, providers.Wrap(err, providers.Internal, op, path)
	}
	defer clear(data)
	var keys []KEK
	var errs []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			errs = append(errs, fmt.Sprintf("line %d: want \"<id> <key>\"", n))
			continue
		}
		k, err := decodeKey(f[0], f[1])
		if err != nil {
			errs = append(errs, fmt.Sprintf("line %d: %v", n, err))
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 && len(errs) == 0 {
		errs = append(errs, "no key in file")
	}
	if len(errs) > 0 {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: path, Msg: strings.Join(errs, "; ")}
	}
	return NewLocalKeyring(keys[0], keys[1:]...)
}

func decodeKey(id, s string) (KEK, error) {
	var b []byte
	var err error
	if len(s) == 2*crypto.KeySize {
		b, err = hex.DecodeString(s)
	} else {
		b, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil || len(b) != crypto.KeySize {
		// Never echo the value: it is (part of) a key.
		return KEK{}, errors.New("key must be 64 hex digits or base64 of 32 bytes")
	}
	return NewKEK(id, b)
}

// WriteKeyFile creates a new key file at path (mode 0600; an existing file
// is never overwritten) holding keys, the first being current.
func WriteKeyFile(path string, keys ...KEK) error {
	const op = "backup.WriteKeyFile"
	if len(keys) == 0 {
		return providers.Errorf(providers.InvalidArgument, "%s: at least one key is required", op)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		code := providers.Internal
		if errors.Is(err, os.ErrExist) {
			code = providers.AlreadyExists
		}
		return providers.Wrap(err, code, op, path)
	}
	var b strings.Builder
	b.WriteString("# orocloud backup key-encryption keys: \"<id> <hex key>\", the first is current\n")
	for _, k := range keys {
		b.WriteString(string(k.Encode()) + "\n")
	}
	if _, err := f.WriteString(b.String()); err != nil {
		_ = f.Close()
		return providers.Wrap(err, providers.Internal, op, path)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return providers.Wrap(err, providers.Internal, op, path)
	}
	return providers.Wrap(f.Close(), providers.Internal, op, path)
}

// KeyringFromEnv reads a keyring from the environment variable name. Its
// value is "<key>" (id "env") or a comma-separated list "<id>:<key>,...",
// the first current; keys as in LoadKeyFile.
func KeyringFromEnv(name string) (*LocalKeyring, error) {
	const op = "backup.KeyringFromEnv"
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: name, Msg: "environment variable is not set"}
	}
	var keys []KEK
	var errs []string
	for i, item := range strings.Split(v, ",") {
		id, key, found := strings.Cut(strings.TrimSpace(item), ":")
		if !found {
			id, key = "env", id
		}
		k, err := decodeKey(id, key)
		if err != nil {
			errs = append(errs, fmt.Sprintf("item %d: %v", i+1, err))
			continue
		}
		keys = append(keys, k)
	}
	if len(errs) > 0 {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: name, Msg: strings.Join(errs, "; ")}
	}
	return NewLocalKeyring(keys[0], keys[1:]...)
}
