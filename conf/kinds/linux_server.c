/*
 * The linux_server kind (interop §3.8): files on a server over SSH/SFTP
 * (host keys always checked) or local files; formats env, ini, properties,
 * yaml, json as the orchestrator renders them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_keys.h"
#include "kinds.h"
#include "kinds/linux_server.h"
#include "linux_server_conf.h"

#define D(f)	offsetof(struct conf_linux_ds, f)
#define R(f)	offsetof(struct conf_linux_rule, f)

const char *conf_system_known_hosts = CONF_SYSTEM_KNOWN_HOSTS;

static const struct keydef ds_keys[] = {
	{ "max_file_bytes", h_size, D(max_file_bytes), 0, NULL },
	{ "ssh_host", h_nonempty, D(ssh_host), 0, NULL },
	{ "ssh_key_path", h_nonempty, D(ssh_key_path), 0, NULL },
	{ "ssh_known_hosts_file", h_nonempty, D(ssh_known_hosts_file), 0,
	    NULL },
	{ "ssh_password", h_secret, D(password), 0, NULL },
	{ "ssh_port", h_port, D(ssh_port), 0, NULL },
	{ "ssh_user", h_nonempty, D(ssh_user), 0, NULL },
};
static const struct keytab ds_tab = {
	"datasource", ds_keys, NITEMS(ds_keys), 0
};
#define GIVEN(key)	GIVEN_IN(&ds_tab, given, (key))
#define GIVEN_K(key)	(conf_given(&ds_tab, given, (key))->k)
#define GIVEN_V(key)	(conf_given(&ds_tab, given, (key))->v)

/* A linux_server file format or alias, folded; NULL when unknown. */
static const char *
linux_format_known(const char *f)
{
	static const struct {
		const char	*name, *fmt;
	} t[] = {
		{ "cfg", "ini" }, { "conf", "ini" }, { "config", "ini" },
		{ "env", "env" }, { "ini", "ini" }, { "json", "json" },
		{ "properties", "properties" }, { "yaml", "yaml" },
		{ "yml", "yaml" },
	};
	size_t i;

	if (*f == '.')
		f++;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(f, t[i].name) == 0)
			return t[i].fmt;
	return NULL;
}

/* interop §3.8: file_format, else the suffix of file_path; anything
 * unrecognised is "env" */
const char *
conf_linux_file_format(const struct conf_linux_rule *r)
{
	const char *f = NULL, *base, *dot, *fmt;

	if (r->file_format != NULL)
		f = r->file_format;
	else if (r->file_path != NULL) {
		base = strrchr(r->file_path, '/');
		base = base != NULL ? base + 1 : r->file_path;
		/* as Path.suffix: ".env" and "a." have none */
		if ((dot = strrchr(base, '.')) != NULL && dot != base &&
		    dot[1] != '\0')
			f = dot + 1;
	}
	if (f == NULL || (fmt = linux_format_known(f)) == NULL)
		return "env";
	return fmt;
}

/* sinks/linux_server.py: anything unrecognised is written as env */
static void
h_file_format(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;
	char sb[128];

	h_nonempty(c, obj, kd, k, v);
	s = *FIELD(obj, kd->off, char *);
	if (s != NULL && v->type == YN_SCALAR && strcmp(s, v->str) == 0 &&
	    linux_format_known(s) == NULL)
		conf_info_at(c, v->mark, "%s '%s' is treated as env, as the "
		    "orchestrator does", kd->name, SHOW(v, sb));
}

static const struct keydef rule_keys[] = {
	{ "env_as_dir", h_bool, R(env_as_dir), 0, NULL },
	{ "env_as_filename", h_bool, R(env_as_filename), 0, NULL },
	{ "file_format", h_file_format, R(file_format), 0, NULL },
	{ "file_path", h_abs_path, R(file_path), 0, NULL },
	{ "ssh_host", h_rule_conn, 0, 0, NULL },
	{ "ssh_key_path", h_rule_conn, 0, 0, NULL },
	{ "ssh_known_hosts_file", h_rule_conn, 0, 0, NULL },
	{ "ssh_password", h_rule_conn, 0, 0, NULL },
	{ "ssh_port", h_rule_conn, 0, 0, NULL },
	{ "ssh_user", h_rule_conn, 0, 0, NULL },
};
static const struct keytab rule_tab = {
	"rule", rule_keys, NITEMS(rule_keys), 0
};

static const char *const key_formats[] = { "dot", "flat", NULL };

/* Read the key and known_hosts files of an SSH datasource. */
static void
read_ssh_files(struct conf_ctx *c, struct conf_linux_ds *d,
    const struct given *given)
{
	const char *home, *cand[2];
	char why[128], sb[128], *path = NULL;
	size_t i, len;

	if (d->ssh_key_path != NULL && read_blob(d->ssh_key_path,
	    CONF_MAX_SSH_KEY_BYTES, &d->ssh_key, &d->ssh_key_len, why,
	    sizeof(why)) == -1)
		conf_error_at(c, GIVEN_V("ssh_key_path"), "ssh_key_path: "
		    "cannot read '%s': %s", conf_show(d->ssh_key_path,
		    strlen(d->ssh_key_path), sb, sizeof(sb)), why);
	if (d->ssh_known_hosts_file != NULL) {
		if (read_blob(d->ssh_known_hosts_file,
		    CONF_MAX_KNOWN_HOSTS_BYTES, &d->ssh_known_hosts,
		    &d->ssh_known_hosts_len, why, sizeof(why)) == -1)
			conf_error_at(c, GIVEN_V("ssh_known_hosts_file"),
			    "ssh_known_hosts_file: cannot read '%s': %s",
			    conf_show(d->ssh_known_hosts_file,
			    strlen(d->ssh_known_hosts_file), sb, sizeof(sb)),
			    why);
		return;
	}
	/* the first readable of the system's and the user's */
	cand[0] = conf_system_known_hosts;
	cand[1] = NULL;
	if ((home = getenv("HOME")) != NULL && *home == '/') {
		len = strlen(home) + sizeof("/.ssh/known_hosts");
		path = conf_xcalloc(1, len);
		snprintf(path, len, "%s/.ssh/known_hosts", home);
		cand[1] = path;
	}
	for (i = 0; i < NITEMS(cand); i++) {
		if (cand[i] == NULL || read_blob(cand[i],
		    CONF_MAX_KNOWN_HOSTS_BYTES, &d->ssh_known_hosts,
		    &d->ssh_known_hosts_len, why, sizeof(why)) == -1)
			continue;
		d->ssh_known_hosts_file = conf_xstrdup(cand[i]);
		break;
	}
	free(path);
	if (d->ssh_known_hosts_file == NULL)
		conf_error_at(c, GIVEN_K("ssh_host"), "ssh_host set but no "
		    "known_hosts file: set ssh_known_hosts_file");
}

static void
linux_ds_finish(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *given, struct conf_mark node)
{
	struct conf_linux_ds *d = ds->kconf;
	static const char *const ssh_keys[] = {
		"ssh_port", "ssh_user", "ssh_key_path", "ssh_password",
		"ssh_known_hosts_file",
	};
	size_t i;

	if (d->ssh_port == 0)
		d->ssh_port = CONF_LINUX_DEFAULT_SSH_PORT;
	if (d->ssh_user == NULL)
		d->ssh_user = conf_xstrdup(CONF_LINUX_DEFAULT_SSH_USER);
	if (d->max_file_bytes == 0)
		d->max_file_bytes = CONF_LINUX_DEFAULT_MAX_FILE_BYTES;
	if (d->ssh_host == NULL) {
		for (i = 0; i < NITEMS(ssh_keys); i++)
			if (GIVEN(ssh_keys[i]))
				conf_warning_at(c, GIVEN_K(ssh_keys[i]), "%s: "
				    "ignored without ssh_host (files are read "
				    "locally)", ssh_keys[i]);
		return;
	}
	if (!GIVEN("ssh_key_path") && !GIVEN("ssh_password"))
		conf_error_at(c, GIVEN_K("ssh_host"), "ssh_host: needs "
		    "ssh_key_path or ssh_password");
	read_ssh_files(c, d, given);
}

static void
linux_ds_print(struct jbuf *b, const char *ind,
    const struct conf_datasource *ds)
{
	const struct conf_linux_ds *d = ds->kconf;

	/* the ssh_* keys only mean something with ssh_host; the key's
	 * contents are never printed, its path is */
	if (d->ssh_host != NULL) {
		kv_str(b, ind, "ssh_host", d->ssh_host);
		kv_uint(b, ind, "ssh_port", d->ssh_port);
		kv_str(b, ind, "ssh_user", d->ssh_user);
		kv_str(b, ind, "ssh_key_path", d->ssh_key_path);
		kv_secret(b, ind, "ssh_password", &d->password);
		kv_str(b, ind, "ssh_known_hosts_file", d->ssh_known_hosts_file);
	}
	kv_size(b, ind, "max_file_bytes", d->max_file_bytes);
}

static void
free_blob(char **p, size_t *len)
{
	if (*p != NULL) {
		explicit_bzero(*p, *len);
		free(*p);
	}
	*p = NULL;
	*len = 0;
}

static void
linux_ds_free(void *p)
{
	struct conf_linux_ds *d = p;

	free(d->ssh_host);
	free(d->ssh_user);
	free(d->ssh_key_path);
	free_blob(&d->ssh_key, &d->ssh_key_len);
	conf_secret_free(&d->password);
	free(d->ssh_known_hosts_file);
	free_blob(&d->ssh_known_hosts, &d->ssh_known_hosts_len);
}

static int
linux_ds_pack(void **out, size_t *outlen, const struct conf_datasource *ds)
{
	const struct conf_linux_ds *d = ds->kconf;
	struct ipc_linux_settings s;

	memset(&s, 0, sizeof(s));
	if (d->ssh_host != NULL) {
		s.ssh = 1;
		s.host = d->ssh_host;
		s.port = d->ssh_port ? d->ssh_port :
		    CONF_LINUX_DEFAULT_SSH_PORT;
	}
	s.username = d->ssh_user;
	s.password = d->password.value;
	s.ssh_key.p = d->ssh_key;
	s.ssh_key.len = d->ssh_key_len;
	s.ssh_known_hosts.p = d->ssh_known_hosts;
	s.ssh_known_hosts.len = d->ssh_known_hosts_len;
	s.max_file_bytes = d->max_file_bytes;
	return ipc_linux_settings_pack(out, outlen, &s);
}

static void
linux_rule_init(void *p)
{
	struct conf_linux_rule *r = p;

	r->env_as_filename = 1;
}

static void
linux_rule_finish(struct conf_rule *cr, void *p,
    const struct conf_datasource *ds)
{
	struct conf_linux_rule *r = p;

	if (r->file_path == NULL)
		r->file_path = conf_xstrdup(CONF_LINUX_DEFAULT_FILE_PATH);
}

static void
linux_rule_print(struct jbuf *b, const char *ind, const void *p, int own)
{
	const struct conf_linux_rule *r = p;

	kv_str(b, ind, "file_path", r->file_path);
	kv_layout_bool(b, ind, "env_as_filename", r->env_as_filename, 1, own);
	kv_layout_bool(b, ind, "env_as_dir", r->env_as_dir, 0, own);
	kv_str(b, ind, "file_format", r->file_format);
}

static void
linux_rule_free(void *p)
{
	struct conf_linux_rule *r = p;

	free(r->file_path);
	free(r->file_format);
}

/* linux_server: re.sub(r'[^\w.\-]', '_', env). Python's \w is Unicode
 * aware; bytes of multi-byte UTF-8 sequences are kept (letters and digits
 * outside ASCII are word characters; other non-ASCII symbols are rare in
 * env names and would differ). */
static int
linux_bad(unsigned char c)
{
	if (c >= 0x80)
		return 0;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 0;
	return !(c == '_' || c == '.' || c == '-');
}

/* pathlib: the last '.' of the name, not as its first character */
static size_t
suffix_at(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL || dot == name || dot[1] == '\0')
		return strlen(name);
	return (size_t)(dot - name);
}

/* Path(s) as pathlib prints it: repeated and trailing '/' removed, "."
 * segments dropped (pathlib keeps ".."). */
static char *
path_normalise(const char *s, char *err, size_t errlen)
{
	char *o = malloc(strlen(s) + 2);
	size_t n = 0;
	const char *p = s, *q;

	if (o == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (*p == '/')
		o[n++] = '/';
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		q = strchr(p, '/');
		if (q == NULL)
			q = p + strlen(p);
		if (!(q - p == 1 && p[0] == '.')) {
			if (n > 0 && o[n - 1] != '/')
				o[n++] = '/';
			memcpy(o + n, p, (size_t)(q - p));
			n += (size_t)(q - p);
		}
		p = q;
	}
	if (n == 0)
		o[n++] = '.';
	o[n] = '\0';
	return o;
}

int
conf_linux_path(char **out, const char *destination_template,
    const char *file_path, int env_as_dir, int env_as_filename,
    const char *tenant, const char *env, char *err, size_t errlen)
{
	char *safe, *raw = NULL, *fp = NULL;
	const char *name;
	size_t dirlen, sfx;
	int rc = -1;

	*out = NULL;
	safe = conf_sanitise(env, linux_bad);
	if (destination_template != NULL && *destination_template != '\0') {
		if (conf_format_template(&raw, destination_template, tenant,
		    safe, err, errlen) == -1)
			goto out;
	} else {
		if (file_path == NULL || *file_path == '\0')
			file_path = CONF_LINUX_DEFAULT_FILE_PATH;
		if ((fp = path_normalise(file_path, err, errlen)) == NULL)
			goto out;
		name = strrchr(fp, '/');
		name = name ? name + 1 : fp;
		dirlen = (size_t)(name - fp);	/* includes the '/' */
		sfx = suffix_at(name);
		if (env_as_dir) {
			if (asprintf(&raw, "%.*s%s/%.*s%s", (int)dirlen, fp,
			    safe, (int)sfx, name, name + sfx) == -1)
				raw = NULL;
		} else if (env_as_filename) {
			if (asprintf(&raw, "%.*s%.*s_%s%s", (int)dirlen, fp,
			    (int)sfx, name, safe, name + sfx) == -1)
				raw = NULL;
		} else
			raw = strdup(fp);
		if (raw == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if ((*out = path_normalise(raw, err, errlen)) == NULL)
		goto out;
	rc = 0;
 out:
	free(safe);
	free(raw);
	free(fp);
	return rc;
}

static enum ipc_linux_format
linux_format(const char *fmt)
{
	if (strcmp(fmt, "ini") == 0)
		return IPC_LINUX_INI;
	if (strcmp(fmt, "properties") == 0)
		return IPC_LINUX_PROPERTIES;
	if (strcmp(fmt, "yaml") == 0)
		return IPC_LINUX_YAML;
	if (strcmp(fmt, "json") == 0)
		return IPC_LINUX_JSON;
	return IPC_LINUX_ENV;
}

static int
linux_layout(struct conf_layout *out, const struct conf_rule *cr,
    const void *p, const struct conf_datasource *ds, char *err, size_t errlen,
    const char **key)
{
	const struct conf_linux_rule *r = p;
	struct ipc_linux_scope scope;

	*key = cr->destination_template != NULL ? "destination_template" :
	    "file_path";
	if (conf_linux_path(&out->target, cr->destination_template,
	    r->file_path, r->env_as_dir, r->env_as_filename, cr->tenant_id,
	    out->env, err, errlen) == -1)
		return -1;
	out->marker = conf_xstrdup("");
	out->key_format = conf_layout_key_format(cr, "dot");
	out->key_prefix = conf_xstrdup("");
	out->detect_extra = 1;
	memset(&scope, 0, sizeof(scope));
	scope.format = linux_format(conf_linux_file_format(r));
	if (ipc_linux_scope_pack(&out->scope, &out->scope_len, &scope) == -1)
		fatal("%s: pack", __func__);
	return 0;
}

const struct ds_kind ds_kind_linux_server = {
	.name = "linux_server",
	.worker = "linux",
	.ds_size = sizeof(struct conf_linux_ds),
	.ds_keys = &ds_tab,
	.rule_size = sizeof(struct conf_linux_rule),
	.rule_keys = &rule_tab,
	.key_formats = key_formats,
	.ds_finish = linux_ds_finish,
	.ds_print = linux_ds_print,
	.ds_free = linux_ds_free,
	.ds_pack = linux_ds_pack,
	.rule_init = linux_rule_init,
	.rule_finish = linux_rule_finish,
	.rule_print = linux_rule_print,
	.rule_free = linux_rule_free,
	.layout = linux_layout,
};
