// Command backup-restore shows the backup engine end to end on a local
// PostgreSQL: it starts a throwaway server, loads sample data and media,
// backs them up into an encrypted recovery point (with a progress bar),
// lists the points, verifies the newest, restores it into a fresh database
// and media directory, compares the contents, and prints the measured RTO.
//
//	go run ./examples/backup-restore            # -rows 200000 for more data
//
// Without PostgreSQL 15 server binaries it says how to install them and
// exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/orocloud/orocloud-go/backup"
	"github.com/orocloud/orocloud-go/internal/pgharness"
)

const schema = `
CREATE TABLE customer (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, name text, created timestamptz DEFAULT now());
CREATE TABLE product (sku text PRIMARY KEY, title text NOT NULL, price numeric(10,2), attrs jsonb);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customer(id), sku text REFERENCES product(sku),
  qty int, placed timestamptz);
CREATE INDEX orders_customer ON orders (customer_id);
INSERT INTO customer (email, name) SELECT 'buyer' || g || '@example.com', 'Buyer ' || g FROM generate_series(1, $1::int / 10) g;
INSERT INTO product SELECT 'SKU-' || g, 'Product ' || g, (g % 500) + 0.99, jsonb_build_object('color', g % 7) FROM generate_series(1, 1000) g;
INSERT INTO orders (customer_id, sku, qty, placed)
  SELECT 1 + g % ($1::int / 10), 'SKU-' || (1 + g % 1000), 1 + g % 5, TIMESTAMPTZ '2026-01-01' + g * interval '1 minute'
  FROM generate_series(1, $1::int) g;
`

var tables = []string{"customer", "product", "orders"}

func main() {
	rows := flag.Int("rows", 100000, "orders to generate")
	flag.Parse()
	if err := pgharness.Available(); err != nil {
		fmt.Println("PostgreSQL is not available, so this example cannot run here:")
		fmt.Println("  ", err)
		fmt.Println("Install it with: apt-get install -y postgresql-15   (or set OROCLOUD_PG_BINDIR)")
		return
	}
	if err := run(*rows); err != nil {
		fmt.Fprintln(os.Stderr, "backup-restore:", err)
		os.Exit(1)
	}
}

func run(rows int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	work, err := os.MkdirTemp("", "orocloud-backup-example-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	fmt.Println("starting a local PostgreSQL...")
	srv, err := pgharness.Start(ctx, nil)
	if err != nil {
		return err
	}
	defer srv.Cleanup()
	if err := srv.CreateDatabase(ctx, "shop"); err != nil {
		return err
	}
	c, err := srv.Connect(ctx, "shop")
	if err != nil {
		return err
	}
	for _, stmt := range strings.Split(strings.TrimSpace(schema), ";\n") {
		if _, err := c.Exec(ctx, stmt, rowsArg(stmt, rows)...); err != nil {
			return fmt.Errorf("load sample data: %w", err)
		}
	}
	_ = c.Close(ctx)
	media := filepath.Join(work, "media")
	for i := range 50 {
		p := filepath.Join(media, "product", fmt.Sprintf("%02d", i%10), fmt.Sprintf("sku-%d.jpg", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(strings.Repeat(fmt.Sprintf("image %d ", i), 20000)), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("loaded %d orders and 50 media files\n", rows)

	// A key-encryption key in a 0600 key file, and a local directory store.
	kek, err := backup.GenerateKEK("example-2026")
	if err != nil {
		return err
	}
	keyFile := filepath.Join(work, "backup.keys")
	if err := backup.WriteKeyFile(keyFile, kek); err != nil {
		return err
	}
	keys, err := backup.LoadKeyFile(keyFile)
	if err != nil {
		return err
	}
	store, err := backup.NewDirStore(filepath.Join(work, "repo"))
	if err != nil {
		return err
	}
	eng, err := backup.NewEngine(store, keys, &backup.Options{
		Database: srv.DSN("shop"), Media: media, Environment: "example",
		Progress: bar,
	})
	if err != nil {
		return err
	}

	res, err := eng.Backup(ctx, backup.Request{CodeRef: "git:3f2c1e9"})
	if err != nil {
		return err
	}
	fmt.Printf("\nbacked up %s: %.1f MB -> %.1f MB stored in %s\n", res.Point.ID, mb(res.Bytes), mb(res.Stored), res.Duration.Round(time.Millisecond))

	pts, err := eng.List(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Println("recovery points (newest first):")
	for _, p := range pts {
		fmt.Printf("  %s  %s  %7.1f MB  tiers=%v  code=%s\n", p.ID, p.Time.Format(time.RFC3339), mb(p.Size), p.Tiers, p.CodeRef)
	}

	v, err := eng.Verify(ctx, pts[0].ID)
	if err != nil {
		return err
	}
	fmt.Printf("\nverified %d parts, %.1f MB, in %s\n", v.Parts, mb(v.Bytes), v.Duration.Round(time.Millisecond))

	if err := srv.CreateDatabase(ctx, "shop_restored"); err != nil {
		return err
	}
	restoredMedia := filepath.Join(work, "media-restored")
	rr, err := eng.Restore(ctx, pts[0].ID, backup.Target{Database: srv.DSN("shop_restored"), Media: restoredMedia})
	if err != nil {
		return err
	}
	fmt.Printf("\nrestored into shop_restored and %s\n", restoredMedia)

	for _, t := range tables {
		a, err := checksum(ctx, srv, "shop", t)
		if err != nil {
			return err
		}
		b, err := checksum(ctx, srv, "shop_restored", t)
		if err != nil {
			return err
		}
		if a != b {
			return fmt.Errorf("table %s differs after restore: %s vs %s", t, a, b)
		}
		fmt.Printf("  table %-9s identical (%s)\n", t, a)
	}
	n1, _ := countFiles(media)
	n2, _ := countFiles(restoredMedia)
	if n1 != n2 {
		return errors.New("media differ after restore")
	}
	fmt.Printf("  media     identical (%d files)\n", n2)
	fmt.Printf("\nmeasured RTO for %.1f MB: %s\n", mb(rr.Bytes), rr.Duration.Round(time.Millisecond))
	return nil
}

func rowsArg(stmt string, rows int) []any {
	if strings.Contains(stmt, "$1") {
		return []any{rows}
	}
	return nil
}

// bar draws a one-line progress bar.
func bar(p backup.Progress) {
	const width = 30
	frac := 0.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	n := min(width, int(frac*width))
	fmt.Printf("\r%-8s [%s%s] %3.0f%% %7.1f MB %6.1f MB/s %-16s", p.Op, strings.Repeat("#", n), strings.Repeat(".", width-n),
		100*frac, mb(p.Done), p.Rate/1e6, p.Part)
	if p.Part == "" && p.Done == p.Total {
		fmt.Println()
	}
}

func mb(n int64) float64 { return float64(n) / 1e6 }

func checksum(ctx context.Context, srv *pgharness.Server, db, table string) (string, error) {
	c, err := srv.Connect(ctx, db)
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	var n int64
	var sum string
	err = c.QueryRow(ctx, "SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM "+table+" t").Scan(&n, &sum)
	return fmt.Sprintf("%d rows, md5 %s", n, sum[:12]), err
}

func countFiles(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	return n, err
}
