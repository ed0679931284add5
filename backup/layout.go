package backup

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// The object layout of a store, defined here and nowhere else:
//
//	manifests/<id>            the authenticated manifest; written last, so a
//	                          point exists exactly when this object does
//	data/<id>/<part>          one encrypted object per part ("db/0001",
//	                          "schema/pre-data", "media", "code", ...)
//	locks/<id>                present while a backup of <id> is being
//	                          written; Prune leaves such points alone
//
// Point IDs sort by time: UTC timestamp, then 8 random hex digits.
const (
	manifestPrefix = "manifests/"
	dataPrefix     = "data/"
	lockPrefix     = "locks/"
	idLayout       = "20060102T150405Z"
)

var idRE = regexp.MustCompile(`^\d{8}T\d{6}Z-[0-9a-f]{8}$`)

func manifestKey(id string) string        { return manifestPrefix + id }
func dataDir(id string) string            { return dataPrefix + id + "/" }
func partKey(id, part string) string      { return path.Join(dataPrefix, id, part) }
func lockKey(id string) string            { return lockPrefix + id }
func validID(id string) bool              { return idRE.MatchString(id) }
func idFromKey(key, prefix string) string { return strings.TrimPrefix(key, prefix) }

func newID(t time.Time) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return t.UTC().Format(idLayout) + "-" + hex.EncodeToString(b[:]), nil
}

func idTime(id string) (time.Time, error) {
	if !validID(id) {
		return time.Time{}, fmt.Errorf("%q is not a recovery point ID", id)
	}
	return time.Parse(idLayout, id[:len(idLayout)])
}

// Part names.
const (
	partSchema    = "schema/schema.dump"
	partSequences = "schema/sequences"
	partMedia     = "media"
	partCode      = "code"
)

func dbPart(n int) string { return fmt.Sprintf("db/%04d", n) }
