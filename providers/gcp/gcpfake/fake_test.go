package gcpfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFilter(t *testing.T) {
	obj := map[string]any{"name": "web-1", "status": "RUNNING", "labels": map[string]any{"env": "prod", "tier": "web"},
		"region": "https://www.googleapis.com/compute/v1/projects/p/regions/europe-west3"}
	for _, tc := range []struct {
		filter string
		match  bool
	}{
		{``, true},
		{`labels.env = "prod"`, true},
		{`labels.env = "dev"`, false},
		{`(labels.env = "prod") AND (labels.tier = "web")`, true},
		{`(labels.env = "prod") (labels.tier = "db")`, false},
		{`labels.env = "prod" AND name = "web-1"`, true},
		{`name != "web-1"`, false},
		{`labels.missing != "x"`, true},
		{`region eq .*/regions/europe-west3`, true},
		{`region eq .*/regions/europe-west`, false},
		{`name ne web-.*`, false},
		{`name eq 'web-[0-9]'`, true},
	} {
		f, err := parseFilter(tc.filter)
		require.NoError(t, err, tc.filter)
		assert.Equal(t, tc.match, f.match(obj), tc.filter)
	}
	for _, bad := range []string{`(labels.env = "x"`, `labels.env ~ x`, `(a = "1") OR (b = "2")`, `name eq (`} {
		_, err := parseFilter(bad)
		assert.Error(t, err, bad)
	}
}

func do(t *testing.T, method, url string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res, out
}

func TestPagingRequestIDAndOperations(t *testing.T) {
	srv := New(&Options{OperationDelay: 30 * time.Millisecond})
	defer srv.Close()
	base := srv.URL + "/compute/v1/projects/p/global/firewalls"
	for i := range 5 {
		res, op := do(t, http.MethodPost, base+"?requestId=r"+fmt.Sprint(i), map[string]any{"name": fmt.Sprintf("fw-%d", i)})
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, "RUNNING", op["status"])
	}
	// A repeated requestId returns the first operation, applying nothing.
	_, op := do(t, http.MethodPost, base+"?requestId=r0", map[string]any{"name": "fw-dup"})
	assert.Contains(t, op["targetLink"], "/fw-0")
	res, _ := do(t, http.MethodGet, base+"/fw-dup", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	// Conflicts.
	res, body := do(t, http.MethodPost, base, map[string]any{"name": "fw-1"})
	assert.Equal(t, http.StatusConflict, res.StatusCode)
	assert.Contains(t, body["error"].(map[string]any)["message"], "already exists")

	// Paging.
	var names []string
	tok := ""
	pages := 0
	for {
		_, list := do(t, http.MethodGet, base+"?maxResults=2&pageToken="+tok, nil)
		pages++
		for _, it := range list["items"].([]any) {
			names = append(names, it.(map[string]any)["name"].(string))
		}
		next, _ := list["nextPageToken"].(string)
		if next == "" {
			break
		}
		tok = next
	}
	assert.Equal(t, []string{"fw-0", "fw-1", "fw-2", "fw-3", "fw-4"}, names)
	assert.Equal(t, 3, pages)

	// Operations complete after the delay.
	time.Sleep(40 * time.Millisecond)
	link := op["selfLink"].(string)
	_, got := do(t, http.MethodGet, srv.URL+link[strings.Index(link, "/compute/v1/"):], nil)
	assert.Equal(t, "DONE", got["status"])
	assert.Equal(t, 7, len(srv.MutatingRequests()))
}

func TestFaults(t *testing.T) {
	srv := New(nil)
	defer srv.Close()
	url := srv.URL + "/compute/v1/projects/p/zones"
	srv.InjectFault(Fault{Method: http.MethodGet, Path: "/zones", Nth: 2, Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
	res, _ := do(t, http.MethodGet, url, nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = do(t, http.MethodGet, url, nil)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, "2", res.Header.Get("Retry-After"))
	res, _ = do(t, http.MethodGet, url, nil)
	assert.Equal(t, http.StatusOK, res.StatusCode, "Nth fires Times (1) requests")

	srv.ClearFaults()
	srv.InjectFault(Fault{Path: "/zones", Drop: true})
	_, err := http.Get(url)
	assert.Error(t, err, "dropped connection")

	srv.ClearFaults()
	srv.InjectFault(Fault{Path: "/zones", Rate: 0.5, Seed: 7, Status: http.StatusServiceUnavailable})
	failed := 0
	for range 40 {
		res, _ := do(t, http.MethodGet, url, nil)
		if res.StatusCode == http.StatusServiceUnavailable {
			failed++
		}
	}
	assert.InDelta(t, 20, failed, 10, "about half fail")
	reqs := srv.Requests()
	assert.Equal(t, 0, reqs[3].Status, "a dropped request is logged with status 0")
}
