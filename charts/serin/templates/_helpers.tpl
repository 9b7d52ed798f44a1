{{/* The release's full name: "serin" for `helm install serin`, else "<release>-serin"; 63 characters at most. */}}
{{- define "serin.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "serin.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "serin.fullname" .) -}}
{{- end -}}

{{/* Selector labels: fixed for the life of a release (a Deployment's selector cannot change). */}}
{{- define "serin.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "serin.labels" -}}
{{ include "serin.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* repository:tag, or repository:tag@digest when a digest pins it. */}}
{{- define "serin.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
Combinations Serin itself refuses at start-up, refused at render time instead so `helm install` fails
with the value to change rather than leaving a crash-looping pod.
*/}}
{{- define "serin.validate" -}}
{{- if and (not (kindIs "invalid" .Values.shards)) .Values.leaderElection.enabled -}}
{{- fail "shards and leaderElection.enabled exclude each other (with shards every replica acts on its own shards, no leader is needed): set leaderElection.enabled=false" -}}
{{- end -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) (kindIs "invalid" .Values.shards) -}}
{{- fail (printf "replicas=%d with neither leaderElection.enabled nor shards would run %d controllers acting on the same Canaries: set leaderElection.enabled=true, shards, or replicas=1" (int .Values.replicas) (int .Values.replicas)) -}}
{{- end -}}
{{- end -}}

{{/*
The rules Serin needs on the namespaces it watches, and why each verb (one API call in src/ each):
deploy/rbac.yaml is the annotated original, and a unit test keeps the two identical.
*/}}
{{- define "serin.rules" -}}
- apiGroups: [serin.dev]
  resources: [canaries]
  verbs: [list, watch, patch]
- apiGroups: [serin.dev]
  resources: [canaries/status]
  verbs: [update, patch]
- apiGroups: [serin.dev]
  resources: [canaries/finalizers]
  verbs: [update]
- apiGroups: [serin.dev]
  resources: [metrictemplates, alertproviders]
  verbs: [list, watch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [list, watch, create, patch]
- apiGroups: [apps]
  resources: [controllerrevisions]
  verbs: [get, list, create, delete]
- apiGroups: [""]
  resources: [services]
  verbs: [list, watch, create, patch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [list, watch, create, update]
- apiGroups: [""]
  resources: [pods]
  verbs: [list]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create, update]
- apiGroups: [networking.istio.io]
  resources: [virtualservices]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [networking.istio.io]
  resources: [destinationrules]
  verbs: [list, watch, create, update, delete]
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [list, watch, create, update]
- apiGroups: [""]
  resources: [events]
  verbs: [create, update]
{{- end -}}
