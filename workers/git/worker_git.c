/*
 * vartrack-worker-git: computes each rule's Git baseline in the sandbox.
 * One bare cache repository per repo URL under cache_dir. A fetch of a
 * branch serves every rule on it for refresh_ms (the supervisor's: the
 * shortest poll interval on that branch; a push webhook's refetch cuts it
 * short); then the remote's ref list is asked first (one round trip, as
 * git ls-remote) and a pack is fetched only when the branch moved. Each
 * last reply says what the remote was asked and how long it took. Files
 * are re-parsed only when the commit moved (the supervisor sends the
 * commit it already holds).
 * Files are parsed by the baseline library (workers/baseline), exactly as
 * the orchestrator turns them into key/value pairs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <git2.h>
#include <seccomp.h>

#include "baseline.h"
#include "kvmap.h"
#include "log.h"
#include "worker.h"

#define GIT_MAX_PLATFORMS	64

struct platform {
	char	*name, *type, *endpoint, *token;
};

/* open cache repositories and their remotes, kept across polls: creating a
 * remote per poll would leak in libgit2 1.5 (pcre2 match data in the
 * insteadOf lookup), and reopening costs time */
#define GIT_MAX_REPOS	64
#define GIT_MAX_BRANCHES 32	/* remembered fetches per repository */
struct fetched {
	char		*branch;
	git_oid		 oid;
	uint64_t	 at_ms;		/* monotonic */
};
struct repo_cache {
	char		*url;
	git_repository	*repo;
	git_remote	*remote;
	struct fetched	 fetched[GIT_MAX_BRANCHES];
	size_t		 nfetched;
};
static struct repo_cache repos[GIT_MAX_REPOS];
static size_t		nrepos;

/* what the request being served asked the remote, sent with its last
 * reply (the supervisor's vartrack_watcher_git_fetch_* metrics) */
static struct {
	enum ipc_fetch_result	 res;
	uint64_t		 us;
} fetch_note;

static struct platform	plats[GIT_MAX_PLATFORMS];
static size_t		nplats;
static char		*cache_dir;
static uint64_t		max_file_bytes = BL_DEFAULT_MAX_FILE_BYTES;
static uint64_t		max_keys = BL_DEFAULT_MAX_KEYS;

static int
git_init(void)
{
	if (git_libgit2_init() < 0)
		return -1;
	/* cache repos belong to the sandbox user, sources to anyone: we only
	 * read them, and libgit2 runs no hooks */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	/* no user or system git configuration: nothing outside the cache
	 * (the sandbox user usually cannot read $HOME anyway) */
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_PROGRAMDATA, "");
	return 0;
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (p == NULL)
		fatal("strdup");
	return p;
}

static int
git_conf(const struct ipc_msg *m)
{
	struct platform *p;

	switch (m->type) {
	case IPC_CONF_PLATFORM:
		if (nplats == GIT_MAX_PLATFORMS)
			return -1;
		p = &plats[nplats++];
		p->name = xstrdup(m->u.conf_platform.name);
		p->type = xstrdup(m->u.conf_platform.type);
		p->endpoint = xstrdup(m->u.conf_platform.endpoint);
		p->token = xstrdup(m->u.conf_platform.token);
		return 0;
	case IPC_CONF_GIT:
		free(cache_dir);
		cache_dir = xstrdup(m->u.conf_git.cache_dir);
		if (m->u.conf_git.max_file_bytes)
			max_file_bytes = m->u.conf_git.max_file_bytes;
		if (m->u.conf_git.max_keys)
			max_keys = m->u.conf_git.max_keys;
		return 0;
	default:
		return -1;
	}
}

static const struct platform *
plat_byname(const char *name)
{
	size_t i;

	for (i = 0; i < nplats; i++)
		if (strcmp(plats[i].name, name) == 0)
			return &plats[i];
	return NULL;
}

static int
cred_cb(git_credential **out, const char *url, const char *user,
    unsigned int allowed, void *payload)
{
	const struct platform *p = payload;
	static int tries;

	(void)url;
	(void)user;
	if (p == NULL || p->token[0] == '\0' ||
	    !(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) || ++tries > 3)
		return GIT_PASSTHROUGH;
	/* as the orchestrator does: https://oauth2:<token>@host/... */
	return git_credential_userpass_plaintext_new(out,
	    strcmp(p->type, "github") == 0 ? "x-access-token" : "oauth2",
	    p->token);
}

static void
giterr(char *err, size_t errlen, const char *what)
{
	const git_error *e = git_error_last();

	snprintf(err, errlen, "%s: %s", what, e && e->message ? e->message :
	    "unknown libgit2 error");
}

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t
mono_ms(void)
{
	return mono_us() / 1000;
}

/* The last libgit2 error says the network timed out (libgit2 1.5 has no
 * timeout of its own: the OS's connect or read gave up). */
static int
git_timed_out(void)
{
	const git_error *e = git_error_last();

	return e != NULL && e->message != NULL &&
	    (strstr(e->message, "timed out") != NULL ||
	    strstr(e->message, "timeout") != NULL);
}

static void
repo_cache_drop(struct repo_cache *c)
{
	size_t i;

	for (i = 0; i < c->nfetched; i++)
		free(c->fetched[i].branch);
	git_remote_free(c->remote);
	git_repository_free(c->repo);
	free(c->url);
	*c = repos[--nrepos];
	memset(&repos[nrepos], 0, sizeof(repos[nrepos]));
}

/* file:// URLs and plain paths both work with libgit2's local transport */
static struct repo_cache *
open_cache(const char *url, char *err, size_t errlen)
{
	struct repo_cache *c;
	char path[4096];
	uint64_t h = kv_fnv1a64(url, strlen(url));
	size_t i;

	for (i = 0; i < nrepos; i++)
		if (strcmp(repos[i].url, url) == 0)
			return &repos[i];
	if (nrepos == GIT_MAX_REPOS)
		repo_cache_drop(&repos[0]);
	c = &repos[nrepos];
	snprintf(path, sizeof(path), "%s/%016llx.git", cache_dir,
	    (unsigned long long)h);
	if (git_repository_open_bare(&c->repo, path) < 0 &&
	    git_repository_init(&c->repo, path, 1) < 0) {
		giterr(err, errlen, "init cache repository");
		return NULL;
	}
	if (git_remote_create_anonymous(&c->remote, c->repo, url) < 0) {
		giterr(err, errlen, "remote");
		git_repository_free(c->repo);
		c->repo = NULL;
		return NULL;
	}
	c->url = xstrdup(url);
	nrepos++;
	return c;
}

static struct fetched *
fetched_get(struct repo_cache *c, const char *branch)
{
	struct fetched *f;
	size_t i;

	for (i = 0; i < c->nfetched; i++)
		if (strcmp(c->fetched[i].branch, branch) == 0)
			return &c->fetched[i];
	if (c->nfetched == GIT_MAX_BRANCHES) {
		/* the oldest goes */
		size_t old = 0;

		for (i = 1; i < c->nfetched; i++)
			if (c->fetched[i].at_ms < c->fetched[old].at_ms)
				old = i;
		free(c->fetched[old].branch);
		c->fetched[old] = c->fetched[--c->nfetched];
	}
	f = &c->fetched[c->nfetched++];
	memset(f, 0, sizeof(*f));
	f->branch = xstrdup(branch);
	return f;
}

/*
 * The remote's ref list only (git ls-remote): 1 when the branch is still
 * at the commit fetched last, so no pack negotiation is needed; 0 when it
 * moved or cannot be told (then fetch).
 */
static int
remote_unchanged(struct repo_cache *c, const struct ipc_baseline_request *r,
    const git_oid *known)
{
	git_remote_callbacks cb;
	const git_remote_head **heads;
	char ref[1024];
	size_t n, i;
	int same = 0;

	git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb.credentials = cred_cb;
	cb.payload = (void *)(uintptr_t)plat_byname(r->platform);
	if (git_remote_connect(c->remote, GIT_DIRECTION_FETCH, &cb, NULL,
	    NULL) < 0)
		return 0;	/* the fetch says why */
	snprintf(ref, sizeof(ref), "refs/heads/%s", r->branch);
	if (git_remote_ls(&heads, &n, c->remote) == 0)
		for (i = 0; i < n; i++)
			if (strcmp(heads[i]->name, ref) == 0) {
				same = git_oid_equal(&heads[i]->oid, known);
				break;
			}
	git_remote_disconnect(c->remote);
	return same;
}

/* Fetch branch into refs/remotes/origin/<branch>; resolve its commit. */
static int
fetch_branch(struct repo_cache *c, const struct ipc_baseline_request *r,
    git_oid *oid, char *err, size_t errlen)
{
	git_fetch_options fo;
	char spec[1024], ref[1024];
	char *specs[1];
	git_strarray refspecs;
	const struct platform *p = plat_byname(r->platform);

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	snprintf(spec, sizeof(spec), "+refs/heads/%s:refs/remotes/origin/%s",
	    r->branch, r->branch);
	snprintf(ref, sizeof(ref), "refs/remotes/origin/%s", r->branch);
	specs[0] = spec;
	refspecs.strings = specs;
	refspecs.count = 1;
	fo.callbacks.credentials = cred_cb;
	fo.callbacks.payload = (void *)(uintptr_t)p;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if (git_remote_fetch(c->remote, &refspecs, &fo, NULL) < 0) {
		fetch_note.res = git_timed_out() ? IPC_FETCH_TIMEOUT :
		    IPC_FETCH_ERROR;
		giterr(err, errlen, "fetch");
		return -1;
	}
	if (git_reference_name_to_id(oid, c->repo, ref) < 0) {
		snprintf(err, errlen, "branch '%s' not found", r->branch);
		return -1;
	}
	return 0;
}

static int
send_reply(struct ipc_chan *chan, uint32_t rule_id,
    enum ipc_baseline_status st, const char *commit, const char *error,
    struct ipc_pair *ents, size_t nents, int last, uint64_t total)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = IPC_BASELINE_REPLY;
	m.u.baseline_reply.rule_id = rule_id;
	m.u.baseline_reply.status = st;
	m.u.baseline_reply.commit = commit;
	m.u.baseline_reply.error = error;
	m.u.baseline_reply.entries = ents;
	m.u.baseline_reply.nentries = nents;
	m.u.baseline_reply.last = last;
	m.u.baseline_reply.total = total;
	if (last) {
		m.u.baseline_reply.fetch = fetch_note.res;
		m.u.baseline_reply.fetch_us = fetch_note.us;
	}
	return ipc_chan_send(chan, &m, 1);
}

/* What a long value travels as: a NUL-terminated copy of its prefix, and
 * its SHA-256. */
struct trunc_val {
	char		*prefix;
	unsigned char	 digest[VTW_DIGEST_LEN];
};

/*
 * The baseline in chunks of at most IPC_CHUNK_BYTES (an entry bigger than
 * what is left goes into the next chunk). A value over IPC_MAX_VALUE_BYTES
 * travels as the datasource workers send theirs: a prefix, its full length
 * and its SHA-256. -1 with err when the map cannot be sent (a key over
 * IPC_MAX_KEY_BYTES: checked before anything is sent) or a send failed.
 */
static int
send_map(struct ipc_chan *chan, uint32_t rule_id, const char *commit,
    const struct kvmap *map, char *err, size_t errlen)
{
	struct ipc_pair *ents;
	struct trunc_val *tv = NULL;
	size_t i, n = 0, ntrunc = 0, cost = 0, c, plen;
	size_t total = kvmap_count(map);
	int rc = -1;

	for (i = 0; i < total; i++) {
		if (map->ents[i].keylen > IPC_MAX_KEY_BYTES) {
			snprintf(err, errlen, "a key of %zu bytes exceeds the "
			    "%d-byte limit", map->ents[i].keylen,
			    IPC_MAX_KEY_BYTES);
			return -1;
		}
		if (map->ents[i].vallen > IPC_MAX_VALUE_BYTES)
			ntrunc++;
	}
	if ((ents = calloc(total ? total : 1, sizeof(*ents))) == NULL ||
	    (ntrunc > 0 && (tv = calloc(ntrunc, sizeof(*tv))) == NULL))
		fatal("calloc");
	ntrunc = 0;
	for (i = 0; i < total; i++) {
		const struct kv_entry *e = &map->ents[i];
		struct ipc_pair p = { e->key, e->val, 0, 0, NULL };

		plen = e->vallen;
		if (e->vallen > IPC_MAX_VALUE_BYTES) {
			struct trunc_val *t = &tv[ntrunc++];

			plen = ipc_value_prefix_len(e->val, e->vallen);
			if ((t->prefix = strndup(e->val, plen)) == NULL)
				fatal("strndup");
			vtw_digest(e->val, e->vallen, t->digest);
			p.val = t->prefix;
			p.truncated = 1;
			p.full_len = e->vallen;
			p.digest = t->digest;
		}
		c = ipc_value_cost(e->keylen, plen) +
		    (p.truncated ? VTW_DIGEST_LEN : 0);
		if (n > 0 && cost + c > IPC_CHUNK_BYTES) {
			if (send_reply(chan, rule_id, IPC_BL_OK, commit, NULL,
			    ents, n, 0, total) == -1)
				goto out;
			n = 0;
			cost = 0;
		}
		ents[n++] = p;
		cost += c;
	}
	if (send_reply(chan, rule_id, IPC_BL_OK, commit, NULL, ents, n, 1,
	    total) == -1)
		goto out;
	rc = 0;
 out:
	if (rc == -1)
		snprintf(err, errlen, "cannot send the baseline of %zu keys",
		    total);
	for (i = 0; i < ntrunc; i++)
		free(tv[i].prefix);
	free(tv);
	free(ents);
	return rc;
}

static int
build_baseline(git_repository *repo, const git_oid *oid,
    const struct ipc_baseline_request *r, struct kvmap *out, char *err,
    size_t errlen)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *te = NULL;
	git_blob *blob = NULL;
	struct bl_rule br;
	struct bl_pair *vm = NULL;
	size_t i;
	int rc = -1, skipped;

	memset(&br, 0, sizeof(br));
	/* resolved by the supervisor for the rule's kind */
	if (bl_key_format_parse(&br.key_format, r->key_format) == -1) {
		snprintf(err, errlen, "unknown key format '%s' (available: "
		    "dot, slash, slash_dot, flat)", r->key_format);
		return -1;
	}
	br.root_key = r->root_key_set ? r->root_key : NULL;
	br.env = r->env;
	br.key_prefix = r->key_prefix;
	br.limits.max_file_bytes = max_file_bytes;
	br.limits.max_keys = max_keys;
	if (r->nvariables_map > 0) {
		if ((vm = calloc(r->nvariables_map, sizeof(*vm))) == NULL)
			fatal("calloc");
		for (i = 0; i < r->nvariables_map; i++) {
			vm[i].key = r->variables_map[i].key;
			vm[i].val = r->variables_map[i].val;
		}
		br.variables_map = vm;
		br.nvariables_map = r->nvariables_map;
	}
	if (git_commit_lookup(&commit, repo, oid) < 0 ||
	    git_commit_tree(&tree, commit) < 0) {
		giterr(err, errlen, "read commit");
		goto out;
	}
	for (i = 0; i < r->nfiles; i++) {
		const char *path = r->files[i];

		if (git_tree_entry_bypath(&te, tree, path) < 0) {
			snprintf(err, errlen, "%s: not found on branch '%s'",
			    path, r->branch);
			goto out;
		}
		if (git_tree_entry_type(te) != GIT_OBJECT_BLOB) {
			snprintf(err, errlen, "%s: not a file", path);
			goto out;
		}
		if (git_blob_lookup(&blob, repo, git_tree_entry_id(te)) < 0) {
			giterr(err, errlen, path);
			goto out;
		}
		if (git_blob_rawsize(blob) > max_file_bytes) {
			snprintf(err, errlen, "%s: file of %llu bytes exceeds "
			    "the %llu-byte limit", path,
			    (unsigned long long)git_blob_rawsize(blob),
			    (unsigned long long)max_file_bytes);
			goto out;
		}
		skipped = 0;
		if (bl_build_file(out, &br, path, git_blob_rawcontent(blob),
		    (size_t)git_blob_rawsize(blob), &skipped, err,
		    errlen) == -1)
			goto out;
		if (skipped)
			log_info("%s: skipped as the orchestrator would "
			    "(root_key '%s' not present)", path, br.root_key);
		git_blob_free(blob);
		blob = NULL;
		git_tree_entry_free(te);
		te = NULL;
	}
	rc = 0;
 out:
	git_blob_free(blob);
	git_tree_entry_free(te);
	git_tree_free(tree);
	git_commit_free(commit);
	free(vm);
	return rc;
}

/*
 * The branch's commit: from a fetch within refresh_ms (unless a push was
 * announced: refetch), else from the remote's ref list when the branch has
 * not moved, else fetched. fetch_note says which, and how long the remote
 * took.
 */
static int
branch_commit(struct repo_cache *c, const struct ipc_baseline_request *r,
    git_oid *oid, char *err, size_t errlen)
{
	struct fetched *f = fetched_get(c, r->branch);
	uint64_t now = mono_ms(), t0;
	int rc = 0;

	if (f->at_ms != 0 && r->refresh_ms != 0 && !r->refetch &&
	    now - f->at_ms < r->refresh_ms) {
		git_oid_cpy(oid, &f->oid);
		return 0;
	}
	t0 = mono_us();
	if (f->at_ms != 0 && remote_unchanged(c, r, &f->oid)) {
		log_debug("rule %u: branch %s unchanged (ref list only)",
		    r->rule_id, r->branch);
		f->at_ms = now;
		git_oid_cpy(oid, &f->oid);
		fetch_note.res = IPC_FETCH_UNCHANGED;
		goto out;
	}
	f->at_ms = 0;
	fetch_note.res = IPC_FETCH_OK;
	if ((rc = fetch_branch(c, r, oid, err, errlen)) == -1) {
		if (fetch_note.res == IPC_FETCH_OK)	/* the ref is missing */
			fetch_note.res = IPC_FETCH_ERROR;
		goto out;
	}
	git_oid_cpy(&f->oid, oid);
	f->at_ms = now;
 out:
	fetch_note.us = mono_us() - t0;
	return rc;
}

/*
 * A standby asks for the leader's commit (ha.state: redis) so replicas
 * agree on what drift means while a push propagates: used in place of the
 * fetched head when it is the head or one of its ancestors; a commit this
 * fetch does not have yet (the leader is ahead) leaves the head.
 */
static void
want_commit(git_repository *repo, git_oid *oid,
    const struct ipc_baseline_request *r)
{
	git_oid want;

	if (r->want_commit == NULL || strlen(r->want_commit) !=
	    GIT_OID_HEXSZ || git_oid_fromstr(&want, r->want_commit) < 0 ||
	    git_oid_equal(&want, oid))
		return;
	if (git_graph_descendant_of(repo, oid, &want) != 1) {
		log_debug("rule %u: the leader's commit %.12s is not on the "
		    "fetched branch (yet)", r->rule_id, r->want_commit);
		return;
	}
	git_oid_cpy(oid, &want);
}

static int
git_handle(struct ipc_chan *chan, const struct ipc_msg *m)
{
	const struct ipc_baseline_request *r = &m->u.baseline_request;
	struct repo_cache *c = NULL;
	struct kvmap *map = NULL;
	git_oid oid;
	char hex[GIT_OID_HEXSZ + 1] = "", err[1024] = "";

	if (m->type != IPC_BASELINE_REQUEST)
		return -1;
	fetch_note.res = IPC_FETCH_NONE;
	fetch_note.us = 0;
	if (cache_dir == NULL) {
		snprintf(err, sizeof(err), "no cache directory configured");
		goto fail;
	}
	if ((c = open_cache(r->repo_url, err, sizeof(err))) == NULL)
		goto fail;
	if (branch_commit(c, r, &oid, err, sizeof(err)) == -1) {
		repo_cache_drop(c);	/* start afresh next time */
		goto fail;
	}
	want_commit(c->repo, &oid, r);
	git_oid_tostr(hex, sizeof(hex), &oid);
	if (r->known_commit[0] != '\0' && strcmp(hex, r->known_commit) == 0)
		return send_reply(chan, r->rule_id, IPC_BL_UNCHANGED, hex,
		    NULL, NULL, 0, 1, 0);
	if ((map = kvmap_new()) == NULL)
		fatal("kvmap_new");
	if (build_baseline(c->repo, &oid, r, map, err, sizeof(err)) == -1)
		goto fail;
	log_debug("rule %u: baseline %s with %zu keys", r->rule_id, hex,
	    kvmap_count(map));
	if (send_map(chan, r->rule_id, hex, map, err, sizeof(err)) == 0) {
		kvmap_free(map);
		return 0;
	}
	/* chunks may have gone: the error reply ends the request all the
	 * same (the supervisor drops what it received) */
 fail:
	kvmap_free(map);
	ipc_utf8_scrub(err);	/* it may quote a Git server */
	return send_reply(chan, r->rule_id, IPC_BL_ERROR, hex, err, NULL, 0, 1,
	    0);
}

static void
git_fini(void)
{
	size_t i;

	for (i = 0; i < nplats; i++) {
		free(plats[i].name);
		free(plats[i].type);
		free(plats[i].endpoint);
		if (plats[i].token != NULL)
			explicit_bzero(plats[i].token, strlen(plats[i].token));
		free(plats[i].token);
	}
	nplats = 0;
	while (nrepos > 0)
		repo_cache_drop(&repos[0]);
	free(cache_dir);
	cache_dir = NULL;
	git_libgit2_shutdown();
}

/* writing the cache repository */
static const struct worker_ops git_ops = {
	.name = "git",
	.init = git_init,
	.conf = git_conf,
	.handle = git_handle,
	.fini = git_fini,
};

int
main(int argc, char **argv)
{
	return worker_main(&git_ops, argc, argv);
}
