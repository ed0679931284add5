package gcp

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"

	"github.com/orocloud/orocloud-go/providers"
)

var regionRE = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+$`)

// ListZones lists the zones of region with one Zones.List call filtered by
// region (`region eq .*/regions/REGION`), sorted by name; zones whose
// status is not UP have Up false. A region with no zones returns NotFound.
func (p *Provider) ListZones(ctx context.Context, region string) ([]providers.Zone, error) {
	const op = "gcp.ListZones"
	if err := p.check(ctx, op); err != nil {
		return nil, err
	}
	if region == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Msg: "region: must not be empty"}
	}
	if !regionRE.MatchString(region) {
		return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: region, Msg: "not a GCP region name"}
	}
	var zones []providers.Zone
	err := p.call(ctx, op, region, func(ctx context.Context) error {
		zones = zones[:0]
		it := p.zones.List(ctx, &computepb.ListZonesRequest{Project: p.project, Filter: proto.String(fmt.Sprintf("region eq .*/regions/%s", region))}, p.noRetry...)
		for {
			z, err := it.Next()
			if err == iterator.Done {
				return nil
			}
			if err != nil {
				return err
			}
			if lastSegment(z.GetRegion()) != region {
				continue
			}
			zones = append(zones, providers.Zone{Name: z.GetName(), Region: region, Up: z.GetStatus() == "UP"})
		}
	})
	if err != nil {
		return nil, err
	}
	if len(zones) == 0 {
		return nil, &providers.Error{Code: providers.NotFound, Op: op, Resource: region, Msg: "no zones: unknown region"}
	}
	slices.SortFunc(zones, func(a, b providers.Zone) int { return strings.Compare(a.Name, b.Name) })
	names := make([]string, len(zones))
	for i, z := range zones {
		names[i] = z.Name
	}
	p.mu.Lock()
	p.zoneOf[region] = names
	p.mu.Unlock()
	return zones, nil
}

// zoneNames returns the zones of region, cached (zones do not move between
// regions; their status is read by ListZones only).
func (p *Provider) zoneNames(ctx context.Context, region string) ([]string, error) {
	p.mu.Lock()
	names, ok := p.zoneOf[region]
	p.mu.Unlock()
	if ok {
		return names, nil
	}
	zones, err := p.ListZones(ctx, region)
	if err != nil {
		return nil, err
	}
	names = make([]string, len(zones))
	for i, z := range zones {
		names[i] = z.Name
	}
	return names, nil
}
