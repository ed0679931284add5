package providertest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/memory"
	"github.com/orocloud/orocloud-go/providers/providertest"
)

// The suite must fail on providers that break a contract sentence. Each
// broken provider below wraps the memory provider (embedding the interface
// hides its load balancers) and breaks one sentence; the suite runs on it in
// a child process of this test binary, which must fail in the subtest
// checking that sentence.

type plain struct{ providers.Provider }

type unsortedList struct{ providers.Provider }

func (u unsortedList) ListInstances(ctx context.Context, region string, sel providers.Labels) ([]providers.Instance, error) {
	list, err := u.Provider.ListInstances(ctx, region, sel)
	slices.Reverse(list)
	return list, err
}

type nonIdempotent struct{ providers.Provider }

func (n nonIdempotent) CreateInstance(ctx context.Context, spec providers.InstanceSpec) (*providers.Instance, error) {
	if _, err := n.Provider.GetInstance(ctx, spec.Ref()); err == nil {
		return nil, providers.Errorf(providers.AlreadyExists, "exists")
	}
	return n.Provider.CreateInstance(ctx, spec)
}

type leakyPut struct{ providers.Provider }

func (l leakyPut) PutObject(ctx context.Context, bucket, key string, r io.Reader, opts *providers.PutOptions) (providers.ObjectInfo, error) {
	b, readErr := io.ReadAll(r)
	info, err := l.Provider.PutObject(context.WithoutCancel(ctx), bucket, key, bytes.NewReader(b), opts)
	if readErr != nil {
		return info, readErr
	}
	return info, err
}

type uncodedNotFound struct{ providers.Provider }

func (u uncodedNotFound) GetInstance(ctx context.Context, ref providers.InstanceRef) (*providers.Instance, error) {
	inst, err := u.Provider.GetInstance(ctx, ref)
	if providers.Code(err) == providers.NotFound {
		return nil, errors.New("404 not found")
	}
	return inst, err
}

var broken = map[string]struct {
	wrap     func(providers.Provider) providers.Provider
	failures []string // subtests that must fail
}{
	"unsorted":      {func(p providers.Provider) providers.Provider { return unsortedList{p} }, []string{"Instances/ListBySelectorSortedByName"}},
	"nonidempotent": {func(p providers.Provider) providers.Provider { return nonIdempotent{p} }, []string{"Instances/CreateIdempotentByName"}},
	"leakyput":      {func(p providers.Provider) providers.Provider { return leakyPut{p} }, []string{"Objects/PutReaderErrorLeavesNoObject", "Objects/PutReaderErrorKeepsPreviousObject", "Objects/PutCanceledMidwayLeavesNoObject"}},
	"uncoded":       {func(p providers.Provider) providers.Provider { return uncodedNotFound{p} }, []string{"Instances/GetMissingNotFound", "Instances/DeletedNotListed"}},
}

type harness struct {
	wrap func(providers.Provider) providers.Provider
}

func (h harness) MakeProvider(context.Context) (providers.Provider, error) {
	return h.wrap(memory.New(nil)), nil
}

func (harness) Config() providertest.Config {
	return providertest.Config{Region: "europe-west3", Zones: []string{"europe-west3-a", "europe-west3-b"}, GlobalAddresses: true, LargeObjectSize: 64 << 10}
}

func (harness) Close() {}

const childEnv = "PROVIDERTEST_BROKEN"

// TestBrokenProviderChild is the child process's test; it does nothing in
// a normal run.
func TestBrokenProviderChild(t *testing.T) {
	name := os.Getenv(childEnv)
	if name == "" {
		t.Skip("runs only as the child of TestSuiteFailsOnBrokenProviders")
	}
	providertest.Run(t, func(context.Context, *testing.T) (providertest.Harness, error) {
		return harness{wrap: broken[name].wrap}, nil
	})
}

func TestSuiteFailsOnBrokenProviders(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("child process")
	}
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenProviderChild$", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"="+name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed on a broken provider (err %v):\n%s", err, out)
			}
			for _, sub := range b.failures {
				if !strings.Contains(string(out), "--- FAIL: TestBrokenProviderChild/"+sub+" ") {
					t.Errorf("subtest %s did not fail:\n%s", sub, out)
				}
			}
		})
	}
}

// TestSuitePassesOnMemory is the control: the same harness without a
// break passes in process.
func TestSuitePassesOnMemory(t *testing.T) {
	providertest.Run(t, func(context.Context, *testing.T) (providertest.Harness, error) {
		return harness{wrap: func(p providers.Provider) providers.Provider { return plain{p} }}, nil
	})
}
