package oci

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"

	"github.com/orocloud/orocloud-go/providers"
)

func (p *Provider) toAddress(region string, ip core.PublicIp) providers.Address {
	a := providers.Address{ID: deref(ip.Id), IP: deref(ip.IpAddress)}
	a.Name = deref(ip.DisplayName)
	a.Region = region
	a.Description = ip.FreeformTags[TagDescription]
	a.Labels = userLabels(ip.FreeformTags)
	return a
}

func addressRegion(op, region string) error {
	if region == "" {
		return &providers.Error{Code: providers.InvalidArgument, Op: op,
			Msg: "region: OCI has no global addresses; name the region of the reserved public IP"}
	}
	return nil
}

// listPublicIPs pages through the compartment's reserved public IPs of the
// region (ListPublicIps scope REGION, lifetime RESERVED) and calls keep for
// each live one until keep returns false.
func (p *Provider) listPublicIPs(ctx context.Context, c *regionClients, keep func(core.PublicIp) bool) error {
	req := core.ListPublicIpsRequest{Scope: core.ListPublicIpsScopeRegion, CompartmentId: common.String(p.compartment),
		Lifetime: core.ListPublicIpsLifetimeReserved}
	for {
		var resp core.ListPublicIpsResponse
		err := p.call(ctx, "oci.ListPublicIps", c.region, func(ctx context.Context) (*httpResponse, error) {
			r, err := c.network.ListPublicIps(ctx, req)
			resp = r
			return r.RawResponse, err
		})
		if err != nil {
			return err
		}
		for _, ip := range resp.Items {
			if ip.LifecycleState == core.PublicIpLifecycleStateTerminated || ip.LifecycleState == core.PublicIpLifecycleStateTerminating {
				continue
			}
			if !keep(ip) {
				return nil
			}
		}
		if resp.OpcNextPage == nil || *resp.OpcNextPage == "" {
			return nil
		}
		req.Page = resp.OpcNextPage
	}
}

func (p *Provider) findPublicIP(ctx context.Context, c *regionClients, op, name string) (*core.PublicIp, error) {
	var found *core.PublicIp
	err := p.listPublicIPs(ctx, c, func(ip core.PublicIp) bool {
		if deref(ip.DisplayName) == name {
			found = &ip
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: name, Msg: "no reserved public IP of that name"}
	}
	return found, nil
}

// ReserveAddress reserves a regional public IP (CreatePublicIp, lifetime
// RESERVED) with the name as display name and the labels (and the
// description) as freeform tags. It is idempotent by display name and
// carries a retry token. Region "" is InvalidArgument: OCI has no global
// addresses.
func (p *Provider) ReserveAddress(ctx context.Context, spec providers.AddressSpec) (*providers.Address, error) {
	const op = "oci.ReserveAddress"
	if err := p.checkOpen(op); err != nil {
		return nil, err
	}
	var problems []string
	if !providers.ValidName(spec.Name) {
		problems = append(problems, fmt.Sprintf("name: %q must be 1-63 lower case letters, digits or '-', starting with a letter", spec.Name))
	}
	if err := addressRegion(op, spec.Region); err != nil {
		problems = append(problems, "region: OCI has no global addresses; name the region of the reserved public IP")
	}
	if len(spec.Description) > 256 {
		problems = append(problems, "description: at most 256 characters")
	}
	if len(problems) > 0 {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: spec.Name, Msg: strings.Join(problems, "; ")}
	}
	c, err := p.regionClients(spec.Region)
	if err != nil {
		return nil, err
	}
	existing, err := p.findPublicIP(ctx, c, op, spec.Name)
	if err != nil && providers.Code(err) != providers.NotFound {
		return nil, err
	}
	if existing != nil {
		if !owned(existing.FreeformTags, spec.Labels) {
			return nil, &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: spec.Name,
				Msg: "a reserved public IP of that name exists and is not managed by this environment"}
		}
		a := p.toAddress(spec.Region, *existing)
		return &a, nil
	}
	tags := map[string]string(spec.Labels.Clone())
	if tags == nil {
		tags = map[string]string{}
	}
	if spec.Description != "" {
		tags[TagDescription] = spec.Description
	}
	details := core.CreatePublicIpDetails{
		CompartmentId: common.String(p.compartment),
		Lifetime:      core.CreatePublicIpDetailsLifetimeReserved,
		DisplayName:   common.String(spec.Name),
		FreeformTags:  tags,
	}
	token := p.retryToken("public-ip", spec.Region, spec.Name, details)
	var ip core.PublicIp
	err = p.call(ctx, op, spec.Name, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.network.CreatePublicIp(ctx, core.CreatePublicIpRequest{CreatePublicIpDetails: details, OpcRetryToken: common.String(token)})
		ip = r.PublicIp
		return r.RawResponse, err
	})
	if err != nil {
		return nil, err
	}
	p.log.InfoContext(ctx, "public IP reserved", "name", spec.Name, "ip", deref(ip.IpAddress), "region", spec.Region)
	a := p.toAddress(spec.Region, ip)
	return &a, nil
}

// GetAddress returns the reserved public IP of that display name.
func (p *Provider) GetAddress(ctx context.Context, region, name string) (*providers.Address, error) {
	const op = "oci.GetAddress"
	if err := p.checkOpen(op); err != nil {
		return nil, err
	}
	if err := addressRegion(op, region); err != nil {
		return nil, err
	}
	c, err := p.regionClients(region)
	if err != nil {
		return nil, err
	}
	ip, err := p.findPublicIP(ctx, c, op, name)
	if err != nil {
		return nil, err
	}
	a := p.toAddress(region, *ip)
	return &a, nil
}

// ListAddresses returns the region's reserved public IPs whose freeform
// tags contain selector, sorted by name.
func (p *Provider) ListAddresses(ctx context.Context, region string, selector providers.Labels) ([]providers.Address, error) {
	const op = "oci.ListAddresses"
	if err := p.checkOpen(op); err != nil {
		return nil, err
	}
	if err := addressRegion(op, region); err != nil {
		return nil, err
	}
	c, err := p.regionClients(region)
	if err != nil {
		return nil, err
	}
	var out []providers.Address
	err = p.listPublicIPs(ctx, c, func(ip core.PublicIp) bool {
		if userLabels(ip.FreeformTags).Matches(selector) {
			out = append(out, p.toAddress(region, ip))
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b providers.Address) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ReleaseAddress deletes the reserved public IP (DeletePublicIp).
func (p *Provider) ReleaseAddress(ctx context.Context, region, name string) error {
	const op = "oci.ReleaseAddress"
	if err := p.checkOpen(op); err != nil {
		return err
	}
	if err := addressRegion(op, region); err != nil {
		return err
	}
	c, err := p.regionClients(region)
	if err != nil {
		return err
	}
	ip, err := p.findPublicIP(ctx, c, op, name)
	if err != nil {
		return err
	}
	return p.deleteCall(ctx, op, name, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.network.DeletePublicIp(ctx, core.DeletePublicIpRequest{PublicIpId: ip.Id})
		return r.RawResponse, err
	})
}
