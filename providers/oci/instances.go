package oci

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"

	"github.com/orocloud/orocloud-go/providers"
)

// Freeform tag keys the provider keeps for itself next to the user's labels.
// They are not returned in Labels.
const (
	// TagNetworkTags holds an instance's InstanceSpec.Tags, comma-separated.
	TagNetworkTags = "orocloud-network-tags"
	// TagSecretKeys names the metadata keys that hold Secrets.
	TagSecretKeys = "orocloud-secret-keys"
	// TagTargetTags holds a firewall rule's TargetTags on its NSG.
	TagTargetTags = "orocloud-target-tags"
	// TagDescription holds a description where OCI has no field for it.
	TagDescription = "orocloud-description"
)

// Metadata keys with a meaning on OCI.
const (
	// MetadataStartupScript is the portable key of a startup script; it is
	// sent base64-encoded as OCI's "user_data" (cloud-init) and read back
	// under this key.
	MetadataStartupScript = "startup-script"
	// MetadataUserData is OCI's cloud-init user data (base64).
	MetadataUserData = "user_data"
	// MetadataSSHKeys is OCI's authorized SSH public keys.
	MetadataSSHKeys = "ssh_authorized_keys"
)

var internalTags = []string{TagNetworkTags, TagSecretKeys, TagTargetTags, TagDescription}

func userLabels(tags map[string]string) providers.Labels {
	l := providers.Labels{}
	for k, v := range tags {
		if !slices.Contains(internalTags, k) {
			l[k] = v
		}
	}
	return l
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// validateInstanceSpec returns every problem of spec at once.
func validateInstanceSpec(spec providers.InstanceSpec) []string {
	var errs []string
	if spec.Name == "" {
		errs = append(errs, "name: must not be empty")
	} else if !providers.ValidName(spec.Name) {
		errs = append(errs, fmt.Sprintf("name: %q must be 1-63 lower case letters, digits or '-', start with a letter and not end with '-'", spec.Name))
	}
	if spec.Region == "" {
		errs = append(errs, "region: must not be empty")
	}
	if spec.Zone == "" {
		errs = append(errs, "zone: must name an availability domain")
	}
	if spec.OCPUs < 0 || spec.MemoryGB < 0 {
		errs = append(errs, "ocpus/memoryGB: must not be negative")
	}
	if spec.DiskGB < 0 {
		errs = append(errs, "diskGB: must not be negative")
	}
	for _, t := range spec.Tags {
		if t == "" || strings.Contains(t, ",") {
			errs = append(errs, fmt.Sprintf("tags: %q must be non-empty and contain no ','", t))
		}
	}
	for k := range spec.Secrets {
		if _, dup := spec.Metadata[k]; dup {
			errs = append(errs, fmt.Sprintf("secrets: key %q is also in metadata", k))
		}
		if strings.Contains(k, ",") {
			errs = append(errs, fmt.Sprintf("secrets: key %q must not contain ','", k))
		}
	}
	return errs
}

// buildMetadata turns portable metadata and secrets into OCI instance
// metadata, and returns the secret keys (sorted).
func buildMetadata(meta map[string]string, secrets map[string]providers.Secret) (map[string]string, []string) {
	out := make(map[string]string, len(meta)+len(secrets))
	for k, v := range meta {
		if k == MetadataStartupScript {
			out[MetadataUserData] = base64.StdEncoding.EncodeToString([]byte(v))
			continue
		}
		out[k] = v
	}
	keys := make([]string, 0, len(secrets))
	for k, v := range secrets {
		out[k] = v.Reveal()
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return out, keys
}

// splitMetadata reverses buildMetadata.
func splitMetadata(meta map[string]string, secretKeys []string) (map[string]string, map[string]providers.Secret) {
	var out map[string]string
	var secrets map[string]providers.Secret
	for k, v := range meta {
		if slices.Contains(secretKeys, k) {
			if secrets == nil {
				secrets = map[string]providers.Secret{}
			}
			secrets[k] = providers.Secret(v)
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		if k == MetadataUserData {
			if b, err := base64.StdEncoding.DecodeString(v); err == nil {
				out[MetadataStartupScript] = string(b)
				continue
			}
		}
		out[k] = v
	}
	return out, secrets
}

func instanceStatus(s core.InstanceLifecycleStateEnum) providers.InstanceStatus {
	switch s {
	case core.InstanceLifecycleStateProvisioning, core.InstanceLifecycleStateStarting:
		return providers.StatusProvisioning
	case core.InstanceLifecycleStateStopping:
		return providers.StatusStopping
	case core.InstanceLifecycleStateStopped:
		return providers.StatusStopped
	case core.InstanceLifecycleStateTerminating:
		return providers.StatusTerminating
	case core.InstanceLifecycleStateTerminated:
		return providers.StatusTerminated
	}
	return providers.StatusRunning
}

func (p *Provider) toInstance(region string, in core.Instance) providers.Instance {
	out := providers.Instance{
		ID:     deref(in.Id),
		Status: instanceStatus(in.LifecycleState),
	}
	out.Name = deref(in.DisplayName)
	out.Region = region
	out.Zone = deref(in.AvailabilityDomain)
	out.FaultDomain = deref(in.FaultDomain)
	out.MachineType = deref(in.Shape)
	if in.ShapeConfig != nil {
		out.OCPUs = deref(in.ShapeConfig.Ocpus)
		out.MemoryGB = deref(in.ShapeConfig.MemoryInGBs)
	}
	out.Image = deref(in.ImageId)
	if sd, ok := in.SourceDetails.(core.InstanceSourceViaImageDetails); ok {
		if out.Image == "" {
			out.Image = deref(sd.ImageId)
		}
		out.DiskGB = int(deref(sd.BootVolumeSizeInGBs))
	}
	out.Labels = userLabels(in.FreeformTags)
	out.Tags = splitList(in.FreeformTags[TagNetworkTags])
	out.Metadata, out.Secrets = splitMetadata(in.Metadata, splitList(in.FreeformTags[TagSecretKeys]))
	if in.TimeCreated != nil {
		out.CreatedAt = in.TimeCreated.Time
	}
	return out
}

// retryToken returns the OCI retry token of one create call: a digest of
// what identifies the resource and the exact request, plus a random nonce
// drawn once per call. Every retry within the call (after a 503 that was
// applied, or a dropped connection) sends the same token, so OCI answers
// with the resource the first attempt created instead of making a second
// one. The nonce keeps a later call (after the resource was deleted, say)
// from being answered with a stale resource; across calls, the lookup by
// display name that precedes every create provides idempotency.
func (p *Provider) retryToken(kind, region, name string, body any) string {
	h := sha256.New()
	b, _ := json.Marshal(body)
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", kind, p.compartment, region, name)
	h.Write(b)
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	return "orocloud-" + hex.EncodeToString(h.Sum(nil))[:24] + "-" + hex.EncodeToString(nonce[:])
}

// CreateInstance launches the instance (LaunchInstance) in spec.Zone (an
// availability domain) and spec.FaultDomain, with the labels as freeform
// tags, the shape and shape config (spec, else Options.Shapes for the tier,
// else the default shape), the image (spec, else Options.Images, else
// Options.DefaultImage), metadata (startup-script becomes base64 user_data;
// Secrets are sent in metadata but never logged), and its primary VNIC in
// Options.SubnetID joined to the NSGs of the firewall rules that target one
// of spec.Tags. It returns once OCI accepted the launch (PROVISIONING).
//
// It is idempotent by display name (an existing non-terminated instance of
// that name in the compartment is returned when it is ours, AlreadyExists
// otherwise), and the launch carries an OCI retry token (see retryToken), so
// a launch retried after a fault never creates a duplicate.
func (p *Provider) CreateInstance(ctx context.Context, spec providers.InstanceSpec) (*providers.Instance, error) {
	const op = "oci.CreateInstance"
	if err := p.checkOpen(op); err != nil {
		return nil, err
	}
	problems := validateInstanceSpec(spec)
	if p.opts.SubnetID == "" {
		problems = append(problems, "Options.SubnetID: required to launch instances")
	}
	shape, image := p.resolveMachine(spec)
	if image == "" {
		problems = append(problems, fmt.Sprintf("image: none given and no default for tier %q (set InstanceSpec.Image, Options.Images or Options.DefaultImage)", spec.Labels[providers.LabelTier]))
	}
	if len(problems) > 0 {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: spec.Name, Msg: strings.Join(problems, "; ")}
	}
	c, err := p.regionClients(spec.Region)
	if err != nil {
		return nil, err
	}
	// The name lookup and the NSG lookup are independent: run them side by
	// side (one round trip of latency instead of two).
	var nsgIDs []string
	var nsgErr error
	nsgDone := make(chan struct{})
	go func() {
		defer close(nsgDone)
		nsgIDs, nsgErr = p.nsgsForTags(ctx, c, spec.Tags)
	}()
	existing, err := p.findInstance(ctx, c, spec.Name, "", true)
	<-nsgDone
	if err != nil && providers.Code(err) != providers.NotFound {
		return nil, err
	}
	if existing != nil {
		if !owned(existing.FreeformTags, spec.Labels) {
			return nil, &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: spec.Name,
				Msg: "an instance of that name exists and is not managed by this environment"}
		}
		inst := p.toInstance(spec.Region, *existing)
		return &inst, nil
	}
	if nsgErr != nil {
		return nil, nsgErr
	}
	meta, secretKeys := buildMetadata(spec.Metadata, spec.Secrets)
	tags := map[string]string(spec.Labels.Clone())
	if tags == nil {
		tags = map[string]string{}
	}
	if len(spec.Tags) > 0 {
		tags[TagNetworkTags] = strings.Join(spec.Tags, ",")
	}
	if len(secretKeys) > 0 {
		tags[TagSecretKeys] = strings.Join(secretKeys, ",")
	}
	src := core.InstanceSourceViaImageDetails{ImageId: common.String(image)}
	if spec.DiskGB > 0 {
		src.BootVolumeSizeInGBs = common.Int64(int64(spec.DiskGB))
	}
	details := core.LaunchInstanceDetails{
		AvailabilityDomain: common.String(spec.Zone),
		CompartmentId:      common.String(p.compartment),
		DisplayName:        common.String(spec.Name),
		FreeformTags:       tags,
		Shape:              common.String(shape.Name),
		SourceDetails:      src,
		Metadata:           meta,
		CreateVnicDetails: &core.CreateVnicDetails{
			SubnetId:       common.String(p.opts.SubnetID),
			NsgIds:         nsgIDs,
			AssignPublicIp: common.Bool(false),
			HostnameLabel:  common.String(spec.Name),
		},
	}
	if spec.FaultDomain != "" {
		details.FaultDomain = common.String(spec.FaultDomain)
	}
	if shape.OCPUs > 0 || shape.MemoryGB > 0 {
		details.ShapeConfig = &core.LaunchInstanceShapeConfigDetails{}
		if shape.OCPUs > 0 {
			details.ShapeConfig.Ocpus = common.Float32(shape.OCPUs)
		}
		if shape.MemoryGB > 0 {
			details.ShapeConfig.MemoryInGBs = common.Float32(shape.MemoryGB)
		}
	}
	token := p.retryToken("instance", spec.Region, spec.Name, details)
	var launched core.Instance
	err = p.call(ctx, op, spec.Name, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.compute.LaunchInstance(ctx, core.LaunchInstanceRequest{LaunchInstanceDetails: details, OpcRetryToken: common.String(token)})
		launched = r.Instance
		return r.RawResponse, err
	})
	if err != nil {
		return nil, err
	}
	p.log.InfoContext(ctx, "instance launched", "name", spec.Name, "id", deref(launched.Id), "zone", spec.Zone,
		"faultDomain", spec.FaultDomain, "shape", shape.Name)
	if len(spec.Tags) > 0 {
		// A firewall rule created while this launch was in flight saw no
		// instance to join and was not seen by our NSG lookup: look again
		// now that the instance exists (CreateFirewallRule does the same
		// from its side, so one of the two always sees the other).
		if err := p.joinLateNSGs(ctx, c, deref(launched.Id), spec.Tags, nsgIDs); err != nil {
			return nil, err
		}
	}
	inst := p.toInstance(spec.Region, launched)
	return &inst, nil
}

// joinLateNSGs adds the instance's VNIC to NSGs matching tags that were not
// in joined at launch, waiting for the VNIC to be attached if need be.
func (p *Provider) joinLateNSGs(ctx context.Context, c *regionClients, instanceID string, tags, joined []string) error {
	now, err := p.nsgsForTags(ctx, c, tags)
	if err != nil {
		return err
	}
	var late []string
	for _, id := range now {
		if !slices.Contains(joined, id) {
			late = append(late, id)
		}
	}
	if len(late) == 0 {
		return nil
	}
	vnic, err := p.waitVNIC(ctx, c, instanceID)
	if err != nil || vnic == "" {
		return err
	}
	for _, nsg := range late {
		if err := p.setVNICNSG(ctx, c, vnic, nsg, true); err != nil {
			return err
		}
	}
	return nil
}

func (p *Provider) resolveMachine(spec providers.InstanceSpec) (Shape, string) {
	tier := spec.Labels[providers.LabelTier]
	shape := defaultShape()
	if s, ok := p.opts.Shapes[tier]; ok && s.Name != "" {
		shape = s
	}
	if spec.MachineType != "" && spec.MachineType != shape.Name {
		// A flexible shape needs a size: take the spec's, else the
		// default shape's.
		given := Shape{Name: spec.MachineType, OCPUs: spec.OCPUs, MemoryGB: spec.MemoryGB}
		if strings.HasSuffix(given.Name, ".Flex") {
			if given.OCPUs == 0 {
				given.OCPUs = DefaultShapeOCPUs
			}
			if given.MemoryGB == 0 {
				given.MemoryGB = DefaultShapeMemoryGB
			}
		}
		shape = given
	} else {
		if spec.OCPUs > 0 {
			shape.OCPUs = spec.OCPUs
		}
		if spec.MemoryGB > 0 {
			shape.MemoryGB = spec.MemoryGB
		}
	}
	image := spec.Image
	if image == "" {
		image = p.opts.Images[tier]
	}
	if image == "" {
		image = p.opts.DefaultImage
	}
	return shape, image
}

// owned reports whether a resource's freeform tags carry the managed-by and
// environment values of want.
func owned(tags map[string]string, want providers.Labels) bool {
	return tags[providers.LabelManagedBy] == want[providers.LabelManagedBy] &&
		tags[providers.LabelEnvironment] == want[providers.LabelEnvironment] &&
		tags[providers.LabelManagedBy] != ""
}

// listInstances pages through ListInstances of the compartment (display
// name and AD filters are server-side; tags are filtered by the caller:
// OCI cannot filter by freeform tags) and calls keep for each item.
func (p *Provider) listInstances(ctx context.Context, c *regionClients, name, zone string, keep func(core.Instance) bool) error {
	req := core.ListInstancesRequest{CompartmentId: common.String(p.compartment)}
	if name != "" {
		req.DisplayName = common.String(name)
	}
	if zone != "" {
		req.AvailabilityDomain = common.String(zone)
	}
	for {
		var resp core.ListInstancesResponse
		err := p.call(ctx, "oci.ListInstances", name, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.compute.ListInstances(ctx, req)
			resp = r
			return r.RawResponse, err
		})
		if err != nil {
			return err
		}
		for _, in := range resp.Items {
			if !keep(in) {
				return nil
			}
		}
		if resp.OpcNextPage == nil || *resp.OpcNextPage == "" {
			return nil
		}
		req.Page = resp.OpcNextPage
	}
}

// findInstance returns the instance of that display name that is not
// terminated (nor terminating when live), or NotFound.
func (p *Provider) findInstance(ctx context.Context, c *regionClients, name, zone string, live bool) (*core.Instance, error) {
	var found *core.Instance
	err := p.listInstances(ctx, c, name, zone, func(in core.Instance) bool {
		switch in.LifecycleState {
		case core.InstanceLifecycleStateTerminated:
			return true
		case core.InstanceLifecycleStateTerminating:
			if live {
				return true
			}
		}
		if deref(in.DisplayName) != name {
			return true
		}
		found = &in
		return false
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, &providers.Error{Code: providers.NotFound, Op: "oci.GetInstance", Resource: name, Msg: "no instance of that name in the compartment"}
	}
	return found, nil
}

func (p *Provider) refInstance(ctx context.Context, op string, ref providers.InstanceRef) (*regionClients, *core.Instance, error) {
	if err := p.checkOpen(op); err != nil {
		return nil, nil, err
	}
	if ref.Name == "" {
		return nil, nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "name: must not be empty"}
	}
	c, err := p.regionClients(ref.Region)
	if err != nil {
		return nil, nil, err
	}
	in, err := p.findInstance(ctx, c, ref.Name, ref.Zone, false)
	if err != nil {
		return nil, nil, err
	}
	return c, in, nil
}

// GetInstance returns the instance of that display name in the region (and
// availability domain, when ref.Zone is set), with the private IP of its
// primary VNIC (ListVnicAttachments, GetVnic). A missing or terminated
// instance is NotFound.
func (p *Provider) GetInstance(ctx context.Context, ref providers.InstanceRef) (*providers.Instance, error) {
	c, in, err := p.refInstance(ctx, "oci.GetInstance", ref)
	if err != nil {
		return nil, err
	}
	out := p.toInstance(ref.Region, *in)
	if in.LifecycleState != core.InstanceLifecycleStateTerminating {
		if out.PrivateIP, err = p.privateIP(ctx, c, deref(in.Id)); err != nil {
			return nil, err
		}
	}
	return &out, nil
}

// ListInstances pages through the compartment's instances of region and
// keeps those whose freeform tags contain selector (OCI cannot filter by
// tags server-side), sorted by name. Terminated instances are skipped.
// PrivateIP comes from two more listings (VNIC attachments and the private
// IPs of Options.SubnetID), not from calls per instance.
func (p *Provider) ListInstances(ctx context.Context, region string, selector providers.Labels) ([]providers.Instance, error) {
	const op = "oci.ListInstances"
	if err := p.checkOpen(op); err != nil {
		return nil, err
	}
	c, err := p.regionClients(region)
	if err != nil {
		return nil, err
	}
	var out []providers.Instance
	err = p.listInstances(ctx, c, "", "", func(in core.Instance) bool {
		if in.LifecycleState != core.InstanceLifecycleStateTerminated && userLabels(in.FreeformTags).Matches(selector) {
			out = append(out, p.toInstance(region, in))
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if err := p.fillPrivateIPs(ctx, c, out); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b providers.Instance) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// fillPrivateIPs sets the PrivateIP of listed instances from two listings
// run side by side, whatever the number of instances: the compartment's
// VNIC attachments (instance -> VNIC) and the private IPs of
// Options.SubnetID (VNIC -> address).
func (p *Provider) fillPrivateIPs(ctx context.Context, c *regionClients, ins []providers.Instance) error {
	if len(ins) == 0 || p.opts.SubnetID == "" {
		return nil
	}
	vnicOf := map[string]string{}
	ipOf := map[string]string{}
	var errA, errB error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		errA = p.listAttachments(ctx, c, "", func(a core.VnicAttachment) {
			if _, seen := vnicOf[deref(a.InstanceId)]; !seen {
				vnicOf[deref(a.InstanceId)] = deref(a.VnicId)
			}
		})
	}()
	go func() {
		defer wg.Done()
		req := core.ListPrivateIpsRequest{SubnetId: common.String(p.opts.SubnetID)}
		for {
			var resp core.ListPrivateIpsResponse
			if errB = p.call(ctx, "oci.ListPrivateIps", p.opts.SubnetID, func(ctx context.Context) (*httpResponse, error) {
				r, err := c.network.ListPrivateIps(ctx, req)
				resp = r
				return r.RawResponse, err
			}); errB != nil {
				return
			}
			for _, ip := range resp.Items {
				if deref(ip.IsPrimary) || ipOf[deref(ip.VnicId)] == "" {
					ipOf[deref(ip.VnicId)] = deref(ip.IpAddress)
				}
			}
			if resp.OpcNextPage == nil || *resp.OpcNextPage == "" {
				return
			}
			req.Page = resp.OpcNextPage
		}
	}()
	wg.Wait()
	if errA != nil {
		return errA
	}
	if errB != nil {
		return errB
	}
	for i := range ins {
		ins[i].PrivateIP = ipOf[vnicOf[ins[i].ID]]
	}
	return nil
}

// UpdateInstance replaces the freeform tags (u.Labels) and metadata
// (u.Metadata, u.Secrets) of the instance. OCI rejects changes to user_data
// and ssh_authorized_keys after launch; keep them as they were.
func (p *Provider) UpdateInstance(ctx context.Context, ref providers.InstanceRef, u providers.InstanceUpdate) (*providers.Instance, error) {
	const op = "oci.UpdateInstance"
	c, in, err := p.refInstance(ctx, op, ref)
	if err != nil {
		return nil, err
	}
	cur := p.toInstance(ref.Region, *in)
	labels, meta, secrets := cur.Labels, cur.Metadata, cur.Secrets
	if u.Labels != nil {
		labels = u.Labels
	}
	if u.Metadata != nil {
		meta = u.Metadata
	}
	if u.Secrets != nil {
		secrets = u.Secrets
	}
	for k := range secrets {
		if _, dup := meta[k]; dup {
			return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: ref.Name,
				Msg: fmt.Sprintf("secrets: key %q is also in metadata", k)}
		}
	}
	newMeta, secretKeys := buildMetadata(meta, secrets)
	tags := map[string]string(labels.Clone())
	if tags == nil {
		tags = map[string]string{}
	}
	if v := in.FreeformTags[TagNetworkTags]; v != "" {
		tags[TagNetworkTags] = v
	}
	if len(secretKeys) > 0 {
		tags[TagSecretKeys] = strings.Join(secretKeys, ",")
	}
	details := core.UpdateInstanceDetails{FreeformTags: tags}
	if u.Metadata != nil || u.Secrets != nil {
		details.Metadata = newMeta
	}
	var updated core.Instance
	err = p.call(ctx, op, ref.Name, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.compute.UpdateInstance(ctx, core.UpdateInstanceRequest{InstanceId: in.Id, UpdateInstanceDetails: details})
		updated = r.Instance
		return r.RawResponse, err
	})
	if err != nil {
		return nil, err
	}
	if updated.Id == nil { // tolerate a service that answers without a body
		updated = *in
		updated.FreeformTags = tags
		if details.Metadata != nil {
			updated.Metadata = maps.Clone(details.Metadata)
		}
	}
	out := p.toInstance(ref.Region, updated)
	return &out, nil
}

// StopInstance powers the instance off (InstanceAction STOP, immediate:
// failover fences with it) and waits until it is STOPPED. Stopping a
// stopped instance is a no-op.
func (p *Provider) StopInstance(ctx context.Context, ref providers.InstanceRef) error {
	return p.powerAction(ctx, "oci.StopInstance", ref, core.InstanceActionActionStop,
		core.InstanceLifecycleStateStopped, core.InstanceLifecycleStateStopping)
}

// StartInstance starts a stopped instance (InstanceAction START) and waits
// until it is RUNNING. Starting a running instance is a no-op.
func (p *Provider) StartInstance(ctx context.Context, ref providers.InstanceRef) error {
	return p.powerAction(ctx, "oci.StartInstance", ref, core.InstanceActionActionStart,
		core.InstanceLifecycleStateRunning, core.InstanceLifecycleStateStarting, core.InstanceLifecycleStateProvisioning)
}

func (p *Provider) powerAction(ctx context.Context, op string, ref providers.InstanceRef, action core.InstanceActionActionEnum,
	target core.InstanceLifecycleStateEnum, transitional ...core.InstanceLifecycleStateEnum) error {
	c, in, err := p.refInstance(ctx, op, ref)
	if err != nil {
		return err
	}
	if in.LifecycleState == target {
		return nil
	}
	state := in.LifecycleState
	if !slices.Contains(transitional, state) && settling(state) {
		// OCI refuses power actions mid-transition (409 IncorrectState):
		// let the current one finish first.
		got, err := p.waitInstance(ctx, c, op, ref.Name, deref(in.Id), "")
		if err != nil {
			return err
		}
		if state = got.LifecycleState; state == target {
			return nil
		}
	}
	if !slices.Contains(transitional, state) {
		err = p.call(ctx, op, ref.Name, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.compute.InstanceAction(ctx, core.InstanceActionRequest{InstanceId: in.Id, Action: action})
			return r.RawResponse, err
		})
		if err != nil {
			return err
		}
	}
	_, err = p.waitInstance(ctx, c, op, ref.Name, deref(in.Id), target)
	return err
}

// DeleteInstance terminates the instance (with its boot volume) and waits
// until it is TERMINATED, at which point ListInstances no longer shows it.
func (p *Provider) DeleteInstance(ctx context.Context, ref providers.InstanceRef) error {
	const op = "oci.DeleteInstance"
	c, in, err := p.refInstance(ctx, op, ref)
	if err != nil {
		return err
	}
	if in.LifecycleState != core.InstanceLifecycleStateTerminating {
		err = p.call(ctx, op, ref.Name, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.compute.TerminateInstance(ctx, core.TerminateInstanceRequest{InstanceId: in.Id, PreserveBootVolume: common.Bool(false)})
			return r.RawResponse, err
		})
		if err != nil && providers.Code(err) != providers.NotFound {
			return err
		}
	}
	_, err = p.waitInstance(ctx, c, op, ref.Name, deref(in.Id), core.InstanceLifecycleStateTerminated)
	if providers.Code(err) == providers.NotFound {
		return nil
	}
	return err
}

// waitInstance polls GetInstance every Options.PollInterval on the
// provider's clock until the instance reaches state (any settled state when
// state is ""), or ctx is done.
func (p *Provider) waitInstance(ctx context.Context, c *regionClients, op, name, id string, state core.InstanceLifecycleStateEnum) (core.Instance, error) {
	for {
		var in core.Instance
		err := p.call(ctx, op, name, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.compute.GetInstance(ctx, core.GetInstanceRequest{InstanceId: common.String(id)})
			in = r.Instance
			return r.RawResponse, err
		})
		if err != nil {
			return in, err
		}
		if in.LifecycleState == state || (state == "" && !settling(in.LifecycleState)) {
			return in, nil
		}
		if in.LifecycleState == core.InstanceLifecycleStateTerminated {
			return in, &providers.Error{Code: providers.FailedPrecondition, Op: op, Resource: name,
				Msg: "instance was terminated while waiting for " + string(state)}
		}
		p.log.DebugContext(ctx, "waiting for instance state", "op", op, "name", name, "state", in.LifecycleState, "want", state)
		if err := p.sleep(ctx, p.opts.PollInterval); err != nil {
			return in, providers.Wrap(err, providers.DeadlineExceeded, op, name+": waiting for "+string(state))
		}
	}
}

// privateIP returns the private IP of the instance's first attached VNIC,
// or "" when it has none yet.
func (p *Provider) privateIP(ctx context.Context, c *regionClients, instanceID string) (string, error) {
	vnics, err := p.instanceVNICs(ctx, c, instanceID)
	if err != nil || len(vnics) == 0 {
		return "", err
	}
	var vnic core.Vnic
	err = p.call(ctx, "oci.GetVnic", vnics[0], func(ctx context.Context) (*httpResponse, error) {
		r, err := c.network.GetVnic(ctx, core.GetVnicRequest{VnicId: common.String(vnics[0])})
		vnic = r.Vnic
		return r.RawResponse, err
	})
	if providers.Code(err) == providers.NotFound {
		return "", nil
	}
	return deref(vnic.PrivateIp), err
}

// settling reports whether an instance in state s is between two stable
// states.
func settling(s core.InstanceLifecycleStateEnum) bool {
	switch s {
	case core.InstanceLifecycleStateProvisioning, core.InstanceLifecycleStateStarting, core.InstanceLifecycleStateStopping,
		core.InstanceLifecycleStateMoving, core.InstanceLifecycleStateCreatingImage:
		return true
	}
	return false
}
