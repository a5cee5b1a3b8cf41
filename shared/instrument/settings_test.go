package instrument

import "testing"

func TestParseSettings(t *testing.T) {
	full := map[string]string{"CUSTOMER_ROLE_NAME": "SightlineIntegrationRole", "LAYER_ARNS": "/sightline/layer-arns",
		"RECEIVER_URL": "https://abc.lambda-url.us-east-1.on.aws/", "EVENT_BUS_ARN": "arn:aws:events:us-east-1:999999999999:event-bus/sightline-lambda-events"}
	for name, tc := range map[string]struct {
		change     map[string]string
		requireBus bool
		ok         bool
	}{
		"complete":             {nil, true, true},
		"no role":              {map[string]string{"CUSTOMER_ROLE_NAME": ""}, false, false},
		"no layers parameter":  {map[string]string{"LAYER_ARNS": ""}, false, false},
		"no receiver":          {map[string]string{"RECEIVER_URL": ""}, false, false},
		"http receiver":        {map[string]string{"RECEIVER_URL": "http://r"}, false, false},
		"bus not an ARN":       {map[string]string{"EVENT_BUS_ARN": "bus"}, false, false},
		"no bus, optional":     {map[string]string{"EVENT_BUS_ARN": ""}, false, true},
		"no bus, but required": {map[string]string{"EVENT_BUS_ARN": ""}, true, false},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range full {
				env[k] = v
			}
			for k, v := range tc.change {
				env[k] = v
			}
			s, err := ParseSettings(func(k string) string { return env[k] }, tc.requireBus)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
			if tc.ok && (s.RoleName != env["CUSTOMER_ROLE_NAME"] || s.ReceiverURL != env["RECEIVER_URL"] || s.EventBusARN != env["EVENT_BUS_ARN"] || s.LayerParameter != env["LAYER_ARNS"]) {
				t.Fatalf("settings %+v from %v", s, env)
			}
		})
	}
}
