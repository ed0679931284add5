package oci_test

import (
	"context"
	"fmt"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/oci"
	"github.com/orocloud/orocloud-go/providers/oci/ocifake"
)

// Open a provider (here against the in-process fake, with a generated API
// key) and place an instance in an availability domain and fault domain.
func ExampleOpen() {
	ctx := context.Background()
	srv := ocifake.New(&ocifake.Options{Regions: []string{"eu-frankfurt-1"}})
	defer srv.Close()

	prov, err := oci.Open(ctx, "ocid1.compartment.oc1..example", &oci.Options{
		ConfigurationProvider: oci.RawKey("ocid1.tenancy.oc1..example", "ocid1.user.oc1..example", "eu-frankfurt-1",
			"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", providers.Secret(testKey()), ""),
		RegionEndpoints: srv.Endpoints(), // omit for the real service
		VCNID:           ocifake.VCNID,
		SubnetID:        ocifake.SubnetID,
		Images:          map[string]string{"web": "ocid1.image.oc1..oraclelinux9"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer prov.Close()

	zones, err := prov.ListZones(ctx, "eu-frankfurt-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(zones), "availability domains, fault domains of the first:", zones[0].FaultDomains)

	inst, err := prov.CreateInstance(ctx, providers.InstanceSpec{
		Name: "acme-web-1", Region: "eu-frankfurt-1", Zone: zones[1].Name, FaultDomain: "FAULT-DOMAIN-2",
		Labels: providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: "acme",
			providers.LabelTier: "web", providers.LabelRole: "node"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inst.Name, inst.Zone, inst.FaultDomain, inst.MachineType, inst.OCPUs, inst.MemoryGB, inst.Status)
	// Output:
	// 3 availability domains, fault domains of the first: [FAULT-DOMAIN-1 FAULT-DOMAIN-2 FAULT-DOMAIN-3]
	// acme-web-1 Fake:EU-FRANKFURT-1-AD-2 FAULT-DOMAIN-2 VM.Standard.E4.Flex 2 16 PROVISIONING
}
