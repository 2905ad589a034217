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
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* MESSAGE events beyond this many waiting are dropped and counted: a flood of commands must not
 * grow memory without bound while the main loop is busy. */
#define MQTT_QUEUE_MESSAGES_MAX 1024
/* How long mqtt_free() waits for the network thread, which may sit in a DNS lookup. */
#define MQTT_JOIN_TIMEOUT_MS 3000

struct mqtt_node {
	struct mqtt_node *next;
	struct mqtt_event event;
};

struct mqtt {
	const struct config_mqtt *cfg;
	struct mosquitto *mosq;
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

	/* Network thread only. */
	size_t broker;
	char broker_name[300];
	int connack_code;    /* last CONNACK refusal, 0 when none */
	char last_failure[256];
	unsigned int seed;
};

static void mqtt_queue_push(struct mqtt *mqtt, struct mqtt_node *node)
{
	uint64_t one = 1;

	pthread_mutex_lock(&mqtt->queue_lock);
	if (node->event.type == MQTT_EVENT_MESSAGE) {
		if (mqtt->queued_messages >= MQTT_QUEUE_MESSAGES_MAX) {
			mqtt->dropped++;
			pthread_mutex_unlock(&mqtt->queue_lock);
			mqtt_event_release(&node->event);
			free(node);
			return;
		}
		mqtt->queued_messages++;
	}
	node->next = NULL;
	if (mqtt->tail)
		mqtt->tail->next = node;
	else
		mqtt->head = node;
	mqtt->tail = node;
	pthread_mutex_unlock(&mqtt->queue_lock);
	(void)!write(mqtt->event_fd, &one, sizeof(one));
}

static struct mqtt_node *mqtt_node_new(enum mqtt_event_type type)
{
	struct mqtt_node *node = calloc(1, sizeof(*node));

	if (node)
		node->event.type = type;
	return node;
}

/* Callbacks run in the network thread, inside mosquitto_loop(): they only queue events. */

static void mqtt_on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	struct mqtt *mqtt = userdata;
	struct mqtt_node *node;

	(void)mosq;
	if (rc != 0) {
		mqtt->connack_code = rc;
		return;
	}
	mqtt->connack_code = 0;
	atomic_store(&mqtt->connected, true);
	node = mqtt_node_new(MQTT_EVENT_CONNECTED);
	if (!node)
		return;
	snprintf(node->event.broker, sizeof(node->event.broker), "%s", mqtt->broker_name);
	mqtt_queue_push(mqtt, node);
}

static void mqtt_on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	struct mqtt *mqtt = userdata;
	struct mqtt_node *node;

	(void)mosq;
	(void)rc;
	if (!atomic_exchange(&mqtt->connected, false))
		return;
	node = mqtt_node_new(MQTT_EVENT_DISCONNECTED);
	if (!node)
		return;
	snprintf(node->event.broker, sizeof(node->event.broker), "%s", mqtt->broker_name);
	mqtt_queue_push(mqtt, node);
}

static void mqtt_on_message(struct mosquitto *mosq, void *userdata,
			    const struct mosquitto_message *msg)
{
	struct mqtt *mqtt = userdata;
	struct mqtt_node *node;
	size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;

	(void)mosq;
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

static void mqtt_on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	struct mqtt *mqtt = userdata;
	struct mqtt_node *node;

	(void)mosq;
	node = mqtt_node_new(MQTT_EVENT_PUBLISHED);
	if (!node)
		return;
	node->event.mid = mid;
	mqtt_queue_push(mqtt, node);
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

int mqtt_new(struct mqtt **out, const struct config_mqtt *cfg, const char *will_topic,
	     const char *will_payload)
{
	struct mqtt *mqtt;
	int r;

	mqtt = calloc(1, sizeof(*mqtt));
	if (!mqtt)
		return -ENOMEM;
	mqtt->cfg = cfg;
	mqtt->seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	pthread_mutex_init(&mqtt->queue_lock, NULL);
	pthread_mutex_init(&mqtt->wait_lock, NULL);
	pthread_cond_init(&mqtt->wake, NULL);

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
	mosquitto_threaded_set(mqtt->mosq, true);
	r = mqtt_errno(mosquitto_int_option(mqtt->mosq, MOSQ_OPT_PROTOCOL_VERSION,
					    cfg->protocol == CONFIG_PROTOCOL_V5 ? MQTT_PROTOCOL_V5 :
										  MQTT_PROTOCOL_V311));
	if (r < 0)
		goto destroy_mosq;
	if (cfg->username) {
		r = mqtt_errno(mosquitto_username_pw_set(mqtt->mosq, cfg->username, cfg->password));
		if (r < 0)
			goto destroy_mosq;
	}
	r = mqtt_errno(mosquitto_will_set(mqtt->mosq, will_topic, (int)strlen(will_payload),
					  will_payload, 1, true));
	if (r < 0)
		goto destroy_mosq;
	mosquitto_connect_callback_set(mqtt->mosq, mqtt_on_connect);
	mosquitto_disconnect_callback_set(mqtt->mosq, mqtt_on_disconnect);
	mosquitto_message_callback_set(mqtt->mosq, mqtt_on_message);
	mosquitto_publish_callback_set(mqtt->mosq, mqtt_on_publish);

	*out = mqtt;
	return 0;

destroy_mosq:
	mosquitto_destroy(mqtt->mosq);
cleanup_lib:
	mosquitto_lib_cleanup();
	close(mqtt->event_fd);
free_mqtt:
	pthread_cond_destroy(&mqtt->wake);
	pthread_mutex_destroy(&mqtt->wait_lock);
	pthread_mutex_destroy(&mqtt->queue_lock);
	free(mqtt);
	return r;
}

/* Sleeps DELAY_MS unless mqtt_free() wakes us; returns false when stopping. */
static bool mqtt_thread_sleep(struct mqtt *mqtt, long delay_ms)
{
	struct timespec until;

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

static void mqtt_thread_describe(struct mqtt *mqtt, int rc, int saved_errno, char *buf,
				 size_t size)
{
	if (mqtt->connack_code) {
		const char *reason = mqtt->cfg->protocol == CONFIG_PROTOCOL_V5 ?
					     mosquitto_reason_string(mqtt->connack_code) :
					     mosquitto_connack_string(mqtt->connack_code);
		snprintf(buf, size, "the broker refused the connection: %s", reason);
	} else if (rc == MOSQ_ERR_ERRNO) {
		snprintf(buf, size, "%s", strerror(saved_errno));
	} else if (rc == MOSQ_ERR_EAI) {
		snprintf(buf, size, "cannot resolve the host name");
	} else {
		snprintf(buf, size, "%s", mosquitto_strerror(rc));
	}
}

/* Logs a failure once per distinct reason; repeats go to debug so an absent broker does not
 * fill the journal. */
static void mqtt_thread_report(struct mqtt *mqtt, bool was_connected, const char *reason,
			       long delay_ms)
{
	if (was_connected) {
		log_warning("mqtt: connection to %s lost: %s; reconnecting in %ld ms",
			    mqtt->broker_name, reason, delay_ms);
	} else if (strcmp(reason, mqtt->last_failure) != 0) {
		log_warning("mqtt: cannot connect to %s: %s; retrying every %d..%d ms",
			    mqtt->broker_name, reason, mqtt->cfg->reconnect_min_ms,
			    mqtt->cfg->reconnect_max_ms);
	} else {
		log_debug("mqtt: cannot connect to %s: %s; retrying in %ld ms", mqtt->broker_name,
			  reason, delay_ms);
	}
	snprintf(mqtt->last_failure, sizeof(mqtt->last_failure), "%s", reason);
}

/* Exponential backoff with +-20 % jitter, capped; reset after each accepted connection. */
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

static void *mqtt_thread_main(void *userdata)
{
	struct mqtt *mqtt = userdata;
	const struct config_mqtt *cfg = mqtt->cfg;
	long next_ms = cfg->reconnect_min_ms;
	int timeout_ms = cfg->keepalive * 1000;

	while (!atomic_load(&mqtt->stopping)) {
		const struct config_broker *broker = &cfg->brokers[mqtt->broker];
		bool was_connected = false;
		bool disconnect_sent = false;
		char reason[256];
		int saved_errno;
		long delay;
		int rc;

		snprintf(mqtt->broker_name, sizeof(mqtt->broker_name), "%s:%d", broker->host,
			 broker->port);
		mqtt->connack_code = 0;
		log_debug("mqtt: connecting to %s", mqtt->broker_name);
		errno = 0;
		rc = mosquitto_connect_async(mqtt->mosq, broker->host, broker->port, cfg->keepalive);
		while (rc == MOSQ_ERR_SUCCESS) {
			/* A stop requested while connecting or connected is a DISCONNECT that the
			 * loop must still write; the loop ends when the socket closes. */
			if (atomic_load(&mqtt->stopping) && !disconnect_sent) {
				mosquitto_disconnect(mqtt->mosq);
				disconnect_sent = true;
			}
			errno = 0;
			rc = mosquitto_loop(mqtt->mosq, disconnect_sent ? 100 : timeout_ms, 1);
			if (atomic_load(&mqtt->connected) && !was_connected) {
				was_connected = true;
				next_ms = cfg->reconnect_min_ms;
				mqtt->last_failure[0] = '\0';
				log_notice("mqtt: connected to %s", mqtt->broker_name);
			}
		}
		saved_errno = errno;
		mqtt_on_disconnect(mqtt->mosq, mqtt, rc);
		if (atomic_load(&mqtt->stopping))
			break;

		mqtt_thread_describe(mqtt, rc, saved_errno, reason, sizeof(reason));
		delay = mqtt_thread_delay(mqtt, &next_ms);
		mqtt_thread_report(mqtt, was_connected, reason, delay);
		/* With several brokers, a failed one hands over to the next. */
		if (!was_connected && cfg->n_brokers > 1)
			mqtt->broker = (mqtt->broker + 1) % cfg->n_brokers;
		if (!mqtt_thread_sleep(mqtt, delay))
			break;
	}
	return NULL;
}

int mqtt_start(struct mqtt *mqtt)
{
	int r;

	if (mqtt->thread_started)
		return -EALREADY;
	r = -pthread_create(&mqtt->thread, NULL, mqtt_thread_main, mqtt);
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
	/* libmosquitto would queue QoS 1/2 messages without bound while offline; the daemon keeps
	 * the latest state itself and republishes it on connect instead. */
	if (!atomic_load(&mqtt->connected))
		return -ENOTCONN;
	if (len > INT32_MAX)
		return -EMSGSIZE;
	return mqtt_errno(mosquitto_publish(mqtt->mosq, mid, topic, (int)len, payload, qos, retain));
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
	mosquitto_destroy(mqtt->mosq);
	mosquitto_lib_cleanup();
	close(mqtt->event_fd);
	pthread_cond_destroy(&mqtt->wake);
	pthread_mutex_destroy(&mqtt->wait_lock);
	pthread_mutex_destroy(&mqtt->queue_lock);
	free(mqtt);
}
