{{/*
Shared names, labels and settings. Files under templates/ are copied verbatim (not Jinja-rendered).
*/}}

{{/* Chart name, truncated to a DNS label. */}}
{{- define "svc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, plus the chart name unless the release name contains it. */}}
{{- define "svc.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "svc.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every resource carries. */}}
{{- define "svc.labels" -}}
helm.sh/chart: {{ include "svc.chart" . }}
{{ include "svc.selectorLabels" . }}
app.kubernetes.io/version: {{ default .Chart.AppVersion .Values.image.tag | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels of every pod of the release (the app and the migration Job); NetworkPolicy selects these. */}}
{{- define "svc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "svc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of the serving pods only: the Service, PDB and spread constraints select these. */}}
{{- define "svc.apiSelectorLabels" -}}
{{ include "svc.selectorLabels" . }}
app.kubernetes.io/component: api
{{- end }}

{{- define "svc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "svc.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository:tag@digest when a digest is set. */}}
{{- define "svc.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
Non-secret settings as a YAML map: the ConfigMap's data, and the migration Job's env
(the Job is a pre-install hook and runs before the ConfigMap exists).
*/}}
{{- define "svc.configData" -}}
{{- include "svc.requireAuth" . -}}
ENVIRONMENT: {{ .Values.config.environment | quote }}
HOST: "0.0.0.0"
PORT: {{ .Values.containerPort | quote }}
WEB_CONCURRENCY: {{ .Values.config.webConcurrency | quote }}
GRACEFUL_TIMEOUT: {{ .Values.config.gracefulTimeout | quote }}
LOG_LEVEL: {{ .Values.config.logLevel | quote }}
LOG_FORMAT: {{ .Values.config.logFormat | quote }}
OIDC_ISSUER: {{ .Values.auth.issuer | quote }}
OIDC_AUDIENCE: {{ .Values.auth.audience | quote }}
RATE_LIMIT: {{ .Values.rateLimit.limit | quote }}
TRUSTED_PROXIES: {{ .Values.rateLimit.trustedProxies | toJson | quote }}
RATE_LIMIT_LOG_INTERVAL_SECONDS: {{ .Values.rateLimit.logIntervalSeconds | quote }}
{{- if kindIs "bool" .Values.auth.docsEnabled }}
DOCS_ENABLED: {{ .Values.auth.docsEnabled | quote }}
{{- end }}
{{- range $name, $value := .Values.config.extraEnv }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- end }}

{{/* Secret settings: env entries that reference keys of the existing Secret, never values. */}}
{{- define "svc.secretEnv" -}}
{{- $secret := .Values.existingSecret }}
{{- range $name, $key := .Values.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- end }}

{{/* The container securityContext, shared by the app and the migration Job. */}}
{{- define "svc.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}

{{/*
Secure by default: the app refuses to start outside ENVIRONMENT=local without an issuer, so
the chart refuses to render without one (values.schema.json checks the form of what is given).
*/}}
{{- define "svc.requireAuth" -}}
{{- if not (and .Values.auth.issuer .Values.auth.audience) }}
{{- fail (printf "auth.issuer and auth.audience are required: the https issuer URL of your OpenID Provider and the audience of this API's tokens, e.g. --set-string auth.issuer=https://idp.example.com/realms/platform --set-string auth.audience=%s (or in deploy/values-<environment>.yaml); the service does not start without them" (include "svc.name" .)) }}
{{- end }}
{{- end }}

{{/* The OpenID Provider's port: the one the issuer URL names, else 443. */}}
{{- define "svc.idpPort" -}}
{{- (urlParse .Values.auth.issuer).host | regexFind ":[0-9]+$" | trimPrefix ":" | default "443" }}
{{- end }}
