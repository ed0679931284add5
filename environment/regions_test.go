package environment_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/orocloud/orocloud-go/environment"
)

func TestDefaultDRRegion(t *testing.T) {
	for _, tc := range []struct {
		kind   environment.ProviderKind
		region string
		dr     string
		ok     bool
	}{
		{environment.GCP, "europe-west3", "europe-west4", true},
		{environment.GCP, "us-central1", "us-east1", true},
		{environment.GCP, "southamerica-east1", "southamerica-west1", true},
		{environment.GCP, "asia-northeast1", "asia-northeast2", true},
		{environment.OCI, "eu-frankfurt-1", "eu-amsterdam-1", true},
		{environment.OCI, "us-ashburn-1", "us-phoenix-1", true},
		{environment.OCI, "sa-saopaulo-1", "sa-vinhedo-1", true},
		{environment.OCI, "ap-tokyo-1", "ap-osaka-1", true},
		{environment.GCP, "eu-frankfurt-1", "", false},
		{environment.OCI, "europe-west3", "", false},
		{environment.GCP, "", "", false},
		{environment.Memory, "europe-west3", "europe-west4", true},
		{environment.Memory, "eu-frankfurt-1", "eu-amsterdam-1", true},
		{environment.Memory, "local-1", "local-1-dr", true},
		{environment.Memory, "Not A Region", "", false},
		{"aws", "us-east-1", "", false},
	} {
		dr, ok := environment.DefaultDRRegion(tc.kind, tc.region)
		assert.Equal(t, tc.ok, ok, "%s/%s", tc.kind, tc.region)
		assert.Equal(t, tc.dr, dr, "%s/%s", tc.kind, tc.region)
	}
}

func TestRegionCatalog(t *testing.T) {
	for _, kind := range []environment.ProviderKind{environment.GCP, environment.OCI} {
		geos := map[string]int{}
		names := map[string]bool{}
		for _, r := range environment.Regions(kind) {
			assert.False(t, names[r.Name], "duplicate %s", r.Name)
			names[r.Name] = true
			geos[r.Geography]++
			assert.True(t, environment.KnownRegion(kind, r.Name))
			assert.NotEqual(t, r.Name, r.DR)
			assert.NotEmpty(t, r.Location)
		}
		for _, g := range []string{"North America", "South America", "Europe", "Asia Pacific"} {
			assert.Positive(t, geos[g], "%s has regions in %s", kind, g)
		}
	}
	assert.Nil(t, environment.Regions(environment.Memory))
	assert.True(t, environment.KnownRegion(environment.Memory, "anything-1"))
	assert.False(t, environment.KnownRegion(environment.Memory, "-bad"))
	assert.False(t, environment.KnownRegion("aws", "us-east-1"))
	_, ok := environment.LookupRegion(environment.GCP, "nowhere")
	assert.False(t, ok)
	// The catalog is returned by copy.
	rs := environment.Regions(environment.GCP)
	rs[0].DR = "changed"
	assert.NotEqual(t, "changed", environment.Regions(environment.GCP)[0].DR)
}
