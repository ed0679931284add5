package ocifake_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/providers/oci/ocifake"
)

// do sends a request the fake accepts as signed (the signature itself is
// not verified; the SDK-driven tests in providers/oci send real ones).
func do(t *testing.T, method, url, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", `Signature version="1",keyId="t/u/f",algorithm="rsa-sha256",headers="date",signature="c2ln"`)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func launchBody(name string) string {
	return `{"availabilityDomain":"` + ocifake.ADName("eu-frankfurt-1", 1) + `","compartmentId":"c","displayName":"` + name +
		`","shape":"VM.Standard.E4.Flex","shapeConfig":{"ocpus":1},"sourceDetails":{"sourceType":"image","imageId":"img"},` +
		`"createVnicDetails":{"subnetId":"s"}}`
}

func TestPagingRetryTokensAndFaults(t *testing.T) {
	srv := ocifake.New(&ocifake.Options{PageSize: 2})
	defer srv.Close()
	base := srv.URL() + "/20160918"

	// Unsigned requests are refused; every answer has an opc-request-id.
	resp, err := http.Get(base + "/instances?compartmentId=c")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("opc-request-id"))

	for _, n := range []string{"a", "b", "c"} {
		r := do(t, "POST", base+"/instances", launchBody(n), nil)
		require.Equal(t, 200, r.StatusCode)
	}
	// Paging: 2 + 1 with opc-next-page.
	r := do(t, "GET", base+"/instances?compartmentId=c", "", nil)
	next := r.Header.Get("opc-next-page")
	require.NotEmpty(t, next)
	r = do(t, "GET", base+"/instances?compartmentId=c&page="+next, "", nil)
	assert.Empty(t, r.Header.Get("opc-next-page"))

	// The same retry token with the same body replays; another body is a 409.
	tok := map[string]string{"opc-retry-token": "tok-1"}
	first := do(t, "POST", base+"/instances", launchBody("d"), tok)
	var b1, b2 bytes.Buffer
	_, _ = b1.ReadFrom(first.Body)
	second := do(t, "POST", base+"/instances", launchBody("d"), tok)
	_, _ = b2.ReadFrom(second.Body)
	assert.Equal(t, b1.String(), b2.String())
	assert.Equal(t, 409, do(t, "POST", base+"/instances", launchBody("e"), tok).StatusCode)
	assert.Equal(t, 4, strings.Count(string(mustList(t, base)), `"displayName"`), "a, b, c, d: no duplicate")

	// The 2nd matching request fails with 429 and Retry-After, then it heals.
	srv.Inject(ocifake.Fault{Op: "GetInstance", Nth: 2, Status: 429, RetryAfter: 1500e6})
	assert.Equal(t, 404, do(t, "GET", base+"/instances/missing", "", nil).StatusCode)
	f := do(t, "GET", base+"/instances/missing", "", nil)
	assert.Equal(t, 429, f.StatusCode)
	assert.Equal(t, "2", f.Header.Get("Retry-After"))
	assert.Equal(t, 404, do(t, "GET", base+"/instances/missing", "", nil).StatusCode)

	// A dropped connection gets no answer.
	srv.Inject(ocifake.Fault{Op: "ListAvailabilityDomains", Drop: true})
	req, _ := http.NewRequest("GET", base+"/availabilityDomains?compartmentId=c", nil)
	req.Header.Set("Authorization", `Signature keyId="k",signature="s"`)
	_, err = http.DefaultClient.Do(req)
	assert.Error(t, err)

	log := srv.Requests()
	assert.Equal(t, "ListAvailabilityDomains", log[len(log)-1].Op)
	assert.True(t, log[len(log)-1].Faulted)
	assert.Equal(t, 6, len(srv.Mutating()), "six launches")
}

func mustList(t *testing.T, base string) []byte {
	var all bytes.Buffer
	page := ""
	for {
		r := do(t, "GET", base+"/instances?compartmentId=c&limit=100&page="+page, "", nil)
		_, _ = all.ReadFrom(r.Body)
		if page = r.Header.Get("opc-next-page"); page == "" {
			return all.Bytes()
		}
	}
}
