package ebsrv

import "testing"

// The twin runs each function with the environment the template gives it.
func TestTemplateFunctionEnvironment(t *testing.T) {
	tmpl, err := LoadTemplate("../../../template.yaml", map[string]string{"Prefix": "team/cp"})
	if err != nil {
		t.Fatal(err)
	}
	env := tmpl.Env["StartExportFunction"]
	if env["CACHEPORT_PREFIX"] != "team/cp" || env["CACHEPORT_BUCKET"] == "" || env["CACHEPORT_BUS_NAME"] != "cacheport" {
		t.Fatalf("start-export environment %v", env)
	}
	if tmpl.Env["CleanupExportFunction"]["CACHEPORT_MAX_ATTEMPTS"] == "" {
		t.Fatalf("cleanup-export environment %v", tmpl.Env["CleanupExportFunction"])
	}
}
