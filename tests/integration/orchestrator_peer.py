#!/usr/bin/python3
"""A stand-in orchestrator: serves vartrack.v1.Watcher (interop §6.1) over
gRPC for the watcher's client tests.

Run with /usr/bin/python3 (Debian python3-grpcio; the pyenv python3 on PATH
has no grpc). No generated code: the methods are registered with a generic
handler on raw bytes, and SyncDatasourceRequest is decoded by hand.

usage: orchestrator_peer.py --port P [--tls-cert F --tls-key F
           [--client-ca F]] --mode MODE --log FILE

  --port 0       pick a free port
  --client-ca F  require client certificates signed by F (mTLS)
  --mode ok             SyncDatasource -> {task_id: <uuid4>, status:
                        "accepted"}, Ping -> Empty
         unavailable    every call aborts with UNAVAILABLE,
         internal       ... INTERNAL,
         unimplemented  ... UNIMPLEMENTED (messages need percent-encoding)
         hang           every call waits 60 s (or until SIGTERM), then
                        answers as in mode ok
         garbage        SyncDatasource returns bytes that are not a valid
                        SyncDatasourceResponse; Ping a non-empty message
  --on-sync CMD  in mode ok, after accepting a SyncDatasource, run CMD with
                 the shell in the background, as the orchestrator's Celery
                 task re-applies Git after answering (tests pass a command
                 that writes the Git values back into Redis)
  --log FILE     one JSON line appended per call received, written before
                 the reply: {"method","mode","fields","unknown","error",
                 "metadata","deadline_s"}; "fields" maps the names of the
                 fields present (proto3 omits empty strings) to their values

Prints "READY <port>" on stdout when serving; stops on SIGTERM or SIGINT.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent import futures

import grpc

SERVICE = "vartrack.v1.Watcher"
REQ_FIELDS = {1: "datasource", 2: "platform", 3: "tenant", 4: "env",
              5: "reason"}
ABORTS = {
    "unavailable": (grpc.StatusCode.UNAVAILABLE,
                    "orchestrator unavailable: 100% busy, retry later"),
    "internal": (grpc.StatusCode.INTERNAL,
                 "internal error: caf\u00e9\nline two"),
    "unimplemented": (grpc.StatusCode.UNIMPLEMENTED,
                      "method not implemented here"),
}

stopping = threading.Event()
log_lock = threading.Lock()


def varint(buf, i):
    shift = 0
    v = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def decode_request(buf):
    """Protobuf wire parsing of SyncDatasourceRequest: (fields, unknown)."""
    fields, unknown = {}, []
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ValueError("field number 0")
        if wt == 0:
            v, i = varint(buf, i)
            unknown.append({"field": num, "varint": v})
        elif wt == 2:
            n, i = varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated length-delimited field")
            raw = buf[i:i + n]
            i += n
            if num in REQ_FIELDS:
                fields[REQ_FIELDS[num]] = raw.decode("utf-8", "replace")
            else:
                unknown.append({"field": num, "hex": raw.hex()})
        elif wt == 1:
            i += 8
            unknown.append({"field": num, "fixed64": True})
        elif wt == 5:
            i += 4
            unknown.append({"field": num, "fixed32": True})
        else:
            raise ValueError("wire type %d" % wt)
        if i > len(buf):
            raise ValueError("truncated fixed field")
    return fields, unknown


def pb_string(num, s):
    b = s.encode()
    out = bytes([num << 3 | 2])
    n = len(b)
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n]) + b


class Peer:
    def __init__(self, mode, log, on_sync=None):
        self.mode = mode
        self.log = log
        self.on_sync = on_sync

    def record(self, method, request, ctx, fields=None, unknown=None,
               error=None):
        md = {}
        for k, v in ctx.invocation_metadata():
            md[k] = v if isinstance(v, str) else v.hex()
        rem = ctx.time_remaining()
        line = {
            "method": "/%s/%s" % (SERVICE, method),
            "mode": self.mode,
            "fields": fields if fields is not None else {},
            "unknown": unknown or [],
            "error": error,
            "request_len": len(request),
            "metadata": md,
            "deadline_s": None if rem is None else round(rem, 3),
            "t": round(time.time(), 6),
        }
        with log_lock, open(self.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, sort_keys=True, separators=(",", ":"))
                    + "\n")

    def reply(self, ctx):
        if self.mode in ABORTS:
            code, msg = ABORTS[self.mode]
            ctx.abort(code, msg)
        if self.mode == "hang":
            stopping.wait(60)

    def sync_datasource(self, request, ctx):
        try:
            fields, unknown = decode_request(request)
        except ValueError as e:
            self.record("SyncDatasource", request, ctx, error=str(e))
            ctx.abort(grpc.StatusCode.INVALID_ARGUMENT,
                      "cannot parse SyncDatasourceRequest: %s" % e)
        self.record("SyncDatasource", request, ctx, fields, unknown)
        self.reply(ctx)
        if self.mode == "garbage":
            # field 1, length 100, then 5 bytes: truncated
            return b"\x0a\x64short"
        if self.on_sync:
            threading.Thread(target=subprocess.run, args=(self.on_sync,),
                             kwargs={"shell": True,
                                     "stdout": subprocess.DEVNULL,
                                     "stderr": subprocess.DEVNULL},
                             daemon=True).start()
        return pb_string(1, str(uuid.uuid4())) + pb_string(2, "accepted")

    def ping(self, request, ctx):
        self.record("Ping", request, ctx)
        self.reply(ctx)
        if self.mode == "garbage":
            return b"\x0a\x03not-empty"
        return b""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca")
    ap.add_argument("--mode", required=True,
                    choices=["ok", "unavailable", "internal",
                             "unimplemented", "hang", "garbage"])
    ap.add_argument("--log", required=True)
    ap.add_argument("--on-sync")
    a = ap.parse_args()
    if bool(a.tls_cert) != bool(a.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    if a.client_ca and not a.tls_cert:
        ap.error("--client-ca needs --tls-cert and --tls-key")

    peer = Peer(a.mode, a.log, a.on_sync)
    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "SyncDatasource": grpc.unary_unary_rpc_method_handler(
            peer.sync_datasource),
        "Ping": grpc.unary_unary_rpc_method_handler(peer.ping),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         handlers=(handler,))
    addr = "127.0.0.1:%d" % a.port
    if a.tls_cert:
        with open(a.tls_key, "rb") as f:
            key = f.read()
        with open(a.tls_cert, "rb") as f:
            cert = f.read()
        ca = None
        if a.client_ca:
            with open(a.client_ca, "rb") as f:
                ca = f.read()
        creds = grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca,
            require_client_auth=ca is not None)
        port = server.add_secure_port(addr, creds)
    else:
        port = server.add_insecure_port(addr)
    if port == 0:
        print("cannot bind %s" % addr, file=sys.stderr, flush=True)
        os._exit(1)

    def on_signal(signo, frame):
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    print("READY %d" % port, flush=True)
    while not stopping.wait(0.2):
        pass
    server.stop(0.5).wait(1)
    # hanging handler threads would delay a normal exit
    os._exit(0)


if __name__ == "__main__":
    main()
