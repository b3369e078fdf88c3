#!/usr/bin/env python3
"""Rebuild the seed corpora of the fuzz targets (tests/fuzz/<target>/):
golden files, examples and the unit tests' string literals, each with
the option bytes its target reads first (see tests/fuzz/fuzz_*.c).

    tests/fuzz/seeds.py [FUZZ_BUILD_DIR]

FUZZ_BUILD_DIR (a -DVTW_FUZZ=ON build): its fuzz_ipc writes the IPC
seeds. Files the fuzzers added (crashes fixed, regressions) are kept;
the seeds written here are named s-*."""
import glob
import hashlib
import os
import re
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LIT = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
ESC = {'n': 10, 't': 9, 'r': 13, '\\': 92, '"': 34, "'": 39, 'a': 7,
       'b': 8, 'f': 12, 'v': 11, '?': 63}


def unescape(s):
    out, i = bytearray(), 0
    while i < len(s):
        if s[i] != '\\':
            out += s[i].encode()
            i += 1
            continue
        n = s[i + 1]
        if n == 'x':
            j = i + 2
            while j < len(s) and s[j] in '0123456789abcdefABCDEF':
                j += 1
            out.append(int(s[i + 2:j], 16) & 255)
            i = j
        elif n in '01234567':
            j = i + 1
            while j < len(s) and j < i + 4 and s[j] in '01234567':
                j += 1
            out.append(int(s[i + 1:j], 8) & 255)
            i = j
        else:
            out.append(ESC.get(n, ord(n)))
            i += 2
    return bytes(out)


def literals(*files):
    """Adjacent C string literals, concatenated, of each file."""
    for f in files:
        src = open(os.path.join(ROOT, f), errors='replace').read()
        for m in re.finditer(r'(?:"(?:[^"\\\n]|\\.)*"\s*)+', src):
            yield b''.join(unescape(p) for p in LIT.findall(m.group(0)))


def put(target, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    name = 's-' + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), 'wb') as fp:
        fp.write(data)


def files(pattern):
    for f in sorted(glob.glob(os.path.join(ROOT, pattern))):
        yield f, open(f, 'rb').read()


def conf():
    for _, b in files('conf/examples/*.yaml'):
        put('conf', b)
    for _, b in files('tests/golden/conf/*.yaml'):
        put('conf', b)
    for b in literals('tests/unit/test_conf.c', 'tests/unit/test_conf_sinks.c',
                      'tests/unit/test_conf_s3.c', 'tests/unit/test_layout.c'):
        if len(b) >= 30 and re.search(rb'rules:|datasources:|watcher:', b):
            put('conf', b)


# fuzz_baseline.c's paths[] indices
BL_PATH = {'yaml': 0, 'json': 2, 'env': 6, 'properties': 9, 'ini': 10}


def bl_kind(b):
    s = b.lstrip()
    if s[:1] in (b'{', b'['):
        return 'json'
    if re.search(rb'^\s*\[[^\]]*\]\s*$', b, re.M):
        return 'ini'
    if re.search(rb'^[^:#\n]+=', b, re.M) and not re.search(rb': ', b):
        return 'env'
    return 'yaml'


def baseline():
    for f, b in files('tests/golden/baseline/*'):
        if f.endswith('.expected'):
            continue
        k = {'.yaml': 'yaml', '.json': 'json', '.env': 'env',
             '.ini': 'ini'}[os.path.splitext(f)[1]]
        for opt in (0x00, 0x05, 0x16, 0x40 | 0x21, 0x80 | 0x32):
            put('baseline', bytes([BL_PATH[k], opt]) + b)
    for b in literals('tests/unit/test_baseline.c',
                      'tests/unit/test_baseline_parse.c',
                      'tests/unit/test_baseline_hostile.c'):
        if len(b) >= 4 and re.search(rb'[:=]', b) and b'\n' in b or \
           b[:1] in (b'{', b'['):
            put('baseline', bytes([BL_PATH[bl_kind(b)], 0]) + b)
            put('baseline', bytes([BL_PATH['properties'], 0x44]) + b)


def linux():
    for b in literals('tests/unit/test_linux_parse.c'):
        if len(b) >= 4 and (b'\n' in b or b[:1] in (b'{', b'[')):
            for fmt in range(5):
                put('linux', bytes([fmt]) + b)


def s3():
    for b in literals('tests/unit/test_s3_util.c'):
        if b'<ListBucketResult' in b:
            put('s3', b'\x00\x01' + b)
        elif b'<Error' in b:
            for st in (0, 6):
                put('s3', bytes([1, st]) + b)
        elif b'<Tagging' in b:
            put('s3', b'\x02\x00' + b)
        elif b'AccessKeyId' in b:
            put('s3', b'\x03\x00' + b)
        elif b[:1] == b'{':
            put('s3', b'\x04\x00' + b)
        elif re.match(rb'\d{4}-\d\d-\d\dT', b):
            put('s3', b'\x05\x00' + b)


def k8s():
    for b in literals('tests/unit/test_k8s.c'):
        if b.count(b'\n') > 1 and b'"type"' in b:
            for st, piece in ((0, 63), (0, 6), (1, 63)):
                put('k8s', bytes([0, st, piece]) + b)
        elif b[:1] in (b'{', b'['):
            put('k8s', b'\x01' + b)
            put('k8s', b'\x00\x00\x3f' + b + b'\n')
        elif len(b) < 40:
            put('k8s', b'\x02' + b)
    # a watch stream as kube_fake.py (and kube-apiserver) sends it
    import json
    ev = [{'type': t, 'object': {'kind': 'ConfigMap', 'apiVersion': 'v1', 'metadata': {
        'name': 'app-config-production', 'namespace': 'apps', 'resourceVersion': str(100 + i)},
        'data': {'max_connections': '50'}}} for i, t in enumerate(('ADDED', 'MODIFIED', 'DELETED'))]
    ev.append({'type': 'BOOKMARK', 'object': {'kind': 'ConfigMap', 'apiVersion': 'v1',
                                              'metadata': {'resourceVersion': '200'}}})
    put('k8s', b'\x00\x00\x3f' + b''.join(json.dumps(e).encode() + b'\n' for e in ev))


def vercel():
    for b in literals('tests/unit/test_vercel_parse.c'):
        if b'"envs"' in b or b'"key"' in b:
            put('vercel', b'\x00\x01' + b)
            put('vercel', b'\x00\x02' + b)
        elif b'"value"' in b or b'decrypted' in b:
            put('vercel', b'\x01\x00' + b)
        elif b'"limit"' in b:
            put('vercel', b'\x02\x00' + b'1800000030\n5\n' + b)
        elif b'"error"' in b or b'<html>' in b:
            put('vercel', b'\x03\x00' + b)
    for hdrs in (b'\n7\n', b'1800000030\n\n', b'\nFri, 15 Jan 2027 08:00:30 GMT\n',
                 b'99999999999999999999\nx\n'):
        put('vercel', b'\x02\x00' + hdrs + b'{"error":{"code":"rate_limited","limit":'
            b'{"remaining":0,"reset":1800000040,"resetMs":1800000040000,"total":100}}}')
    # bodies as the loopback fake of the API answers them
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
    import json
    import vercel_fake
    envs = [vercel_fake.Env('env_%d' % i, k, v, t, tg) for i, (k, v, t, tg) in enumerate((
        ('max_connections', '50', 'plain', ['production']),
        ('db.password', '', 'sensitive', ['production', 'preview']),
        ('log_level', 'debug', 'encrypted', ['preview']),
        ('VARTRACK_MANAGED_BY', 'vartrack', 'plain', ['production'])))]
    put('vercel', b'\x00\x01' + json.dumps({'envs': [e.listed() for e in envs], 'pagination': {
        'count': len(envs), 'next': 1700000000000, 'prev': None}}).encode())
    put('vercel', b'\x00\x02' + json.dumps({'envs': [e.listed(True) for e in envs],
                                          'pagination': {'count': 4, 'next': None}}).encode())
    for e in envs:
        put('vercel', b'\x01\x00' + json.dumps(e.decrypted()).encode())


def webhook():
    for b in literals('tests/unit/test_webhook.c', 'tests/unit/test_repourl.c'):
        if b[:1] == b'{':
            for pv in range(3):
                put('webhook', bytes([pv, 1]) + b)
        elif b'://' in b or b'@' in b:
            put('webhook', b'\x00\x02' + b)
        elif b.startswith(b'sha256=') or re.fullmatch(rb'[0-9a-f]{64}', b):
            put('webhook', (b'\x00\x00' if b.startswith(b'sha256=') else b'\x02\x00') + b +
                b'\n{"ref":"refs/heads/main"}')
    body = (b'{"ref":"refs/heads/main","repository":{"clone_url":'
            b'"https://github.com/acme/config.git","ssh_url":"git@github.com:acme/config.git",'
            b'"html_url":"https://github.com/acme/config"}}')
    put('webhook', b'\x00\x01' + body)
    put('webhook', b'\x01\x01' + b'{"ref":"refs/heads/dev","project":{"git_http_url":'
        b'"https://gitlab.com/acme/config.git","git_ssh_url":"git@gitlab.com:acme/config.git",'
        b'"web_url":"https://gitlab.com/acme/config"}}')
    put('webhook', b'\x01\x00s3cret-hook\n' + body)


def pb_str(field, s):
    return bytes([field << 3 | 2, len(s)]) + s


def grpc():
    ok = (b'HTTP/2 200\ncontent-type: application/grpc\n'
          b'grpc-accept-encoding: identity\n\n'
          b'grpc-status: 0\ngrpc-message: \n')
    msg = pb_str(1, b'3f2a-4b1c-9d8e') + pb_str(2, b'accepted')
    frame = b'\x00' + struct.pack('>I', len(msg)) + msg
    put('grpc', bytes([0, 0]) + struct.pack('>H', len(frame)) + frame + ok)
    put('grpc', bytes([0, 3]) + struct.pack('>H', len(frame)) + frame + ok)
    put('grpc', bytes([8, 0, 0, 5]) + b'\x00\x00\x00\x00\x00' + ok)
    put('grpc', bytes([0x10, 1]) + struct.pack('>H', len(frame)) + frame + ok)
    # trailers-only failure, a percent-encoded message
    put('grpc', b'\x00\x00\x00\x00' + b'HTTP/2 200\n'
        b'content-type: application/grpc+proto\ngrpc-status: 14\n'
        b'grpc-message: orchestrator%20down%3A%20%E2%80%94 %zz%C3\n\n')
    put('grpc', b'\x02\x00\x00\x00HTTP/2 503\ncontent-type: text/html\n\n')
    put('grpc', b'\x00\x00\x00\x07\x01\x00\x00\x00\x02hi' + ok)
    put('grpc', b'\x04\x00\x00\x00HTTP/1.1 200 OK\ncontent-type: '
        b'application/grpc\n\ngrpc-status: 0\n')
    put('grpc', b'\x00\x00\x00\x00HTTP/2 200\ngrpc-status: 99999999999\n'
        b'grpc-message: ' + b'%41' * 900 + b'\n')


def diff():
    for s in (
            b'\x10\x00eport=50\naport=5\nehost=db\nahost=db\n',
            b'\x10\x01edb.password=hunter2\nadb.password=hunter3\n'
            b'eapi_key=k\nxextra.token=t\nsapp.*\nemissing=v\n',
            b'\x05\x00eurl=postgres://user:pw@host/db\n'
            b'aurl=postgres://u@h/db?x=1\nxnew=https://a:b@c:d@e/\n',
            b'\x3f\x00ebig=abc\nabig=ab\ntbig=300000:abcdef\n'
            b'Tbig=3:abc\nrerr=timeout\neerr=1\n',
            b'\x02\x02ectl=a\x01b\x7f\tc\nactl=\xff\xfe\xc3\n'
            b'ekey\x00nul=v\nxx=' + b'y' * 300 + b'\n',
            b'\x00\x00ea=1\nab=2\n',
            b'\x08\x02eu=redis://:secret@host:6379\n'
            b'au=redis://host:6379\ntu=999:redis://:sec\n'):
        put('diff', s)


def ipc(build):
    exe = os.path.join(build, 'fuzz', 'fuzz_ipc')
    d = os.path.join(HERE, 'ipc')
    os.makedirs(d, exist_ok=True)
    env = dict(os.environ, VTW_FUZZ_SEEDS=d)
    subprocess.run([exe], env=env, check=True)


if __name__ == '__main__':
    conf()
    baseline()
    linux()
    s3()
    vercel()
    k8s()
    webhook()
    grpc()
    diff()
    if len(sys.argv) > 1:
        ipc(sys.argv[1])
