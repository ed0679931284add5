package environment_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

func urgentNotice() environment.Notice {
	return environment.Notice{
		Reason:           "critical OpenSSL patch",
		Start:            utc("2026-11-25T14:00:00Z"),
		ExpectedDuration: 30 * time.Minute,
		Severity:         environment.SeverityCritical,
	}
}

func TestAnnounceUrgentMaintenance(t *testing.T) {
	env := gcpEnv()
	env.TechnicalContact = environment.Contact{Name: "Jane Doe", Email: "jane@example.com"}
	var got []environment.Notice
	n := environment.NotifierFunc(func(ctx context.Context, n environment.Notice) error {
		got = append(got, n)
		return nil
	})
	require.NoError(t, environment.AnnounceUrgentMaintenance(context.Background(), env, n, urgentNotice()))
	require.Len(t, got, 1)
	assert.Equal(t, "acme-prod", got[0].Environment)
	assert.Equal(t, env.TechnicalContact, got[0].Contact)
	assert.False(t, got[0].InWindow, "Wednesday afternoon is outside the Sunday window")
	assert.Contains(t, got[0].String(), "critical OpenSSL patch")

	inWindow := urgentNotice()
	inWindow.Start = utc("2026-11-29T03:00:00Z")
	require.NoError(t, environment.AnnounceUrgentMaintenance(context.Background(), env, n, inWindow))
	assert.True(t, got[1].InWindow)
}

func TestAnnounceUrgentMaintenanceRefusesBadInput(t *testing.T) {
	calls := 0
	n := environment.NotifierFunc(func(context.Context, environment.Notice) error { calls++; return nil })
	for _, tc := range []struct {
		name   string
		env    *environment.Environment
		n      environment.Notifier
		edit   func(*environment.Notice)
		fields []string
	}{
		{"nil environment", nil, n, nil, []string{"env"}},
		{"nil notifier", gcpEnv(), nil, nil, []string{"notifier"}},
		{"no reason", gcpEnv(), n, func(x *environment.Notice) { x.Reason = " " }, []string{"notice.reason"}},
		{"no start", gcpEnv(), n, func(x *environment.Notice) { x.Start = time.Time{} }, []string{"notice.start"}},
		{"no duration", gcpEnv(), n, func(x *environment.Notice) { x.ExpectedDuration = 0 }, []string{"notice.expectedDuration"}},
		{"too long", gcpEnv(), n, func(x *environment.Notice) { x.ExpectedDuration = 48 * time.Hour }, []string{"notice.expectedDuration"}},
		{"unknown severity", gcpEnv(), n, func(x *environment.Notice) { x.Severity = "meh" }, []string{"notice.severity"}},
		{"another environment", gcpEnv(), n, func(x *environment.Notice) { x.Environment = "other" }, []string{"notice.environment"}},
		{"everything at once", gcpEnv(), nil, func(x *environment.Notice) { *x = environment.Notice{} },
			[]string{"notifier", "notice.reason", "notice.start", "notice.expectedDuration", "notice.severity"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			notice := urgentNotice()
			if tc.edit != nil {
				tc.edit(&notice)
			}
			ve := validationError(t, environment.AnnounceUrgentMaintenance(context.Background(), tc.env, tc.n, notice))
			for _, f := range tc.fields {
				assert.True(t, ve.Has(f), "missing %s in %v", f, ve)
			}
		})
	}
	env := gcpEnv()
	env.TechnicalContact.Email = "nope"
	ve := validationError(t, environment.AnnounceUrgentMaintenance(context.Background(), env, n, urgentNotice()))
	assert.True(t, ve.Has("technicalContact.email"))
	assert.Zero(t, calls, "nothing is sent on bad input")
}

func TestAnnounceUrgentMaintenanceDeliveryErrors(t *testing.T) {
	env := gcpEnv()
	raw := errors.New("smtp: connection refused")
	err := environment.AnnounceUrgentMaintenance(context.Background(), env,
		environment.NotifierFunc(func(context.Context, environment.Notice) error { return raw }), urgentNotice())
	assert.ErrorIs(t, err, raw)
	assert.Equal(t, providers.Unavailable, providers.Code(err))

	denied := providers.Errorf(providers.PermissionDenied, "mail API: forbidden")
	err = environment.AnnounceUrgentMaintenance(context.Background(), env,
		environment.NotifierFunc(func(context.Context, environment.Notice) error { return denied }), urgentNotice())
	assert.ErrorIs(t, err, providers.ErrPermissionDenied)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err = environment.AnnounceUrgentMaintenance(ctx, env,
		environment.NotifierFunc(func(context.Context, environment.Notice) error { called = true; return nil }), urgentNotice())
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, providers.Canceled, providers.Code(err))
	assert.False(t, called)
}

func TestLogNotifier(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	env := gcpEnv()
	require.NoError(t, environment.AnnounceUrgentMaintenance(context.Background(), env, environment.NewLogNotifier(logger), urgentNotice()))
	out := buf.String()
	assert.Contains(t, out, `"level":"ERROR"`)
	assert.Contains(t, out, `"msg":"urgent maintenance"`)
	assert.Contains(t, out, `"environment":"acme-prod"`)
	assert.Contains(t, out, `"contact_email":"ops@example.com"`)
	assert.Contains(t, out, `"reason":"critical OpenSSL patch"`)

	buf.Reset()
	notice := urgentNotice()
	notice.Severity = environment.SeverityLow
	require.NoError(t, environment.NewLogNotifier(logger).Notify(context.Background(), notice))
	assert.Contains(t, buf.String(), `"level":"WARN"`)

	assert.NoError(t, environment.NewLogNotifier(nil).Notify(context.Background(), notice))
	var nilLog *environment.LogNotifier
	assert.ErrorIs(t, nilLog.Notify(context.Background(), notice), providers.ErrInvalidArgument)
	var nilFunc environment.NotifierFunc
	assert.ErrorIs(t, nilFunc.Notify(context.Background(), notice), providers.ErrInvalidArgument)
	err := environment.AnnounceUrgentMaintenance(context.Background(), env, nilLog, notice)
	assert.ErrorIs(t, err, providers.ErrInvalidArgument)
}
