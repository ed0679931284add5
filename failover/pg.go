package failover

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/orocloud/orocloud-go/providers"
)

// LSN is a PostgreSQL WAL position.
type LSN uint64

// ParseLSN parses the text form "16/B374D848".
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, providers.Errorf(providers.InvalidArgument, "failover: invalid LSN %q", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, providers.Errorf(providers.InvalidArgument, "failover: invalid LSN %q", s)
	}
	return LSN(h<<32 | l), nil
}

// String returns the text form of the LSN.
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xffffffff) }

// connect opens a connection to n bounded by timeout. The DSN never appears
// in the error.
func connect(ctx context.Context, n Node, timeout time.Duration) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(n.DSN)
	if err != nil {
		return nil, providers.Errorf(providers.InvalidArgument, "failover: node %s: invalid DSN", n.Name)
	}
	cfg.ConnectTimeout = timeout
	cfg.RuntimeParams["application_name"] = "orocloud-failover"
	// Our own statements never wait for a synchronous standby.
	cfg.RuntimeParams["synchronous_commit"] = "local"
	cfg.Fallbacks = nil
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, providers.Wrap(err, providers.Unavailable, "failover.connect", n.Name)
	}
	return c, nil
}

func closeConn(c *pgx.Conn) {
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = c.Close(ctx)
}

// replica is one row of the primary's pg_stat_replication.
type replica struct {
	Name      string
	State     string
	SyncState string
	Flush     LSN
}

// probeResult is what one health probe saw.
type probeResult struct {
	InRecovery bool
	// LSN: the flush position on a primary, max(receive, replay) on a
	// standby.
	LSN       LSN
	SyncNames string
	Replicas  []replica
}

const probeSQL = `SELECT pg_is_in_recovery(),
  coalesce(CASE WHEN pg_is_in_recovery()
    THEN greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
    ELSE pg_current_wal_flush_lsn() END, '0/0')::text,
  current_setting('synchronous_standby_names')`

const replicasSQL = `SELECT coalesce(application_name, ''), coalesce(state, ''), coalesce(sync_state, ''),
  coalesce(flush_lsn, '0/0')::text FROM pg_stat_replication`

// probe runs the health query on c in one round trip.
func probe(ctx context.Context, c *pgx.Conn) (probeResult, error) {
	var r probeResult
	b := &pgx.Batch{}
	var lsn string
	b.Queue(probeSQL).QueryRow(func(row pgx.Row) error { return row.Scan(&r.InRecovery, &lsn, &r.SyncNames) })
	b.Queue(replicasSQL).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var rp replica
			var f string
			if err := rows.Scan(&rp.Name, &rp.State, &rp.SyncState, &f); err != nil {
				return err
			}
			rp.Flush, _ = ParseLSN(f)
			r.Replicas = append(r.Replicas, rp)
		}
		return rows.Err()
	})
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return r, err
	}
	var err error
	r.LSN, err = ParseLSN(lsn)
	return r, err
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// conninfoValue quotes a libpq keyword/value value.
func conninfoValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// primaryConninfo builds the primary_conninfo a standby named app uses to
// stream from n.
func primaryConninfo(n Node, app string) (string, error) {
	cfg, err := pgx.ParseConfig(n.DSN)
	if err != nil {
		return "", providers.Errorf(providers.InvalidArgument, "failover: node %s: invalid DSN", n.Name)
	}
	parts := []string{
		"host=" + conninfoValue(cfg.Host),
		"port=" + strconv.Itoa(int(cfg.Port)),
		"user=" + conninfoValue(cfg.User),
		"application_name=" + conninfoValue(app),
	}
	if cfg.Password != "" {
		parts = append(parts, "password="+conninfoValue(cfg.Password))
	}
	if cfg.TLSConfig == nil {
		parts = append(parts, "sslmode=disable")
	}
	return strings.Join(parts, " "), nil
}

// syncNamesValue renders a synchronous_standby_names value.
func syncNamesValue(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return "ANY 1 (" + strings.Join(names, ", ") + ")"
}
