package oci

import (
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
func RawKey(tenancy, user, region, fingerprint string, privateKeyPEM, passphrase providers.Secret) common.ConfigurationProvider {
	var pass *string
	if passphrase != "" {
		p := passphrase.Reveal()
		pass = &p
	}
	return common.NewRawConfigurationProvider(tenancy, user, region, fingerprint, privateKeyPEM.Reveal(), pass)
}

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
