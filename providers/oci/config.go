package oci

import (
	"crypto/rsa"
	"sync"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/common/auth"

	"github.com/orocloud/orocloud-go/providers"
)

// ConfigFile returns a configuration provider reading an OCI config file
// (path "" means ~/.oci/config) and profile ("" means DEFAULT).
func ConfigFile(path, profile string) (common.ConfigurationProvider, error) {
	if profile == "" {
		profile = "DEFAULT"
	}
	if path == "" {
		return common.CustomProfileConfigProvider("", profile), nil
	}
	cp, err := common.ConfigurationProviderFromFileWithProfile(path, profile, "")
	if err != nil {
		return nil, &providers.Error{Code: providers.InvalidArgument, Op: "oci.ConfigFile", Resource: path, Msg: "cannot read OCI config file", Err: err}
	}
	return cp, nil
}

// RawKey returns a configuration provider for an API signing key given in
// memory: the tenancy and user OCIDs, the home region, the key's
// fingerprint, its PEM-encoded private key and, for an encrypted key, its
// passphrase ("" for none). Key and passphrase are Secrets so they never
// appear in logs.
//
// The key is parsed once (the SDK's raw provider parses the PEM again for
// every request it signs), and the provider prints without its key.
func RawKey(tenancy, user, region, fingerprint string, privateKeyPEM, passphrase providers.Secret) common.ConfigurationProvider {
	var pass *string
	if passphrase != "" {
		p := passphrase.Reveal()
		pass = &p
	}
	return &rawKey{ConfigurationProvider: common.NewRawConfigurationProvider(tenancy, user, region, fingerprint, privateKeyPEM.Reveal(), pass),
		tenancy: tenancy, user: user, region: region}
}

type rawKey struct {
	common.ConfigurationProvider
	tenancy, user, region string

	once sync.Once
	key  *rsa.PrivateKey
	err  error
}

// PrivateRSAKey parses the key on first use and returns it afterwards.
func (r *rawKey) PrivateRSAKey() (*rsa.PrivateKey, error) {
	r.once.Do(func() { r.key, r.err = r.ConfigurationProvider.PrivateRSAKey() })
	return r.key, r.err
}

// String names the identity, never the key.
func (r *rawKey) String() string {
	return "oci.RawKey(tenancy=" + r.tenancy + ", user=" + r.user + ", region=" + r.region + ", key=[REDACTED])"
}

// GoString is String.
func (r *rawKey) GoString() string { return r.String() }

// InstancePrincipal returns a configuration provider that authenticates as
// the OCI instance the program runs on (instance principals: a dynamic group
// and policies grant it access). It contacts the instance metadata service.
func InstancePrincipal() (common.ConfigurationProvider, error) {
	cp, err := auth.InstancePrincipalConfigurationProvider()
	if err != nil {
		return nil, &providers.Error{Code: providers.Unavailable, Op: "oci.InstancePrincipal", Msg: "cannot obtain instance principal credentials", Err: err}
	}
	return cp, nil
}
