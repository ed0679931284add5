package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/orocloud/orocloud-go/backup"
)

// BenchmarkRetain100k applies the default policy (in a DST location) to
// 100,000 points, about 11 years of hourly backups. Goal: under 50 ms.
//
//	go test ./bench/backup -run XXX -bench Retain
func BenchmarkRetain100k(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Skip(err)
	}
	pol := backup.DefaultPolicy().In(loc)
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	pts := make([]backup.RecoveryPoint, 100000)
	for i := range pts {
		t := now.Add(-time.Duration(i) * time.Hour)
		pts[i] = backup.RecoveryPoint{ID: fmt.Sprintf("%s-%08x", t.Format("20060102T150405Z"), i), Time: t}
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		keep, _ := pol.Retain(pts, now)
		if len(keep) == 0 {
			b.Fatal("nothing kept")
		}
	}
	// CPU time per op: on a shared, oversubscribed machine wall time also
	// counts the time spent waiting for a core.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
