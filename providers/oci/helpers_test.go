package oci_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/oci"
	"github.com/orocloud/orocloud-go/providers/oci/ocifake"
	"github.com/orocloud/orocloud-go/retry"
)

const (
	testTenancy     = "ocid1.tenancy.oc1..testtenancy"
	testCompartment = "ocid1.compartment.oc1..testcompartment"
	testImage       = "ocid1.image.oc1..testimage"
	testShape       = "VM.Standard.E4.Flex"
)

// testKey is an RSA key generated once per test binary, PEM-encoded.
var testKey = sync.OnceValue(func() string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
})

// testPublicKey is testKey's public half, for ocifake.Options.VerifyKey.
var testPublicKey = sync.OnceValue(func() *rsa.PublicKey {
	block, _ := pem.Decode([]byte(testKey()))
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		panic(err)
	}
	return &k.PublicKey
})

// verified returns fo (or defaults) with signature verification on.
func verified(fo *ocifake.Options) *ocifake.Options {
	var o ocifake.Options
	if fo != nil {
		o = *fo
	}
	if o.VerifyKey == nil {
		o.VerifyKey = testPublicKey()
	}
	return &o
}

// testOptions points a provider at srv with fast polling and retries.
func testOptions(srv *ocifake.Server) *oci.Options {
	return &oci.Options{
		ConfigurationProvider: oci.RawKey(testTenancy, "ocid1.user.oc1..testuser", srv.Region(),
			"12:34:56:78:90:ab:cd:ef:12:34:56:78:90:ab:cd:ef", providers.Secret(testKey()), ""),
		Region:          srv.Region(),
		RegionEndpoints: srv.Endpoints(),
		VCNID:           ocifake.VCNID,
		SubnetID:        ocifake.SubnetID,
		DefaultImage:    testImage,
		PartSize:        256 << 10,
		PollInterval:    5 * time.Millisecond,
		Retry:           retry.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxAttempts: 5},
	}
}

// newTest starts a fake and opens a provider on it.
func newTest(t *testing.T, fo *ocifake.Options, edit func(*oci.Options)) (*oci.Provider, *ocifake.Server) {
	t.Helper()
	srv := ocifake.New(verified(fo))
	t.Cleanup(srv.Close)
	o := testOptions(srv)
	if edit != nil {
		edit(o)
	}
	p, err := oci.Open(context.Background(), testCompartment, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p, srv
}

func ours(env, tier string) providers.Labels {
	return providers.Labels{
		providers.LabelManagedBy:   providers.ManagedByValue,
		providers.LabelEnvironment: env,
		providers.LabelTier:        tier,
		providers.LabelRole:        "node",
	}
}
