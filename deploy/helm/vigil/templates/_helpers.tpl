{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vigil.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector of one role's pods: (dict "root" $ "role" "engine") */}}
{{- define "vigil.roleSelectorLabels" -}}
{{ include "vigil.selectorLabels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vigil.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "vigil.redisHost" -}}
{{- printf "%s-redis" (include "vigil.fullname" .) -}}
{{- end -}}

{{/* host:port of the Redis the KEDA operator reads. */}}
{{- define "vigil.redisAddress" -}}
{{- if .Values.autoscaling.keda.redisAddress -}}
{{- .Values.autoscaling.keda.redisAddress -}}
{{- else if .Values.redis.enabled -}}
{{- printf "%s.%s.svc:6379" (include "vigil.redisHost" .) .Release.Namespace -}}
{{- else if .Values.externalRedis.url -}}
{{- $u := urlParse .Values.externalRedis.url -}}
{{- if contains ":" $u.host -}}{{ $u.host }}{{- else -}}{{ printf "%s:6379" $u.host }}{{- end -}}
{{- else -}}
{{- fail "autoscaling.keda.redisAddress is required when the Redis URL comes from externalRedis.existingSecret" -}}
{{- end -}}
{{- end -}}

{{/* The BullMQ list of waiting jobs of a queue: {prefix}:<queue>:wait */}}
{{- define "vigil.waitList" -}}
{{- printf "{%s}:%s:wait" .root.Values.redisPrefix .queue -}}
{{- end -}}

{{- define "vigil.secretName" -}}
{{- default (printf "%s-secrets" (include "vigil.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "vigil.hasSecrets" -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.files -}}true{{- end -}}
{{- end -}}

{{- define "vigil.rulesConfigMapName" -}}
{{- printf "%s-rules" (include "vigil.fullname" .) -}}
{{- end -}}

{{/* The rule folders the engine loads, in the order they are given to rules.paths. */}}
{{- define "vigil.rulePaths" -}}
{{- $paths := list "/etc/vigil/rules/chart" -}}
{{- if .Values.rules.existingConfigMap -}}{{- $paths = append $paths "/etc/vigil/rules/existing" -}}{{- end -}}
{{- if .Values.rules.shipped -}}{{- $paths = append $paths "/app/rules" -}}{{- end -}}
{{- toJson $paths -}}
{{- end -}}

{{/* vigil.config.yaml: the user's config with the parts the chart owns. */}}
{{- define "vigil.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $_ := set $config "redis" (dict "url" "${REDIS_URL}" "prefix" .Values.redisPrefix) -}}
{{- $_ := set $config "rules" (dict "paths" (include "vigil.rulePaths" . | fromJsonArray) "watchEvery" .Values.rules.watchEvery) -}}
{{- $_ := set $config "server" (dict "host" "0.0.0.0" "port" (int .Values.metricsPort)) -}}
{{- toYaml $config -}}
{{- end -}}

{{- define "vigil.redisAuthSecretName" -}}
{{- default (printf "%s-redis" (include "vigil.fullname" .)) .Values.redis.auth.existingSecret -}}
{{- end -}}

{{- define "vigil.redisAuthSecretKey" -}}
{{- if .Values.redis.auth.existingSecret -}}{{ .Values.redis.auth.existingSecretKey }}{{- else -}}redis-password{{- end -}}
{{- end -}}

{{/* Whether the chart's own Redis requires a password. */}}
{{- define "vigil.redisAuth" -}}
{{- if and .Values.redis.enabled .Values.redis.auth.enabled -}}true{{- end -}}
{{- end -}}
