package oci

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// maxNSGsPerVNIC is OCI's limit of NSGs per VNIC.
const maxNSGsPerVNIC = 5

func protocolNumber(p providers.Protocol) string {
	if p == providers.UDP {
		return "17"
	}
	return "6"
}

func validateRule(rule providers.FirewallRule) []string {
	var errs []string
	if !providers.ValidName(rule.Name) {
		errs = append(errs, fmt.Sprintf("name: %q must be 1-63 lower case letters, digits or '-', starting with a letter", rule.Name))
	}
	if rule.Region == "" {
		errs = append(errs, "region: must not be empty")
	}
	switch rule.Protocol {
	case "", providers.TCP, providers.UDP:
	default:
		errs = append(errs, fmt.Sprintf("protocol: %q must be tcp or udp", rule.Protocol))
	}
	if len(rule.Ports) == 0 {
		errs = append(errs, "ports: at least one port is required")
	}
	for _, port := range rule.Ports {
		if port < 1 || port > 65535 {
			errs = append(errs, fmt.Sprintf("ports: %d is not in 1-65535", port))
		}
	}
	if len(rule.SourceRanges) == 0 {
		errs = append(errs, "sourceRanges: at least one CIDR is required")
	}
	for _, s := range rule.SourceRanges {
		if _, err := netip.ParsePrefix(s); err != nil {
			errs = append(errs, fmt.Sprintf("sourceRanges: %q is not a CIDR block", s))
		}
	}
	if len(rule.TargetTags) == 0 {
		errs = append(errs, "targetTags: at least one target tag is required")
	}
	for _, t := range rule.TargetTags {
		if t == "" || strings.Contains(t, ",") {
			errs = append(errs, fmt.Sprintf("targetTags: %q must be non-empty and contain no ','", t))
		}
	}
	if len(rule.Description) > 256 {
		errs = append(errs, "description: at most 256 characters")
	}
	return errs
}

// ruleKey identifies a security rule by what it admits.
func ruleKey(proto, source string, port int) string {
	return proto + "|" + source + "|" + strconv.Itoa(port)
}

func desiredRules(rule providers.FirewallRule) []core.AddSecurityRuleDetails {
	proto := protocolNumber(rule.Protocol)
	var out []core.AddSecurityRuleDetails
	seen := map[string]bool{}
	for _, src := range rule.SourceRanges {
		for _, port := range rule.Ports {
			k := ruleKey(proto, src, port)
			if seen[k] {
				continue
			}
			seen[k] = true
			r := core.AddSecurityRuleDetails{
				Direction:   core.AddSecurityRuleDetailsDirectionIngress,
				Protocol:    common.String(proto),
				Source:      common.String(src),
				SourceType:  core.AddSecurityRuleDetailsSourceTypeCidrBlock,
				IsStateless: common.Bool(false),
				Description: common.String("orocloud:" + rule.Name),
			}
			pr := &core.PortRange{Min: common.Int(port), Max: common.Int(port)}
			if proto == "17" {
				r.UdpOptions = &core.UdpOptions{DestinationPortRange: pr}
			} else {
				r.TcpOptions = &core.TcpOptions{DestinationPortRange: pr}
			}
			out = append(out, r)
		}
	}
	return out
}

func existingKey(r core.SecurityRule) []string {
	proto := deref(r.Protocol)
	var pr *core.PortRange
	if r.TcpOptions != nil {
		pr = r.TcpOptions.DestinationPortRange
	}
	if r.UdpOptions != nil {
		pr = r.UdpOptions.DestinationPortRange
	}
	if pr == nil {
		return nil
	}
	var keys []string
	for port := deref(pr.Min); port <= deref(pr.Max) && port-deref(pr.Min) < 65536; port++ {
		keys = append(keys, ruleKey(proto, deref(r.Source), port))
	}
	return keys
}

func (p *Provider) toRule(region string, nsg core.NetworkSecurityGroup, rules []core.SecurityRule) providers.FirewallRule {
	out := providers.FirewallRule{
		Name:        deref(nsg.DisplayName),
		Region:      region,
		Description: nsg.FreeformTags[TagDescription],
		Protocol:    providers.TCP,
		TargetTags:  splitList(nsg.FreeformTags[TagTargetTags]),
		Labels:      userLabels(nsg.FreeformTags),
	}
	for _, r := range rules {
		if r.Direction != core.SecurityRuleDirectionIngress {
			continue
		}
		if deref(r.Protocol) == "17" {
			out.Protocol = providers.UDP
		}
		if s := deref(r.Source); s != "" && !slices.Contains(out.SourceRanges, s) {
			out.SourceRanges = append(out.SourceRanges, s)
		}
		for _, k := range existingKey(r) {
			port, _ := strconv.Atoi(k[strings.LastIndex(k, "|")+1:])
			if !slices.Contains(out.Ports, port) {
				out.Ports = append(out.Ports, port)
			}
		}
	}
	slices.Sort(out.Ports)
	return out
}

// listNSGs pages through the compartment's NSGs (of Options.VCNID when
// set), optionally by display name, and calls keep for each live one.
func (p *Provider) listNSGs(ctx context.Context, c *regionClients, name string, keep func(core.NetworkSecurityGroup) bool) error {
	req := core.ListNetworkSecurityGroupsRequest{CompartmentId: common.String(p.compartment)}
	if p.opts.VCNID != "" {
		req.VcnId = common.String(p.opts.VCNID)
	}
	if name != "" {
		req.DisplayName = common.String(name)
	}
	for {
		var resp core.ListNetworkSecurityGroupsResponse
		err := p.call(ctx, "oci.ListNetworkSecurityGroups", name, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.network.ListNetworkSecurityGroups(ctx, req)
			resp = r
			return r.RawResponse, err
		})
		if err != nil {
			return err
		}
		for _, g := range resp.Items {
			if g.LifecycleState == core.NetworkSecurityGroupLifecycleStateTerminated || g.LifecycleState == core.NetworkSecurityGroupLifecycleStateTerminating {
				continue
			}
			if !keep(g) {
				return nil
			}
		}
		if resp.OpcNextPage == nil || *resp.OpcNextPage == "" {
			return nil
		}
		req.Page = resp.OpcNextPage
	}
}

func (p *Provider) findNSG(ctx context.Context, c *regionClients, op, name string) (*core.NetworkSecurityGroup, error) {
	var found *core.NetworkSecurityGroup
	err := p.listNSGs(ctx, c, name, func(g core.NetworkSecurityGroup) bool {
		if deref(g.DisplayName) == name {
			found = &g
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: name, Msg: "no network security group of that name"}
	}
	return found, nil
}

func (p *Provider) listSecurityRules(ctx context.Context, c *regionClients, nsgID string) ([]core.SecurityRule, error) {
	req := core.ListNetworkSecurityGroupSecurityRulesRequest{NetworkSecurityGroupId: common.String(nsgID)}
	var out []core.SecurityRule
	for {
		var resp core.ListNetworkSecurityGroupSecurityRulesResponse
		err := p.call(ctx, "oci.ListNetworkSecurityGroupSecurityRules", nsgID, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.network.ListNetworkSecurityGroupSecurityRules(ctx, req)
			resp = r
			return r.RawResponse, err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, resp.Items...)
		if resp.OpcNextPage == nil || *resp.OpcNextPage == "" {
			return out, nil
		}
		req.Page = resp.OpcNextPage
	}
}

// ensureRules adds the security rules of rule that the NSG lacks. Adding is
// not idempotent on OCI, so each attempt lists the rules first: a retry
// after an add that was applied adds nothing twice.
func (p *Provider) ensureRules(ctx context.Context, c *regionClients, nsgID string, rule providers.FirewallRule) error {
	const op = "oci.AddNetworkSecurityGroupSecurityRules"
	return retry.Do(ctx, p.policy, func(ctx context.Context) error {
		existing, err := p.listSecurityRules(ctx, c, nsgID)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, r := range existing {
			for _, k := range existingKey(r) {
				have[k] = true
			}
		}
		var missing []core.AddSecurityRuleDetails
		for _, r := range desiredRules(rule) {
			var port int
			if r.TcpOptions != nil {
				port = *r.TcpOptions.DestinationPortRange.Min
			} else {
				port = *r.UdpOptions.DestinationPortRange.Min
			}
			if !have[ruleKey(*r.Protocol, *r.Source, port)] {
				missing = append(missing, r)
			}
		}
		for batch := range slices.Chunk(missing, 25) { // the API's limit per call
			if err := ctx.Err(); err != nil {
				return providers.Wrap(err, providers.Canceled, op, rule.Name)
			}
			r, err := c.network.AddNetworkSecurityGroupSecurityRules(sdkContext(ctx), core.AddNetworkSecurityGroupSecurityRulesRequest{
				NetworkSecurityGroupId:                      common.String(nsgID),
				AddNetworkSecurityGroupSecurityRulesDetails: core.AddNetworkSecurityGroupSecurityRulesDetails{SecurityRules: batch},
			})
			if err != nil {
				return mapError(op, rule.Name, r.RawResponse, err, p.clk.Now)
			}
		}
		return nil
	})
}

// CreateFirewallRule creates the rule's NSG (with a retry token), its
// ingress security rules, and joins the VNICs of existing instances tagged
// with a target tag to it. It is idempotent by name: an NSG of that name
// with our labels is returned (and completed when an earlier call was
// interrupted before its rules were added); any other is AlreadyExists.
func (p *Provider) CreateFirewallRule(ctx context.Context, rule providers.FirewallRule) (*providers.FirewallRule, error) {
	const op = "oci.CreateFirewallRule"
	if err := p.checkOpen(op); err != nil {
		return nil, err
	}
	problems := validateRule(rule)
	if p.opts.VCNID == "" {
		problems = append(problems, "Options.VCNID: required to create network security groups")
	}
	if len(problems) > 0 {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: rule.Name, Msg: strings.Join(problems, "; ")}
	}
	if rule.Protocol == "" {
		rule.Protocol = providers.TCP
	}
	c, err := p.regionClients(rule.Region)
	if err != nil {
		return nil, err
	}
	nsg, err := p.findNSG(ctx, c, op, rule.Name)
	if err != nil && providers.Code(err) != providers.NotFound {
		return nil, err
	}
	if nsg != nil {
		if !owned(nsg.FreeformTags, rule.Labels) {
			return nil, &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: rule.Name,
				Msg: "a network security group of that name exists and is not managed by this environment"}
		}
		rules, err := p.listSecurityRules(ctx, c, deref(nsg.Id))
		if err != nil {
			return nil, err
		}
		if len(rules) > 0 {
			out := p.toRule(rule.Region, *nsg, rules)
			return &out, nil
		}
		// Ours but empty: an earlier create stopped before adding rules.
	} else {
		tags := map[string]string(rule.Labels.Clone())
		if tags == nil {
			tags = map[string]string{}
		}
		tags[TagTargetTags] = strings.Join(rule.TargetTags, ",")
		if rule.Description != "" {
			tags[TagDescription] = rule.Description
		}
		details := core.CreateNetworkSecurityGroupDetails{
			CompartmentId: common.String(p.compartment),
			VcnId:         common.String(p.opts.VCNID),
			DisplayName:   common.String(rule.Name),
			FreeformTags:  tags,
		}
		token := p.retryToken("nsg", rule.Region, rule.Name, details)
		var created core.NetworkSecurityGroup
		err = p.call(ctx, op, rule.Name, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.network.CreateNetworkSecurityGroup(ctx, core.CreateNetworkSecurityGroupRequest{
				CreateNetworkSecurityGroupDetails: details, OpcRetryToken: common.String(token)})
			created = r.NetworkSecurityGroup
			return r.RawResponse, err
		})
		if err != nil {
			return nil, err
		}
		nsg = &created
	}
	if err := p.ensureRules(ctx, c, deref(nsg.Id), rule); err != nil {
		return nil, err
	}
	if err := p.joinTaggedInstances(ctx, c, deref(nsg.Id), rule.TargetTags); err != nil {
		return nil, err
	}
	p.log.InfoContext(ctx, "firewall rule created", "name", rule.Name, "nsg", deref(nsg.Id), "ports", rule.Ports, "targets", rule.TargetTags)
	out := rule
	out.Labels = rule.Labels.Clone()
	if out.Labels == nil {
		out.Labels = providers.Labels{}
	}
	out.Ports = slices.Clone(rule.Ports)
	slices.Sort(out.Ports)
	out.Ports = slices.Compact(out.Ports)
	out.SourceRanges = slices.Compact(slices.Clone(rule.SourceRanges))
	return &out, nil
}

// nsgsForTags returns the IDs of the NSGs whose target tags meet tags.
func (p *Provider) nsgsForTags(ctx context.Context, c *regionClients, tags []string) ([]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	var ids []string
	err := p.listNSGs(ctx, c, "", func(g core.NetworkSecurityGroup) bool {
		for _, t := range splitList(g.FreeformTags[TagTargetTags]) {
			if slices.Contains(tags, t) {
				ids = append(ids, deref(g.Id))
				break
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	if len(ids) > maxNSGsPerVNIC {
		return nil, &providers.Error{Code: providers.FailedPrecondition, Op: "oci.CreateInstance",
			Msg: fmt.Sprintf("tags %v select %d network security groups; OCI allows %d per VNIC", tags, len(ids), maxNSGsPerVNIC)}
	}
	return ids, nil
}

// instanceVNICs returns the VNIC IDs attached to the instance.
func (p *Provider) instanceVNICs(ctx context.Context, c *regionClients, instanceID string) ([]string, error) {
	var ids []string
	err := p.listAttachments(ctx, c, instanceID, func(a core.VnicAttachment) { ids = append(ids, deref(a.VnicId)) })
	return ids, err
}

// listAttachments pages through the compartment's attached VNIC
// attachments (of one instance when instanceID is set).
func (p *Provider) listAttachments(ctx context.Context, c *regionClients, instanceID string, fn func(core.VnicAttachment)) error {
	req := core.ListVnicAttachmentsRequest{CompartmentId: common.String(p.compartment)}
	if instanceID != "" {
		req.InstanceId = common.String(instanceID)
	}
	for {
		var resp core.ListVnicAttachmentsResponse
		err := p.call(ctx, "oci.ListVnicAttachments", instanceID, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.compute.ListVnicAttachments(ctx, req)
			resp = r
			return r.RawResponse, err
		})
		if err != nil {
			return err
		}
		for _, a := range resp.Items {
			if a.LifecycleState == core.VnicAttachmentLifecycleStateAttached || a.LifecycleState == core.VnicAttachmentLifecycleStateAttaching {
				fn(a)
			}
		}
		if resp.OpcNextPage == nil || *resp.OpcNextPage == "" {
			return nil
		}
		req.Page = resp.OpcNextPage
	}
}

// setVNICNSG adds (join) or removes the NSG from the VNIC's NSG list. The
// list is replaced as a whole, so the update is conditional on the etag
// read (If-Match): a concurrent change by another join (an instance and a
// rule joining at the same moment) makes it re-read instead of losing the
// other change.
func (p *Provider) setVNICNSG(ctx context.Context, c *regionClients, vnicID, nsgID string, join bool) error {
	const attempts = 5
	for attempt := 1; ; attempt++ {
		var vnic core.Vnic
		var etag *string
		err := p.call(ctx, "oci.GetVnic", vnicID, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.network.GetVnic(ctx, core.GetVnicRequest{VnicId: common.String(vnicID)})
			vnic, etag = r.Vnic, r.Etag
			return r.RawResponse, err
		})
		if err != nil {
			return err
		}
		if slices.Contains(vnic.NsgIds, nsgID) == join {
			return nil
		}
		ids := slices.DeleteFunc(slices.Clone(vnic.NsgIds), func(s string) bool { return s == nsgID })
		if join {
			if len(ids) >= maxNSGsPerVNIC {
				return &providers.Error{Code: providers.FailedPrecondition, Op: "oci.UpdateVnic", Resource: vnicID,
					Msg: fmt.Sprintf("the VNIC already is in %d network security groups (OCI's maximum)", maxNSGsPerVNIC)}
			}
			ids = append(ids, nsgID)
		}
		if ids == nil {
			ids = []string{}
		}
		err = p.call(ctx, "oci.UpdateVnic", vnicID, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.network.UpdateVnic(ctx, core.UpdateVnicRequest{VnicId: common.String(vnicID), IfMatch: etag,
				UpdateVnicDetails: core.UpdateVnicDetails{NsgIds: ids}})
			return r.RawResponse, err
		})
		var se common.ServiceError
		if err != nil && errors.As(err, &se) && se.GetHTTPStatusCode() == 412 && attempt < attempts {
			continue // changed under us: read again
		}
		return err
	}
}

// joinTaggedInstances adds the NSG to the VNICs of live instances whose
// network tags meet targets. Three listings run side by side (the tagged
// instances, the NSG's current VNICs, the compartment's VNIC attachments),
// then only the VNICs not yet in the NSG are updated.
func (p *Provider) joinTaggedInstances(ctx context.Context, c *regionClients, nsgID string, targets []string) error {
	var (
		tagged   = map[string]bool{}
		members  = map[string]bool{}
		attached = map[string][]string{} // instance -> VNICs
	)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		errs[0] = p.listInstances(ctx, c, "", "", func(in core.Instance) bool {
			switch in.LifecycleState {
			case core.InstanceLifecycleStateTerminated, core.InstanceLifecycleStateTerminating:
				return true
			}
			for _, t := range splitList(in.FreeformTags[TagNetworkTags]) {
				if slices.Contains(targets, t) {
					tagged[deref(in.Id)] = true
					break
				}
			}
			return true
		})
	}()
	go func() {
		defer wg.Done()
		var vnics []string
		vnics, errs[1] = p.nsgVNICs(ctx, c, nsgID)
		for _, v := range vnics {
			members[v] = true
		}
	}()
	go func() {
		defer wg.Done()
		errs[2] = p.listAttachments(ctx, c, "", func(a core.VnicAttachment) {
			attached[deref(a.InstanceId)] = append(attached[deref(a.InstanceId)], deref(a.VnicId))
		})
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	var todo []string
	for id := range tagged {
		if vnics := attached[id]; len(vnics) == 0 {
			todo = append(todo, "instance:"+id) // launched a moment ago, VNIC not attached yet
		} else if !members[vnics[0]] {
			todo = append(todo, vnics[0])
		}
	}
	slices.Sort(todo)
	return p.forEach(ctx, todo, func(ctx context.Context, v string) error {
		if id, ok := strings.CutPrefix(v, "instance:"); ok {
			vnic, err := p.waitVNIC(ctx, c, id)
			if err != nil || vnic == "" {
				return err
			}
			v = vnic
		}
		return p.setVNICNSG(ctx, c, v, nsgID, true)
	})
}

// waitVNIC polls until the instance has an attached VNIC and returns it; ""
// when the instance went away meanwhile.
func (p *Provider) waitVNIC(ctx context.Context, c *regionClients, instanceID string) (string, error) {
	for {
		vnics, err := p.instanceVNICs(ctx, c, instanceID)
		if err != nil || len(vnics) > 0 {
			if len(vnics) > 0 {
				return vnics[0], err
			}
			return "", err
		}
		var in core.Instance
		err = p.call(ctx, "oci.GetInstance", instanceID, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.compute.GetInstance(ctx, core.GetInstanceRequest{InstanceId: common.String(instanceID)})
			in = r.Instance
			return r.RawResponse, err
		})
		if providers.Code(err) == providers.NotFound || in.LifecycleState == core.InstanceLifecycleStateTerminated ||
			in.LifecycleState == core.InstanceLifecycleStateTerminating {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if err := p.sleep(ctx, p.opts.PollInterval); err != nil {
			return "", providers.Wrap(err, providers.DeadlineExceeded, "oci.waitVNIC", instanceID)
		}
	}
}

// nsgVNICs lists the VNICs in the NSG.
func (p *Provider) nsgVNICs(ctx context.Context, c *regionClients, nsgID string) ([]string, error) {
	req := core.ListNetworkSecurityGroupVnicsRequest{NetworkSecurityGroupId: common.String(nsgID)}
	var out []string
	for {
		var resp core.ListNetworkSecurityGroupVnicsResponse
		err := p.call(ctx, "oci.ListNetworkSecurityGroupVnics", nsgID, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.network.ListNetworkSecurityGroupVnics(ctx, req)
			resp = r
			return r.RawResponse, err
		})
		if err != nil {
			return nil, err
		}
		for _, v := range resp.Items {
			out = append(out, deref(v.VnicId))
		}
		if resp.OpcNextPage == nil || *resp.OpcNextPage == "" {
			return out, nil
		}
		req.Page = resp.OpcNextPage
	}
}

// forEach runs fn over items with at most 8 in flight and returns the
// first error.
func (p *Provider) forEach(ctx context.Context, items []string, fn func(context.Context, string) error) error {
	sem := make(chan struct{}, 8)
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(ctx, it)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// GetFirewallRule returns the rule of the NSG of that name.
func (p *Provider) GetFirewallRule(ctx context.Context, region, name string) (*providers.FirewallRule, error) {
	const op = "oci.GetFirewallRule"
	if err := p.checkOpen(op); err != nil {
		return nil, err
	}
	c, err := p.regionClients(region)
	if err != nil {
		return nil, err
	}
	nsg, err := p.findNSG(ctx, c, op, name)
	if err != nil {
		return nil, err
	}
	rules, err := p.listSecurityRules(ctx, c, deref(nsg.Id))
	if err != nil {
		return nil, err
	}
	out := p.toRule(region, *nsg, rules)
	return &out, nil
}

// ListFirewallRules returns the rules (NSGs with target tags) whose labels
// contain selector, sorted by name. Security rules are fetched in parallel.
func (p *Provider) ListFirewallRules(ctx context.Context, region string, selector providers.Labels) ([]providers.FirewallRule, error) {
	const op = "oci.ListFirewallRules"
	if err := p.checkOpen(op); err != nil {
		return nil, err
	}
	c, err := p.regionClients(region)
	if err != nil {
		return nil, err
	}
	var nsgs []core.NetworkSecurityGroup
	err = p.listNSGs(ctx, c, "", func(g core.NetworkSecurityGroup) bool {
		if _, ok := g.FreeformTags[TagTargetTags]; ok && userLabels(g.FreeformTags).Matches(selector) {
			nsgs = append(nsgs, g)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	out := make([]providers.FirewallRule, len(nsgs))
	ids := make([]string, len(nsgs))
	index := map[string]int{}
	for i, g := range nsgs {
		ids[i] = deref(g.Id)
		index[ids[i]] = i
	}
	var mu sync.Mutex
	err = p.forEach(ctx, ids, func(ctx context.Context, id string) error {
		rules, err := p.listSecurityRules(ctx, c, id)
		if err != nil {
			return err
		}
		i := index[id]
		mu.Lock()
		out[i] = p.toRule(region, nsgs[i], rules)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b providers.FirewallRule) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteFirewallRule removes the NSG from every VNIC in it
// (ListNetworkSecurityGroupVnics, UpdateVnic) and deletes it.
func (p *Provider) DeleteFirewallRule(ctx context.Context, region, name string) error {
	const op = "oci.DeleteFirewallRule"
	if err := p.checkOpen(op); err != nil {
		return err
	}
	c, err := p.regionClients(region)
	if err != nil {
		return err
	}
	nsg, err := p.findNSG(ctx, c, op, name)
	if err != nil {
		return err
	}
	nsgID := deref(nsg.Id)
	vnics, err := p.nsgVNICs(ctx, c, nsgID)
	if err != nil {
		return err
	}
	if err := p.forEach(ctx, vnics, func(ctx context.Context, v string) error {
		err := p.setVNICNSG(ctx, c, v, nsgID, false)
		if providers.Code(err) == providers.NotFound {
			return nil // the VNIC went away with its instance
		}
		return err
	}); err != nil {
		return err
	}
	return p.deleteCall(ctx, op, name, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.network.DeleteNetworkSecurityGroup(ctx, core.DeleteNetworkSecurityGroupRequest{NetworkSecurityGroupId: nsg.Id})
		return r.RawResponse, err
	})
}
