/* SPDX-License-Identifier: MIT */
/* Integration tests of Home Assistant discovery and Homie 4: the daemon (gpio2mqtt-test, GPIO
 * replaced by gpio_double.c) against a real mosquitto on a free port of 127.0.0.1, one broker and
 * one temporary directory per scenario. TAP output.
 *
 *   test-discovery SCENARIO DAEMON MOSQUITTO
 *
 * A watcher (MQTT v5, retain-as-published) records every message on '#' in order. What is
 * retained on the broker is read by a new client: it publishes a retained sentinel, subscribes to
 * the pattern and then to the sentinel; the broker answers subscriptions in order, so every
 * retained message of the pattern has arrived once the sentinel does. No sleeps as assertions:
 * every wait is for a condition, with a deadline. */

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 5000
#define PATH_LEN 512
#define MACHINE_A "0123456789abcdef0123456789abcdef"
#define MACHINE_B "fedcba9876543210fedcba9876543210"
#define WEIRD "Küche \"Licht\" \\ 1" /* a pin name with UTF-8, quotes and a backslash */

/* ---- TAP -------------------------------------------------------------------------------- */

static unsigned int tap_count, tap_failed;

static bool check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool check(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	tap_failed += !cond;
	printf("%sok %u - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("#   ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#define S(s) ((s) ? (s) : "(none)")

/* ---- time, files, children -------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool file_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

static char *file_read(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = calloc(1, 65536);
	n = buf ? fread(buf, 1, 65535, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

static int rmtree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static struct {
	const char *scenario, *daemon_path, *mosquitto_path;
	char tmp[PATH_LEN];
	int port;
	pid_t broker;
	pid_t daemons[2];
	char err[2][PATH_LEN];
	unsigned int runs;
} T;

static sigset_t fatal_signals;

static void *signal_thread(void *arg)
{
	int sig = 0;

	sigwait(&fatal_signals, &sig);
	for (int i = 0; i < 2; i++)
		if (T.daemons[i] > 0)
			kill(T.daemons[i], SIGKILL);
	if (T.broker > 0)
		kill(T.broker, SIGKILL);
	printf("Bail out! killed by signal %d\n", sig);
	fflush(stdout);
	_exit(99);
	return NULL;
}

static void path_in(char *buf, const char *name)
{
	if (snprintf(buf, PATH_LEN, "%s/%s", T.tmp, name) >= PATH_LEN)
		abort();
}

extern char **environ;

/* fork + exec with output into LOG and extra environment variables ENV (NULL-terminated). */
static pid_t spawn(char *const argv[], const char *log, const char *const env_extra[])
{
	static const char *const drop[] = { "JOURNAL_STREAM=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=",
					    "WATCHDOG_PID=", "STATE_DIRECTORY=",
					    "GPIO2MQTT_TEST_GPIO_DIR=", "GPIO2MQTT_MACHINE_ID_FILE=" };
	size_t n = 0, o = 0;
	char **env;
	pid_t parent = getpid(), pid;

	while (environ[n])
		n++;
	env = calloc(n + 8, sizeof(*env));
	if (!env)
		abort();
	for (size_t i = 0; i < n; i++) {
		bool keep = true;

		for (size_t d = 0; d < sizeof(drop) / sizeof(drop[0]); d++)
			keep = keep && strncmp(environ[i], drop[d], strlen(drop[d])) != 0;
		if (keep)
			env[o++] = environ[i];
	}
	for (; env_extra && *env_extra; env_extra++)
		env[o++] = (char *)*env_extra;
	env[o] = NULL;
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		int in, out;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		in = open("/dev/null", O_RDONLY);
		out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in < 0 || out < 0)
			_exit(127);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		execve(argv[0], argv, env);
		_exit(127);
	}
	free(env);
	return pid;
}

static bool child_wait(pid_t pid, int timeout_ms, int *status)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		if (now_ms() >= deadline)
			return false;
		pause_ms(10);
	}
}

static void child_stop(pid_t *pid, int sig)
{
	int status;

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	if (!child_wait(*pid, TIMEOUT_MS, &status)) {
		kill(*pid, SIGKILL);
		waitpid(*pid, &status, 0);
	}
	*pid = 0;
}

static void dump(const char *title, const char *path)
{
	char *text = file_read(path), *save = NULL;

	diag("%s:", title);
	if (!text)
		return;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		diag("  | %s", l);
	free(text);
}

/* ---- broker ----------------------------------------------------------------------------- */

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool port_accepts(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool broker_start(void)
{
	char conf[PATH_LEN], log[PATH_LEN], text[256];
	char *argv[] = { (char *)T.mosquitto_path, (char *)"-c", conf, NULL };

	for (int attempt = 0; attempt < 3; attempt++) {
		int64_t deadline = now_ms() + TIMEOUT_MS;
		int status;

		T.port = free_port();
		path_in(conf, "mosquitto.conf");
		path_in(log, "mosquitto.log");
		snprintf(text, sizeof(text),
			 "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
			 "user root\nlog_dest stderr\nlog_type all\n",
			 T.port);
		if (!file_write(conf, text))
			return false;
		T.broker = spawn(argv, log, NULL);
		while (now_ms() < deadline) {
			if (waitpid(T.broker, &status, WNOHANG) == T.broker) {
				T.broker = 0;
				break;
			}
			if (port_accepts(T.port))
				return true;
			pause_ms(20);
		}
		if (T.broker > 0)
			child_stop(&T.broker, SIGKILL);
	}
	return false;
}

/* ---- the watcher ------------------------------------------------------------------------ */

struct msg {
	char *topic;
	char *payload;
	size_t len;
	bool retain;
};

static struct {
	struct mosquitto *mosq;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct msg *msgs;
	size_t n, cap;
	bool subscribed;
	int acked[64];
	unsigned int n_acked;
} W = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void watch_on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
			     const mosquitto_property *props)
{
	if (rc == 0)
		mosquitto_subscribe_v5(mosq, NULL, "#", 1, MQTT_SUB_OPT_RETAIN_AS_PUBLISHED, NULL);
}

static void watch_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *q,
			       const mosquitto_property *props)
{
	pthread_mutex_lock(&W.lock);
	W.subscribed = true;
	pthread_cond_broadcast(&W.cond);
	pthread_mutex_unlock(&W.lock);
}

static void watch_on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
			     const mosquitto_property *props)
{
	pthread_mutex_lock(&W.lock);
	W.acked[W.n_acked++ % 64] = mid;
	pthread_cond_broadcast(&W.cond);
	pthread_mutex_unlock(&W.lock);
}

static void watch_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
			     const mosquitto_property *props)
{
	struct msg msg = { .topic = strdup(m->topic), .retain = m->retain };

	msg.len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	msg.payload = calloc(1, msg.len + 1);
	if (!msg.topic || !msg.payload)
		abort();
	if (msg.len)
		memcpy(msg.payload, m->payload, msg.len);
	pthread_mutex_lock(&W.lock);
	if (W.n == W.cap) {
		W.cap = W.cap ? W.cap * 2 : 512;
		W.msgs = realloc(W.msgs, W.cap * sizeof(*W.msgs));
		if (!W.msgs)
			abort();
	}
	W.msgs[W.n++] = msg;
	pthread_cond_broadcast(&W.cond);
	pthread_mutex_unlock(&W.lock);
}

static bool watch_wait_locked(int64_t deadline)
{
	int64_t left = deadline - now_ms();
	struct timespec ts;

	if (left <= 0)
		return false;
	if (left > 100)
		left = 100;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)left * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(&W.cond, &W.lock, &ts);
	return true;
}

static bool watch_start(void)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;
	char id[64];
	bool ok;

	snprintf(id, sizeof(id), "g2m-disc-watch-%ld", (long)getpid());
	W.mosq = mosquitto_new(id, true, NULL);
	if (!W.mosq)
		return false;
	mosquitto_int_option(W.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_connect_v5_callback_set(W.mosq, watch_on_connect);
	mosquitto_subscribe_v5_callback_set(W.mosq, watch_on_subscribe);
	mosquitto_publish_v5_callback_set(W.mosq, watch_on_publish);
	mosquitto_message_v5_callback_set(W.mosq, watch_on_message);
	if (mosquitto_connect(W.mosq, "127.0.0.1", T.port, 30) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(W.mosq) != MOSQ_ERR_SUCCESS)
		return false;
	pthread_mutex_lock(&W.lock);
	while (!W.subscribed && watch_wait_locked(deadline))
		;
	ok = W.subscribed;
	pthread_mutex_unlock(&W.lock);
	return ok;
}

static void watch_stop(void)
{
	if (!W.mosq)
		return;
	mosquitto_disconnect(W.mosq);
	mosquitto_loop_stop(W.mosq, true);
	mosquitto_destroy(W.mosq);
	W.mosq = NULL;
}

static size_t watch_mark(void)
{
	size_t n;

	pthread_mutex_lock(&W.lock);
	n = W.n;
	pthread_mutex_unlock(&W.lock);
	return n;
}

/* Index of the first message at or after FROM on TOPIC (with PAYLOAD unless NULL), waiting up to
 * TIMEOUT_MS; -1 when none came. */
static long watch_wait(size_t from, const char *topic, const char *payload, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	long idx = -1;

	pthread_mutex_lock(&W.lock);
	do {
		for (size_t i = from; i < W.n && idx < 0; i++)
			if (strcmp(W.msgs[i].topic, topic) == 0 &&
			    (!payload || strcmp(W.msgs[i].payload, payload) == 0))
				idx = (long)i;
	} while (idx < 0 && watch_wait_locked(deadline));
	pthread_mutex_unlock(&W.lock);
	return idx;
}

static bool expect_msg(size_t from, const char *topic, const char *payload, const char *why)
{
	long i = watch_wait(from, topic, payload, TIMEOUT_MS);

	check(i >= 0, "%s: %s \"%s\"", why, topic, payload);
	return i >= 0;
}

static bool pub(const char *topic, const char *payload, bool retain)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;
	bool acked = false;
	int mid = 0;

	if (mosquitto_publish_v5(W.mosq, &mid, topic, (int)strlen(payload), payload, 1, retain,
				 NULL) != MOSQ_ERR_SUCCESS)
		return check(false, "publish %s", topic);
	pthread_mutex_lock(&W.lock);
	do {
		for (unsigned int i = 0; i < 64 && i < W.n_acked; i++)
			acked |= W.acked[i] == mid;
	} while (!acked && watch_wait_locked(deadline));
	pthread_mutex_unlock(&W.lock);
	return acked || check(false, "publish %s: PUBACK", topic);
}

/* ---- what is retained right now --------------------------------------------------------- */

struct snapshot {
	struct msg items[256];
	size_t n;
	bool done;
	char sentinel[128];
};

static void snap_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
	struct snapshot *s = obj;

	if (strcmp(m->topic, s->sentinel) == 0) {
		s->done = true;
		return;
	}
	if (!m->retain || s->n == 256)
		return;
	s->items[s->n].topic = strdup(m->topic);
	s->items[s->n].payload = calloc(1, (size_t)m->payloadlen + 1);
	if (m->payloadlen > 0)
		memcpy(s->items[s->n].payload, m->payload, (size_t)m->payloadlen);
	s->items[s->n].len = (size_t)m->payloadlen;
	s->n++;
}

/* Every retained message under PATTERN. */
static bool snapshot_take(const char *pattern, struct snapshot *s)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;
	struct mosquitto *mosq;
	static unsigned int seq;
	char id[64];

	memset(s, 0, sizeof(*s));
	snprintf(id, sizeof(id), "g2m-disc-snap-%ld-%u", (long)getpid(), seq);
	snprintf(s->sentinel, sizeof(s->sentinel), "g2m-sentinel/%ld-%u", (long)getpid(), seq++);
	mosq = mosquitto_new(id, true, s);
	if (!mosq)
		return false;
	mosquitto_message_callback_set(mosq, snap_on_message);
	if (mosquitto_connect(mosq, "127.0.0.1", T.port, 30) != MOSQ_ERR_SUCCESS)
		goto fail;
	mosquitto_publish(mosq, NULL, s->sentinel, 1, "x", 1, true);
	mosquitto_subscribe(mosq, NULL, pattern, 1);
	mosquitto_subscribe(mosq, NULL, s->sentinel, 1);
	while (!s->done && now_ms() < deadline)
		if (mosquitto_loop(mosq, 50, 1) != MOSQ_ERR_SUCCESS)
			goto fail;
	mosquitto_publish(mosq, NULL, s->sentinel, 0, "", 1, true);
	mosquitto_loop(mosq, 50, 1);
	mosquitto_disconnect(mosq);
	mosquitto_destroy(mosq);
	return s->done;
fail:
	mosquitto_destroy(mosq);
	return false;
}

static const struct msg *snapshot_find(const struct snapshot *s, const char *topic)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].topic, topic) == 0)
			return &s->items[i];
	return NULL;
}

static void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->items[i].topic);
		free(s->items[i].payload);
	}
	s->n = 0;
}

/* ---- the daemon ------------------------------------------------------------------------- */

static const char *const all_pins =
	"inputs = (\n"
	"  { name = \"button\"; line = \"GPIO17\"; mode = \"button\"; },\n"
	"  { name = \"door\"; line = \"GPIO18\"; device_class = \"door\"; }\n"
	");\n"
	"outputs = (\n"
	"  { name = \"relay\"; line = \"GPIO27\"; },\n"
	"  { name = \"lamp\"; line = \"GPIO22\"; component = \"light\"; },\n"
	"  { name = \"Küche \\\"Licht\\\" \\\\ 1\"; line = \"GPIO23\"; payload = \"json\"; }\n"
	");\n";

/* Writes the config of daemon I (0 or 1): base topic g2m-disc/<scenario>/<i>. */
static bool config_write(int i, const char *discovery, const char *pins)
{
	char path[PATH_LEN], name[32], text[4096];

	snprintf(name, sizeof(name), "daemon%d.conf", i);
	path_in(path, name);
	snprintf(text, sizeof(text),
		 "mqtt = {\n"
		 "  brokers = ( { host = \"127.0.0.1\"; port = %d; } );\n"
		 "  client_id = \"g2m-disc-%s-%d-%ld\";\n"
		 "  base_topic = \"g2m-disc/%s/%d\";\n"
		 "  keepalive = 5; reconnect_min_ms = 200; reconnect_max_ms = 1000;\n"
		 "};\n"
		 "state_dir = \"%s/state%d\";\n"
		 "discovery = { %s };\n"
		 "%s",
		 T.port, T.scenario, i, (long)getpid(), T.scenario, i, T.tmp, i, discovery, pins);
	return file_write(path, text);
}

/* Starts daemon I with machine id MACHINE (a file of 32 hex digits). */
static bool daemon_start(int i, const char *machine)
{
	char conf[PATH_LEN], gpio[PATH_LEN], idfile[PATH_LEN], name[64];
	char gpio_env[PATH_LEN + 40], id_env[PATH_LEN + 40];
	const char *env[] = { gpio_env, id_env, NULL };
	char *argv[] = { (char *)T.daemon_path, (char *)"-d", (char *)"-c", conf, NULL };

	snprintf(name, sizeof(name), "daemon%d.conf", i);
	path_in(conf, name);
	snprintf(name, sizeof(name), "gpio%d", i);
	path_in(gpio, name);
	mkdir(gpio, 0755);
	snprintf(name, sizeof(name), "machine-id-%d", i);
	path_in(idfile, name);
	snprintf(name, sizeof(name), "%s\n", machine);
	if (!file_write(idfile, name))
		return false;
	snprintf(gpio_env, sizeof(gpio_env), "GPIO2MQTT_TEST_GPIO_DIR=%s", gpio);
	snprintf(id_env, sizeof(id_env), "GPIO2MQTT_MACHINE_ID_FILE=%s", idfile);
	snprintf(name, sizeof(name), "daemon%d-run%u.log", i, ++T.runs);
	path_in(T.err[i], name);
	T.daemons[i] = spawn(argv, T.err[i], env);
	return check(T.daemons[i] > 0, "start daemon %d (machine id %.8s...)", i, machine);
}

static void base_of(int i, char *buf, size_t size)
{
	snprintf(buf, size, "g2m-disc/%s/%d", T.scenario, i);
}

/* Waits for daemon I's "online" after FROM. */
static bool expect_online(int i, size_t from)
{
	char topic[256];

	base_of(i, topic, sizeof(topic));
	strcat(topic, "/status");
	return expect_msg(from, topic, "online", "daemon online");
}

/* The level of output NAME of daemon I in the GPIO double, waiting for WANT. */
static bool expect_output(int i, const char *name, int want, const char *why)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;
	char path[PATH_LEN], rel[128];
	int level = -1;

	snprintf(rel, sizeof(rel), "gpio%d/out/%s", i, name);
	path_in(path, rel);
	do {
		char *text = file_read(path);

		level = text ? atoi(text) : -1;
		free(text);
		if (level == want)
			break;
		pause_ms(10);
	} while (now_ms() < deadline);
	return check(level == want, "%s: output '%s' is %d", why, name, want);
}

/* ---- checks of Home Assistant configs --------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

struct expected_config {
	const char *component;
	const char *pin;
	bool command;
	bool event;
};

static const struct expected_config expected_configs[] = {
	{ "event", "button", false, true },
	{ "binary_sensor", "door", false, false },
	{ "switch", "relay", true, false },
	{ "light", "lamp", true, false },
	{ "switch", WEIRD, true, false },
};
#define N_CONFIGS (sizeof(expected_configs) / sizeof(expected_configs[0]))

/* Checks the retained configs of daemon I; returns its node id in NODE. */
static bool check_configs(int i, const struct snapshot *s, char *node, size_t node_size)
{
	char base[128], want[256];
	bool all = true;

	base_of(i, base, sizeof(base));
	node[0] = '\0';
	for (size_t k = 0; k < N_CONFIGS; k++) {
		const struct expected_config *e = &expected_configs[k];
		const struct msg *found = NULL;
		cJSON *o = NULL;

		/* Find the config by its name (the object id of WEIRD is a cleaned form). */
		for (size_t m = 0; m < s->n && !found; m++) {
			char prefix[128];
			cJSON *c;

			snprintf(prefix, sizeof(prefix), "homeassistant/%s/", e->component);
			if (strncmp(s->items[m].topic, prefix, strlen(prefix)) != 0)
				continue;
			c = cJSON_Parse(s->items[m].payload);
			snprintf(want, sizeof(want), "%s/%s%s", base, e->pin, e->event ? "/event" : "");
			if (c && streq(jstr(c, "state_topic"), want)) {
				found = &s->items[m];
				o = c;
			} else {
				cJSON_Delete(c);
			}
		}
		all &= check(found != NULL, "%s config for '%s' (JSON with state_topic %s)",
			     e->component, e->pin, want);
		if (!found)
			continue;
		{
			const cJSON *dev = cJSON_GetObjectItem(o, "device");
			const cJSON *ids = cJSON_GetObjectItem(dev, "identifiers");
			const cJSON *av = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "availability"), 0);
			const cJSON *origin = cJSON_GetObjectItem(o, "origin");
			const char *id0 = cJSON_IsString(cJSON_GetArrayItem(ids, 0))
						  ? cJSON_GetArrayItem(ids, 0)->valuestring
						  : NULL;
			const char *uid = jstr(o, "unique_id");
			char topic_node[128] = "", topic_obj[128] = "";

			sscanf(found->topic, "homeassistant/%*[^/]/%127[^/]/%127[^/]/config", topic_node,
			       topic_obj);
			if (!node[0] && id0)
				snprintf(node, node_size, "%s", id0);
			all &= check(streq(jstr(o, "name"), e->pin), "%s: name \"%s\"", found->topic,
				     e->pin);
			all &= check(id0 && streq(topic_node, id0),
				     "%s: node_id in the topic is the device identifier (%s)",
				     found->topic, S(id0));
			all &= check(id0 && strncmp(id0, "gpio2mqtt_", 10) == 0 &&
					     !strstr(MACHINE_A MACHINE_B, id0 + 10),
				     "%s: identifier derived from, not equal to, the machine id",
				     found->topic);
			all &= check(uid && id0 && strncmp(uid, id0, strlen(id0)) == 0 &&
					     strstr(uid, topic_obj),
				     "%s: unique_id %s = node id + object id", found->topic, S(uid));
			snprintf(want, sizeof(want), "%s/status", base);
			all &= check(streq(jstr(av, "topic"), want) &&
					     streq(jstr(av, "payload_available"), "online") &&
					     streq(jstr(av, "payload_not_available"), "offline"),
				     "%s: availability on %s", found->topic, want);
			all &= check(streq(jstr(origin, "name"), "gpio2mqtt") &&
					     jstr(origin, "sw_version") && jstr(origin, "support_url"),
				     "%s: origin name, sw_version, support_url", found->topic);
			snprintf(want, sizeof(want), "%s/%s/set", base, e->pin);
			if (e->command)
				all &= check(streq(jstr(o, "command_topic"), want) &&
						     streq(jstr(o, "payload_on"), "ON") &&
						     streq(jstr(o, "payload_off"), "OFF"),
					     "%s: command_topic %s, payloads ON/OFF", found->topic, want);
			else
				all &= check(!cJSON_GetObjectItem(o, "command_topic"),
					     "%s: no command_topic", found->topic);
			if (e->event)
				all &= check(cJSON_GetArraySize(cJSON_GetObjectItem(o, "event_types")) == 3,
					     "%s: event_types", found->topic);
			if (strcmp(e->pin, "door") == 0)
				all &= check(streq(jstr(o, "device_class"), "door"),
					     "%s: device_class door", found->topic);
		}
		cJSON_Delete(o);
	}
	return all;
}

/* Waits until daemon I's configs are retained (its online came first, the configs right after)
 * and takes the snapshot. */
static bool ha_snapshot(size_t from, int i, struct snapshot *s)
{
	char topic[256];
	long idx;

	base_of(i, topic, sizeof(topic));
	strcat(topic, "/relay");
	/* The states follow the configs: once relay's state is in, so are the configs. */
	idx = watch_wait(from, topic, "OFF", TIMEOUT_MS);
	if (!check(idx >= 0, "daemon %d published its states", i))
		return false;
	return check(snapshot_take("homeassistant/#", s), "read what is retained under homeassistant/#");
}

/* ---- scenarios -------------------------------------------------------------------------- */

static void scenario_ha_configs(void)
{
	struct snapshot s;
	char node[128], topic[512], base[128];
	size_t c = watch_mark();
	const char *cmd = NULL;

	if (!config_write(0, "", all_pins) || !daemon_start(0, MACHINE_A) || !expect_online(0, c))
		return;
	if (!ha_snapshot(c, 0, &s))
		return;
	check(s.n == N_CONFIGS, "%d configs retained (%zu)", (int)N_CONFIGS, s.n);
	check_configs(0, &s, node, sizeof(node));

	/* The config's command topic drives the output; the state comes back on the state topic. */
	for (size_t k = 0; k < s.n; k++) {
		cJSON *o = cJSON_Parse(s.items[k].payload);

		if (o && streq(jstr(o, "name"), "relay") && jstr(o, "command_topic"))
			cmd = strdup(jstr(o, "command_topic"));
		cJSON_Delete(o);
	}
	base_of(0, base, sizeof(base));
	c = watch_mark();
	if (check(cmd != NULL, "relay's command_topic") && pub(cmd, "ON", false)) {
		expect_output(0, "relay", 1, "command on the discovered topic");
		snprintf(topic, sizeof(topic), "%s/relay", base);
		expect_msg(c, topic, "ON", "state echoed");
	}
	free((char *)cmd);
	snapshot_free(&s);
}

static void scenario_ha_birth(void)
{
	char base[128], topic[256];
	struct snapshot s;
	size_t c = watch_mark(), after;
	long last_config = -1, first_state = -1;

	if (!config_write(0, "", all_pins) || !daemon_start(0, MACHINE_A) || !expect_online(0, c))
		return;
	static const char *const states[] = { "door", "relay", "lamp", WEIRD };

	if (!ha_snapshot(c, 0, &s))
		return;
	base_of(0, base, sizeof(base));
	/* The announcement on connect ends with every state: wait for them, so none of them can be
	 * taken for part of the resend. */
	for (size_t k = 0; k < 4; k++) {
		snprintf(topic, sizeof(topic), "%s/%s", base, states[k]);
		check(watch_wait(c, topic, NULL, TIMEOUT_MS) >= 0, "state at connect: %s", topic);
	}
	after = watch_mark();
	if (!pub("homeassistant/status", "online", false))
		goto free_snapshot;
	for (size_t k = 0; k < s.n; k++) {
		long idx = watch_wait(after, s.items[k].topic, NULL, TIMEOUT_MS);

		check(idx >= 0, "resent after homeassistant/status online: %s", s.items[k].topic);
		if (idx > last_config)
			last_config = idx;
	}
	for (size_t k = 0; k < 4; k++) {
		long idx;

		snprintf(topic, sizeof(topic), "%s/%s", base, states[k]);
		idx = watch_wait(after, topic, NULL, TIMEOUT_MS);
		check(idx >= 0, "state resent: %s", topic);
		if (idx >= 0 && (first_state < 0 || idx < first_state))
			first_state = idx;
	}
	check(last_config >= 0 && first_state > last_config, "every config before every state");

	/* "offline" from Home Assistant asks for nothing: a fence (a command, whose echo is awaited)
	 * shows no config was sent in between. */
	after = watch_mark();
	snprintf(topic, sizeof(topic), "%s/relay/set", base);
	if (pub("homeassistant/status", "offline", false) && pub(topic, "OFF", false)) {
		long fence;

		snprintf(topic, sizeof(topic), "%s/relay", base);
		fence = watch_wait(after, topic, "OFF", TIMEOUT_MS);
		check(fence >= 0 && watch_wait(after, s.items[0].topic, NULL, 0) < 0,
		      "homeassistant/status offline: nothing resent");
	}
free_snapshot:
	snapshot_free(&s);
}

static void scenario_removal(void)
{
	const char *fewer =
		"inputs = ( { name = \"door\"; line = \"GPIO18\"; } );\n"
		"outputs = ( { name = \"relay\"; line = \"GPIO27\"; component = \"light\"; } );\n";
	struct snapshot before, after;
	char node[128], topic[512], path[PATH_LEN];
	size_t c = watch_mark();
	char *saved;

	if (!config_write(0, "", all_pins) || !daemon_start(0, MACHINE_A) || !expect_online(0, c))
		return;
	if (!ha_snapshot(c, 0, &before))
		return;
	check_configs(0, &before, node, sizeof(node));
	path_in(path, "state0/discovery.topics");
	saved = file_read(path);
	check(saved && strstr(saved, "/button/config"), "announced topics kept in %s", path);
	free(saved);
	child_stop(&T.daemons[0], SIGTERM);

	/* button, lamp and the weird one are gone; relay is a light now. */
	c = watch_mark();
	if (!config_write(0, "", fewer) || !daemon_start(0, MACHINE_A) || !expect_online(0, c))
		goto free_before;
	snprintf(topic, sizeof(topic), "homeassistant/switch/%s/relay/config", node);
	check(watch_wait(c, topic, "", TIMEOUT_MS) >= 0, "relay's switch config cleared");
	snprintf(topic, sizeof(topic), "homeassistant/event/%s/button/config", node);
	check(watch_wait(c, topic, "", TIMEOUT_MS) >= 0, "removed button's config cleared");
	snprintf(topic, sizeof(topic), "homeassistant/light/%s/lamp/config", node);
	check(watch_wait(c, topic, "", TIMEOUT_MS) >= 0, "removed lamp's config cleared");
	snprintf(topic, sizeof(topic), "homeassistant/light/%s/relay/config", node);
	check(watch_wait(c, topic, NULL, TIMEOUT_MS) >= 0, "relay announced as a light");
	snprintf(topic, sizeof(topic), "g2m-disc/%s/0/relay", T.scenario);
	if (!check(watch_wait(c, topic, "OFF", TIMEOUT_MS) >= 0, "states after the configs"))
		goto free_before;
	if (check(snapshot_take("homeassistant/#", &after), "read what is retained")) {
		char door[512], relay[512];

		snprintf(door, sizeof(door), "homeassistant/binary_sensor/%s/door/config", node);
		snprintf(relay, sizeof(relay), "homeassistant/light/%s/relay/config", node);
		check(after.n == 2 && snapshot_find(&after, door) && snapshot_find(&after, relay),
		      "only door and relay are retained now (%zu configs)", after.n);
		for (size_t k = 0; k < after.n; k++)
			diag("retained: %s", after.items[k].topic);
		snapshot_free(&after);
	}
	saved = file_read(path);
	check(saved && !strstr(saved, "/button/config") && strstr(saved, "/relay/config"),
	      "the announced list follows the configuration");
	free(saved);
free_before:
	snapshot_free(&before);
}

static void scenario_machine_ids(void)
{
	struct snapshot s;
	char node0[128] = "", node1[128] = "";
	size_t c = watch_mark();

	if (!config_write(0, "", all_pins) || !config_write(1, "", all_pins) ||
	    !daemon_start(0, MACHINE_A) || !daemon_start(1, MACHINE_B) || !expect_online(0, c) ||
	    !expect_online(1, c))
		return;
	{
		char topic[256];

		base_of(1, topic, sizeof(topic));
		strcat(topic, "/relay");
		if (!check(watch_wait(c, topic, "OFF", TIMEOUT_MS) >= 0, "daemon 1 states"))
			return;
	}
	if (!ha_snapshot(c, 0, &s))
		return;
	check(s.n == 2 * N_CONFIGS, "both daemons' configs retained (%zu)", s.n);
	/* Split the snapshot by base topic. */
	{
		struct snapshot *part = calloc(2, sizeof(*part));

		for (size_t k = 0; k < s.n; k++) {
			cJSON *o = cJSON_Parse(s.items[k].payload);
			const char *st = jstr(o, "state_topic");
			int which = st && strstr(st, "/1/") ? 1 : 0;
			struct msg *m = &part[which].items[part[which].n++];

			m->topic = strdup(s.items[k].topic);
			m->payload = strdup(s.items[k].payload);
			cJSON_Delete(o);
		}
		check_configs(0, &part[0], node0, sizeof(node0));
		check_configs(1, &part[1], node1, sizeof(node1));
		check(node0[0] && node1[0] && strcmp(node0, node1) != 0,
		      "different machine ids: different device ids (%s, %s)", node0, node1);
		for (size_t k = 0; k < part[0].n; k++) {
			cJSON *a = cJSON_Parse(part[0].items[k].payload);

			for (size_t m = 0; m < part[1].n; m++) {
				cJSON *b = cJSON_Parse(part[1].items[m].payload);

				if (streq(jstr(a, "unique_id"), jstr(b, "unique_id")))
					check(false, "unique id %s used by both", jstr(a, "unique_id"));
				cJSON_Delete(b);
			}
			cJSON_Delete(a);
		}
		check(true, "no unique id shared by the two daemons");
		snapshot_free(&part[0]);
		snapshot_free(&part[1]);
		free(part);
	}
	snapshot_free(&s);
}

/* Checks the whole Homie tree under homie/DEV against the convention's required attributes. */
static void check_homie_tree(const struct snapshot *s, const char *dev)
{
	char topic[512], nodes[1024];
	const struct msg *m;

	snprintf(topic, sizeof(topic), "homie/%s/$homie", dev);
	m = snapshot_find(s, topic);
	check(m && strcmp(m->payload, "4.0.0") == 0, "$homie 4.0.0");
	snprintf(topic, sizeof(topic), "homie/%s/$name", dev);
	check(snapshot_find(s, topic) != NULL, "$name");
	snprintf(topic, sizeof(topic), "homie/%s/$state", dev);
	m = snapshot_find(s, topic);
	check(m && strcmp(m->payload, "ready") == 0, "$state ready retained");
	snprintf(topic, sizeof(topic), "homie/%s/$nodes", dev);
	m = snapshot_find(s, topic);
	if (!check(m && m->payload[0], "$nodes"))
		return;
	snprintf(nodes, sizeof(nodes), "%s", m->payload);
	check(strspn(dev, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(dev),
	      "device id is a Homie id");
	for (char *save = NULL, *node = strtok_r(nodes, ",", &save); node;
	     node = strtok_r(NULL, ",", &save)) {
		char props[256];

		check(strspn(node, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(node) &&
			      node[0] != '-',
		      "node id %s is a Homie id", node);
		snprintf(topic, sizeof(topic), "homie/%s/%s/$name", dev, node);
		check(snapshot_find(s, topic) != NULL, "%s", topic);
		snprintf(topic, sizeof(topic), "homie/%s/%s/$type", dev, node);
		check(snapshot_find(s, topic) != NULL, "%s", topic);
		snprintf(topic, sizeof(topic), "homie/%s/%s/$properties", dev, node);
		m = snapshot_find(s, topic);
		if (!check(m != NULL, "%s", topic))
			continue;
		snprintf(props, sizeof(props), "%s", m->payload);
		for (char *save2 = NULL, *prop = strtok_r(props, ",", &save2); prop;
		     prop = strtok_r(NULL, ",", &save2)) {
			const struct msg *dt, *settable, *retained, *format, *value;

			snprintf(topic, sizeof(topic), "homie/%s/%s/%s/$name", dev, node, prop);
			check(snapshot_find(s, topic) != NULL, "%s", topic);
			snprintf(topic, sizeof(topic), "homie/%s/%s/%s/$datatype", dev, node, prop);
			dt = snapshot_find(s, topic);
			check(dt != NULL, "%s", topic);
			snprintf(topic, sizeof(topic), "homie/%s/%s/%s/$settable", dev, node, prop);
			settable = snapshot_find(s, topic);
			snprintf(topic, sizeof(topic), "homie/%s/%s/%s/$retained", dev, node, prop);
			retained = snapshot_find(s, topic);
			snprintf(topic, sizeof(topic), "homie/%s/%s/%s/$format", dev, node, prop);
			format = snapshot_find(s, topic);
			snprintf(topic, sizeof(topic), "homie/%s/%s/%s", dev, node, prop);
			value = snapshot_find(s, topic);
			if (dt && strcmp(dt->payload, "boolean") == 0) {
				check(value && (strcmp(value->payload, "true") == 0 ||
						strcmp(value->payload, "false") == 0),
				      "%s: a retained boolean value", topic);
				check(!retained || strcmp(retained->payload, "true") == 0,
				      "%s: retained", topic);
			} else if (dt && strcmp(dt->payload, "enum") == 0) {
				check(format && format->payload[0], "%s: enum with $format", topic);
				check(retained && strcmp(retained->payload, "false") == 0 && !value,
				      "%s: events not retained", topic);
				check(!settable || strcmp(settable->payload, "false") == 0,
				      "%s: events not settable", topic);
			} else {
				check(false, "%s: datatype boolean or enum", topic);
			}
		}
	}
}

static void scenario_homie(void)
{
	struct snapshot s;
	char dev[64] = "", topic[512], base[128];
	size_t c = watch_mark();
	long init, ready, nodes_idx;

	if (!config_write(0, "homie = true;", all_pins) || !daemon_start(0, MACHINE_A) ||
	    !expect_online(0, c))
		return;
	/* The device id from the first $homie message. */
	for (int64_t deadline = now_ms() + TIMEOUT_MS; !dev[0] && now_ms() < deadline;) {
		pthread_mutex_lock(&W.lock);
		for (size_t i = c; i < W.n && !dev[0]; i++)
			sscanf(W.msgs[i].topic, "homie/%63[^/]/$homie", dev);
		pthread_mutex_unlock(&W.lock);
		if (!dev[0])
			pause_ms(10);
	}
	if (!check(dev[0] && strncmp(dev, "gpio2mqtt-", 10) == 0, "homie/%s/$homie", dev))
		return;
	snprintf(topic, sizeof(topic), "homie/%s/$state", dev);
	init = watch_wait(c, topic, "init", TIMEOUT_MS);
	ready = watch_wait(c, topic, "ready", TIMEOUT_MS);
	check(init >= 0 && ready > init, "$state init, then ready");
	snprintf(topic, sizeof(topic), "homie/%s/$nodes", dev);
	nodes_idx = watch_wait(c, topic, NULL, TIMEOUT_MS);
	check(nodes_idx > init && nodes_idx < ready, "attributes between init and ready");
	snprintf(topic, sizeof(topic), "homie/%s/relay/state", dev);
	{
		long v = watch_wait(c, topic, "false", TIMEOUT_MS);

		check(v > init && v < ready, "values before ready");
	}
	if (!check(snapshot_take("homie/#", &s), "read what is retained under homie/#"))
		return;
	check_homie_tree(&s, dev);
	snapshot_free(&s);

	/* Home Assistant follows $state too: the connection's Last Will is $state = lost. */
	if (snapshot_take("homeassistant/#", &s)) {
		cJSON *o = s.n ? cJSON_Parse(s.items[0].payload) : NULL;
		const cJSON *av = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "availability"), 1);

		snprintf(topic, sizeof(topic), "homie/%s/$state", dev);
		check(streq(jstr(av, "topic"), topic), "Home Assistant availability includes $state");
		cJSON_Delete(o);
		snapshot_free(&s);
	}

	/* A Homie set command drives the output; the value and the plain state follow. */
	base_of(0, base, sizeof(base));
	c = watch_mark();
	snprintf(topic, sizeof(topic), "homie/%s/relay/state/set", dev);
	if (pub(topic, "true", false)) {
		expect_output(0, "relay", 1, "Homie set true");
		snprintf(topic, sizeof(topic), "homie/%s/relay/state", dev);
		expect_msg(c, topic, "true", "Homie value");
		snprintf(topic, sizeof(topic), "%s/relay", base);
		expect_msg(c, topic, "ON", "plain state");
	}
	/* An input is not settable: nothing happens, which the command after it (a fence: the
	 * daemon handles messages in order) shows. */
	c = watch_mark();
	snprintf(topic, sizeof(topic), "homie/%s/door/state/set", dev);
	pub(topic, "true", false);
	snprintf(topic, sizeof(topic), "homie/%s/relay/state/set", dev);
	if (pub(topic, "false", false)) {
		expect_output(0, "relay", 0, "Homie set false");
		snprintf(topic, sizeof(topic), "homie/%s/relay/state", dev);
		expect_msg(c, topic, "false", "Homie value");
		snprintf(topic, sizeof(topic), "homie/%s/door/state", dev);
		check(watch_wait(c, topic, NULL, 0) < 0, "a set on an input's property changes nothing");
	}

	/* Clean stop: disconnected. */
	c = watch_mark();
	child_stop(&T.daemons[0], SIGTERM);
	snprintf(topic, sizeof(topic), "homie/%s/$state", dev);
	expect_msg(c, topic, "disconnected", "SIGTERM");

	/* Killed: the Last Will says lost. */
	c = watch_mark();
	if (!daemon_start(0, MACHINE_A))
		return;
	if (!expect_msg(c, topic, "ready", "restart"))
		return;
	c = watch_mark();
	child_stop(&T.daemons[0], SIGKILL);
	expect_msg(c, topic, "lost", "SIGKILL: the Last Will");
}

static const struct {
	const char *name;
	void (*fn)(void);
} scenarios[] = {
	{ "ha-configs", scenario_ha_configs },
	{ "ha-birth", scenario_ha_birth },
	{ "ha-removal", scenario_removal },
	{ "ha-machine-ids", scenario_machine_ids },
	{ "homie", scenario_homie },
};

int main(int argc, char **argv)
{
	void (*fn)(void) = NULL;
	pthread_t thread;

	if (argc != 4) {
		fprintf(stderr, "usage: %s SCENARIO DAEMON MOSQUITTO\n", argv[0]);
		return 2;
	}
	T.scenario = argv[1];
	T.daemon_path = argv[2];
	T.mosquitto_path = argv[3];
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (strcmp(scenarios[i].name, T.scenario) == 0)
			fn = scenarios[i].fn;
	if (!fn) {
		fprintf(stderr, "unknown scenario '%s'\n", T.scenario);
		return 2;
	}
	if (access(T.mosquitto_path, X_OK) < 0) {
		printf("1..0 # SKIP %s not found\n", T.mosquitto_path);
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&fatal_signals);
	sigaddset(&fatal_signals, SIGTERM);
	sigaddset(&fatal_signals, SIGINT);
	sigaddset(&fatal_signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &fatal_signals, NULL);
	pthread_create(&thread, NULL, signal_thread, NULL);
	pthread_detach(thread);
	mosquitto_lib_init();

	snprintf(T.tmp, sizeof(T.tmp), "%s/g2m-disc-%s-XXXXXX",
		 getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", T.scenario);
	printf("# scenario %s\n", T.scenario);
	if (check(mkdtemp(T.tmp) != NULL, "temporary directory") &&
	    check(broker_start(), "mosquitto on 127.0.0.1") &&
	    check(watch_start(), "watcher subscribed to #"))
		fn();

	if (tap_failed) {
		for (int i = 0; i < 2; i++)
			if (T.err[i][0])
				dump("daemon log", T.err[i]);
	}
	for (int i = 0; i < 2; i++)
		child_stop(&T.daemons[i], SIGKILL);
	watch_stop();
	child_stop(&T.broker, SIGKILL);
	mosquitto_lib_cleanup();
	if (T.tmp[0] && !getenv("GPIO2MQTT_TEST_KEEP"))
		nftw(T.tmp, rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
	printf("1..%u\n", tap_count);
	return tap_failed ? 1 : 0;
}
