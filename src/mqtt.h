/* SPDX-License-Identifier: MIT */
#pragma once

/* MQTT. libmosquitto is used only in mqtt.c. One network thread, created by mqtt_start() and
 * owned by the daemon, connects (TLS and credentials set before every connect), runs
 * mosquitto_loop() and reconnects with capped, jittered exponential backoff, moving through the
 * broker list on every failure (it never uses mosquitto_loop_start(), whose thread dies for good
 * on several protocol, TLS and authentication errors). Callbacks only queue events and wake the
 * main loop through an eventfd; the main thread takes them with mqtt_event_pop() and publishes
 * with mqtt_publish(), which libmosquitto supports from another thread.
 *
 * Every QoS >= 1 publish is tracked to its acknowledgement: under MQTT v5 a broker's refusal
 * (a PUBACK/PUBREC reason code >= 0x80, e.g. 0x87 Not authorized from an ACL) is logged once per
 * topic with the broker's reason and counted; under v3.1.1 brokers cannot say so. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Which outcome mqtt_publish_held() had. */
enum mqtt_outcome {
	MQTT_OUTCOME_HELD = 1, /* not connected: kept in the offline FIFO */
};

enum mqtt_event_type {
	MQTT_EVENT_CONNECTED,      /* CONNACK accepted; broker names the broker */
	MQTT_EVENT_DISCONNECTED,   /* the connection is gone (reason says why); retrying */
	MQTT_EVENT_CONNECT_FAILED, /* an attempt failed (reason says why); retrying */
	MQTT_EVENT_MESSAGE,        /* a message on a subscribed topic */
	MQTT_EVENT_PUBLISHED,      /* the publish MID completed (QoS 0: sent; QoS 1/2: acknowledged,
				    * reason_code >= 0x80: refused by the broker); only for the MID
				    * waited for and for refusals (mqtt_publish()) */
	MQTT_EVENT_WINDOW,         /* the in-flight window has room again (mqtt_window_room()) */
};

struct mqtt_event {
	enum mqtt_event_type type;
	char *topic;   /* MESSAGE */
	char *payload; /* MESSAGE; NUL-terminated copy, payload_len bytes before the NUL */
	size_t payload_len;
	bool retain; /* MESSAGE: delivered from the broker's retained store */
	int mid;     /* PUBLISHED */
	int reason_code; /* PUBLISHED: the broker's MQTT v5 reason code, 0 when accepted */
	char broker[300]; /* CONNECTED, DISCONNECTED, CONNECT_FAILED: "host:port" */
	char reason[512]; /* DISCONNECTED, CONNECT_FAILED: why, for humans */
};

struct mqtt;


/* CFG must outlive the mqtt object. The Last Will is WILL_PAYLOAD on WILL_TOPIC, QoS 1,
 * retained. A failure (TLS files, memory) is logged here. */
int mqtt_new(struct mqtt **out, const struct config_mqtt *cfg, const char *will_topic,
	     const char *will_payload);
/* A second connection whose Last Will is TOPIC = OFFLINE (QoS 1, retained) and which publishes
 * TOPIC = ONLINE on every connect: for when the main connection's will says something else
 * (Homie's $state). It lives inside the main connection's lifetime and goes without a
 * DISCONNECT when that ends, so the broker publishes its will (src/mqtt_presence.h). When it
 * cannot connect, ONLINE is published once per connection on the main one instead. Call before
 * mqtt_start(). A failure is logged here. */
int mqtt_presence_add(struct mqtt *mqtt, const char *topic, const char *online,
		      const char *offline);
/* Stops and joins the network thread (after mqtt_disconnect() or not) and frees everything. */
void mqtt_free(struct mqtt *mqtt);

/* The service manager's watchdog is on with WATCHDOG_USEC (0: off); call before mqtt_start().
 * The network thread then waits at most half of it at a time (in mosquitto_loop() and between
 * attempts) and records a heartbeat on every turn; without it the thread sleeps as long as the
 * keepalive allows. Also reads the test hook GPIO2MQTT_TEST_STALL_NETWORK=SECONDS: the thread
 * stops for that long, without heartbeat, once it is first connected. */
void mqtt_watchdog_set(struct mqtt *mqtt, uint64_t watchdog_usec);
/* Milliseconds since the network thread's last heartbeat. A lookup of the broker's name can
 * block the thread for a while, so callers allow a generous margin. */
uint64_t mqtt_heartbeat_age_ms(struct mqtt *mqtt);

/* Creates the network thread, which connects and stays connected until mqtt_free(). */
int mqtt_start(struct mqtt *mqtt);

/* Readable when events are queued. */
int mqtt_event_fd(const struct mqtt *mqtt);
/* Takes the oldest event: returns 1 and fills EVENT (release it with mqtt_event_release()), or
 * 0 when the queue is empty. */
int mqtt_event_pop(struct mqtt *mqtt, struct mqtt_event *event);
void mqtt_event_release(struct mqtt_event *event);
/* MESSAGE events dropped because the queue was full (a flood of commands): each one was
 * superseded by a newer message on its topic, or was the oldest waiting. */
unsigned long long mqtt_events_dropped(const struct mqtt *mqtt);

/* -ENOTCONN when not connected (nothing is queued in libmosquitto then). */
int mqtt_subscribe(struct mqtt *mqtt, const char *pattern, int qos);
/* With MID, the caller waits for that publish: its completion is an MQTT_EVENT_PUBLISHED (one
 * at a time; a later MID replaces it). Other completions stay in the network thread (counted
 * there) unless the broker refused them: acknowledgements do not wake the main loop. */
int mqtt_publish(struct mqtt *mqtt, const char *topic, const void *payload, size_t len, int qos,
		 bool retain, int *mid);

/* The network thread's stack: the deepest use measured, connecting over TLS (handshake and
 * certificate check in this thread), is 16 KiB of pages touched (tests/bench mem-map, "thread
 * stack"); 256 KiB keeps a 16x margin (glibc's getaddrinfo() limits its alloca() to a quarter of
 * the stack). The default would reserve 8 MiB of address space. */
#define MQTT_THREAD_STACK (256 * 1024)

/* The in-flight window: at most MQTT_WINDOW publishes are handed to libmosquitto and not done
 * (QoS 0 not yet written to the socket, QoS >= 1 not yet acknowledged), so a stalled broker
 * cannot grow memory. The free places in it (0 when full or not connected). With WAKE, a full
 * window queues one MQTT_EVENT_WINDOW when it has drained to half. mqtt_publish() itself does
 * not look at the window: callers that can wait (states, events, health) ask first; the few
 * messages of a connect, a reload or a stop go out regardless. Main thread. */
#define MQTT_WINDOW 20
size_t mqtt_window_room(struct mqtt *mqtt, bool wake);

/* For messages that are not states (button events): published now when connected and the window
 * has room, else kept in a FIFO of at most mqtt.offline_events messages (the oldest is dropped, counted and logged, when
 * it is full) and published in order by mqtt_held_flush(). Returns 0, MQTT_OUTCOME_HELD or a
 * negative errno. Main thread only. */
int mqtt_publish_held(struct mqtt *mqtt, const char *topic, const char *payload, int qos,
		      bool retain);
/* Publishes the held messages in order while connected and the window has room; call after the
 * states on connect and on MQTT_EVENT_WINDOW. */
void mqtt_held_flush(struct mqtt *mqtt);

/* The connection for STATUS=: "connected to HOST:PORT over TLS; 2 publishes refused by the
 * broker" or "not connected (HOST:PORT: why); retrying". */
void mqtt_status(struct mqtt *mqtt, char *buf, size_t size);
/* QoS >= 1 publishes the broker refused (MQTT v5 reason code >= 0x80) since start. */
unsigned long long mqtt_refused_count(struct mqtt *mqtt);

/* Counters for <base>/health, since mqtt_new(). */
struct mqtt_stats {
	unsigned long long acknowledged; /* QoS >= 1 publishes the broker accepted */
	unsigned long long denied;       /* ... it refused (MQTT v5 reason code >= 0x80) */
	unsigned long long failed;       /* publishes libmosquitto could not queue while connected */
	unsigned long long connections;  /* CONNACKs accepted */
	unsigned long long reconnects;   /* connections after the first */
	size_t inflight;                 /* QoS >= 1 publishes waiting for their acknowledgement */
	size_t unsettled;                /* publishes in the window (mqtt_window_room()) */
	unsigned long long made;         /* publishes handed to libmosquitto */
	unsigned long long wakeups;      /* times the network thread woke the main loop */
	size_t held;                     /* button events kept while offline */
	unsigned long long held_dropped; /* ... dropped because the FIFO was full */
	size_t incoming;                 /* events waiting for the main loop */
	unsigned long long incoming_dropped; /* commands dropped (mqtt_events_dropped()) */
	bool connected;
	char broker[300];                /* "host:port" in use or last tried */
};

/* Main thread. */
void mqtt_stats_get(struct mqtt *mqtt, struct mqtt_stats *stats);

/* Sends DISCONNECT (the broker then does not publish the Last Will) and stops reconnecting. */
int mqtt_disconnect(struct mqtt *mqtt);
