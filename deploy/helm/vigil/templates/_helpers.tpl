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

{{/* registry/repository:tag@digest of an image value (dict "image" .Values.image "tag" default-tag); a digest pins it. */}}
{{- define "vigil.imageRef" -}}
{{- $i := .image -}}
{{- $name := $i.repository -}}
{{- if $i.registry -}}{{- $name = printf "%s/%s" $i.registry $i.repository -}}{{- end -}}
{{- $tag := default .tag $i.tag -}}
{{- if $tag -}}{{- $name = printf "%s:%s" $name $tag -}}{{- end -}}
{{- if $i.digest -}}{{- $name = printf "%s@%s" $name $i.digest -}}{{- end -}}
{{- $name -}}
{{- end -}}

{{- define "vigil.image" -}}
{{- include "vigil.imageRef" (dict "image" .Values.image "tag" .Chart.AppVersion) -}}
{{- end -}}

{{- define "vigil.redisHost" -}}
{{- printf "%s-redis" (include "vigil.fullname" .) -}}
{{- end -}}

{{/*
How the KEDA operator reaches Redis, as JSON: the trigger type (redis, redis-cluster for a cluster's
seed nodes, redis-sentinel for Sentinels and the master's name), address (host:port) or addresses,
tls, databaseIndex, username and the Secrets holding the passwords (name, key) or none. The chart's
Redis; else externalRedis.cluster or .sentinel; else externalRedis.url read
apart (rediss:// is TLS, /3 is database 3); autoscaling.keda.redis.* overrides each part (and gives
them when the URL comes whole from externalRedis.existingSecret).
*/}}
{{- define "vigil.kedaRedis" -}}
{{- $k := .Values.autoscaling.keda.redis -}}
{{- $r := dict "type" "redis" "address" "" "addresses" "" "sentinelMaster" "" "tls" false "databaseIndex" 0 "username" "" "passwordSecret" "" "passwordSecretKey" "" "sentinelPasswordSecret" "" "sentinelPasswordSecretKey" "" -}}
{{- if .Values.redis.enabled -}}
{{- $_ := set $r "address" (printf "%s.%s.svc:6379" (include "vigil.redisHost" .) .Release.Namespace) -}}
{{- if .Values.redis.auth.enabled -}}
{{- $_ := set $r "passwordSecret" (include "vigil.redisAuthSecretName" .) -}}
{{- $_ := set $r "passwordSecretKey" (include "vigil.redisAuthSecretKey" .) -}}
{{- end -}}
{{- else if ne (include "vigil.redisMode" .) "url" -}}
{{- $e := .Values.externalRedis -}}
{{- $_ := set $r "tls" $e.tls.enabled -}}
{{- $_ := set $r "username" $e.username -}}
{{- if eq (include "vigil.redisMode" .) "cluster" -}}
{{- $_ := set $r "type" "redis-cluster" -}}
{{- $_ := set $r "addresses" (join "," $e.cluster.nodes) -}}
{{- else -}}
{{- $_ := set $r "type" "redis-sentinel" -}}
{{- $_ := set $r "addresses" (join "," $e.sentinel.sentinels) -}}
{{- $_ := set $r "sentinelMaster" $e.sentinel.masterName -}}
{{- if $e.sentinel.passwordSecret -}}
{{- $_ := set $r "sentinelPasswordSecret" $e.sentinel.passwordSecret -}}
{{- $_ := set $r "sentinelPasswordSecretKey" $e.sentinel.passwordSecretKey -}}
{{- end -}}
{{- end -}}
{{- if $e.passwordSecret -}}
{{- $_ := set $r "passwordSecret" $e.passwordSecret -}}
{{- $_ := set $r "passwordSecretKey" $e.passwordSecretKey -}}
{{- end -}}
{{- else if .Values.externalRedis.url -}}
{{- $u := urlParse .Values.externalRedis.url -}}
{{- $_ := set $r "address" (ternary $u.host (printf "%s:6379" $u.host) (contains ":" $u.host)) -}}
{{- $_ := set $r "tls" (eq $u.scheme "rediss") -}}
{{- $db := trimPrefix "/" $u.path -}}
{{- if $db -}}{{- $_ := set $r "databaseIndex" (atoi $db) -}}{{- end -}}
{{- if $u.userinfo -}}{{- $_ := set $r "username" (first (splitList ":" $u.userinfo)) -}}{{- end -}}
{{- if .Values.externalRedis.passwordSecret -}}
{{- $_ := set $r "passwordSecret" .Values.externalRedis.passwordSecret -}}
{{- $_ := set $r "passwordSecretKey" .Values.externalRedis.passwordSecretKey -}}
{{- end -}}
{{- end -}}
{{- if $k.address -}}{{- $_ := set $r "address" $k.address -}}{{- end -}}
{{- if $k.tls -}}{{- $_ := set $r "tls" true -}}{{- end -}}
{{- if $k.databaseIndex -}}{{- $_ := set $r "databaseIndex" (int $k.databaseIndex) -}}{{- end -}}
{{- if $k.username -}}{{- $_ := set $r "username" $k.username -}}{{- end -}}
{{- if $k.passwordSecret -}}
{{- $_ := set $r "passwordSecret" $k.passwordSecret -}}
{{- $_ := set $r "passwordSecretKey" $k.passwordSecretKey -}}
{{- end -}}
{{- if not (or $r.address $r.addresses) -}}
{{- fail "autoscaling.keda.redis.address is required when the Redis URL comes from externalRedis.existingSecret (and tls, databaseIndex, passwordSecret as that URL says)" -}}
{{- end -}}
{{- toJson $r -}}
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

{{/*
vigil.config.yaml of one role: (dict "root" $ "role" "engine"). The user's config with the parts the
chart owns, less the sections the role never reads, so a role holds (and mounts) only its own
credentials: the engine has no sources nor channels, connectors no channels, the notifier no sources.
*/}}
{{- define "vigil.roleConfig" -}}
{{- $root := .root -}}
{{- $config := deepCopy $root.Values.config -}}
{{- $drop := dict "connectors" (list "channels" "routes") "engine" (list "sources" "channels" "routes") "notifier" (list "sources") -}}
{{- range $key := (get $drop .role) -}}{{- $_ := unset $config $key -}}{{- end -}}
{{- $_ := set $config "redis" (include "vigil.redisConfig" $root | fromJson) -}}
{{- $_ := set $config "rules" (dict "paths" (include "vigil.rulePaths" $root | fromJsonArray) "watch" $root.Values.rules.watch "watchEvery" $root.Values.rules.watchEvery) -}}
{{- $_ := set $config "server" (dict "host" "0.0.0.0" "port" (int $root.Values.metricsPort)) -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The keys of the credentials Secret a role's config reads (${file:/etc/vigil/secrets/<key>}), as a JSON list. */}}
{{- define "vigil.roleSecretKeys" -}}
{{- $keys := list -}}
{{- range $ref := regexFindAll "\\$\\{file:/etc/vigil/secrets/[^}]+\\}" (include "vigil.roleConfig" .) -1 -}}
{{- $keys = append $keys (trimSuffix "}" (trimPrefix "${file:/etc/vigil/secrets/" $ref)) -}}
{{- end -}}
{{- toJson ($keys | uniq | sortAlpha) -}}
{{- end -}}

{{/* The data of a Secret in the cluster, hashed (empty without a cluster, as under helm template). */}}
{{- define "vigil.liveSecretHash" -}}
{{- $s := lookup "v1" "Secret" .namespace .name -}}
{{- if and $s $s.data -}}{{- toJson $s.data | sha256sum -}}{{- end -}}
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

{{/* "cluster", "sentinel" or "url": which external Redis the values describe (url also for the chart's Redis). */}}
{{- define "vigil.redisMode" -}}
{{- $e := .Values.externalRedis -}}
{{- if .Values.redis.enabled -}}url
{{- else if and $e.cluster.nodes $e.sentinel.sentinels -}}{{ fail "externalRedis.cluster and externalRedis.sentinel: set one" }}
{{- else if $e.cluster.nodes -}}
{{- if or $e.url $e.existingSecret -}}{{ fail "externalRedis.url/existingSecret and externalRedis.cluster: set one" }}{{- end -}}
cluster
{{- else if $e.sentinel.sentinels -}}
{{- if or $e.url $e.existingSecret -}}{{ fail "externalRedis.url/existingSecret and externalRedis.sentinel: set one" }}{{- end -}}
{{- if not $e.sentinel.masterName -}}{{ fail "externalRedis.sentinel.masterName is required with externalRedis.sentinel.sentinels" }}{{- end -}}
sentinel
{{- else -}}url
{{- end -}}
{{- end -}}

{{/*
The redis section of vigil.config.yaml, as JSON: ${REDIS_URL} for a URL (the chart's Redis or
externalRedis.url), else the cluster's seed nodes or the Sentinels, with the passwords read from
the environment (REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD) and the TLS files from /etc/vigil/redis-tls.
*/}}
{{- define "vigil.redisConfig" -}}
{{- $e := .Values.externalRedis -}}
{{- $mode := include "vigil.redisMode" . -}}
{{- $redis := dict "prefix" .Values.redisPrefix -}}
{{- $auth := dict -}}
{{- if $e.username -}}{{- $_ := set $auth "username" $e.username -}}{{- end -}}
{{- if $e.passwordSecret -}}{{- $_ := set $auth "password" "${REDIS_PASSWORD}" -}}{{- end -}}
{{- if eq $mode "cluster" -}}
{{- $_ := set $redis "cluster" (merge (dict "nodes" $e.cluster.nodes) $auth) -}}
{{- else if eq $mode "sentinel" -}}
{{- $s := merge (dict "sentinels" $e.sentinel.sentinels "masterName" $e.sentinel.masterName) $auth -}}
{{- if $e.sentinel.passwordSecret -}}{{- $_ := set $s "sentinelPassword" "${REDIS_SENTINEL_PASSWORD}" -}}{{- end -}}
{{- if and $e.tls.enabled $e.tls.sentinels -}}{{- $_ := set $s "sentinelTls" true -}}{{- end -}}
{{- $_ := set $redis "sentinel" $s -}}
{{- else -}}
{{- $_ := set $redis "url" "${REDIS_URL}" -}}
{{- end -}}
{{- if and $e.tls.enabled (not .Values.redis.enabled) -}}
{{- $tls := dict -}}
{{- if $e.tls.secret -}}
{{- $_ := set $tls "caFile" "/etc/vigil/redis-tls/ca.crt" -}}
{{- if $e.tls.clientCertificate -}}
{{- $_ := set $tls "certFile" "/etc/vigil/redis-tls/tls.crt" -}}
{{- $_ := set $tls "keyFile" "/etc/vigil/redis-tls/tls.key" -}}
{{- end -}}
{{- end -}}
{{- if $e.tls.servername -}}{{- $_ := set $tls "servername" $e.tls.servername -}}{{- end -}}
{{- $_ := set $redis "tls" $tls -}}
{{- end -}}
{{- toJson $redis -}}
{{- end -}}

{{/* REDIS_PASSWORD (when one is kept in a Secret) and REDIS_URL of the workers; or a cluster's or Sentinels' passwords. */}}
{{- define "vigil.redisEnv" -}}
{{- $mode := include "vigil.redisMode" . -}}
{{- if ne $mode "url" }}
{{- with .Values.externalRedis.passwordSecret }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.externalRedis.passwordSecretKey }}
{{- end }}
{{- if and (eq $mode "sentinel") .Values.externalRedis.sentinel.passwordSecret }}
- name: REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalRedis.sentinel.passwordSecret }}
      key: {{ .Values.externalRedis.sentinel.passwordSecretKey }}
{{- end }}
{{- else if include "vigil.redisAuth" . }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "vigil.redisAuthSecretName" . }}
      key: {{ include "vigil.redisAuthSecretKey" . }}
# $(REDIS_PASSWORD) is expanded by the kubelet from the variable above.
- name: REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379" (include "vigil.redisHost" .) | quote }}
{{- else if .Values.redis.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379" (include "vigil.redisHost" .) | quote }}
{{- else if .Values.externalRedis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalRedis.existingSecret }}
      key: {{ .Values.externalRedis.existingSecretKey }}
{{- else if .Values.externalRedis.passwordSecret }}
{{- $u := urlParse (required "externalRedis.url is required with externalRedis.passwordSecret" .Values.externalRedis.url) }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalRedis.passwordSecret }}
      key: {{ .Values.externalRedis.passwordSecretKey }}
- name: REDIS_URL
  value: {{ printf "%s://%s:$(REDIS_PASSWORD)@%s%s" $u.scheme (first (splitList ":" (default "" $u.userinfo))) $u.host $u.path | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ required "externalRedis.url (or externalRedis.existingSecret) is required when redis.enabled is false" .Values.externalRedis.url | quote }}
{{- end }}
{{- end -}}

{{/* Checksum of the Redis credentials in the cluster (lookup): a rotated password rolls the workers at the next upgrade. */}}
{{- define "vigil.redisSecretHash" -}}
{{- if .Values.redis.enabled -}}
{{- /* A generated password never changes (it is looked up and kept); a Secret of yours may. */ -}}
{{- if and .Values.redis.auth.enabled .Values.redis.auth.existingSecret -}}
{{- include "vigil.liveSecretHash" (dict "namespace" .Release.Namespace "name" .Values.redis.auth.existingSecret) -}}
{{- end -}}
{{- else if .Values.externalRedis.existingSecret -}}
{{- include "vigil.liveSecretHash" (dict "namespace" .Release.Namespace "name" .Values.externalRedis.existingSecret) -}}
{{- else if .Values.externalRedis.passwordSecret -}}
{{- include "vigil.liveSecretHash" (dict "namespace" .Release.Namespace "name" .Values.externalRedis.passwordSecret) -}}
{{- end -}}
{{- end -}}

{{/* The credentials a role reads, hashed: the chart's Secret's values of those keys, or the live existingSecret. */}}
{{- define "vigil.roleSecretsHash" -}}
{{- $keys := include "vigil.roleSecretKeys" . | fromJsonArray -}}
{{- $root := .root -}}
{{- if $keys -}}
{{- if $root.Values.secrets.existingSecret -}}
{{- include "vigil.liveSecretHash" (dict "namespace" $root.Release.Namespace "name" $root.Values.secrets.existingSecret) -}}
{{- else -}}
{{- $values := dict -}}
{{- range $key := $keys -}}{{- $_ := set $values $key (toString (index $root.Values.secrets.files $key | default "")) -}}{{- end -}}
{{- toJson $values | sha256sum -}}
{{- end -}}
{{- end -}}
{{- end -}}


{{/* redis.conf of the chart's Redis (the password is not in it). */}}
{{- define "vigil.redisConf" -}}
port 6379
dir /data
# Every write in the append-only file on the volume; no RDB snapshots.
appendonly yes
appendfsync {{ .Values.redis.appendfsync }}
save ""
# Refuse writes when full rather than be OOM-killed; BullMQ requires noeviction (evicted keys are lost jobs).
maxmemory {{ .Values.redis.maxmemory }}
maxmemory-policy noeviction
protected-mode no
{{- end -}}
