package backup

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// CheckBinaryTarget runs Restore's version check for a point taken from
// server version version, with one table in binary format when binary.
func CheckBinaryTarget(ctx context.Context, conn *pgx.Conn, version string, binary bool) error {
	m := &manifest{ID: "20260101T000000Z-00000000", PostgresVersion: version, Tables: []tableInfo{{Schema: "public", Name: "t"}}}
	if binary {
		m.Tables[0].Format = "binary"
	}
	return checkBinaryTarget(ctx, conn, m)
}
