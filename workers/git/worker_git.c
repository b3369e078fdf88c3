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
 *
 * Requests are served by a pool of max_parallel_fetches threads (the
 * supervisor's watcher.git.max_parallel_fetches), one repository's
 * requests one at a time and in order: a slow or hung remote holds up only
 * the rules on it. A thread takes the oldest queued request whose
 * repository is idle, computes the baseline and queues the result; the
 * main thread sends every reply (git_event), so replies come in any order
 * (the supervisor matches them by rule). Each remote round (the ref list,
 * then the fetch) must be done within fetch_timeout_ms: libgit2 1.5 has no
 * timeout of its own, so a watchdog thread interrupts a thread past its
 * deadline with GIT_SIG_TIMEOUT (a handler without SA_RESTART: the
 * blocked connect() or recv() fails with EINTR, libgit2 gives up), again
 * every GIT_KICK_MS until it has. The requests that waited for a failed
 * fetch of their branch share its failure rather than ask again.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
	/* the last failed fetch: when it ended, what it said */
	uint64_t	 fail_us;
	char		 fail_err[1024];
};
/* Everything but url and busy belongs to the thread that set busy. */
struct repo_cache {
	char		*url;
	int		 busy;		/* a thread serves a request of it */
	uint64_t	 used_ms;
	git_repository	*repo;		/* NULL: (re)open before use */
	git_remote	*remote;
	struct fetched	 fetched[GIT_MAX_BRANCHES];
	size_t		 nfetched;
};

#define GIT_DEFAULT_PARALLEL	4
#define GIT_MAX_PARALLEL	64
#define GIT_DEFAULT_TIMEOUT_MS	30000
#define GIT_MAX_QUEUED		4096	/* requests waiting for a thread */
#define GIT_KICK_MS		50	/* a thread past its deadline is
					 * interrupted again this often */
#define GIT_SIG_TIMEOUT		SIGUSR1

/* One request, from its arrival to its reply; the request's strings are
 * copies (the message is released when git_handle returns). */
struct job {
	struct job		*next;
	struct ipc_baseline_request r;
	uint64_t		 queued_us;
	/* the result */
	enum ipc_baseline_status st;
	char			 hex[GIT_OID_HEXSZ + 1];
	char			 err[1024];
	struct kvmap		*map;		/* IPC_BL_OK */
	/* what the remote was asked and how long it took, sent with the
	 * last reply (the supervisor's vartrack_watcher_git_fetch_*) */
	enum ipc_fetch_result	 fres;
	uint64_t		 fus;
};

struct jobq {
	struct job	*head, **tail;
	size_t		 n;
};

/* one fetch thread */
struct slot {
	pthread_t	 tid;
	int		 started;
	uint64_t	 deadline_ms;	/* 0: not asking a remote */
	uint64_t	 kicked_ms;
	int		 timed_out;	/* the deadline passed */
};

/* mtx guards everything below, and each repo_cache's url, busy, used_ms */
static pthread_mutex_t	mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	work_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	dog_cv;			/* CLOCK_MONOTONIC */
static struct repo_cache *repos[GIT_MAX_REPOS];
static size_t		nrepos;
static struct jobq	todo, done;
static struct slot	slots[GIT_MAX_PARALLEL];
static size_t		nslots;
static pthread_t	dog;
static int		dog_started, stopping;
static int		done_fd = -1;		/* eventfd: results to send */
static size_t		max_parallel = GIT_DEFAULT_PARALLEL;
static int		threads_ok = 1;	/* libgit2 is thread-safe */
static uint64_t		fetch_timeout_ms = GIT_DEFAULT_TIMEOUT_MS;

static struct platform	plats[GIT_MAX_PLATFORMS];
static size_t		nplats;
static char		*cache_dir;
static uint64_t		max_file_bytes = BL_DEFAULT_MAX_FILE_BYTES;
static uint64_t		max_keys = BL_DEFAULT_MAX_KEYS;

static void
timeout_sig(int sig)
{
	(void)sig;	/* only to interrupt a blocked system call */
}

static int
git_init(void)
{
	struct sigaction sa;
	pthread_condattr_t ca;

	if (git_libgit2_init() < 0)
		return -1;
	if (!(git_libgit2_features() & GIT_FEATURE_THREADS)) {
		log_warnx("libgit2 built without thread support: one fetch "
		    "at a time");
		max_parallel = 1;
		threads_ok = 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = timeout_sig;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	if (sigaction(GIT_SIG_TIMEOUT, &sa, NULL) == -1)
		return -1;
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&dog_cv, &ca) != 0)
		return -1;
	pthread_condattr_destroy(&ca);
	if ((done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	todo.tail = &todo.head;
	done.tail = &done.head;
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

	/* the fetch threads read all this: it is set before they start
	 * (the supervisor configures a worker once, then restarts it) */
	if (nslots > 0)
		return -1;
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
		if (m->u.conf_git.max_parallel_fetches && threads_ok)
			max_parallel = m->u.conf_git.max_parallel_fetches >
			    GIT_MAX_PARALLEL ? GIT_MAX_PARALLEL :
			    m->u.conf_git.max_parallel_fetches;
		if (m->u.conf_git.fetch_timeout_ms)
			fetch_timeout_ms = m->u.conf_git.fetch_timeout_ms;
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

/* the credential callback's payload: per request */
struct cred_ctx {
	const struct platform	*p;
	int			 tries;
};

static int
cred_cb(git_credential **out, const char *url, const char *user,
    unsigned int allowed, void *payload)
{
	struct cred_ctx *cc = payload;
	const struct platform *p = cc->p;

	(void)url;
	(void)user;
	if (p == NULL || p->token[0] == '\0' ||
	    !(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) || ++cc->tries > 3)
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

/* Close a cache repository (after a failed fetch: start afresh); the last
 * failure of each branch stays. Only its thread, or under mtx when idle. */
static void
repo_close(struct repo_cache *c)
{
	size_t i;

	git_remote_free(c->remote);
	git_repository_free(c->repo);
	c->remote = NULL;
	c->repo = NULL;
	for (i = 0; i < c->nfetched; i++)
		c->fetched[i].at_ms = 0;
}

/* Forget repos[i] (idle); the last one takes its place. Under mtx. */
static void
repo_forget(size_t i)
{
	struct repo_cache *c = repos[i];
	size_t k;

	repo_close(c);
	for (k = 0; k < c->nfetched; k++)
		free(c->fetched[k].branch);
	free(c->url);
	free(c);
	repos[i] = repos[--nrepos];
	repos[nrepos] = NULL;
}

/*
 * The cache entry of url, made when new (the least recently used idle one
 * goes when GIT_MAX_REPOS are open); NULL when every entry is busy. Under
 * mtx: the repository itself is opened by the thread (repo_open).
 */
static struct repo_cache *
repo_get(const char *url)
{
	struct repo_cache *c;
	size_t i, old = GIT_MAX_REPOS;

	for (i = 0; i < nrepos; i++)
		if (strcmp(repos[i]->url, url) == 0)
			return repos[i];
	if (nrepos == GIT_MAX_REPOS) {
		for (i = 0; i < nrepos; i++)
			if (!repos[i]->busy && (old == GIT_MAX_REPOS ||
			    repos[i]->used_ms < repos[old]->used_ms))
				old = i;
		if (old == GIT_MAX_REPOS)
			return NULL;
		repo_forget(old);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	c->url = xstrdup(url);
	repos[nrepos++] = c;
	return c;
}

/* file:// URLs and plain paths both work with libgit2's local transport */
static int
repo_open(struct repo_cache *c, char *err, size_t errlen)
{
	char path[4096];
	uint64_t h = kv_fnv1a64(c->url, strlen(c->url));

	snprintf(path, sizeof(path), "%s/%016llx.git", cache_dir,
	    (unsigned long long)h);
	if (git_repository_open_bare(&c->repo, path) < 0 &&
	    git_repository_init(&c->repo, path, 1) < 0) {
		c->repo = NULL;
		giterr(err, errlen, "init cache repository");
		return -1;
	}
	if (git_remote_create_anonymous(&c->remote, c->repo, c->url) < 0) {
		giterr(err, errlen, "remote");
		git_repository_free(c->repo);
		c->repo = NULL;
		c->remote = NULL;
		return -1;
	}
	return 0;
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

/* The thread asks the remote from now on, for at most fetch_timeout_ms. */
static void
deadline_start(struct slot *sl)
{
	pthread_mutex_lock(&mtx);
	/* stopping: interrupted at once */
	sl->deadline_ms = stopping ? 1 : mono_ms() + fetch_timeout_ms;
	sl->kicked_ms = 0;
	sl->timed_out = 0;
	pthread_cond_signal(&dog_cv);
	pthread_mutex_unlock(&mtx);
}

/* Whether the deadline passed (the watchdog said so). */
static int
deadline_passed(struct slot *sl)
{
	int t;

	pthread_mutex_lock(&mtx);
	t = sl->timed_out;
	pthread_mutex_unlock(&mtx);
	return t;
}

/* Done asking: no more interruptions. Whether the deadline had passed. */
static int
deadline_end(struct slot *sl)
{
	int t;

	pthread_mutex_lock(&mtx);
	sl->deadline_ms = 0;
	t = sl->timed_out;
	sl->timed_out = 0;
	pthread_mutex_unlock(&mtx);
	return t;
}

/*
 * The watchdog: a thread past its deadline gets GIT_SIG_TIMEOUT, again
 * every GIT_KICK_MS (a signal that came while it was not blocked
 * interrupted nothing) until it is done asking.
 */
static void *
dog_main(void *arg)
{
	struct timespec ts;
	uint64_t now, next, t;
	size_t i;
	int quit = 0;

	(void)arg;
	pthread_mutex_lock(&mtx);
	while (!quit) {
		now = mono_ms();
		next = 0;
		for (i = 0; i < nslots; i++) {
			struct slot *sl = &slots[i];

			if (sl->deadline_ms == 0)
				continue;
			if (now >= sl->deadline_ms) {
				sl->timed_out = 1;
				if (now >= sl->kicked_ms + GIT_KICK_MS) {
					pthread_kill(sl->tid, GIT_SIG_TIMEOUT);
					sl->kicked_ms = now;
				}
				t = sl->kicked_ms + GIT_KICK_MS;
			} else
				t = sl->deadline_ms;
			if (next == 0 || t < next)
				next = t;
		}
		if (next == 0 && stopping == 2)
			quit = 1;
		else if (next == 0)
			pthread_cond_wait(&dog_cv, &mtx);
		else {
			ts.tv_sec = (time_t)(next / 1000);
			ts.tv_nsec = (long)(next % 1000) * 1000000;
			pthread_cond_timedwait(&dog_cv, &mtx, &ts);
		}
	}
	pthread_mutex_unlock(&mtx);
	return NULL;
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
	struct cred_ctx cc = { plat_byname(r->platform), 0 };
	char ref[1024];
	size_t n, i;
	int same = 0;

	git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb.credentials = cred_cb;
	cb.payload = &cc;
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
fetch_branch(struct repo_cache *c, struct job *j, git_oid *oid)
{
	const struct ipc_baseline_request *r = &j->r;
	git_fetch_options fo;
	char spec[1024], ref[1024];
	char *specs[1];
	git_strarray refspecs;
	struct cred_ctx cc = { plat_byname(r->platform), 0 };

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	snprintf(spec, sizeof(spec), "+refs/heads/%s:refs/remotes/origin/%s",
	    r->branch, r->branch);
	snprintf(ref, sizeof(ref), "refs/remotes/origin/%s", r->branch);
	specs[0] = spec;
	refspecs.strings = specs;
	refspecs.count = 1;
	fo.callbacks.credentials = cred_cb;
	fo.callbacks.payload = &cc;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if (git_remote_fetch(c->remote, &refspecs, &fo, NULL) < 0) {
		j->fres = git_timed_out() ? IPC_FETCH_TIMEOUT :
		    IPC_FETCH_ERROR;
		giterr(j->err, sizeof(j->err), "fetch");
		return -1;
	}
	if (git_reference_name_to_id(oid, c->repo, ref) < 0) {
		snprintf(j->err, sizeof(j->err), "branch '%s' not found",
		    r->branch);
		return -1;
	}
	return 0;
}

static int
send_reply(struct ipc_chan *chan, const struct job *j,
    enum ipc_baseline_status st, const char *commit, const char *error,
    struct ipc_pair *ents, size_t nents, int last, uint64_t total)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = IPC_BASELINE_REPLY;
	m.u.baseline_reply.rule_id = j->r.rule_id;
	m.u.baseline_reply.status = st;
	m.u.baseline_reply.commit = commit;
	m.u.baseline_reply.error = error;
	m.u.baseline_reply.entries = ents;
	m.u.baseline_reply.nentries = nents;
	m.u.baseline_reply.last = last;
	m.u.baseline_reply.total = total;
	if (last) {
		m.u.baseline_reply.fetch = j->fres;
		m.u.baseline_reply.fetch_us = j->fus;
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
send_map(struct ipc_chan *chan, const struct job *j, const char *commit,
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
			if (send_reply(chan, j, IPC_BL_OK, commit, NULL,
			    ents, n, 0, total) == -1)
				goto out;
			n = 0;
			cost = 0;
		}
		ents[n++] = p;
		cost += c;
	}
	if (send_reply(chan, j, IPC_BL_OK, commit, NULL, ents, n, 1,
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
 * not moved, else fetched; both within fetch_timeout_ms. j->fres says
 * which, and j->fus how long the remote took. A failure is remembered for
 * the requests that waited for it (branch_shared_failure).
 */
static int
branch_commit(struct slot *sl, struct repo_cache *c, struct job *j,
    git_oid *oid)
{
	const struct ipc_baseline_request *r = &j->r;
	struct fetched *f = fetched_get(c, r->branch);
	uint64_t now = mono_ms(), t0;
	int rc = 0, unchanged;

	if (f->at_ms != 0 && r->refresh_ms != 0 && !r->refetch &&
	    now - f->at_ms < r->refresh_ms) {
		git_oid_cpy(oid, &f->oid);
		return 0;
	}
	t0 = mono_us();
	deadline_start(sl);
	unchanged = f->at_ms != 0 && remote_unchanged(c, r, &f->oid);
	if (unchanged) {
		log_debug("rule %u: branch %s unchanged (ref list only)",
		    r->rule_id, r->branch);
		f->at_ms = now;
		git_oid_cpy(oid, &f->oid);
		j->fres = IPC_FETCH_UNCHANGED;
	} else {
		f->at_ms = 0;
		j->fres = IPC_FETCH_OK;
		if (deadline_passed(sl))	/* in the ref list */
			rc = -1;
		else if ((rc = fetch_branch(c, j, oid)) == 0) {
			git_oid_cpy(&f->oid, oid);
			f->at_ms = now;
		} else if (j->fres == IPC_FETCH_OK)	/* the ref is missing */
			j->fres = IPC_FETCH_ERROR;
	}
	if (deadline_end(sl)) {
		rc = -1;
		j->fres = IPC_FETCH_TIMEOUT;
		snprintf(j->err, sizeof(j->err), "fetch: no answer from the "
		    "remote within %llu ms (watcher.git.fetch_timeout)",
		    (unsigned long long)fetch_timeout_ms);
	}
	j->fus = mono_us() - t0;
	if (rc == -1) {
		f->fail_us = mono_us();
		snprintf(f->fail_err, sizeof(f->fail_err), "%s", j->err);
	}
	return rc;
}

/*
 * A request queued before the last fetch of its branch failed waited for
 * that fetch: its failure is the request's too (the remote is not asked
 * again, nor counted: j->fres stays IPC_FETCH_NONE). 1 when so.
 */
static int
branch_shared_failure(struct repo_cache *c, struct job *j)
{
	struct fetched *f = fetched_get(c, j->r.branch);

	if (f->fail_us == 0 || j->queued_us > f->fail_us)
		return 0;
	snprintf(j->err, sizeof(j->err), "%s", f->fail_err);
	return 1;
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

/* Compute the result of j in the thread that holds c (busy). */
static void
job_run(struct slot *sl, struct repo_cache *c, struct job *j)
{
	const struct ipc_baseline_request *r = &j->r;
	git_oid oid;

	j->st = IPC_BL_ERROR;
	if (cache_dir == NULL) {
		snprintf(j->err, sizeof(j->err), "no cache directory "
		    "configured");
		goto fail;
	}
	if (branch_shared_failure(c, j))
		goto fail;
	if (c->repo == NULL && repo_open(c, j->err, sizeof(j->err)) == -1)
		goto fail;
	if (branch_commit(sl, c, j, &oid) == -1) {
		repo_close(c);	/* start afresh next time */
		goto fail;
	}
	want_commit(c->repo, &oid, r);
	git_oid_tostr(j->hex, sizeof(j->hex), &oid);
	if (r->known_commit[0] != '\0' && strcmp(j->hex, r->known_commit) == 0) {
		j->st = IPC_BL_UNCHANGED;
		return;
	}
	if ((j->map = kvmap_new()) == NULL)
		fatal("kvmap_new");
	if (build_baseline(c->repo, &oid, r, j->map, j->err,
	    sizeof(j->err)) == -1) {
		kvmap_free(j->map);
		j->map = NULL;
		goto fail;
	}
	log_debug("rule %u: baseline %s with %zu keys", r->rule_id, j->hex,
	    kvmap_count(j->map));
	j->st = IPC_BL_OK;
	return;
 fail:
	ipc_utf8_scrub(j->err);	/* it may quote a Git server */
}

static void
jobq_put(struct jobq *q, struct job *j)
{
	j->next = NULL;
	*q->tail = j;
	q->tail = &j->next;
	q->n++;
}

/*
 * The oldest queued request whose repository no thread serves, with its
 * repository marked busy; NULL when there is none. Under mtx.
 */
static struct job *
job_take(struct repo_cache **cp)
{
	struct job **pp, *j;
	struct repo_cache *c;

	for (pp = &todo.head; (j = *pp) != NULL; pp = &j->next) {
		if ((c = repo_get(j->r.repo_url)) == NULL || c->busy)
			continue;
		if ((*pp = j->next) == NULL)
			todo.tail = pp;
		todo.n--;
		c->busy = 1;
		*cp = c;
		return j;
	}
	return NULL;
}

static void
done_notify(void)
{
	uint64_t one = 1;

	if (write(done_fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		fatal("eventfd write");
}

static void *
fetch_main(void *arg)
{
	struct slot *sl = arg;
	struct repo_cache *c = NULL;
	struct job *j;

	pthread_mutex_lock(&mtx);
	while (!stopping) {
		if ((j = job_take(&c)) == NULL) {
			pthread_cond_wait(&work_cv, &mtx);
			continue;
		}
		pthread_mutex_unlock(&mtx);
		job_run(sl, c, j);
		pthread_mutex_lock(&mtx);
		c->busy = 0;
		c->used_ms = mono_ms();
		jobq_put(&done, j);
		done_notify();
		/* a request of that repository may be waiting */
		pthread_cond_broadcast(&work_cv);
	}
	pthread_mutex_unlock(&mtx);
	return NULL;
}

/* The watchdog and max_parallel fetch threads, at the first request (after
 * the configuration and the sandbox: new threads inherit its filter). */
static void
pool_start(void)
{
	size_t i;
	int e;

	if ((e = pthread_create(&dog, NULL, dog_main, NULL)) != 0) {
		errno = e;
		fatal("pthread_create");
	}
	dog_started = 1;
	pthread_mutex_lock(&mtx);
	for (i = 0; i < max_parallel; i++) {
		if ((e = pthread_create(&slots[i].tid, NULL, fetch_main,
		    &slots[i])) != 0) {
			if (i == 0) {
				errno = e;
				fatal("pthread_create");
			}
			log_warnx("%zu fetch threads of %zu: %s", i,
			    max_parallel, strerror(e));
			break;
		}
		slots[i].started = 1;
		nslots = i + 1;
	}
	pthread_mutex_unlock(&mtx);
	log_debug("%zu fetch threads, %llu ms per fetch", nslots,
	    (unsigned long long)fetch_timeout_ms);
}

static char **
strv_dup(const char *const *v, size_t n)
{
	char **d;
	size_t i;

	if ((d = calloc(n ? n : 1, sizeof(*d))) == NULL)
		fatal("calloc");
	for (i = 0; i < n; i++)
		d[i] = xstrdup(v[i]);
	return d;
}

static struct job *
job_new(const struct ipc_baseline_request *q)
{
	struct job *j;
	struct ipc_baseline_request *r;
	struct ipc_pair *vm;
	size_t i;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		fatal("calloc");
	r = &j->r;
	*r = *q;
	r->platform = xstrdup(q->platform);
	r->repo_url = xstrdup(q->repo_url);
	r->branch = xstrdup(q->branch);
	r->files = (const char *const *)strv_dup(q->files, q->nfiles);
	r->root_key = q->root_key != NULL ? xstrdup(q->root_key) : NULL;
	r->env = xstrdup(q->env);
	r->key_format = xstrdup(q->key_format);
	r->key_prefix = xstrdup(q->key_prefix);
	r->known_commit = xstrdup(q->known_commit);
	r->want_commit = q->want_commit != NULL ? xstrdup(q->want_commit) :
	    NULL;
	if ((vm = calloc(q->nvariables_map ? q->nvariables_map : 1,
	    sizeof(*vm))) == NULL)
		fatal("calloc");
	for (i = 0; i < q->nvariables_map; i++) {
		vm[i].key = xstrdup(q->variables_map[i].key);
		vm[i].val = xstrdup(q->variables_map[i].val);
	}
	r->variables_map = vm;
	j->queued_us = mono_us();
	return j;
}

static void
job_free(struct job *j)
{
	struct ipc_baseline_request *r = &j->r;
	size_t i;

	free((char *)r->platform);
	free((char *)r->repo_url);
	free((char *)r->branch);
	for (i = 0; i < r->nfiles; i++)
		free((char *)r->files[i]);
	free((char **)r->files);
	free((char *)r->root_key);
	free((char *)r->env);
	free((char *)r->key_format);
	free((char *)r->key_prefix);
	free((char *)r->known_commit);
	free((char *)r->want_commit);
	for (i = 0; i < r->nvariables_map; i++) {
		free((char *)r->variables_map[i].key);
		free((char *)r->variables_map[i].val);
	}
	free((struct ipc_pair *)r->variables_map);
	kvmap_free(j->map);
	free(j);
}

/* A request: queued for the fetch threads (answered by git_event). */
static int
git_handle(struct ipc_chan *chan, const struct ipc_msg *m)
{
	struct job *j;

	if (m->type != IPC_BASELINE_REQUEST)
		return -1;
	j = job_new(&m->u.baseline_request);
	if (nslots == 0)
		pool_start();
	pthread_mutex_lock(&mtx);
	if (todo.n >= GIT_MAX_QUEUED) {
		pthread_mutex_unlock(&mtx);
		j->fres = IPC_FETCH_NONE;
		snprintf(j->err, sizeof(j->err), "%d baseline requests "
		    "already waiting for a fetch", GIT_MAX_QUEUED);
		send_reply(chan, j, IPC_BL_ERROR, "", j->err, NULL, 0, 1, 0);
		job_free(j);
		return 0;
	}
	jobq_put(&todo, j);
	pthread_cond_signal(&work_cv);
	pthread_mutex_unlock(&mtx);
	return 0;
}

/* Send the reply of every request the threads are done with. */
static void
git_event(struct ipc_chan *chan)
{
	struct job *j, *next;
	uint64_t n;

	if (read(done_fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		fatal("eventfd read");
	pthread_mutex_lock(&mtx);
	j = done.head;
	done.head = NULL;
	done.tail = &done.head;
	done.n = 0;
	pthread_mutex_unlock(&mtx);
	for (; j != NULL; j = next) {
		next = j->next;
		if (j->st == IPC_BL_UNCHANGED)
			send_reply(chan, j, IPC_BL_UNCHANGED, j->hex, NULL,
			    NULL, 0, 1, 0);
		else if (j->st == IPC_BL_OK && send_map(chan, j, j->hex,
		    j->map, j->err, sizeof(j->err)) == 0)
			;
		else
			/* after chunks of a map that could not be sent, the
			 * error reply ends the request all the same (the
			 * supervisor drops what it received) */
			send_reply(chan, j, IPC_BL_ERROR, j->hex, j->err,
			    NULL, 0, 1, 0);
		job_free(j);
	}
}

static int
git_event_fd(void)
{
	return done_fd;
}

static void
jobq_free(struct jobq *q)
{
	struct job *j;

	while ((j = q->head) != NULL) {
		q->head = j->next;
		job_free(j);
	}
	q->tail = &q->head;
	q->n = 0;
}

/* Stop the threads: a fetch in progress is interrupted at once. */
static void
pool_stop(void)
{
	size_t i;

	pthread_mutex_lock(&mtx);
	stopping = 1;
	for (i = 0; i < nslots; i++)
		if (slots[i].deadline_ms != 0)
			slots[i].deadline_ms = 1;
	pthread_cond_broadcast(&work_cv);
	pthread_cond_signal(&dog_cv);
	pthread_mutex_unlock(&mtx);
	for (i = 0; i < nslots; i++)
		if (slots[i].started)
			pthread_join(slots[i].tid, NULL);
	if (dog_started) {
		pthread_mutex_lock(&mtx);
		stopping = 2;
		pthread_cond_signal(&dog_cv);
		pthread_mutex_unlock(&mtx);
		pthread_join(dog, NULL);
	}
	nslots = 0;
}

static void
git_fini(void)
{
	size_t i;

	pool_stop();
	jobq_free(&todo);
	jobq_free(&done);
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
		repo_forget(0);
	free(cache_dir);
	cache_dir = NULL;
	if (done_fd != -1)
		close(done_fd);
	done_fd = -1;
	git_libgit2_shutdown();
}

/* writing the cache repository */
static const struct worker_ops git_ops = {
	.name = "git",
	.init = git_init,
	.conf = git_conf,
	.handle = git_handle,
	.fini = git_fini,
	.event_fd = git_event_fd,
	.event = git_event,
};

int
main(int argc, char **argv)
{
	return worker_main(&git_ops, argc, argv);
}
