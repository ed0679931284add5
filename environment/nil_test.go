package environment_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/orocloud/orocloud-go/environment"
	"github.com/orocloud/orocloud-go/providers"
)

// TestNilAndZeroValues calls the public API with nil receivers and zero
// values: every call returns an error (or a not-OK result), none panics.
func TestNilAndZeroValues(t *testing.T) {
	var nilEnv *environment.Environment
	var zero environment.Environment
	inv := func(t *testing.T, err error) {
		t.Helper()
		assert.ErrorIs(t, err, providers.ErrInvalidArgument)
	}
	assert.NotPanics(t, func() {
		inv(t, nilEnv.Validate())
		inv(t, zero.Validate())
		inv(t, nilEnv.ValidateZones(nil))
		inv(t, zero.ValidateZones(nil))
		_, err := nilEnv.Place(nil)
		inv(t, err)
		_, err = zero.Place(nil)
		inv(t, err)
		_, err = zero.Place(zones3("r"))
		inv(t, err)
		assert.Nil(t, nilEnv.Clone())
		assert.Equal(t, &zero, zero.Clone())
		_, err = nilEnv.MarshalJSON()
		inv(t, err)
		_, err = nilEnv.MarshalYAML()
		inv(t, err)
		_, err = zero.MarshalYAML()
		assert.NoError(t, err)

		assert.False(t, environment.AnalyzeZoneLoss(nil, nil).OK())
		assert.False(t, environment.AnalyzeZoneLoss(&zero, nil).OK())
		assert.False(t, environment.AnalyzeZoneLoss(&zero, []environment.Node{{}}).OK())

		var w environment.Window
		_, _, err = w.Next(time.Now())
		inv(t, err)
		_, err = w.Contains(time.Time{})
		inv(t, err)
		inv(t, w.Validate())

		inv(t, environment.Notice{}.Validate())
		inv(t, environment.AnnounceUrgentMaintenance(context.Background(), nil, nil, environment.Notice{}))
		inv(t, (&environment.LogNotifier{}).Notify(context.Background(), environment.Notice{}))

		_, err = environment.Load(nil, environment.YAML)
		inv(t, err)
		_, err = environment.Load(nil, environment.JSON)
		inv(t, err)
		_, err = environment.Load([]byte("name: a"), "")
		inv(t, err)
		_, err = environment.LoadFile("")
		inv(t, err)
		_, err = environment.Decode(nil, "")
		inv(t, err)

		_, ok := environment.DefaultDRRegion("", "")
		assert.False(t, ok)
		assert.False(t, environment.KnownRegion("", ""))
		assert.Nil(t, environment.Regions(""))

		var ve *environment.ValidationError
		assert.NoError(t, ve.Unwrap())
		var de *environment.DecodeError
		assert.Equal(t, "<nil>", de.Error())
		assert.NoError(t, de.Unwrap())
	})
}
