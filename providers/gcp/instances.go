package gcp

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"

	"github.com/orocloud/orocloud-go/providers"
)

// Metadata items the provider keeps for itself on instances.
const (
	// MetadataSecretKeys lists (comma-separated) the metadata items that hold
	// secrets.
	MetadataSecretKeys = "orocloud-secret-keys"
	// MetadataImage records the boot image the instance was created from.
	MetadataImage = "orocloud-image"
)

var (
	labelKeyRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	labelValueRE = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
	tagRE        = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	metaKeyRE    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
)

// labelProblems returns the violations of the GCP label rules.
func labelProblems(field string, l providers.Labels) []string {
	var out []string
	if len(l) > 64 {
		out = append(out, field+": at most 64 labels")
	}
	for _, k := range sortedKeys(l) {
		if !labelKeyRE.MatchString(k) {
			out = append(out, fmt.Sprintf("%s: key %q must be 1-63 lower case letters, digits, '_' or '-', starting with a letter", field, k))
		}
		if !labelValueRE.MatchString(l[k]) {
			out = append(out, fmt.Sprintf("%s[%s]: value %q must be at most 63 lower case letters, digits, '_' or '-'", field, k, l[k]))
		}
	}
	return out
}

func metadataProblems(md map[string]string, secrets map[string]providers.Secret) []string {
	var out []string
	size := 0
	for _, k := range sortedKeys(md) {
		if !metaKeyRE.MatchString(k) {
			out = append(out, fmt.Sprintf("metadata: key %q must be 1-128 letters, digits, '_' or '-'", k))
		}
		if k == MetadataSecretKeys || k == MetadataImage {
			out = append(out, fmt.Sprintf("metadata: key %q is reserved", k))
		}
		if _, dup := secrets[k]; dup {
			out = append(out, fmt.Sprintf("metadata: key %q is also a secret", k))
		}
		size += len(k) + len(md[k])
	}
	for _, k := range sortedKeys(secrets) {
		if !metaKeyRE.MatchString(k) || strings.Contains(k, ",") {
			out = append(out, fmt.Sprintf("secrets: key %q must be 1-128 letters, digits, '_' or '-'", k))
		}
		if k == MetadataSecretKeys || k == MetadataImage {
			out = append(out, fmt.Sprintf("secrets: key %q is reserved", k))
		}
		size += len(k) + len(secrets[k].Reveal())
	}
	if size > 512*1024 {
		out = append(out, "metadata: total size must be at most 512 KiB")
	}
	return out
}

func invalid(op, resource string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: resource, Msg: strings.Join(problems, "; ")}
}

func (p *Provider) tierDefault(m map[string]string, tier, builtin string) string {
	if v := m[tier]; v != "" {
		return v
	}
	if v := m[""]; v != "" {
		return v
	}
	return builtin
}

func (p *Provider) networkPath() string {
	n := p.opts.Network
	if strings.Contains(n, "/") {
		return n
	}
	return "global/networks/" + n
}

func (p *Provider) subnetworkPath(region string) string {
	s := p.opts.Subnetwork
	if s == "" || strings.Contains(s, "/") {
		return s
	}
	return "regions/" + region + "/subnetworks/" + s
}

// buildMetadata returns the metadata items of an instance, secrets
// included, sorted by key.
func buildMetadata(md map[string]string, secrets map[string]providers.Secret, image string) *computepb.Metadata {
	out := &computepb.Metadata{}
	for _, k := range sortedKeys(md) {
		out.Items = append(out.Items, &computepb.Items{Key: proto.String(k), Value: proto.String(md[k])})
	}
	if len(secrets) > 0 {
		keys := sortedKeys(secrets)
		for _, k := range keys {
			out.Items = append(out.Items, &computepb.Items{Key: proto.String(k), Value: proto.String(secrets[k].Reveal())})
		}
		out.Items = append(out.Items, &computepb.Items{Key: proto.String(MetadataSecretKeys), Value: proto.String(strings.Join(keys, ","))})
	}
	if image != "" {
		out.Items = append(out.Items, &computepb.Items{Key: proto.String(MetadataImage), Value: proto.String(image)})
	}
	return out
}

// splitMetadata separates an instance's metadata items into plain metadata,
// secrets and the recorded image.
func splitMetadata(m *computepb.Metadata) (md map[string]string, secrets map[string]providers.Secret, image string) {
	secretKeys := map[string]bool{}
	for _, it := range m.GetItems() {
		if it.GetKey() == MetadataSecretKeys {
			for _, k := range strings.Split(it.GetValue(), ",") {
				if k != "" {
					secretKeys[k] = true
				}
			}
		}
	}
	for _, it := range m.GetItems() {
		k, v := it.GetKey(), it.GetValue()
		switch {
		case k == MetadataSecretKeys:
		case k == MetadataImage:
			image = v
		case secretKeys[k]:
			if secrets == nil {
				secrets = map[string]providers.Secret{}
			}
			secrets[k] = providers.Secret(v)
		default:
			if md == nil {
				md = map[string]string{}
			}
			md[k] = v
		}
	}
	return md, secrets, image
}

func instanceStatus(s string) providers.InstanceStatus {
	switch s {
	case "PROVISIONING", "STAGING":
		return providers.StatusProvisioning
	case "RUNNING":
		return providers.StatusRunning
	case "STOPPING", "SUSPENDING":
		return providers.StatusStopping
	case "TERMINATED", "STOPPED", "SUSPENDED":
		// GCP calls a stopped instance TERMINATED; it still exists.
		return providers.StatusStopped
	case "REPAIRING":
		return providers.StatusUnavailable
	}
	return providers.StatusUnavailable
}

// fromInstance converts the API's instance.
func fromInstance(in *computepb.Instance) *providers.Instance {
	zone := lastSegment(in.GetZone())
	out := &providers.Instance{
		InstanceSpec: providers.InstanceSpec{
			Name:        in.GetName(),
			Region:      regionOfZone(zone),
			Zone:        zone,
			MachineType: lastSegment(in.GetMachineType()),
			Labels:      providers.Labels(in.GetLabels()).Clone(),
			Tags:        slices.Clone(in.GetTags().GetItems()),
		},
		ID:     fmt.Sprint(in.GetId()),
		Status: instanceStatus(in.GetStatus()),
	}
	out.Metadata, out.Secrets, out.Image = splitMetadata(in.GetMetadata())
	for _, d := range in.GetDisks() {
		if d.GetBoot() {
			if out.Image == "" {
				out.Image = d.GetInitializeParams().GetSourceImage()
			}
			out.DiskGB = int(d.GetDiskSizeGb())
			if out.DiskGB == 0 {
				out.DiskGB = int(d.GetInitializeParams().GetDiskSizeGb())
			}
		}
	}
	if nics := in.GetNetworkInterfaces(); len(nics) > 0 {
		out.PrivateIP = nics[0].GetNetworkIP()
	}
	if t, err := time.Parse(time.RFC3339, in.GetCreationTimestamp()); err == nil {
		out.CreatedAt = t
	}
	return out
}

// sameOwner reports whether labels of an existing resource carry the same
// managed-by and environment labels as want (which must name an owner).
func sameOwner(existing, want providers.Labels) bool {
	return want[providers.LabelManagedBy] != "" &&
		existing[providers.LabelManagedBy] == want[providers.LabelManagedBy] &&
		existing[providers.LabelEnvironment] == want[providers.LabelEnvironment]
}

// CreateInstance creates the instance in spec.Zone and waits for the insert
// operation. The insert carries a requestId kept across retries, so a lost
// response never creates a second instance; an existing instance of the
// name (a 409, or an operation failing with RESOURCE_ALREADY_EXISTS) is read
// back and returned when it carries the same managed-by and environment
// labels, else AlreadyExists. GCP names instances per zone while the
// contract names them per region, so an aggregated list filtered by name
// first looks for the name in every zone of the region (one call) and
// returns an instance found in another zone the same way. Empty MachineType
// and Image take the tier defaults of Options.
func (p *Provider) CreateInstance(ctx context.Context, spec providers.InstanceSpec) (*providers.Instance, error) {
	const op = "gcp.CreateInstance"
	if err := p.check(ctx, op); err != nil {
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
	} else if spec.Region != "" && regionOfZone(spec.Zone) != spec.Region {
		problems = append(problems, fmt.Sprintf("zone: %q is not in region %q", spec.Zone, spec.Region))
	}
	if spec.DiskGB < 0 {
		problems = append(problems, "diskGB: must not be negative")
	}
	problems = append(problems, labelProblems("labels", spec.Labels)...)
	for _, t := range spec.Tags {
		if !tagRE.MatchString(t) {
			problems = append(problems, fmt.Sprintf("tags: %q must be 1-63 lower case letters, digits or '-', starting with a letter", t))
		}
	}
	problems = append(problems, metadataProblems(spec.Metadata, spec.Secrets)...)
	if err := invalid(op, spec.Name, problems); err != nil {
		return nil, err
	}

	tier := spec.Labels[providers.LabelTier]
	machine := spec.MachineType
	if machine == "" {
		machine = p.tierDefault(p.opts.MachineTypes, tier, DefaultMachineType)
	}
	image := spec.Image
	if image == "" {
		image = p.tierDefault(p.opts.Images, tier, DefaultImage)
	}
	disk := &computepb.AttachedDiskInitializeParams{SourceImage: proto.String(image)}
	if spec.DiskGB > 0 {
		disk.DiskSizeGb = proto.Int64(int64(spec.DiskGB))
	}
	nic := &computepb.NetworkInterface{Network: proto.String(p.networkPath())}
	if sub := p.subnetworkPath(spec.Region); sub != "" {
		nic.Subnetwork = proto.String(sub)
	}
	res := &computepb.Instance{
		Name:              proto.String(spec.Name),
		MachineType:       proto.String(machineTypePath(spec.Zone, machine)),
		Labels:            spec.Labels.Clone(),
		Disks:             []*computepb.AttachedDisk{{Boot: proto.Bool(true), AutoDelete: proto.Bool(true), InitializeParams: disk}},
		NetworkInterfaces: []*computepb.NetworkInterface{nic},
		Metadata:          buildMetadata(spec.Metadata, spec.Secrets, image),
	}
	if len(spec.Tags) > 0 {
		res.Tags = &computepb.Tags{Items: slices.Clone(spec.Tags)}
	}
	ref := spec.Ref()
	// Names are per zone in GCP but per region in the contract: look in
	// every zone of the region first (one aggregated call).
	existing, err := p.findByName(ctx, op, spec.Region, spec.Name)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		got := existing[0]
		if !sameOwner(got.Labels, spec.Labels) {
			return nil, &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: ref.String(),
				Msg: fmt.Sprintf("an instance of that name exists in zone %s and belongs to another owner", got.Zone)}
		}
		p.log.Debug("gcp: instance exists and is ours", "instance", got.Ref().String())
		return &got, nil
	}
	p.log.Debug("gcp: creating instance", "instance", ref.String(), "machineType", machine, "labels", spec.Labels, "tags", spec.Tags,
		"metadataKeys", sortedKeys(spec.Metadata), "secretKeys", sortedKeys(spec.Secrets))
	err = p.mutate(ctx, op, ref.String(), func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.instances.Insert(ctx, &computepb.InsertInstanceRequest{Project: p.project, Zone: spec.Zone, InstanceResource: res, RequestId: proto.String(rid)}, p.noRetry...)
	})
	if err != nil && providers.Code(err) != providers.AlreadyExists {
		return nil, err
	}
	got, gerr := p.GetInstance(ctx, ref)
	if gerr != nil {
		if err != nil {
			return nil, err
		}
		return nil, gerr
	}
	if err != nil {
		if !sameOwner(got.Labels, spec.Labels) {
			return nil, &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: ref.String(),
				Msg: "an instance of that name exists and belongs to another owner", Err: err}
		}
		p.log.Debug("gcp: instance exists and is ours", "instance", ref.String())
	}
	return got, nil
}

func machineTypePath(zone, machine string) string {
	if strings.Contains(machine, "/") {
		return machine
	}
	return "zones/" + zone + "/machineTypes/" + machine
}

func refProblems(ref providers.InstanceRef) []string {
	var problems []string
	if ref.Name == "" {
		problems = append(problems, "name: must not be empty")
	}
	if ref.Zone == "" && ref.Region == "" {
		problems = append(problems, "zone: must not be empty (or give the region)")
	}
	return problems
}

// resolve fills in ref.Zone when only the region is given.
func (p *Provider) resolve(ctx context.Context, op string, ref providers.InstanceRef) (providers.InstanceRef, error) {
	if err := p.check(ctx, op); err != nil {
		return ref, err
	}
	if err := invalid(op, ref.String(), refProblems(ref)); err != nil {
		return ref, err
	}
	if ref.Zone != "" {
		if ref.Region == "" {
			ref.Region = regionOfZone(ref.Zone)
		}
		return ref, nil
	}
	found, err := p.findByName(ctx, op, ref.Region, ref.Name)
	if err != nil {
		return ref, err
	}
	if len(found) == 0 {
		return ref, &providers.Error{Code: providers.NotFound, Op: op, Resource: ref.String(), Msg: "no instance of that name in the region"}
	}
	ref.Zone = found[0].Zone
	return ref, nil
}

// GetInstance returns the instance. A missing one returns NotFound.
func (p *Provider) GetInstance(ctx context.Context, ref providers.InstanceRef) (*providers.Instance, error) {
	const op = "gcp.GetInstance"
	ref, err := p.resolve(ctx, op, ref)
	if err != nil {
		return nil, err
	}
	in, err := read(ctx, p, op, ref.String(), func(ctx context.Context) (*computepb.Instance, error) {
		return p.instances.Get(ctx, &computepb.GetInstanceRequest{Project: p.project, Zone: ref.Zone, Instance: ref.Name}, p.noRetry...)
	})
	if err != nil {
		return nil, err
	}
	return fromInstance(in), nil
}

// ListInstances lists the instances of every zone of region (in parallel)
// whose labels contain selector, sorted by name. The selector is sent as a
// list filter and checked again on the answer.
func (p *Provider) ListInstances(ctx context.Context, region string, selector providers.Labels) ([]providers.Instance, error) {
	const op = "gcp.ListInstances"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	if region == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "region: must not be empty"}
	}
	return p.listInstances(ctx, op, region, selector, "")
}

// findByName returns the instances named name in the zones of region, with
// one aggregated list call filtered by name.
func (p *Provider) findByName(ctx context.Context, op, region, name string) ([]providers.Instance, error) {
	var out []providers.Instance
	err := p.call(ctx, op, region+"/"+name, func(ctx context.Context) error {
		out = out[:0]
		it := p.instances.AggregatedList(ctx, &computepb.AggregatedListInstancesRequest{Project: p.project,
			Filter: proto.String(fmt.Sprintf("name = %q", name))}, p.noRetry...)
		for {
			pair, err := it.Next()
			if err == iterator.Done {
				return nil
			}
			if err != nil {
				return err
			}
			zone, ok := strings.CutPrefix(pair.Key, "zones/")
			if !ok || regionOfZone(zone) != region {
				continue
			}
			for _, in := range pair.Value.GetInstances() {
				if in.GetName() == name {
					out = append(out, *fromInstance(in))
				}
			}
		}
	})
	slices.SortFunc(out, func(a, b providers.Instance) int { return strings.Compare(a.Zone, b.Zone) })
	return out, err
}

func (p *Provider) listInstances(ctx context.Context, op, region string, selector providers.Labels, name string) ([]providers.Instance, error) {
	zones, err := p.zoneNames(ctx, region)
	if err != nil {
		return nil, err
	}
	filter := labelFilter(selector)
	if name != "" {
		filter = joinFilter(filter, fmt.Sprintf("(name = %q)", name))
	}
	var (
		mu   sync.Mutex
		out  []providers.Instance
		errs = make([]error, len(zones))
		wg   sync.WaitGroup
	)
	for i, zone := range zones {
		wg.Go(func() {
			var found []providers.Instance
			errs[i] = p.call(ctx, op, region+"/"+zone, func(ctx context.Context) error {
				found = found[:0]
				req := &computepb.ListInstancesRequest{Project: p.project, Zone: zone}
				if filter != "" {
					req.Filter = proto.String(filter)
				}
				it := p.instances.List(ctx, req, p.noRetry...)
				for {
					in, err := it.Next()
					if err == iterator.Done {
						return nil
					}
					if err != nil {
						return err
					}
					inst := fromInstance(in)
					if inst.Labels.Matches(selector) && (name == "" || inst.Name == name) {
						found = append(found, *inst)
					}
				}
			})
			mu.Lock()
			out = append(out, found...)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	slices.SortFunc(out, func(a, b providers.Instance) int {
		return cmpStrings(a.Name, b.Name, a.Zone, b.Zone)
	})
	return out, nil
}

func cmpStrings(a1, b1, a2, b2 string) int {
	if c := strings.Compare(a1, b1); c != 0 {
		return c
	}
	return strings.Compare(a2, b2)
}

// labelFilter returns the list filter selecting resources whose labels
// contain selector: `(labels.k = "v") AND (labels.k2 = "v2")`.
func labelFilter(selector providers.Labels) string {
	var parts []string
	for _, k := range sortedKeys(selector) {
		parts = append(parts, fmt.Sprintf("(labels.%s = %q)", k, selector[k]))
	}
	return strings.Join(parts, " AND ")
}

func joinFilter(a, b string) string {
	if a == "" {
		return b
	}
	return a + " AND " + b
}

// UpdateInstance replaces the labels (setLabels) and the metadata
// (setMetadata) of the instance with the non-nil fields of u, using the
// fingerprints read just before, and returns the instance as updated. Nil
// Metadata keeps the plain items and nil Secrets keeps the secret items.
func (p *Provider) UpdateInstance(ctx context.Context, ref providers.InstanceRef, u providers.InstanceUpdate) (*providers.Instance, error) {
	const op = "gcp.UpdateInstance"
	ref, err := p.resolve(ctx, op, ref)
	if err != nil {
		return nil, err
	}
	var problems []string
	if u.Labels != nil {
		problems = append(problems, labelProblems("labels", u.Labels)...)
	}
	problems = append(problems, metadataProblems(u.Metadata, u.Secrets)...)
	if err := invalid(op, ref.String(), problems); err != nil {
		return nil, err
	}
	cur, err := read(ctx, p, op, ref.String(), func(ctx context.Context) (*computepb.Instance, error) {
		return p.instances.Get(ctx, &computepb.GetInstanceRequest{Project: p.project, Zone: ref.Zone, Instance: ref.Name}, p.noRetry...)
	})
	if err != nil {
		return nil, err
	}
	if u.Labels != nil {
		fp := cur.GetLabelFingerprint()
		err := p.mutate(ctx, op, ref.String(), func(ctx context.Context, rid string) (*compute.Operation, error) {
			return p.instances.SetLabels(ctx, &computepb.SetLabelsInstanceRequest{Project: p.project, Zone: ref.Zone, Instance: ref.Name,
				RequestId:                         proto.String(rid),
				InstancesSetLabelsRequestResource: &computepb.InstancesSetLabelsRequest{Labels: u.Labels.Clone(), LabelFingerprint: proto.String(fp)}}, p.noRetry...)
		})
		if err != nil {
			return nil, err
		}
	}
	if u.Metadata != nil || u.Secrets != nil {
		md, secrets, image := splitMetadata(cur.GetMetadata())
		if u.Metadata != nil {
			md = u.Metadata
		}
		if u.Secrets != nil {
			secrets = u.Secrets
		}
		if err := invalid(op, ref.String(), metadataProblems(md, secrets)); err != nil {
			return nil, err
		}
		m := buildMetadata(md, secrets, image)
		m.Fingerprint = proto.String(cur.GetMetadata().GetFingerprint())
		err := p.mutate(ctx, op, ref.String(), func(ctx context.Context, rid string) (*compute.Operation, error) {
			return p.instances.SetMetadata(ctx, &computepb.SetMetadataInstanceRequest{Project: p.project, Zone: ref.Zone, Instance: ref.Name,
				RequestId: proto.String(rid), MetadataResource: m}, p.noRetry...)
		})
		if err != nil {
			return nil, err
		}
	}
	return p.GetInstance(ctx, ref)
}

// StopInstance stops the instance and waits until it is stopped (GCP status
// TERMINATED, reported as StatusStopped). Stopping a stopped instance
// returns nil.
func (p *Provider) StopInstance(ctx context.Context, ref providers.InstanceRef) error {
	const op = "gcp.StopInstance"
	ref, err := p.resolve(ctx, op, ref)
	if err != nil {
		return err
	}
	return p.mutate(ctx, op, ref.String(), func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.instances.Stop(ctx, &computepb.StopInstanceRequest{Project: p.project, Zone: ref.Zone, Instance: ref.Name, RequestId: proto.String(rid)}, p.noRetry...)
	})
}

// StartInstance starts the instance and waits for the operation; starting a
// running one returns nil.
func (p *Provider) StartInstance(ctx context.Context, ref providers.InstanceRef) error {
	const op = "gcp.StartInstance"
	ref, err := p.resolve(ctx, op, ref)
	if err != nil {
		return err
	}
	return p.mutate(ctx, op, ref.String(), func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.instances.Start(ctx, &computepb.StartInstanceRequest{Project: p.project, Zone: ref.Zone, Instance: ref.Name, RequestId: proto.String(rid)}, p.noRetry...)
	})
}

// DeleteInstance deletes the instance and returns when the delete operation
// is DONE (the instance is then gone from ListInstances).
func (p *Provider) DeleteInstance(ctx context.Context, ref providers.InstanceRef) error {
	const op = "gcp.DeleteInstance"
	ref, err := p.resolve(ctx, op, ref)
	if err != nil {
		return err
	}
	return p.mutate(ctx, op, ref.String(), func(ctx context.Context, rid string) (*compute.Operation, error) {
		return p.instances.Delete(ctx, &computepb.DeleteInstanceRequest{Project: p.project, Zone: ref.Zone, Instance: ref.Name, RequestId: proto.String(rid)}, p.noRetry...)
	})
}
