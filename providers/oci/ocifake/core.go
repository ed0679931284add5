package ocifake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/core"
	"github.com/oracle/oci-go-sdk/v65/identity"
)

type instance struct {
	core.Instance
	since time.Time // when the current transitional state began
	vnic  string
}

type nsg struct {
	core.NetworkSecurityGroup
	rules []core.SecurityRule
}

type regionState struct {
	vnicVersion map[string]int
	region      string
	ads         []string
	instances   []*instance
	vnics       map[string]*core.Vnic
	attachments []*core.VnicAttachment
	publicIPs   []*core.PublicIp
	nsgs        []*nsg
	buckets     map[string]*bucket
	ipSeq       int
}

func newRegionState(region string) *regionState {
	return &regionState{region: region, vnics: map[string]*core.Vnic{}, buckets: map[string]*bucket{}, vnicVersion: map[string]int{}}
}

func (s *Server) adsOf(region string) []string {
	n := s.opts.ADs
	if slices.Contains(s.opts.SingleAD, region) {
		n = 1
	}
	out := make([]string, n)
	for i := range out {
		out[i] = ADName(region, i+1)
	}
	return out
}

func (s *Server) fdsOf() []string {
	out := make([]string, s.opts.FaultDomains)
	for i := range out {
		out[i] = fmt.Sprintf("FAULT-DOMAIN-%d", i+1)
	}
	return out
}

func unescapeSegs(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	raw := strings.Split(p, "/")
	out := make([]string, len(raw))
	for i, r := range raw {
		u, err := url.PathUnescape(r)
		if err != nil {
			u = r
		}
		out[i] = u
	}
	return out
}

func notFound(what string) response {
	return errResp(404, "NotAuthorizedOrNotFound", what+" not found or not authorized")
}

func (s *Server) route(c *call) func() response {
	p := c.req.URL.EscapedPath()
	m := c.req.Method
	if strings.HasPrefix(p, "/n") {
		return s.routeStorage(c, p)
	}
	if !strings.HasPrefix(p, "/20160918/") {
		c.op = "Unknown"
		return func() response { return errResp(404, "NotFound", "unknown path "+p) }
	}
	c.segs = unescapeSegs(strings.TrimPrefix(p, "/20160918/"))
	seg := c.segs
	n := len(seg)
	at := func(i int) string {
		if i < n {
			return seg[i]
		}
		return ""
	}
	switch {
	case m == http.MethodGet && n == 1 && seg[0] == "availabilityDomains":
		c.op = "ListAvailabilityDomains"
		return func() response { return s.listADs(c) }
	case m == http.MethodGet && n == 1 && seg[0] == "faultDomains":
		c.op = "ListFaultDomains"
		return func() response { return s.listFDs(c) }
	case at(0) == "instances" && n == 1 && m == http.MethodPost:
		c.op = "LaunchInstance"
		return func() response { return s.withToken(c, func() response { return s.launch(c) }) }
	case at(0) == "instances" && n == 1 && m == http.MethodGet:
		c.op = "ListInstances"
		return func() response { return s.listInstances(c) }
	case at(0) == "instances" && n == 2 && m == http.MethodGet:
		c.op = "GetInstance"
		return func() response { return s.getInstance(c, seg[1]) }
	case at(0) == "instances" && n == 2 && m == http.MethodPut:
		c.op = "UpdateInstance"
		return func() response { return s.updateInstance(c, seg[1]) }
	case at(0) == "instances" && n == 2 && m == http.MethodPost:
		c.op = "InstanceAction"
		return func() response { return s.instanceAction(c, seg[1]) }
	case at(0) == "instances" && n == 2 && m == http.MethodDelete:
		c.op = "TerminateInstance"
		return func() response { return s.terminate(c, seg[1]) }
	case at(0) == "vnicAttachments" && n == 1 && m == http.MethodGet:
		c.op = "ListVnicAttachments"
		return func() response { return s.listAttachments(c) }
	case at(0) == "vnics" && n == 2 && m == http.MethodGet:
		c.op = "GetVnic"
		return func() response { return s.getVnic(c, seg[1]) }
	case at(0) == "vnics" && n == 2 && m == http.MethodPut:
		c.op = "UpdateVnic"
		return func() response { return s.updateVnic(c, seg[1]) }
	case at(0) == "privateIps" && n == 1 && m == http.MethodGet:
		c.op = "ListPrivateIps"
		return func() response { return s.listPrivateIPs(c) }
	case at(0) == "publicIps" && n == 1 && m == http.MethodPost:
		c.op = "CreatePublicIp"
		return func() response { return s.withToken(c, func() response { return s.createPublicIP(c) }) }
	case at(0) == "publicIps" && n == 1 && m == http.MethodGet:
		c.op = "ListPublicIps"
		return func() response { return s.listPublicIPs(c) }
	case at(0) == "publicIps" && n == 2 && m == http.MethodGet:
		c.op = "GetPublicIp"
		return func() response { return s.getPublicIP(c, seg[1]) }
	case at(0) == "publicIps" && n == 2 && m == http.MethodDelete:
		c.op = "DeletePublicIp"
		return func() response { return s.deletePublicIP(c, seg[1]) }
	case at(0) == "networkSecurityGroups" && n == 1 && m == http.MethodPost:
		c.op = "CreateNetworkSecurityGroup"
		return func() response { return s.withToken(c, func() response { return s.createNSG(c) }) }
	case at(0) == "networkSecurityGroups" && n == 1 && m == http.MethodGet:
		c.op = "ListNetworkSecurityGroups"
		return func() response { return s.listNSGs(c) }
	case at(0) == "networkSecurityGroups" && n == 2 && m == http.MethodGet:
		c.op = "GetNetworkSecurityGroup"
		return func() response { return s.getNSG(c, seg[1]) }
	case at(0) == "networkSecurityGroups" && n == 2 && m == http.MethodDelete:
		c.op = "DeleteNetworkSecurityGroup"
		return func() response { return s.deleteNSG(c, seg[1]) }
	case at(0) == "networkSecurityGroups" && n == 4 && m == http.MethodPost && seg[2] == "actions" && seg[3] == "addSecurityRules":
		c.op = "AddNetworkSecurityGroupSecurityRules"
		return func() response { return s.addRules(c, seg[1]) }
	case at(0) == "networkSecurityGroups" && n == 3 && m == http.MethodGet && seg[2] == "securityRules":
		c.op = "ListNetworkSecurityGroupSecurityRules"
		return func() response { return s.listRules(c, seg[1]) }
	case at(0) == "networkSecurityGroups" && n == 3 && m == http.MethodGet && seg[2] == "vnics":
		c.op = "ListNetworkSecurityGroupVnics"
		return func() response { return s.listNSGVnics(c, seg[1]) }
	}
	c.op = "Unknown"
	return func() response { return errResp(404, "NotFound", "the fake does not serve "+m+" "+p) }
}

func (s *Server) st(c *call) *regionState { return s.state[c.region] }

func (s *Server) listADs(c *call) response {
	if c.q("compartmentId") == "" {
		return errResp(400, "MissingParameter", "compartmentId is required")
	}
	var out []identity.AvailabilityDomain
	for _, ad := range s.adsOf(c.region) {
		out = append(out, identity.AvailabilityDomain{Name: common.String(ad), Id: common.String("ocid1.availabilitydomain." + ad),
			CompartmentId: common.String(c.q("compartmentId"))})
	}
	return jsonResp(200, out)
}

func (s *Server) listFDs(c *call) response {
	ad := c.q("availabilityDomain")
	if !slices.Contains(s.adsOf(c.region), ad) {
		return errResp(400, "InvalidParameter", "unknown availabilityDomain "+ad)
	}
	var out []identity.FaultDomain
	for _, fd := range s.fdsOf() {
		out = append(out, identity.FaultDomain{Name: common.String(fd), Id: common.String("ocid1.faultdomain." + ad + "." + fd),
			CompartmentId: common.String(c.q("compartmentId")), AvailabilityDomain: common.String(ad)})
	}
	return jsonResp(200, out)
}

// advance moves an instance through its lifecycle once the transition
// delay has passed. Called with s.mu held.
func (s *Server) advance(in *instance, now time.Time) {
	if now.Sub(in.since) < s.opts.TransitionDelay {
		return
	}
	switch in.LifecycleState {
	case core.InstanceLifecycleStateProvisioning, core.InstanceLifecycleStateStarting:
		in.LifecycleState = core.InstanceLifecycleStateRunning
	case core.InstanceLifecycleStateStopping:
		in.LifecycleState = core.InstanceLifecycleStateStopped
	case core.InstanceLifecycleStateTerminating:
		in.LifecycleState = core.InstanceLifecycleStateTerminated
	}
}

func (s *Server) setState(in *instance, st core.InstanceLifecycleStateEnum, now time.Time) {
	in.LifecycleState = st
	in.since = now
}

func badRequest(msg string) response { return errResp(400, "InvalidParameter", msg) }

func (s *Server) launch(c *call) response {
	var d core.LaunchInstanceDetails
	if err := json.Unmarshal(c.body, &d); err != nil {
		return errResp(400, "InvalidParameter", "malformed body: "+err.Error())
	}
	var problems []string
	if d.CompartmentId == nil || *d.CompartmentId == "" {
		problems = append(problems, "compartmentId is required")
	}
	ad := ""
	if d.AvailabilityDomain != nil {
		ad = *d.AvailabilityDomain
	}
	if !slices.Contains(s.adsOf(c.region), ad) {
		problems = append(problems, fmt.Sprintf("availabilityDomain %q does not exist in %s", ad, c.region))
	}
	if d.FaultDomain != nil && !slices.Contains(s.fdsOf(), *d.FaultDomain) {
		problems = append(problems, fmt.Sprintf("faultDomain %q does not exist", *d.FaultDomain))
	}
	if d.Shape == nil || *d.Shape == "" {
		problems = append(problems, "shape is required")
	} else if strings.HasSuffix(*d.Shape, ".Flex") && (d.ShapeConfig == nil || d.ShapeConfig.Ocpus == nil) {
		problems = append(problems, "shapeConfig.ocpus is required for flexible shapes")
	}
	src, ok := d.SourceDetails.(core.InstanceSourceViaImageDetails)
	if !ok || src.ImageId == nil || *src.ImageId == "" {
		problems = append(problems, "sourceDetails with an imageId is required")
	}
	subnet := ""
	if d.CreateVnicDetails != nil && d.CreateVnicDetails.SubnetId != nil {
		subnet = *d.CreateVnicDetails.SubnetId
	} else if d.SubnetId != nil {
		subnet = *d.SubnetId
	}
	if subnet == "" {
		problems = append(problems, "createVnicDetails.subnetId is required")
	}
	if len(problems) > 0 {
		return badRequest(strings.Join(problems, "; "))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st(c)
	if d.CreateVnicDetails != nil {
		for _, id := range d.CreateVnicDetails.NsgIds {
			if st.findNSG(id) == nil {
				return notFound("networkSecurityGroup " + id)
			}
		}
	}
	fd := d.FaultDomain
	if fd == nil {
		fd = common.String(s.fdsOf()[len(st.instances)%s.opts.FaultDomains])
	}
	id := s.nextID("instance", c.region)
	in := &instance{Instance: core.Instance{
		Id: common.String(id), AvailabilityDomain: d.AvailabilityDomain, CompartmentId: d.CompartmentId,
		DisplayName: d.DisplayName, FaultDomain: fd, FreeformTags: d.FreeformTags, Metadata: d.Metadata,
		Region: common.String(c.region), Shape: d.Shape, SourceDetails: src, ImageId: src.ImageId,
		TimeCreated: &common.SDKTime{Time: c.now.UTC()},
	}}
	if d.DisplayName == nil {
		in.DisplayName = common.String(id)
	}
	if d.ShapeConfig != nil {
		in.ShapeConfig = &core.InstanceShapeConfig{Ocpus: d.ShapeConfig.Ocpus, MemoryInGBs: d.ShapeConfig.MemoryInGBs}
	}
	s.setState(in, core.InstanceLifecycleStateProvisioning, c.now)
	st.ipSeq++
	vnic := &core.Vnic{Id: common.String(s.nextID("vnic", c.region)), AvailabilityDomain: d.AvailabilityDomain,
		CompartmentId: d.CompartmentId, LifecycleState: core.VnicLifecycleStateAvailable, IsPrimary: common.Bool(true),
		SubnetId: common.String(subnet), PrivateIp: common.String(fmt.Sprintf("10.0.%d.%d", st.ipSeq/250, st.ipSeq%250+2)),
		NsgIds: []string{}, TimeCreated: &common.SDKTime{Time: c.now.UTC()}}
	if d.CreateVnicDetails != nil && d.CreateVnicDetails.NsgIds != nil {
		vnic.NsgIds = slices.Clone(d.CreateVnicDetails.NsgIds)
	}
	st.vnics[*vnic.Id] = vnic
	in.vnic = *vnic.Id
	st.attachments = append(st.attachments, &core.VnicAttachment{Id: common.String(s.nextID("vnicattachment", c.region)),
		AvailabilityDomain: d.AvailabilityDomain, CompartmentId: d.CompartmentId, InstanceId: common.String(id),
		LifecycleState: core.VnicAttachmentLifecycleStateAttached, VnicId: vnic.Id, SubnetId: common.String(subnet),
		TimeCreated: &common.SDKTime{Time: c.now.UTC()}})
	st.instances = append(st.instances, in)
	return jsonResp(200, in.Instance).withHeader("etag", etagOf(id, c.now))
}

func etagOf(id string, t time.Time) string { return fmt.Sprintf("%x", []byte(id+t.String()))[:32] }

func (st *regionState) findInstance(id string) *instance {
	for _, in := range st.instances {
		if *in.Id == id {
			return in
		}
	}
	return nil
}

func (s *Server) listInstances(c *call) response {
	if c.q("compartmentId") == "" {
		return errResp(400, "MissingParameter", "compartmentId is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []core.Instance
	for _, in := range s.st(c).instances {
		s.advance(in, c.now)
		if *in.CompartmentId != c.q("compartmentId") {
			continue
		}
		if v := c.q("availabilityDomain"); v != "" && *in.AvailabilityDomain != v {
			continue
		}
		if v := c.q("displayName"); v != "" && *in.DisplayName != v {
			continue
		}
		if v := c.q("lifecycleState"); v != "" && string(in.LifecycleState) != v {
			continue
		}
		out = append(out, in.Instance)
	}
	return listResp(s, c, out)
}

func (s *Server) getInstance(c *call, id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.st(c).findInstance(id)
	if in == nil {
		return notFound("instance " + id)
	}
	s.advance(in, c.now)
	return jsonResp(200, in.Instance)
}

func (s *Server) updateInstance(c *call, id string) response {
	var d core.UpdateInstanceDetails
	if err := json.Unmarshal(c.body, &d); err != nil {
		return badRequest("malformed body: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.st(c).findInstance(id)
	if in == nil {
		return notFound("instance " + id)
	}
	s.advance(in, c.now)
	if in.LifecycleState == core.InstanceLifecycleStateTerminated || in.LifecycleState == core.InstanceLifecycleStateTerminating {
		return errResp(409, "IncorrectState", "instance is "+string(in.LifecycleState))
	}
	if d.Metadata != nil {
		for _, k := range []string{"user_data", "ssh_authorized_keys"} {
			if in.Metadata[k] != d.Metadata[k] {
				return badRequest(k + " cannot be changed after launch")
			}
		}
		in.Metadata = d.Metadata
	}
	if d.FreeformTags != nil {
		in.FreeformTags = d.FreeformTags
	}
	if d.DisplayName != nil {
		in.DisplayName = d.DisplayName
	}
	return jsonResp(200, in.Instance)
}

func (s *Server) instanceAction(c *call, id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.st(c).findInstance(id)
	if in == nil {
		return notFound("instance " + id)
	}
	s.advance(in, c.now)
	action := c.q("action")
	switch action {
	case "STOP", "SOFTSTOP":
		switch in.LifecycleState {
		case core.InstanceLifecycleStateRunning:
			s.setState(in, core.InstanceLifecycleStateStopping, c.now)
		case core.InstanceLifecycleStateStopping, core.InstanceLifecycleStateStopped:
		default:
			return errResp(409, "IncorrectState", "cannot stop an instance that is "+string(in.LifecycleState))
		}
	case "START":
		switch in.LifecycleState {
		case core.InstanceLifecycleStateStopped:
			s.setState(in, core.InstanceLifecycleStateStarting, c.now)
		case core.InstanceLifecycleStateRunning, core.InstanceLifecycleStateStarting:
		default:
			return errResp(409, "IncorrectState", "cannot start an instance that is "+string(in.LifecycleState))
		}
	case "RESET", "SOFTRESET":
		if in.LifecycleState != core.InstanceLifecycleStateRunning {
			return errResp(409, "IncorrectState", "cannot reset an instance that is "+string(in.LifecycleState))
		}
	default:
		return badRequest("unknown action " + action)
	}
	return jsonResp(200, in.Instance)
}

func (s *Server) terminate(c *call, id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st(c)
	in := st.findInstance(id)
	if in == nil {
		return notFound("instance " + id)
	}
	s.advance(in, c.now)
	switch in.LifecycleState {
	case core.InstanceLifecycleStateTerminated:
		return notFound("instance " + id)
	case core.InstanceLifecycleStateTerminating:
	default:
		s.setState(in, core.InstanceLifecycleStateTerminating, c.now)
	}
	for _, a := range st.attachments {
		if *a.InstanceId == id {
			a.LifecycleState = core.VnicAttachmentLifecycleStateDetached
			delete(st.vnics, *a.VnicId)
		}
	}
	return response{status: 204}
}

func (s *Server) listAttachments(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []core.VnicAttachment
	for _, a := range s.st(c).attachments {
		if *a.CompartmentId != c.q("compartmentId") {
			continue
		}
		if v := c.q("instanceId"); v != "" && *a.InstanceId != v {
			continue
		}
		out = append(out, *a)
	}
	return listResp(s, c, out)
}

func (s *Server) getVnic(c *call, id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st(c)
	v, ok := st.vnics[id]
	if !ok {
		return notFound("vnic " + id)
	}
	return jsonResp(200, v).withHeader("etag", vnicEtag(st, id))
}

func vnicEtag(st *regionState, id string) string { return fmt.Sprintf("v%d", st.vnicVersion[id]) }

func (s *Server) updateVnic(c *call, id string) response {
	var d core.UpdateVnicDetails
	if err := json.Unmarshal(c.body, &d); err != nil {
		return badRequest("malformed body: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st(c)
	v, ok := st.vnics[id]
	if !ok {
		return notFound("vnic " + id)
	}
	if m := c.req.Header.Get("if-match"); m != "" && m != vnicEtag(st, id) {
		return errResp(412, "NoEtagMatch", "the VNIC changed since it was read")
	}
	st.vnicVersion[id]++
	if d.NsgIds != nil {
		if len(d.NsgIds) > 5 {
			return badRequest("a VNIC can be in at most 5 network security groups")
		}
		for _, n := range d.NsgIds {
			if st.findNSG(n) == nil {
				return notFound("networkSecurityGroup " + n)
			}
		}
		v.NsgIds = slices.Clone(d.NsgIds)
	}
	if d.FreeformTags != nil {
		v.FreeformTags = d.FreeformTags
	}
	return jsonResp(200, v).withHeader("etag", vnicEtag(st, id))
}

func (s *Server) createPublicIP(c *call) response {
	var d core.CreatePublicIpDetails
	if err := json.Unmarshal(c.body, &d); err != nil {
		return badRequest("malformed body: " + err.Error())
	}
	if d.CompartmentId == nil || d.Lifetime == "" {
		return badRequest("compartmentId and lifetime are required")
	}
	if d.Lifetime != core.CreatePublicIpDetailsLifetimeReserved {
		return badRequest("the fake only creates RESERVED public IPs")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st(c)
	st.ipSeq++
	ip := &core.PublicIp{Id: common.String(s.nextID("publicip", c.region)), CompartmentId: d.CompartmentId,
		DisplayName: d.DisplayName, FreeformTags: d.FreeformTags, Lifetime: core.PublicIpLifetimeReserved,
		LifecycleState: core.PublicIpLifecycleStateAvailable, Scope: core.PublicIpScopeRegion,
		IpAddress:   common.String(fmt.Sprintf("203.0.%d.%d", 113+st.ipSeq/250, st.ipSeq%250+1)),
		TimeCreated: &common.SDKTime{Time: c.now.UTC()}}
	st.publicIPs = append(st.publicIPs, ip)
	return jsonResp(200, ip)
}

func (s *Server) listPublicIPs(c *call) response {
	if c.q("scope") == "" || c.q("compartmentId") == "" {
		return errResp(400, "MissingParameter", "scope and compartmentId are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []core.PublicIp
	for _, ip := range s.st(c).publicIPs {
		if *ip.CompartmentId != c.q("compartmentId") || string(ip.Scope) != c.q("scope") {
			continue
		}
		if v := c.q("lifetime"); v != "" && string(ip.Lifetime) != v {
			continue
		}
		out = append(out, *ip)
	}
	return listResp(s, c, out)
}

func (st *regionState) findPublicIP(id string) (int, *core.PublicIp) {
	for i, ip := range st.publicIPs {
		if *ip.Id == id {
			return i, ip
		}
	}
	return -1, nil
}

func (s *Server) getPublicIP(c *call, id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ip := s.st(c).findPublicIP(id)
	if ip == nil {
		return notFound("publicIp " + id)
	}
	return jsonResp(200, ip)
}

func (s *Server) deletePublicIP(c *call, id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st(c)
	i, ip := st.findPublicIP(id)
	if ip == nil {
		return notFound("publicIp " + id)
	}
	st.publicIPs = slices.Delete(st.publicIPs, i, i+1)
	return response{status: 204}
}

func (st *regionState) findNSG(id string) *nsg {
	for _, g := range st.nsgs {
		if *g.Id == id {
			return g
		}
	}
	return nil
}

func (s *Server) createNSG(c *call) response {
	var d core.CreateNetworkSecurityGroupDetails
	if err := json.Unmarshal(c.body, &d); err != nil {
		return badRequest("malformed body: " + err.Error())
	}
	if d.CompartmentId == nil || d.VcnId == nil {
		return badRequest("compartmentId and vcnId are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st(c)
	g := &nsg{NetworkSecurityGroup: core.NetworkSecurityGroup{Id: common.String(s.nextID("networksecuritygroup", c.region)),
		CompartmentId: d.CompartmentId, VcnId: d.VcnId, DisplayName: d.DisplayName, FreeformTags: d.FreeformTags,
		LifecycleState: core.NetworkSecurityGroupLifecycleStateAvailable, TimeCreated: &common.SDKTime{Time: c.now.UTC()}}}
	st.nsgs = append(st.nsgs, g)
	return jsonResp(200, g.NetworkSecurityGroup)
}

func (s *Server) listNSGs(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []core.NetworkSecurityGroup
	for _, g := range s.st(c).nsgs {
		if v := c.q("compartmentId"); v != "" && *g.CompartmentId != v {
			continue
		}
		if v := c.q("vcnId"); v != "" && *g.VcnId != v {
			continue
		}
		if v := c.q("displayName"); v != "" && deref(g.DisplayName) != v {
			continue
		}
		out = append(out, g.NetworkSecurityGroup)
	}
	return listResp(s, c, out)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) getNSG(c *call, id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st(c).findNSG(id)
	if g == nil {
		return notFound("networkSecurityGroup " + id)
	}
	return jsonResp(200, g.NetworkSecurityGroup)
}

func (s *Server) deleteNSG(c *call, id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st(c)
	g := st.findNSG(id)
	if g == nil {
		return notFound("networkSecurityGroup " + id)
	}
	for _, v := range st.vnics {
		if slices.Contains(v.NsgIds, id) {
			return errResp(409, "Conflict", "the network security group still has VNICs; remove them first")
		}
	}
	st.nsgs = slices.DeleteFunc(st.nsgs, func(x *nsg) bool { return x == g })
	return response{status: 204}
}

func (s *Server) addRules(c *call, id string) response {
	var d core.AddNetworkSecurityGroupSecurityRulesDetails
	if err := json.Unmarshal(c.body, &d); err != nil {
		return badRequest("malformed body: " + err.Error())
	}
	if len(d.SecurityRules) > 25 {
		return badRequest("at most 25 security rules per request")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st(c).findNSG(id)
	if g == nil {
		return notFound("networkSecurityGroup " + id)
	}
	var added []core.SecurityRule
	for _, r := range d.SecurityRules {
		if r.Protocol == nil || r.Direction == "" {
			return badRequest("direction and protocol are required")
		}
		sr := core.SecurityRule{Id: common.String(fmt.Sprintf("%06d", len(g.rules)+1)), Direction: core.SecurityRuleDirectionEnum(r.Direction),
			Protocol: r.Protocol, Description: r.Description, Source: r.Source, SourceType: core.SecurityRuleSourceTypeEnum(r.SourceType),
			IsStateless: r.IsStateless, TcpOptions: r.TcpOptions, UdpOptions: r.UdpOptions, IsValid: common.Bool(true),
			TimeCreated: &common.SDKTime{Time: c.now.UTC()}}
		g.rules = append(g.rules, sr)
		added = append(added, sr)
	}
	return jsonResp(200, core.AddedNetworkSecurityGroupSecurityRules{SecurityRules: added})
}

func (s *Server) listRules(c *call, id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st(c).findNSG(id)
	if g == nil {
		return notFound("networkSecurityGroup " + id)
	}
	return listResp(s, c, slices.Clone(g.rules))
}

func (s *Server) listNSGVnics(c *call, id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st(c)
	if st.findNSG(id) == nil {
		return notFound("networkSecurityGroup " + id)
	}
	var out []core.NetworkSecurityGroupVnic
	for _, a := range st.attachments {
		v, ok := st.vnics[*a.VnicId]
		if ok && slices.Contains(v.NsgIds, id) {
			out = append(out, core.NetworkSecurityGroupVnic{VnicId: v.Id, ResourceId: a.InstanceId})
		}
	}
	return listResp(s, c, out)
}

func (s *Server) listPrivateIPs(c *call) response {
	subnet, vnicID := c.q("subnetId"), c.q("vnicId")
	if subnet == "" && vnicID == "" {
		return errResp(400, "MissingParameter", "one of subnetId, vnicId is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []core.PrivateIp
	for _, a := range s.st(c).attachments { // in creation order
		v, ok := s.st(c).vnics[*a.VnicId]
		if !ok || (subnet != "" && deref(v.SubnetId) != subnet) || (vnicID != "" && *v.Id != vnicID) {
			continue
		}
		out = append(out, core.PrivateIp{Id: common.String("ocid1.privateip." + *v.Id), VnicId: v.Id, IpAddress: v.PrivateIp,
			SubnetId: v.SubnetId, IsPrimary: common.Bool(true), CompartmentId: v.CompartmentId, AvailabilityDomain: v.AvailabilityDomain})
	}
	return listResp(s, c, out)
}
