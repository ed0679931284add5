package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/orocloud/orocloud-go/providers"
)

type instanceRec struct {
	inst    providers.Instance
	readyAt time.Time
}

// cloneInstance returns a deep copy, so callers never share maps or slices
// with the store.
func cloneInstance(in providers.Instance) providers.Instance {
	out := in
	out.Labels = in.Labels.Clone()
	out.Tags = slices.Clone(in.Tags)
	out.Metadata = maps.Clone(in.Metadata)
	out.Secrets = maps.Clone(in.Secrets)
	return out
}

// observeLocked returns the instance as a caller sees it now: provisioning
// turns running once the delay has passed; a down zone makes it
// unavailable.
func (p *Provider) observeLocked(rec *instanceRec) providers.Instance {
	if rec.inst.Status == providers.StatusProvisioning && !p.clk.Now().Before(rec.readyAt) {
		rec.inst.Status = providers.StatusRunning
	}
	out := cloneInstance(rec.inst)
	if p.faults.zoneDown(out.Region, out.Zone) {
		out.Status = providers.StatusUnavailable
	}
	return out
}

func (p *Provider) zoneUnavailable(op string, ref providers.InstanceRef) error {
	return &providers.Error{Code: providers.Unavailable, Op: op, Resource: ref.String(), Msg: "zone " + ref.Zone + " is unavailable"}
}

// CreateInstance creates the instance, idempotently by name within its
// region (see providers.Instances). The new instance is PROVISIONING and
// reports RUNNING once Options.ProvisioningDelay has passed; its PrivateIP
// comes from a per-region counter (10.<region index>.x.y).
func (p *Provider) CreateInstance(ctx context.Context, spec providers.InstanceSpec) (_ *providers.Instance, err error) {
	defer p.lost(mCreateInstance, &err)
	const op = "memory.CreateInstance"
	if err := p.begin(ctx, mCreateInstance, spec.Region, spec.Name, nil); err != nil {
		return nil, err
	}
	var problems []string
	if spec.Name == "" {
		problems = append(problems, "name: must not be empty")
	} else if !providers.ValidName(spec.Name) {
		problems = append(problems, fmt.Sprintf("name: %q must be 1-63 lower case letters, digits or '-', starting with a letter and not ending with '-'", spec.Name))
	}
	if spec.Region == "" {
		problems = append(problems, "region: must not be empty")
	}
	if spec.Zone == "" {
		problems = append(problems, "zone: must not be empty")
	}
	if spec.DiskGB < 0 {
		problems = append(problems, "diskGB: must not be negative")
	}
	if spec.OCPUs < 0 || spec.MemoryGB < 0 {
		problems = append(problems, "ocpus/memoryGB: must not be negative")
	}
	for i, t := range spec.Tags {
		if !providers.ValidName(t) {
			problems = append(problems, fmt.Sprintf("tags[%d]: %q must be a valid name (lower case letters, digits, '-')", i, t))
		}
	}
	for k := range spec.Metadata {
		if k == "" {
			problems = append(problems, "metadata: keys must not be empty")
		}
	}
	for k := range spec.Secrets {
		if k == "" {
			problems = append(problems, "secrets: keys must not be empty")
		}
	}
	problems = checkLabels(problems, "labels", spec.Labels)
	if len(problems) > 0 {
		return nil, invalid(op, spec.Name, problems)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, err := p.regionLocked(op, spec.Region)
	if err != nil {
		return nil, err
	}
	if !r.zoneSet[spec.Zone] {
		return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: spec.Ref().String(), Msg: fmt.Sprintf("zone %q is not a zone of region %s", spec.Zone, spec.Region)}
	}
	if spec.FaultDomain != "" && !slices.Contains(r.fds, spec.FaultDomain) {
		return nil, invalid(op, spec.Name, []string{fmt.Sprintf("faultDomain: %q is not a fault domain of zone %s (have %v)", spec.FaultDomain, spec.Zone, r.fds)})
	}
	if existing := p.instances[spec.Region][spec.Name]; existing != nil {
		if !sameOwner(existing.inst.Labels, spec.Labels) {
			return nil, alreadyExists(op, spec.Ref().String(), "an instance of that name exists and belongs to another owner or environment")
		}
		out := p.observeLocked(existing)
		return &out, nil
	}
	if p.faults.zoneDown(spec.Region, spec.Zone) {
		return nil, p.zoneUnavailable(op, spec.Ref())
	}
	n := r.nextPriv
	r.nextPriv++
	now := p.clk.Now()
	inst := providers.Instance{
		InstanceSpec: spec,
		ID:           p.newIDLocked("instance"),
		Status:       providers.StatusProvisioning,
		PrivateIP:    fmt.Sprintf("10.%d.%d.%d", r.idx%256, (n/253)%256, n%253+2),
		CreatedAt:    now,
	}
	inst = cloneInstance(inst)
	if p.instances[spec.Region] == nil {
		p.instances[spec.Region] = map[string]*instanceRec{}
	}
	p.instances[spec.Region][spec.Name] = &instanceRec{inst: inst, readyAt: now.Add(p.provDelay)}
	out := cloneInstance(inst)
	return &out, nil
}

// lookupLocked finds the instance of ref; a zone in ref that differs from
// the instance's is a miss.
func (p *Provider) lookupLocked(op string, ref providers.InstanceRef) (*instanceRec, error) {
	if ref.Name == "" || ref.Region == "" {
		return nil, invalid(op, ref.String(), []string{"ref: region and name must not be empty"})
	}
	if _, err := p.regionLocked(op, ref.Region); err != nil {
		return nil, err
	}
	rec := p.instances[ref.Region][ref.Name]
	if rec == nil || (ref.Zone != "" && rec.inst.Zone != ref.Zone) {
		return nil, notFound(op, ref.String(), "instance")
	}
	return rec, nil
}

// GetInstance returns the instance; see providers.Instances.
func (p *Provider) GetInstance(ctx context.Context, ref providers.InstanceRef) (*providers.Instance, error) {
	const op = "memory.GetInstance"
	if err := p.begin(ctx, mGetInstance, ref.Region, ref.String(), nil); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, err := p.lookupLocked(op, ref)
	if err != nil {
		return nil, err
	}
	out := p.observeLocked(rec)
	return &out, nil
}

// ListInstances returns the instances of region matching selector, sorted
// by name.
func (p *Provider) ListInstances(ctx context.Context, region string, selector providers.Labels) ([]providers.Instance, error) {
	const op = "memory.ListInstances"
	if err := p.begin(ctx, mListInstances, region, region, nil); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.regionLocked(op, region); err != nil {
		return nil, err
	}
	recs := p.instances[region]
	out := make([]providers.Instance, 0, len(recs))
	for _, name := range slices.Sorted(maps.Keys(recs)) {
		rec := recs[name]
		if rec.inst.Status == providers.StatusTerminated || !rec.inst.Labels.Matches(selector) {
			continue
		}
		out = append(out, p.observeLocked(rec))
	}
	return out, nil
}

// mutateLocked finds the instance of ref for a change, refusing it when
// its zone is down.
func (p *Provider) mutateLocked(op string, ref providers.InstanceRef) (*instanceRec, error) {
	rec, err := p.lookupLocked(op, ref)
	if err != nil {
		return nil, err
	}
	if p.faults.zoneDown(rec.inst.Region, rec.inst.Zone) {
		return nil, p.zoneUnavailable(op, rec.inst.Ref())
	}
	return rec, nil
}

// UpdateInstance replaces labels, metadata and secrets with the non-nil
// fields of u.
func (p *Provider) UpdateInstance(ctx context.Context, ref providers.InstanceRef, u providers.InstanceUpdate) (_ *providers.Instance, err error) {
	defer p.lost(mUpdateInstance, &err)
	const op = "memory.UpdateInstance"
	if err := p.begin(ctx, mUpdateInstance, ref.Region, ref.String(), nil); err != nil {
		return nil, err
	}
	if problems := checkLabels(nil, "labels", u.Labels); len(problems) > 0 {
		return nil, invalid(op, ref.String(), problems)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, err := p.mutateLocked(op, ref)
	if err != nil {
		return nil, err
	}
	if u.Labels != nil {
		rec.inst.Labels = u.Labels.Clone()
	}
	if u.Metadata != nil {
		rec.inst.Metadata = maps.Clone(u.Metadata)
	}
	if u.Secrets != nil {
		rec.inst.Secrets = maps.Clone(u.Secrets)
	}
	out := p.observeLocked(rec)
	return &out, nil
}

// StopInstance stops the instance; stopping a stopped one is a no-op.
func (p *Provider) StopInstance(ctx context.Context, ref providers.InstanceRef) (err error) {
	defer p.lost(mStopInstance, &err)
	return p.changeInstance(ctx, mStopInstance, "memory.StopInstance", ref, func(rec *instanceRec) {
		rec.inst.Status = providers.StatusStopped
	})
}

// StartInstance starts the instance; starting a running one is a no-op.
func (p *Provider) StartInstance(ctx context.Context, ref providers.InstanceRef) (err error) {
	defer p.lost(mStartInstance, &err)
	return p.changeInstance(ctx, mStartInstance, "memory.StartInstance", ref, func(rec *instanceRec) {
		if rec.inst.Status == providers.StatusStopped || rec.inst.Status == providers.StatusStopping {
			rec.inst.Status = providers.StatusRunning
		}
	})
}

// DeleteInstance deletes the instance; it is gone from ListInstances when
// the call returns.
func (p *Provider) DeleteInstance(ctx context.Context, ref providers.InstanceRef) (err error) {
	defer p.lost(mDeleteInstance, &err)
	return p.changeInstance(ctx, mDeleteInstance, "memory.DeleteInstance", ref, func(rec *instanceRec) {
		delete(p.instances[rec.inst.Region], rec.inst.Name)
	})
}

// changeInstance runs method's faults and checks, then change on the
// instance ref names, under the lock.
func (p *Provider) changeInstance(ctx context.Context, method, op string, ref providers.InstanceRef, change func(*instanceRec)) error {
	if err := p.begin(ctx, method, ref.Region, ref.String(), nil); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, err := p.mutateLocked(op, ref)
	if err != nil {
		return err
	}
	change(rec)
	return nil
}
