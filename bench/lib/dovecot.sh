# bench/lib/dovecot.sh: sourced by the IMAP and POP3 benches. A private Dovecot instance
# under $WORK on loopback, Maildir per user under $WORK/maildir, one static password.

# dovecot_conf <protocol> <port> <password-hash> <instance-name> [extra configuration]
# Writes $WORK/dovecot.conf: what every bench's instance has (directories, loopback,
# cleartext allowed, the static passdb and userdb, the one listener), then the extra lines.
dovecot_conf() {
  local protocol=$1 port=$2 hash=$3 instance=$4 extra=${5:-}
  mkdir -p "$WORK/run" "$WORK/state"
  cat > "$WORK/dovecot.conf" <<CONF
base_dir = $WORK/run
state_dir = $WORK/state
log_path = $WORK/dovecot.log
instance_name = $instance
protocols = $protocol
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$WORK/maildir/%u
passdb {
  driver = static
  args = password=$hash
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$WORK/maildir/%u
}
service $protocol-login {
  inet_listener $protocol {
    port = $port
  }
  inet_listener ${protocol}s {
    port = 0
  }
}
$extra
CONF
}

# The IMAP benches' tuning: thousands of sessions on one process per user (as for IDLE).
DOVECOT_IMAP_SCALE='mail_max_userip_connections = 100000
service imap-login {
  process_limit = 100
  client_limit = 10000
  service_count = 0
}
service imap {
  process_limit = 10000
}
default_client_limit = 20000
default_vsz_limit = 1G'

# The master and every process it forked: imap or pop3 (one per user), the logins, auth...
# (their command lines say "dovecot/imap", not the instance name: pgrep -f would miss them).
dovecot_pids() { local m; m=$(cat "$WORK/run/master.pid"); echo "$m $(pgrep -P "$m" | tr '\n' ' ')"; }
