package environment_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

func TestStandardValidates(t *testing.T) {
	for _, tc := range []struct {
		kind   environment.ProviderKind
		region string
		cdn    environment.CDNKind
		dr     string
	}{
		{environment.GCP, "europe-west3", environment.CDNGoogle, "europe-west4"},
		{environment.OCI, "eu-frankfurt-1", environment.CDNCloudflare, "eu-amsterdam-1"},
		{environment.Memory, "local-1", environment.CDNCloudflare, "local-1-dr"},
		{environment.Memory, "europe-west3", environment.CDNCloudflare, "europe-west4"},
	} {
		t.Run(string(tc.kind)+"/"+tc.region, func(t *testing.T) {
			env := environment.Standard("acme-prod", tc.kind, tc.region)
			require.NoError(t, env.Validate())
			assert.Equal(t, tc.cdn, env.CDN.Kind)
			assert.Equal(t, tc.dr, env.DR.Region)
			assert.Equal(t, []string{"acme-prod.example.com"}, env.CDN.Hostnames)
			rep := environment.AnalyzeZoneLoss(env, mustPlace(t, env, zones3(tc.region)))
			assert.True(t, rep.OK(), rep.String())
		})
	}
}

func TestStandardEveryCatalogRegion(t *testing.T) {
	for _, kind := range []environment.ProviderKind{environment.GCP, environment.OCI} {
		regions := environment.Regions(kind)
		require.NotEmpty(t, regions)
		for _, r := range regions {
			env := environment.Standard("shop", kind, r.Name)
			assert.NoError(t, env.Validate(), r.Name)
			assert.NotEqual(t, r.Name, env.DR.Region)
			dr, ok := environment.LookupRegion(kind, env.DR.Region)
			if assert.True(t, ok, "DR region %s of %s must be in the catalog", env.DR.Region, r.Name) {
				assert.Equal(t, r.Geography, dr.Geography, "DR region of %s must be in the same geography", r.Name)
			}
		}
	}
}

func zones3(region string) []providers.Zone {
	return []providers.Zone{
		{Name: region + "-a", Region: region, Up: true},
		{Name: region + "-b", Region: region, Up: true},
		{Name: region + "-c", Region: region, Up: true},
	}
}

func mustPlace(t *testing.T, env *environment.Environment, zones []providers.Zone) []environment.Node {
	t.Helper()
	nodes, err := env.Place(zones)
	require.NoError(t, err)
	return nodes
}
