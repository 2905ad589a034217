/* SPDX-License-Identifier: MIT */
#include "mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mqtt_presence.h"
#include "outbox.h"
#include "util.h"

/* At most this many MESSAGE events wait for the main loop: a flood of commands must not grow
 * memory without bound while it is busy. When full, a new message supersedes the oldest one
 * waiting on the same topic (a newer command for the same pin), else the oldest message of all:
 * the newest command always gets through. The dropped ones are counted. */
#define MQTT_QUEUE_MESSAGES_MAX 1024
/* Incoming payloads above this are refused before they are copied: a command, a Homie set or
 * Home Assistant's birth is a few bytes to a few hundred (a JSON command), and with the queue's
 * 1024 messages this bounds what waiting commands can take. Under MQTT v5 the broker is told
 * (CONNECT's Maximum Packet Size, MQTT_PACKET_MAX: the payload with room for long topics and
 * properties) and does not send larger packets at all; under v3.1.1 libmosquitto still reads
 * the whole packet and copies its payload once before on_message can refuse it. */
#define MQTT_PAYLOAD_MAX 4096
#define MQTT_PACKET_MAX 16384
/* How long mqtt_free() waits for the network thread, which may sit in a DNS lookup. */
#define MQTT_JOIN_TIMEOUT_MS 3000
/* Where OpenSSL keeps the system's certificates on Debian, for a client certificate without
 * ca_file/ca_path (libmosquitto needs a CA location with a client certificate). */
#define MQTT_SYSTEM_CA_PATH "/etc/ssl/certs"

struct mqtt_node {
	struct mqtt_node *next;
	struct mqtt_event event;
};

struct mqtt {
	const struct config_mqtt *cfg; /* first: the TLS key password callback reads it */
	struct mosquitto *mosq;
	/* The presence connection (mqtt_presence_add()), or NULL. Network thread only. */
	struct mqtt_presence *presence;
	char *presence_topic, *presence_online;
	bool presence_fallback; /* "online" went out on this connection instead */
	int event_fd;

	pthread_mutex_t queue_lock;
	struct mqtt_node *head, *tail;
	size_t queued_messages;
	unsigned long long dropped;

	pthread_mutex_t wait_lock; /* with wake: the thread's backoff sleep */
	pthread_cond_t wake;
	atomic_bool stopping;
	atomic_bool connected;

	pthread_t thread;
	bool thread_started;

	/* The watchdog (mqtt_watchdog_set()): the network thread stores CLOCK_MONOTONIC ms here on
	 * every turn of its loop, and its waits are bounded by watchdog_wait_ms (0: unbounded). */
	atomic_ullong heartbeat_ms;
	long watchdog_wait_ms;
	unsigned int test_stall_s; /* GPIO2MQTT_TEST_STALL_NETWORK (a test hook) */

	/* info_lock: what mqtt_status() shows, and the TLS error the log callback catches. */
	pthread_mutex_t info_lock;
	char broker_name[300];
	char status_failure[512]; /* why the last attempt failed; empty when connected */
	char lib_error[200];      /* the first libmosquitto/OpenSSL error of this attempt */
	bool lib_error_tls;       /* ... and it came from OpenSSL */

	/* track_lock: QoS >= 1 publishes in flight and what the broker refused. Held by
	 * mqtt_publish() around mosquitto_publish_v5(), so an acknowledgement cannot be handled
	 * before its MID is recorded. */
	pthread_mutex_t track_lock;
	struct outbox out; /* in flight and refused (track_lock); the offline FIFO (main thread) */
	bool want_room;    /* the main thread waits for MQTT_EVENT_WINDOW (track_lock) */
	int watch_mid;     /* the MID the main thread waits for, 0: none (track_lock) */
	unsigned long long made; /* publishes handed to libmosquitto (track_lock) */
	atomic_ullong wakeups;   /* eventfd signals to the main loop */
	unsigned long long oversize; /* incoming messages refused for their size (network thread) */
	unsigned long long refused;
	unsigned long long acknowledged;
	unsigned long long failed;
	atomic_ullong connections;

	/* Main thread only: the offline FIFO's losses. */
	unsigned long long held_dropped;     /* since the last flush */
	unsigned long long held_dropped_all; /* since start */

	/* Network thread only. */
	size_t broker;
	int connack_code;   /* last CONNACK refusal, 0 when none */
	char connack_reason[128]; /* the broker's reason string with it (v5), may be empty */
	int disconnect_code; /* reason code of a DISCONNECT from the broker (v5), 0 when none */
	char last_failure[1024]; /* "host:port: reason" of the last failure logged */
	unsigned int seed;
};

/* Makes room for a message on TOPIC in a full queue: takes out the oldest message waiting on
 * TOPIC, or else the oldest message. queue_lock held. */
static void mqtt_queue_drop_superseded(struct mqtt *mqtt, const char *topic)
{
	struct mqtt_node *prev = NULL, *victim = NULL, *victim_prev = NULL;

	for (struct mqtt_node *n = mqtt->head; n; prev = n, n = n->next) {
		if (n->event.type != MQTT_EVENT_MESSAGE)
			continue;
		if (!victim) {
			victim = n;
			victim_prev = prev;
		}
		if (strcmp(n->event.topic, topic) == 0) {
			victim = n;
			victim_prev = prev;
			break;
		}
	}
	if (!victim)
		return;
	if (victim_prev)
		victim_prev->next = victim->next;
	else
		mqtt->head = victim->next;
	if (mqtt->tail == victim)
		mqtt->tail = victim_prev;
	mqtt->queued_messages--;
	mqtt->dropped++;
	mqtt_event_release(&victim->event);
	free(victim);
}

static void mqtt_queue_push(struct mqtt *mqtt, struct mqtt_node *node)
{
	uint64_t one = 1;

	pthread_mutex_lock(&mqtt->queue_lock);
	if (node->event.type == MQTT_EVENT_MESSAGE) {
		if (mqtt->queued_messages >= MQTT_QUEUE_MESSAGES_MAX)
			mqtt_queue_drop_superseded(mqtt, node->event.topic);
		mqtt->queued_messages++;
	}
	node->next = NULL;
	if (mqtt->tail)
		mqtt->tail->next = node;
	else
		mqtt->head = node;
	mqtt->tail = node;
	pthread_mutex_unlock(&mqtt->queue_lock);
	atomic_fetch_add(&mqtt->wakeups, 1);
	(void)!write(mqtt->event_fd, &one, sizeof(one));
}

static struct mqtt_node *mqtt_node_new(enum mqtt_event_type type)
{
	struct mqtt_node *node = calloc(1, sizeof(*node));

	if (node)
		node->event.type = type;
	return node;
}

static bool mqtt_is_v5(const struct mqtt *mqtt)
{
	return mqtt->cfg->protocol == CONFIG_PROTOCOL_V5;
}

/* Callbacks run in the network thread, inside mosquitto_loop() (the log callback also in the
 * main thread, inside mosquitto_publish()): they only record and queue. */

static void mqtt_on_connect(struct mosquitto *mosq, void *userdata, int rc, int flags,
			    const mosquitto_property *props)
{
	struct mqtt *mqtt = userdata;
	struct mqtt_node *node;
	char *reason = NULL;

	(void)mosq;
	(void)flags;
	if (rc != 0) {
		mqtt->connack_code = rc;
		mqtt->connack_reason[0] = '\0';
		if (mosquitto_property_read_string(props, MQTT_PROP_REASON_STRING, &reason, false)) {
			snprintf(mqtt->connack_reason, sizeof(mqtt->connack_reason), "%s", reason);
			free(reason);
		}
		return;
	}
	mqtt->connack_code = 0;
	atomic_fetch_add(&mqtt->connections, 1);
	atomic_store(&mqtt->connected, true);
	node = mqtt_node_new(MQTT_EVENT_CONNECTED);
	if (!node)
		return;
	pthread_mutex_lock(&mqtt->info_lock);
	snprintf(node->event.broker, sizeof(node->event.broker), "%s", mqtt->broker_name);
	mqtt->status_failure[0] = '\0';
	pthread_mutex_unlock(&mqtt->info_lock);
	mqtt_queue_push(mqtt, node);
}

/* Queues DISCONNECTED (WAS_CONNECTED) or CONNECT_FAILED with REASON. */
static void mqtt_queue_down(struct mqtt *mqtt, bool was_connected, const char *reason)
{
	struct mqtt_node *node;

	node = mqtt_node_new(was_connected ? MQTT_EVENT_DISCONNECTED : MQTT_EVENT_CONNECT_FAILED);
	if (!node)
		return;
	pthread_mutex_lock(&mqtt->info_lock);
	snprintf(node->event.broker, sizeof(node->event.broker), "%s", mqtt->broker_name);
	snprintf(mqtt->status_failure, sizeof(mqtt->status_failure), "%s", reason);
	pthread_mutex_unlock(&mqtt->info_lock);
	snprintf(node->event.reason, sizeof(node->event.reason), "%s", reason);
	mqtt_queue_push(mqtt, node);
}

static void mqtt_on_disconnect(struct mosquitto *mosq, void *userdata, int rc,
			       const mosquitto_property *props)
{
	struct mqtt *mqtt = userdata;

	(void)mosq;
	(void)props;
	/* rc is a libmosquitto error, or the reason code of the broker's DISCONNECT (v5), which is
	 * >= 0x80 for everything but a normal disconnection. */
	if (mqtt_is_v5(mqtt) && rc >= 0x80)
		mqtt->disconnect_code = rc;
	/* Clear the flag now, so the main thread stops publishing into a dead connection; the
	 * event with the reason follows when the network thread has seen the loop end. */
	atomic_store(&mqtt->connected, false);
}

static void mqtt_on_message(struct mosquitto *mosq, void *userdata,
			    const struct mosquitto_message *msg)
{
	struct mqtt *mqtt = userdata;
	struct mqtt_node *node;
	size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;

	(void)mosq;
	if (len > MQTT_PAYLOAD_MAX) {
		/* Logged once; more are only counted (a flood must not fill the journal). */
		if (mqtt->oversize++ == 0)
			log_warning("mqtt: refused a message of %zu bytes on %s (more than %d bytes); "
				    "further ones are only logged at debug level",
				    len, msg->topic, MQTT_PAYLOAD_MAX);
		else
			log_debug("mqtt: refused a message of %zu bytes on %s (%llu so far)", len,
				  msg->topic, mqtt->oversize);
		return;
	}
	node = mqtt_node_new(MQTT_EVENT_MESSAGE);
	if (!node)
		return;
	node->event.topic = strdup(msg->topic);
	node->event.payload = malloc(len + 1);
	if (!node->event.topic || !node->event.payload) {
		mqtt_event_release(&node->event);
		free(node);
		return;
	}
	if (len)
		memcpy(node->event.payload, msg->payload, len);
	node->event.payload[len] = '\0';
	node->event.payload_len = len;
	node->event.retain = msg->retain;
	mqtt_queue_push(mqtt, node);
}

static void mqtt_on_publish(struct mosquitto *mosq, void *userdata, int mid, int reason_code,
			    const mosquitto_property *props)
{
	struct mqtt *mqtt = userdata;
	struct mqtt_node *node;
	char *topic, *reason = NULL;
	unsigned long long refused;
	bool first = false, tracked, room, watched;

	(void)mosq;
	pthread_mutex_lock(&mqtt->track_lock);
	topic = outbox_topic_take(&mqtt->out, mid);
	tracked = outbox_mid_take(&mqtt->out, mid); /* QoS 0 publishes are not tracked */
	outbox_q0_take(&mqtt->out, mid);
	room = mqtt->want_room && outbox_unsettled(&mqtt->out) <= MQTT_WINDOW / 2;
	if (room)
		mqtt->want_room = false;
	watched = mid == mqtt->watch_mid;
	if (watched)
		mqtt->watch_mid = 0;
	if (reason_code >= 0x80) {
		refused = ++mqtt->refused;
		first = outbox_refused_first(&mqtt->out, topic ? topic : "(unknown topic)");
	} else if (tracked) {
		mqtt->acknowledged++;
	}
	pthread_mutex_unlock(&mqtt->track_lock);

	if (reason_code >= 0x80) {
		/* The decision is the broker's; it is logged once per topic, and nothing is
		 * retried: the next state change publishes again. */
		mosquitto_property_read_string(props, MQTT_PROP_REASON_STRING, &reason, false);
		if (first)
			log_warning("mqtt: the broker refused the publish to %s: %s (reason code "
				    "0x%02x%s%s); further refusals of this topic are only counted "
				    "(%llu so far)",
				    topic ? topic : "(unknown topic)",
				    mosquitto_reason_string(reason_code), (unsigned int)reason_code,
				    reason ? ", the broker says: " : "", reason ? reason : "", refused);
		else
			log_debug("mqtt: the broker refused the publish to %s: %s (%llu refusals "
				  "so far)",
				  topic ? topic : "(unknown topic)",
				  mosquitto_reason_string(reason_code), refused);
		free(reason);
	}
	free(topic);

	/* The main loop waits for room: one wake-up for half a window. */
	if (room && (node = mqtt_node_new(MQTT_EVENT_WINDOW)))
		mqtt_queue_push(mqtt, node);
	/* Acknowledgements are counted here; the main loop hears only of what it waits for. */
	if (!watched && reason_code < 0x80)
		return;
	node = mqtt_node_new(MQTT_EVENT_PUBLISHED);
	if (!node)
		return;
	node->event.mid = mid;
	node->event.reason_code = reason_code;
	mqtt_queue_push(mqtt, node);
}

/* libmosquitto's own log: only errors are kept, for the reason of a failed attempt (TLS problems
 * arrive only this way, e.g. "OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify
 * failed"). */
static void mqtt_on_log(struct mosquitto *mosq, void *userdata, int level, const char *str)
{
	struct mqtt *mqtt = userdata;
	const char *text = str;

	(void)mosq;
	if (level != MOSQ_LOG_ERR || !str)
		return;
	bool tls = strncmp(text, "OpenSSL Error", 13) == 0 && strstr(text, ": ");

	if (tls)
		text = strstr(text, ": ") + 2;
	else if (strncmp(text, "Error: ", 7) == 0)
		text += 7;
	pthread_mutex_lock(&mqtt->info_lock);
	if (!mqtt->lib_error[0]) {
		snprintf(mqtt->lib_error, sizeof(mqtt->lib_error), "%s", text);
		mqtt->lib_error_tls = tls;
	}
	pthread_mutex_unlock(&mqtt->info_lock);
	log_debug("mqtt: libmosquitto: %s", str);
}

/* OpenSSL asks for the client key's password. USERDATA is the mosquitto object, whose own
 * userdata (struct mqtt, or the presence connection's) begins with the configuration. */
static int mqtt_on_key_password(char *buf, int size, int rwflag, void *userdata)
{
	const struct config_mqtt *const *cfg = mosquitto_userdata(userdata);
	const char *password = cfg ? (*cfg)->tls.key_password : NULL;
	size_t len;

	(void)rwflag;
	if (!password || size <= 0)
		return 0;
	len = strlen(password);
	if (len >= (size_t)size)
		len = (size_t)size - 1;
	memcpy(buf, password, len);
	buf[len] = '\0';
	return (int)len;
}

static int mqtt_errno(int rc)
{
	switch (rc) {
	case MOSQ_ERR_SUCCESS:
		return 0;
	case MOSQ_ERR_NOMEM:
		return -ENOMEM;
	case MOSQ_ERR_NO_CONN:
	case MOSQ_ERR_CONN_LOST:
		return -ENOTCONN;
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_MALFORMED_UTF8:
		return -EINVAL;
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_OVERSIZE_PACKET:
		return -EMSGSIZE;
	case MOSQ_ERR_ERRNO:
		return errno ? -errno : -EIO;
	default:
		return -EIO;
	}
}


/* TLS settings, applied once before the first connect (libmosquitto keeps them for every
 * connection it makes). */
static int mqtt_tls_setup(struct mosquitto *mosq, const struct config_mqtt *cfg)
{
	const struct config_tls *tls = &cfg->tls;
	const char *ca_path = tls->ca_path;
	bool system_ca = !tls->ca_file && !tls->ca_path;
	int r;

	if (!tls->enabled)
		return 0;
	if (system_ca) {
		r = mqtt_errno(mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1));
		if (r < 0)
			return r;
	}
	if (!system_ca || tls->cert_file) {
		if (system_ca)
			ca_path = MQTT_SYSTEM_CA_PATH;
		r = mqtt_errno(mosquitto_tls_set(mosq, tls->ca_file, ca_path, tls->cert_file,
						 tls->key_file,
						 tls->key_password ? mqtt_on_key_password : NULL));
		if (r < 0)
			return r;
	}
	/* cert_reqs 1 is SSL_VERIFY_PEER; libmosquitto's tls_version is the minimum version. */
	r = mqtt_errno(mosquitto_tls_opts_set(mosq, tls->insecure_skip_verify ? 0 : 1,
					      tls->min_version == CONFIG_TLS_V1_3 ? "tlsv1.3" :
										    "tlsv1.2",
					      NULL));
	if (r < 0)
		return r;
	return mqtt_errno(mosquitto_tls_insecure_set(mosq, tls->insecure_skip_verify));
}

/* What every connection of ours has: protocol version, credentials, TLS. */
static int mqtt_client_setup(struct mosquitto *mosq, const struct config_mqtt *cfg)
{
	int r;

	mosquitto_threaded_set(mosq, true);
	r = mqtt_errno(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION,
					    cfg->protocol == CONFIG_PROTOCOL_V5 ?
						    MQTT_PROTOCOL_V5 :
						    MQTT_PROTOCOL_V311));
	if (r == 0 && cfg->username)
		r = mqtt_errno(mosquitto_username_pw_set(mosq, cfg->username, cfg->password));
	return r < 0 ? r : mqtt_tls_setup(mosq, cfg);
}

/* MQTT v5: CONNECT carries Maximum Packet Size MQTT_PACKET_MAX, so the broker drops larger
 * messages instead of sending them. libmosquitto 2.0 takes CONNECT properties only through
 * mosquitto_connect_bind_v5(), which connects blocking (a host that drops SYNs would hold the
 * network thread for minutes, past the watchdog). It stores the properties before it looks at
 * the host, and every later connect sends them (2.0.11 to 2.0.22 alike): called without a host
 * it stores them and fails with MOSQ_ERR_INVAL, touching no socket; mosquitto_connect_async()
 * then sends them. The integration test storm-oversize-v5 checks that a broker obeys. */
static int mqtt_packet_limit_set(struct mqtt *mqtt)
{
	mosquitto_property *props = NULL;
	int rc;

	rc = mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE, MQTT_PACKET_MAX);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_connect_bind_v5(mqtt->mosq, NULL, 0, 0, NULL, props);
	mosquitto_property_free_all(&props);
	if (rc == MOSQ_ERR_INVAL)
		return 0;
	return rc == MOSQ_ERR_SUCCESS ? -EINVAL : mqtt_errno(rc);
}

int mqtt_new(struct mqtt **out, const struct config_mqtt *cfg, const char *will_topic,
	     const char *will_payload)
{
	const char *what = "the client";
	pthread_condattr_t wake_attr;
	struct mqtt *mqtt;
	int r;

	mqtt = calloc(1, sizeof(*mqtt));
	if (!mqtt) {
		log_error("mqtt: cannot set up %s: %s", what, strerror(ENOMEM));
		return -ENOMEM;
	}
	mqtt->cfg = cfg;
	mqtt->seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	pthread_mutex_init(&mqtt->queue_lock, NULL);
	pthread_mutex_init(&mqtt->wait_lock, NULL);
	pthread_mutex_init(&mqtt->info_lock, NULL);
	pthread_mutex_init(&mqtt->track_lock, NULL);
	/* The backoff sleep waits for a CLOCK_MONOTONIC deadline: the condition must use it. */
	pthread_condattr_init(&wake_attr);
	pthread_condattr_setclock(&wake_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&mqtt->wake, &wake_attr);
	pthread_condattr_destroy(&wake_attr);
	snprintf(mqtt->broker_name, sizeof(mqtt->broker_name), "%s:%d", cfg->brokers[0].host,
		 cfg->brokers[0].port);
	snprintf(mqtt->status_failure, sizeof(mqtt->status_failure), "connecting");

	mqtt->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mqtt->event_fd < 0) {
		r = -errno;
		goto free_mqtt;
	}

	mosquitto_lib_init();
	/* A clean session: commands sent while we were away are stale and must not be acted on. */
	mqtt->mosq = mosquitto_new(cfg->client_id, true, mqtt);
	if (!mqtt->mosq) {
		r = errno ? -errno : -ENOMEM;
		goto cleanup_lib;
	}
	r = mqtt_errno(mosquitto_will_set(mqtt->mosq, will_topic, (int)strlen(will_payload),
					  will_payload, 1, true));
	if (r < 0)
		goto destroy_mosq;
	what = "TLS";
	r = mqtt_client_setup(mqtt->mosq, cfg);
	if (r < 0)
		goto destroy_mosq;
	/* libmosquitto's own in-flight limit (its default is 20 too): what it holds back beyond it
	 * stays in its memory, so it must not be above ours. */
	what = "the client";
	r = mqtt_errno(mosquitto_int_option(mqtt->mosq, MOSQ_OPT_SEND_MAXIMUM, MQTT_WINDOW));
	if (r == 0 && mqtt_is_v5(mqtt))
		r = mqtt_packet_limit_set(mqtt);
	if (r < 0)
		goto destroy_mosq;
	/* The v5 callbacks are called under v3.1.1 too, with reason codes 0. */
	mosquitto_connect_v5_callback_set(mqtt->mosq, mqtt_on_connect);
	mosquitto_disconnect_v5_callback_set(mqtt->mosq, mqtt_on_disconnect);
	mosquitto_message_callback_set(mqtt->mosq, mqtt_on_message);
	mosquitto_publish_v5_callback_set(mqtt->mosq, mqtt_on_publish);
	mosquitto_log_callback_set(mqtt->mosq, mqtt_on_log);

	*out = mqtt;
	return 0;

destroy_mosq:
	mosquitto_destroy(mqtt->mosq);
cleanup_lib:
	mosquitto_lib_cleanup();
	close(mqtt->event_fd);
free_mqtt:
	pthread_cond_destroy(&mqtt->wake);
	pthread_mutex_destroy(&mqtt->track_lock);
	pthread_mutex_destroy(&mqtt->info_lock);
	pthread_mutex_destroy(&mqtt->wait_lock);
	pthread_mutex_destroy(&mqtt->queue_lock);
	free(mqtt);
	log_error("mqtt: cannot set up %s: %s", what, strerror(-r));
	return r;
}

int mqtt_presence_add(struct mqtt *mqtt, const char *topic, const char *online,
		      const char *offline)
{
	int r;

	if (mqtt->thread_started || mqtt->presence)
		return -EALREADY;
	mqtt->presence_topic = strdup(topic);
	mqtt->presence_online = strdup(online);
	if (!mqtt->presence_topic || !mqtt->presence_online)
		r = -ENOMEM;
	else
		r = presence_new(&mqtt->presence, mqtt->cfg, topic, online, offline,
				 mqtt_client_setup);
	if (r < 0)
		log_error("mqtt: cannot set up the status connection: %s", strerror(-r));
	return r;
}

/* The presence connection's turn, after one of the main connection's loop: when an attempt
 * fails, "online" goes out once on the main connection instead (without a will behind it, as
 * the warning says), so that consumers do not take a running Pi for a dead one. */
static void mqtt_presence_turn(struct mqtt *mqtt, const struct config_broker *broker)
{
	if (presence_serve(mqtt->presence, broker) != PRESENCE_OUTCOME_FAILED ||
	    mqtt->presence_fallback)
		return;
	mqtt->presence_fallback = true;
	mqtt_publish(mqtt, mqtt->presence_topic, mqtt->presence_online,
		     strlen(mqtt->presence_online), 1, true, NULL);
}

static void mqtt_heartbeat(struct mqtt *mqtt)
{
	atomic_store(&mqtt->heartbeat_ms, util_now_ms());
}

/* Sleeps DELAY_MS unless mqtt_free() wakes us; returns false when stopping. With the watchdog
 * on, the sleep is cut into turns of at most watchdog_wait_ms, each one a heartbeat. */
static bool mqtt_thread_sleep(struct mqtt *mqtt, long delay_ms)
{
	struct timespec until;

	while (mqtt->watchdog_wait_ms && delay_ms > mqtt->watchdog_wait_ms) {
		if (!mqtt_thread_sleep(mqtt, mqtt->watchdog_wait_ms))
			return false;
		delay_ms -= mqtt->watchdog_wait_ms;
		mqtt_heartbeat(mqtt);
	}

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += delay_ms / 1000;
	until.tv_nsec += (delay_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mqtt->wait_lock);
	while (!atomic_load(&mqtt->stopping)) {
		if (pthread_cond_timedwait(&mqtt->wake, &mqtt->wait_lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&mqtt->wait_lock);
	return !atomic_load(&mqtt->stopping);
}

/* What to check for a CONNACK refusal. */
static const char *mqtt_connack_hint(const struct mqtt *mqtt, int code)
{
	if (mqtt_is_v5(mqtt)) {
		switch (code) {
		case MQTT_RC_BAD_USERNAME_OR_PASSWORD:
			return " (check username and the password)";
		case MQTT_RC_NOT_AUTHORIZED:
			return " (check username, the password and the broker's ACL)";
		case MQTT_RC_CLIENTID_NOT_VALID:
			return " (check client_id)";
		case MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION:
			return " (the broker may only speak MQTT 3.1.1: set protocol = \"v3.1.1\")";
		default:
			return "";
		}
	}
	switch (code) {
	case CONNACK_REFUSED_BAD_USERNAME_PASSWORD:
		return " (check username and the password)";
	case CONNACK_REFUSED_NOT_AUTHORIZED:
		return " (check username, the password and the broker's ACL)";
	case CONNACK_REFUSED_IDENTIFIER_REJECTED:
		return " (check client_id)";
	default:
		return "";
	}
}

static void mqtt_thread_describe(struct mqtt *mqtt, bool was_connected, int rc, int saved_errno,
				 char *buf, size_t size)
{
	char lib_error[sizeof(mqtt->lib_error)];
	bool tls;

	pthread_mutex_lock(&mqtt->info_lock);
	snprintf(lib_error, sizeof(lib_error), "%s", mqtt->lib_error);
	tls = mqtt->lib_error_tls;
	pthread_mutex_unlock(&mqtt->info_lock);

	if (mqtt->connack_code) {
		const char *reason = mqtt_is_v5(mqtt) ? mosquitto_reason_string(mqtt->connack_code) :
							mosquitto_connack_string(mqtt->connack_code);
		snprintf(buf, size, "the broker refused the connection: %s%s%s%s%s", reason,
			 mqtt->connack_reason[0] ? " (\"" : "", mqtt->connack_reason,
			 mqtt->connack_reason[0] ? "\")" : "",
			 mqtt_connack_hint(mqtt, mqtt->connack_code));
	} else if (mqtt->disconnect_code) {
		snprintf(buf, size, "the broker closed the connection: %s (reason code 0x%02x)",
			 mosquitto_reason_string(mqtt->disconnect_code),
			 (unsigned int)mqtt->disconnect_code);
	} else if (lib_error[0] && tls) {
		snprintf(buf, size, "TLS: %s%s", lib_error,
			 strstr(lib_error, "certificate verify failed") ?
				 " (the broker's certificate is not signed by the configured CA, "
				 "has expired, or does not name this host)" :
				 "");
	} else if (rc == MOSQ_ERR_PROTOCOL || rc == MOSQ_ERR_MALFORMED_PACKET) {
		snprintf(buf, size, "%s from the broker%s%s%s: not an MQTT broker, or a broken one",
			 rc == MOSQ_ERR_PROTOCOL ? "protocol error" : "malformed packet",
			 lib_error[0] ? " (" : "", lib_error, lib_error[0] ? ")" : "");
	} else if (lib_error[0]) {
		snprintf(buf, size, "%s", lib_error);
	} else if (rc == MOSQ_ERR_EAI) {
		snprintf(buf, size, "cannot resolve the host name");
	} else if (rc == MOSQ_ERR_ERRNO && saved_errno) {
		snprintf(buf, size, "%s", strerror(saved_errno));
	} else if (was_connected && (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_SUCCESS ||
				     rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO)) {
		snprintf(buf, size, "the connection was closed");
	} else if (rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO || rc == MOSQ_ERR_NO_CONN) {
		/* MOSQ_ERR_ERRNO without an errno would read "Success". */
		snprintf(buf, size, "the broker closed the connection before answering the CONNECT");
	} else if (rc == MOSQ_ERR_KEEPALIVE) {
		snprintf(buf, size, "no answer from the broker within the keepalive time");
	} else {
		snprintf(buf, size, "%s", mosquitto_strerror(rc));
	}
}

/* Logs a failure once per distinct reason; repeats go to debug so an absent broker does not
 * fill the journal. */
static void mqtt_thread_report(struct mqtt *mqtt, bool was_connected, const char *name,
			       const char *reason, const char *next, long delay_ms)
{
	char line[sizeof(mqtt->last_failure)];

	snprintf(line, sizeof(line), "%s: %s", name, reason);
	if (was_connected) {
		log_warning("mqtt: connection to %s lost: %s; reconnecting to %s in %ld ms", name,
			    reason, next, delay_ms);
	} else if (strcmp(line, mqtt->last_failure) != 0) {
		log_warning("mqtt: cannot connect to %s: %s; trying %s in %ld ms (backoff %d..%d ms)",
			    name, reason, next, delay_ms, mqtt->cfg->reconnect_min_ms,
			    mqtt->cfg->reconnect_max_ms);
	} else {
		log_debug("mqtt: cannot connect to %s: %s; trying %s in %ld ms", name, reason, next,
			  delay_ms);
	}
	snprintf(mqtt->last_failure, sizeof(mqtt->last_failure), "%s", line);
}

/* Exponential backoff with +-20 % jitter, capped. */
static long mqtt_thread_delay(struct mqtt *mqtt, long *next_ms)
{
	long delay = *next_ms;
	long jitter = delay / 5;

	if (jitter > 0)
		delay += (long)(rand_r(&mqtt->seed) % (2 * jitter + 1)) - jitter;
	*next_ms *= 2;
	if (*next_ms > mqtt->cfg->reconnect_max_ms)
		*next_ms = mqtt->cfg->reconnect_max_ms;
	return delay;
}

/* libmosquitto 2.0 does not notice a refused TCP connect under TLS (SSL_connect reports
 * SSL_ERROR_SYSCALL, which it takes for "try again"): mosquitto_loop() then returns at once, over
 * and over (a busy loop), until the keepalive runs out. A socket that hung up before CONNACK
 * without ever being connected ends the attempt here instead. Returns the errno, or 0. */
static int mqtt_thread_socket_error(struct mqtt *mqtt)
{
	int fd = mosquitto_socket(mqtt->mosq), err = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	struct sockaddr_storage peer;
	socklen_t len = sizeof(err);

	if (fd < 0 || poll(&pfd, 1, 0) != 1 || !(pfd.revents & (POLLERR | POLLHUP)))
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
		return err;
	len = sizeof(peer);
	/* Connected once: libmosquitto reads what the broker sent (a TLS alert) and says why. */
	if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0 || errno != ENOTCONN)
		return 0;
	return ECONNREFUSED;
}

static void mqtt_broker_format(const struct config_broker *b, char *buf, size_t size)
{
	bool bracket = strchr(b->host, ':') != NULL; /* an IPv6 address */

	snprintf(buf, size, "%s%s%s:%d", bracket ? "[" : "", b->host, bracket ? "]" : "", b->port);
}

static void *mqtt_thread_main(void *userdata)
{
	struct mqtt *mqtt = userdata;
	const struct config_mqtt *cfg = mqtt->cfg;
	long next_ms = cfg->reconnect_min_ms;
	int timeout_ms = cfg->keepalive * 1000;

	/* Without the watchdog the loop sleeps as long as the keepalive allows (few wake-ups). */
	if (mqtt->watchdog_wait_ms && mqtt->watchdog_wait_ms < timeout_ms)
		timeout_ms = (int)mqtt->watchdog_wait_ms;
	while (!atomic_load(&mqtt->stopping)) {
		const struct config_broker *broker = &cfg->brokers[mqtt->broker];
		bool was_connected = false, stable = false, disconnect_sent = false;
		char name[300], next[300], reason[512];
		uint64_t connected_at = 0;
		int saved_errno, wait_ms;
		long delay;
		int rc;

		mqtt_broker_format(broker, name, sizeof(name));
		pthread_mutex_lock(&mqtt->info_lock);
		snprintf(mqtt->broker_name, sizeof(mqtt->broker_name), "%s", name);
		mqtt->lib_error[0] = '\0';
		pthread_mutex_unlock(&mqtt->info_lock);
		mqtt->connack_code = 0;
		mqtt->disconnect_code = 0;
		log_debug("mqtt: connecting to %s%s", name, cfg->tls.enabled ? " over TLS" : "");
		errno = 0;
		rc = mosquitto_connect_async(mqtt->mosq, broker->host, broker->port, cfg->keepalive);
		while (rc == MOSQ_ERR_SUCCESS) {
			/* A stop requested while connecting or connected is a DISCONNECT that the
			 * loop must still write; the loop ends when the socket closes. */
			if (atomic_load(&mqtt->stopping) && !disconnect_sent) {
				mosquitto_disconnect(mqtt->mosq);
				disconnect_sent = true;
			}
			mqtt_heartbeat(mqtt);
			wait_ms = timeout_ms;
			if (mqtt->presence && was_connected)
				wait_ms = presence_wait_ms(mqtt->presence, timeout_ms);
			errno = 0;
			rc = mosquitto_loop(mqtt->mosq, disconnect_sent ? 100 : wait_ms, 1);
			/* The broker's next command must not wait for our delayed ACK. */
			util_tcp_ack_now(mosquitto_socket(mqtt->mosq));
			if (rc == MOSQ_ERR_SUCCESS && !was_connected && !disconnect_sent &&
			    (saved_errno = mqtt_thread_socket_error(mqtt))) {
				rc = MOSQ_ERR_ERRNO;
				errno = saved_errno;
				break;
			}
			if (atomic_load(&mqtt->connected) && !was_connected) {
				was_connected = true;
				mqtt->presence_fallback = false;
				connected_at = util_now_ms();
				mqtt->last_failure[0] = '\0';
				log_notice("mqtt: connected to %s%s (MQTT %s)", name,
					   cfg->tls.enabled ? " over TLS" : "",
					   mqtt_is_v5(mqtt) ? "v5" : "v3.1.1");
				if (mqtt->test_stall_s) {
					/* Test hook: stuck as if in a DNS lookup, no heartbeat. */
					log_warning("mqtt: test hook: the network thread stalls for "
						    "%u s", mqtt->test_stall_s);
					sleep(mqtt->test_stall_s);
					mqtt->test_stall_s = 0;
					log_warning("mqtt: test hook: the network thread runs again");
				}
			}
			/* Stable: connected for reconnect_max_ms; only then the backoff starts
			 * again from reconnect_min_ms, so a broker that accepts and then drops
			 * us at once is not hammered. */
			if (was_connected && !stable &&
			    util_now_ms() - connected_at >= (uint64_t)cfg->reconnect_max_ms) {
				stable = true;
				next_ms = cfg->reconnect_min_ms;
			}
			if (mqtt->presence && rc == MOSQ_ERR_SUCCESS && !disconnect_sent &&
			    atomic_load(&mqtt->connected))
				mqtt_presence_turn(mqtt, broker);
		}
		saved_errno = errno;
		/* Whatever ended the main connection ends this one, so that the broker publishes
		 * its will ("offline") unless it is gone too. */
		if (mqtt->presence)
			presence_drop(mqtt->presence);
		/* The loop may end without on_disconnect (a failed read or write). The next
		 * connect_async closes whatever socket is left. */
		atomic_store(&mqtt->connected, false);
		/* Unwritten QoS 0 packets are discarded by the next connect, without a callback. */
		pthread_mutex_lock(&mqtt->track_lock);
		outbox_q0_clear(&mqtt->out);
		pthread_mutex_unlock(&mqtt->track_lock);
		if (atomic_load(&mqtt->stopping)) {
			if (was_connected)
				mqtt_queue_down(mqtt, true, "stopping");
			break;
		}

		mqtt_thread_describe(mqtt, was_connected, rc, saved_errno, reason, sizeof(reason));
		/* Every failure, refusal or loss moves on to the next broker of the list. */
		if (cfg->n_brokers > 1)
			mqtt->broker = (mqtt->broker + 1) % cfg->n_brokers;
		mqtt_broker_format(&cfg->brokers[mqtt->broker], next, sizeof(next));
		delay = mqtt_thread_delay(mqtt, &next_ms);
		mqtt_thread_report(mqtt, was_connected, name, reason, next, delay);
		mqtt_queue_down(mqtt, was_connected, reason);
		if (!mqtt_thread_sleep(mqtt, delay))
			break;
	}
	return NULL;
}

void mqtt_watchdog_set(struct mqtt *mqtt, uint64_t watchdog_usec)
{
	const char *stall = getenv("GPIO2MQTT_TEST_STALL_NETWORK");
	uint64_t wait_ms = watchdog_usec / 2000ULL;

	mqtt->watchdog_wait_ms = watchdog_usec ? (long)(wait_ms ? wait_ms : 1) : 0;
	if (stall && stall[0])
		mqtt->test_stall_s = (unsigned int)strtoul(stall, NULL, 10);
}

uint64_t mqtt_heartbeat_age_ms(struct mqtt *mqtt)
{
	uint64_t beat = atomic_load(&mqtt->heartbeat_ms), now = util_now_ms();

	return now > beat ? now - beat : 0;
}

int mqtt_start(struct mqtt *mqtt)
{
	int r;

	if (mqtt->thread_started)
		return -EALREADY;
	mqtt_heartbeat(mqtt);
	r = util_thread_start(&mqtt->thread, MQTT_THREAD_STACK, mqtt_thread_main, mqtt);
	if (r < 0)
		return r;
	mqtt->thread_started = true;
	return 0;
}

int mqtt_event_fd(const struct mqtt *mqtt)
{
	return mqtt->event_fd;
}

int mqtt_event_pop(struct mqtt *mqtt, struct mqtt_event *event)
{
	struct mqtt_node *node;
	uint64_t count;

	pthread_mutex_lock(&mqtt->queue_lock);
	node = mqtt->head;
	if (!node) {
		/* Reset the eventfd while holding the lock so a push cannot slip in unseen. */
		(void)!read(mqtt->event_fd, &count, sizeof(count));
		pthread_mutex_unlock(&mqtt->queue_lock);
		return 0;
	}
	mqtt->head = node->next;
	if (!mqtt->head)
		mqtt->tail = NULL;
	if (node->event.type == MQTT_EVENT_MESSAGE)
		mqtt->queued_messages--;
	pthread_mutex_unlock(&mqtt->queue_lock);
	*event = node->event;
	free(node);
	return 1;
}

void mqtt_event_release(struct mqtt_event *event)
{
	free(event->topic);
	free(event->payload);
	event->topic = NULL;
	event->payload = NULL;
}

unsigned long long mqtt_events_dropped(const struct mqtt *mqtt)
{
	unsigned long long dropped;

	pthread_mutex_lock((pthread_mutex_t *)&mqtt->queue_lock);
	dropped = mqtt->dropped;
	pthread_mutex_unlock((pthread_mutex_t *)&mqtt->queue_lock);
	return dropped;
}

int mqtt_subscribe(struct mqtt *mqtt, const char *pattern, int qos)
{
	if (!atomic_load(&mqtt->connected))
		return -ENOTCONN;
	return mqtt_errno(mosquitto_subscribe(mqtt->mosq, NULL, pattern, qos));
}

int mqtt_publish(struct mqtt *mqtt, const char *topic, const void *payload, size_t len, int qos,
		 bool retain, int *mid)
{
	int local_mid = 0, r;

	/* libmosquitto would queue QoS 1/2 messages without bound while offline; the daemon keeps
	 * the latest state itself and republishes it on connect instead. */
	if (!atomic_load(&mqtt->connected))
		return -ENOTCONN;
	if (len > INT32_MAX)
		return -EMSGSIZE;
	pthread_mutex_lock(&mqtt->track_lock);
	r = mqtt_errno(mosquitto_publish_v5(mqtt->mosq, &local_mid, topic, (int)len, payload, qos,
					    retain, NULL));
	if (r == 0 && qos > 0) {
		outbox_mid_put(&mqtt->out, local_mid);
		outbox_topic_add(&mqtt->out, local_mid, topic);
	} else if (r == 0) {
		outbox_q0_put(&mqtt->out, local_mid);
	}
	if (r == 0) {
		mqtt->made++;
		if (mid)
			mqtt->watch_mid = local_mid;
	}
	else if (r < 0 && r != -ENOTCONN)
		mqtt->failed++;
	pthread_mutex_unlock(&mqtt->track_lock);
	if (mid)
		*mid = local_mid;
	return r;
}

size_t mqtt_window_room(struct mqtt *mqtt, bool wake)
{
	size_t unsettled, room = 0;

	if (!atomic_load(&mqtt->connected))
		return 0;
	pthread_mutex_lock(&mqtt->track_lock);
	unsettled = outbox_unsettled(&mqtt->out);
	if (unsettled < MQTT_WINDOW)
		room = MQTT_WINDOW - unsettled;
	else if (wake)
		mqtt->want_room = true;
	pthread_mutex_unlock(&mqtt->track_lock);
	return room;
}

int mqtt_publish_held(struct mqtt *mqtt, const char *topic, const char *payload, int qos,
		      bool retain)
{
	bool dropped;
	int r;

	/* Connected with nothing waiting and room in the window: straight out. Anything waiting
	 * goes first, so the order stays. */
	if (!mqtt->out.held_head && mqtt_window_room(mqtt, true)) {
		r = mqtt_publish(mqtt, topic, payload, strlen(payload), qos, retain, NULL);
		if (r != -ENOTCONN)
			return r;
	}
	if (mqtt->cfg->offline_events == 0) {
		mqtt->held_dropped++;
		mqtt->held_dropped_all++;
		return MQTT_OUTCOME_HELD;
	}
	r = outbox_held_push(&mqtt->out, topic, payload, qos, retain,
			     (size_t)mqtt->cfg->offline_events, &dropped);
	if (r < 0)
		return r;
	if (dropped) {
		if (mqtt->held_dropped == 0)
			log_warning("mqtt: offline queue full (offline_events = %d): the oldest "
				    "events are dropped until the broker is back",
				    mqtt->cfg->offline_events);
		mqtt->held_dropped++;
		mqtt->held_dropped_all++;
	}
	if (atomic_load(&mqtt->connected))
		mqtt_held_flush(mqtt);
	return mqtt->out.held_head ? MQTT_OUTCOME_HELD : 0;
}

void mqtt_held_flush(struct mqtt *mqtt)
{
	size_t sent = 0;

	while (mqtt->out.held_head && mqtt_window_room(mqtt, true)) {
		struct outbox_held *h = mqtt->out.held_head;
		int r = mqtt_publish(mqtt, h->topic, h->payload, strlen(h->payload), h->qos,
				     h->retain, NULL);

		if (r == -ENOTCONN)
			return; /* kept for the next connection */
		if (r < 0)
			log_warning("mqtt: cannot publish the held event on %s: %s", h->topic,
				    strerror(-r));
		outbox_held_free(outbox_held_pop(&mqtt->out));
		sent++;
	}
	if (sent || mqtt->held_dropped)
		log_info("mqtt: %zu event%s held while offline published%s", sent,
			 sent == 1 ? "" : "s", mqtt->held_dropped ? "" : ", none lost");
	if (mqtt->held_dropped)
		log_warning("mqtt: %llu event%s lost while offline (offline_events = %d; %llu since "
			    "start)",
			    mqtt->held_dropped, mqtt->held_dropped == 1 ? " was" : "s were",
			    mqtt->cfg->offline_events, mqtt->held_dropped_all);
	mqtt->held_dropped = 0;
}

unsigned long long mqtt_refused_count(struct mqtt *mqtt)
{
	unsigned long long refused;

	pthread_mutex_lock(&mqtt->track_lock);
	refused = mqtt->refused;
	pthread_mutex_unlock(&mqtt->track_lock);
	return refused;
}

void mqtt_status(struct mqtt *mqtt, char *buf, size_t size)
{
	unsigned long long refused = mqtt_refused_count(mqtt);
	char extra[96] = "";
	int n;

	if (refused)
		snprintf(extra, sizeof(extra), "; %llu publish%s refused by the broker", refused,
			 refused == 1 ? "" : "es");
	pthread_mutex_lock(&mqtt->info_lock);
	if (atomic_load(&mqtt->connected))
		n = snprintf(buf, size, "connected to %s%s%s", mqtt->broker_name,
			     mqtt->cfg->tls.enabled ? " over TLS" : "", extra);
	else
		n = snprintf(buf, size, "not connected (%s: %s); retrying%s", mqtt->broker_name,
			     mqtt->status_failure, extra);
	pthread_mutex_unlock(&mqtt->info_lock);
	(void)n;
}

void mqtt_stats_get(struct mqtt *mqtt, struct mqtt_stats *stats)
{
	unsigned long long connections = atomic_load(&mqtt->connections);

	*stats = (struct mqtt_stats){
		.connections = connections,
		.reconnects = connections ? connections - 1 : 0,
		.held = mqtt->out.n_held,
		.held_dropped = mqtt->held_dropped_all,
		.connected = atomic_load(&mqtt->connected),
	};
	pthread_mutex_lock(&mqtt->track_lock);
	stats->acknowledged = mqtt->acknowledged;
	stats->denied = mqtt->refused;
	stats->failed = mqtt->failed;
	stats->inflight = mqtt->out.n_qos_mids;
	stats->unsettled = outbox_unsettled(&mqtt->out);
	stats->made = mqtt->made;
	stats->wakeups = atomic_load(&mqtt->wakeups);
	pthread_mutex_unlock(&mqtt->track_lock);
	pthread_mutex_lock(&mqtt->queue_lock);
	for (const struct mqtt_node *n = mqtt->head; n; n = n->next)
		stats->incoming++;
	stats->incoming_dropped = mqtt->dropped;
	pthread_mutex_unlock(&mqtt->queue_lock);
	pthread_mutex_lock(&mqtt->info_lock);
	snprintf(stats->broker, sizeof(stats->broker), "%s", mqtt->broker_name);
	pthread_mutex_unlock(&mqtt->info_lock);
}

static void mqtt_thread_wake(struct mqtt *mqtt)
{
	pthread_mutex_lock(&mqtt->wait_lock);
	atomic_store(&mqtt->stopping, true);
	pthread_cond_broadcast(&mqtt->wake);
	pthread_mutex_unlock(&mqtt->wait_lock);
}

int mqtt_disconnect(struct mqtt *mqtt)
{
	mqtt_thread_wake(mqtt);
	/* Also ends a mosquitto_loop() waiting in the network thread. */
	return mqtt_errno(mosquitto_disconnect(mqtt->mosq));
}

void mqtt_free(struct mqtt *mqtt)
{
	struct mqtt_event event;

	if (!mqtt)
		return;
	if (mqtt->thread_started) {
		struct timespec until;

		mqtt_thread_wake(mqtt);
		mosquitto_disconnect(mqtt->mosq);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += MQTT_JOIN_TIMEOUT_MS / 1000;
		if (pthread_timedjoin_np(mqtt->thread, NULL, &until) != 0) {
			/* Stuck in a DNS lookup: the process is about to exit, so leave the thread
			 * and the objects it uses alone rather than free them under it. */
			log_warning("mqtt: network thread did not stop in time");
			return;
		}
	}
	while (mqtt_event_pop(mqtt, &event) > 0)
		mqtt_event_release(&event);
	outbox_clear(&mqtt->out);
	presence_free(mqtt->presence);
	free(mqtt->presence_topic);
	free(mqtt->presence_online);
	mosquitto_destroy(mqtt->mosq);
	mosquitto_lib_cleanup();
	close(mqtt->event_fd);
	pthread_cond_destroy(&mqtt->wake);
	pthread_mutex_destroy(&mqtt->track_lock);
	pthread_mutex_destroy(&mqtt->info_lock);
	pthread_mutex_destroy(&mqtt->wait_lock);
	pthread_mutex_destroy(&mqtt->queue_lock);
	free(mqtt);
}
