/* SPDX-License-Identifier: MIT */
#include "mqtt_presence.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "util.h"

/* While connecting, or with something to write, the main loop waits at most this long. */
#define PRESENCE_BUSY_WAIT_MS 20

enum presence_phase {
	PRESENCE_IDLE,       /* no socket; the next attempt is due at next_ms */
	PRESENCE_CONNECTING, /* CONNECT sent or being sent, no CONNACK yet */
	PRESENCE_UP,         /* CONNACK accepted, "online" published */
};

struct mqtt_presence {
	const struct config_mqtt *cfg; /* first: the TLS key password callback reads it */
	struct mosquitto *mosq;
	char *topic, *online;
	enum presence_phase phase;
	uint64_t since_ms; /* when the phase began */
	uint64_t next_ms;  /* IDLE: no attempt before this */
	long backoff_ms;   /* the delay after the next failure */
	int connack_code;  /* the broker refused the CONNECT (its on_connect) */
	bool connack;      /* its on_connect ran with success */
	bool failing;      /* the last attempt failed: repeats are logged at debug level */
	char client_id[160];
};

/* Runs inside mosquitto_loop() on this connection. */
static void presence_on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	struct mqtt_presence *p = userdata;

	if (rc != 0) {
		p->connack_code = rc;
		return;
	}
	p->connack = true;
	/* Queued here, written by presence_serve() right after this loop turn. */
	if (mosquitto_publish(mosq, NULL, p->topic, (int)strlen(p->online), p->online, 1, true) !=
	    MOSQ_ERR_SUCCESS)
		p->connack_code = -1;
}

static void presence_on_log(struct mosquitto *mosq, void *userdata, int level, const char *str)
{
	(void)mosq;
	(void)userdata;
	if (level == MOSQ_LOG_ERR && str)
		log_debug("mqtt: status connection: libmosquitto: %s", str);
}

int presence_new(struct mqtt_presence **out, const struct config_mqtt *cfg, const char *topic,
		 const char *online, const char *offline, presence_setup_fn setup)
{
	struct mqtt_presence *p = calloc(1, sizeof(*p));
	int r = -ENOMEM;

	if (!p)
		return -ENOMEM;
	p->cfg = cfg;
	p->backoff_ms = cfg->reconnect_min_ms;
	p->topic = strdup(topic);
	p->online = strdup(online);
	/* A client id of its own: a second connection with the main one's id would take over
	 * the main session. */
	snprintf(p->client_id, sizeof(p->client_id), "%s-status", cfg->client_id);
	if (!p->topic || !p->online)
		goto fail;
	p->mosq = mosquitto_new(p->client_id, true, p);
	if (!p->mosq) {
		r = errno ? -errno : -ENOMEM;
		goto fail;
	}
	r = setup(p->mosq, cfg);
	if (r < 0)
		goto fail;
	if (mosquitto_will_set(p->mosq, topic, (int)strlen(offline), offline, 1, true) !=
	    MOSQ_ERR_SUCCESS) {
		r = -EINVAL;
		goto fail;
	}
	mosquitto_connect_callback_set(p->mosq, presence_on_connect);
	mosquitto_log_callback_set(p->mosq, presence_on_log);
	*out = p;
	return 0;

fail:
	presence_free(p);
	return r;
}

void presence_free(struct mqtt_presence *p)
{
	if (!p)
		return;
	if (p->mosq)
		mosquitto_destroy(p->mosq);
	free(p->topic);
	free(p->online);
	free(p);
}

bool presence_up(const struct mqtt_presence *p)
{
	return p->phase == PRESENCE_UP;
}

int presence_wait_ms(const struct mqtt_presence *p, int timeout_ms)
{
	uint64_t now = util_now_ms();
	long wait;

	switch (p->phase) {
	case PRESENCE_IDLE:
		wait = p->next_ms > now ? (long)(p->next_ms - now) : 0;
		break;
	case PRESENCE_CONNECTING:
		wait = PRESENCE_BUSY_WAIT_MS;
		break;
	case PRESENCE_UP:
	default:
		/* libmosquitto sends PINGREQ once a keepalive has passed without traffic, when it
		 * is served; a quarter of it later at most is well within the broker's 1.5 x. */
		wait = mosquitto_want_write(p->mosq) ? PRESENCE_BUSY_WAIT_MS :
						       (long)p->cfg->keepalive * 1000 / 4;
		break;
	}
	return wait < timeout_ms ? (int)wait : timeout_ms;
}

/* Ends the attempt or the connection, logs WHY once per run of failures, schedules the next. */
static int presence_fail(struct mqtt_presence *p, const char *name, const char *why)
{
	bool was_up = p->phase == PRESENCE_UP;
	int fd = mosquitto_socket(p->mosq);

	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	if (was_up || !p->failing)
		log_warning("mqtt: the status connection to %s %s: %s; until it is back, %s may "
			    "not say \"offline\" if gpio2mqtt dies; trying again in %ld ms",
			    name, was_up ? "was lost" : "failed", why, p->topic, p->backoff_ms);
	else
		log_debug("mqtt: the status connection to %s failed: %s; trying again in %ld ms",
			  name, why, p->backoff_ms);
	p->failing = true;
	p->phase = PRESENCE_IDLE;
	p->next_ms = util_now_ms() + (uint64_t)p->backoff_ms;
	p->backoff_ms *= 2;
	if (p->backoff_ms > p->cfg->reconnect_max_ms)
		p->backoff_ms = p->cfg->reconnect_max_ms;
	return PRESENCE_OUTCOME_FAILED;
}

int presence_serve(struct mqtt_presence *p, const struct config_broker *broker)
{
	uint64_t now = util_now_ms();
	char name[300];
	int rc;

	snprintf(name, sizeof(name), "%s:%d", broker->host, broker->port);
	if (p->phase == PRESENCE_IDLE) {
		if (now < p->next_ms)
			return 0;
		p->connack = false;
		p->connack_code = 0;
		rc = mosquitto_connect_async(p->mosq, broker->host, broker->port, p->cfg->keepalive);
		if (rc != MOSQ_ERR_SUCCESS)
			return presence_fail(p, name, rc == MOSQ_ERR_ERRNO ? strerror(errno) :
									mosquitto_strerror(rc));
		p->phase = PRESENCE_CONNECTING;
		p->since_ms = now;
	}
	rc = mosquitto_loop(p->mosq, 0, 1);
	if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(p->mosq))
		rc = mosquitto_loop_write(p->mosq, 1);
	if (p->connack_code > 0)
		return presence_fail(p, name, mosquitto_connack_string(p->connack_code));
	if (p->connack_code < 0)
		return presence_fail(p, name, "cannot queue \"online\"");
	if (rc != MOSQ_ERR_SUCCESS)
		return presence_fail(p, name, rc == MOSQ_ERR_ERRNO && errno ? strerror(errno) :
									     mosquitto_strerror(rc));
	if (p->phase == PRESENCE_CONNECTING && p->connack) {
		p->phase = PRESENCE_UP;
		p->since_ms = now;
		p->failing = false;
		p->backoff_ms = p->cfg->reconnect_min_ms;
		log_info("mqtt: status connection to %s up (client id %s, Last Will %s = offline)",
			 name, p->client_id, p->topic);
	} else if (p->phase == PRESENCE_CONNECTING &&
		   now - p->since_ms >= (uint64_t)p->cfg->keepalive * 1000) {
		return presence_fail(p, name, "no CONNACK within the keepalive time");
	}
	return 0;
}

void presence_drop(struct mqtt_presence *p)
{
	int fd;

	if (p->phase == PRESENCE_IDLE)
		return;
	/* No DISCONNECT: the broker publishes the will ("offline"). libmosquitto closes the
	 * socket at the next connect or when destroyed. */
	fd = mosquitto_socket(p->mosq);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	log_debug("mqtt: status connection closed without DISCONNECT (its Last Will says offline)");
	p->phase = PRESENCE_IDLE;
	p->next_ms = 0;
}
