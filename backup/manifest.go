package backup

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/orocloud/orocloud-go/internal/crypto"
	"github.com/orocloud/orocloud-go/providers"
)

const formatV1 = "orocloud-backup/1"

// manifest describes a complete recovery point. It is stored in an envelope
// that carries the wrapped data key and an HMAC of the manifest under a key
// derived from the data key, followed by a SHA-256 of the envelope (which
// tells a damaged file from a wrong key before any key is used).
type manifest struct {
	Format          string        `json:"format"`
	ID              string        `json:"id"`
	Time            time.Time     `json:"time"`
	Finished        time.Time     `json:"finished"`
	Duration        time.Duration `json:"duration"`
	Environment     string        `json:"environment,omitempty"`
	CodeRef         string        `json:"codeRef,omitempty"`
	PostgresVersion string        `json:"postgresVersion,omitempty"`
	Database        string        `json:"database,omitempty"`
	ChunkSize       int           `json:"chunkSize"`
	Tables          []tableInfo   `json:"tables,omitempty"`
	Parts           []partInfo    `json:"parts"`
}

type tableInfo struct {
	Schema  string   `json:"schema"`
	Name    string   `json:"name"`
	Columns []string `json:"columns"` // quoted identifiers
	Pages   int64    `json:"pages"`
	// Format is the COPY format: "" (text) or "binary".
	Format string `json:"format,omitempty"`
}

type segment struct {
	Table int   `json:"table"`
	From  int64 `json:"from"`            // first page
	To    int64 `json:"to"`              // page after the last; 0 = to the end
	Bytes int64 `json:"bytes"`           // COPY text bytes
	Whole bool  `json:"whole,omitempty"` // the whole table in one COPY
}

type partInfo struct {
	Name   string `json:"name"`
	Plain  int64  `json:"plain"`
	Stored int64  `json:"stored"`
	SHA256 string `json:"sha256"`
	Chunks int64  `json:"chunks"`
	// Compression is "" or "zstd" (applied before encryption).
	Compression string    `json:"compression,omitempty"`
	Segments    []segment `json:"segments,omitempty"`
}

type envelope struct {
	Format string     `json:"format"`
	ID     string     `json:"id"`
	Key    WrappedKey `json:"key"`
	Body   []byte     `json:"manifest"`
	MAC    []byte     `json:"mac"`
}

func keyAAD(id string) []byte { return []byte(formatV1 + " data key " + id) }

func (m *manifest) point(storedSize int64, keyID string) RecoveryPoint {
	var plain int64
	for _, p := range m.Parts {
		plain += p.Plain
	}
	return RecoveryPoint{ID: m.ID, Time: m.Time, Environment: m.Environment, CodeRef: m.CodeRef,
		Size: storedSize, PlainSize: plain, PostgresVersion: m.PostgresVersion, Duration: m.Duration, KeyID: keyID}
}

func (m *manifest) part(name string) (partInfo, bool) {
	for _, p := range m.Parts {
		if p.Name == name {
			return p, true
		}
	}
	return partInfo{}, false
}

func encodeEnvelope(env envelope) ([]byte, error) {
	js, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(js)
	return append(append(js, '\n'), []byte(hex.EncodeToString(sum[:])+"\n")...), nil
}

func sealManifest(ctx context.Context, keys Keyring, m *manifest, dataKey []byte, wk WrappedKey) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return encodeEnvelope(envelope{Format: formatV1, ID: m.ID, Key: wk, Body: body, MAC: crypto.MAC(dataKey, "manifest "+m.ID, body)})
}

// readEnvelope fetches and checksums the manifest of id.
func (e *Engine) readEnvelope(ctx context.Context, op, id string) (envelope, error) {
	if !validID(id) {
		return envelope{}, &providers.Error{Code: providers.NotFound, Op: op, Resource: id, Msg: "not a recovery point ID"}
	}
	rc, err := e.store.Get(ctx, manifestKey(id))
	if err != nil {
		if providers.Code(err) == providers.NotFound {
			return envelope{}, &providers.Error{Code: providers.NotFound, Op: op, Resource: id, Msg: "no such recovery point", Err: err}
		}
		return envelope{}, providers.Wrap(err, providers.Code(err), op, id)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return envelope{}, providers.Wrap(err, providers.Unavailable, op, id)
	}
	i := bytes.LastIndexByte(bytes.TrimSuffix(data, []byte("\n")), '\n')
	if i < 0 {
		return envelope{}, integrity(op, id, "manifest", "malformed manifest object", nil)
	}
	js, sumHex := data[:i], bytes.TrimSpace(data[i+1:])
	sum := sha256.Sum256(js)
	if hex.EncodeToString(sum[:]) != string(sumHex) {
		return envelope{}, integrity(op, id, "manifest", "checksum mismatch (the manifest object is damaged)", nil)
	}
	var env envelope
	if err := json.Unmarshal(js, &env); err != nil {
		return envelope{}, integrity(op, id, "manifest", "undecodable manifest", err)
	}
	if env.Format != formatV1 || env.ID != id {
		return envelope{}, integrity(op, id, "manifest", "format or ID does not match", nil)
	}
	return env, nil
}

// unauthenticated decodes the manifest body without keys (for List).
func (env envelope) unauthenticated(op string) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(env.Body, &m); err != nil || m.ID != env.ID {
		return nil, integrity(op, env.ID, "manifest", "undecodable manifest body", err)
	}
	return &m, nil
}

// openPoint reads point id's manifest and authenticates it (see open).
func (e *Engine) openPoint(ctx context.Context, op, id string) (envelope, *manifest, []byte, error) {
	env, err := e.readEnvelope(ctx, op, id)
	if err != nil {
		return env, nil, nil, err
	}
	m, dk, err := e.open(ctx, op, env)
	return env, m, dk, err
}

// open authenticates the manifest: it unwraps the data key and checks the
// MAC. Nothing is trusted before it returns.
func (e *Engine) open(ctx context.Context, op string, env envelope) (*manifest, []byte, error) {
	dk, err := e.keys.Unwrap(ctx, env.Key, keyAAD(env.ID))
	if err != nil {
		if errors.Is(err, crypto.ErrUnwrap) {
			return nil, nil, integrity(op, env.ID, "manifest", "the wrapped data key does not authenticate (damaged manifest or wrong key material)", nil)
		}
		return nil, nil, providers.Wrap(err, providers.Code(err), op, env.ID)
	}
	if !hmac.Equal(crypto.MAC(dk, "manifest "+env.ID, env.Body), env.MAC) {
		return nil, nil, integrity(op, env.ID, "manifest", "manifest authentication failed", nil)
	}
	m, err := env.unauthenticated(op)
	if err != nil {
		return nil, nil, err
	}
	return m, dk, nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
