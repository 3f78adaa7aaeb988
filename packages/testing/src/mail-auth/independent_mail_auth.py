"""DKIM and ARC signing and verification with dkimpy, SPF with pyspf: an implementation that
shares no code with Tegami's (mailauth), for tests to sign with and to cross-check verdicts.

One JSON request on stdin, one JSON answer on stdout (see mail-auth/python-runner.ts):
messages travel base64-encoded, never through a shell. DNS is answered from the zone given
in the request (the TestDnsRecords the test DNS server serves), with that server's
semantics, since the system resolver these libraries normally ask cannot reach it.
"""

import base64
import json
import logging
import sys

import dkim
import spf

# packages/testing/src/dns-server.ts: a CNAME chain is followed this many hops at most.
MAX_CNAME_CHAIN = 8
# RCODEs a zone node can answer with that mean "ask again later" to a resolver: dnspython
# tries every server and gives up with NoNameservers, which pyspf turns into a TempError.
TEMPORARY_RCODES = ('SERVFAIL', 'REFUSED', 'FORMERR', 'NOTIMP')


def normalise_name(name):
    lower = name.lower()
    return lower[:-1] if lower.endswith('.') and lower != '.' else lower


class Zone:
    """The test DNS server's answers (dns-server.ts `respond`), without the sockets."""

    def __init__(self, records):
        self.nodes = {normalise_name(name): node for name, node in (records or {}).items()}
        self.queries = []

    def has_descendant(self, name):
        # An empty non-terminal exists (NODATA), it is not NXDOMAIN (RFC 8020).
        suffix = '.' + name
        return any(key.endswith(suffix) for key in self.nodes)

    def lookup(self, name, qtype):
        """(rcode, [(owner, type, value)]); rcode 'TIMEOUT' for a query the server drops."""
        name = normalise_name(name)
        self.queries.append({'name': name, 'type': qtype})
        node = self.nodes.get(name)
        if node is not None and node.get('drop'):
            return 'TIMEOUT', []
        if node is not None and node.get('rcode'):
            return node['rcode'], []
        answers = []
        current = name
        hop = 0
        while True:
            here = self.nodes.get(current)
            if here is None and not self.has_descendant(current):
                return 'NXDOMAIN', answers
            if here is not None and 'cname' in here and qtype != 'CNAME':
                target = normalise_name(here['cname'])
                answers.append((current, 'CNAME', target))
                if hop >= MAX_CNAME_CHAIN:
                    break
                current = target
                hop += 1
                continue
            if here is not None:
                answers.extend(records_of(current, here, qtype))
            break
        return 'NOERROR', answers


def records_of(name, node, qtype):
    if qtype == 'MX':
        return [
            (name, 'MX', (mx['preference'], '.' if mx['exchange'] == '.' else normalise_name(mx['exchange'])))
            for mx in node.get('mx', [])
        ]
    if qtype in ('A', 'AAAA'):
        entries = node.get('a' if qtype == 'A' else 'aaaa', [])
        return [(name, qtype, entry if isinstance(entry, str) else entry['address']) for entry in entries]
    if qtype == 'TXT':
        records = []
        for entry in node.get('txt', []):
            if isinstance(entry, str):
                strings = [entry]
            elif isinstance(entry, list):
                strings = entry
            else:
                strings = entry['strings']
            records.append((name, 'TXT', [s.encode('utf-8') for s in strings]))
        return records
    if qtype == 'PTR':
        return [(name, 'PTR', normalise_name(target)) for target in node.get('ptr', [])]
    return []


# --- DKIM and ARC -------------------------------------------------------------------------


class DnsProblems:
    """What went wrong in the lookups of one verification, which dkimpy only logs."""

    def __init__(self):
        self.temporary = []


def dkim_dnsfunc(zone, problems):
    """dkimpy's dnsfunc: the first TXT record of the name, its strings joined (RFC 6376 §3.6.2.2).

    dkimpy's own dnspython lookup turns SERVFAIL into "no key" (a permanent failure); here
    a server failure or a timeout raises DnsTimeoutError, recorded, so the verdict can say
    temperror as RFC 6376 §6.1.2 allows and as mailauth does.
    """

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode('ascii', 'replace')
        rcode, answers = zone.lookup(name, 'TXT')
        if rcode == 'TIMEOUT' or rcode in TEMPORARY_RCODES:
            problems.temporary.append('%s TXT: %s' % (normalise_name(name), rcode))
            raise dkim.DnsTimeoutError('%s for %s' % (rcode, name))
        texts = [value for _, rtype, value in answers if rtype == 'TXT']
        return b''.join(texts[0]) if texts else None

    return dnsfunc


class CollectingHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.errors = []

    def emit(self, record):
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())


def collecting_logger(name):
    logger = logging.getLogger('independent_mail_auth.' + name)
    logger.handlers = []
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = CollectingHandler()
    logger.addHandler(handler)
    return logger, handler


def text(value):
    if value is None:
        return None
    return value.decode('utf-8', 'replace') if isinstance(value, bytes) else str(value)


def verify_dkim(request):
    message = base64.b64decode(request['message'])
    zone = Zone(request.get('zone'))
    min_key_bits = request.get('minKeyBits', 1024)
    count = len([1 for name, _ in dkim.DKIM(message).headers if name.lower() == b'dkim-signature'])
    signatures = []
    for index in range(count):
        logger, handler = collecting_logger('dkim%d' % index)
        problems = DnsProblems()
        verifier = dkim.DKIM(message, logger=logger, minkey=min_key_bits)
        error = None
        try:
            valid = verifier.verify(index, dnsfunc=dkim_dnsfunc(zone, problems))
        except dkim.DKIMException as e:
            valid = False
            error = e
        if valid:
            result, reason = 'pass', 'signature verified'
        elif problems.temporary:
            result, reason = 'temperror', 'DNS: ' + '; '.join(problems.temporary)
        elif isinstance(error, dkim.ValidationError) and 'body hash mismatch' in str(error):
            result, reason = 'fail', str(error)
        elif error is not None:
            # A malformed or expired signature, an unusable or too small key.
            result, reason = 'permerror', '%s: %s' % (type(error).__name__, error)
        elif handler.errors:
            # dkimpy logs and returns False when the key record is missing or unusable.
            result, reason = 'permerror', '; '.join(handler.errors)
        else:
            result, reason = 'fail', 'signature did not verify'
        fields = getattr(verifier, 'signature_fields', None) or {}
        signatures.append({
            'result': result,
            'reason': reason,
            'domain': text(fields.get(b'd')),
            'selector': text(fields.get(b's')),
            'algorithm': text(fields.get(b'a')),
        })
    return {'signatures': signatures}


def verify_arc(request):
    message = base64.b64decode(request['message'])
    zone = Zone(request.get('zone'))
    logger, handler = collecting_logger('arc')
    problems = DnsProblems()
    cv, instances, reason = dkim.arc_verify(
        message,
        logger=logger,
        dnsfunc=dkim_dnsfunc(zone, problems),
        minkey=request.get('minKeyBits', 1024),
    )
    # None: an earlier ARC-Seal said cv=fail, the chain ended there (RFC 8617 §5.2): a failed chain.
    return {
        'cv': text(cv) if cv is not None else 'fail',
        'reason': reason,
        'errors': handler.errors,
        'temporaryDnsFailures': problems.temporary,
        'instances': [
            {
                'instance': result.get('instance'),
                'cv': text(result.get('cv')),
                'amsValid': bool(result.get('ams-valid')),
                'asValid': bool(result.get('as-valid')),
                'amsDomain': text(result.get('ams-domain')),
                'asDomain': text(result.get('as-domain')),
            }
            for result in instances
        ],
    }


def sign_dkim(request):
    message = base64.b64decode(request['message'])
    headers = request.get('headers')
    header = dkim.sign(
        message,
        request['selector'].encode('ascii'),
        request['domain'].encode('ascii'),
        request['privateKey'].encode('ascii'),
        identity=request['identity'].encode('utf-8') if request.get('identity') else None,
        canonicalize=tuple(part.encode('ascii') for part in request['canonicalization'].split('/')),
        signature_algorithm=request['algorithm'].encode('ascii'),
        include_headers=[h.encode('ascii') for h in headers] if headers else None,
        length=bool(request.get('bodyLength')),
    )
    return {'headers': [base64.b64encode(header).decode('ascii')]}


def sign_arc(request):
    message = base64.b64decode(request['message'])
    headers = request.get('headers')
    arc_set = dkim.arc_sign(
        message,
        request['selector'].encode('ascii'),
        request['domain'].encode('ascii'),
        request['privateKey'].encode('ascii'),
        request['srvId'].encode('ascii'),
        include_headers=[h.encode('ascii') for h in headers] if headers else None,
        timestamp=request.get('timestamp'),
    )
    return {'headers': [base64.b64encode(header).decode('ascii') for header in arc_set]}


# --- SPF ----------------------------------------------------------------------------------


def spf_dns_lookup(zone):
    """pyspf's DNSLookup hook, behaving as its dnspython driver does against the test server.

    dnspython follows the CNAME chain itself and pyspf files the records under the name it
    asked for; NXDOMAIN and NODATA are both "no records" (each a void lookup, RFC 7208
    §4.6.4); a server failure or a timeout is a TempError (temperror).
    """

    def lookup(name, qtype, strict=True, timeout=None):
        rcode, answers = zone.lookup(name, qtype)
        if rcode == 'TIMEOUT':
            raise spf.TempError('DNS timeout asking %s %s' % (qtype, name))
        if rcode in TEMPORARY_RCODES:
            raise spf.TempError('DNS %s asking %s %s' % (rcode, qtype, name))
        if rcode == 'NXDOMAIN':
            return []
        return [((name, qtype), value) for _, rtype, value in answers if rtype == qtype]

    return lookup


def check_spf(request):
    zone = Zone(request.get('zone'))
    spf.DNSLookup = spf_dns_lookup(zone)
    sender = request.get('sender') or ''
    helo = request.get('helo') or ''
    try:
        query = spf.query(i=request['ip'], s=sender, h=helo, receiver=request.get('receiver'))
        result, _, explanation = query.check()
        identity = query.ident
    except spf.PermError as e:
        # The constructor refuses a client address that is not one.
        result, explanation, identity = 'permerror', 'SPF Permanent Error: %s' % e, None
    return {'result': result, 'explanation': explanation, 'identity': identity, 'dnsQueries': zone.queries}


def zone_lookup(request):
    """The zone's answers to a list of queries: proves these semantics equal the server's."""
    zone = Zone(request.get('zone'))
    answers = []
    for query in request['queries']:
        rcode, records = zone.lookup(query['name'], query['type'])
        answers.append({
            'rcode': rcode,
            'answers': [
                {'name': owner, 'type': rtype, 'data': [text(s) for s in value] if rtype == 'TXT' else value}
                for owner, rtype, value in records
            ],
        })
    return {'answers': answers}


OPERATIONS = {
    'dkim-sign': sign_dkim,
    'arc-sign': sign_arc,
    'dkim-verify': verify_dkim,
    'arc-verify': verify_arc,
    'spf-check': check_spf,
    'zone-lookup': zone_lookup,
}


def main():
    answer_to = sys.stdout
    # Whatever a library prints must not corrupt the one JSON answer.
    sys.stdout = sys.stderr
    request = json.load(sys.stdin)
    operation = OPERATIONS.get(request.get('op'))
    if operation is None:
        answer = {'error': 'unknown operation %r' % request.get('op')}
    else:
        try:
            answer = operation(request)
        except dkim.DKIMException as e:
            answer = {'error': '%s: %s' % (type(e).__name__, e)}
    json.dump(answer, answer_to)
    answer_to.flush()


if __name__ == '__main__':
    main()
