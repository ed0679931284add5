package backup

import (
	"time"
)

// RecoveryPoint is one complete backup: the database, media and code of an
// environment at one moment. Only points whose manifest was written (the
// last step of Backup) exist.
type RecoveryPoint struct {
	// ID is unique and sorts by time: "20261126T010000Z-4f2a9c1b".
	ID string `json:"id"`
	// Time is when the database snapshot was taken.
	Time time.Time `json:"time"`
	// Environment names the environment the point belongs to.
	Environment string `json:"environment,omitempty"`
	// CodeRef is the application code reference (a commit hash) if given.
	CodeRef string `json:"codeRef,omitempty"`
	// Size is the stored size of all parts, in bytes.
	Size int64 `json:"size"`
	// PlainSize is the size of all parts before encryption.
	PlainSize int64 `json:"plainSize"`
	// PostgresVersion is the server_version of the backed-up database.
	PostgresVersion string `json:"postgresVersion,omitempty"`
	// Duration is how long the backup took.
	Duration time.Duration `json:"duration"`
	// KeyID names the key-encryption key that wraps the point's data key.
	KeyID string `json:"keyId,omitempty"`
	// Tiers are set by Policy.Retain (and List): the tiers the point belongs
	// to among the points it was judged with.
	Tiers []Tier `json:"tiers,omitempty"`
	// Reasons are set by Policy.Retain on kept points: why each is kept.
	Reasons []Reason `json:"reasons,omitempty"`
}

// Progress reports how far a long operation is. Callbacks receive it from
// one goroutine at a time.
type Progress struct {
	// Op is "backup", "verify" or "restore".
	Op string
	// Part is the part being worked on ("db/0003", "media", "post-data"...).
	Part string
	// Done and Total are bytes (of plaintext); Total is an estimate during
	// backup (table and media sizes) and may be 0 when unknown.
	Done, Total int64
	// Elapsed is the time since the operation started.
	Elapsed time.Duration
	// Rate is Done / Elapsed in bytes per second.
	Rate float64
}
