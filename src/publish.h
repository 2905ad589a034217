/* SPDX-License-Identifier: MIT */
#pragma once

/* What the daemon says over MQTT: pin states and button events (plain or JSON payloads), their
 * Homie values, <base>/status, Homie's $state, <base>/health, discovery documents, and the
 * subscriptions. Each function takes the one connection it publishes on (struct publish), not
 * the daemon; a failure to publish is logged here, once (not being connected is no failure:
 * states follow on connect, button events wait in mqtt.c's FIFO). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge.h"
#include "config.h"
#include "discovery.h"
#include "health.h"
#include "mqtt.h"
#include "topics.h"

struct publish {
	struct mqtt *mqtt;           /* NULL while a reload replaces the connection */
	const struct config *cfg;
	const struct topics *topics; /* NULL until the configuration's topics are built */
	bool connected;
};

/* PIN's state ACTIVE, which changed at CHANGED_NS (CLOCK_REALTIME) with sequence number SEQ
 * (both in JSON payloads), and its Homie value. Nothing while not connected. */
void publish_state(const struct publish *p, size_t pin, bool active, uint64_t changed_ns,
		   uint64_t seq);
/* A PWM light's state (src/kind_light.c): ON and BRIGHTNESS (0..its brightness_scale; its
 * last one while OFF). JSON payloads: {"state":"ON","brightness":N,"time":...,"seq":N} (Home
 * Assistant's JSON schema); plain ones: the word on <base>/<name> and the number on
 * <base>/<name>/brightness. Homie: state, and brightness as PERCENT. Nothing while offline. */
void publish_light(const struct publish *p, size_t pin, bool on, unsigned int brightness,
		   unsigned int percent, uint64_t changed_ns, uint64_t seq);
/* Cover PIN's STATE ("open", "closing", ...) and POSITION (0..100): on <base>/<name> and
 * <base>/<name>/position (payload = "json": {"state":"open","position":40} on <base>/<name>,
 * with "obstruction":true/false when OBSTRUCTION is 0 or 1; -1: the cover has no obstruction
 * input), and as Homie's state and position values. Nothing while not connected. */
void publish_cover(const struct publish *p, size_t pin, const char *state, unsigned int position,
		   int obstruction);
/* Button EVENT of PIN at TIME_NS (CLOCK_REALTIME), the SEQ-th since start; held while offline. */
void publish_event(const struct publish *p, size_t pin, enum kind_event event, uint64_t time_ns,
		   uint64_t seq);
/* <base>/status (retained, QoS 1): "online" or "offline"; MID as for mqtt_publish(). */
int publish_status(const struct publish *p, const char *status, int *mid);
/* Homie's homie/<device>/$state (init, ready, disconnected; lost is the Last Will). */
void publish_homie_state(const struct publish *p, const char *state);
/* <base>/health, not retained (a stale health report would lie). */
void publish_health(const struct publish *p, const struct health *h);
/* Every message of LIST (retained as each says, QoS 1). */
void publish_messages(const struct publish *p, const struct discovery_messages *list);
/* PATTERN (NULL: nothing) at the configured QoS. */
void publish_subscribe(const struct publish *p, const char *pattern);
/* PAYLOAD on TOPIC (NULL: nothing) as PIN's message at its QoS and retain (a counter's total
 * and rate; Homie values with HOMIE, QoS 1 and retained). Nothing while not connected. */
void publish_text(const struct publish *p, size_t pin, const char *topic, const char *payload,
		  bool homie);
