package environment_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

// FuzzLoadValidate feeds arbitrary documents to Load, then Validate, Place
// and AnalyzeZoneLoss on whatever loads, with zones of several shapes. None
// may panic; every error must carry the InvalidArgument code.
func FuzzLoadValidate(f *testing.F) {
	for _, name := range []string{"standard-gcp.yaml", "standard-oci.json", "custom-memory.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, filepath.Ext(name) == ".json")
	}
	f.Add([]byte("name: a\nweb: {nodes: -1}\nzones: [x, x]\n"), false)
	f.Add([]byte(`{"name":"a","redis":{"nodes":3,"sentinelQuorum":9},"maintenance":{"duration":"4x"}}`), true)
	zoneSets := [][]providers.Zone{
		nil,
		zones3("europe-west3"),
		{{Name: "Uocm:EU-AMSTERDAM-1-AD-1", Up: true, FaultDomains: []string{"FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"}}},
		{{Name: "x", Up: false}, {Name: "y", Up: true, FaultDomains: []string{"", "fd"}}},
	}
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := environment.YAML
		if isJSON {
			format = environment.JSON
		}
		env, err := environment.Load(data, format)
		if err != nil {
			if providers.Code(err) != providers.InvalidArgument {
				t.Fatalf("Load error without InvalidArgument: %v", err)
			}
			return
		}
		if env == nil {
			t.Fatal("nil environment without error")
		}
		if err := env.Validate(); err != nil && providers.Code(err) != providers.InvalidArgument {
			t.Fatalf("Validate error without InvalidArgument: %v", err)
		}
		_ = env.Maintenance.Validate()
		for _, zones := range zoneSets {
			_ = env.ValidateZones(zones)
			nodes, err := env.Place(zones)
			if err != nil {
				if providers.Code(err) != providers.InvalidArgument {
					t.Fatalf("Place error without InvalidArgument: %v", err)
				}
				continue
			}
			rep := environment.AnalyzeZoneLoss(env, nodes)
			_ = rep.String()
			_ = rep.OK()
		}
		// What loads must marshal and load back.
		y, err := env.MarshalYAML()
		if err != nil {
			t.Fatalf("MarshalYAML: %v", err)
		}
		if _, err := environment.Load(y, environment.YAML); err != nil {
			t.Fatalf("YAML of a loaded environment does not load: %v\n%s", err, y)
		}
	})
}
