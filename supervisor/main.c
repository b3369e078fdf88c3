/*
 * vartrack-watcher: the supervisor. See README.md and DESIGN.md.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <nng/nng.h>

#include "conf.h"
#include "log.h"
#include "sup.h"

#define SUP_TICK_MS	1000

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: vartrack-watcher [-nv] [-f FILE] | -V | -h\n"
"\n"
"Polls every configured datasource, compares live values key by key with the\n"
"Git baseline, logs and counts drift (Prometheus metrics on ADMIN_ADDR).\n"
"\n"
"  -f FILE        configuration file (default: $CONFIG_PATH, else\n"
"                 %s)\n"
"  -n             check the configuration and exit (0 when valid)\n"
"  -v             with -n: print the canonical configuration\n"
"  -V, --version  print the version and exit\n"
"  -h, --help     this help\n"
"\n"
"Environment (overrides the file): CONFIG_PATH, POLL_INTERVAL, ADMIN_ADDR,\n"
"LOG_LEVEL, ORCHESTRATOR_ADDR, HEAL_TIMEOUT, APP_ENV, TLS_CA_FILE,\n"
"TLS_CERT_FILE, TLS_KEY_FILE. Durations: 500ms, 2s, 5m, 1h.\n"
"Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads the configuration.\n",
	    CONF_DEFAULT_PATH);
}

/* where load_conf's messages go */
enum {
	LOAD_CHECK = 0,		/* -n: stderr, labelled */
	LOAD_START,		/* start: errors on stderr, the rest logged */
	LOAD_RELOAD,		/* SIGHUP: every message a log line */
};

struct conf_msgs_out {
	const char	*path;
	int		 as_log;
	size_t		 nwarnings;
};

/*
 * One message. On stderr (-n, a failed load) warnings and infos are
 * labelled as compilers do ("FILE:LINE:COL: warning: ..."); errors keep
 * the plain "FILE:LINE:COL: ..." form. In the log (a reload: errors too;
 * a start: warnings and infos) the level says it.
 */
static void
conf_msg_out(enum conf_msg_kind k, const char *msg, void *arg)
{
	struct conf_msgs_out *o = arg;
	const char *label = k == CONF_MSG_WARNING ? "warning" : "info";
	const char *rest;
	size_t pl = strlen(o->path);

	if (k == CONF_MSG_WARNING)
		o->nwarnings++;
	if (o->as_log == LOAD_RELOAD ||
	    (o->as_log == LOAD_START && k != CONF_MSG_ERROR)) {
		if (k != CONF_MSG_INFO)
			log_warnx("%s", msg);
		else
			log_info("%s", msg);
		return;
	}
	if (k == CONF_MSG_ERROR)
		fprintf(stderr, "%s\n", msg);
	else if (strncmp(msg, o->path, pl) == 0 && msg[pl] == ':' &&
	    (rest = strstr(msg + pl, ": ")) != NULL)
		fprintf(stderr, "%.*s: %s: %s\n", (int)(rest - msg), msg, label,
		    rest + 2);
	else
		fprintf(stderr, "%s: %s\n", label, msg);
}

/* Every message in file order; returns the number of warnings. */
static size_t
print_conf_messages(const struct conf_errors *e, const char *path, int as_log)
{
	struct conf_msgs_out o = { path, as_log, 0 };

	conf_errors_foreach(e, path, conf_msg_out, &o);
	return o.nwarnings;
}

static struct vtw_conf *
load_conf(const char *path, int as_log, size_t *nwarnings)
{
	struct vtw_conf *c = NULL;
	struct conf_errors e;
	char err[512];
	size_t nw;

	memset(&e, 0, sizeof(e));
	if (conf_load(&c, path, &e) == -1) {
		nw = print_conf_messages(&e, path, as_log == LOAD_RELOAD ?
		    LOAD_RELOAD : LOAD_CHECK);
		if (as_log == LOAD_RELOAD)
			log_warnx("%s: %zu error%s, %zu warning%s", path, e.n,
			    e.n == 1 ? "" : "s", nw, nw == 1 ? "" : "s");
		else
			fprintf(stderr, "%s: %zu error%s, %zu warning%s\n",
			    path, e.n, e.n == 1 ? "" : "s", nw,
			    nw == 1 ? "" : "s");
		conf_errors_free(&e);
		return NULL;
	}
	nw = print_conf_messages(&e, path, as_log);
	if (nwarnings != NULL)
		*nwarnings = nw;
	conf_errors_free(&e);
	if (conf_check_host(c, err, sizeof(err)) == -1) {
		if (as_log == LOAD_RELOAD)
			log_warnx("%s", err);
		else
			fprintf(stderr, "%s\n%s: 1 error\n", err, path);
		conf_free(c);
		return NULL;
	}
	return c;
}

static int
find_self_dir(struct sup *sup, const char *argv0)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0) {
		if (realpath(argv0, buf) == NULL)
			return -1;
	} else
		buf[n] = '\0';
	snprintf(sup->self_dir, sizeof(sup->self_dir), "%s", dirname(buf));
	return 0;
}

/* Workers sit next to the supervisor (build tree) or in libexec (install). */
static void
find_worker_dir(struct sup *sup)
{
	char p[PATH_MAX + 64];

	if (sup->conf->worker_dir != NULL)
		return;
	snprintf(p, sizeof(p), "%s/vartrack-worker-git", sup->self_dir);
	if (access(p, X_OK) == 0)
		return;
	snprintf(p, sizeof(p), "%s/../libexec/vartrack-watcher/vartrack-worker-git",
	    sup->self_dir);
	if (access(p, X_OK) == 0) {
		size_t l = strlen(sup->self_dir);

		snprintf(sup->self_dir + l, sizeof(sup->self_dir) - l,
		    "/../libexec/vartrack-watcher");
	}
}

static int
mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* The git worker writes its cache as the sandbox user. */
static int
prepare_cache_dir(const struct vtw_conf *c)
{
	struct passwd *pw;

	if (mkdir_p(c->cache_dir, 0750) == -1) {
		log_warn("cache directory %s", c->cache_dir);
		return -1;
	}
	if (geteuid() == 0) {
		if ((pw = getpwnam(c->sandbox_user)) == NULL) {
			log_warnx("sandbox user '%s' does not exist",
			    c->sandbox_user);
			return -1;
		}
		if (chown(c->cache_dir, pw->pw_uid, pw->pw_gid) == -1) {
			log_warn("chown %s", c->cache_dir);
			return -1;
		}
	} else if (access(c->cache_dir, W_OK) == -1) {
		log_warn("cache directory %s is not writable", c->cache_dir);
		return -1;
	}
	return 0;
}

static void
sup_shutdown_done(struct sup *sup)
{
	event_base_loopbreak(sup->base);
}

/* Stopped once the workers are gone and the lock is released. */
static void
sup_shutdown_check(struct sup *sup)
{
	if (sup->stopping && sup->ha_released && sup_workers_alive(sup) == 0)
		sup_shutdown_done(sup);
}

static void
ha_released(struct sup *sup)
{
	sup->ha_released = 1;
	sup_shutdown_check(sup);
}

static void
shutdown_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sup *sup = arg;

	(void)fd;
	(void)ev;
	if (sup_workers_alive(sup) > 0) {
		log_warnx("workers did not stop in time; killing them");
		sup_workers_stop(sup, 0);
	}
	sup_shutdown_done(sup);
}

static void
sig_term_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct sup *sup = arg;
	struct timeval tv = { SUP_SHUTDOWN_GRACE_MS / 1000,
	    (SUP_SHUTDOWN_GRACE_MS % 1000) * 1000 };

	(void)ev;
	if (sup->stopping)
		return;
	log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" :
	    "SIGTERM");
	sup->stopping = 1;	/* readiness answers 503 from now on */
	sup_workers_stop(sup, 1);
	sup->ev_shutdown = evtimer_new(sup->base, shutdown_timeout_cb, sup);
	evtimer_add(sup->ev_shutdown, &tv);
	/* a leader lets the lock go now: a standby takes over at its next
	 * try, not after a whole lease */
	sup_ha_release(sup, ha_released);
	sup_shutdown_check(sup);
}

static void
sig_chld_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct sup *sup = arg;

	(void)sig;
	(void)ev;
	sup_workers_reap(sup);
	sup_shutdown_check(sup);
}

/* ha.instance_id, else hostname:pid:random: unique per process (the Go
 * watcher's hostname is not, interop §8.3). */
static void
instance_id(struct sup *sup)
{
	char host[128];

	if (sup->conf->ha.instance_id != NULL) {
		snprintf(sup->instance_id, sizeof(sup->instance_id), "%s",
		    sup->conf->ha.instance_id);
		return;
	}
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	host[strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_")] = '\0';
	snprintf(sup->instance_id, sizeof(sup->instance_id), "%s:%d:%08x",
	    host[0] ? host : "localhost", (int)getpid(), arc4random());
}

static int
str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/*
 * SIGHUP: the new configuration is loaded and its tables built beside the
 * running ones; any failure leaves everything as it runs. Then the swap:
 * unchanged rules keep their state and schedule, only workers whose
 * settings changed restart, the orchestrator client is kept unless its
 * settings changed.
 */
static void
sup_reload(struct sup *sup)
{
	struct vtw_conf *nc, *old;
	struct sup_rules_next next;
	struct sup_reload_counts cnt;
	char err[512];
	int orch;

	log_info("received SIGHUP, reloading %s", sup->conf_path);
	if ((nc = load_conf(sup->conf_path, LOAD_RELOAD, NULL)) == NULL) {
		log_warnx("reload failed; keeping the running configuration");
		return;
	}
	if (sup_rules_prepare(sup, nc, &next, err, sizeof(err)) == -1) {
		log_warnx("reload failed: %s; keeping the running "
		    "configuration", err);
		conf_free(nc);
		return;
	}
	if ((orch = sup_orch_prepare(sup, nc, &next, err, sizeof(err))) ==
	    -1) {
		log_warnx("reload failed: orchestrator client: %s; keeping "
		    "the running configuration", err);
		sup_rules_next_free(&next);
		conf_free(nc);
		return;
	}
	/* from here on nothing fails */
	if (sup_ha_differs(sup, nc))
		log_warnx("reload: watcher.ha takes effect at the next start; "
		    "the election runs on as it started");
	if (str_differs(sup->conf->admin_addr, nc->admin_addr))
		log_warnx("reload: admin_addr %s takes effect at the next "
		    "start; the admin server stays on %s", nc->admin_addr,
		    sup->conf->admin_addr);
	if (orch)
		sup_orch_stop(sup);	/* its calls in flight are cancelled */
	memset(&cnt, 0, sizeof(cnt));
	old = sup->conf;
	sup->conf = nc;
	if (nc->log_level != NULL && log_level_parse(nc->log_level) >= 0)
		log_setlevel(log_level_parse(nc->log_level));
	find_worker_dir(sup);
	if (prepare_cache_dir(nc) == -1)
		log_warnx("git baselines will fail until the cache "
		    "directory is usable");
	sup_rules_swap(sup, &next, &cnt);
	if (orch && sup_orch_start(sup, err, sizeof(err)) == -1)
		log_warnx("reload: orchestrator client: %s; self-heal is off",
		    err);
	else if (!orch)
		sup_orch_update(sup, old);
	sup_workers_reload(sup, &cnt);
	sup_http_reconf(sup);
	conf_free(old);
	malloc_trim(0);	/* the old configuration and tables were just freed */
	log_info("configuration reloaded: %zu rules (%zu unchanged, %zu new "
	    "or changed, %zu removed); workers: %zu kept, %zu started, %zu "
	    "stopped", sup->nrules, cnt.kept, cnt.fresh, cnt.gone,
	    cnt.workers_kept, cnt.workers_started, cnt.workers_stopped);
}

static void
sig_hup_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct sup *sup = arg;

	(void)sig;
	(void)ev;
	if (!sup->stopping)
		sup_reload(sup);
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sup *sup = arg;
	enum metric_id id;

	(void)fd;
	(void)ev;
	sup_workers_tick(sup);
	while (metrics_take_overflow(sup->metrics, &id) == 1)
		log_warnx("metric family %s is full; new series are dropped",
		    metrics_desc[id].name);
}

static const struct option long_opts[] = {
	{ "help",	no_argument,	NULL,	'h' },
	{ "version",	no_argument,	NULL,	'V' },
	{ NULL,		0,		NULL,	0 },
};

/* The run directory goes on every exit, a fatal one included (workers
 * exec, so only the supervisor that made it runs this). */
static char	run_dir_made[PATH_MAX];
static pid_t	run_dir_owner;

static void
run_dir_remove(void)
{
	if (run_dir_made[0] != '\0' && getpid() == run_dir_owner)
		rmdir(run_dir_made);
}

int
main(int argc, char **argv)
{
	struct sup sup;
	const char *path = NULL, *lvl;
	char err[512];
	int ch, check = 0, verbose = 0, level = LOG_LVL_INFO;
	size_t nwarnings = 0;
	struct timeval tick = { SUP_TICK_MS / 1000, 0 };

	/*
	 * One malloc arena, set before nng starts its threads: each of nng's
	 * task threads would otherwise get an arena of its own and keep the
	 * largest message it ever received resident in that arena's top
	 * chunk (some 400 KB for a 10 000-key poll reply), so RSS rose a
	 * step each time another thread first carried one, up to threads x
	 * message size. The supervisor's allocations are not contended.
	 */
	mallopt(M_ARENA_MAX, 1);
	memset(&sup, 0, sizeof(sup));
	if ((lvl = getenv("LOG_LEVEL")) != NULL && log_level_parse(lvl) >= 0)
		level = log_level_parse(lvl);
	log_init("supervisor", level);
	while ((ch = getopt_long(argc, argv, "f:nvVh", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("vartrack-watcher %s\n", VTW_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (path == NULL && (path = getenv("CONFIG_PATH")) == NULL)
		path = CONF_DEFAULT_PATH;
	sup.conf_path = path;
	if ((sup.conf = load_conf(path, check ? LOAD_CHECK : LOAD_START, &nwarnings)) == NULL)
		return 1;
	if (check) {
		if (verbose)
			conf_print(stdout, sup.conf);
		fprintf(stderr, "%s: configuration OK (%zu platforms, %zu "
		    "datasources, %zu rules), %zu warning%s\n", path,
		    sup.conf->nplatforms, sup.conf->ndatasources,
		    sup.conf->nrules, nwarnings, nwarnings == 1 ? "" : "s");
		conf_free(sup.conf);
		return 0;
	}
	if (sup.conf->log_level != NULL &&
	    log_level_parse(sup.conf->log_level) >= 0)
		log_setlevel(log_level_parse(sup.conf->log_level));
	if (find_self_dir(&sup, argv[0]) == -1)
		fatal("cannot find my own executable");
	find_worker_dir(&sup);
	snprintf(sup.run_dir, sizeof(sup.run_dir), "%s/vartrack-watcher.XXXXXX",
	    getenv("RUNTIME_DIRECTORY") ? getenv("RUNTIME_DIRECTORY") : "/tmp");
	if (mkdtemp(sup.run_dir) == NULL)
		fatal("mkdtemp %s", sup.run_dir);
	snprintf(run_dir_made, sizeof(run_dir_made), "%s", sup.run_dir);
	run_dir_owner = getpid();
	atexit(run_dir_remove);
	if (prepare_cache_dir(sup.conf) == -1)
		log_warnx("git baselines will fail until the cache directory "
		    "is usable");
	signal(SIGPIPE, SIG_IGN);
	if ((sup.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((sup.metrics = metrics_new()) == NULL)
		fatalx("metrics_new");
	{
		const char *bl[] = { VTW_VERSION };

		metrics_set(sup.metrics, METRIC_BUILD_INFO, bl, 1);
	}
	if (sup_rules_init(&sup, err, sizeof(err)) == -1)
		fatalx("%s", err);
	instance_id(&sup);
	if (sup_orch_start(&sup, err, sizeof(err)) == -1)
		fatalx("orchestrator client: %s", err);
	if (sup_ha_start(&sup, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (sup_shared_start(&sup, err, sizeof(err)) == -1)
		fatalx("%s", err);
	sup_workers_init(&sup);
	if (sup_http_start(&sup, sup.conf->admin_addr, err, sizeof(err)) == -1)
		fatalx("%s", err);
	sup.ev_sigterm = evsignal_new(sup.base, SIGTERM, sig_term_cb, &sup);
	sup.ev_sigint = evsignal_new(sup.base, SIGINT, sig_term_cb, &sup);
	sup.ev_sighup = evsignal_new(sup.base, SIGHUP, sig_hup_cb, &sup);
	sup.ev_sigchld = evsignal_new(sup.base, SIGCHLD, sig_chld_cb, &sup);
	sup.ev_tick = event_new(sup.base, -1, EV_PERSIST, tick_cb, &sup);
	if (!sup.ev_sigterm || !sup.ev_sigint || !sup.ev_sighup ||
	    !sup.ev_sigchld || !sup.ev_tick)
		fatalx("event_new");
	evsignal_add(sup.ev_sigterm, NULL);
	evsignal_add(sup.ev_sigint, NULL);
	evsignal_add(sup.ev_sighup, NULL);
	evsignal_add(sup.ev_sigchld, NULL);
	evtimer_add(sup.ev_tick, &tick);
	log_info("vartrack-watcher %s starting: %zu rules, poll interval %llu ms",
	    VTW_VERSION, sup.nrules,
	    (unsigned long long)sup.conf->poll_interval_ms);
	sup_workers_start(&sup);
	sup_rules_start(&sup);

	event_base_dispatch(sup.base);

	sup_workers_reap(&sup);
	sup_ha_free(&sup);
	sup_shared_free(&sup);
	sup_orch_stop(&sup);
	sup_rules_free(&sup);
	sup_workers_free(&sup);
	sup_http_stop(&sup);
	if (sup.ev_shutdown)
		event_free(sup.ev_shutdown);
	event_free(sup.ev_sigterm);
	event_free(sup.ev_sigint);
	event_free(sup.ev_sighup);
	event_free(sup.ev_sigchld);
	event_free(sup.ev_tick);
	metrics_free(sup.metrics);
	event_base_free(sup.base);
	rmdir(sup.run_dir);
	conf_free(sup.conf);
	nng_fini();	/* joins nng's threads: nothing left behind */
	log_info("stopped");
	return sup.exit_code;
}
