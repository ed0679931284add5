package environment_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

func TestLoadTestdataValid(t *testing.T) {
	for _, name := range []string{"standard-gcp.yaml", "standard-oci.json", "custom-memory.yaml"} {
		t.Run(name, func(t *testing.T) {
			env, err := environment.LoadFile(filepath.Join("testdata", name))
			require.NoError(t, err)
			require.NoError(t, env.Validate())
		})
	}
}

func TestLoadStandardYAMLMatchesStandard(t *testing.T) {
	env, err := environment.LoadFile(filepath.Join("testdata", "standard-gcp.yaml"))
	require.NoError(t, err)
	assert.Equal(t, environment.Standard("acme-prod", environment.GCP, "europe-west3"), env)
	env, err = environment.LoadFile(filepath.Join("testdata", "standard-oci.json"))
	require.NoError(t, err)
	assert.Equal(t, environment.Standard("acme-prod", environment.OCI, "eu-frankfurt-1"), env)
}

func TestRoundTrip(t *testing.T) {
	envs := []*environment.Environment{
		environment.Standard("acme-prod", environment.GCP, "europe-west3"),
		environment.Standard("acme-prod", environment.OCI, "eu-frankfurt-1"),
	}
	custom := environment.Standard("shop", environment.GCP, "us-central1")
	custom.Zones = []string{"us-central1-a", "us-central1-b", "us-central1-f"}
	custom.Web.Machine = environment.Machine{Type: "e2-standard-4", DiskGB: 50}
	custom.PostgreSQL.Replicas = 1
	custom.PostgreSQL.Synchronous = true
	custom.CDN.Google = &environment.GoogleCDNSettings{CacheMode: providers.CacheAllStatic, DefaultTTL: environment.Duration(3600e9), NegativeCaching: true}
	custom.Ingress = []environment.IngressRule{{Name: "office-ssh", Tier: environment.TierWeb, Ports: []int{22}, SourceRanges: []string{"203.0.113.0/24"}}}
	custom.Labels = map[string]string{"team": "shop"}
	custom.CustomerManagedDomain = true
	custom.Maintenance.TimeZone = "Europe/Berlin"
	envs = append(envs, custom)
	for _, env := range envs {
		t.Run(string(env.Provider)+"/"+env.Name, func(t *testing.T) {
			y, err := env.MarshalYAML()
			require.NoError(t, err)
			got, err := environment.Load(y, environment.YAML)
			require.NoError(t, err, string(y))
			assert.Equal(t, env, got)

			j, err := env.MarshalJSON()
			require.NoError(t, err)
			got, err = environment.Load(j, environment.JSON)
			require.NoError(t, err, string(j))
			assert.Equal(t, env, got)
		})
	}
}

func TestMarshalNil(t *testing.T) {
	var env *environment.Environment
	_, err := env.MarshalJSON()
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	_, err = env.MarshalYAML()
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format environment.Format
		doc    string
		line   int
		field  string
		msg    string
	}{
		{"yaml unknown top field", environment.YAML, "name: a\nprovidr: gcp\n", 2, "providr", `unknown field "providr"`},
		{"yaml unknown nested field", environment.YAML, "name: a\nweb:\n  nodes: 2\n  nodez: 3\n", 4, "web.nodez", `unknown field "nodez"`},
		{"yaml unknown field in list", environment.YAML, "name: a\nsmtp:\n  relays:\n    - name: x\n      priority: 1\n    - name: y\n      prio: 2\n", 7, "smtp.relays[1].prio", `unknown field "prio"`},
		{"yaml wrong type", environment.YAML, "name: a\nweb:\n  nodes: two\n", 3, "web.nodes", "cannot unmarshal"},
		{"yaml bad duration", environment.YAML, "name: a\nmaintenance:\n  day: Sunday\n  duration: 4x\n", 4, "maintenance.duration", "invalid duration"},
		{"yaml duration out of range", environment.YAML, "name: a\nmaintenance:\n  duration: 1e300\n", 3, "maintenance.duration", "out of range"},
		{"yaml duration of a list", environment.YAML, "name: a\ncdn:\n  google:\n    maxTTL: [1]\n", 4, "cdn.google.maxTTL", "invalid duration"},
		{"json duration out of range", environment.JSON, "{\"maintenance\": {\"duration\": 1e300}}", 1, "maintenance.duration", "out of range"},
		{"yaml duplicate key", environment.YAML, "name: a\nname: b\n", 2, "", "already defined"},
		{"yaml syntax", environment.YAML, "name: a\nzones: [a,\n", 2, "", ""},
		{"yaml not a mapping", environment.YAML, "- a\n", 1, "", "mapping"},
		{"yaml empty", environment.YAML, "  \n", 0, "", "empty document"},
		{"yaml two documents", environment.YAML, "name: a\n---\nname: b\n", 2, "", "more than one document"},
		{"json unknown top field", environment.JSON, "{\n  \"name\": \"a\",\n  \"providr\": \"gcp\"\n}", 3, "providr", `unknown field "providr"`},
		{"json unknown nested field", environment.JSON, "{\"name\": \"a\",\n\"web\": {\"nodes\": 2,\n \"nodez\": 3}}", 3, "web.nodez", `unknown field "nodez"`},
		{"json unknown field in list", environment.JSON, "{\"smtp\": {\"relays\": [\n{\"name\": \"x\"},\n{\"name\": \"y\", \"prio\": 1}]}}", 3, "smtp.relays[1].prio", `unknown field "prio"`},
		{"json wrong type", environment.JSON, "{\"name\": \"a\",\n\"web\": {\n\"nodes\": \"two\"}}", 3, "web.nodes", "cannot use a JSON string"},
		{"json wrong type in list", environment.JSON, "{\"smtp\": {\"relays\": [\n{\"name\": \"x\"},\n{\"name\": \"y\", \"priority\": \"high\"}]}}", 3, "smtp.relays[1].priority", "cannot use a JSON string"},
		{"json object where a number goes", environment.JSON, "{\"web\": {\"nodes\":\n {\"a\": 1}}}", 2, "web.nodes", "cannot use a JSON object"},
		{"json bad duration", environment.JSON, "{\"name\": \"a\",\n\"maintenance\": {\n\"duration\": \"4x\"}}", 3, "maintenance.duration", "invalid duration"},
		{"json syntax", environment.JSON, "{\"name\": \"a\",\n\"web\": {]}", 2, "", "invalid character"},
		{"json truncated", environment.JSON, "{\"name\": \"a\",\n\"web\": {", 2, "", "unexpected end"},
		{"json trailing data", environment.JSON, "{\"name\": \"a\"}\n{}", 2, "", "unexpected data"},
		{"json empty", environment.JSON, "", 0, "", "empty document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := environment.Load([]byte(tc.doc), tc.format)
			require.Error(t, err)
			assert.Nil(t, env)
			assert.ErrorIs(t, err, providers.ErrInvalidArgument)
			assert.Equal(t, providers.InvalidArgument, providers.Code(err))
			var de *environment.DecodeError
			require.True(t, errors.As(err, &de), "error %v", err)
			assert.Equal(t, tc.format, de.Format)
			assert.Equal(t, tc.line, de.Line, "line: %v", err)
			assert.Equal(t, tc.field, de.Field, "field: %v", err)
			assert.Contains(t, de.Msg, tc.msg)
			if tc.line > 0 {
				assert.Contains(t, err.Error(), "line ")
			}
			if tc.field != "" {
				assert.Contains(t, err.Error(), "field "+tc.field)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	_, err := environment.LoadFile(filepath.Join(t.TempDir(), "missing.yaml"))
	assert.ErrorIs(t, err, providers.ErrNotFound)
	assert.True(t, errors.Is(err, os.ErrNotExist))

	_, err = environment.LoadFile("testdata/standard-gcp.toml")
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)

	p := filepath.Join(t.TempDir(), "bad.yml")
	require.NoError(t, os.WriteFile(p, []byte("name: a\nfoo: 1\n"), 0o600))
	_, err = environment.LoadFile(p)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.Contains(t, err.Error(), p)
	assert.Contains(t, err.Error(), "line 2")
}

func TestLoadDurations(t *testing.T) {
	for _, tc := range []struct {
		format environment.Format
		doc    string
		want   time.Duration
	}{
		{environment.YAML, "maintenance: {duration: 4h}", 4 * time.Hour},
		{environment.YAML, "maintenance: {duration: \"90m\"}", 90 * time.Minute},
		{environment.YAML, "maintenance: {duration: 14400}", 4 * time.Hour},
		{environment.YAML, "maintenance: {duration: 1.5}", 1500 * time.Millisecond},
		{environment.JSON, `{"maintenance": {"duration": "4h"}}`, 4 * time.Hour},
		{environment.JSON, `{"maintenance": {"duration": 14400}}`, 4 * time.Hour},
	} {
		env, err := environment.Load([]byte(tc.doc), tc.format)
		require.NoError(t, err, tc.doc)
		assert.Equal(t, tc.want, env.Maintenance.Duration.D(), tc.doc)
	}
}

func TestDecode(t *testing.T) {
	env, err := environment.Decode(strings.NewReader(`{"name":"a","web":{"nodes":2}}`), environment.JSON)
	require.NoError(t, err)
	assert.Equal(t, 2, env.Web.Nodes)

	_, err = environment.Decode(nil, environment.YAML)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)

	_, err = environment.Decode(strings.NewReader("name: a"), environment.Format("toml"))
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)

	big := strings.NewReader("name: a\n" + strings.Repeat("# padding\n", environment.MaxSpecSize/10+1))
	_, err = environment.Decode(big, environment.YAML)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "larger than")
}
