{{/*
Names, labels and the per-service tables every template shares.
*/}}

{{- define "tegami.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-tegami, or <release> when it already contains the chart name; at most 38
characters, so "<fullname>-delivery-worker-metrics" stays within 63. */}}
{{- define "tegami.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 38 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 38 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 38 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tegami.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tegami.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tegami.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tegami.labels" -}}
helm.sh/chart: {{ include "tegami.chart" . }}
{{ include "tegami.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tegami
{{- end }}

{{/* Selector labels of one service's pods. Context: dict "root" $ "component" "smtp-ingress". */}}
{{- define "tegami.componentSelectorLabels" -}}
{{ include "tegami.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tegami.componentLabels" -}}
{{ include "tegami.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The five services: name -> key of its values. */}}
{{- define "tegami.components" -}}
smtp-ingress: smtpIngress
delivery-worker: deliveryWorker
dns-resolver: dnsResolver
pop-gateway: popGateway
imap-gateway: imapGateway
{{- end }}

{{- define "tegami.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{- define "tegami.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tegami.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding DATABASE_URL and NATS_URL. */}}
{{- define "tegami.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "tegami.fullname" .) }}
{{- end }}

{{/* The Secret holding the CRAM-MD5/DIGEST-MD5 key file; empty without a key. */}}
{{- define "tegami.legacySaslSecretName" -}}
{{- if .Values.legacySasl.existingSecret }}
{{- .Values.legacySasl.existingSecret }}
{{- else if .Values.legacySasl.key }}
{{- include "tegami.fullname" . }}-sasl-key
{{- end }}
{{- end }}

{{/* The Secret holding the SRS secret file (TEGAMI_SRS_SECRET_FILE); empty without one. */}}
{{- define "tegami.srsSecretName" -}}
{{- if .Values.srs.existingSecret }}
{{- .Values.srs.existingSecret }}
{{- else if .Values.srs.secret }}
{{- include "tegami.fullname" . }}-srs
{{- end }}
{{- end }}

{{/* "true" when the chart runs rspamd itself (enabled, and no external.url), else empty. */}}
{{- define "tegami.rspamdBundled" -}}
{{- if and .Values.rspamd.enabled (not .Values.rspamd.external.url) }}true{{ end }}
{{- end }}

{{/* "true" when the chart runs rspamd's Redis, else empty. */}}
{{- define "tegami.rspamdRedisBundled" -}}
{{- if and (include "tegami.rspamdBundled" .) .Values.rspamd.redis.enabled }}true{{ end }}
{{- end }}

{{/* The ports of the rspamd the chart runs: they are also its bind_socket in files/rspamd. */}}
{{- define "tegami.rspamdPorts" -}}
normal: 11333
controller: 11334
{{- end }}

{{/* Base URL of rspamd's normal worker (TEGAMI_RSPAMD_URL); empty when rspamd is off. */}}
{{- define "tegami.rspamdUrl" -}}
{{- if .Values.rspamd.enabled }}
{{- if .Values.rspamd.external.url }}{{ .Values.rspamd.external.url }}
{{- else }}{{ printf "http://%s-rspamd.%s.svc.%s:%d" (include "tegami.fullname" .) .Release.Namespace .Values.clusterDomain ((include "tegami.rspamdPorts" . | fromYaml).normal | int) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Base URL of rspamd's controller (TEGAMI_RSPAMD_CONTROLLER_URL); empty: no learning. */}}
{{- define "tegami.rspamdControllerUrl" -}}
{{- if include "tegami.rspamdBundled" . }}
{{- printf "http://%s-rspamd.%s.svc.%s:%d" (include "tegami.fullname" .) .Release.Namespace .Values.clusterDomain ((include "tegami.rspamdPorts" . | fromYaml).controller | int) }}
{{- else if .Values.rspamd.enabled }}{{ .Values.rspamd.external.controllerUrl }}
{{- end }}
{{- end }}

{{/* The TCP port of an http:// or https:// URL: its own, or the scheme's. */}}
{{- define "tegami.urlPort" -}}
{{- $url := urlParse . }}
{{- $port := regexFind ":[0-9]+$" $url.host | trimPrefix ":" }}
{{- $port | default (ternary "443" "80" (eq $url.scheme "https")) }}
{{- end }}

{{/* The Secret holding rspamd's controller password; empty when there is none. */}}
{{- define "tegami.rspamdPasswordSecretName" -}}
{{- if .Values.rspamd.enabled }}
{{- if .Values.rspamd.password.existingSecret }}{{ .Values.rspamd.password.existingSecret }}
{{- else if include "tegami.rspamdBundled" . }}{{ include "tegami.fullname" . }}-rspamd
{{- end }}
{{- end }}
{{- end }}

{{/*
The password of the chart's own rspamd Secret: the live Secret's, so that an upgrade keeps it,
or a new random one. Made once per render and kept in the values, so the Secret and the
checksums of the pods that read it agree.
*/}}
{{- define "tegami.rspamdGeneratedPassword" -}}
{{- $memo := .Values.rspamd }}
{{- if not (hasKey $memo "generatedPassword") }}
{{- $password := "" }}
{{- $live := lookup "v1" "Secret" .Release.Namespace (printf "%s-rspamd" (include "tegami.fullname" .)) }}
{{- if and $live $live.data }}
{{- $password = index $live.data .Values.rspamd.password.secretKey | default "" | b64dec }}
{{- end }}
{{- $_ := set $memo "generatedPassword" ($password | default (randAlphaNum 32)) }}
{{- end }}
{{- $memo.generatedPassword }}
{{- end }}

{{/* The rspamd ConfigMap's data (local.d): files/rspamd/local.d, the Redis, rspamd.extraConfig. As YAML. */}}
{{- define "tegami.rspamdConfig" -}}
{{- $values := .Values.rspamd }}
{{- $files := dict }}
{{- range $path, $_ := .Files.Glob "files/rspamd/local.d/*" }}
{{- $_ := set $files (base $path) ($.Files.Get $path) }}
{{- end }}
{{- $redis := $values.redis.servers }}
{{- if $values.redis.enabled }}
{{- $redis = printf "%s-rspamd-redis.%s.svc.%s:6379" (include "tegami.fullname" .) .Release.Namespace .Values.clusterDomain }}
{{- end }}
{{- if $redis }}
{{- $_ := set $files "redis.conf" (printf "# The Redis of the Bayes classifier, greylisting, rate limits and history.\nservers = %s;\n" ($redis | quote)) }}
{{- end }}
{{- range $name, $content := $values.extraConfig }}
{{- $_ := set $files $name $content }}
{{- end }}
{{- toYaml $files }}
{{- end }}

{{/* What changes when rspamd's controller password changes, for the pods' checksum annotation. */}}
{{- define "tegami.rspamdPasswordChecksum" -}}
{{- $secret := include "tegami.rspamdPasswordSecretName" . }}
{{- if .Values.rspamd.password.existingSecret }}
{{- printf "%s/%s" $secret .Values.rspamd.password.secretKey | sha256sum }}
{{- else }}
{{- printf "%s/%s/%s" $secret .Values.rspamd.password.secretKey (include "tegami.rspamdGeneratedPassword" .) | sha256sum }}
{{- end }}
{{- end }}

{{/*
The ports each service listens on, fixed by the chart (unprivileged; the Services map the
well-known ports onto them by name) and passed to the service in the named variable. The
implicit-TLS ports exist only with a certificate. Context: dict "root" $ "component" name.
*/}}
{{- define "tegami.ports" -}}
{{- $tls := .root.Values.tls.existingSecret }}
{{- if eq .component "smtp-ingress" }}
- { name: smtp, port: 2525, variable: TEGAMI_SMTP_MX_PORT }
- { name: submission, port: 2587, variable: TEGAMI_SMTP_SUBMISSION_PORT }
{{- if $tls }}
- { name: submissions, port: 2465, variable: TEGAMI_SMTP_SUBMISSIONS_PORT }
{{- end }}
{{- if .root.Values.mtaSts.enabled }}
- { name: mta-sts, port: 2443, variable: TEGAMI_MTA_STS_PORT }
{{- end }}
{{- else if eq .component "pop-gateway" }}
- { name: pop3, port: 1110, variable: TEGAMI_POP_PORT }
{{- if $tls }}
- { name: pop3s, port: 1995, variable: TEGAMI_POPS_PORT }
{{- end }}
{{- else if eq .component "imap-gateway" }}
- { name: imap, port: 1143, variable: TEGAMI_IMAP_PORT }
{{- if $tls }}
- { name: imaps, port: 1993, variable: TEGAMI_IMAPS_PORT }
{{- end }}
{{- /* ManageSieve (RFC 5804): 4190 is unprivileged, so the container listens on it as it is. */}}
- { name: managesieve, port: 4190, variable: TEGAMI_MANAGESIEVE_PORT }
{{- else if eq .component "dns-resolver" }}
- { name: grpc, port: 50051, variable: TEGAMI_GRPC_PORT }
{{- else if and (eq .component "delivery-worker") .root.Values.admin.enabled }}
{{- /* The admin API and web console (the Service <release>-admin). */}}
- { name: admin, port: 8081, variable: TEGAMI_ADMIN_PORT }
{{- end }}
- { name: ops, port: 8080, variable: TEGAMI_OPS_PORT }
{{- end }}

{{/* The dns-resolver's gRPC container port. */}}
{{- define "tegami.grpcPort" -}}
{{- range include "tegami.ports" (dict "root" . "component" "dns-resolver") | fromYamlArray }}
{{- if eq .name "grpc" }}{{ .port | int64 }}{{ end }}
{{- end }}
{{- end }}

{{/* The listen-address variables each service reads. */}}
{{- define "tegami.hostVariables" -}}
smtp-ingress: [TEGAMI_SMTP_HOST, TEGAMI_OPS_HOST]
delivery-worker: [TEGAMI_OPS_HOST, TEGAMI_ADMIN_HOST]
dns-resolver: [TEGAMI_GRPC_HOST, TEGAMI_OPS_HOST]
pop-gateway: [TEGAMI_POP_HOST, TEGAMI_OPS_HOST]
imap-gateway: [TEGAMI_IMAP_HOST, TEGAMI_OPS_HOST]
{{- end }}

{{/* Each service's `settings` key -> the variable it sets (see packages/runtime/src/config/variables.ts). */}}
{{- define "tegami.settingVariables" -}}
smtp-ingress:
  maxMessageBytes: TEGAMI_SMTP_MAX_MESSAGE_BYTES
  maxRecipients: TEGAMI_SMTP_MAX_RECIPIENTS
  maxConnections: TEGAMI_SMTP_MAX_CONNECTIONS
  maxConnectionsPerIp: TEGAMI_SMTP_MAX_CONNECTIONS_PER_IP
  allowPlaintextAuth: TEGAMI_SMTP_ALLOW_PLAINTEXT_AUTH
  dbPoolSize: TEGAMI_DB_POOL_SIZE
  mailAuth: TEGAMI_MAIL_AUTH
  mailAuthTimeout: TEGAMI_MAIL_AUTH_TIMEOUT
  dmarcEnforcement: TEGAMI_DMARC_ENFORCEMENT
  arcTrustedSealers: TEGAMI_ARC_TRUSTED_SEALERS
  dnsbl: TEGAMI_SMTP_DNSBL
  requireReverseDns: TEGAMI_SMTP_REQUIRE_REVERSE_DNS
  heloChecks: TEGAMI_SMTP_HELO_CHECKS
delivery-worker:
  concurrency: TEGAMI_DELIVERY_CONCURRENCY
  domainConnections: TEGAMI_DELIVERY_DOMAIN_CONNECTIONS
  tlsVerify: TEGAMI_DELIVERY_TLS_VERIFY
  dane: TEGAMI_DELIVERY_DANE
  mtaSts: TEGAMI_DELIVERY_MTA_STS
  retryMin: TEGAMI_DELIVERY_RETRY_MIN_MS
  retryMax: TEGAMI_DELIVERY_RETRY_MAX_MS
  maxQueueTime: TEGAMI_DELIVERY_MAX_QUEUE_TIME_MS
  delayWarning: TEGAMI_DELIVERY_DELAY_WARNING_MS
  connectTimeout: TEGAMI_DELIVERY_CONNECT_TIMEOUT_MS
  retentionQueue: TEGAMI_RETENTION_QUEUE
  retentionAttempts: TEGAMI_RETENTION_ATTEMPTS
  retentionExpunged: TEGAMI_RETENTION_EXPUNGED
  retentionBlobGrace: TEGAMI_RETENTION_BLOB_GRACE
  retentionInterval: TEGAMI_RETENTION_INTERVAL
  dbPoolSize: TEGAMI_DB_POOL_SIZE
dns-resolver:
  upstreams: TEGAMI_DNS_UPSTREAMS
  timeout: TEGAMI_DNS_TIMEOUT_MS
  attempts: TEGAMI_DNS_ATTEMPTS
  cacheEntries: TEGAMI_DNS_CACHE_ENTRIES
pop-gateway:
  maxConnections: TEGAMI_POP_MAX_CONNECTIONS
  maxConnectionsPerIp: TEGAMI_POP_MAX_CONNECTIONS_PER_IP
  idleTimeout: TEGAMI_POP_IDLE_TIMEOUT_MS
  loginDelay: TEGAMI_POP_LOGIN_DELAY
  allowPlaintextAuth: TEGAMI_POP_ALLOW_PLAINTEXT_AUTH
  dbPoolSize: TEGAMI_DB_POOL_SIZE
imap-gateway:
  maxConnections: TEGAMI_IMAP_MAX_CONNECTIONS
  maxConnectionsPerIp: TEGAMI_IMAP_MAX_CONNECTIONS_PER_IP
  maxConnectionsPerUser: TEGAMI_IMAP_MAX_CONNECTIONS_PER_USER
  idleTimeout: TEGAMI_IMAP_IDLE_TIMEOUT
  maxMessageSize: TEGAMI_IMAP_MAX_MESSAGE_SIZE
  allowPlaintextAuth: TEGAMI_IMAP_ALLOW_PLAINTEXT_AUTH
  dbPoolSize: TEGAMI_DB_POOL_SIZE
{{- end }}

{{/* A value as an environment variable's text: YAML numbers arrive as floats, lists are joined. */}}
{{- define "tegami.envText" -}}
{{- if kindIs "slice" . }}{{ join "," . }}
{{- else if kindIs "float64" . }}{{ . | int64 }}
{{- else }}{{ . }}
{{- end }}
{{- end }}

{{/* The global drain settings with the service's own `drain` on top. Context: the service's values + root. */}}
{{- define "tegami.drain" -}}
{{- include "tegami.overlay" (list .root.Values.drain .values.drain) }}
{{- end }}

{{/* The proxy protocol settings of a service: its own on top of the global ones. */}}
{{- define "tegami.proxyProtocol" -}}
{{- include "tegami.overlay" (list .root.Values.proxyProtocol .values.proxyProtocol) }}
{{- end }}

{{/* list base over: base's keys, each replaced by over's when over sets it (false and 0
included, which sprig's merge would not let through). As YAML. */}}
{{- define "tegami.overlay" -}}
{{- $result := deepCopy (index . 0) }}
{{- range $key, $value := (index . 1 | default dict) }}
{{- if not (kindIs "invalid" $value) }}
{{- $_ := set $result $key $value }}
{{- end }}
{{- end }}
{{- toYaml $result }}
{{- end }}

{{/*
The environment of one service's container. Only variables the service reads (an unknown
TEGAMI_* variable stops it): test/helm-chart.test.ts checks each against the catalogue.
Context: dict "root" $ "component" name "values" the service's values.
*/}}
{{- define "tegami.env" -}}
{{- $root := .root }}
{{- $component := .component }}
{{- $values := .values }}
{{- $store := has $component (list "smtp-ingress" "delivery-worker" "pop-gateway" "imap-gateway") }}
{{- $tlsServer := has $component (list "smtp-ingress" "pop-gateway" "imap-gateway") }}
{{- $drain := include "tegami.drain" . | fromYaml }}
- name: TEGAMI_LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: TEGAMI_SHUTDOWN_TIMEOUT_MS
  value: {{ mul $drain.timeoutSeconds 1000 | int64 | quote }}
{{- range include "tegami.ports" . | fromYamlArray }}
- name: {{ .variable }}
  value: {{ .port | int64 | quote }}
{{- end }}
{{- if $root.Values.bindAddress }}
{{- range index (include "tegami.hostVariables" . | fromYaml) $component }}
- name: {{ . }}
  value: {{ $root.Values.bindAddress | quote }}
{{- end }}
{{- end }}
{{- if $store }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "tegami.secretName" $root }}
      key: {{ $root.Values.secrets.databaseUrlKey }}
- name: NATS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "tegami.secretName" $root }}
      key: {{ $root.Values.secrets.natsUrlKey }}
{{- if $root.Values.natsPrefix }}
- name: TEGAMI_NATS_PREFIX
  value: {{ $root.Values.natsPrefix | quote }}
{{- end }}
- name: TEGAMI_HOSTNAME
  value: {{ $root.Values.hostname | quote }}
{{- end }}
{{- if and $tlsServer $root.Values.tls.existingSecret }}
- name: TEGAMI_TLS_CERT_FILE
  value: {{ printf "%s/%s" $root.Values.tls.mountPath $root.Values.tls.certKey | quote }}
- name: TEGAMI_TLS_KEY_FILE
  value: {{ printf "%s/%s" $root.Values.tls.mountPath $root.Values.tls.keyKey | quote }}
{{- end }}
{{- if and $tlsServer $root.Values.tls.ciphers }}
- name: TEGAMI_TLS_CIPHERS
  value: {{ $root.Values.tls.ciphers | quote }}
{{- end }}
{{- if and $tlsServer $root.Values.tls.minVersion }}
- name: TEGAMI_TLS_MIN_VERSION
  value: {{ $root.Values.tls.minVersion | quote }}
{{- end }}
{{- if eq $component "delivery-worker" }}
{{- with $root.Values.admin }}
{{- if not .enabled }}
{{- /* The image sets TEGAMI_ADMIN_PORT=8081; empty counts as unset: no admin listener. */}}
- name: TEGAMI_ADMIN_PORT
  value: ""
{{- else }}
{{- if .tls.existingSecret }}
- name: TEGAMI_ADMIN_TLS_CERT_FILE
  value: {{ printf "%s/%s" .tls.mountPath .tls.certKey | quote }}
- name: TEGAMI_ADMIN_TLS_KEY_FILE
  value: {{ printf "%s/%s" .tls.mountPath .tls.keyKey | quote }}
{{- end }}
{{- range $key, $name := dict "read" "TEGAMI_ADMIN_RATE_LIMIT_READ" "readBurst" "TEGAMI_ADMIN_RATE_LIMIT_READ_BURST" "write" "TEGAMI_ADMIN_RATE_LIMIT_WRITE" "writeBurst" "TEGAMI_ADMIN_RATE_LIMIT_WRITE_BURST" }}
{{- $value := index $.root.Values.admin.rateLimit $key }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ $name }}
  value: {{ $value | int64 | quote }}
{{- end }}
{{- end }}
{{- if not (kindIs "invalid" .bodyLimit) }}
- name: TEGAMI_ADMIN_BODY_LIMIT
  value: {{ .bodyLimit | int64 | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (eq $component "delivery-worker") (include "tegami.legacySaslSecretName" $root) }}
{{- /* The same key file opens the DKIM private keys that sign outgoing mail. */}}
- name: TEGAMI_SECRETS_KEY_FILE
  value: {{ printf "%s/%s" $root.Values.legacySasl.mountPath $root.Values.legacySasl.secretKey | quote }}
{{- end }}
{{- if $tlsServer }}
{{- $saslSecret := include "tegami.legacySaslSecretName" $root }}
{{- if $saslSecret }}
- name: TEGAMI_SECRETS_KEY_FILE
  value: {{ printf "%s/%s" $root.Values.legacySasl.mountPath $root.Values.legacySasl.secretKey | quote }}
{{- else if eq $root.Values.legacySasl.enabled true }}
{{- fail "legacySasl.enabled is true, but there is no key to seal their secrets: set legacySasl.existingSecret or legacySasl.key" }}
{{- end }}
{{- if not (kindIs "invalid" $root.Values.legacySasl.enabled) }}
- name: TEGAMI_SASL_LEGACY_MECHANISMS
  value: {{ $root.Values.legacySasl.enabled | quote }}
{{- end }}
{{- $proxy := include "tegami.proxyProtocol" . | fromYaml }}
{{- if $proxy.enabled }}
{{- if not $proxy.trustedCidrs }}
{{- fail (printf "proxyProtocol.trustedCidrs is required when PROXY protocol is enabled (%s)" $component) }}
{{- end }}
- name: TEGAMI_PROXY_PROTOCOL
  value: "true"
- name: TEGAMI_PROXY_TRUSTED_CIDRS
  value: {{ join "," $proxy.trustedCidrs | quote }}
{{- end }}
{{- end }}
{{- if $tlsServer }}
{{- with $root.Values.slowClients }}
{{- if .commandLineDeadline }}
- name: TEGAMI_COMMAND_LINE_DEADLINE
  value: {{ .commandLineDeadline | quote }}
{{- end }}
{{- if .minDataRate }}
- name: TEGAMI_MIN_DATA_RATE
  value: {{ include "tegami.envText" .minDataRate | quote }}
{{- end }}
{{- if and .loginDeadline (ne $component "smtp-ingress") }}
- name: TEGAMI_LOGIN_DEADLINE
  value: {{ .loginDeadline | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- /* The Ingress terminates TLS: the policy host behind it speaks plain HTTP. */}}
{{- if and (eq $component "smtp-ingress") $root.Values.mtaSts.enabled }}
{{- with $root.Values.mtaSts }}
{{- if not .domains }}
{{- fail "mtaSts.domains is required when mtaSts.enabled: the Ingress serves mta-sts.<domain> for each" }}
{{- end }}
- name: TEGAMI_MTA_STS_TLS
  value: "false"
- name: TEGAMI_MTA_STS_MODE
  value: {{ .mode | quote }}
{{- if .mx }}
- name: TEGAMI_MTA_STS_MX
  value: {{ join "," .mx | quote }}
{{- end }}
- name: TEGAMI_MTA_STS_MAX_AGE
  value: {{ include "tegami.envText" .maxAge | quote }}
{{- end }}
{{- end }}
{{- if and $root.Values.popBeforeSmtpTtl (has $component (list "smtp-ingress" "pop-gateway")) }}
- name: TEGAMI_POP_BEFORE_SMTP_TTL
  value: {{ $root.Values.popBeforeSmtpTtl | quote }}
{{- end }}
{{- if has $component (list "smtp-ingress" "pop-gateway" "imap-gateway") }}
{{- with $root.Values.authFailureDelay }}
{{- if .max }}
- name: TEGAMI_AUTH_FAILURE_DELAY_MAX
  value: {{ .max | quote }}
{{- end }}
{{- if not (kindIs "invalid" .freeFailures) }}
- name: TEGAMI_AUTH_FREE_FAILURES
  value: {{ include "tegami.envText" .freeFailures | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- with $root.Values.reports }}
{{- if and (not (kindIs "invalid" .enabled)) (has $component (list "delivery-worker" "smtp-ingress")) }}
- name: TEGAMI_REPORTS
  value: {{ .enabled | quote }}
{{- end }}
{{- if eq $component "delivery-worker" }}
{{- if .from }}
- name: TEGAMI_REPORT_FROM
  value: {{ .from | quote }}
{{- end }}
{{- if .orgName }}
- name: TEGAMI_REPORT_ORG_NAME
  value: {{ .orgName | quote }}
{{- end }}
{{- if .contact }}
- name: TEGAMI_REPORT_CONTACT
  value: {{ .contact | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if has $component (list "delivery-worker" "smtp-ingress") }}
{{- /* A headless Service's name resolves to the pods' addresses: the port is the container's.
smtp-ingress asks the resolver for SPF, DKIM, DMARC, ARC, DNSBL and reverse DNS records. */}}
- name: TEGAMI_RESOLVER_TARGET
  value: {{ printf "dns:///%s-dns-resolver-headless.%s.svc.%s:%d" (include "tegami.fullname" $root) $root.Release.Namespace $root.Values.clusterDomain (include "tegami.grpcPort" $root | int) | quote }}
{{- end }}
{{- if and (has $component (list "delivery-worker" "smtp-ingress")) (include "tegami.srsSecretName" $root) }}
{{- /* The delivery-worker signs SRS senders of forwarded mail, smtp-ingress checks the bounces to them. */}}
- name: TEGAMI_SRS_SECRET_FILE
  value: {{ printf "%s/%s" $root.Values.srs.mountPath $root.Values.srs.secretKey | quote }}
{{- end }}
{{- $rspamdUrl := include "tegami.rspamdUrl" $root }}
{{- if and $rspamdUrl (eq $component "smtp-ingress") }}
- name: TEGAMI_RSPAMD_URL
  value: {{ $rspamdUrl | quote }}
{{- with $root.Values.rspamd.timeout }}
- name: TEGAMI_RSPAMD_TIMEOUT
  value: {{ . | quote }}
{{- end }}
{{- with $root.Values.rspamd.failure }}
- name: TEGAMI_RSPAMD_FAILURE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- $controllerUrl := include "tegami.rspamdControllerUrl" $root }}
{{- if and $controllerUrl (eq $component "imap-gateway") }}
- name: TEGAMI_RSPAMD_CONTROLLER_URL
  value: {{ $controllerUrl | quote }}
{{- if include "tegami.rspamdPasswordSecretName" $root }}
- name: TEGAMI_RSPAMD_PASSWORD_FILE
  value: {{ printf "%s/%s" $root.Values.rspamd.password.mountPath $root.Values.rspamd.password.secretKey | quote }}
{{- end }}
{{- end }}
{{- $variables := index (include "tegami.settingVariables" . | fromYaml) $component }}
{{- range $key, $value := $values.settings }}
{{- if not (or (kindIs "invalid" $value) (and (kindIs "string" $value) (eq $value "")) (and (kindIs "slice" $value) (empty $value))) }}
{{- $name := index $variables $key }}
{{- if not $name }}
{{- fail (printf "%s.settings.%s is not a setting of %s" $component $key $component) }}
{{- end }}
- name: {{ $name }}
  value: {{ include "tegami.envText" $value | quote }}
{{- end }}
{{- end }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with $values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level value of a service, or the global one when the service leaves it empty. */}}
{{- define "tegami.podValue" -}}
{{- $own := index .values .key }}
{{- if $own }}{{ toYaml $own }}{{ else }}{{ toYaml (index .root.Values .key) }}{{ end }}
{{- end }}
