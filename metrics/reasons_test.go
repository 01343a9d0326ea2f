package metrics_test

import (
	"strings"
	"testing"

	"github.com/authgql/server/auth"
	"github.com/authgql/server/metrics"
)

// TestEveryAuthReasonHasItsOwnSeries keeps the metrics package's copy of
// the reason codes in step with the auth package: a reason added there
// without being added here would be counted as "other".
func TestEveryAuthReasonHasItsOwnSeries(t *testing.T) {
	reasons := []auth.Reason{
		auth.ReasonUnavailable, auth.ReasonMissing, auth.ReasonInvalidHeader, auth.ReasonTokenExpired,
		auth.ReasonInvalidClaims, auth.ReasonInvalidToken, auth.ReasonInsufficientScope,
	}
	m := newMetrics(t, metrics.Options{})
	for _, s := range []metrics.Surface{metrics.SurfaceGraphQL, metrics.SurfaceREST, metrics.SurfaceWebSocket} {
		for _, r := range reasons {
			m.RequestRefused(s, string(r))
		}
	}
	for _, r := range []auth.Reason{auth.ReasonMissing, auth.ReasonTokenExpired, auth.ReasonInsufficientScope} {
		m.FieldDenied(metrics.SurfaceGraphQL, string(r))
	}
	got, _ := scrape(t, m)
	for k, v := range got {
		if strings.Contains(k, `"other"`) {
			t.Errorf("%s = %v: an auth reason or surface is missing from the metrics package's sets", k, v)
		}
	}
	for _, r := range reasons {
		k := `authgql_requests_refused_total{reason="` + string(r) + `",surface="rest"}`
		if got[k] != 1 {
			t.Errorf("%s = %v; want 1", k, got[k])
		}
	}
}
