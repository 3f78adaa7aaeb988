"""Python's imaplib over COMPRESS=DEFLATE (RFC 4978), for test/imap-compress.test.ts.

imaplib has no COMPRESS, so this wraps its socket the way clients that add it do
(imaplib2, offlineimap): after the tagged OK, what is sent goes through a raw DEFLATE
compressor flushed with Z_SYNC_FLUSH, and what is read through a raw inflater.

Usage: imaplib_compress.py HOST PORT USER PASSWORD
Prints one line per step; exits non-zero on any failure.
"""

import imaplib
import sys
import zlib


# imaplib refuses commands it does not know; COMPRESS is valid once logged in (RFC 4978).
imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


class CompressingIMAP4(imaplib.IMAP4):
    compressor = None
    decompressor = None
    plain = b""

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"COMPRESS refused: {data}")
        # wbits -15: raw DEFLATE, no zlib header, a 32 KiB window.
        self.compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self.decompressor = zlib.decompressobj(-15)
        # Nothing is left in imaplib's own buffered reader: the server says nothing after the
        # OK until the client speaks (no mailbox is selected, so nothing is pushed).
        return typ, data

    def send(self, data):
        if self.compressor is None:
            return super().send(data)
        self.sock.sendall(self.compressor.compress(data) + self.compressor.flush(zlib.Z_SYNC_FLUSH))

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise imaplib.IMAP4.abort("socket closed")
        self.plain += self.decompressor.decompress(chunk)

    def read(self, size):
        if self.decompressor is None:
            return super().read(size)
        while len(self.plain) < size:
            self._fill()
        data, self.plain = self.plain[:size], self.plain[size:]
        return data

    def readline(self):
        if self.decompressor is None:
            return super().readline()
        while b"\n" not in self.plain:
            self._fill()
        end = self.plain.index(b"\n") + 1
        line, self.plain = self.plain[:end], self.plain[end:]
        return line


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    imap = CompressingIMAP4(host, port)
    imap.login(user, password)
    # imaplib keeps the greeting's capabilities; ask again now that we are logged in.
    typ, data = imap.capability()
    capabilities = data[0].decode().upper().split()
    print("capabilities after login:", " ".join(capabilities))
    if "COMPRESS=DEFLATE" not in capabilities:
        raise SystemExit("COMPRESS=DEFLATE not offered after login")
    print("compress:", imap.compress()[0])
    typ, data = imap.select("INBOX")
    print("select:", typ, data[0].decode())
    message = (
        b"From: python@example.test\r\nTo: tester@example.test\r\nSubject: from imaplib\r\n\r\n"
        + b"compressed body line\r\n" * 50
    )
    typ, data = imap.append("INBOX", "(\\Seen)", None, message)
    print("append:", typ, data[0].decode())
    typ, data = imap.select("INBOX")
    count = int(data[0])
    typ, data = imap.fetch(str(count), "(FLAGS BODY.PEEK[])")
    if typ != "OK" or data[0][1] != message:
        raise SystemExit(f"FETCH did not return the message: {typ} {data!r}"[:500])
    print("fetch:", typ, "body matches,", len(data[0][1]), "octets")
    typ, data = imap.noop()
    print("noop:", typ)
    typ, data = imap.logout()
    print("logout:", typ)


if __name__ == "__main__":
    main()
