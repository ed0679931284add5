package backup_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/orocloud/orocloud-go/backup"
)

// Retention is a pure function of the points and the time.
func ExamplePolicy_Retain() {
	pol := backup.DefaultPolicy() // hourly 7 d, weekly (Sunday) 4 w, monthly (last Sunday) 12 m, UTC
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var points []backup.RecoveryPoint
	for _, t := range []time.Time{
		now.Add(-1 * time.Hour),
		now.Add(-90 * time.Minute),                     // 10:30, the newest of its clock hour: hourly
		now.Add(-2 * time.Hour),                        // 10:00, not the newest of its hour: no tier
		time.Date(2026, 11, 15, 23, 0, 0, 0, time.UTC), // a Sunday, 11 days ago: weekly
		time.Date(2026, 11, 14, 23, 0, 0, 0, time.UTC), // a Saturday, 12 days ago
		time.Date(2026, 10, 25, 23, 0, 0, 0, time.UTC), // last Sunday of October, 32 days ago: monthly only
	} {
		points = append(points, backup.RecoveryPoint{ID: t.Format("20060102T150405Z") + "-00000000", Time: t})
	}
	keep, expire := pol.Retain(points, now)
	for _, p := range keep {
		fmt.Println("keep  ", p.Time.Format("Mon 2006-01-02 15:04"), p.Reasons)
	}
	for _, p := range expire {
		fmt.Println("expire", p.Time.Format("Mon 2006-01-02 15:04"), p.Tiers)
	}
	// Output:
	// keep   Thu 2026-11-26 11:00 [newest point hourly]
	// keep   Thu 2026-11-26 10:30 [hourly]
	// keep   Sun 2026-11-15 23:00 [weekly]
	// keep   Sun 2026-10-25 23:00 [monthly]
	// expire Thu 2026-11-26 10:00 []
	// expire Sat 2026-11-14 23:00 [hourly]
}

// A media-only engine over a local directory: back up, list, verify,
// restore. Set Options.Database to include a PostgreSQL database.
func ExampleNewEngine() {
	ctx := context.Background()
	work, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(work)
	media := filepath.Join(work, "media")
	_ = os.MkdirAll(media, 0o755)
	_ = os.WriteFile(filepath.Join(media, "logo.png"), []byte("png bytes"), 0o644)

	kek, _ := backup.GenerateKEK("k-2026")
	_ = backup.WriteKeyFile(filepath.Join(work, "keys"), kek) // mode 0600
	keys, err := backup.LoadKeyFile(filepath.Join(work, "keys"))
	if err != nil {
		fmt.Println(err)
		return
	}
	store, _ := backup.NewDirStore(filepath.Join(work, "repo"))
	eng, err := backup.NewEngine(store, keys, &backup.Options{Media: media})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := eng.Backup(ctx, backup.Request{CodeRef: "git:3f2c1e9"})
	if err != nil {
		fmt.Println(err)
		return
	}
	pts, _ := eng.List(ctx, nil)
	fmt.Println("points:", len(pts), "code:", pts[0].CodeRef)
	if _, err := eng.Verify(ctx, res.Point.ID); err != nil {
		fmt.Println(err)
		return
	}
	_, err = eng.Restore(ctx, res.Point.ID, backup.Target{Media: filepath.Join(work, "restored")})
	b, _ := os.ReadFile(filepath.Join(work, "restored", "logo.png"))
	fmt.Println(string(b), err)
	// Output:
	// points: 1 code: git:3f2c1e9
	// png bytes <nil>
}
