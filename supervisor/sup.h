/*
 * Supervisor state. The supervisor owns the event loop, the worker table,
 * the rule scheduler, diffing, metrics and the admin HTTP server. It never
 * parses Git files or talks to datasources itself.
 * Functions acting on a worker's behalf are prefixed sup_.
 */
#ifndef VTW_SUP_H
#define VTW_SUP_H

#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "chan.h"
#include "digest.h"
#include "conf.h"
#include "kinds.h"
#include "kvmap.h"
#include "breaker.h"
#include "deadline.h"
#include "diff.h"
#include "heal.h"
#include "metrics.h"
#include "repourl.h"

#define WORKER_RESTART_BACKOFF_MIN_MS	500
#define WORKER_RESTART_BACKOFF_MAX_MS	60000
#define WORKER_HEALTHY_RESET_MS		60000	/* running this long resets backoff */
#define WORKER_HELLO_TIMEOUT_MS		10000
/* a request's wait: deadline.h; a worker that let one pass is hung (not
 * up, not ready) and killed if it still has not answered this much later */
#define WORKER_HUNG_KILL_MS		10000
#define SUP_SHUTDOWN_GRACE_MS		3000
#define SUP_MAX_BASELINE_KEYS		5000000

/* The worker table: the git worker first, then one per datasource kind in
 * registry order (conf/kinds.h). */
#define SUP_WORKER_GIT		0
#define SUP_WORKERS_MAX		(1 + CONF_KINDS_MAX)

enum worker_state {
	WS_STOPPED = 0,		/* not needed by the configuration */
	WS_STARTING,		/* forked, waiting for HELLO */
	WS_RUNNING,		/* configured, serving */
	WS_BACKOFF,		/* died; restart timer armed */
	WS_STOPPING,		/* SIGTERM sent */
};

struct sup;

/* one in-flight request, FIFO per worker */
struct sup_req {
	struct sup_req	*next;
	unsigned int	 rule_id;
	uint64_t	 bound_ms;	/* deadline.h */
	uint64_t	 deadline_ms;	/* while at the head of the queue (the
					 * git worker's: from when sent) */
	int		 abandoned;	/* given up on: its reply is dropped */
};

/* The git worker answers baseline requests in any order (parallel
 * fetches); a datasource worker answers in order. */
#define SUP_WORKER_UNORDERED(w)	((w)->kind == NULL)

struct sup_worker {
	struct sup		*sup;
	const struct ds_kind	*kind;		/* NULL for the git worker */
	const char		*name;		/* executable vartrack-worker-{name} */
	enum worker_state	 state;
	int			 needed;
	pid_t			 pid;
	int			 kill_sent;	/* we asked it to die */
	struct ipc_chan		 chan;
	struct event		*ev_recv, *ev_send, *ev_restart;
	uint64_t		 started_ms, hello_deadline_ms;
	unsigned int		 backoff_ms;
	uint64_t		 last_seq;	/* of the last message received */
	struct sup_req		*reqs;		/* requests awaiting a reply */
	int			 hung;		/* a request's deadline passed */
	uint64_t		 hung_kill_ms;	/* then killed at this time */
	/* what it is configured with (sup_worker_configure), digested: a
	 * reload restarts it only when this changes */
	unsigned char		 fp[VTW_DIGEST_LEN];
	int			 kept;		/* ran on across a reload: its
						 * old rules' notifies may come */
};

enum rule_phase { RP_IDLE = 0, RP_BASELINE, RP_READ };

/* one per repository (canonical name) of the rules: its circuit breaker;
 * kept across reloads while a rule uses the repository */
struct sup_gitrepo {
	char		*name;
	struct breaker	 br;
};

/* one per configured datasource: its circuit breaker */
struct sup_ds {
	const struct conf_datasource	*conf;
	struct breaker			 br;
	unsigned char			 fp[VTW_DIGEST_LEN];	/* its settings */
};

struct sup_rule {
	struct sup		*sup;
	uint64_t		 uid;		/* kept across reloads */
	unsigned char		 fp[VTW_DIGEST_LEN];	/* everything it uses */
	const struct conf_rule	*conf;
	const struct conf_datasource *ds;
	struct sup_ds		*sds;
	int			 ds_probe;	/* this poll is the breaker's probe */
	struct sup_worker	*dsw;		/* its datasource kind's worker */
	const struct conf_layout *layout;	/* where the orchestrator wrote */
	uint64_t		 interval_ms;
	uint64_t		 git_refresh_ms;	/* its branch's fetch serves
							 * this long */
	char			*repo_name;	/* canonical (repourl.h): the
						 * metric label, the webhook key */
	int			 git_stale;	/* a push was announced: the
						 * next baseline asks the remote */
	int			 git_probe;	/* this baseline is its
						 * repository breaker's probe */
	struct event		*ev_timer;
	uint64_t		 due_ms;	/* when ev_timer fires */
	enum rule_phase		 phase;
	uint64_t		 cycle_start_ms, cycle_start_us;
	uint64_t		 baseline_us, read_us;	/* phases of the last cycle */
	/* baseline (Git) */
	struct kvmap		*baseline;	/* NULL until the first one */
	char			 commit[48];
	struct kvmap		*bl_pending;	/* chunks being received */
	uint64_t		 bl_total;
	/* values the git worker truncated: key -> struct bl_mark (poll.c);
	 * NULL when none */
	struct kvmap		*bl_trunc, *bl_trunc_pending;
	/* datasource read being received */
	struct kvmap		*actual, *extra;
	struct kvmap		*dexp;		/* expected values that differ */
	struct diff_trunc	*trunc;
	size_t			 ntrunc, trunc_cap;
	struct diff_trunc	*dexp_trunc;	/* truncated values of dexp */
	size_t			 ndexp_trunc, dexp_trunc_cap;
	size_t			 nvalues_received;
	/* values the worker could not compare (IPC_VALUE_UNVERIFIABLE):
	 * key -> note, the first SUP_MAX_UNVERIFIABLE_LISTED; and the count */
	struct kvmap		*unverif;
	size_t			 nunverif;
	int			 unverif_seen;	/* its metric series exists */
	/* drift whatever the value (IPC_VALUE_MISMATCH): key -> note */
	struct kvmap		*notes;
	int			 marker_present;
	int			 last_state;	/* 0 none, 1 ok, 2 drift, 3 unknown */
	int			 repoll;	/* notified during a poll: poll again */
	uint64_t		 notified_ms;	/* last event-assisted poll */
	unsigned int		 notifies;	/* event-assisted polls */
	unsigned int		 polls;
	/* self-heal (self_heal: true) */
	struct heal_state	 heal;
	struct event		*ev_heal_retry;
	uint64_t		 heal_due_ms;	/* when ev_heal_retry fires */
	char			 heal_reason[512];
	/* shared state (ha.state: redis, shared.c) */
	unsigned char		 bl_digest[VTW_DIGEST_LEN];	/* baseline */
	int			 bl_digest_set;
	int			 sh_pending;	/* leader: heal waits for it */
	int			 sh_since_state;	/* last_state since */
	uint64_t		 sh_since_wall;	/* then (Unix ms) */
	char			*sh_drifted;	/* names, JSON */
	uint64_t		 sh_logged;	/* hash of what it last said */
	char			 sh_want[48];	/* standby: the leader's commit */
};

struct sup {
	struct event_base	*base;
	struct vtw_conf		*conf;
	const char		*conf_path;
	char			 self_dir[4096];
	char			 run_dir[4096];
	struct sup_worker	 workers[SUP_WORKERS_MAX];
	size_t			 nworkers;	/* 1 + the kinds built */
	struct sup_rule		*rules;
	size_t			 nrules;
	struct sup_ds		*dss;
	size_t			 ndss;
	struct sup_gitrepo	*gitrepos;	/* breakers, by repository */
	size_t			 ngitrepos;
	uint64_t		 rule_uids;	/* the last one given */
	struct metrics		*metrics;
	struct evhttp		*http;
	struct event		*ev_sigterm, *ev_sigint, *ev_sighup, *ev_sigchld;
	struct event		*ev_tick, *ev_shutdown;
	/* orchestrator: TriggerSync (SyncDatasource) and Ping over gRPC */
	struct grpc_client	*grpc;
	struct breaker		 orch_breaker;
	struct heal_params	 heal_params;
	struct event		*ev_ping;
	int			 orch_up;	/* last Ping answered */
	int			 ping_inflight;
	size_t			 nself_heal;	/* rules with self_heal */
	uint64_t		 generation;	/* bumped on reload */
	/* several replicas (watcher.ha, ha.c): who heals */
	char			 instance_id[256];
	struct sup_ha		*ha;		/* NULL: backend none */
	int			 leading;	/* as ha.c last saw it */
	int			 ha_released;	/* stopping: the lock is let go */
	struct sup_shared	*shared;	/* NULL: ha.state none */
	int			 stopping;
	int			 exit_code;
};

uint64_t now_ms(void);
uint64_t now_us(void);

/* workers.c */
void	sup_workers_init(struct sup *);
void	sup_workers_start(struct sup *);
/* graceful: IPC_SHUTDOWN to running workers, SIGKILL to the rest */
void	sup_workers_stop(struct sup *, int graceful);
void	sup_workers_reap(struct sup *);
void	sup_workers_tick(struct sup *);
int	sup_workers_all_running(const struct sup *, const char **why);
/* the first worker that let a request's deadline pass, or NULL */
const char *sup_workers_hung(const struct sup *);
/* Whether a request of that rule is waiting for w's reply. */
int	sup_worker_awaits(const struct sup_worker *, unsigned int rule_id);
int	sup_worker_send(struct sup_worker *, struct ipc_msg *, unsigned int rule_id,
	    int expect_reply);
void	sup_worker_violation(struct sup_worker *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
size_t	sup_workers_alive(const struct sup *);
void	sup_workers_free(struct sup *);

/* the worker of a datasource kind */
struct sup_worker *sup_worker_of(struct sup *, const struct ds_kind *);

/* The rule and datasource tables of a configuration being reloaded. */
struct sup_rules_next {
	struct sup_rule		*rules;
	size_t			 nrules;
	struct sup_ds		*dss;
	size_t			 ndss;
};

/* what a reload did, for its log line */
struct sup_reload_counts {
	size_t			 kept, fresh, gone;
	size_t			 workers_kept, workers_started, workers_stopped;
};

/* workers.c */
/* after a reload's swap: restart the workers whose settings changed,
 * start and stop those the rules now need or not */
void	sup_workers_reload(struct sup *, struct sup_reload_counts *);

/* poll.c */
int	sup_rules_init(struct sup *, char *err, size_t errlen);
/* Reload: the new tables beside the running ones (nothing running is
 * touched; -1 with err when they cannot be built), then the swap (sup->conf
 * is the new configuration): each rule whose settings did not change keeps
 * its baseline, drift, breaker, heal state and schedule. */
int	sup_rules_prepare(struct sup *, const struct vtw_conf *,
	    struct sup_rules_next *, char *err, size_t errlen);
void	sup_rules_next_free(struct sup_rules_next *);
void	sup_rules_swap(struct sup *, struct sup_rules_next *,
	    struct sup_reload_counts *);
void	sup_rules_free(struct sup *);
void	sup_rules_start(struct sup *);
void	sup_rule_no_reply(struct sup *, const struct sup_worker *,
	    unsigned int rule_id);
void	sup_rule_worker_lost(struct sup *, const struct sup_worker *,
	    const char *why);
/* a message from a worker, validated by the codec; -1 = out of protocol */
int	sup_rule_baseline_reply(struct sup *, const struct ipc_baseline_reply *);
int	sup_rule_poll_reply(struct sup *, const struct ipc_poll_reply *);
/* a datasource worker saw a change under a rule's scope */
int	sup_rule_notify(struct sup *, const struct sup_worker *,
	    unsigned int rule_id);
/* A verified push webhook for (repository, branch): repos are the
 * repository's canonical names (repourl.h). Each rule on that branch asks
 * the remote at its next baseline and polls now. Returns the number of
 * rules. */
size_t	sup_rules_push(struct sup *, const char (*repos)[REPO_URL_CANON_MAX],
	    size_t nrepos, const char *branch);

/* heal.c glue in orch.c */
int	sup_orch_start(struct sup *, char *err, size_t errlen);
void	sup_orch_stop(struct sup *);
/* Reload: does the new configuration need another client (0 no, 1 yes;
 * -1 with err when that client cannot be made: the reload is refused)? */
int	sup_orch_prepare(struct sup *, const struct vtw_conf *,
	    const struct sup_rules_next *, char *err, size_t errlen);
/* the client is kept: take the new heal and breaker settings */
void	sup_orch_update(struct sup *, const struct vtw_conf *old);
void	sup_rule_heal_drift(struct sup_rule *, const struct diff_result *);
void	sup_rule_heal_ok(struct sup_rule *);
void	sup_heal_retry_cb(evutil_socket_t, short, void *);

/* ha.c: leader election */
struct sup_ha;
int	sup_ha_start(struct sup *, char *err, size_t errlen);
/* may this replica call the orchestrator now (always, without ha)? */
int	sup_ha_may_heal(const struct sup *);
/* why not, for a drift line: "deferred to leader <id>", ... */
const char *sup_ha_why_not(const struct sup *, char *, size_t);
/* stopping: a leader lets its lock go; done runs when that is over */
void	sup_ha_release(struct sup *, void (*done)(struct sup *));
void	sup_ha_free(struct sup *);
/* ha.standbys_poll: false and this replica does not lead */
int	sup_ha_standby_idle(const struct sup *);
/* watcher.ha of nc differs from the running one's (read at start only) */
int	sup_ha_differs(const struct sup *, const struct vtw_conf *);

/* shared.c: shared state between replicas (ha.state: redis) */
struct sup_shared;
int	sup_shared_start(struct sup *, char *err, size_t errlen);
void	sup_shared_free(struct sup *);
/* a new baseline: its digest, compared between replicas */
void	sup_shared_baseline(struct sup_rule *);
/* a poll's outcome (last_state set; res: the drift, else NULL): the
 * leader writes the rule's record, a standby reads the leader's */
void	sup_shared_report(struct sup_rule *, const struct diff_result *res);
/* a heal call's result: the leader writes it */
void	sup_shared_heal_changed(struct sup_rule *);
/* an idle standby (ha.standbys_poll: false): it reads when it leads */
void	sup_shared_standby(struct sup *);
/* 1: no heal decision yet, a new leader is reading the last one's state */
int	sup_shared_hold(struct sup_rule *);

/* http.c */
int	sup_http_start(struct sup *, const char *addr, char *err, size_t errlen);
/* after a reload: the body limit follows watcher.webhooks */
void	sup_http_reconf(struct sup *);
void	sup_http_stop(struct sup *);

#endif
