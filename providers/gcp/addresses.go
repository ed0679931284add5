package gcp

import (
	"context"
	"fmt"
	"slices"
	"strings"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"

	"github.com/orocloud/orocloud-go/providers"
)

func addrResource(region, name string) string {
	if region == "" {
		return "global/" + name
	}
	return region + "/" + name
}

func fromAddress(a *computepb.Address) *providers.Address {
	return &providers.Address{
		AddressSpec: providers.AddressSpec{
			Name:        a.GetName(),
			Region:      lastSegment(a.GetRegion()),
			Description: a.GetDescription(),
			Labels:      providers.Labels(a.GetLabels()).Clone(),
		},
		ID: fmt.Sprint(a.GetId()),
		IP: a.GetAddress(),
	}
}

// ReserveAddress reserves a static external address: a regional one
// (Addresses.Insert) or, with Region "", a global one (GlobalAddresses), as a
// global load balancer needs. An existing address of the name with the same
// managed-by and environment labels is returned unchanged; another returns
// AlreadyExists.
func (p *Provider) ReserveAddress(ctx context.Context, spec providers.AddressSpec) (*providers.Address, error) {
	const op = "gcp.ReserveAddress"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	var problems []string
	if !providers.ValidName(spec.Name) {
		problems = append(problems, fmt.Sprintf("name: %q must be 1-63 lower case letters, digits or '-', starting with a letter", spec.Name))
	}
	problems = append(problems, labelProblems("labels", spec.Labels)...)
	res := addrResource(spec.Region, spec.Name)
	if err := invalid(op, res, problems); err != nil {
		return nil, err
	}
	body := &computepb.Address{Name: proto.String(spec.Name), Labels: spec.Labels.Clone()}
	if spec.Description != "" {
		body.Description = proto.String(spec.Description)
	}
	err := p.mutate(ctx, op, res, func(ctx context.Context, rid string) (*compute.Operation, error) {
		if spec.Region == "" {
			return p.globalAddresses.Insert(ctx, &computepb.InsertGlobalAddressRequest{Project: p.project, AddressResource: body, RequestId: proto.String(rid)}, p.noRetry...)
		}
		return p.addresses.Insert(ctx, &computepb.InsertAddressRequest{Project: p.project, Region: spec.Region, AddressResource: body, RequestId: proto.String(rid)}, p.noRetry...)
	})
	if err != nil && providers.Code(err) != providers.AlreadyExists {
		return nil, err
	}
	got, gerr := p.GetAddress(ctx, spec.Region, spec.Name)
	if gerr != nil {
		if err != nil {
			return nil, err
		}
		return nil, gerr
	}
	if err != nil && !sameOwner(got.Labels, spec.Labels) {
		return nil, &providers.Error{Code: providers.AlreadyExists, Op: op, Resource: res, Msg: "an address of that name exists and belongs to another owner", Err: err}
	}
	return got, nil
}

// GetAddress returns the address (global when region is "").
func (p *Provider) GetAddress(ctx context.Context, region, name string) (*providers.Address, error) {
	const op = "gcp.GetAddress"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "name: must not be empty"}
	}
	var a *computepb.Address
	err := p.call(ctx, op, addrResource(region, name), func(ctx context.Context) error {
		var err error
		if region == "" {
			a, err = p.globalAddresses.Get(ctx, &computepb.GetGlobalAddressRequest{Project: p.project, Address: name}, p.noRetry...)
		} else {
			a, err = p.addresses.Get(ctx, &computepb.GetAddressRequest{Project: p.project, Region: region, Address: name}, p.noRetry...)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return fromAddress(a), nil
}

// ListAddresses returns the addresses of region ("" for global) whose labels
// contain selector, sorted by name.
func (p *Provider) ListAddresses(ctx context.Context, region string, selector providers.Labels) ([]providers.Address, error) {
	const op = "gcp.ListAddresses"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	filter := labelFilter(selector)
	var out []providers.Address
	err := p.call(ctx, op, addrResource(region, ""), func(ctx context.Context) error {
		out = out[:0]
		var next func() (*computepb.Address, error)
		if region == "" {
			req := &computepb.ListGlobalAddressesRequest{Project: p.project}
			if filter != "" {
				req.Filter = proto.String(filter)
			}
			next = p.globalAddresses.List(ctx, req, p.noRetry...).Next
		} else {
			req := &computepb.ListAddressesRequest{Project: p.project, Region: region}
			if filter != "" {
				req.Filter = proto.String(filter)
			}
			next = p.addresses.List(ctx, req, p.noRetry...).Next
		}
		for {
			a, err := next()
			if err == iterator.Done {
				return nil
			}
			if err != nil {
				return err
			}
			if addr := fromAddress(a); addr.Labels.Matches(selector) {
				out = append(out, *addr)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b providers.Address) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ReleaseAddress releases the address (global when region is "").
func (p *Provider) ReleaseAddress(ctx context.Context, region, name string) error {
	const op = "gcp.ReleaseAddress"
	if err := p.check(ctx, op); err != nil {
		return err
	}
	if name == "" {
		return &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "name: must not be empty"}
	}
	return p.mutate(ctx, op, addrResource(region, name), func(ctx context.Context, rid string) (*compute.Operation, error) {
		if region == "" {
			return p.globalAddresses.Delete(ctx, &computepb.DeleteGlobalAddressRequest{Project: p.project, Address: name, RequestId: proto.String(rid)}, p.noRetry...)
		}
		return p.addresses.Delete(ctx, &computepb.DeleteAddressRequest{Project: p.project, Region: region, Address: name, RequestId: proto.String(rid)}, p.noRetry...)
	})
}
