# bench/lib/postfix.sh: sourced by the SMTP benches (bench/acceptance, bench/delivery).
# A private Postfix instance under $WORK, as its users run one for virtual mailboxes:
# smtpd on 127.0.0.1:<port>, virtual(8) delivering bob@bench.test into a maildir.

# postfix_start <port>: configures and starts it; on failure prints its log and exits.
postfix_start() {
  local port=$1
  mkdir -p "$WORK/conf" "$WORK/queue" "$WORK/data" "$WORK/mail"
  chown postfix "$WORK/data"
  chown nobody:nogroup "$WORK/mail"
  cat > "$WORK/conf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $WORK/queue
data_directory = $WORK/data
myhostname = postfix.bench.test
mydestination =
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file_prefixes = /tmp
maillog_file = $WORK/postfix.log
virtual_mailbox_domains = bench.test
virtual_mailbox_base = $WORK/mail
virtual_mailbox_maps = hash:$WORK/conf/vmailbox
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
default_process_limit = 100
smtpd_client_connection_count_limit = 100
CONF
  echo "bob@bench.test bench.test/bob/" > "$WORK/conf/vmailbox"
  postmap -c "$WORK/conf" "$WORK/conf/vmailbox"
  sed -e "s/^smtp      inet.*/127.0.0.1:$port inet n - n - - smtpd/" /usr/share/postfix/master.cf.dist > "$WORK/conf/master.cf"
  /usr/sbin/postfix -c "$WORK/conf" start >/dev/null 2>&1 || { cat "$WORK/postfix.log" >&2; exit 1; }
}

# postfix_require: exits with the package to install when Postfix or smtp-source is missing.
postfix_require() {
  if ! command -v smtp-source >/dev/null || [ ! -x /usr/sbin/postfix ]; then
    echo "postfix not installed: apt-get install -y postfix" >&2; exit 1
  fi
}

# bench_cleanup: the trap of both benches. Stops the processes in $PIDS and Postfix, drops
# the bench's database $DB and deletes its JetStream stream (under $PREFIX).
bench_cleanup() {
  for pid in ${PIDS:-}; do kill "$pid" 2>/dev/null || true; done
  /usr/sbin/postfix -c "$WORK/conf" stop >/dev/null 2>&1 || true
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  (cd packages/bus && node --input-type=module -e "
    import { connect } from '@nats-io/transport-node'; import { jetstreamManager } from '@nats-io/jetstream';
    const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc); await jsm.streams.delete('${PREFIX^^}_MAIL_QUEUE').catch(() => {}); await nc.close();" \
    ) 2>/dev/null || true
}
