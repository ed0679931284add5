package oci

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/identity"

	"github.com/orocloud/orocloud-go/providers"
)

// ListZones returns the availability domains of region (identity
// ListAvailabilityDomains), each with its fault domains (ListFaultDomains,
// fetched in parallel), sorted by name. OCI reports no AD as down, so every
// zone has Up true. An unknown region is NotFound, an empty one
// InvalidArgument.
func (p *Provider) ListZones(ctx context.Context, region string) ([]providers.Zone, error) {
	const op = "oci.ListZones"
	if err := p.checkOpen(op); err != nil {
		return nil, err
	}
	c, err := p.regionClients(region)
	if err != nil {
		return nil, err
	}
	var ads []identity.AvailabilityDomain
	err = p.call(ctx, op, region, func(ctx context.Context) (*httpResponse, error) {
		r, err := c.identity.ListAvailabilityDomains(ctx, identity.ListAvailabilityDomainsRequest{CompartmentId: common.String(p.compartment)})
		ads = r.Items
		return r.RawResponse, err
	})
	if err != nil {
		return nil, err
	}
	zones := make([]providers.Zone, len(ads))
	errs := make([]error, len(ads))
	var wg sync.WaitGroup
	for i, ad := range ads {
		name := deref(ad.Name)
		zones[i] = providers.Zone{Name: name, Region: region, Up: true}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var fds []identity.FaultDomain
			errs[i] = p.call(ctx, "oci.ListFaultDomains", name, func(ctx context.Context) (*httpResponse, error) {
				r, err := c.identity.ListFaultDomains(ctx, identity.ListFaultDomainsRequest{
					CompartmentId: common.String(p.compartment), AvailabilityDomain: common.String(name)})
				fds = r.Items
				return r.RawResponse, err
			})
			for _, fd := range fds {
				zones[i].FaultDomains = append(zones[i].FaultDomains, deref(fd.Name))
			}
			slices.Sort(zones[i].FaultDomains)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(zones, func(a, b providers.Zone) int { return strings.Compare(a.Name, b.Name) })
	return zones, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
