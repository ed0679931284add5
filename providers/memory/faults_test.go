package memory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/clock"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
	"github.com/orocloud/orocloud-go/retry"
)

const region = "europe-west3"

func ourLabels(env string) providers.Labels {
	return providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: env, providers.LabelTier: "web"}
}

func spec(name, zone string) providers.InstanceSpec {
	return providers.InstanceSpec{Name: name, Region: region, Zone: zone, MachineType: "e2-small", Labels: ourLabels("acme")}
}

func TestErrorRateIsReproducibleWithSeed(t *testing.T) {
	ctx := t.Context()
	pattern := func(seed uint64) []bool {
		p := memory.New(nil)
		require.NoError(t, p.SetErrorRate(0.3, seed, providers.ResourceExhausted))
		var out []bool
		for range 200 {
			_, err := p.ListZones(ctx, region)
			if err != nil {
				assert.Equal(t, providers.ResourceExhausted, providers.Code(err))
				assert.ErrorIs(t, err, memory.ErrInjected)
				assert.True(t, providers.IsTransient(err))
			}
			out = append(out, err != nil)
		}
		return out
	}
	a, b, c := pattern(42), pattern(42), pattern(7)
	assert.Equal(t, a, b, "same seed, same failures")
	assert.NotEqual(t, a, c, "another seed, other failures")
	failed := 0
	for _, f := range a {
		if f {
			failed++
		}
	}
	assert.InDelta(t, 60, failed, 25, "about 30%% of 200 calls fail")
}

func TestErrorRateRestrictedToMethods(t *testing.T) {
	p := memory.New(nil)
	require.NoError(t, p.SetErrorRate(1, 1, providers.Unavailable, "CreateInstance"))
	_, err := p.ListZones(t.Context(), region)
	require.NoError(t, err)
	_, err = p.CreateInstance(t.Context(), spec("web-1", "europe-west3-a"))
	assert.Equal(t, providers.Unavailable, providers.Code(err))
	require.NoError(t, p.SetErrorRate(0, 0, providers.OK))
	_, err = p.CreateInstance(t.Context(), spec("web-1", "europe-west3-a"))
	require.NoError(t, err)
}

func TestFailNthFailsExactlyThatCallWithoutEffect(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	require.NoError(t, p.FailNth("CreateInstance", 3, providers.ResourceExhausted))
	for i := 1; i <= 4; i++ {
		_, err := p.CreateInstance(ctx, spec(fmt.Sprintf("web-%d", i), "europe-west3-a"))
		if i == 3 {
			assert.Equal(t, providers.ResourceExhausted, providers.Code(err), "call %d", i)
			continue
		}
		assert.NoError(t, err, "call %d", i)
	}
	_, err := p.GetInstance(ctx, providers.InstanceRef{Region: region, Zone: "europe-west3-a", Name: "web-3"})
	assert.Equal(t, providers.NotFound, providers.Code(err), "the failed create had no effect")
	assert.Equal(t, 4, p.Calls()["CreateInstance"], "failed calls are counted")
}

func TestFailNthRecoveredByRetry(t *testing.T) {
	p := memory.New(nil)
	require.NoError(t, p.FailNth("ReserveAddress", 1, providers.Unavailable))
	fake := clock.NewAutoFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	addr, err := retry.Value(t.Context(), retry.Policy{Clock: fake}, func(ctx context.Context) (*providers.Address, error) {
		return p.ReserveAddress(ctx, providers.AddressSpec{Name: "primary-ip", Region: region, Labels: ourLabels("acme")})
	})
	require.NoError(t, err)
	assert.Equal(t, "203.0.113.1", addr.IP)
	assert.Equal(t, 2, p.Calls()["ReserveAddress"])
}

func TestLoseResponseTakesEffectThenFails(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	require.NoError(t, p.LoseResponse("CreateInstance", 2, providers.DeadlineExceeded))
	_, err := p.CreateInstance(ctx, spec("web-1", "europe-west3-a"))
	require.NoError(t, err)
	_, err = p.CreateInstance(ctx, spec("web-2", "europe-west3-a"))
	assert.Equal(t, providers.DeadlineExceeded, providers.Code(err))
	assert.ErrorIs(t, err, memory.ErrInjected)
	got, err := p.GetInstance(ctx, providers.InstanceRef{Region: region, Name: "web-2"})
	require.NoError(t, err, "the change took effect despite the error")
	// The retry meets its own first attempt and succeeds without a duplicate.
	again, err := p.CreateInstance(ctx, spec("web-2", "europe-west3-a"))
	require.NoError(t, err)
	assert.Equal(t, got.ID, again.ID)
	list, err := p.ListInstances(ctx, region, nil)
	require.NoError(t, err)
	assert.Len(t, list, 2)

	assert.Equal(t, providers.InvalidArgument, providers.Code(p.LoseResponse("GetInstance", 1, providers.Unavailable)), "reads cannot lose a change")
	// A failed call does not advance the countdown.
	require.NoError(t, p.LoseResponse("DeleteInstance", 1, providers.Unavailable))
	assert.Equal(t, providers.NotFound, providers.Code(p.DeleteInstance(ctx, providers.InstanceRef{Region: region, Name: "nope"})))
	assert.Equal(t, providers.Unavailable, providers.Code(p.DeleteInstance(ctx, again.Ref())))
	_, err = p.GetInstance(ctx, again.Ref())
	assert.Equal(t, providers.NotFound, providers.Code(err))
}

func TestFailNext(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	require.NoError(t, p.FailNext("", 2, providers.Internal))
	_, err := p.ListZones(ctx, region)
	assert.Equal(t, providers.Internal, providers.Code(err))
	_, err = p.ListInstances(ctx, region, nil)
	assert.Equal(t, providers.Internal, providers.Code(err))
	_, err = p.ListZones(ctx, region)
	assert.NoError(t, err)

	require.NoError(t, p.FailNext("DeleteBucket", 1, providers.PermissionDenied))
	_, err = p.ListZones(ctx, region)
	assert.NoError(t, err, "another method is not affected")
	assert.Equal(t, providers.PermissionDenied, providers.Code(p.DeleteBucket(ctx, "b-missing")))
	assert.Equal(t, providers.NotFound, providers.Code(p.DeleteBucket(ctx, "b-missing")))
}

func TestClearFaults(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	require.NoError(t, p.FailNext("", 5, providers.Internal))
	require.NoError(t, p.InjectRegionOutage(region))
	require.NoError(t, p.InjectZoneOutage(region, "europe-west3-a"))
	p.ClearFaults()
	zones, err := p.ListZones(ctx, region)
	require.NoError(t, err)
	for _, z := range zones {
		assert.True(t, z.Up)
	}
}

func TestHelpersRefuseBadArguments(t *testing.T) {
	p := memory.New(nil)
	for name, err := range map[string]error{
		"unknown method":           p.FailNth("CreateVM", 1, providers.Internal),
		"n zero":                   p.FailNth("CreateInstance", 0, providers.Internal),
		"code OK":                  p.FailNext("", 1, providers.OK),
		"undefined code":           p.FailNext("", 1, providers.ErrorCode(99)),
		"rate above one":           p.SetErrorRate(1.5, 1, providers.Internal),
		"rate unknown method":      p.SetErrorRate(0.5, 1, providers.Internal, "Nope"),
		"latency unknown method":   p.SetLatency(time.Millisecond, "Nope"),
		"zone outage unknown":      p.InjectZoneOutage(region, "europe-west3-z"),
		"region outage unknown":    p.InjectRegionOutage("mars-1"),
		"recover unknown region":   p.RecoverRegion("mars-1"),
		"recover unknown zone":     p.RecoverZone("mars-1", "a"),
		"fail next unknown method": p.FailNext("Nope", 1, providers.Internal),
	} {
		require.Error(t, err, name)
		assert.Contains(t, []providers.ErrorCode{providers.InvalidArgument, providers.NotFound}, providers.Code(err), name)
	}
}

func TestZoneOutage(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	a, err := p.CreateInstance(ctx, spec("db-1", "europe-west3-a"))
	require.NoError(t, err)
	b, err := p.CreateInstance(ctx, spec("db-2", "europe-west3-b"))
	require.NoError(t, err)

	require.NoError(t, p.InjectZoneOutage(region, "europe-west3-a"))
	zones, err := p.ListZones(ctx, region)
	require.NoError(t, err)
	up := map[string]bool{}
	for _, z := range zones {
		up[z.Name] = z.Up
	}
	assert.Equal(t, map[string]bool{"europe-west3-a": false, "europe-west3-b": true, "europe-west3-c": true}, up)

	got, err := p.GetInstance(ctx, a.Ref())
	require.NoError(t, err)
	assert.Equal(t, providers.StatusUnavailable, got.Status)
	list, err := p.ListInstances(ctx, region, nil)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, providers.StatusUnavailable, list[0].Status)
	assert.Equal(t, providers.StatusRunning, list[1].Status)

	_, err = p.CreateInstance(ctx, spec("web-1", "europe-west3-a"))
	assert.Equal(t, providers.Unavailable, providers.Code(err), "create in the down zone")
	assert.Equal(t, providers.Unavailable, providers.Code(p.StopInstance(ctx, a.Ref())), "fencing in the down zone")
	assert.Equal(t, providers.Unavailable, providers.Code(p.DeleteInstance(ctx, a.Ref())))
	_, err = p.CreateInstance(ctx, spec("web-2", "europe-west3-b"))
	require.NoError(t, err, "other zones work")
	require.NoError(t, p.StopInstance(ctx, b.Ref()))

	require.NoError(t, p.RecoverZone(region, "europe-west3-a"))
	got, err = p.GetInstance(ctx, a.Ref())
	require.NoError(t, err)
	assert.Equal(t, providers.StatusRunning, got.Status)
	_, err = p.CreateInstance(ctx, spec("web-1", "europe-west3-a"))
	require.NoError(t, err)
}

func TestRegionOutage(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	_, err := p.CreateInstance(ctx, spec("web-1", "europe-west3-a"))
	require.NoError(t, err)
	require.NoError(t, p.CreateBucket(ctx, providers.BucketSpec{Name: "backups-primary", Region: region}))
	require.NoError(t, p.CreateBucket(ctx, providers.BucketSpec{Name: "backups-dr", Region: "europe-west4"}))
	require.NoError(t, p.CreateBucket(ctx, providers.BucketSpec{Name: "backups-multi"}))
	_, err = p.ReserveAddress(ctx, providers.AddressSpec{Name: "lb-ip"})
	require.NoError(t, err)

	require.NoError(t, p.InjectRegionOutage(region))
	down := func(what string, err error) {
		t.Helper()
		assert.Equal(t, providers.Unavailable, providers.Code(err), what)
	}
	_, err = p.ListZones(ctx, region)
	down("ListZones", err)
	_, err = p.ListInstances(ctx, region, nil)
	down("ListInstances", err)
	_, err = p.CreateInstance(ctx, spec("web-2", "europe-west3-b"))
	down("CreateInstance", err)
	_, err = p.ReserveAddress(ctx, providers.AddressSpec{Name: "ip", Region: region})
	down("ReserveAddress", err)
	_, err = p.ListFirewallRules(ctx, region, nil)
	down("ListFirewallRules", err)
	_, err = p.PutObject(ctx, "backups-primary", "k", strings.NewReader("x"), nil)
	down("PutObject in the region's bucket", err)
	_, err = p.ListObjects(ctx, "backups-primary", "")
	down("ListObjects in the region's bucket", err)

	// The DR region, global addresses and multi-region buckets still work.
	_, err = p.CreateInstance(ctx, providers.InstanceSpec{Name: "web-1", Region: "europe-west4", Zone: "europe-west4-a", Labels: ourLabels("acme")})
	require.NoError(t, err)
	_, err = p.PutObject(ctx, "backups-dr", "k", strings.NewReader("x"), nil)
	require.NoError(t, err)
	_, err = p.PutObject(ctx, "backups-multi", "k", strings.NewReader("x"), nil)
	require.NoError(t, err)
	_, err = p.GetAddress(ctx, "", "lb-ip")
	require.NoError(t, err)

	require.NoError(t, p.RecoverRegion(region))
	list, err := p.ListInstances(ctx, region, nil)
	require.NoError(t, err)
	assert.Len(t, list, 1, "state survives the outage")
}

func TestLatencyOnInjectedClockHonoursContext(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := memory.New(&memory.Options{LatencyClock: fake, Latency: time.Second})
	done := make(chan error, 1)
	go func() {
		_, err := p.CreateInstance(t.Context(), spec("web-1", "europe-west3-a"))
		done <- err
	}()
	require.Eventually(t, func() bool { return fake.Waiters() == 1 }, 5*time.Second, time.Millisecond)
	select {
	case <-done:
		t.Fatal("create returned before its latency elapsed")
	default:
	}
	// Reads have no latency by default.
	_, err := p.ListZones(t.Context(), region)
	require.NoError(t, err)
	fake.Advance(time.Second)
	require.NoError(t, <-done)

	// A canceled ctx cuts the sleep short.
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		_, err := p.CreateInstance(ctx, spec("web-2", "europe-west3-a"))
		done <- err
	}()
	require.Eventually(t, func() bool { return fake.Waiters() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	assert.Equal(t, providers.Canceled, providers.Code(<-done))
	_, err = p.GetInstance(t.Context(), providers.InstanceRef{Region: region, Name: "web-2"})
	assert.Equal(t, providers.NotFound, providers.Code(err))
}

func TestSetLatencyPerMethodOnRealClock(t *testing.T) {
	p := memory.New(nil)
	require.NoError(t, p.SetLatency(20*time.Millisecond, "ListZones"))
	start := time.Now()
	_, err := p.ListZones(t.Context(), region)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
	require.NoError(t, p.SetLatency(0, "ListZones"))
}

func TestCallCounters(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	_, err := p.CreateInstance(ctx, spec("web-1", "europe-west3-a"))
	require.NoError(t, err)
	_, err = p.CreateInstance(ctx, spec("web-1", "europe-west3-a"))
	require.NoError(t, err)
	_, err = p.ListInstances(ctx, region, nil)
	require.NoError(t, err)
	require.NoError(t, p.StopInstance(ctx, spec("web-1", "").Ref()))
	_, err = p.GetInstance(ctx, providers.InstanceRef{Region: region, Name: "nope"})
	require.Error(t, err)
	assert.Equal(t, map[string]int{"CreateInstance": 2, "ListInstances": 1, "StopInstance": 1, "GetInstance": 1}, p.Calls())
	assert.Equal(t, 3, p.MutatingCalls())
	p.ResetCalls()
	assert.Empty(t, p.Calls())
	assert.Zero(t, p.MutatingCalls())
	assert.True(t, memory.Mutating("PutObject"))
	assert.False(t, memory.Mutating("GetObject"))
	assert.Contains(t, memory.Methods(), "EnsureLoadBalancer")
}

func TestConcurrentCreatesOfOneNameMakeOneInstance(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	const n = 64
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			inst, err := p.CreateInstance(ctx, spec("web-1", "europe-west3-a"))
			errs[i] = err
			if err == nil {
				ids[i] = inst.ID
			}
		})
	}
	// A different owner racing for the name never wins over ours silently.
	var foreignErr error
	wg.Go(func() {
		s := spec("web-1", "europe-west3-a")
		s.Labels = ourLabels("other")
		_, foreignErr = p.CreateInstance(ctx, s)
	})
	wg.Wait()
	list, err := p.ListInstances(ctx, region, nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	if list[0].Labels[providers.LabelEnvironment] == "other" {
		require.NoError(t, foreignErr)
		for _, err := range errs {
			assert.Equal(t, providers.AlreadyExists, providers.Code(err))
		}
		return
	}
	assert.Equal(t, providers.AlreadyExists, providers.Code(foreignErr))
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, list[0].ID, ids[i])
	}
}

func TestConcurrentMixedCallsUnderRace(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	require.NoError(t, p.CreateBucket(ctx, providers.BucketSpec{Name: "backups", Region: region}))
	require.NoError(t, p.SetErrorRate(0.1, 3, providers.Unavailable))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			name := fmt.Sprintf("web-%d", i)
			zone := []string{"europe-west3-a", "europe-west3-b", "europe-west3-c"}[i%3]
			for range 20 {
				_, _ = p.CreateInstance(ctx, spec(name, zone))
				_, _ = p.ListInstances(ctx, region, ourLabels("acme"))
				_, _ = p.PutObject(ctx, "backups", name, strings.NewReader(name), nil)
				if rc, _, err := p.GetObject(ctx, "backups", name); err == nil {
					_, _ = io.Copy(io.Discard, rc)
					_ = rc.Close()
				}
				_, _ = p.ListObjects(ctx, "backups", "")
				if i == 0 {
					_ = p.InjectZoneOutage(region, "europe-west3-c")
					_ = p.RecoverZone(region, "europe-west3-c")
				}
			}
		})
	}
	wg.Wait()
}

func TestProvisioningDelayOnFakeClock(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	p := memory.New(&memory.Options{Clock: fake, ProvisioningDelay: 30 * time.Second})
	inst, err := p.CreateInstance(t.Context(), spec("web-1", "europe-west3-a"))
	require.NoError(t, err)
	assert.Equal(t, providers.StatusProvisioning, inst.Status)
	assert.Equal(t, start, inst.CreatedAt)
	assert.Equal(t, "10.0.0.2", inst.PrivateIP)
	got, err := p.GetInstance(t.Context(), inst.Ref())
	require.NoError(t, err)
	assert.Equal(t, providers.StatusProvisioning, got.Status)
	fake.Advance(30 * time.Second)
	got, err = p.GetInstance(t.Context(), inst.Ref())
	require.NoError(t, err)
	assert.Equal(t, providers.StatusRunning, got.Status)
	second, err := p.CreateInstance(t.Context(), spec("web-2", "europe-west3-b"))
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.3", second.PrivateIP)
}

func TestDeterministicAddresses(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	reserve := func(region, name string) string {
		a, err := p.ReserveAddress(ctx, providers.AddressSpec{Name: name, Region: region, Labels: ourLabels("acme")})
		require.NoError(t, err)
		return a.IP
	}
	assert.Equal(t, "203.0.113.1", reserve("europe-west3", "primary-ip"))
	assert.Equal(t, "203.0.113.2", reserve("europe-west3", "second-ip"))
	assert.Equal(t, "198.51.100.1", reserve("europe-west4", "dr-ip"))
	assert.Equal(t, "100.64.2.1", reserve("us-east1", "us-ip"))
	assert.Equal(t, "192.0.2.1", reserve("", "lb-ip"))
	require.NoError(t, p.ReleaseAddress(ctx, "europe-west3", "primary-ip"))
	assert.Equal(t, "203.0.113.1", reserve("europe-west3", "third-ip"), "the lowest free address is reused")
}

func TestInvalidOptionsReportedByEveryCall(t *testing.T) {
	p := memory.New(&memory.Options{Regions: []memory.Region{
		{Name: "r1", Zones: []string{"r1-a"}},
		{Name: "r1", Zones: []string{"r1-b"}},
		{Name: "r2"},
	}})
	_, err := p.ListZones(t.Context(), "r1")
	require.Error(t, err)
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
	assert.Contains(t, err.Error(), `regions[1].name: duplicate region "r1"`)
	assert.Contains(t, err.Error(), `regions[2].zones`)
	assert.Equal(t, providers.InvalidArgument, providers.Code(p.CreateBucket(t.Context(), providers.BucketSpec{Name: "abc"})))
}

func TestOCIRegionFaultDomains(t *testing.T) {
	reg := memory.OCIRegion("eu-frankfurt-1")
	p := memory.New(&memory.Options{Regions: []memory.Region{reg}})
	zones, err := p.ListZones(t.Context(), "eu-frankfurt-1")
	require.NoError(t, err)
	require.Len(t, zones, 1)
	assert.Equal(t, "Uocm:EU-FRANKFURT-1-AD-1", zones[0].Name)
	assert.Equal(t, []string{"FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"}, zones[0].FaultDomains)
	s := providers.InstanceSpec{Name: "db-1", Region: "eu-frankfurt-1", Zone: zones[0].Name, FaultDomain: "FAULT-DOMAIN-2"}
	inst, err := p.CreateInstance(t.Context(), s)
	require.NoError(t, err)
	assert.Equal(t, "FAULT-DOMAIN-2", inst.FaultDomain)
	s.Name, s.FaultDomain = "db-2", "FAULT-DOMAIN-9"
	_, err = p.CreateInstance(t.Context(), s)
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
}

func TestInvalidSpecsListEveryProblem(t *testing.T) {
	p := memory.New(nil)
	_, err := p.CreateInstance(t.Context(), providers.InstanceSpec{Name: "Bad_Name", Labels: providers.Labels{"Env": "X"}, Tags: []string{"UP"}})
	require.Error(t, err)
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
	for _, field := range []string{"name:", "region:", "zone:", "tags[0]", `labels: key "Env"`, "labels[Env]"} {
		assert.Contains(t, err.Error(), field)
	}
	_, err = p.CreateFirewallRule(t.Context(), providers.FirewallRule{Name: "fw", Region: region, Protocol: "icmp", Ports: []int{0}, SourceRanges: []string{"nope"}, TargetTags: []string{"web"}})
	require.Error(t, err)
	for _, field := range []string{"protocol:", "ports[0]", "sourceRanges[0]"} {
		assert.Contains(t, err.Error(), field)
	}
	_, err = p.PutObject(t.Context(), "b-b", "", nil, nil)
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
	_, err = p.ListZones(nil, region) //nolint:staticcheck // a nil context is refused, not a panic
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
}

func TestClosedProvider(t *testing.T) {
	p := memory.New(nil)
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "closing twice is a no-op")
	_, err := p.ListZones(t.Context(), region)
	assert.Equal(t, providers.FailedPrecondition, providers.Code(err))
	assert.ErrorIs(t, err, memory.ErrClosed)
}

func TestObjectsStreamWithoutDoubleCopy(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	require.NoError(t, p.CreateBucket(ctx, providers.BucketSpec{Name: "backups", Region: region}))
	const size = 16 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := p.PutObject(ctx, "backups", "big", io.LimitReader(rand.NewChaCha8([32]byte{9}), size), nil)
	require.NoError(t, err)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(size*5/4), "PutObject allocated %d bytes for %d", allocated, size)

	rc, _, err := p.GetObject(ctx, "backups", "big")
	require.NoError(t, err)
	runtime.ReadMemStats(&before)
	n, err := io.Copy(io.Discard, rc)
	require.NoError(t, err)
	runtime.ReadMemStats(&after)
	assert.Equal(t, int64(size), n)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "reading copies nothing")
}

func TestGetObjectReadsASnapshot(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	require.NoError(t, p.CreateBucket(ctx, providers.BucketSpec{Name: "backups", Region: region}))
	_, err := p.PutObject(ctx, "backups", "k", strings.NewReader("old"), nil)
	require.NoError(t, err)
	rc, _, err := p.GetObject(ctx, "backups", "k")
	require.NoError(t, err)
	_, err = p.PutObject(ctx, "backups", "k", strings.NewReader("new"), nil)
	require.NoError(t, err)
	require.NoError(t, p.DeleteObject(ctx, "backups", "k"))
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	require.NoError(t, rc.Close())
	_, err = rc.Read(make([]byte, 1))
	assert.Error(t, err, "read after close")

	_, err = p.PutObject(ctx, "backups", "k2", strings.NewReader("data"), nil)
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	rc, _, err = p.GetObject(cctx, "backups", "k2")
	require.NoError(t, err)
	cancel()
	_, err = rc.Read(make([]byte, 4))
	assert.Equal(t, providers.Canceled, providers.Code(err), "reads stop with the ctx")
}

func TestLoadBalancerChecks(t *testing.T) {
	ctx := t.Context()
	p := memory.New(nil)
	web, err := p.CreateInstance(ctx, spec("web-1", "europe-west3-a"))
	require.NoError(t, err)
	lbSpec := providers.LoadBalancerSpec{Name: "shop", Region: region, Backends: []providers.InstanceRef{web.Ref()}, AddressName: "shop-ip", Hostnames: []string{"shop.example.com"}}
	_, err = p.EnsureLoadBalancer(ctx, lbSpec)
	assert.Equal(t, providers.NotFound, providers.Code(err), "missing reserved address")
	_, err = p.ReserveAddress(ctx, providers.AddressSpec{Name: "shop-ip"})
	require.NoError(t, err)
	missing := lbSpec
	missing.Backends = append(missing.Backends, providers.InstanceRef{Region: region, Zone: "europe-west3-b", Name: "web-9"})
	_, err = p.EnsureLoadBalancer(ctx, missing)
	assert.Equal(t, providers.NotFound, providers.Code(err), "missing backend")

	lb, err := p.EnsureLoadBalancer(ctx, lbSpec)
	require.NoError(t, err)
	assert.Equal(t, "192.0.2.1", lb.IP)
	assert.Equal(t, []string{
		"instanceGroups/shop-ig-europe-west3-a", "healthChecks/shop-hc", "backendServices/shop-backend",
		"urlMaps/shop-urlmap", "sslCertificates/shop-cert", "targetHttpsProxies/shop-https-proxy", "forwardingRules/shop-fr",
	}, lb.Components)
	assert.Equal(t, providers.CacheAllStatic, lb.CDN.CacheMode, "CDN defaults applied")
	assert.Equal(t, 80, lb.Port)
	assert.Equal(t, providers.FailedPrecondition, providers.Code(p.ReleaseAddress(ctx, "", "shop-ip")), "address in use")

	p.ResetCalls()
	explicit := lbSpec
	explicit.Port, explicit.HealthCheckPath, explicit.CDN = 80, "/", providers.CDNPolicy{}.WithDefaults()
	_, err = p.EnsureLoadBalancer(ctx, explicit)
	require.NoError(t, err)
	assert.Zero(t, p.MutatingCalls(), "defaults spelled out are the same spec")
	assert.Equal(t, 1, p.Calls()["EnsureLoadBalancer"])

	bad := lbSpec
	bad.Name = "Shop"
	bad.CDN = providers.CDNPolicy{CacheMode: providers.ForceCacheAll, MaxTTL: time.Hour}
	_, err = p.EnsureLoadBalancer(ctx, bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "name:")
	assert.Contains(t, err.Error(), "cdn.maxTtl")

	require.NoError(t, p.DeleteLoadBalancer(ctx, "shop"))
	require.NoError(t, p.ReleaseAddress(ctx, "", "shop-ip"))
}

func TestSecretsNeverLogged(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := memory.New(&memory.Options{Logger: log})
	const token = "cf-tunnel-token-do-not-leak"
	s := spec("web-1", "europe-west3-a")
	s.Secrets = map[string]providers.Secret{"tunnel-token": token}
	_, err := p.CreateInstance(t.Context(), s)
	require.NoError(t, err)
	s.Labels = ourLabels("other")
	_, err = p.CreateInstance(t.Context(), s)
	require.Error(t, err)
	require.NoError(t, p.FailNext("", 1, providers.Internal))
	_, err = p.UpdateInstance(t.Context(), s.Ref(), providers.InstanceUpdate{Secrets: s.Secrets})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), token)
	assert.NotEmpty(t, buf.String())
	assert.NotContains(t, buf.String(), token)
}

func TestAsAndKind(t *testing.T) {
	p := memory.New(nil)
	var got *memory.Provider
	require.True(t, p.As(&got))
	assert.Same(t, p, got)
	assert.False(t, p.As((**memory.Provider)(nil)))
	assert.False(t, p.As(errors.New("x")))
	assert.Equal(t, providers.KindMemory, p.Kind())
	lbs, err := providers.LoadBalancersOf(p)
	require.NoError(t, err)
	assert.NotNil(t, lbs)
}
