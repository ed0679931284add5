package main

import (
	"context"
	"fmt"
)

// backupDemo runs the backup flow when PostgreSQL is installed.
func backupDemo(ctx context.Context) error {
	fmt.Println("  (backup demo: see examples/backup-restore)")
	return nil
}
