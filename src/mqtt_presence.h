/* SPDX-License-Identifier: MIT */
#pragma once

/* The presence connection: part of the MQTT module (libmosquitto), used by mqtt.c only.
 *
 * MQTT gives a connection one Last Will. With Homie on, the main connection's will is Homie's
 * $state = "lost"; <base>/status = "offline" then needs a connection of its own to say that the
 * Pi is gone. This is that connection: client id "<client_id>-status", the same broker, TLS and
 * credentials as the main one, Last Will <base>/status = "offline" (QoS 1, retained), and on
 * every CONNACK it publishes "online" itself, so "online" is only ever retained while a will
 * that says "offline" is registered with the broker.
 *
 * It lives inside the main connection's lifetime: opened after the main CONNACK, to the broker
 * the main connection uses, and dropped without a DISCONNECT (the broker then publishes its
 * will) whenever the main connection ends, for whatever reason, a clean stop included (the
 * daemon has published "offline" itself by then: the will repeats it). The network thread
 * serves it between turns of the main connection's loop, which it keeps short enough for this
 * connection's keepalive (presence_wait_ms()): no second thread. */

#include <stdbool.h>

#include "config.h"

struct mosquitto;
struct mqtt_presence;

/* What presence_serve() saw. */
enum presence_outcome {
	PRESENCE_OUTCOME_FAILED = 1, /* an attempt failed or the connection was lost just now */
};

/* Applies the settings shared with the main connection (protocol, credentials, TLS) to MOSQ. */
typedef int (*presence_setup_fn)(struct mosquitto *mosq, const struct config_mqtt *cfg);

/* CFG must outlive the object; TOPIC, ONLINE and OFFLINE are copied. SETUP applies what the
 * main connection has; the handle's userdata begins, as struct mqtt does, with CFG (the TLS key
 * password callback reads it). A failure is logged by the caller. */
int presence_new(struct mqtt_presence **out, const struct config_mqtt *cfg, const char *topic,
		 const char *online, const char *offline, presence_setup_fn setup);
void presence_free(struct mqtt_presence *p);

/* The network thread, while the main connection is connected: how long its loop may wait
 * (at most TIMEOUT_MS) before presence_serve() must run again. */
int presence_wait_ms(const struct mqtt_presence *p, int timeout_ms);
/* The network thread, after every turn of the main connection's loop while it is connected to
 * BROKER: connects when due, reads and writes, keeps it alive. Returns 0 or
 * PRESENCE_OUTCOME_FAILED (logged here; the next attempt follows the reconnect backoff). */
int presence_serve(struct mqtt_presence *p, const struct config_broker *broker);
/* Whether its CONNACK was accepted (and "online" sent) and it has not failed since. */
bool presence_up(const struct mqtt_presence *p);
/* The network thread, when the main connection has ended: closes the socket without a
 * DISCONNECT, so the broker publishes the will. The next presence_serve() connects at once. */
void presence_drop(struct mqtt_presence *p);
