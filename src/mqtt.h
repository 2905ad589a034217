/* SPDX-License-Identifier: MIT */
#pragma once

/* MQTT. libmosquitto is used only in mqtt.c. One network thread, created by mqtt_start() and
 * owned by the daemon, connects, runs mosquitto_loop() and reconnects with capped backoff (it
 * never uses mosquitto_loop_start()). Callbacks only queue events and wake the main loop through
 * an eventfd; the main thread takes them with mqtt_event_pop() and publishes with
 * mqtt_publish(), which libmosquitto supports from another thread. */

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum mqtt_event_type {
	MQTT_EVENT_CONNECTED,    /* CONNACK accepted; broker names the broker */
	MQTT_EVENT_DISCONNECTED, /* the connection is gone; the network thread retries */
	MQTT_EVENT_MESSAGE,      /* a message on a subscribed topic */
	MQTT_EVENT_PUBLISHED,    /* the publish MID completed (QoS 0: sent; QoS 1/2: acknowledged) */
};

struct mqtt_event {
	enum mqtt_event_type type;
	char *topic;   /* MESSAGE */
	char *payload; /* MESSAGE; NUL-terminated copy, payload_len bytes before the NUL */
	size_t payload_len;
	bool retain; /* MESSAGE: delivered from the broker's retained store */
	int mid;     /* PUBLISHED */
	char broker[300]; /* CONNECTED, DISCONNECTED: "host:port" */
};

struct mqtt;

/* CFG must outlive the mqtt object. The Last Will is WILL_PAYLOAD on WILL_TOPIC, QoS 1,
 * retained. */
int mqtt_new(struct mqtt **out, const struct config_mqtt *cfg, const char *will_topic,
	     const char *will_payload);
/* Stops and joins the network thread (after mqtt_disconnect() or not) and frees everything. */
void mqtt_free(struct mqtt *mqtt);

/* Creates the network thread, which connects and stays connected until mqtt_free(). */
int mqtt_start(struct mqtt *mqtt);

/* Readable when events are queued. */
int mqtt_event_fd(const struct mqtt *mqtt);
/* Takes the oldest event: returns 1 and fills EVENT (release it with mqtt_event_release()), or
 * 0 when the queue is empty. */
int mqtt_event_pop(struct mqtt *mqtt, struct mqtt_event *event);
void mqtt_event_release(struct mqtt_event *event);
/* MESSAGE events dropped because the queue was full (a flood of commands). */
unsigned long long mqtt_events_dropped(const struct mqtt *mqtt);

/* -ENOTCONN when not connected (nothing is queued in libmosquitto then). */
int mqtt_subscribe(struct mqtt *mqtt, const char *pattern, int qos);
int mqtt_publish(struct mqtt *mqtt, const char *topic, const void *payload, size_t len, int qos,
		 bool retain, int *mid);
/* Sends DISCONNECT (the broker then does not publish the Last Will) and stops reconnecting. */
int mqtt_disconnect(struct mqtt *mqtt);
