package cloudflare

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/dns"

	"github.com/orocloud/orocloud-go/cdn"
	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/retry"
)

// PointHostname makes r.Name resolve to r.Content, whatever records the
// name had: it lists the name's records, deletes those that conflict with
// r (see cdn.RecordType.Conflicts) except one, updates that one in place
// (its type may change, CNAME to A for a DR switch) or creates the record
// when there is none, and reads it back to verify it. A create that races
// into "already exists" (Cloudflare codes 81053/81057) re-reads and
// updates. A record that reads back differently returns Unavailable after
// the retry policy's attempts. r.Zone defaults to Options.ZoneID; a bad
// record returns InvalidArgument before any call. A proxied record's TTL is
// automatic whatever r.TTL says, as Cloudflare sets it.
func (e *Edge) PointHostname(ctx context.Context, r cdn.Record) (*cdn.Record, error) {
	const op = "cloudflare.PointHostname"
	if r.Zone == "" {
		r.Zone = e.opts.ZoneID
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.Zone == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: op, Resource: r.Name, Msg: "zone: required (Record.Zone or Options.ZoneID)"}
	}
	r.Name = strings.ToLower(strings.TrimSuffix(r.Name, "."))
	if r.Proxied {
		r.TTL = 0 // Cloudflare answers proxied names itself: their TTL is always automatic
	}
	if r.Type == cdn.RecordCNAME {
		r.Content = strings.ToLower(strings.TrimSuffix(r.Content, "."))
	}
	return retry.Value(ctx, e.retry, func(ctx context.Context) (*cdn.Record, error) { return e.point(ctx, r) })
}

func (e *Edge) point(ctx context.Context, r cdn.Record) (*cdn.Record, error) {
	const op = "cloudflare.PointHostname"
	for range 3 {
		recs, err := e.listByName(ctx, r.Zone, r.Name)
		if err != nil {
			return nil, err
		}
		var keep *cdn.Record
		var drop []cdn.Record
		for _, o := range recs {
			if o.Type != r.Type && !r.Type.Conflicts(o.Type) {
				continue
			}
			switch {
			case keep == nil:
				keep = &o
			case o.Type == r.Type && keep.Type != r.Type:
				drop = append(drop, *keep)
				keep = &o
			default:
				drop = append(drop, o)
			}
		}
		for _, o := range drop {
			if err := e.deleteRecord(ctx, r.Zone, o.ID); err != nil && providers.Code(err) != providers.NotFound {
				return nil, err
			}
			e.log.InfoContext(ctx, "cloudflare: deleted conflicting record", "record", o.String())
		}
		var id string
		switch {
		case keep != nil && sameRecord(*keep, r) && len(drop) == 0:
			return keep, nil // just read, nothing written: nothing to verify
		case keep != nil && sameRecord(*keep, r):
			id = keep.ID
		case keep != nil:
			p := dns.RecordUpdateParams{Body: recordBody(r)}
			p.ZoneID.Value, p.ZoneID.Present = r.Zone, true
			_, err := e.records.Update(ctx, keep.ID, p)
			if err = classify(err, "cloudflare.UpdateRecord", r.Name); err != nil {
				if c := providers.Code(err); c == providers.NotFound || c == providers.AlreadyExists {
					continue // raced with another writer: read again
				}
				return nil, err
			}
			e.log.InfoContext(ctx, "cloudflare: updated record", "from", keep.String(), "to", r.String())
			id = keep.ID
		default:
			p := dns.RecordNewParams{Body: recordBody(r)}
			p.ZoneID.Value, p.ZoneID.Present = r.Zone, true
			res, err := e.records.New(ctx, p)
			if err = classify(err, "cloudflare.CreateRecord", r.Name); err != nil {
				if providers.Code(err) == providers.AlreadyExists {
					e.log.InfoContext(ctx, "cloudflare: record appeared meanwhile; updating it", "record", r.String())
					continue
				}
				return nil, err
			}
			e.log.InfoContext(ctx, "cloudflare: created record", "record", r.String())
			id = res.ID
		}
		got, err := e.getRecord(ctx, r.Zone, id)
		if err != nil {
			if providers.Code(err) == providers.NotFound {
				continue
			}
			return nil, err
		}
		if !sameRecord(*got, r) {
			return nil, &providers.Error{Code: providers.Unavailable, Op: op, Resource: r.Name,
				Msg: fmt.Sprintf("verification failed: read back %q, want %q", got.String(), r.String())}
		}
		return got, nil
	}
	return nil, &providers.Error{Code: providers.Unavailable, Op: op, Resource: r.Name,
		Msg: "the name's records kept changing under concurrent writers"}
}

// LookupRecord returns the record of name and type in zone (Options.ZoneID
// when empty). A missing record returns NotFound.
func (e *Edge) LookupRecord(ctx context.Context, zone, name string, typ cdn.RecordType) (*cdn.Record, error) {
	if zone == "" {
		zone = e.opts.ZoneID
	}
	if zone == "" || name == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: "cloudflare.LookupRecord", Resource: name, Msg: "zone and name are required"}
	}
	recs, err := retry.Value(ctx, e.retry, func(ctx context.Context) ([]cdn.Record, error) { return e.listByName(ctx, zone, name) })
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Type == typ {
			return &r, nil
		}
	}
	return nil, &providers.Error{Code: providers.NotFound, Op: "cloudflare.LookupRecord", Resource: name, Msg: fmt.Sprintf("no %s record", typ)}
}

// listByName returns every record of name, following pages.
func (e *Edge) listByName(ctx context.Context, zone, name string) ([]cdn.Record, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	var out []cdn.Record
	for page := 1; ; page++ {
		p := dns.RecordListParams{}
		p.ZoneID.Value, p.ZoneID.Present = zone, true
		n := dns.RecordListParamsName{}
		n.Exact.Value, n.Exact.Present = name, true
		p.Name.Value, p.Name.Present = n, true
		p.Page.Value, p.Page.Present = float64(page), true
		p.PerPage.Value, p.PerPage.Present = pageSize, true
		res, err := e.records.List(ctx, p)
		if err != nil {
			return nil, classify(err, "cloudflare.ListRecords", name)
		}
		for _, r := range res.Result {
			if cdn.SameHost(r.Name, name) {
				out = append(out, fromResponse(zone, r))
			}
		}
		if lastPage(len(res.Result), res.ResultInfo.PerPage) {
			return out, nil
		}
	}
}

func (e *Edge) getRecord(ctx context.Context, zone, id string) (*cdn.Record, error) {
	p := dns.RecordGetParams{}
	p.ZoneID.Value, p.ZoneID.Present = zone, true
	res, err := e.records.Get(ctx, id, p)
	if err != nil {
		return nil, classify(err, "cloudflare.GetRecord", id)
	}
	r := fromResponse(zone, *res)
	return &r, nil
}

func (e *Edge) deleteRecord(ctx context.Context, zone, id string) error {
	p := dns.RecordDeleteParams{}
	p.ZoneID.Value, p.ZoneID.Present = zone, true
	_, err := e.records.Delete(ctx, id, p)
	return classify(err, "cloudflare.DeleteRecord", id)
}

func fromResponse(zone string, r dns.RecordResponse) cdn.Record {
	out := cdn.Record{Zone: zone, ID: r.ID, Name: r.Name, Type: cdn.RecordType(r.Type), Content: r.Content, Proxied: r.Proxied}
	if r.TTL > 1 {
		out.TTL = time.Duration(r.TTL) * time.Second
	}
	return out
}

func ttlOf(r cdn.Record) dns.TTL {
	if r.TTL <= 0 {
		return dns.TTL1
	}
	return dns.TTL(r.TTL.Round(time.Second).Seconds())
}

// sameRecord reports whether have already is want.
func sameRecord(have, want cdn.Record) bool {
	content := have.Content == want.Content
	if want.Type == cdn.RecordCNAME {
		content = cdn.SameHost(have.Content, want.Content)
	}
	return have.Type == want.Type && cdn.SameHost(have.Name, want.Name) && content &&
		have.Proxied == want.Proxied && ttlOf(have) == ttlOf(want)
}

// recordBody builds the SDK's body for r; it implements both the create
// and the update body unions.
func recordBody(r cdn.Record) interface {
	dns.RecordNewParamsBodyUnion
	dns.RecordUpdateParamsBodyUnion
} {
	switch r.Type {
	case cdn.RecordA:
		b := dns.ARecordParam{}
		b.Name.Value, b.Name.Present = r.Name, true
		b.Type.Value, b.Type.Present = dns.ARecordTypeA, true
		b.Content.Value, b.Content.Present = r.Content, true
		b.Proxied.Value, b.Proxied.Present = r.Proxied, true
		b.TTL.Value, b.TTL.Present = ttlOf(r), true
		return b
	case cdn.RecordAAAA:
		b := dns.AAAARecordParam{}
		b.Name.Value, b.Name.Present = r.Name, true
		b.Type.Value, b.Type.Present = dns.AAAARecordTypeAAAA, true
		b.Content.Value, b.Content.Present = r.Content, true
		b.Proxied.Value, b.Proxied.Present = r.Proxied, true
		b.TTL.Value, b.TTL.Present = ttlOf(r), true
		return b
	default:
		b := dns.CNAMERecordParam{}
		b.Name.Value, b.Name.Present = r.Name, true
		b.Type.Value, b.Type.Present = dns.CNAMERecordTypeCNAME, true
		b.Content.Value, b.Content.Present = r.Content, true
		b.Proxied.Value, b.Proxied.Present = r.Proxied, true
		b.TTL.Value, b.TTL.Present = ttlOf(r), true
		return b
	}
}
