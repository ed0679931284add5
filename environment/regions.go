package environment

import (
	"regexp"
	"slices"
)

// RegionInfo describes a region of the catalog.
type RegionInfo struct {
	// Provider is the cloud the region belongs to.
	Provider ProviderKind
	// Name is the provider's region name ("europe-west3", "eu-frankfurt-1").
	Name string
	// Geography groups regions that may serve as each other's DR region:
	// "North America", "South America", "Europe", "Asia Pacific".
	Geography string
	// Location is the city or country of the region's data centers.
	Location string
	// DR is the designated disaster recovery region: a different region of
	// the same provider in the same geography.
	DR string
}

// The region catalog. It is not exhaustive: it lists the common production
// regions of each cloud in North and South America, Europe and Asia Pacific,
// each with its designated DR region (see DefaultDRRegion).
//
// GCP:
//
//	region                   location        DR region
//	us-central1              Iowa            us-east1
//	us-east1                 South Carolina  us-central1
//	us-east4                 N. Virginia     us-east5
//	us-east5                 Columbus        us-east4
//	us-south1                Dallas          us-central1
//	us-west1                 Oregon          us-west2
//	us-west2                 Los Angeles     us-west1
//	us-west3                 Salt Lake City  us-west4
//	us-west4                 Las Vegas       us-west3
//	northamerica-northeast1  Montréal        northamerica-northeast2
//	northamerica-northeast2  Toronto         northamerica-northeast1
//	southamerica-east1       São Paulo       southamerica-west1
//	southamerica-west1       Santiago        southamerica-east1
//	europe-west1             Belgium         europe-west4
//	europe-west2             London          europe-west1
//	europe-west3             Frankfurt       europe-west4
//	europe-west4             Netherlands     europe-west3
//	europe-west6             Zurich          europe-west3
//	europe-west8             Milan           europe-west12
//	europe-west9             Paris           europe-west1
//	europe-west10            Berlin          europe-west3
//	europe-west12            Turin           europe-west8
//	europe-north1            Finland         europe-west4
//	europe-central2          Warsaw          europe-west3
//	europe-southwest1        Madrid          europe-west9
//	asia-east1               Taiwan          asia-east2
//	asia-east2               Hong Kong       asia-east1
//	asia-northeast1          Tokyo           asia-northeast2
//	asia-northeast2          Osaka           asia-northeast1
//	asia-northeast3          Seoul           asia-northeast1
//	asia-south1              Mumbai          asia-south2
//	asia-south2              Delhi           asia-south1
//	asia-southeast1          Singapore       asia-southeast2
//	asia-southeast2          Jakarta         asia-southeast1
//	australia-southeast1     Sydney          australia-southeast2
//	australia-southeast2     Melbourne       australia-southeast1
//
// OCI:
//
//	region           location        DR region
//	us-ashburn-1     Ashburn         us-phoenix-1
//	us-phoenix-1     Phoenix         us-ashburn-1
//	us-sanjose-1     San Jose        us-phoenix-1
//	us-chicago-1     Chicago         us-ashburn-1
//	ca-toronto-1     Toronto         ca-montreal-1
//	ca-montreal-1    Montréal        ca-toronto-1
//	sa-saopaulo-1    São Paulo       sa-vinhedo-1
//	sa-vinhedo-1     Vinhedo         sa-saopaulo-1
//	sa-santiago-1    Santiago        sa-valparaiso-1
//	sa-valparaiso-1  Valparaíso      sa-santiago-1
//	eu-frankfurt-1   Frankfurt       eu-amsterdam-1
//	eu-amsterdam-1   Amsterdam       eu-frankfurt-1
//	eu-zurich-1      Zurich          eu-frankfurt-1
//	eu-paris-1       Paris           eu-marseille-1
//	eu-marseille-1   Marseille       eu-paris-1
//	eu-milan-1       Milan           eu-frankfurt-1
//	eu-madrid-1      Madrid          eu-marseille-1
//	eu-stockholm-1   Stockholm       eu-frankfurt-1
//	uk-london-1      London          uk-cardiff-1
//	uk-cardiff-1     Newport         uk-london-1
//	ap-tokyo-1       Tokyo           ap-osaka-1
//	ap-osaka-1       Osaka           ap-tokyo-1
//	ap-seoul-1       Seoul           ap-chuncheon-1
//	ap-chuncheon-1   Chuncheon       ap-seoul-1
//	ap-mumbai-1      Mumbai          ap-hyderabad-1
//	ap-hyderabad-1   Hyderabad       ap-mumbai-1
//	ap-singapore-1   Singapore       ap-tokyo-1
//	ap-sydney-1      Sydney          ap-melbourne-1
//	ap-melbourne-1   Melbourne       ap-sydney-1
//
// The memory provider accepts any well-formed region name; its DR region is
// the GCP or OCI pair when the name is in the catalog, and "<region>-dr"
// otherwise.
var regionCatalog = []RegionInfo{
	{GCP, "us-central1", naGeo, "Iowa", "us-east1"},
	{GCP, "us-east1", naGeo, "South Carolina", "us-central1"},
	{GCP, "us-east4", naGeo, "N. Virginia", "us-east5"},
	{GCP, "us-east5", naGeo, "Columbus", "us-east4"},
	{GCP, "us-south1", naGeo, "Dallas", "us-central1"},
	{GCP, "us-west1", naGeo, "Oregon", "us-west2"},
	{GCP, "us-west2", naGeo, "Los Angeles", "us-west1"},
	{GCP, "us-west3", naGeo, "Salt Lake City", "us-west4"},
	{GCP, "us-west4", naGeo, "Las Vegas", "us-west3"},
	{GCP, "northamerica-northeast1", naGeo, "Montréal", "northamerica-northeast2"},
	{GCP, "northamerica-northeast2", naGeo, "Toronto", "northamerica-northeast1"},
	{GCP, "southamerica-east1", saGeo, "São Paulo", "southamerica-west1"},
	{GCP, "southamerica-west1", saGeo, "Santiago", "southamerica-east1"},
	{GCP, "europe-west1", euGeo, "Belgium", "europe-west4"},
	{GCP, "europe-west2", euGeo, "London", "europe-west1"},
	{GCP, "europe-west3", euGeo, "Frankfurt", "europe-west4"},
	{GCP, "europe-west4", euGeo, "Netherlands", "europe-west3"},
	{GCP, "europe-west6", euGeo, "Zurich", "europe-west3"},
	{GCP, "europe-west8", euGeo, "Milan", "europe-west12"},
	{GCP, "europe-west9", euGeo, "Paris", "europe-west1"},
	{GCP, "europe-west10", euGeo, "Berlin", "europe-west3"},
	{GCP, "europe-west12", euGeo, "Turin", "europe-west8"},
	{GCP, "europe-north1", euGeo, "Finland", "europe-west4"},
	{GCP, "europe-central2", euGeo, "Warsaw", "europe-west3"},
	{GCP, "europe-southwest1", euGeo, "Madrid", "europe-west9"},
	{GCP, "asia-east1", apGeo, "Taiwan", "asia-east2"},
	{GCP, "asia-east2", apGeo, "Hong Kong", "asia-east1"},
	{GCP, "asia-northeast1", apGeo, "Tokyo", "asia-northeast2"},
	{GCP, "asia-northeast2", apGeo, "Osaka", "asia-northeast1"},
	{GCP, "asia-northeast3", apGeo, "Seoul", "asia-northeast1"},
	{GCP, "asia-south1", apGeo, "Mumbai", "asia-south2"},
	{GCP, "asia-south2", apGeo, "Delhi", "asia-south1"},
	{GCP, "asia-southeast1", apGeo, "Singapore", "asia-southeast2"},
	{GCP, "asia-southeast2", apGeo, "Jakarta", "asia-southeast1"},
	{GCP, "australia-southeast1", apGeo, "Sydney", "australia-southeast2"},
	{GCP, "australia-southeast2", apGeo, "Melbourne", "australia-southeast1"},

	{OCI, "us-ashburn-1", naGeo, "Ashburn", "us-phoenix-1"},
	{OCI, "us-phoenix-1", naGeo, "Phoenix", "us-ashburn-1"},
	{OCI, "us-sanjose-1", naGeo, "San Jose", "us-phoenix-1"},
	{OCI, "us-chicago-1", naGeo, "Chicago", "us-ashburn-1"},
	{OCI, "ca-toronto-1", naGeo, "Toronto", "ca-montreal-1"},
	{OCI, "ca-montreal-1", naGeo, "Montréal", "ca-toronto-1"},
	{OCI, "sa-saopaulo-1", saGeo, "São Paulo", "sa-vinhedo-1"},
	{OCI, "sa-vinhedo-1", saGeo, "Vinhedo", "sa-saopaulo-1"},
	{OCI, "sa-santiago-1", saGeo, "Santiago", "sa-valparaiso-1"},
	{OCI, "sa-valparaiso-1", saGeo, "Valparaíso", "sa-santiago-1"},
	{OCI, "eu-frankfurt-1", euGeo, "Frankfurt", "eu-amsterdam-1"},
	{OCI, "eu-amsterdam-1", euGeo, "Amsterdam", "eu-frankfurt-1"},
	{OCI, "eu-zurich-1", euGeo, "Zurich", "eu-frankfurt-1"},
	{OCI, "eu-paris-1", euGeo, "Paris", "eu-marseille-1"},
	{OCI, "eu-marseille-1", euGeo, "Marseille", "eu-paris-1"},
	{OCI, "eu-milan-1", euGeo, "Milan", "eu-frankfurt-1"},
	{OCI, "eu-madrid-1", euGeo, "Madrid", "eu-marseille-1"},
	{OCI, "eu-stockholm-1", euGeo, "Stockholm", "eu-frankfurt-1"},
	{OCI, "uk-london-1", euGeo, "London", "uk-cardiff-1"},
	{OCI, "uk-cardiff-1", euGeo, "Newport", "uk-london-1"},
	{OCI, "ap-tokyo-1", apGeo, "Tokyo", "ap-osaka-1"},
	{OCI, "ap-osaka-1", apGeo, "Osaka", "ap-tokyo-1"},
	{OCI, "ap-seoul-1", apGeo, "Seoul", "ap-chuncheon-1"},
	{OCI, "ap-chuncheon-1", apGeo, "Chuncheon", "ap-seoul-1"},
	{OCI, "ap-mumbai-1", apGeo, "Mumbai", "ap-hyderabad-1"},
	{OCI, "ap-hyderabad-1", apGeo, "Hyderabad", "ap-mumbai-1"},
	{OCI, "ap-singapore-1", apGeo, "Singapore", "ap-tokyo-1"},
	{OCI, "ap-sydney-1", apGeo, "Sydney", "ap-melbourne-1"},
	{OCI, "ap-melbourne-1", apGeo, "Melbourne", "ap-sydney-1"},
}

const (
	naGeo = "North America"
	saGeo = "South America"
	euGeo = "Europe"
	apGeo = "Asia Pacific"
)

// regionRE is the shape of a region name on every provider.
var regionRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,61}[a-z0-9]$`)

// Regions returns the catalog's regions of a provider (GCP or OCI), in the
// catalog's order. The slice is a copy. The memory provider has no catalog
// of its own: Regions(Memory) returns nil.
func Regions(kind ProviderKind) []RegionInfo {
	var out []RegionInfo
	for _, r := range regionCatalog {
		if r.Provider == kind {
			out = append(out, r)
		}
	}
	return out
}

// LookupRegion returns the catalog entry of a GCP or OCI region.
func LookupRegion(kind ProviderKind, region string) (RegionInfo, bool) {
	i := slices.IndexFunc(regionCatalog, func(r RegionInfo) bool { return r.Provider == kind && r.Name == region })
	if i < 0 {
		return RegionInfo{}, false
	}
	return regionCatalog[i], true
}

// KnownRegion reports whether region is a region of the provider: a catalog
// region for GCP and OCI, any well-formed region name (lower case letters,
// digits and '-', 2 to 63 characters) for the memory provider.
func KnownRegion(kind ProviderKind, region string) bool {
	switch kind {
	case GCP, OCI:
		_, ok := LookupRegion(kind, region)
		return ok
	case Memory:
		return regionRE.MatchString(region)
	}
	return false
}

// DefaultDRRegion returns the designated DR region of a production region
// (see the table on Regions): a different region of the same provider in the
// same geography. For the memory provider it is the GCP or OCI pair when the
// name is in the catalog, and "<region>-dr" for any other well-formed name.
// ok is false when the region is not known for the provider.
func DefaultDRRegion(kind ProviderKind, region string) (dr string, ok bool) {
	switch kind {
	case GCP, OCI:
		r, ok := LookupRegion(kind, region)
		return r.DR, ok
	case Memory:
		if !regionRE.MatchString(region) {
			return "", false
		}
		for _, k := range []ProviderKind{GCP, OCI} {
			if r, ok := LookupRegion(k, region); ok {
				return r.DR, true
			}
		}
		dr := region + "-dr"
		if !regionRE.MatchString(dr) {
			return "", false
		}
		return dr, true
	}
	return "", false
}
