// Package backup backs up an OroCommerce environment (its PostgreSQL
// database, media directory and code reference) into encrypted,
// authenticated recovery points, and lists, verifies, restores and prunes
// them on the reference policy: hourly points kept 7 days (RPO 1 hour),
// weekly (Sunday) points kept 4 weeks, monthly (last Sunday) points kept 12
// months.
//
// # Entry points
//
//	pol := backup.DefaultPolicy()                      // pure: pol.Retain(points, now), pol.Next(t)
//	store, _ := backup.NewDirStore("/var/backups/acme") // or backup.NewObjectStore(provider, bucket, prefix)
//	keys, _ := backup.LoadKeyFile("/etc/acme/backup.keys")  // mode 0600, or backup.KeyringFromEnv
//	eng, _ := backup.NewEngine(store, keys, &backup.Options{Database: dsn, Media: dir})
//	res, _ := eng.Backup(ctx, backup.Request{CodeRef: "git:3f2c1e9"})
//	pts, _ := eng.List(ctx, nil)                       // newest first; eng.LatestBefore(ctx, t)
//	_, _ = eng.Verify(ctx, res.Point.ID)               // decrypts and checks everything, writes nothing
//	rr, _ := eng.Restore(ctx, res.Point.ID, backup.Target{Database: otherDSN, Media: otherDir})
//	_, _ = eng.Prune(ctx, &backup.PruneOptions{DryRun: true})
//	go backup.NewScheduler(eng, nil) ... .Run(ctx)     // backups at the policy's times, prune after each
//
// # Data path
//
// Backup exports one snapshot (REPEATABLE READ, pg_export_snapshot) and
// takes ACCESS SHARE locks on the tables, as pg_dump does. In that snapshot
// pg_dump writes the schema (--schema-only, custom format) while
// COPY ... TO STDOUT workers (Options.Parallel; by default one per two
// CPUs for a server on this host, GOMAXPROCS for a remote one) each run on
// their own connection (SET TRANSACTION SNAPSHOT). With more than one
// worker, tables larger than Options.SegmentSize are split into ctid
// ranges (a TID range scan since PostgreSQL 14), so one large table is
// read by all workers. Sequences are
// read in the same snapshot. Each worker streams its segments into one part;
// nothing is buffered beyond a chunk per stream, so memory stays flat
// whatever the database size.
//
// Restore runs the pre-data schema, loads the parts with parallel COPY FROM
// (one stream per part, synchronous_commit off), sets the sequences, then
// runs the post-data schema: index and constraint builds in parallel
// sessions, then foreign keys, triggers and the rest in order, like
// pg_restore -j. Restore loads at most as many parts at once as it has
// streams for the target (chosen as for Backup).
//
// Not included, as with pg_dump of one database: roles, tablespaces and
// other cluster-wide objects. Large objects are not backed up: Backup
// refuses a database that has any rather than losing them silently.
//
// # Encryption and integrity
//
// Each point has a fresh 256-bit data key, wrapped by the Keyring's
// key-encryption key (AES-256-GCM). Every part is encrypted in chunks with
// AES-256-GCM under a per-part key derived with HKDF; each chunk's
// additional data binds the part name, the chunk index and a final flag, so
// flipped bits, reordered, truncated or swapped chunks or parts fail
// authentication (see internal/crypto). The manifest (tiers follow from
// its time; sizes, SHA-256 of each part's plaintext, PostgreSQL version,
// environment, code reference) is authenticated with an HMAC under a key
// derived from the data key and carries a SHA-256 checksum, so a damaged
// manifest, a wrong key and an unknown key are told apart. Key rotation
// (RotateKeys) re-wraps data keys only.
//
// # Store layout and atomicity
//
// The layout is defined once, in layout.go: manifests/<id>, data/<id>/<part>,
// locks/<id>. Backup writes the lock, then the parts, then the manifest,
// then removes the lock; a point exists exactly when its manifest does. A
// Store makes an object visible only when it is completely written
// (DirStore: temporary file, fsync, rename). A failed or canceled Backup
// removes its objects; a killed one leaves invisible temporary files and
// data without a manifest, which Prune removes once the lock is older than
// Options.LockTTL. Prune never touches a point whose lock is fresh.
//
// # Errors
//
// Errors carry a providers.ErrorCode: NotFound for an unknown point,
// PermissionDenied for a wrong or missing key, FailedPrecondition for a
// non-empty restore target, InvalidArgument for bad options (all problems
// at once), Internal with an *IntegrityError (errors.Is(err, ErrIntegrity))
// naming the damaged part. Connection strings, passwords and keys never
// appear in errors or logs.
package backup
