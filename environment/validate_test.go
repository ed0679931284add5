package environment_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

func gcpEnv() *environment.Environment {
	return environment.Standard("acme-prod", environment.GCP, "europe-west3")
}

func ociEnv() *environment.Environment {
	return environment.Standard("acme-prod", environment.OCI, "eu-frankfurt-1")
}

func validationError(t *testing.T, err error) *environment.ValidationError {
	t.Helper()
	require.Error(t, err)
	var ve *environment.ValidationError
	require.True(t, errors.As(err, &ve), "not a *ValidationError: %v", err)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.Equal(t, providers.InvalidArgument, providers.Code(err))
	return ve
}

func TestValidateRefusesBadEnvironments(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  func() *environment.Environment
		edit  func(e *environment.Environment)
		field string
	}{
		{"empty name", gcpEnv, func(e *environment.Environment) { e.Name = "" }, "name"},
		{"upper case name", gcpEnv, func(e *environment.Environment) { e.Name = "Acme" }, "name"},
		{"name starting with a digit", gcpEnv, func(e *environment.Environment) { e.Name = "1acme" }, "name"},
		{"name ending with a dash", gcpEnv, func(e *environment.Environment) { e.Name = "acme-" }, "name"},
		{"name too long", gcpEnv, func(e *environment.Environment) { e.Name = strings.Repeat("a", 41) }, "name"},
		{"name with underscore", gcpEnv, func(e *environment.Environment) { e.Name = "acme_prod" }, "name"},
		{"unknown provider", gcpEnv, func(e *environment.Environment) { e.Provider = "aws" }, "provider"},
		{"missing provider", gcpEnv, func(e *environment.Environment) { e.Provider = "" }, "provider"},
		{"bad GCP project", gcpEnv, func(e *environment.Environment) { e.Project = "Acme" }, "project"},
		{"bad OCI compartment", ociEnv, func(e *environment.Environment) { e.Project = "acme" }, "project"},
		{"missing region", gcpEnv, func(e *environment.Environment) { e.Region = "" }, "region"},
		{"OCI region on GCP", gcpEnv, func(e *environment.Environment) { e.Region = "eu-frankfurt-1" }, "region"},
		{"unknown GCP region", gcpEnv, func(e *environment.Environment) { e.Region = "europe-west99" }, "region"},
		{"malformed memory region", func() *environment.Environment {
			return environment.Standard("acme", environment.Memory, "local-1")
		}, func(e *environment.Environment) { e.Region = "Local 1" }, "region"},
		{"one zone", gcpEnv, func(e *environment.Environment) { e.Zones = []string{"europe-west3-a"} }, "zones"},
		{"duplicate zone", gcpEnv, func(e *environment.Environment) {
			e.Zones = []string{"europe-west3-a", "europe-west3-b", "europe-west3-a"}
		}, "zones[2]"},
		{"zone of another region", gcpEnv, func(e *environment.Environment) {
			e.Zones = []string{"europe-west3-a", "europe-west4-b", "europe-west3-c"}
		}, "zones[1]"},
		{"OCI availability domain of another region", ociEnv, func(e *environment.Environment) {
			e.Zones = []string{"Uocm:EU-FRANKFURT-1-AD-1", "Uocm:EU-AMSTERDAM-1-AD-1", "Uocm:EU-FRANKFURT-1-AD-3"}
		}, "zones[1]"},
		{"two zones cannot keep quorum", gcpEnv, func(e *environment.Environment) {
			e.Zones = []string{"europe-west3-a", "europe-west3-b"}
		}, "elasticsearch.nodes"},
		{"one web node", gcpEnv, func(e *environment.Environment) { e.Web.Nodes = 1 }, "web.nodes"},
		{"negative web nodes", gcpEnv, func(e *environment.Environment) { e.Web.Nodes = -2 }, "web.nodes"},
		{"too many web nodes", gcpEnv, func(e *environment.Environment) { e.Web.Nodes = environment.MaxTierNodes + 1 }, "web.nodes"},
		{"negative OCPUs", ociEnv, func(e *environment.Environment) { e.Web.Machine.OCPUs = -1 }, "web.machine.ocpus"},
		{"negative memory", ociEnv, func(e *environment.Environment) { e.PostgreSQL.Machine.MemoryGB = -4 }, "postgresql.machine.memoryGB"},
		{"negative disk", gcpEnv, func(e *environment.Environment) { e.GridFS.Machine.DiskGB = -10 }, "gridfs.machine.diskGB"},
		{"machine type with spaces", gcpEnv, func(e *environment.Environment) { e.Redis.Machine.Type = "e2 standard" }, "redis.machine.type"},
		{"two Elasticsearch nodes", gcpEnv, func(e *environment.Environment) { e.Elasticsearch.Nodes = 2 }, "elasticsearch.nodes"},
		{"four Elasticsearch nodes over three zones", gcpEnv, func(e *environment.Environment) { e.Elasticsearch.Nodes = 4 }, "elasticsearch.nodes"},
		{"negative PostgreSQL replicas", gcpEnv, func(e *environment.Environment) { e.PostgreSQL.Replicas = -1 }, "postgresql.replicas"},
		{"PostgreSQL version", gcpEnv, func(e *environment.Environment) { e.PostgreSQL.Version = "fifteen" }, "postgresql.version"},
		{"old PostgreSQL", gcpEnv, func(e *environment.Environment) { e.PostgreSQL.Version = "11" }, "postgresql.version"},
		{"PostgreSQL over a single zone", gcpEnv, func(e *environment.Environment) {
			e.Zones = []string{"europe-west3-a", "europe-west3-a"}
		}, "zones[1]"},
		{"one RabbitMQ node", gcpEnv, func(e *environment.Environment) { e.RabbitMQ.Nodes = 1 }, "rabbitmq.nodes"},
		{"four RabbitMQ nodes over three zones", gcpEnv, func(e *environment.Environment) { e.RabbitMQ.Nodes = 4 }, "rabbitmq.nodes"},
		{"no consumer", gcpEnv, func(e *environment.Environment) { e.Consumers.Count = 0 }, "consumers.count"},
		{"one consumer host", gcpEnv, func(e *environment.Environment) { e.Consumers.Hosts = 1 }, "consumers.hosts"},
		{"more consumer hosts than consumers", gcpEnv, func(e *environment.Environment) { e.Consumers.Count = 2; e.Consumers.Hosts = 3 }, "consumers.hosts"},
		{"one SMTP relay", gcpEnv, func(e *environment.Environment) { e.SMTP.Relays = e.SMTP.Relays[:1] }, "smtp.relays"},
		{"SMTP relay without name", gcpEnv, func(e *environment.Environment) { e.SMTP.Relays[1].Name = "" }, "smtp.relays[1].name"},
		{"duplicate SMTP relay name", gcpEnv, func(e *environment.Environment) { e.SMTP.Relays[1].Name = "relay-1" }, "smtp.relays[1].name"},
		{"SMTP priority too high", gcpEnv, func(e *environment.Environment) { e.SMTP.Relays[1].Priority = 70000 }, "smtp.relays[1].priority"},
		{"negative SMTP priority", gcpEnv, func(e *environment.Environment) { e.SMTP.Relays[0].Priority = -1 }, "smtp.relays[0].priority"},
		{"SMTP relays with one priority", gcpEnv, func(e *environment.Environment) { e.SMTP.Relays[1].Priority = 10 }, "smtp.relays"},
		{"two Redis nodes", gcpEnv, func(e *environment.Environment) { e.Redis.Nodes = 2 }, "redis.nodes"},
		{"Sentinel quorum of one", gcpEnv, func(e *environment.Environment) { e.Redis.SentinelQuorum = 1 }, "redis.sentinelQuorum"},
		{"Sentinel quorum above nodes", gcpEnv, func(e *environment.Environment) { e.Redis.SentinelQuorum = 4 }, "redis.sentinelQuorum"},
		{"Sentinel quorum out of reach after a zone loss", gcpEnv, func(e *environment.Environment) { e.Redis.SentinelQuorum = 3 }, "redis.sentinelQuorum"},
		{"Sentinel quorum of five nodes out of reach after a zone loss", gcpEnv, func(e *environment.Environment) {
			e.Redis.Nodes, e.Redis.SentinelQuorum = 5, 4
		}, "redis.sentinelQuorum"},
		{"four Redis nodes over three zones", gcpEnv, func(e *environment.Environment) { e.Redis.Nodes, e.Redis.SentinelQuorum = 4, 3 }, "redis.nodes"},
		{"two GridFS nodes", gcpEnv, func(e *environment.Environment) { e.GridFS.Nodes = 2 }, "gridfs.nodes"},
		{"missing CDN kind", gcpEnv, func(e *environment.Environment) { e.CDN.Kind = "" }, "cdn.kind"},
		{"unknown CDN kind", gcpEnv, func(e *environment.Environment) { e.CDN.Kind = "akamai" }, "cdn.kind"},
		{"Google CDN on OCI", ociEnv, func(e *environment.Environment) { e.CDN.Kind = environment.CDNGoogle; e.CDN.Cloudflare = nil }, "cdn.kind"},
		{"Google CDN bad cache mode", gcpEnv, func(e *environment.Environment) {
			e.CDN.Google = &environment.GoogleCDNSettings{CacheMode: "CACHE_EVERYTHING"}
		}, "cdn.google.cacheMode"},
		{"Google CDN default TTL above max", gcpEnv, func(e *environment.Environment) {
			e.CDN.Google = &environment.GoogleCDNSettings{DefaultTTL: environment.Duration(2 * time.Hour), MaxTTL: environment.Duration(time.Hour)}
		}, "cdn.google.defaultTTL"},
		{"Cloudflare without settings", ociEnv, func(e *environment.Environment) { e.CDN.Cloudflare = nil }, "cdn.cloudflare"},
		{"Cloudflare without account", ociEnv, func(e *environment.Environment) { e.CDN.Cloudflare.AccountID = "" }, "cdn.cloudflare.accountId"},
		{"Cloudflare malformed zone ID", ociEnv, func(e *environment.Environment) { e.CDN.Cloudflare.ZoneID = "my-zone" }, "cdn.cloudflare.zoneId"},
		{"Cloudflare settings with Google CDN", gcpEnv, func(e *environment.Environment) {
			e.CDN.Cloudflare = &environment.CloudflareSettings{AccountID: environment.PlaceholderCloudflareAccountID, ZoneID: environment.PlaceholderCloudflareZoneID}
		}, "cdn.cloudflare"},
		{"other CDN without name", gcpEnv, func(e *environment.Environment) { e.CDN.Kind = environment.CDNOther }, "cdn.name"},
		{"no hostname", ociEnv, func(e *environment.Environment) { e.CDN.Hostnames = nil }, "cdn.hostnames"},
		{"malformed hostname", ociEnv, func(e *environment.Environment) { e.CDN.Hostnames = []string{"shop..example.com"} }, "cdn.hostnames[0]"},
		{"single-label hostname", ociEnv, func(e *environment.Environment) { e.CDN.Hostnames = []string{"a.b", "localhost"} }, "cdn.hostnames[1]"},
		{"duplicate hostname", ociEnv, func(e *environment.Environment) { e.CDN.Hostnames = []string{"a.example.com", "a.example.com"} }, "cdn.hostnames[1]"},
		{"public ingress to web with Cloudflare", ociEnv, func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Name: "http", Tier: environment.TierWeb, Ports: []int{443}, SourceRanges: []string{"0.0.0.0/0"}}}
		}, "ingress[0].sourceRanges[0]"},
		{"public IPv6 ingress to web with Cloudflare", ociEnv, func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Name: "http", Tier: environment.TierWeb, Ports: []int{443}, SourceRanges: []string{"203.0.113.0/24", "::/0"}}}
		}, "ingress[0].sourceRanges[1]"},
		{"ingress without name", gcpEnv, func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Tier: environment.TierWeb, Ports: []int{22}, SourceRanges: []string{"203.0.113.0/24"}}}
		}, "ingress[0].name"},
		{"ingress with a reserved name", gcpEnv, func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Name: "internal", Tier: environment.TierWeb, Ports: []int{22}, SourceRanges: []string{"203.0.113.0/24"}}}
		}, "ingress[0].name"},
		{"ingress to unknown tier", gcpEnv, func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Name: "ssh", Tier: "bastion", Ports: []int{22}, SourceRanges: []string{"203.0.113.0/24"}}}
		}, "ingress[0].tier"},
		{"ingress port 0", gcpEnv, func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Name: "ssh", Tier: environment.TierWeb, Ports: []int{22, 0}, SourceRanges: []string{"203.0.113.0/24"}}}
		}, "ingress[0].ports[1]"},
		{"ingress without ports", gcpEnv, func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Name: "ssh", Tier: environment.TierWeb, SourceRanges: []string{"203.0.113.0/24"}}}
		}, "ingress[0].ports"},
		{"ingress bad CIDR", gcpEnv, func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Name: "ssh", Tier: environment.TierWeb, Ports: []int{22}, SourceRanges: []string{"203.0.113.0/33"}}}
		}, "ingress[0].sourceRanges[0]"},
		{"ingress CIDR with host bits", gcpEnv, func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Name: "ssh", Tier: environment.TierWeb, Ports: []int{22}, SourceRanges: []string{"203.0.113.7/24"}}}
		}, "ingress[0].sourceRanges[0]"},
		{"duplicate ingress name", gcpEnv, func(e *environment.Environment) {
			r := environment.IngressRule{Name: "ssh", Tier: environment.TierWeb, Ports: []int{22}, SourceRanges: []string{"203.0.113.0/24"}}
			e.Ingress = []environment.IngressRule{r, r}
		}, "ingress[1].name"},
		{"maintenance day", gcpEnv, func(e *environment.Environment) { e.Maintenance.Day = "Sonntag" }, "maintenance.day"},
		{"maintenance start", gcpEnv, func(e *environment.Environment) { e.Maintenance.Start = "24:00" }, "maintenance.start"},
		{"maintenance too short", gcpEnv, func(e *environment.Environment) { e.Maintenance.Duration = environment.Duration(10 * time.Minute) }, "maintenance.duration"},
		{"maintenance too long", gcpEnv, func(e *environment.Environment) { e.Maintenance.Duration = environment.Duration(13 * time.Hour) }, "maintenance.duration"},
		{"maintenance time zone", gcpEnv, func(e *environment.Environment) { e.Maintenance.TimeZone = "Europe/Atlantis" }, "maintenance.timeZone"},
		{"maintenance local time zone", gcpEnv, func(e *environment.Environment) { e.Maintenance.TimeZone = "Local" }, "maintenance.timeZone"},
		{"DR region equals region", gcpEnv, func(e *environment.Environment) { e.DR.Region = "europe-west3" }, "dr.region"},
		{"DR region of another cloud", gcpEnv, func(e *environment.Environment) { e.DR.Region = "eu-amsterdam-1" }, "dr.region"},
		{"no contact name", gcpEnv, func(e *environment.Environment) { e.TechnicalContact.Name = " " }, "technicalContact.name"},
		{"no contact email", gcpEnv, func(e *environment.Environment) { e.TechnicalContact.Email = "" }, "technicalContact.email"},
		{"malformed contact email", gcpEnv, func(e *environment.Environment) { e.TechnicalContact.Email = "ops at example.com" }, "technicalContact.email"},
		{"contact email with display name", gcpEnv, func(e *environment.Environment) { e.TechnicalContact.Email = "Ops <ops@example.com>" }, "technicalContact.email"},
		{"bad label key", gcpEnv, func(e *environment.Environment) { e.Labels = map[string]string{"Team": "x"} }, "labels.Team"},
		{"bad label value", gcpEnv, func(e *environment.Environment) { e.Labels = map[string]string{"team": "Shop Team"} }, "labels.team"},
		{"reserved label", gcpEnv, func(e *environment.Environment) { e.Labels = map[string]string{"orocloud-env": "other"} }, "labels.orocloud-env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.base()
			require.NoError(t, env.Validate(), "the base environment must be valid")
			tc.edit(env)
			ve := validationError(t, env.Validate())
			assert.Contains(t, ve.Fields(), tc.field, "violations: %v", ve)
			assert.True(t, ve.Has(tc.field))
			assert.Contains(t, ve.Error(), tc.field+": ")
			for _, v := range ve.Violations {
				assert.NotEmpty(t, v.Rule)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	env := gcpEnv()
	env.Name = "Bad_Name"
	env.Web.Nodes = 1
	env.Elasticsearch.Nodes = 2
	env.Consumers.Count = 0
	env.SMTP.Relays = []environment.SMTPRelay{{Name: "only", Priority: 99999}}
	env.Redis.SentinelQuorum = 0
	env.CDN.Kind = "akamai"
	env.CDN.Hostnames = []string{"not a host"}
	env.Maintenance = environment.Window{Day: "Caturday", Start: "2am", Duration: environment.Duration(time.Minute), TimeZone: "Mars/Olympus"}
	env.DR.Region = "europe-west3"
	env.TechnicalContact = environment.Contact{}
	env.Ingress = []environment.IngressRule{{Name: "x", Tier: "nope", Ports: []int{70000}, SourceRanges: []string{"nowhere"}}}
	env.RabbitMQ.Nodes = 4 // a zone rule, still checked despite the bad name

	ve := validationError(t, env.Validate())
	want := []string{
		"name", "web.nodes", "elasticsearch.nodes", "consumers.count", "smtp.relays", "smtp.relays[0].priority",
		"redis.sentinelQuorum", "rabbitmq.nodes", "cdn.kind", "cdn.hostnames[0]", "ingress[0].tier", "ingress[0].ports[0]",
		"ingress[0].sourceRanges[0]", "maintenance.day", "maintenance.start", "maintenance.duration",
		"maintenance.timeZone", "dr.region", "technicalContact.name", "technicalContact.email",
	}
	for _, f := range want {
		assert.True(t, ve.Has(f), "missing violation of %s in %v", f, ve)
	}
	assert.Equal(t, "Bad_Name", ve.Environment)
	msg := ve.Error()
	assert.Equal(t, len(ve.Violations), strings.Count(msg, "\n  - "), "one line per violation")
	assert.Contains(t, msg, "violations:")
}

func TestValidateAcceptsVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		base func() *environment.Environment
		edit func(e *environment.Environment)
	}{
		{"three named GCP zones", gcpEnv, func(e *environment.Environment) {
			e.Zones = []string{"europe-west3-a", "europe-west3-b", "europe-west3-c"}
		}},
		{"three OCI availability domains", ociEnv, func(e *environment.Environment) {
			e.Zones = []string{"Uocm:EU-FRANKFURT-1-AD-1", "Uocm:EU-FRANKFURT-1-AD-2", "Uocm:EU-FRANKFURT-1-AD-3"}
		}},
		{"five Elasticsearch nodes", gcpEnv, func(e *environment.Environment) { e.Elasticsearch.Nodes = 5 }},
		{"six RabbitMQ nodes", gcpEnv, func(e *environment.Environment) { e.RabbitMQ.Nodes = 6 }},
		{"Redis five with quorum three", gcpEnv, func(e *environment.Environment) { e.Redis.Nodes = 5; e.Redis.SentinelQuorum = 3 }},
		{"read replicas", gcpEnv, func(e *environment.Environment) { e.PostgreSQL.Replicas = 3 }},
		{"other CDN", gcpEnv, func(e *environment.Environment) { e.CDN.Kind = environment.CDNOther; e.CDN.Name = "fastly" }},
		{"Cloudflare on GCP", gcpEnv, func(e *environment.Environment) {
			e.CDN.Kind = environment.CDNCloudflare
			e.CDN.Cloudflare = &environment.CloudflareSettings{AccountID: environment.PlaceholderCloudflareAccountID, ZoneID: environment.PlaceholderCloudflareZoneID}
		}},
		{"Google CDN settings", gcpEnv, func(e *environment.Environment) {
			e.CDN.Google = &environment.GoogleCDNSettings{CacheMode: providers.UseOriginHeaders}
		}},
		{"office SSH ingress with Cloudflare", ociEnv, func(e *environment.Environment) {
			e.Ingress = []environment.IngressRule{{Name: "office-ssh", Tier: environment.TierWeb, Ports: []int{22}, SourceRanges: []string{"203.0.113.0/24", "2001:db8::/32"}}}
		}},
		{"public web ingress with another CDN", gcpEnv, func(e *environment.Environment) {
			e.CDN.Kind, e.CDN.Name = environment.CDNOther, "fastly"
			e.Ingress = []environment.IngressRule{{Name: "https", Tier: environment.TierWeb, Ports: []int{443}, SourceRanges: []string{"0.0.0.0/0"}}}
		}},
		{"explicit DR region", gcpEnv, func(e *environment.Environment) { e.DR.Region = "europe-west1" }},
		{"empty DR region takes the default", gcpEnv, func(e *environment.Environment) { e.DR.Region = "" }},
		{"Berlin maintenance", gcpEnv, func(e *environment.Environment) {
			e.Maintenance = environment.Window{Day: "saturday", Start: "23:30", Duration: environment.Duration(30 * time.Minute), TimeZone: "Europe/Berlin"}
		}},
		{"labels", gcpEnv, func(e *environment.Environment) { e.Labels = map[string]string{"team": "shop", "cost_center": "4711"} }},
		{"project", gcpEnv, func(e *environment.Environment) { e.Project = "acme-prod-123" }},
		{"OCI compartment", ociEnv, func(e *environment.Environment) {
			e.Project = "ocid1.compartment.oc1..aaaaaaaabbbbbbbbccccccccdddddddd"
		}},
		{"wildcard hostname", ociEnv, func(e *environment.Environment) { e.CDN.Hostnames = []string{"*.shop.example.com"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.base()
			tc.edit(env)
			assert.NoError(t, env.Validate())
		})
	}
}

func TestValidateNil(t *testing.T) {
	var env *environment.Environment
	validationError(t, env.Validate())
	validationError(t, env.ValidateZones(zones3("europe-west3")))
	var zero environment.Environment
	ve := validationError(t, zero.Validate())
	assert.True(t, ve.Has("name"))
	assert.True(t, ve.Has("provider"))
	assert.True(t, ve.Has("region"))
}

func TestValidateZones(t *testing.T) {
	up := func(names ...string) []providers.Zone {
		var out []providers.Zone
		for _, n := range names {
			out = append(out, providers.Zone{Name: n, Region: "europe-west3", Up: true})
		}
		return out
	}
	t.Run("three zones up", func(t *testing.T) {
		assert.NoError(t, gcpEnv().ValidateZones(up("europe-west3-a", "europe-west3-b", "europe-west3-c")))
	})
	t.Run("region with two zones", func(t *testing.T) {
		ve := validationError(t, gcpEnv().ValidateZones(up("europe-west3-a", "europe-west3-b")))
		assert.True(t, ve.Has("elasticsearch.nodes"), ve.Error())
		assert.True(t, ve.Has("redis.nodes"), ve.Error())
		assert.False(t, ve.Has("web.nodes"), "web survives over two zones: %v", ve)
	})
	t.Run("a zone down counts as missing", func(t *testing.T) {
		zones := up("europe-west3-a", "europe-west3-b", "europe-west3-c")
		zones[2].Up = false
		ve := validationError(t, gcpEnv().ValidateZones(zones))
		assert.True(t, ve.Has("rabbitmq.nodes"), ve.Error())
	})
	t.Run("named zone missing", func(t *testing.T) {
		env := gcpEnv()
		env.Zones = []string{"europe-west3-a", "europe-west3-b", "europe-west3-f"}
		ve := validationError(t, env.ValidateZones(up("europe-west3-a", "europe-west3-b", "europe-west3-c")))
		assert.Equal(t, []string{"zones[2]"}, ve.Fields())
	})
	t.Run("named zone down", func(t *testing.T) {
		env := gcpEnv()
		env.Zones = []string{"europe-west3-a", "europe-west3-b", "europe-west3-c"}
		zones := up("europe-west3-a", "europe-west3-b", "europe-west3-c")
		zones[0].Up = false
		ve := validationError(t, env.ValidateZones(zones))
		assert.Equal(t, []string{"zones[0]"}, ve.Fields())
		assert.Contains(t, ve.Error(), "down")
	})
	t.Run("no zone", func(t *testing.T) {
		ve := validationError(t, gcpEnv().ValidateZones(nil))
		assert.Equal(t, []string{"zones"}, ve.Fields())
	})
	t.Run("single OCI availability domain with three fault domains", func(t *testing.T) {
		env := environment.Standard("acme", environment.OCI, "eu-amsterdam-1")
		zones := []providers.Zone{{Name: "Uocm:EU-AMSTERDAM-1-AD-1", Region: "eu-amsterdam-1", Up: true,
			FaultDomains: []string{"FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"}}}
		assert.NoError(t, env.ValidateZones(zones))
	})
	t.Run("single zone without fault domains", func(t *testing.T) {
		ve := validationError(t, gcpEnv().ValidateZones(up("europe-west3-a")))
		assert.True(t, ve.Has("zones"), ve.Error())
		assert.True(t, ve.Has("postgresql"), ve.Error())
	})
}

func TestViolationString(t *testing.T) {
	v := environment.Violation{Field: "web.nodes", Rule: "must be at least 2", Hint: "spread them"}
	assert.Equal(t, "web.nodes: must be at least 2 (spread them)", v.String())
	var ve *environment.ValidationError
	assert.Equal(t, "<nil>", ve.Error())
	assert.Nil(t, ve.Fields())
	assert.False(t, ve.Has("x"))
}
