/*
 * Worker table: spawn (fork + exec), handshake, configuration, message
 * dispatch, reaping and restart with exponential backoff and jitter.
 * Nothing a worker sends may crash or block the supervisor: every message
 * is validated (ipc/msg.c, then here against the protocol state) and a
 * violation costs the worker (SIGKILL, restart), never the supervisor.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <event2/event.h>

#include "log.h"
#include "sup.h"

struct sup_worker *
sup_worker_of(struct sup *sup, const struct ds_kind *k)
{
	size_t i = ds_kind_index(k);

	if (i >= ds_kinds_count())
		fatalx("%s: kind not registered", __func__);
	return &sup->workers[1 + i];
}

static void sup_worker_spawn(struct sup_worker *);
static void sup_worker_close(struct sup_worker *);

/* What sup_worker_configure sends w and how it is run, digested. */
static void
worker_fingerprint(const struct vtw_conf *c, const struct sup_worker *w,
    unsigned char out[VTW_DIGEST_LEN])
{
	struct vtw_digest_ctx d;
	size_t i;

	vtw_digest_init(&d);
	vtw_digest_str(&d, c->sandbox_user);
	vtw_digest_str(&d, c->worker_dir);
	if (w->kind == NULL) {
		vtw_digest_str(&d, c->cache_dir);
		vtw_digest_update(&d, &c->git_max_parallel,
		    sizeof(c->git_max_parallel));
		vtw_digest_update(&d, &c->git_fetch_timeout_ms,
		    sizeof(c->git_fetch_timeout_ms));
		for (i = 0; i < c->nplatforms; i++) {
			vtw_digest_str(&d, c->platforms[i].name);
			vtw_digest_str(&d, c->platforms[i].type);
			vtw_digest_str(&d, c->platforms[i].endpoint);
			vtw_digest_str(&d, c->platforms[i].token.value);
		}
	}
	for (i = 0; w->kind != NULL && i < c->ndatasources; i++) {
		const struct conf_datasource *ds = &c->datasources[i];
		void *settings;
		size_t len;

		if (ds->kind != w->kind)
			continue;
		if (ds->kind->ds_pack(&settings, &len, ds) == -1)
			fatalx("%s: out of memory", __func__);
		vtw_digest_str(&d, ds->name);
		vtw_digest_update(&d, &ds->connect_timeout_ms,
		    sizeof(ds->connect_timeout_ms));
		vtw_digest_update(&d, &ds->command_timeout_ms,
		    sizeof(ds->command_timeout_ms));
		vtw_digest_update(&d, &len, sizeof(len));
		vtw_digest_update(&d, settings, len);
		explicit_bzero(settings, len);
		free(settings);
	}
	vtw_digest_final(&d, out);
}
static void sup_worker_recv_cb(evutil_socket_t, short, void *);
static void sup_worker_send_cb(evutil_socket_t, short, void *);

static void
sup_worker_restart_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sup_worker *w = arg;

	(void)fd;
	(void)ev;
	if (!w->sup->stopping && w->needed && w->state == WS_BACKOFF)
		sup_worker_spawn(w);
}

void
sup_workers_init(struct sup *sup)
{
	size_t i, r;

	sup->nworkers = 1 + ds_kinds_count();
	for (i = 0; i < sup->nworkers; i++) {
		struct sup_worker *w = &sup->workers[i];

		memset(w, 0, sizeof(*w));
		w->sup = sup;
		w->kind = i == SUP_WORKER_GIT ? NULL : ds_kind_at(i - 1);
		w->name = w->kind != NULL ? w->kind->worker : "git";
		w->chan.recvfd = w->chan.sendfd = -1;
		w->backoff_ms = WORKER_RESTART_BACKOFF_MIN_MS;
		w->ev_restart = evtimer_new(sup->base, sup_worker_restart_cb, w);
		if (w->ev_restart == NULL)
			fatalx("evtimer_new");
		worker_fingerprint(sup->conf, w, w->fp);
	}
	/* the git worker always runs; datasource workers when a rule needs one */
	sup->workers[SUP_WORKER_GIT].needed = 1;
	for (r = 0; r < sup->nrules; r++)
		sup->rules[r].dsw->needed = 1;
	for (i = 0; i < sup->nworkers; i++) {
		const char *lbl[] = { sup->workers[i].name };

		if (!sup->workers[i].needed)
			continue;
		metrics_touch(sup->metrics, METRIC_WORKER_RESTARTS_TOTAL, lbl);
		metrics_set(sup->metrics, METRIC_WORKER_UP, lbl, 0);
	}
}

static void
sup_worker_free_reqs(struct sup_worker *w)
{
	struct sup_req *q;

	while ((q = w->reqs) != NULL) {
		w->reqs = q->next;
		free(q);
	}
}

/* Drop the channel and its events (the process is gone or going). */
static void
sup_worker_close(struct sup_worker *w)
{
	if (w->ev_recv != NULL) {
		event_free(w->ev_recv);
		w->ev_recv = NULL;
	}
	if (w->ev_send != NULL) {
		event_free(w->ev_send);
		w->ev_send = NULL;
	}
	ipc_chan_close(&w->chan);
	sup_worker_free_reqs(w);
	w->hung = 0;
}

static void
sup_worker_spawn(struct sup_worker *w)
{
	static unsigned int spawns;
	struct sup *sup = w->sup;
	char url[4300], path[4200], err[256], ipcpath[4200];
	char *argv[6];
	pid_t pid;

	if ((size_t)snprintf(path, sizeof(path), "%s/vartrack-worker-%s",
	    sup->conf->worker_dir ? sup->conf->worker_dir : sup->self_dir,
	    w->name) >= sizeof(path) ||
	    (size_t)snprintf(ipcpath, sizeof(ipcpath), "%s/%s.%u.sock",
	    sup->run_dir, w->name, ++spawns) >= sizeof(ipcpath) ||
	    (size_t)snprintf(url, sizeof(url), "ipc://%s", ipcpath) >=
	    sizeof(url)) {
		log_warnx("worker %s: path too long", w->name);
		goto retry;
	}
	unlink(ipcpath);
	if (ipc_chan_listen(&w->chan, url, err, sizeof(err)) == -1) {
		log_warnx("worker %s: %s", w->name, err);
		goto retry;
	}
	argv[0] = path;
	argv[1] = "-u";
	argv[2] = url;
	argv[3] = "-U";
	argv[4] = sup->conf->sandbox_user;
	argv[5] = NULL;
	switch ((pid = fork())) {
	case -1:
		log_warn("worker %s: fork", w->name);
		ipc_chan_close(&w->chan);
		goto retry;
	case 0:
		/* multi-threaded parent: only async-signal-safe calls here */
		syscall(SYS_close_range, 3U, ~0U, 0U);
		{
			sigset_t none;

			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
		}
		execv(path, argv);
		_exit(127);
	default:
		break;
	}
	w->pid = pid;
	w->last_seq = 0;
	w->state = WS_STARTING;
	w->kill_sent = 0;
	w->hung = 0;
	w->kept = 0;
	w->started_ms = now_ms();
	w->hello_deadline_ms = w->started_ms + WORKER_HELLO_TIMEOUT_MS;
	w->ev_recv = event_new(sup->base, w->chan.recvfd, EV_READ | EV_PERSIST,
	    sup_worker_recv_cb, w);
	w->ev_send = event_new(sup->base, w->chan.sendfd, EV_READ | EV_PERSIST,
	    sup_worker_send_cb, w);
	if (w->ev_recv == NULL || w->ev_send == NULL)
		fatalx("event_new");
	event_add(w->ev_recv, NULL);
	log_info("started worker %s (pid %d)", w->name, (int)pid);
	return;
 retry:
	w->state = WS_BACKOFF;
	{
		struct timeval tv = { 1, 0 };

		evtimer_add(w->ev_restart, &tv);
	}
}

void
sup_workers_start(struct sup *sup)
{
	size_t i;

	for (i = 0; i < sup->nworkers; i++)
		if (sup->workers[i].needed)
			sup_worker_spawn(&sup->workers[i]);
}

void
sup_workers_stop(struct sup *sup, int graceful)
{
	size_t i;

	for (i = 0; i < sup->nworkers; i++) {
		struct sup_worker *w = &sup->workers[i];

		evtimer_del(w->ev_restart);
		if (w->pid <= 0)
			continue;
		w->kill_sent = 1;
		if (graceful && w->state == WS_RUNNING) {
			struct ipc_msg m;

			/* ask first: a clean exit lets the worker tidy up */
			memset(&m, 0, sizeof(m));
			m.type = IPC_SHUTDOWN;
			if (sup_worker_send(w, &m, 0, 0) == 0) {
				w->state = WS_STOPPING;
				continue;
			}
		}
		w->state = WS_STOPPING;
		/* workers ignore SIGTERM: only the message or SIGKILL stop them */
		kill(w->pid, SIGKILL);
	}
}

/* Forget a running worker at once (a reload): SIGKILL, reaped later as
 * an unknown child; its channel and requests go now. */
static void
sup_worker_retire(struct sup_worker *w)
{
	if (w->pid > 0)
		kill(w->pid, SIGKILL);
	w->pid = 0;
	sup_worker_close(w);
	evtimer_del(w->ev_restart);
	w->state = WS_STOPPED;
	w->kill_sent = 0;
	w->kept = 0;
	w->backoff_ms = WORKER_RESTART_BACKOFF_MIN_MS;
}

void
sup_workers_reload(struct sup *sup, struct sup_reload_counts *cnt)
{
	size_t i, r;
	int need[SUP_WORKERS_MAX];
	unsigned char fp[VTW_DIGEST_LEN];

	memset(need, 0, sizeof(need));
	need[SUP_WORKER_GIT] = 1;
	for (r = 0; r < sup->nrules; r++)
		need[sup->rules[r].dsw - sup->workers] = 1;
	for (i = 0; i < sup->nworkers; i++) {
		struct sup_worker *w = &sup->workers[i];
		const char *lbl[] = { w->name };
		struct sup_req *q;

		worker_fingerprint(sup->conf, w, fp);
		if (!need[i]) {
			if (w->needed) {
				log_info("worker %s stopped: no rule needs it "
				    "now", w->name);
				sup_worker_retire(w);
				metrics_remove_series(sup->metrics,
				    METRIC_WORKER_UP, lbl);
				cnt->workers_stopped++;
			}
			w->needed = 0;
			memcpy(w->fp, fp, sizeof(fp));
			continue;
		}
		if (w->needed && memcmp(w->fp, fp, sizeof(fp)) == 0) {
			/* runs on; what it is answering was asked under the
			 * old rule ids: dropped when it comes */
			for (q = w->reqs; q != NULL; q = q->next)
				q->abandoned = 1;
			w->kept = 1;
			cnt->workers_kept++;
			continue;
		}
		if (w->needed) {
			log_info("worker %s restarts: its settings changed",
			    w->name);
			sup_worker_retire(w);
		}
		w->needed = 1;
		memcpy(w->fp, fp, sizeof(fp));
		metrics_touch(sup->metrics, METRIC_WORKER_RESTARTS_TOTAL, lbl);
		metrics_set(sup->metrics, METRIC_WORKER_UP, lbl, 0);
		sup_worker_spawn(w);
		cnt->workers_started++;
	}
}

size_t
sup_workers_alive(const struct sup *sup)
{
	size_t i, n = 0;

	for (i = 0; i < sup->nworkers; i++)
		if (sup->workers[i].pid > 0)
			n++;
	return n;
}

void
sup_workers_free(struct sup *sup)
{
	size_t i;

	for (i = 0; i < sup->nworkers; i++) {
		sup_worker_close(&sup->workers[i]);
		if (sup->workers[i].ev_restart != NULL)
			event_free(sup->workers[i].ev_restart);
		sup->workers[i].ev_restart = NULL;
	}
}

int
sup_workers_all_running(const struct sup *sup, const char **why)
{
	size_t i;

	for (i = 0; i < sup->nworkers; i++) {
		const struct sup_worker *w = &sup->workers[i];

		if (w->needed && w->state != WS_RUNNING) {
			*why = w->name;
			return 0;
		}
	}
	return 1;
}

const char *
sup_workers_hung(const struct sup *sup)
{
	size_t i;

	for (i = 0; i < sup->nworkers; i++)
		if (sup->workers[i].needed && sup->workers[i].hung)
			return sup->workers[i].name;
	return NULL;
}

/* Kill a misbehaving worker; SIGCHLD brings the restart. */
void
sup_worker_violation(struct sup_worker *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("worker %s (pid %d): protocol violation: %s; restarting it",
	    w->name, (int)w->pid, msg);
	if (w->pid > 0 && !w->kill_sent) {
		w->kill_sent = 1;
		kill(w->pid, SIGKILL);
	}
	/* stop listening to it at once */
	sup_worker_close(w);
	w->state = WS_STOPPING;
	sup_rule_worker_lost(w->sup, w, "worker misbehaved");
}

/* How long to wait for the reply to m (deadline.h). */
static uint64_t
sup_request_bound(const struct sup_worker *w, const struct ipc_msg *m)
{
	const struct conf_datasource *d;

	if (m->type == IPC_POLL_REQUEST && (d = conf_datasource_byname(
	    w->sup->conf, m->u.poll_request.datasource)) != NULL)
		return deadline_poll_ms(d->connect_timeout_ms,
		    d->command_timeout_ms, m->u.poll_request.total);
	return deadline_baseline_ms(w->sup->conf->git_fetch_timeout_ms);
}

int
sup_worker_send(struct sup_worker *w, struct ipc_msg *m, unsigned int rule_id,
    int expect_reply)
{
	struct sup_req *q, **tail;

	if (w->hung)
		return -1;	/* nothing more until it answers or is gone */
	if (w->state != WS_RUNNING && !(w->state == WS_STARTING &&
	    (m->type == IPC_CONF_PLATFORM || m->type == IPC_CONF_DATASOURCE ||
	    m->type == IPC_CONF_GIT || m->type == IPC_CONF_DONE)))
		return -1;
	if (ipc_chan_send(&w->chan, m, 0) == -1) {
		log_warnx("worker %s: cannot send %s", w->name,
		    ipc_msg_type_name(m->type));
		return -1;
	}
	if (w->chan.outq != NULL)
		event_add(w->ev_send, NULL);
	if (expect_reply) {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			fatal("calloc");
		q->rule_id = rule_id;
		q->bound_ms = sup_request_bound(w, m);
		q->deadline_ms = now_ms() + q->bound_ms;
		for (tail = &w->reqs; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = q;
	}
	return 0;
}

static void
sup_worker_send_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sup_worker *w = arg;
	int rc;

	(void)fd;
	(void)ev;
	rc = ipc_chan_flush(&w->chan);
	if (rc == 0)
		event_del(w->ev_send);
	else if (rc == -1)
		sup_worker_violation(w, "channel send failed");
}

/* One datasource's settings to its worker, packed by its kind (secrets
 * included: the worker needs them; they never reach a log). */
static void
sup_worker_conf_ds(struct sup_worker *w, const struct conf_datasource *d)
{
	struct ipc_msg m;
	struct ipc_conf_datasource *cd = &m.u.conf_datasource;
	void *settings;
	size_t len;

	if (d->kind->ds_pack(&settings, &len, d) == -1)
		fatalx("%s: out of memory", __func__);
	memset(&m, 0, sizeof(m));
	m.type = IPC_CONF_DATASOURCE;
	cd->name = d->name;
	cd->type = d->type;
	cd->connect_timeout_ms = (uint32_t)d->connect_timeout_ms;
	cd->command_timeout_ms = (uint32_t)d->command_timeout_ms;
	cd->settings.p = settings;
	cd->settings.len = len;
	sup_worker_send(w, &m, 0, 0);
	explicit_bzero(settings, len);
	free(settings);
}

static void
sup_worker_configure(struct sup_worker *w)
{
	struct vtw_conf *c = w->sup->conf;
	struct ipc_msg m;
	size_t i;

	if (w->kind == NULL) {
		memset(&m, 0, sizeof(m));
		m.type = IPC_CONF_GIT;
		m.u.conf_git.cache_dir = c->cache_dir;
		m.u.conf_git.max_parallel_fetches = c->git_max_parallel;
		m.u.conf_git.fetch_timeout_ms = c->git_fetch_timeout_ms;
		sup_worker_send(w, &m, 0, 0);
		for (i = 0; i < c->nplatforms; i++) {
			const struct conf_platform *p = &c->platforms[i];

			memset(&m, 0, sizeof(m));
			m.type = IPC_CONF_PLATFORM;
			m.u.conf_platform.name = p->name;
			m.u.conf_platform.type = p->type;
			m.u.conf_platform.endpoint = p->endpoint;
			m.u.conf_platform.token = p->token.value;
			sup_worker_send(w, &m, 0, 0);
		}
	} else {
		for (i = 0; i < c->ndatasources; i++) {
			const struct conf_datasource *d = &c->datasources[i];

			if (d->kind == w->kind)
				sup_worker_conf_ds(w, d);
		}
	}
	memset(&m, 0, sizeof(m));
	m.type = IPC_CONF_DONE;
	sup_worker_send(w, &m, 0, 0);
}

/*
 * The request a reply is for. A datasource worker answers in order:
 * requests queued before it were passed over without a reply, and only
 * their own rules are unknown. The git worker fetches in parallel and
 * answers each request when its repository's fetch is done, so in any
 * order (each rule's own requests in order): the oldest request of that
 * rule. NULL when no request of that rule is waiting (unsolicited).
 */
static struct sup_req *
sup_worker_match(struct sup_worker *w, unsigned int rule_id)
{
	struct sup_req *q, *skip;

	for (q = w->reqs; q != NULL && q->rule_id != rule_id; q = q->next)
		;
	if (SUP_WORKER_UNORDERED(w))
		return q;
	while (q != NULL && (skip = w->reqs) != q) {
		w->reqs = skip->next;
		/* an abandoned request's rule is unknown already */
		if (!skip->abandoned) {
			log_warnx("worker %s: no reply for rule %u before the "
			    "reply for rule %u", w->name, skip->rule_id,
			    rule_id);
			sup_rule_no_reply(w->sup, w, skip->rule_id);
		}
		free(skip);
	}
	return q;
}

int
sup_worker_awaits(const struct sup_worker *w, unsigned int rule_id)
{
	const struct sup_req *q;

	for (q = w->reqs; q != NULL; q = q->next)
		if (q->rule_id == rule_id)
			return 1;
	return 0;
}

/* Request q is answered. In order: q is the head, the next one's wait
 * starts now; in any order, every request's wait started when it was
 * sent. */
static void
sup_worker_pop_req(struct sup_worker *w, struct sup_req *q)
{
	struct sup_req **pp;
	const char *lbl[] = { w->name };

	for (pp = &w->reqs; *pp != q; pp = &(*pp)->next)
		;
	*pp = q->next;
	free(q);
	if (!SUP_WORKER_UNORDERED(w) && w->reqs != NULL) {
		w->reqs->deadline_ms = now_ms() + w->reqs->bound_ms;
		if (w->reqs->abandoned)
			return;
	}
	if (w->hung) {
		w->hung = 0;
		/* in any order: the others given up on get a whole wait
		 * again (their replies may come after this one's) */
		for (q = w->reqs; SUP_WORKER_UNORDERED(w) && q != NULL;
		    q = q->next)
			q->deadline_ms = now_ms() + q->bound_ms;
		metrics_set(w->sup->metrics, METRIC_WORKER_UP, lbl, 1);
		log_fields(LOG_LVL_INFO, NULL, "worker %s (pid %d) answers "
		    "again", w->name, (int)w->pid);
	}
}

static void
sup_worker_dispatch(struct sup_worker *w, struct ipc_msg *m, int peer_pid)
{
	struct sup_req *q;
	unsigned int rule_id;
	const char *lbl[] = { w->name };
	int last;

	/* sequence numbers only go up within one worker's life */
	if (m->seq <= w->last_seq) {
		sup_worker_violation(w, "sequence %llu after %llu",
		    (unsigned long long)m->seq, (unsigned long long)w->last_seq);
		return;
	}
	w->last_seq = m->seq;
	if (w->state == WS_STARTING) {
		if (m->type != IPC_HELLO) {
			sup_worker_violation(w, "%s before hello",
			    ipc_msg_type_name(m->type));
			return;
		}
		if (strcmp(m->u.hello.kind, w->name) != 0 ||
		    m->u.hello.proto_version != IPC_PROTO_VERSION ||
		    (pid_t)m->u.hello.pid != w->pid ||
		    (peer_pid != 0 && peer_pid != w->pid)) {
			sup_worker_violation(w, "bad hello (kind, version or "
			    "pid mismatch)");
			return;
		}
		w->state = WS_RUNNING;
		metrics_set(w->sup->metrics, METRIC_WORKER_UP, lbl, 1);
		sup_worker_configure(w);
		log_info("worker %s (pid %d) is sandboxed and running",
		    w->name, (int)w->pid);
		return;
	}
	if (w->state != WS_RUNNING)
		return;
	if (peer_pid != 0 && peer_pid != w->pid) {
		sup_worker_violation(w, "message from pid %d", peer_pid);
		return;
	}
	switch (m->type) {
	case IPC_NOTIFY:
		if (w->kind != NULL &&
		    sup_rule_notify(w->sup, w, m->u.notify.rule_id) == 0)
			return;
		if (w->kind != NULL && w->kept) {
			/* a watch it set for a rule of the configuration
			 * before the last reload */
			log_debug("worker %s: notify for rule %u, not one of "
			    "its rules since the reload", w->name,
			    m->u.notify.rule_id);
			return;
		}
		sup_worker_violation(w, "notify for rule %u, not one of its "
		    "rules", m->u.notify.rule_id);
		return;
	case IPC_BASELINE_REPLY:
		if (w->kind != NULL)
			goto bad;
		rule_id = m->u.baseline_reply.rule_id;
		last = m->u.baseline_reply.last;
		break;
	case IPC_POLL_REPLY:
		if (w->kind == NULL)
			goto bad;
		rule_id = m->u.poll_reply.rule_id;
		last = m->u.poll_reply.last;
		break;
	default:
		goto bad;
	}
	if ((q = sup_worker_match(w, rule_id)) == NULL) {
		sup_worker_violation(w, "unsolicited %s for rule %u",
		    ipc_msg_type_name(m->type), rule_id);
		return;
	}
	if (q->abandoned) {
		/* a late reply to a request given up on: its rule has moved
		 * on, the reply is dropped; the worker answers again */
		if (last)
			sup_worker_pop_req(w, q);
		return;
	}
	if ((m->type == IPC_BASELINE_REPLY &&
	    sup_rule_baseline_reply(w->sup, &m->u.baseline_reply) == -1) ||
	    (m->type == IPC_POLL_REPLY &&
	    sup_rule_poll_reply(w->sup, &m->u.poll_reply) == -1)) {
		sup_worker_violation(w, "inconsistent %s for rule %u",
		    ipc_msg_type_name(m->type), rule_id);
		return;
	}
	if (last)
		sup_worker_pop_req(w, q);
	else
		q->deadline_ms = now_ms() + q->bound_ms;
	return;
 bad:
	sup_worker_violation(w, "unexpected %s", ipc_msg_type_name(m->type));
}

static void
sup_worker_recv_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sup_worker *w = arg;
	struct ipc_msg m;
	char err[256];
	int rc, pid, budget = 64;

	(void)fd;
	(void)ev;
	/* bounded batch per wakeup so one worker cannot starve the loop */
	while (budget-- > 0 && w->ev_recv != NULL) {
		rc = ipc_chan_recv(&w->chan, &m, 0, &pid, err, sizeof(err));
		if (rc == 0)
			return;
		if (rc == -1) {
			sup_worker_violation(w, "%s", err);
			return;
		}
		if (rc == -2) {
			sup_worker_violation(w, "invalid message: %s", err);
			return;
		}
		sup_worker_dispatch(w, &m, pid);
		ipc_msg_release(&m);
	}
}

static void
sup_worker_schedule_restart(struct sup_worker *w)
{
	struct timeval tv;
	unsigned int ms, jitter;

	/* a worker that ran long enough starts over from the minimum */
	if (now_ms() - w->started_ms > WORKER_HEALTHY_RESET_MS)
		w->backoff_ms = WORKER_RESTART_BACKOFF_MIN_MS;
	ms = w->backoff_ms;
	jitter = ms / 5;
	if (jitter > 0)
		ms = ms - jitter + (unsigned int)(arc4random_uniform(2 * jitter + 1));
	w->backoff_ms *= 2;
	if (w->backoff_ms > WORKER_RESTART_BACKOFF_MAX_MS)
		w->backoff_ms = WORKER_RESTART_BACKOFF_MAX_MS;
#ifdef VTW_TEST_HOOKS
	{
		/* test builds: a churn test kills a worker 50 times */
		const char *cap = getenv("VTW_TEST_RESTART_BACKOFF_MAX_MS");

		if (cap != NULL && (unsigned int)atoi(cap) < w->backoff_ms)
			w->backoff_ms = (unsigned int)atoi(cap);
	}
#endif
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	w->state = WS_BACKOFF;
	evtimer_add(w->ev_restart, &tv);
	log_info("worker %s restarts in %u ms", w->name, ms);
}

void
sup_workers_reap(struct sup *sup)
{
	struct sup_worker *w;
	pid_t pid;
	size_t i;
	int st;
	char how[128];

	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		w = NULL;
		for (i = 0; i < sup->nworkers; i++)
			if (sup->workers[i].pid == pid)
				w = &sup->workers[i];
		if (w == NULL)
			continue;
		if (WIFSIGNALED(st))
			snprintf(how, sizeof(how), "killed by signal SIG%s (%s)",
			    sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st))
			    : "?", strsignal(WTERMSIG(st)));
		else
			snprintf(how, sizeof(how), "exited with status %d",
			    WEXITSTATUS(st));
		w->pid = 0;
		{
			const char *lbl[] = { w->name };

			metrics_set(sup->metrics, METRIC_WORKER_UP, lbl, 0);
		}
		sup_worker_close(w);
		if (sup->stopping) {
			log_info("worker %s (pid %d) %s", w->name, (int)pid, how);
			w->state = WS_STOPPED;
			continue;
		}
		{
			char fields[160];
			const char *lbl[] = { w->name };

			snprintf(fields, sizeof(fields),
			    ",\"worker\":\"%s\",\"pid\":%d", w->name, (int)pid);
			if (w->kill_sent)
				log_fields(LOG_LVL_INFO, fields,
				    "worker %s (pid %d) %s", w->name, (int)pid,
				    how);
			else
				log_fields(LOG_LVL_WARN, fields,
				    "lost child: worker %s (pid %d) %s",
				    w->name, (int)pid, how);
			metrics_inc(sup->metrics, METRIC_WORKER_RESTARTS_TOTAL,
			    lbl, 1);
		}
		sup_rule_worker_lost(sup, w, "worker exited");
		if (w->needed)
			sup_worker_schedule_restart(w);
		else
			w->state = WS_STOPPED;
	}
}

/*
 * A request's deadline passed: every request out to w is given up on (their
 * rules are unknown now, "worker not answering"), nothing more is sent to
 * it, it is not up (worker_up 0) nor ready; if it has not answered
 * WORKER_HUNG_KILL_MS later, it is killed and restarted. A late reply is
 * dropped and the worker is up again (a SIGSTOPped worker SIGCONTed).
 */
static void
sup_worker_hung(struct sup_worker *w, const struct sup_req *late,
    uint64_t now)
{
	struct sup *sup = w->sup;
	struct sup_req *q;
	const char *lbl[] = { w->name };
	char why[128], fields[160];
	unsigned int id = late->rule_id;
	uint64_t bound = late->bound_ms;

	snprintf(why, sizeof(why), "worker not answering (no reply within "
	    "%llu ms)", (unsigned long long)bound);
	snprintf(fields, sizeof(fields), ",\"worker\":\"%s\",\"pid\":%d",
	    w->name, (int)w->pid);
	log_fields(LOG_LVL_WARN, fields, "worker %s (pid %d) not answering: no "
	    "reply for rule %s within %llu ms; killed in %d ms unless it "
	    "answers", w->name, (int)w->pid, id < sup->nrules ?
	    sup->rules[id].conf->name : "?",
	    (unsigned long long)bound, WORKER_HUNG_KILL_MS);
	w->hung = 1;
	w->hung_kill_ms = now + WORKER_HUNG_KILL_MS;
	for (q = w->reqs; q != NULL; q = q->next)
		q->abandoned = 1;
	metrics_set(sup->metrics, METRIC_WORKER_UP, lbl, 0);
	sup_rule_worker_lost(sup, w, why);
}

/* Once a second: handshake and request deadlines. */
void
sup_workers_tick(struct sup *sup)
{
	uint64_t now = now_ms();
	size_t i;

	for (i = 0; i < sup->nworkers; i++) {
		struct sup_worker *w = &sup->workers[i];

		if (w->state == WS_STARTING && now > w->hello_deadline_ms)
			sup_worker_violation(w, "no hello within %d ms",
			    WORKER_HELLO_TIMEOUT_MS);
		else if (w->state == WS_RUNNING && w->hung && !w->kill_sent &&
		    now >= w->hung_kill_ms) {
			log_warnx("worker %s (pid %d) still not answering "
			    "after %d ms more; restarting it", w->name,
			    (int)w->pid, WORKER_HUNG_KILL_MS);
			w->kill_sent = 1;
			kill(w->pid, SIGKILL);	/* SIGCHLD brings the restart */
		} else if (w->state == WS_RUNNING && !w->hung) {
			struct sup_req *q;

			/* in order: only the head's wait runs */
			for (q = w->reqs; q != NULL; q = SUP_WORKER_UNORDERED(w) ?
			    q->next : NULL)
				if (now > q->deadline_ms) {
					sup_worker_hung(w, q, now);
					break;
				}
		}
	}
}
