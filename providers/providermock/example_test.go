package providermock_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/mock/gomock"

	"github.com/orocloud/orocloud-go/providers"
	"github.com/orocloud/orocloud-go/providers/providermock"
)

// ensureAddress is the kind of caller the mocks are for: it reserves
// spec's address, retries transient errors up to three attempts, and turns
// a name taken by someone else into an error naming the owner.
func ensureAddress(ctx context.Context, addrs providers.Addresses, spec providers.AddressSpec) (*providers.Address, error) {
	var last error
	for range 3 {
		a, err := addrs.ReserveAddress(ctx, spec)
		switch {
		case err == nil:
			return a, nil
		case errors.Is(err, providers.ErrAlreadyExists):
			existing, gerr := addrs.GetAddress(ctx, spec.Region, spec.Name)
			if gerr != nil {
				return nil, gerr
			}
			return nil, fmt.Errorf("address %s belongs to environment %q: %w", spec.Name, existing.Labels[providers.LabelEnvironment], err)
		case providers.IsTransient(err):
			last = err
		default:
			return nil, err
		}
	}
	return nil, last
}

func TestEnsureAddressWithMock(t *testing.T) {
	spec := providers.AddressSpec{Name: "primary-ip", Region: "europe-west3",
		Labels: providers.Labels{providers.LabelManagedBy: providers.ManagedByValue, providers.LabelEnvironment: "acme"}}
	ok := &providers.Address{AddressSpec: spec, ID: "a-1", IP: "203.0.113.7"}
	unavailable := providers.Errorf(providers.Unavailable, "503 backend error")
	taken := &providers.Error{Code: providers.AlreadyExists, Op: "gcp.ReserveAddress", Resource: spec.Name}

	tests := []struct {
		name     string
		expect   func(m *providermock.MockAddresses)
		wantIP   string
		wantCode providers.ErrorCode
		wantMsg  string
	}{
		{
			name: "reserved at once",
			expect: func(m *providermock.MockAddresses) {
				m.EXPECT().ReserveAddress(gomock.Any(), spec).Return(ok, nil)
			},
			wantIP: "203.0.113.7",
		},
		{
			name: "transient error retried",
			expect: func(m *providermock.MockAddresses) {
				gomock.InOrder(
					m.EXPECT().ReserveAddress(gomock.Any(), spec).Return(nil, unavailable),
					m.EXPECT().ReserveAddress(gomock.Any(), spec).Return(ok, nil),
				)
			},
			wantIP: "203.0.113.7",
		},
		{
			name: "transient errors exhaust the attempts",
			expect: func(m *providermock.MockAddresses) {
				m.EXPECT().ReserveAddress(gomock.Any(), spec).Return(nil, unavailable).Times(3)
			},
			wantCode: providers.Unavailable,
		},
		{
			name: "name taken by another environment",
			expect: func(m *providermock.MockAddresses) {
				m.EXPECT().ReserveAddress(gomock.Any(), spec).Return(nil, taken)
				m.EXPECT().GetAddress(gomock.Any(), "europe-west3", "primary-ip").Return(&providers.Address{
					AddressSpec: providers.AddressSpec{Name: "primary-ip", Labels: providers.Labels{providers.LabelEnvironment: "globex"}},
				}, nil)
			},
			wantCode: providers.AlreadyExists,
			wantMsg:  `belongs to environment "globex"`,
		},
		{
			name: "permanent error not retried",
			expect: func(m *providermock.MockAddresses) {
				m.EXPECT().ReserveAddress(gomock.Any(), spec).Return(nil, providers.Errorf(providers.PermissionDenied, "403")).Times(1)
			},
			wantCode: providers.PermissionDenied,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			m := providermock.NewMockAddresses(ctrl)
			tc.expect(m)
			got, err := ensureAddress(t.Context(), m, spec)
			if tc.wantCode != providers.OK {
				require.Error(t, err)
				assert.Equal(t, tc.wantCode, providers.Code(err))
				assert.Contains(t, err.Error(), tc.wantMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantIP, got.IP)
		})
	}
}

// The full Provider mock works wherever a providers.Provider is expected;
// optional capabilities are separate mocks.
func TestProviderMockSatisfiesInterfaces(t *testing.T) {
	ctrl := gomock.NewController(t)
	var p providers.Provider = providermock.NewMockProvider(ctrl)
	var lbs providers.LoadBalancers = providermock.NewMockLoadBalancers(ctrl)
	p.(*providermock.MockProvider).EXPECT().Kind().Return(providers.KindGCP).Times(2) // once here, once in LoadBalancersOf
	assert.Equal(t, providers.KindGCP, p.Kind())
	_, err := providers.LoadBalancersOf(p)
	assert.Equal(t, providers.Unimplemented, providers.Code(err))
	assert.NotNil(t, lbs)
}
