/*
 * vartrack-worker-linux: reads the files the varTrack orchestrator renders
 * on a Linux server (interop §3.8), over SFTP (libssh2) when the datasource
 * names an SSH host, else from the local filesystem, and parses them the
 * way they were rendered (linux_parse.c): env, ini, properties, yaml, json.
 *
 *   - host keys are always verified against the known_hosts contents the
 *     supervisor sends (unknown or changed key: the poll is unknown and no
 *     byte of the file is read); only host key types that known_hosts holds
 *     for the host are offered
 *   - authentication: public key from memory (the supervisor read the key
 *     file before we were sandboxed), else password
 *   - one SSH session and SFTP channel per datasource, reused across polls;
 *     any transport error closes them and the next poll reconnects (a reused
 *     connection that fails is retried once at once, so a restarted sshd
 *     costs no poll)
 *   - a file over max_file_bytes is unknown; a missing file is drift (every
 *     key missing); a file we may not read is unknown
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "dsworker.h"
#include "kinds/linux_server.h"
#include "kvmap.h"
#include "linux_parse.h"
#include "log.h"

#define LX_DEFAULT_MAX_FILE	(16ull * 1024 * 1024)
#define LX_DEFAULT_TIMEOUT_MS	5000u
#define LX_READ_CHUNK		(1024u * 1024)

struct lx_ds {
	char		*host, *user, *password;
	int		 ssh, port;
	char		*key, *known_hosts;	/* never logged */
	size_t		 keylen, known_hosts_len;
	uint64_t	 max_file_bytes;
	unsigned int	 conn_ms, cmd_ms;
	/* connection, reused across polls */
	int		 sock;
	LIBSSH2_SESSION	*sess;
	LIBSSH2_SFTP	*sftp;
	unsigned long	 nconnects;
};

/* what reading the file came to */
enum rd_status {
	RD_OK,		/* buf holds the file */
	RD_MISSING,	/* no such file: every key missing */
	RD_FAIL,	/* unknown; err set */
	RD_DATA,	/* there, but not the rule's data (not a regular
			 * file, over the size cap): a data error; err set */
	RD_TRANSPORT	/* unknown, and the connection is broken; err set */
};

static char *
xmemdup(const char *p, size_t n)
{
	char *q = malloc(n + 1);

	if (q == NULL)
		fatal("malloc");
	if (n)
		memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

static void
ds_disconnect(struct lx_ds *d)
{
	if (d->sftp != NULL)
		libssh2_sftp_shutdown(d->sftp);
	d->sftp = NULL;
	if (d->sess != NULL) {
		/* best effort, bounded by the session timeout */
		libssh2_session_disconnect(d->sess, "vartrack-watcher done");
		libssh2_session_free(d->sess);
	}
	d->sess = NULL;
	if (d->sock != -1)
		close(d->sock);
	d->sock = -1;
}

/* The connection failed (timeout, reset): shut the socket first so that
 * tearing the session down does not wait on the peer again. */
static void
ds_drop(struct lx_ds *d)
{
	if (d->sock != -1)
		(void)shutdown(d->sock, SHUT_RDWR);
	ds_disconnect(d);
}

static void
lx_close(void *priv)
{
	struct lx_ds *d = priv;

	ds_disconnect(d);
	free(d->host);
	free(d->user);
	if (d->password != NULL) {
		explicit_bzero(d->password, strlen(d->password));
		free(d->password);
	}
	if (d->key != NULL) {
		explicit_bzero(d->key, d->keylen);
		free(d->key);
	}
	free(d->known_hosts);
	free(d);
}

static int
lx_open(const struct ipc_conf_datasource *c, void **priv, char *err,
    size_t errlen)
{
	struct ipc_linux_settings st;
	struct lx_ds *d;

	if (ipc_linux_settings_unpack(&st, &c->settings, err, errlen) == -1) {
		ipc_linux_settings_release(&st);
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	d->sock = -1;
	d->ssh = st.ssh;
	d->host = ds_strdup(st.host);
	d->port = st.port ? (int)st.port : 22;
	d->user = ds_strdup(st.username[0] ? st.username : "root");
	d->password = st.password[0] ? ds_strdup(st.password) : NULL;
	if (st.ssh_key.len > 0) {
		d->key = xmemdup(st.ssh_key.p, st.ssh_key.len);
		d->keylen = st.ssh_key.len;
	}
	d->known_hosts = xmemdup(st.ssh_known_hosts.p, st.ssh_known_hosts.len);
	d->known_hosts_len = st.ssh_known_hosts.len;
	d->max_file_bytes = st.max_file_bytes ? st.max_file_bytes :
	    LX_DEFAULT_MAX_FILE;
	ipc_linux_settings_release(&st);
	d->conn_ms = c->connect_timeout_ms ? c->connect_timeout_ms :
	    LX_DEFAULT_TIMEOUT_MS;
	d->cmd_ms = c->command_timeout_ms ? c->command_timeout_ms :
	    LX_DEFAULT_TIMEOUT_MS;
	if (d->ssh && d->host[0] == '\0')
		d->ssh = 0;
	*priv = d;
	return 0;
}

/* ---- SSH connection ----------------------------------------------------- */

static const char *
ssh_errmsg(LIBSSH2_SESSION *s)
{
	char *msg = NULL;

	if (s == NULL)
		return "no session";
	libssh2_session_last_error(s, &msg, NULL, 0);
	return msg && msg[0] ? msg : "unknown error";
}

/* TCP connect bounded by ms. The socket is left blocking. */
static int
tcp_connect(struct lx_ds *d, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct pollfd pfd;
	char port[16];
	int fd = -1, rc, soerr, flags;
	socklen_t sl;
	const char *why = "no address";

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", d->port);
	if ((rc = getaddrinfo(d->host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "resolve %s: %s", d->host,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			why = strerror(errno);
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			do
				rc = poll(&pfd, 1, (int)d->conn_ms);
			while (rc == -1 && errno == EINTR);
			if (rc == 0) {
				why = "connection timed out";
			} else if (rc > 0) {
				sl = sizeof(soerr);
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
				    &sl) == 0 && soerr == 0)
					break;
				why = strerror(soerr);
			} else
				why = strerror(errno);
		} else
			why = strerror(errno);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "connect %s:%d: %s", d->host, d->port,
		    why);
		return -1;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		close(fd);
		return -1;
	}
	rc = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &rc, sizeof(rc));
	d->sock = fd;
	return 0;
}

static int
kh_keytype(int hostkey_type)
{
	switch (hostkey_type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default:
		return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

/* Load the known_hosts contents line by line; lines libssh2 cannot read
 * (markers such as @cert-authority, unsupported key types) are skipped. */
static LIBSSH2_KNOWNHOSTS *
kh_load(struct lx_ds *d, size_t *nloaded)
{
	LIBSSH2_KNOWNHOSTS *kh;
	const char *p = d->known_hosts, *end = p + d->known_hosts_len, *nl;
	size_t n;

	*nloaded = 0;
	if ((kh = libssh2_knownhost_init(d->sess)) == NULL)
		return NULL;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (libssh2_knownhost_readline(kh, p, n,
		    LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0)
			(*nloaded)++;
		p += n;
	}
	return kh;
}

/*
 * Host key methods to offer: the types known_hosts holds for this host
 * (plain "host" or "[host]:port" entries; hashed entries cannot be told
 * apart, so their types count too). Empty when there is none.
 */
static void
kh_methods(struct lx_ds *d, LIBSSH2_KNOWNHOSTS *kh, char *out, size_t outlen)
{
	struct libssh2_knownhost *e = NULL, *prev = NULL;
	char bracket[300];
	int have[8] = { 0 }, t;
	size_t i;
	static const struct { int type; const char *names; } order[] = {
		{ LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519" },
		{ LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256" },
		{ LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384" },
		{ LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521" },
		{ LIBSSH2_KNOWNHOST_KEY_SSHRSA,
		    "rsa-sha2-512,rsa-sha2-256,ssh-rsa" },
		{ LIBSSH2_KNOWNHOST_KEY_SSHDSS, "ssh-dss" },
	};

	out[0] = '\0';
	snprintf(bracket, sizeof(bracket), "[%s]:%d", d->host, d->port);
	while (libssh2_knownhost_get(kh, &e, prev) == 0) {
		prev = e;
		if (e->name != NULL && strcmp(e->name, d->host) != 0 &&
		    strcmp(e->name, bracket) != 0)
			continue;
		/* a plain "host" entry is for port 22 only */
		if (e->name != NULL && d->port != 22 &&
		    strcmp(e->name, d->host) == 0)
			continue;
		t = (e->typemask & LIBSSH2_KNOWNHOST_KEY_MASK) >>
		    LIBSSH2_KNOWNHOST_KEY_SHIFT;
		if (t >= 0 && t < 8)
			have[t] = 1;
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		t = order[i].type >> LIBSSH2_KNOWNHOST_KEY_SHIFT;
		if (!have[t])
			continue;
		if (out[0] != '\0')
			strncat(out, ",", outlen - strlen(out) - 1);
		strncat(out, order[i].names, outlen - strlen(out) - 1);
	}
}

/* Verify the server's host key; 0 when it matches known_hosts. */
static int
kh_verify(struct lx_ds *d, LIBSSH2_KNOWNHOSTS *kh, char *err, size_t errlen)
{
	struct libssh2_knownhost *found = NULL;
	const char *key;
	size_t keylen;
	int type, rc;

	key = libssh2_session_hostkey(d->sess, &keylen, &type);
	if (key == NULL) {
		snprintf(err, errlen, "%s:%d: no host key", d->host, d->port);
		return -1;
	}
	rc = libssh2_knownhost_checkp(kh, d->host, d->port, key, keylen,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    kh_keytype(type), &found);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		snprintf(err, errlen, "host key of %s:%d does not match "
		    "known_hosts", d->host, d->port);
		return -1;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		snprintf(err, errlen, "host key of %s:%d not in known_hosts",
		    d->host, d->port);
		return -1;
	default:
		snprintf(err, errlen, "host key of %s:%d: check failed",
		    d->host, d->port);
		return -1;
	}
}

/*
 * Whether the private key is RSA: PEM "BEGIN RSA PRIVATE KEY", or an
 * OpenSSH key whose public part names ssh-rsa. libssh2 1.10 signs RSA keys
 * with ssh-rsa (SHA-1) only, which OpenSSH 8.8 and later refuse: the error
 * then says so. Looks at the key type only, never logs key material.
 */
static int
key_is_rsa(const char *key, size_t len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	unsigned char out[96];
	const char *p, *end = key + len, *c;
	size_t n = 0, i;
	unsigned int acc = 0;
	int bits = 0, rc;

	if (memmem(key, len, "BEGIN RSA PRIVATE KEY", 21) != NULL)
		return 1;
	if ((p = memmem(key, len, begin, sizeof(begin) - 1)) == NULL)
		return 0;
	for (p += sizeof(begin) - 1; p < end && n < sizeof(out); p++) {
		if (*p == '=' || *p == '-')
			break;
		if ((c = memchr(b64, *p, 64)) == NULL)
			continue;	/* newlines */
		acc = (acc << 6) | (unsigned int)(c - b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* "openssh-key-v1\0", cipher, kdf, kdf options, count, then the
	 * public key blob, which starts with its type name */
	rc = 0;
	for (i = 0; i + 7 <= n; i++)
		if (memcmp(out + i, "ssh-rsa", 7) == 0)
			rc = 1;
	explicit_bzero(out, sizeof(out));
	return rc;
}

static int
ssh_auth(struct lx_ds *d, char *err, size_t errlen)
{
	char why[512] = "";
	int rc;

	if (d->key != NULL) {
		rc = libssh2_userauth_publickey_frommemory(d->sess, d->user,
		    strlen(d->user), NULL, 0, d->key, d->keylen, NULL);
		if (rc == 0)
			return 0;
		/* libssh2's messages name the method, never key material */
		snprintf(why, sizeof(why), "publickey: %s%s",
		    ssh_errmsg(d->sess), key_is_rsa(d->key, d->keylen) ?
		    " (an RSA key: libssh2 1.10 signs only ssh-rsa/SHA-1, "
		    "which OpenSSH 8.8+ refuses; use an ed25519 or ecdsa "
		    "key)" : "");
		if (rc != LIBSSH2_ERROR_AUTHENTICATION_FAILED &&
		    rc != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED &&
		    rc != LIBSSH2_ERROR_FILE && rc != LIBSSH2_ERROR_METHOD_NONE)
			goto fail;
	}
	if (d->password != NULL) {
		rc = libssh2_userauth_password_ex(d->sess, d->user,
		    (unsigned int)strlen(d->user), d->password,
		    (unsigned int)strlen(d->password), NULL);
		if (rc == 0)
			return 0;
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    "%spassword: %s", why[0] ? "; " : "",
		    rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED ?
		    "refused" : ssh_errmsg(d->sess));
	}
	if (d->key == NULL && d->password == NULL)
		snprintf(why, sizeof(why), "no ssh_key_path nor ssh_password "
		    "configured");
 fail:
	snprintf(err, errlen, "ssh %s:%d: authentication as %s failed (%s)",
	    d->host, d->port, d->user, why);
	return -1;
}

/* Connect, verify the host key, authenticate, open SFTP (once; reused). */
static int
ssh_connect(struct lx_ds *d, char *err, size_t errlen)
{
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	char methods[256];
	size_t nkh;

	if (d->sftp != NULL)
		return 0;
	ds_disconnect(d);
	if ((d->sess = libssh2_session_init()) == NULL) {
		snprintf(err, errlen, "libssh2_session_init failed");
		return -1;
	}
	libssh2_session_set_blocking(d->sess, 1);
	libssh2_session_set_timeout(d->sess, (long)d->cmd_ms);
	if ((kh = kh_load(d, &nkh)) == NULL) {
		snprintf(err, errlen, "known_hosts: %s", ssh_errmsg(d->sess));
		goto fail;
	}
	kh_methods(d, kh, methods, sizeof(methods));
	if (methods[0] == '\0') {
		/* nothing to verify against: do not even connect */
		snprintf(err, errlen, "host key of %s:%d not in known_hosts "
		    "(%zu entries, none for this host)", d->host, d->port, nkh);
		goto fail;
	}
	if (libssh2_session_method_pref(d->sess, LIBSSH2_METHOD_HOSTKEY,
	    methods) != 0)
		log_debug("host key methods '%s' refused: %s", methods,
		    ssh_errmsg(d->sess));
	if (tcp_connect(d, err, errlen) == -1)
		goto fail;
	if (libssh2_session_handshake(d->sess, d->sock) != 0) {
		snprintf(err, errlen, "ssh %s:%d: handshake failed: %s",
		    d->host, d->port, ssh_errmsg(d->sess));
		goto fail;
	}
	if (kh_verify(d, kh, err, errlen) == -1)
		goto fail;
	libssh2_knownhost_free(kh);
	kh = NULL;
	if (ssh_auth(d, err, errlen) == -1)
		goto fail;
	if ((d->sftp = libssh2_sftp_init(d->sess)) == NULL) {
		snprintf(err, errlen, "ssh %s:%d: SFTP: %s", d->host, d->port,
		    ssh_errmsg(d->sess));
		goto fail;
	}
	d->nconnects++;
	log_info("connected to %s:%d as %s (SFTP), connection %lu", d->host,
	    d->port, d->user, d->nconnects);
	return 0;
 fail:
	if (kh != NULL)
		libssh2_knownhost_free(kh);
	ds_drop(d);
	return -1;
}

/* ---- reading the file --------------------------------------------------- */

static int
grow(char **buf, size_t *cap, size_t need)
{
	char *nb;
	size_t nc = *cap ? *cap : 64 * 1024;

	if (need <= *cap)
		return 0;
	while (nc < need)
		nc *= 2;
	if ((nb = realloc(*buf, nc)) == NULL)
		return -1;
	*buf = nb;
	*cap = nc;
	return 0;
}

static const char *
fx_name(unsigned long fx)
{
	switch (fx) {
	case LIBSSH2_FX_PERMISSION_DENIED:
		return "permission denied";
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		return "no such file";
	case LIBSSH2_FX_FAILURE:
		return "failure";
	case LIBSSH2_FX_NOT_A_DIRECTORY:
		return "not a directory";
	default:
		return "SFTP error";
	}
}

/* An SFTP call failed with rc: a status from the server, or transport. */
static enum rd_status
sftp_fail(struct lx_ds *d, int rc, const char *what, const char *path,
    char *err, size_t errlen)
{
	unsigned long fx;

	if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL) {
		fx = libssh2_sftp_last_error(d->sftp);
		if (fx == LIBSSH2_FX_NO_SUCH_FILE ||
		    fx == LIBSSH2_FX_NO_SUCH_PATH ||
		    fx == LIBSSH2_FX_NOT_A_DIRECTORY)
			return RD_MISSING;
		snprintf(err, errlen, "%s %s on %s:%d: %s", what, path,
		    d->host, d->port, fx_name(fx));
		return RD_FAIL;
	}
	snprintf(err, errlen, "%s %s on %s:%d: %s", what, path, d->host,
	    d->port, ssh_errmsg(d->sess));
	return RD_TRANSPORT;
}

static enum rd_status
read_sftp(struct lx_ds *d, const char *path, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	LIBSSH2_SFTP_HANDLE *h;
	char *buf = NULL;
	size_t len = 0, cap = 0, want;
	ssize_t n;
	int rc;

	rc = libssh2_sftp_stat_ex(d->sftp, path, (unsigned int)strlen(path),
	    LIBSSH2_SFTP_STAT, &st);
	if (rc != 0)
		return sftp_fail(d, rc, "stat", path, err, errlen);
	if ((st.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
	    !LIBSSH2_SFTP_S_ISREG(st.permissions)) {
		snprintf(err, errlen, "%s on %s:%d is not a regular file", path,
		    d->host, d->port);
		return RD_DATA;
	}
	if ((st.flags & LIBSSH2_SFTP_ATTR_SIZE) &&
	    st.filesize > d->max_file_bytes) {
		snprintf(err, errlen, "%s on %s:%d: file larger than %llu bytes",
		    path, d->host, d->port,
		    (unsigned long long)d->max_file_bytes);
		return RD_DATA;
	}
	h = libssh2_sftp_open_ex(d->sftp, path, (unsigned int)strlen(path),
	    LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
	if (h == NULL)
		return sftp_fail(d, libssh2_session_last_errno(d->sess),
		    "open", path, err, errlen);
	/* read what stat said, and go on until EOF: the file may change */
	for (;;) {
		want = LX_READ_CHUNK;
		if ((st.flags & LIBSSH2_SFTP_ATTR_SIZE) && len < st.filesize &&
		    st.filesize - len < want)
			want = (size_t)(st.filesize - len) + 1;
		if (len + want > d->max_file_bytes + 1)
			want = (size_t)(d->max_file_bytes + 1 - len);
		if (grow(&buf, &cap, len + want + 1) == -1)
			fatal("realloc");
		n = libssh2_sftp_read(h, buf + len, want);
		if (n == 0)
			break;
		if (n < 0) {
			enum rd_status s = sftp_fail(d, (int)n, "read", path,
			    err, errlen);

			libssh2_sftp_close_handle(h);
			free(buf);
			/* vanished between stat and read: a poll later */
			return s == RD_MISSING ? RD_FAIL : s;
		}
		len += (size_t)n;
		if (len > d->max_file_bytes) {
			libssh2_sftp_close_handle(h);
			free(buf);
			snprintf(err, errlen, "%s on %s:%d: file larger than "
			    "%llu bytes", path, d->host, d->port,
			    (unsigned long long)d->max_file_bytes);
			return RD_DATA;
		}
	}
	if (libssh2_sftp_close_handle(h) != 0 &&
	    libssh2_session_last_errno(d->sess) != LIBSSH2_ERROR_SFTP_PROTOCOL) {
		free(buf);
		snprintf(err, errlen, "close %s on %s:%d: %s", path, d->host,
		    d->port, ssh_errmsg(d->sess));
		return RD_TRANSPORT;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		fatal("malloc");
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return RD_OK;
}

static enum rd_status
read_local(struct lx_ds *d, const char *path, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0, want;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: a FIFO planted at the path must not hang the worker */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return RD_MISSING;
		snprintf(err, errlen, "open %s: %s%s", path, strerror(errno),
		    errno == EACCES || errno == EPERM ?
		    " (the worker runs as the sandbox user)" : "");
		return RD_FAIL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		close(fd);
		return RD_DATA;
	}
	if ((uint64_t)st.st_size > d->max_file_bytes)
		goto toobig;
	for (;;) {
		want = LX_READ_CHUNK;
		if (len < (size_t)st.st_size)
			want = (size_t)st.st_size - len + 1;
		if (len + want > d->max_file_bytes + 1)
			want = (size_t)(d->max_file_bytes + 1 - len);
		if (grow(&buf, &cap, len + want + 1) == -1)
			fatal("realloc");
		n = read(fd, buf + len, want);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "read %s: %s", path,
			    strerror(errno));
			free(buf);
			close(fd);
			return RD_FAIL;
		}
		len += (size_t)n;
		if (len > d->max_file_bytes) {
			free(buf);
			goto toobig;
		}
	}
	close(fd);
	if (buf == NULL && (buf = malloc(1)) == NULL)
		fatal("malloc");
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return RD_OK;
 toobig:
	close(fd);
	snprintf(err, errlen, "%s: file larger than %llu bytes", path,
	    (unsigned long long)d->max_file_bytes);
	return RD_DATA;
}

static enum rd_status
read_file(struct lx_ds *d, const char *path, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	enum rd_status s;
	int reused, timedout;

	if (!d->ssh)
		return read_local(d, path, out, outlen, err, errlen);
	reused = d->sftp != NULL;
	if (ssh_connect(d, err, errlen) == -1)
		return RD_FAIL;
	s = read_sftp(d, path, out, outlen, err, errlen);
	if (s == RD_TRANSPORT) {
		timedout = libssh2_session_last_errno(d->sess) ==
		    LIBSSH2_ERROR_TIMEOUT;
		ds_drop(d);
		/* a server that does not answer gets no second wait */
		if (!reused || timedout)
			return s;
		/* the kept connection went stale (server restarted, idle
		 * timeout): one fresh attempt */
		log_info("connection to %s:%d lost (%s); reconnecting",
		    d->host, d->port, err);
		if (ssh_connect(d, err, errlen) == -1)
			return RD_FAIL;
		s = read_sftp(d, path, out, outlen, err, errlen);
		if (s == RD_TRANSPORT)
			ds_drop(d);
	}
	return s;
}

/* ---- one poll ----------------------------------------------------------- */

static enum lp_format
layout_format(enum ipc_linux_format f)
{
	switch (f) {
	case IPC_LINUX_INI:
		return LP_INI;
	case IPC_LINUX_PROPERTIES:
		return LP_PROPERTIES;
	case IPC_LINUX_YAML:
		return LP_YAML;
	case IPC_LINUX_JSON:
		return LP_JSON;
	case IPC_LINUX_ENV:
		break;
	}
	return LP_ENV;
}

static int
add(struct ds_reply *rb, const char *k, size_t kl, int present,
    const char *v, size_t vl)
{
	if (ds_reply_add(rb, k, kl, present, v, vl) == 1)
		return ds_reply_flush(rb);
	return 0;
}

static int
lx_poll(void *priv, struct ds_poll *p, struct ds_reply *rb, char *err,
    size_t errlen)
{
	struct lx_ds *d = priv;
	struct ipc_linux_scope sc;
	struct kvmap *got = NULL, *req = NULL;
	const struct kv_entry *e;
	char perr[256];
	char *buf = NULL;
	size_t len = 0, i;
	enum rd_status s;
	enum lp_format fmt;
	int marker = 0, rc = -1;

	if (ipc_linux_scope_unpack(&sc, &p->scope, err, errlen) == -1)
		goto done;
	fmt = layout_format(sc.format);
	if (p->target[0] != '/') {
		snprintf(err, errlen, "file path '%s' is not absolute",
		    p->target);
		goto done;
	}
	s = read_file(d, p->target, &buf, &len, err, errlen);
	if (s == RD_FAIL || s == RD_TRANSPORT)
		goto done;
	if (s == RD_DATA) {
		rc = DS_POLL_DATA_ERROR;
		goto done;
	}
	if ((got = kvmap_new()) == NULL)
		fatal("kvmap_new");
	if (s == RD_OK) {
		switch (lp_parse(fmt, buf, len, got, &marker, perr,
		    sizeof(perr))) {
		case LP_OK:
			break;
		case LP_SYNTAX:
			/* not what the orchestrator renders: drift, every
			 * key missing, and say why */
			log_warnx("rule %s: %s is not valid %s (%s): every key "
			    "reported missing", DS_RULE_NAME(p->rule), p->target,
			    lp_format_name(fmt), perr);
			kvmap_clear(got);
			break;
		case LP_TOO_BIG:
			snprintf(err, errlen, "%s: %s", p->target, perr);
			rc = DS_POLL_DATA_ERROR;
			goto done;
		case LP_NOMEM:
			fatal("parse %s: out of memory", p->target);
		}
	} else
		log_debug("rule %s: %s does not exist", DS_RULE_NAME(p->rule),
		    p->target);
	free(buf);
	buf = NULL;
	rb->marker_present = marker;
	for (i = 0; i < p->nkeys; i++) {
		e = kvmap_get(got, p->keys[i], p->keylens[i]);
		if (add(rb, p->keys[i], p->keylens[i], e != NULL,
		    e ? e->val : NULL, e ? e->vallen : 0) == -1)
			goto sendfail;
	}
	if (p->detect_extra && kvmap_count(got) > 0) {
		req = ds_poll_keyset(p);
		if (ds_reply_extras(rb) == -1)
			goto sendfail;
		for (i = 0; i < got->n; i++) {
			e = &got->ents[i];
			if (kvmap_get(req, e->key, e->keylen) != NULL)
				continue;
			if (add(rb, e->key, e->keylen, 1, e->val,
			    e->vallen) == -1)
				goto sendfail;
		}
	}
	rc = 0;
 sendfail:
	/* a failed send shows in rb->failed */
 done:
	/* the values point into got: end the reply before it goes */
	ds_reply_end(rb, rc, err);
	free(buf);
	kvmap_free(got);
	kvmap_free(req);
	ipc_linux_scope_release(&sc);
	return rc;
}

static int
lx_init(void)
{
	/* crypto backend initialisation may read files: before the sandbox */
	if (libssh2_init(0) != 0) {
		log_warnx("libssh2_init failed");
		return -1;
	}
	return 0;
}

static void
lx_fini(void)
{
	libssh2_exit();
}

static const struct dsw_kind lx_kind = {
	.name = "linux",
	.type = "linux_server",
	.init = lx_init,
	.fini = lx_fini,
	.open = lx_open,
	.close = lx_close,
	.poll = lx_poll,
};

int
main(int argc, char **argv)
{
	return ds_worker_main(&lx_kind, argc, argv);
}
