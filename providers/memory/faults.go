package memory

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/orocloud/orocloud-go/providers"
)

// faults is the injected fault state; guarded by Provider.mu.
type faults struct {
	latency     map[string]time.Duration
	nth         map[string][]nthFault // method -> pending countdowns
	next        []nextFault
	rate        float64
	rateCode    providers.ErrorCode
	rateMethods map[string]bool // nil: every method
	rng         *rand.Rand
	lose        map[string][]nthFault // method -> countdowns of lost responses
	downZones   map[string]bool       // "region/zone"
	downRegions map[string]bool
}

type nthFault struct {
	left int
	code providers.ErrorCode
}

type nextFault struct {
	method string // "" for any
	left   int
	code   providers.ErrorCode
}

func newFaults() faults {
	return faults{
		latency:     map[string]time.Duration{},
		nth:         map[string][]nthFault{},
		lose:        map[string][]nthFault{},
		downZones:   map[string]bool{},
		downRegions: map[string]bool{},
	}
}

func (f *faults) zoneDown(region, zone string) bool { return f.downZones[region+"/"+zone] }

// fire decides whether this call of method about region fails, and with
// which code. Order: region outage, Nth-call faults, fail-next faults, error
// rate. Nth countdowns advance on every call of their method that reaches
// this point, including calls failed by an earlier rule.
func (f *faults) fire(method, region string) (providers.ErrorCode, bool) {
	code, failed := providers.OK, false
	if region != "" && f.downRegions[region] {
		code, failed = providers.Unavailable, true
	}
	if c, ok := countdown(f.nth, method); ok && !failed {
		code, failed = c, true
	}
	if !failed {
		for i := range f.next {
			n := &f.next[i]
			if n.left > 0 && (n.method == "" || n.method == method) {
				n.left--
				code, failed = n.code, true
				break
			}
		}
	}
	if !failed && f.rate > 0 && (f.rateMethods == nil || f.rateMethods[method]) {
		if f.rng.Float64() < f.rate {
			code, failed = f.rateCode, true
		}
	}
	return code, failed
}

// countdown advances the countdowns of method in m and reports the code of
// one that reached zero.
func countdown(m map[string][]nthFault, method string) (providers.ErrorCode, bool) {
	pending := m[method]
	if len(pending) == 0 {
		return providers.OK, false
	}
	code, fired := providers.OK, false
	kept := pending[:0]
	for _, n := range pending {
		n.left--
		if n.left == 0 {
			if !fired {
				code, fired = n.code, true
			}
			continue
		}
		kept = append(kept, n)
	}
	m[method] = kept
	return code, fired
}

func checkMethods(op string, methods []string) error {
	var bad []string
	for _, m := range methods {
		if _, ok := methodMutates[m]; !ok {
			bad = append(bad, fmt.Sprintf("%q", m))
		}
	}
	if len(bad) > 0 {
		return &providers.Error{Code: providers.InvalidArgument, Op: op,
			Msg: "unknown method " + strings.Join(bad, ", ") + " (see memory.Methods)"}
	}
	return nil
}

func checkCode(op string, code providers.ErrorCode) error {
	if code <= providers.OK || code > providers.Internal {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: fmt.Sprintf("code: %v is not an error code", code)}
	}
	return nil
}

// SetLatency makes every call of the named methods sleep d (on
// Options.LatencyClock, honouring ctx) before it runs. With no method names
// it sets the latency of every mutating method. d <= 0 removes the latency.
// An unknown method name returns an InvalidArgument error and changes
// nothing.
func (p *Provider) SetLatency(d time.Duration, methods ...string) error {
	if err := checkMethods("memory.SetLatency", methods); err != nil {
		return err
	}
	if len(methods) == 0 {
		for m, mut := range methodMutates {
			if mut {
				methods = append(methods, m)
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range methods {
		if d > 0 {
			p.faults.latency[m] = d
		} else {
			delete(p.faults.latency, m)
		}
	}
	return nil
}

// FailNth makes the n-th call of method from now on (n = 1 is the next
// call) fail with code, before it has any effect. Several FailNth faults on
// one method count down independently.
func (p *Provider) FailNth(method string, n int, code providers.ErrorCode) error {
	const op = "memory.FailNth"
	if err := checkMethods(op, []string{method}); err != nil {
		return err
	}
	if err := checkCode(op, code); err != nil {
		return err
	}
	if n < 1 {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: fmt.Sprintf("n: %d must be at least 1", n)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults.nth[method] = append(p.faults.nth[method], nthFault{left: n, code: code})
	return nil
}

// LoseResponse makes the n-th successful call of the mutating method from
// now on take effect and then return an error with code anyway, as when a
// response is lost or a deadline expires after the cloud committed the
// change. Callers that retry must then meet the result of their own first
// attempt: the case idempotent creates exist for. The value returned with
// the error must be ignored, as with any error.
func (p *Provider) LoseResponse(method string, n int, code providers.ErrorCode) error {
	const op = "memory.LoseResponse"
	if err := checkMethods(op, []string{method}); err != nil {
		return err
	}
	if !methodMutates[method] {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: fmt.Sprintf("method: %s does not mutate; use FailNth", method)}
	}
	if err := checkCode(op, code); err != nil {
		return err
	}
	if n < 1 {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: fmt.Sprintf("n: %d must be at least 1", n)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults.lose[method] = append(p.faults.lose[method], nthFault{left: n, code: code})
	return nil
}

// lost runs at the end of every mutating call: when the call succeeded and
// a LoseResponse countdown of its method reaches zero, *err becomes the
// injected error.
func (p *Provider) lost(method string, err *error) {
	if *err != nil {
		return
	}
	p.mu.Lock()
	code, fired := countdown(p.faults.lose, method)
	p.mu.Unlock()
	if fired {
		p.log.Info("memory injected lost response", "method", method, "code", code.String())
		*err = &providers.Error{Code: code, Op: "memory." + method, Msg: "injected fault after the change took effect (lost response)", Err: ErrInjected}
	}
}

// FailNext makes the next n calls of method ("" for any method) fail with
// code, before they have any effect.
func (p *Provider) FailNext(method string, n int, code providers.ErrorCode) error {
	const op = "memory.FailNext"
	if method != "" {
		if err := checkMethods(op, []string{method}); err != nil {
			return err
		}
	}
	if err := checkCode(op, code); err != nil {
		return err
	}
	if n < 1 {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: fmt.Sprintf("n: %d must be at least 1", n)}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults.next = append(p.faults.next, nextFault{method: method, left: n, code: code})
	return nil
}

// SetErrorRate makes each call of the named methods (every method when
// none is named) fail with code with probability rate, drawn from a
// generator seeded with seed: the same sequence of calls fails at the same
// places on every run. rate 0 turns it off.
func (p *Provider) SetErrorRate(rate float64, seed uint64, code providers.ErrorCode, methods ...string) error {
	const op = "memory.SetErrorRate"
	if err := checkMethods(op, methods); err != nil {
		return err
	}
	if rate < 0 || rate > 1 || rate != rate {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: fmt.Sprintf("rate: %v must be within [0, 1]", rate)}
	}
	if rate > 0 {
		if err := checkCode(op, code); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults.rate, p.faults.rateCode, p.faults.rng = rate, code, newRNG(seed)
	p.faults.rateMethods = nil
	if len(methods) > 0 {
		p.faults.rateMethods = map[string]bool{}
		for _, m := range methods {
			p.faults.rateMethods[m] = true
		}
	}
	return nil
}

// InjectZoneOutage takes a zone down until RecoverZone: ListZones reports
// it with Up false, its instances report StatusUnavailable, and creating,
// updating, stopping, starting or deleting an instance in it fails with
// Unavailable. An unknown region or zone returns NotFound.
func (p *Provider) InjectZoneOutage(region, zone string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkZoneLocked("memory.InjectZoneOutage", region, zone); err != nil {
		return err
	}
	p.faults.downZones[region+"/"+zone] = true
	p.log.Info("memory zone outage", "region", region, "zone", zone)
	return nil
}

// RecoverZone ends an outage of the zone (a no-op when it is up). Its
// instances report their status again.
func (p *Provider) RecoverZone(region, zone string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.checkZoneLocked("memory.RecoverZone", region, zone); err != nil {
		return err
	}
	delete(p.faults.downZones, region+"/"+zone)
	return nil
}

// InjectRegionOutage takes a whole region down until RecoverRegion: every
// call about the region (its zones, instances, addresses, firewall rules,
// buckets located in it and their objects, load balancers in it) fails with
// Unavailable. State is kept. An unknown region returns NotFound.
func (p *Provider) InjectRegionOutage(region string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.regionLocked("memory.InjectRegionOutage", region); err != nil {
		return err
	}
	p.faults.downRegions[region] = true
	p.log.Info("memory region outage", "region", region)
	return nil
}

// RecoverRegion ends an outage of the region (a no-op when it is up).
func (p *Provider) RecoverRegion(region string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.regionLocked("memory.RecoverRegion", region); err != nil {
		return err
	}
	delete(p.faults.downRegions, region)
	return nil
}

// ClearFaults removes every injected fault: zone and region outages,
// FailNth, FailNext, LoseResponse and the error rate. Latency is kept (see SetLatency).
func (p *Provider) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	lat := p.faults.latency
	p.faults = newFaults()
	p.faults.latency = lat
}

func (p *Provider) checkZoneLocked(op, region, zone string) error {
	r, err := p.regionLocked(op, region)
	if err != nil {
		return err
	}
	if !r.zoneSet[zone] {
		return &providers.Error{Code: providers.NotFound, Op: op, Resource: region + "/" + zone, Msg: "unknown zone"}
	}
	return nil
}
