package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	sigyaml "sigs.k8s.io/yaml"
)

// deployDir is deploy/, the parent of this module.
const deployDir = ".."

func read(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// --- docker compose -----------------------------------------------------------

// loadCompose loads deploy/docker-compose.yaml as `docker compose config`
// does (same library, schema validation on), with env as the .env file.
func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	var lines []string
	for k, v := range env {
		lines = append(lines, k+"="+v)
	}
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(deployDir, "docker-compose.yaml")},
		cli.WithName("nango"), cli.WithWorkingDirectory(deployDir), cli.WithEnvFiles(envFile), cli.WithDotEnv)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

var filledEnv = map[string]string{
	"NANGO_DB_PASSWORD":    "db-password-for-validation",
	"NANGO_SECRET_KEY":     "secret-key-for-validation",
	"NANGO_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}

func TestComposeFile(t *testing.T) {
	p, err := loadCompose(t, filledEnv)
	if err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	db, err := p.GetService("nango-db")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := p.GetService("nango-server")
	if err != nil {
		t.Fatal(err)
	}

	// The database lives on a named volume that outlives the containers.
	var dataVol string
	for _, v := range db.Volumes {
		if v.Target == "/var/lib/postgresql/data" {
			if v.Type != types.VolumeTypeVolume {
				t.Errorf("PostgreSQL data is a %s mount, want a named volume", v.Type)
			}
			dataVol = v.Source
		}
	}
	if dataVol == "" {
		t.Fatal("PostgreSQL data directory is not on a volume: the data would die with the container")
	}
	if vol, ok := p.Volumes[dataVol]; !ok || vol.Name != "nango-db-data" || bool(vol.External) {
		t.Errorf("volume %q = %+v, want the declared named volume nango-db-data", dataVol, vol)
	}
	if db.HealthCheck == nil || len(db.HealthCheck.Test) == 0 {
		t.Error("nango-db has no health check")
	}

	if dep, ok := srv.DependsOn["nango-db"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("nango-server depends_on nango-db = %+v, want condition service_healthy", dep)
	}
	if srv.Build == nil || srv.Build.Dockerfile != "deploy/Dockerfile" {
		t.Errorf("nango-server build = %+v, want deploy/Dockerfile", srv.Build)
	}
	envOf := func(k string) string {
		if v := srv.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	for k, want := range map[string]string{
		"NANGO_DB_HOST":        "nango-db",
		"NANGO_DB_PASSWORD":    filledEnv["NANGO_DB_PASSWORD"],
		"NANGO_SECRET_KEY":     filledEnv["NANGO_SECRET_KEY"],
		"NANGO_ENCRYPTION_KEY": filledEnv["NANGO_ENCRYPTION_KEY"],
	} {
		if got := envOf(k); got != want {
			t.Errorf("nango-server %s = %q, want %q", k, got, want)
		}
	}
	if db.Environment["POSTGRES_PASSWORD"] == nil || *db.Environment["POSTGRES_PASSWORD"] != filledEnv["NANGO_DB_PASSWORD"] {
		t.Error("the database and the server do not share NANGO_DB_PASSWORD")
	}
	if srv.HealthCheck == nil || !slices.Contains(srv.HealthCheck.Test, "/ready") {
		t.Errorf("nango-server health check = %+v, want the image's healthcheck on /ready", srv.HealthCheck)
	}
}

// TestComposeRefusesMissingSecrets: no default secret ever; the error names
// the variable.
func TestComposeRefusesMissingSecrets(t *testing.T) {
	for _, name := range []string{"NANGO_DB_PASSWORD", "NANGO_SECRET_KEY", "NANGO_ENCRYPTION_KEY"} {
		env := map[string]string{}
		for k, v := range filledEnv {
			if k != name {
				env[k] = v
			}
		}
		_, err := loadCompose(t, env)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: %v, want an error naming it", name, err)
		}
	}
}

// TestEnvExampleHasEveryVariable: .env.example lists every variable the
// compose file requires, with no value filled in for the secrets.
func TestEnvExampleHasEveryVariable(t *testing.T) {
	example := string(read(t, ".env.example"))
	compose := string(read(t, "docker-compose.yaml"))
	for _, m := range regexp.MustCompile(`\$\{([A-Z_]+):\?`).FindAllStringSubmatch(compose, -1) {
		if !regexp.MustCompile(`(?m)^` + m[1] + `=$`).MatchString(example) {
			t.Errorf(".env.example lacks an empty %s= line", m[1])
		}
	}
}

// --- Kubernetes -------------------------------------------------------------

// strict decodes a manifest into a typed Kubernetes object, refusing any
// field the API does not have.
func strict(t *testing.T, rel string, into any) {
	t.Helper()
	if err := sigyaml.UnmarshalStrict(read(t, rel), into); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

func TestKubernetesManifests(t *testing.T) {
	var kust struct {
		APIVersion string           `yaml:"apiVersion"`
		Kind       string           `yaml:"kind"`
		Labels     []map[string]any `yaml:"labels"`
		Resources  []string         `yaml:"resources"`
		Images     []map[string]any `yaml:"images"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(read(t, "kubernetes/kustomization.yaml")))
	dec.KnownFields(true)
	if err := dec.Decode(&kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	want := []string{"deployment.yaml", "service.yaml", "pdb.yaml"}
	if !slices.Equal(kust.Resources, want) {
		t.Errorf("kustomization resources = %v, want %v", kust.Resources, want)
	}

	var dep appsv1.Deployment
	var svc corev1.Service
	var pdb policyv1.PodDisruptionBudget
	var sec corev1.Secret
	strict(t, "kubernetes/deployment.yaml", &dep)
	strict(t, "kubernetes/service.yaml", &svc)
	strict(t, "kubernetes/pdb.yaml", &pdb)
	strict(t, "kubernetes/secret.example.yaml", &sec)
	for _, o := range []struct{ got, want string }{
		{dep.APIVersion + " " + dep.Kind, "apps/v1 Deployment"},
		{svc.APIVersion + " " + svc.Kind, "v1 Service"},
		{pdb.APIVersion + " " + pdb.Kind, "policy/v1 PodDisruptionBudget"},
		{sec.APIVersion + " " + sec.Kind, "v1 Secret"},
	} {
		if o.got != o.want {
			t.Errorf("kind %q, want %q", o.got, o.want)
		}
	}

	// Replicas and rollout.
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas < 2 {
		t.Errorf("replicas = %v, want several", dep.Spec.Replicas)
	}
	podLabels := labels.Set(dep.Spec.Template.Labels)
	sel, err := metav1LabelSelector(dep.Spec.Selector.MatchLabels)
	if err != nil || !sel.Matches(podLabels) {
		t.Errorf("the Deployment's selector does not match its pods: %v", err)
	}
	if ru := dep.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Error("rolling updates may take serving pods down before new ones are ready (maxUnavailable should be 0)")
	}

	// The container.
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("containers = %d, want 1", len(dep.Spec.Template.Spec.Containers))
	}
	c := dep.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe missing", name)
			return
		}
		if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe = %s on %s, want %s on the http port", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
		}
	}
	probe("readiness", c.ReadinessProbe, "/ready")
	probe("liveness", c.LivenessProbe, "/health")
	probe("startup", c.StartupProbe, "/health")
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if p := env["SERVER_PORT"].Value; p == "" || ports["http"] == 0 || p != itoa(ports["http"]) {
		t.Errorf("SERVER_PORT %q does not match the http container port %d", p, ports["http"])
	}
	if env["NANGO_METRICS"].Value != "port" || env["NANGO_METRICS_ADDR"].Value != ":"+itoa(ports["metrics"]) {
		t.Errorf("metrics: NANGO_METRICS=%q NANGO_METRICS_ADDR=%q, metrics port %d", env["NANGO_METRICS"].Value, env["NANGO_METRICS_ADDR"].Value, ports["metrics"])
	}
	// Keys come from the Secret, and the example Secret has each of them.
	for _, name := range []string{"NANGO_SECRET_KEY", "NANGO_ENCRYPTION_KEY", "NANGO_DATABASE_URL"} {
		e, ok := env[name]
		if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.Value != "" {
			t.Errorf("%s must come from a Secret", name)
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if ref.Name != sec.Name {
			t.Errorf("%s reads Secret %q, the example is %q", name, ref.Name, sec.Name)
		}
		if _, ok := sec.StringData[ref.Key]; !ok {
			t.Errorf("the example Secret lacks key %s", ref.Key)
		}
		if ref.Optional != nil && *ref.Optional {
			t.Errorf("%s is optional: a pod would start without it", name)
		}
	}
	for _, v := range sec.StringData {
		if !strings.HasPrefix(v, "REPLACE") {
			t.Errorf("example Secret value %q is not a placeholder", v)
		}
	}
	// Resources and security.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("no memory limit")
	}
	psc := dep.Spec.Template.Spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("pods may run as root")
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("container security context: want a read-only root filesystem and no privilege escalation")
	}
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g <= 30 {
		t.Error("terminationGracePeriodSeconds must exceed NANGO_SHUTDOWN_TIMEOUT (30s)")
	}

	// Service and PDB select the pods.
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) || len(svc.Spec.Selector) == 0 {
		t.Error("the Service does not select the Deployment's pods")
	}
	for _, p := range svc.Spec.Ports {
		if _, ok := ports[p.TargetPort.String()]; !ok {
			t.Errorf("Service port %s targets %q, not a named container port", p.Name, p.TargetPort.String())
		}
	}
	psel, err := metav1LabelSelector(pdb.Spec.Selector.MatchLabels)
	if err != nil || !psel.Matches(podLabels) {
		t.Error("the PodDisruptionBudget does not select the Deployment's pods")
	}
	if pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
		t.Error("the PodDisruptionBudget sets neither maxUnavailable nor minAvailable")
	}
	if pdb.Spec.MaxUnavailable != nil && pdb.Spec.MaxUnavailable.IntValue() >= int(*dep.Spec.Replicas) {
		t.Error("the PodDisruptionBudget allows every replica down")
	}
	// The image name matches the kustomization's override.
	if len(kust.Images) == 0 || kust.Images[0]["name"] != c.Image {
		t.Errorf("kustomization images %v do not name the container image %q", kust.Images, c.Image)
	}
}

func metav1LabelSelector(m map[string]string) (labels.Selector, error) {
	if len(m) == 0 {
		return labels.Nothing(), nil
	}
	return labels.SelectorFromValidatedSet(labels.Set(m)), nil
}

func itoa(n int32) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// --- Render, Heroku -----------------------------------------------------------

func TestRenderBlueprint(t *testing.T) {
	type envVar struct {
		Key           string            `yaml:"key"`
		Value         string            `yaml:"value"`
		GenerateValue bool              `yaml:"generateValue"`
		Sync          *bool             `yaml:"sync"`
		FromDatabase  map[string]string `yaml:"fromDatabase"`
	}
	var bp struct {
		Services []struct {
			Type            string   `yaml:"type"`
			Name            string   `yaml:"name"`
			Runtime         string   `yaml:"runtime"`
			DockerfilePath  string   `yaml:"dockerfilePath"`
			DockerContext   string   `yaml:"dockerContext"`
			HealthCheckPath string   `yaml:"healthCheckPath"`
			AutoDeploy      bool     `yaml:"autoDeploy"`
			EnvVars         []envVar `yaml:"envVars"`
		} `yaml:"services"`
		Databases []struct {
			Name         string `yaml:"name"`
			DatabaseName string `yaml:"databaseName"`
			User         string `yaml:"user"`
		} `yaml:"databases"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(read(t, "render.yaml")))
	dec.KnownFields(true)
	if err := dec.Decode(&bp); err != nil {
		t.Fatalf("render.yaml: %v", err)
	}
	if len(bp.Services) != 1 || len(bp.Databases) != 1 {
		t.Fatalf("render.yaml: %d services, %d databases, want 1 and 1", len(bp.Services), len(bp.Databases))
	}
	s := bp.Services[0]
	if s.Runtime != "docker" || s.DockerfilePath != "./deploy/Dockerfile" || s.DockerContext != "." || s.HealthCheckPath != "/ready" {
		t.Errorf("render service = %+v", s)
	}
	if _, err := os.Stat(filepath.Join(deployDir, "..", s.DockerfilePath)); err != nil {
		t.Errorf("dockerfilePath: %v", err)
	}
	env := map[string]envVar{}
	for _, e := range s.EnvVars {
		env[e.Key] = e
	}
	if db := env["NANGO_DATABASE_URL"].FromDatabase; db["name"] != bp.Databases[0].Name || db["property"] != "connectionString" {
		t.Errorf("NANGO_DATABASE_URL = %+v, want the blueprint database's connectionString", db)
	}
	for _, k := range []string{"NANGO_SECRET_KEY", "NANGO_ENCRYPTION_KEY"} {
		if !env[k].GenerateValue || env[k].Value != "" {
			t.Errorf("%s must be generated, never written in the blueprint", k)
		}
	}
	if e, ok := env["NANGO_SERVER_URL"]; !ok || e.Sync == nil || *e.Sync {
		t.Error("NANGO_SERVER_URL must be asked for (sync: false)")
	}
	if _, ok := env["SERVER_PORT"]; ok {
		t.Error("SERVER_PORT would override the PORT Render assigns")
	}
}

func TestHeroku(t *testing.T) {
	var app struct {
		Name        string                 `json:"name"`
		Description string                 `json:"description"`
		Keywords    []string               `json:"keywords"`
		Repository  string                 `json:"repository"`
		SuccessURL  string                 `json:"success_url"`
		Buildpacks  []struct{ URL string } `json:"buildpacks"`
		Addons      []struct {
			Plan string `json:"plan"`
			As   string `json:"as"`
		} `json:"addons"`
		Formation map[string]struct {
			Quantity int `json:"quantity"`
		} `json:"formation"`
		Env map[string]struct {
			Description string `json:"description"`
			Value       string `json:"value"`
			Required    *bool  `json:"required"`
			Generator   string `json:"generator"`
		} `json:"env"`
	}
	dec := json.NewDecoder(bytes.NewReader(read(t, "heroku/app.json")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&app); err != nil {
		t.Fatalf("heroku/app.json: %v", err)
	}
	if len(app.Addons) != 1 || !strings.HasPrefix(app.Addons[0].Plan, "heroku-postgresql") || app.Addons[0].As != "DATABASE" {
		t.Errorf("addons = %+v, want heroku-postgresql as DATABASE (the server reads DATABASE_URL)", app.Addons)
	}
	if app.Env["GO_INSTALL_PACKAGE_SPEC"].Value != "./cmd/nango" {
		t.Error("the Go buildpack must install ./cmd/nango")
	}
	if r := app.Env["NANGO_SERVER_URL"].Required; r == nil || !*r {
		t.Error("NANGO_SERVER_URL must be required")
	}
	if app.Env["NANGO_SECRET_KEY"].Generator != "secret" {
		t.Error("NANGO_SECRET_KEY should be generated")
	}
	if e := app.Env["NANGO_ENCRYPTION_KEY"]; e.Generator != "" || e.Required == nil || !*e.Required || e.Value != "" {
		t.Error("NANGO_ENCRYPTION_KEY must be required and supplied (Heroku's hex generator does not make a base64 key)")
	}
	if _, ok := app.Env["PORT"]; ok {
		t.Error("PORT is Heroku's to set")
	}
	proc := string(read(t, "heroku/Procfile"))
	for _, want := range []string{"web: ./bin/nango serve", "release: ./bin/nango migrate"} {
		if !strings.Contains(proc, want+"\n") {
			t.Errorf("Procfile lacks %q", want)
		}
	}
}

// --- Dockerfile -----------------------------------------------------------------

// TestDockerfile checks, line by line, what a build cannot be run here to
// show (no Docker engine): a static CGO_ENABLED=0 build of ./cmd/nango with
// the module's Go version, a distroless/static base, a non-root user, the
// health check, the data volume.
func TestDockerfile(t *testing.T) {
	df := string(read(t, "Dockerfile"))
	goMod := string(read(t, "../go.mod"))
	// The image is built with the toolchain go.mod asks for (its toolchain
	// line, which carries the standard library's security fixes), else its
	// go line.
	m := regexp.MustCompile(`(?m)^toolchain go(\S+)$`).FindStringSubmatch(goMod)
	if m == nil {
		m = regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(goMod)
	}
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	checks := []struct {
		name string
		re   string
	}{
		{"Go version of go.mod", `(?m)^ARG GO_VERSION=` + regexp.QuoteMeta(m[1]) + `$`},
		{"build stage", `(?m)^FROM golang:\$\{GO_VERSION\}-\S+ AS build$`},
		{"static build of ./cmd/nango", `CGO_ENABLED=0 GOOS=linux go build -trimpath[^\n]*\\\n[^\n]*\\\n\s*-o /out/nango ./cmd/nango`},
		{"health check binary", `CGO_ENABLED=0 GOOS=linux go build [^\n]*-o /out/healthcheck ./deploy/healthcheck`},
		{"distroless static runtime", `(?m)^FROM gcr\.io/distroless/static-debian\d+:nonroot$`},
		{"non-root user", `(?m)^USER 65532:65532$`},
		{"data volume", `(?m)^VOLUME \["/data"\]$`},
		{"data dir", `NANGO_DATA_DIR=/data`},
		{"health check", `(?m)^HEALTHCHECK .*CMD \["/usr/local/bin/healthcheck"\]$`},
		{"entrypoint", `(?m)^ENTRYPOINT \["/usr/local/bin/nango"\]$`},
		{"serve", `(?m)^CMD \["serve"\]$`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.re).MatchString(df) {
			t.Errorf("Dockerfile: %s (no match for %s)", c.name, c.re)
		}
	}
	var code []string // the Dockerfile without its comments
	for _, l := range strings.Split(df, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			code = append(code, l)
		}
	}
	// SERVER_PORT would override the PORT that Heroku and Render assign.
	for _, bad := range []string{"SERVER_PORT", ":latest", "ADD http", "USER root", "USER 0"} {
		if strings.Contains(strings.Join(code, "\n"), bad) {
			t.Errorf("Dockerfile contains %q", bad)
		}
	}
	ignore := string(read(t, "Dockerfile.dockerignore"))
	for _, want := range []string{".git", "**/node_modules", "deploy/.env"} {
		if !strings.Contains(ignore, want+"\n") {
			t.Errorf("Dockerfile.dockerignore lacks %s", want)
		}
	}
}
